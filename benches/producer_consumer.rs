//! `producer_consumer`: one thread gets objects and hands them to another thread, which puts
//! them back (Go issue #11834's bad case for per-P pools). A per-thread pool only reuses objects
//! here by stealing: the producer's own caches are always empty and the consumer's always fill.
//!
//! The producer takes 1024 objects, touching each, and sends the batch through a
//! `std::sync::mpsc::sync_channel(1)`; the consumer puts every object of every batch it receives.
//! Batching keeps the hand-off (and the parking of a thread that waits, on this loaded 2-core
//! machine) a small, equal share of every subject's time, so the figure is the pool's: the
//! producer's gets (for a per-thread pool: steals from the consumer's cache) and the consumer's
//! puts. Bounded subjects are bounded at 8192 here. `fresh_vec_with_capacity` (allocate on one side, free on the other) is the no-pool
//! floor. `2t_wall`: time per object = wall time from the start barrier to the consumer's last
//! put / objects; `2t_cpu_pool`: the CPU time both threads spent in their get and put loops
//! (not in the channel), added up, / objects: the pool's work per object, robust to the
//! descheduling that dominates wall time on a loaded 2-core machine. Factory calls per object are printed: the figure that shows whether a subject reuses
//! at all in this shape (per-thread free lists never do).
mod common;

use common::*;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

static SIDE: Side = Side::new("producer_consumer");
/// Objects per hand-off batch.
const BATCH: usize = 1024;
/// Batches in flight (the channel's bound).
const IN_FLIGHT: usize = 1;
/// Bound for the bounded subjects: above the most objects in flight (about 3 batches), so that
/// no bound decides a result.
const BOUND: usize = 8192;

fn bench<'s, S>(g: &mut BenchmarkGroup<'_, WallTime>, s: &'s S)
where
    S: Subject + Sync,
    S::Item<'s>: Send,
{
    for (clock, label) in [(Clock::Wall, "2t_wall"), (Clock::Cpu, "2t_cpu_pool")] {
        g.bench_function(BenchmarkId::new(s.name(), label), |b| {
            b.iter_custom(|iters| {
                let batches = iters.div_ceil(BATCH as u64);
                let objects = batches * BATCH as u64;
                let (tx, rx) = mpsc::sync_channel::<Vec<S::Item<'s>>>(IN_FLIGHT);
                let rx = Mutex::new(Some(rx));
                let tx = Mutex::new(Some(tx));
                let news = AtomicU64::new(0);
                let start = Instant::now();
                let (_, cpu_ns) = run_threads(2, Clock::Wall, |i| {
                    // CPU time spent in the pool loops only (not in the channel, whose
                    // spinning and parking depend on scheduling): one clock read per batch.
                    let mut in_pool = Duration::ZERO;
                    if i == 0 {
                        let tx = tx.lock().unwrap().take().unwrap();
                        let before = new_calls();
                        for _ in 0..batches {
                            let mut batch = Vec::with_capacity(BATCH);
                            let c0 = thread_cpu_time();
                            for _ in 0..BATCH {
                                let mut it = s.take();
                                touch(S::buf(&mut it));
                                batch.push(it);
                            }
                            in_pool += thread_cpu_time() - c0;
                            tx.send(batch).unwrap();
                        }
                        news.fetch_add(new_calls() - before, Ordering::Relaxed);
                    } else {
                        let rx = rx.lock().unwrap().take().unwrap();
                        for batch in rx.iter() {
                            let c0 = thread_cpu_time();
                            for it in batch {
                                s.put(it);
                            }
                            in_pool += thread_cpu_time() - c0;
                        }
                    }
                    in_pool.as_nanos() as u64
                });
                // Wall: both sides together, from the barrier until the consumer has put the last
                // object. Cpu: the CPU time both threads spent in their get and put loops, added
                // up (the pool's work per object, robust to descheduling and channel waits).
                let t = match clock {
                    Clock::Wall => start.elapsed(),
                    Clock::Cpu => Duration::from_nanos(cpu_ns),
                };
                SIDE.add(
                    &format!("{}: factory calls per object", s.name()),
                    news.load(Ordering::Relaxed) as f64,
                    objects as f64,
                    "calls/object",
                );
                t.mul_f64(iters as f64 / objects as f64)
            })
        });
    }
}

fn producer_consumer(c: &mut Criterion) {
    let mut g = c.benchmark_group("producer_consumer");
    let (tls, tls_const, crate_tls, mutex_vec, array_queue, opool) = with_cap(BOUND);
    bench(&mut g, &gc_get());
    bench(&mut g, &gc_take());
    bench(&mut g, &tls);
    bench(&mut g, &tls_const);
    bench(&mut g, &crate_tls);
    bench(&mut g, &fresh());
    bench(&mut g, &array_queue);
    bench(&mut g, &mutex_vec);
    bench(&mut g, &lfop_linear());
    bench(&mut g, &lfop_spin());
    bench(&mut g, &object_pool());
    bench(&mut g, &opool);
    g.finish();
    SIDE.report();
}

criterion_group! {
    name = benches;
    config = config().measurement_time(std::time::Duration::from_millis(700));
    targets = producer_consumer
}
criterion_main!(benches);
