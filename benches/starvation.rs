//! `starvation`: each of two threads puts back the objects it holds (67 in the steady state)
//! and then tries to get 100 without ever calling a factory (`try_take`), so a third of the gets
//! miss (Go's `BenchmarkPoolStarvation`). For gcpool a miss walks its own caches, steals from the
//! other thread's caches and then looks at the victim generation, so this is the slow path's cost.
//! Objects are conserved: each thread starts by taking 67 (from the pool or the factory, outside
//! the timed region) and hands back what it holds at the end. Time per round (67 puts + 100
//! try-gets), per thread: the slower thread's CPU time / rounds; misses per try-get are printed.
mod common;

use common::*;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use std::sync::Barrier;

const COUNT: usize = 100;
const STARVED: usize = COUNT - COUNT * 33 / 100; // 67, as in Go
const THREADS: usize = 2;
static SIDE: Side = Side::new("starvation");

fn bench<S: Subject + Sync>(g: &mut BenchmarkGroup<'_, WallTime>, s: &S) {
    assert!(s.can_try(), "{} has no try_take", s.name());
    g.bench_function(BenchmarkId::new(s.name(), "2t_cpu"), |b| {
        b.iter_custom(|iters| {
            // Seed outside the timed region: both threads take their 67 first.
            let barrier = Barrier::new(THREADS);
            let res: Vec<_> = std::thread::scope(|sc| {
                let hs: Vec<_> = (0..THREADS)
                    .map(|_| {
                        let barrier = &barrier;
                        sc.spawn(move || {
                            let mut held: Vec<S::Item<'_>> =
                                (0..STARVED).map(|_| s.take()).collect();
                            let mut misses = 0u64;
                            barrier.wait();
                            let start = thread_cpu_time();
                            for _ in 0..iters {
                                for it in held.drain(..) {
                                    s.put(it);
                                }
                                for _ in 0..COUNT {
                                    match s.try_take() {
                                        Some(mut it) => {
                                            touch(S::buf(&mut it));
                                            held.push(it);
                                        }
                                        None => misses += 1,
                                    }
                                }
                            }
                            let t = thread_cpu_time() - start;
                            for it in held.drain(..) {
                                s.put(it);
                            }
                            (t, misses)
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let misses: u64 = res.iter().map(|r| r.1).sum();
            SIDE.add(
                &format!("{}: misses per try-get", s.name()),
                misses as f64,
                (iters * (THREADS * COUNT) as u64) as f64,
                "misses/get",
            );
            res.iter().map(|r| r.0).max().unwrap()
        })
    });
}

fn starvation(c: &mut Criterion) {
    let mut g = c.benchmark_group("starvation");
    bench(&mut g, &gc_take());
    bench(&mut g, &std_tls());
    bench(&mut g, &std_tls_const());
    bench(&mut g, &crate_tls());
    bench(&mut g, &array_queue());
    bench(&mut g, &mutex_vec());
    bench(&mut g, &object_pool());
    // Capacity = the objects in play, so its queue can never drop one.
    bench(&mut g, &opool_prefilled(STARVED * THREADS));
    g.finish();
    SIDE.report();
}

criterion_group! {
    name = benches;
    config = config();
    targets = starvation
}
criterion_main!(benches);
