//! `collect` (gcpool only: no peer has a collection). Go's `BenchmarkPoolSTW` asks whether the
//! pause grows with the number of pooled objects; here:
//!
//! * `visible/<n>`: `collect()` with `n` objects in the primary generation and an empty victim.
//!   Nothing is dropped, so this is the part of a collection that concurrent `get`/`put` can
//!   observe: retiring each thread's cache into the new victim and swapping it in (O(threads)).
//! * `whole/<n>`: `collect()` with `n` objects in the primary and `n` in the victim: the same
//!   swap plus dropping the `n` old victims on the calling thread.
//! * `get_put_during/<n>`: one thread's `take`+`put` round trip on the same pool while another
//!   thread puts `n` fresh objects and calls `collect()` every 10 ms (`idle` = no collector).
//!   `alloc_only_100k` is the control: the background thread does the same allocation and
//!   freeing without touching the pool. `get_put_during_cpu/*` is the same loop timed with the
//!   thread's CPU clock (leaves out time the measuring thread was descheduled).
//!   Per-op latency percentiles of the same setting (each op timed alone, so they include about
//!   25 ns of clock overhead) are printed and written to `target/gcpool-bench/collect.json`.
//!
//! Objects are `Vec<u8>` with capacity 64 (100k of them is 6.4 MB, not 400 MB). Setup (filling
//! and draining the pool) is outside the timed region; the group's Criterion times are tiny
//! because every iteration needs a refill of up to 200k objects.
mod common;

use common::*;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use gcpool::Pool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static SIDE: Side = Side::new("collect");
const SIZES: [(usize, &str); 2] = [(1_000, "1k"), (100_000, "100k")];

fn small() -> Vec<u8> {
    Vec::with_capacity(64)
}

/// Moves `n` objects from `reserve` into the pool (primary generation).
fn fill(pool: &Pool<Vec<u8>>, reserve: &mut Vec<Vec<u8>>, n: usize) {
    for _ in 0..n {
        pool.put(reserve.pop().unwrap_or_else(small));
    }
}

/// Takes `n` objects out of the pool into `reserve` (from wherever they are: a victim hit here).
fn drain(pool: &Pool<Vec<u8>>, reserve: &mut Vec<Vec<u8>>, n: usize) {
    for _ in 0..n {
        reserve.push(pool.take());
    }
}

fn pause(c: &mut Criterion) {
    let mut g = c.benchmark_group("collect");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(2));
    for (n, label) in SIZES {
        let pool: Pool<Vec<u8>> = Pool::new(small);
        let mut reserve: Vec<Vec<u8>> = (0..n).map(|_| small()).collect();
        g.bench_function(BenchmarkId::new("visible", label), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    pool.clear();
                    fill(&pool, &mut reserve, n);
                    let t = Instant::now();
                    pool.collect();
                    total += t.elapsed();
                    drain(&pool, &mut reserve, n);
                }
                total
            })
        });
        // Control: the same call with 1k/100k objects, but after streaming through 32 MB so
        // that the pool's own memory is as cold as the 100k setup leaves it.
        g.bench_function(BenchmarkId::new("visible_cold_cache", label), |b| {
            let mut scrub = vec![0u8; 32 << 20];
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    pool.clear();
                    fill(&pool, &mut reserve, n);
                    for chunk in scrub.chunks_mut(64) {
                        chunk[0] = chunk[0].wrapping_add(1);
                    }
                    std::hint::black_box(&mut scrub);
                    let t = Instant::now();
                    pool.collect();
                    total += t.elapsed();
                    drain(&pool, &mut reserve, n);
                }
                total
            })
        });
        g.bench_function(BenchmarkId::new("whole", label), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    pool.clear();
                    fill(&pool, &mut reserve, n);
                    pool.collect(); // victim: n
                    fill(&pool, &mut reserve, n); // primary: n (fresh ones)
                    let t = Instant::now();
                    pool.collect(); // drops the n victims
                    total += t.elapsed();
                    drain(&pool, &mut reserve, n);
                }
                total
            })
        });
    }
    g.finish();
}

/// What the background thread does every 10 ms.
#[derive(Clone, Copy, PartialEq)]
enum Background {
    /// Nothing (no thread).
    Idle,
    /// Put `n` fresh objects into the pool, then `collect()`.
    Collect(usize),
    /// The same allocation and freeing work without touching the pool: allocate `n` objects
    /// into a local `Vec`, then drop the previous batch. Separates "a collection is running"
    /// from "another core is busy with the allocator".
    Control(usize),
}

/// Runs `f` while a background thread does `bg` every 10 ms.
fn with_collector<R>(pool: &Pool<Vec<u8>>, bg: Background, f: impl FnOnce() -> R) -> (R, u64) {
    let stop = &AtomicBool::new(false);
    std::thread::scope(|s| {
        let bg = (bg != Background::Idle).then(|| {
            s.spawn(move || {
                let mut cycles = 0u64;
                let mut previous: Vec<Vec<u8>> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    match bg {
                        Background::Collect(n) => {
                            for _ in 0..n {
                                pool.put(small());
                            }
                            pool.collect();
                        }
                        Background::Control(n) => {
                            let batch: Vec<Vec<u8>> = (0..n).map(|_| small()).collect();
                            drop(std::mem::replace(&mut previous, batch));
                        }
                        Background::Idle => unreachable!(),
                    }
                    cycles += 1;
                    let spent = start.elapsed();
                    if let Some(rest) = Duration::from_millis(10).checked_sub(spent) {
                        std::thread::sleep(rest);
                    }
                }
                cycles
            })
        });
        let r = f();
        stop.store(true, Ordering::Relaxed);
        (r, bg.map(|h| h.join().unwrap()).unwrap_or(0))
    })
}

fn during(c: &mut Criterion) {
    let mut g = c.benchmark_group("collect");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1000));
    for (bg, label) in [
        (Background::Idle, "idle"),
        (Background::Collect(1_000), "1k"),
        (Background::Collect(100_000), "100k"),
        (Background::Control(100_000), "alloc_only_100k"),
    ] {
        let pool: Pool<Vec<u8>> = Pool::new(small);
        with_collector(&pool, bg, || {
            g.bench_function(BenchmarkId::new("get_put_during", label), |b| {
                b.iter(|| {
                    let mut v = pool.take();
                    touch(&mut v);
                    pool.put(v);
                })
            });
            g.bench_function(BenchmarkId::new("get_put_during_cpu", label), |b| {
                b.iter_custom(|iters| {
                    let start = thread_cpu_time();
                    for _ in 0..iters {
                        let mut v = pool.take();
                        touch(&mut v);
                        pool.put(v);
                    }
                    thread_cpu_time() - start
                })
            });
        });
        // Per-op latency distribution, each op timed on its own.
        const OPS: usize = 1_000_000;
        let (mut lat, cycles) = with_collector(&pool, bg, || {
            let mut lat = Vec::with_capacity(OPS);
            for _ in 0..OPS {
                let t = Instant::now();
                let mut v = pool.take();
                touch(&mut v);
                pool.put(v);
                lat.push(t.elapsed().as_nanos() as u64);
            }
            lat
        });
        lat.sort_unstable();
        let pct = |p: f64| lat[((OPS as f64 * p) as usize).min(OPS - 1)] as f64;
        for (name, p) in [
            ("p50", 0.5),
            ("p99", 0.99),
            ("p99.9", 0.999),
            ("p99.99", 0.9999),
        ] {
            SIDE.set(&format!("get_put_during/{label}: {name}"), pct(p), "ns");
        }
        SIDE.set(
            &format!("get_put_during/{label}: max"),
            *lat.last().unwrap() as f64,
            "ns",
        );
        SIDE.set(
            &format!("get_put_during/{label}: ops over 100 µs"),
            lat.iter().filter(|&&l| l > 100_000).count() as f64,
            "ops",
        );
        SIDE.set(
            &format!("get_put_during/{label}: background cycles during 1M ops"),
            cycles as f64,
            "cycles",
        );
    }
    g.finish();
    SIDE.report();
}

criterion_group! {
    name = benches;
    config = config();
    targets = pause, during
}
criterion_main!(benches);
