//! Draws `docs/img/capacity.svg`: the bytes each policy's pool retains over time under the
//! seed article's variable-size workload (99% 100–1000 B, 1% 1 MiB; 2 threads, 64 buffers in
//! flight) while a [`Collector`] runs, one line per policy.
//!
//! Run with `cargo run --release --example plot [out.svg]`. The SVG is written by hand (no
//! plotting dependency); the y axis is logarithmic, since retention spans 5 orders of magnitude.

#[path = "../benches/capacity_workload/mod.rs"]
mod workload;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use gcpool::Collector;
use workload::{policies, run, Rng, KIB, MIB};

const THREADS: usize = 2;
const IN_FLIGHT: usize = 32;
const OPS_PER_THREAD: usize = 150_000;
const COLLECT_EVERY: Duration = Duration::from_millis(100);
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// One line: (ms since start, retained bytes).
type Series = Vec<(f64, usize)>;

fn measure(policy: &workload::Policy) -> Series {
    let subject = (policy.make)();
    let progress = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let start = Instant::now();
    let mut series = vec![(0.0, 0)];
    let collector = Collector::start(COLLECT_EVERY);
    std::thread::scope(|s| {
        s.spawn(|| {
            run(
                &subject,
                THREADS,
                OPS_PER_THREAD,
                IN_FLIGHT,
                1,
                Rng::mixed,
                Some(&progress),
            );
            done.store(true, Relaxed);
        });
        while !done.load(Relaxed) {
            std::thread::sleep(SAMPLE_EVERY);
            series.push((
                start.elapsed().as_secs_f64() * 1e3,
                subject.stats().retained_bytes,
            ));
        }
    });
    series.push((
        start.elapsed().as_secs_f64() * 1e3,
        subject.stats().retained_bytes,
    ));
    drop(collector);
    series
}

const COLORS: [&str; 10] = [
    "#d62728", "#ff7f0e", "#bcbd22", "#8c564b", "#e377c2", "#7f7f7f", "#9467bd", "#2ca02c",
    "#17becf", "#1f77b4",
];

fn svg(lines: &[(&str, Series)]) -> String {
    let (w, h) = (960.0, 540.0);
    let (left, right, top, bottom) = (80.0, 250.0, 40.0, 60.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let max_ms = lines
        .iter()
        .flat_map(|(_, s)| s.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    // Log scale from 1 KiB to 256 MiB; 0 is drawn on the bottom edge.
    let (lo, hi) = ((KIB as f64).log2(), ((256 * MIB) as f64).log2());
    let x = |ms: f64| left + ms / max_ms * pw;
    let y = |b: usize| {
        let v = (b.max(KIB) as f64).log2().min(hi);
        top + ph - (v - lo) / (hi - lo) * ph
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">Bytes retained by the pool, mixed load (99% 100–1000 B, 1% 1 MiB), Collector every {} ms</text>"#,
        w / 2.0,
        COLLECT_EVERY.as_millis()
    );
    for (label, bytes) in [
        ("1 KiB", KIB),
        ("16 KiB", 16 * KIB),
        ("256 KiB", 256 * KIB),
        ("4 MiB", 4 * MIB),
        ("64 MiB", 64 * MIB),
        ("256 MiB", 256 * MIB),
    ] {
        let yy = y(bytes);
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"##,
            left + pw,
            left - 6.0,
            yy + 4.0
        );
    }
    let step = [50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0]
        .into_iter()
        .find(|s| max_ms / s <= 10.0)
        .unwrap_or(10_000.0);
    let mut t = 0.0;
    while t <= max_ms {
        let xx = x(t);
        let _ = writeln!(
            out,
            r##"<line x1="{xx:.1}" y1="{top}" x2="{xx:.1}" y2="{:.1}" stroke="#eee"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{t}</text>"##,
            top + ph,
            top + ph + 18.0
        );
        t += step;
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">time (ms)</text>"#,
        left + pw / 2.0,
        h - 18.0
    );
    let _ = writeln!(
        out,
        r#"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
    );
    for (i, (name, series)) in lines.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<String> = series
            .iter()
            .map(|&(ms, b)| format!("{:.1},{:.1}", x(ms), y(b)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{}"/>"#,
            points.join(" ")
        );
        let ly = top + 14.0 + i as f64 * 20.0;
        let lx = left + pw + 14.0;
        let last = series.last().map_or(0, |p| p.1);
        let _ = writeln!(
            out,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            lx + 18.0,
            lx + 24.0,
            ly + 4.0,
            xml_escape(&format!("{name} ({})", short(last)))
        );
    }
    out.push_str("</svg>\n");
    out
}

fn short(b: usize) -> String {
    if b >= MIB {
        format!("{:.0} MiB", b as f64 / MIB as f64)
    } else {
        format!("{:.0} KiB", b as f64 / KIB as f64)
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "docs/img/capacity.svg".into());
    let mut lines = Vec::new();
    for policy in policies() {
        let series = measure(&policy);
        let peak = series.iter().map(|p| p.1).max().unwrap_or(0);
        let last = series.last().map_or(0, |p| p.1);
        println!(
            "{:<32} {:>5} samples, peak {:>10} B, at the end {:>10} B",
            policy.name,
            series.len(),
            peak,
            last
        );
        lines.push((policy.name, series));
    }
    if let Some(dir) = std::path::Path::new(&path).parent() {
        std::fs::create_dir_all(dir).expect("create the output directory");
    }
    std::fs::write(&path, svg(&lines)).expect("write the SVG");
    println!("wrote {path}");
}
