//! The capacity trap (the seed article's "Managing Objects with Variable Size") and the pool's
//! remedies, measured side by side.
//!
//! First the article's walkthrough: a new buffer has capacity 0, writing `"long message"` grows
//! it to 64, and after reset it still holds 64, now pooled. Then the mixed and burst-then-small
//! workloads of the Go experiment under every policy, printing retained bytes, allocations per op
//! and ns per op in one table (`docs/capacity.md` records it).
//!
//! Run with `cargo run --release --example capacity [ops_per_thread] [runs]` (defaults 100000
//! and 1). With several runs, ns/op is the median of the runs (retained bytes and allocations
//! are from the first run; they barely vary).

#[path = "capacity_workload/mod.rs"]
mod workload;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use gcpool::{Pool, Recycle};
use workload::{burst_then_small, mixed, policies, skewed, KIB, MIB};

/// Counts allocations (and reallocations) and the bytes they asked for, in every thread.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Relaxed: statistics, read after the worker threads are joined.
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A byte buffer that grows like Go's `bytes.Buffer`, so the walkthrough prints the article's
/// numbers: the first small write allocates `smallBufferSize = 64` bytes (`bytes/buffer.go`
/// `grow`), later growth is to `2 × cap + n`. Implementing [`Recycle`] is all it takes to use the
/// size-aware policies with your own type.
#[derive(Default)]
struct Buffer(Vec<u8>);

impl Buffer {
    fn write_string(&mut self, s: &str) {
        let need = self.0.len() + s.len();
        if need > self.0.capacity() {
            let cap = if self.0.capacity() == 0 && need <= 64 {
                64
            } else {
                need.max(2 * self.0.capacity() + s.len())
            };
            self.0.reserve_exact(cap - self.0.len());
        }
        self.0.extend_from_slice(s.as_bytes());
    }
}

impl Recycle for Buffer {
    fn reset(&mut self) {
        self.0.clear();
    }
    fn used_bytes(&self) -> usize {
        self.0.len()
    }
    fn capacity_bytes(&self) -> usize {
        self.0.capacity()
    }
    fn shrink_to_bytes(&mut self, bytes: usize) {
        self.0.shrink_to(bytes);
    }
    fn reserve_bytes(&mut self, bytes: usize) {
        self.0.reserve(bytes.saturating_sub(self.0.len()));
    }
}

fn walkthrough() {
    println!("== the seed article's walkthrough ==");
    let pool = Pool::builder(Buffer::default).recycle().build();
    let mut b = pool.get();
    println!(
        "new buffer:          len {:>2}  cap {:>2}",
        b.0.len(),
        b.0.capacity()
    );
    b.write_string("long message");
    println!(
        "after the write:     len {:>2}  cap {:>2}",
        b.0.len(),
        b.0.capacity()
    );
    drop(b); // reset by the pool (Recycle::reset), then pooled
    let b = pool.get();
    println!(
        "reused after reset:  len {:>2}  cap {:>2}   <- the capacity stays pinned",
        b.0.len(),
        b.0.capacity()
    );
    drop(b);
    println!(
        "pool holds {} bytes of capacity (Stats::retained_bytes)",
        pool.stats().retained_bytes
    );

    // One big request is enough to pin a big buffer for every later small one.
    let mut b = pool.get();
    b.write_string(&"x".repeat(MIB));
    drop(b);
    let b = pool.get();
    println!(
        "after one 1 MiB request, a small request gets cap {} bytes",
        b.0.capacity()
    );
    drop(b);

    // The article's remedies, as policies.
    let bounded = Pool::builder(Buffer::default)
        .max_capacity(64 * KIB) // "don't return large objects"
        .shrink_underused(3.0, 4 * KIB) // "compress capacity", with a floor
        .build();
    let mut b = bounded.get();
    b.write_string(&"x".repeat(MIB));
    drop(b);
    let s = bounded.stats();
    println!(
        "with max_capacity(64K): the 1 MiB buffer is dropped (rejected {}), retained {} bytes\n",
        s.rejected, s.retained_bytes
    );
}

fn fmt_bytes(b: usize) -> String {
    if b >= MIB {
        format!("{:.1} MiB", b as f64 / MIB as f64)
    } else if b >= KIB {
        format!("{:.1} KiB", b as f64 / KIB as f64)
    } else {
        format!("{b} B")
    }
}

/// Allocations and bytes allocated while `f` runs.
fn counted<R>(f: impl FnOnce() -> R) -> (R, u64, u64) {
    let (a, b) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    let r = f();
    (r, ALLOCS.load(Relaxed) - a, BYTES.load(Relaxed) - b)
}

fn main() {
    walkthrough();
    let ops: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("ops_per_thread"))
        .unwrap_or(100_000);
    let runs: usize = std::env::args()
        .nth(2)
        .map(|a| a.parse().expect("runs"))
        .unwrap_or(1)
        .max(1);
    let (threads, in_flight) = (2, 32);
    println!(
        "== {threads} threads x {ops} ops each, {} buffers in flight, ns/op median of {runs} run(s); \"retained\" = capacity bytes the pool holds at rest (Stats::retained_bytes) ==\n",
        threads * in_flight
    );
    let mut rows = Vec::new();
    for policy in policies() {
        let subject = (policy.make)();
        let mixed = counted(|| mixed(&subject, threads, ops, in_flight));
        let subject = (policy.make)();
        let skewed = counted(|| skewed(&subject, threads, ops, in_flight));
        let subject = (policy.make)();
        let burst = counted(|| burst_then_small(&subject, threads, ops, in_flight));
        rows.push((policy.name, mixed, skewed, burst));
    }
    // Further runs only for the time: the median of each cell.
    let mut times: Vec<[Vec<Duration>; 3]> = rows
        .iter()
        .map(|(_, m, s, b)| [vec![m.0.elapsed], vec![s.0.elapsed], vec![b.0 .1.elapsed]])
        .collect();
    for _ in 1..runs {
        for (policy, t) in policies().iter().zip(times.iter_mut()) {
            t[0].push(mixed(&(policy.make)(), threads, ops, in_flight).elapsed);
            t[1].push(skewed(&(policy.make)(), threads, ops, in_flight).elapsed);
            t[2].push(
                burst_then_small(&(policy.make)(), threads, ops, in_flight)
                    .1
                    .elapsed,
            );
        }
    }
    for (row, t) in rows.iter_mut().zip(times.iter_mut()) {
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        row.1 .0.elapsed = median(&mut t[0]);
        row.2 .0.elapsed = median(&mut t[1]);
        row.3 .0 .1.elapsed = median(&mut t[2]);
    }
    let per_op = |n: u64, out: &workload::Outcome| n as f64 / out.ops as f64;
    let ns = |out: &workload::Outcome| out.elapsed.as_nanos() as f64 / out.ops as f64;

    println!("mixed: 99% 100-1000 B, 1% 1 MiB");
    println!("| policy | retained | allocs/op | KiB allocated/op | ns/op |");
    println!("|---|---|---|---|---|");
    for (name, (m, allocs, bytes), _, _) in &rows {
        println!(
            "| {name} | {} | {:.3} | {:.1} | {:.0} |",
            fmt_bytes(m.stats.retained_bytes),
            per_op(*allocs, m),
            per_op(*bytes, m) / KIB as f64,
            ns(m)
        );
    }
    println!("\nskewed: 3% 50 B, 93% 1 KiB, 4% 1 MiB");
    println!("| policy | retained | allocs/op | KiB allocated/op | ns/op |");
    println!("|---|---|---|---|---|");
    for (name, _, (m, allocs, bytes), _) in &rows {
        println!(
            "| {name} | {} | {:.3} | {:.1} | {:.0} |",
            fmt_bytes(m.stats.retained_bytes),
            per_op(*allocs, m),
            per_op(*bytes, m) / KIB as f64,
            ns(m)
        );
    }
    println!("\nburst then small (#23199): 64 x 1 MiB put at once, then 100-1000 B only");
    println!("| policy | retained after the burst | retained after the small phase | allocs/op | ns/op |");
    println!("|---|---|---|---|---|");
    for (name, _, _, ((after_burst, m), allocs, _)) in &rows {
        println!(
            "| {name} | {} | {} | {:.3} | {:.0} |",
            fmt_bytes(*after_burst),
            fmt_bytes(m.stats.retained_bytes),
            per_op(*allocs, m),
            ns(m)
        );
    }
}
