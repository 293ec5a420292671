//! Draws `docs/img/capacity.svg`: the capacity bytes each policy's pool retains
//! (`Stats::retained_bytes`) as the load changes, one line per policy, with a [`Collector`]
//! running as it would in a service.
//!
//! The load runs in batches, as requests arrive in bursts: each of 2 threads takes 32 buffers,
//! writes a payload into each, and puts all 32 back, so between batches the pool holds up to 64
//! buffers. The first half is the seed article's variable-size mix (99% 100–1000 B, 1% 1 MiB);
//! the second half is small payloads only, where Go issue #23199's live-lock keeps an unbounded
//! pool's 1 MiB buffers in circulation for ever. Thread 0 reads the pool's retained bytes after
//! each of its batches and plots the largest of every 8 readings.
//!
//! Run with `cargo run --release --example plot [out.svg]`. The SVG is written by hand (no
//! plotting dependency); the y axis is logarithmic, since retention spans 5 orders of magnitude.

#[path = "capacity_workload/mod.rs"]
mod workload;

use std::fmt::Write as _;
use std::time::Duration;

use gcpool::Collector;
use workload::{policies, write, Rng, KIB, MIB};

const THREADS: usize = 2;
const BATCH: usize = 32;
/// Ops per thread in each phase.
const PHASE_OPS: usize = 64_000;
const COLLECT_EVERY: Duration = Duration::from_millis(10);
/// A pause after each batch, standing for the I/O a request handler waits on.
const IO_PAUSE: Duration = Duration::from_micros(50);
/// Thread 0 plots one point per this many of its batches: the largest value it saw in them
/// (the other thread is mid-batch at any moment, so single readings jitter by up to 32 buffers).
const RECORD_EVERY: usize = 8;

/// One line: (thousands of ops done by all threads, retained bytes).
type Series = Vec<(f64, usize)>;

fn measure(policy: &workload::Policy) -> Series {
    let subject = (policy.make)();
    let collector = Collector::start(COLLECT_EVERY);
    let series = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let subject = &subject;
                s.spawn(move || {
                    let mut rng = Rng(t as u64 + 1);
                    let mut series = vec![(0.0, 0)];
                    let mut batch = Vec::with_capacity(BATCH);
                    let mut window_max = 0;
                    for round in 0..2 * PHASE_OPS / BATCH {
                        let mixed = round * BATCH < PHASE_OPS;
                        for _ in 0..BATCH {
                            let n = if mixed { rng.mixed() } else { rng.small() };
                            let mut b = subject.take(n);
                            write(&mut b, n);
                            batch.push(b);
                        }
                        for b in batch.drain(..) {
                            subject.put(b);
                        }
                        // Simulated I/O between batches, so that the Collector runs many
                        // times per phase, as a service's would.
                        std::thread::sleep(IO_PAUSE);
                        if t == 0 {
                            window_max = window_max.max(subject.stats().retained_bytes);
                            if round % RECORD_EVERY == RECORD_EVERY - 1 {
                                // x: this thread's progress × threads (the threads run alike).
                                let ops = (round + 1) * BATCH * THREADS;
                                series.push((ops as f64 / 1e3, std::mem::take(&mut window_max)));
                            }
                        }
                    }
                    series
                })
            })
            .collect();
        let mut series = Vec::new();
        for (t, w) in workers.into_iter().enumerate() {
            let s = w.join().unwrap();
            if t == 0 {
                series = s;
            }
        }
        series
    });
    drop(collector);
    series
}

const COLORS: [&str; 10] = [
    "#d62728", "#ff7f0e", "#bcbd22", "#8c564b", "#e377c2", "#7f7f7f", "#9467bd", "#2ca02c",
    "#17becf", "#1f77b4",
];

fn svg(lines: &[(&str, Series)]) -> String {
    let (w, h) = (1000.0, 540.0);
    let (left, right, top, bottom) = (80.0, 290.0, 40.0, 60.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let max_x = (THREADS * 2 * PHASE_OPS) as f64 / 1e3;
    // Log scale from 1 KiB to 256 MiB; 0 is drawn on the bottom edge.
    let (lo, hi) = ((KIB as f64).log2(), ((256 * MIB) as f64).log2());
    let x = |k: f64| left + k / max_x * pw;
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
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">Capacity bytes retained by the pool (Stats::retained_bytes); Collector every {} ms</text>"#,
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
    let step = [5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 500.0]
        .into_iter()
        .find(|s| max_x / s <= 10.0)
        .unwrap_or(10_000.0);
    let mut t = 0.0;
    while t <= max_x {
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
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">thousands of ops (2 threads, batches of 32 in flight each)</text>"#,
        left + pw / 2.0,
        h - 18.0
    );
    let _ = writeln!(
        out,
        r#"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
    );
    let mid = x(max_x / 2.0);
    let _ = writeln!(
        out,
        r##"<line x1="{mid:.1}" y1="{top}" x2="{mid:.1}" y2="{:.1}" stroke="#444" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" text-anchor="end">mixed: 99% 100–1000 B, 1% 1 MiB</text><text x="{:.1}" y="{:.1}">small only: 100–1000 B</text>"##,
        top + ph,
        mid - 6.0,
        top + 16.0,
        mid + 6.0,
        top + 16.0
    );
    for (i, (name, series)) in lines.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<String> = series
            .iter()
            .map(|&(k, b)| format!("{:.1},{:.1}", x(k), y(b)))
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
