//! `overflow`: each of two threads takes 100 objects (holding all of them), touches them and
//! puts all 100 back, over and over (Go's `BenchmarkPoolOverflow`: put 100 then get 100; in a
//! steady state the two orders are the same cycle). The time is per round of 100 gets + 100 puts,
//! per thread: the slower thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, so time descheduled on
//! the shared 2-core machine is left out) / rounds. Factory calls per round are printed.
mod common;

use common::*;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};

const N: usize = 100;
const THREADS: usize = 2;
static SIDE: Side = Side::new("overflow");

fn round<S: Subject>(s: &S) {
    let mut held = Vec::with_capacity(N);
    for _ in 0..N {
        let mut it = s.take();
        touch(S::buf(&mut it));
        held.push(it);
    }
    for it in held.drain(..) {
        s.put(it);
    }
}

fn bench<S: Subject + Sync>(g: &mut BenchmarkGroup<'_, WallTime>, s: &S) {
    g.bench_function(BenchmarkId::new(s.name(), "2t_cpu"), |b| {
        b.iter_custom(|iters| {
            let (t, news) = run_threads(THREADS, Clock::Cpu, |_| {
                let before = new_calls();
                for _ in 0..iters {
                    round(s);
                }
                new_calls() - before
            });
            SIDE.add(
                &format!("{}: factory calls per round", s.name()),
                news as f64,
                (iters * THREADS as u64) as f64,
                "calls/round",
            );
            t
        })
    });
}

fn overflow(c: &mut Criterion) {
    let mut g = c.benchmark_group("overflow");
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
    bench(&mut g, &slab());
    g.finish();
    SIDE.report();
}

criterion_group! {
    name = benches;
    config = config();
    targets = overflow
}
criterion_main!(benches);
