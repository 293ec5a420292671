//! `producer_consumer`: one thread gets objects and hands them to another thread, which puts
//! them back (Go issue #11834's bad case for per-P pools). A per-thread pool only reuses objects
//! here by stealing: the producer's own caches are always empty and the consumer's always fill.
//!
//! Both sides pass objects through a `crossbeam_queue::ArrayQueue(64)` hand-off (spinning, then
//! yielding, when it is full or empty); the hand-off is the same for every subject, and
//! `fresh_vec_with_capacity` (allocate on one side, free on the other) is the no-pool floor.
//! Time per object (slowest side's wall time / objects); factory calls per object are printed:
//! that is the figure that shows whether a subject reuses at all in this shape.
mod common;

use common::*;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicU64, Ordering};

static SIDE: Side = Side::new("producer_consumer");
const HANDOFF: usize = 64;

#[inline]
fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        std::hint::spin_loop();
    } else {
        // Two threads on two cores, with other processes around: do not burn the core the
        // other side needs.
        std::thread::yield_now();
    }
}

fn bench<'s, S>(g: &mut BenchmarkGroup<'_, WallTime>, s: &'s S)
where
    S: Subject + Sync,
    S::Item<'s>: Send,
{
    g.bench_function(BenchmarkId::new(s.name(), "2t"), |b| {
        b.iter_custom(|iters| {
            let q: ArrayQueue<S::Item<'s>> = ArrayQueue::new(HANDOFF);
            let news = AtomicU64::new(0);
            let (t, _) = run_threads(2, Clock::Wall, |i| {
                if i == 0 {
                    let before = new_calls();
                    for _ in 0..iters {
                        let mut it = s.take();
                        touch(S::buf(&mut it));
                        let mut it = Some(it);
                        let mut spins = 0;
                        while let Err(back) = q.push(it.take().unwrap()) {
                            it = Some(back);
                            backoff(&mut spins);
                        }
                    }
                    news.fetch_add(new_calls() - before, Ordering::Relaxed);
                } else {
                    for _ in 0..iters {
                        let mut spins = 0;
                        let it = loop {
                            match q.pop() {
                                Some(it) => break it,
                                None => backoff(&mut spins),
                            }
                        };
                        s.put(it);
                    }
                }
                0
            });
            SIDE.add(
                &format!("{}: factory calls per object", s.name()),
                news.load(Ordering::Relaxed) as f64,
                iters as f64,
                "calls/object",
            );
            t
        })
    });
}

fn producer_consumer(c: &mut Criterion) {
    let mut g = c.benchmark_group("producer_consumer");
    bench(&mut g, &gc_get());
    bench(&mut g, &gc_take());
    bench(&mut g, &std_tls());
    bench(&mut g, &std_tls_const());
    bench(&mut g, &crate_tls());
    bench(&mut g, &fresh());
    bench(&mut g, &array_queue());
    bench(&mut g, &mutex_vec());
    bench(&mut g, &lfop_linear());
    bench(&mut g, &lfop_spin());
    bench(&mut g, &object_pool());
    bench(&mut g, &opool());
    g.finish();
    SIDE.report();
}

criterion_group! {
    name = benches;
    config = config();
    targets = producer_consumer
}
criterion_main!(benches);
