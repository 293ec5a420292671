//! `hot`: get+put round trip of a pooled 4 KiB `Vec<u8>` (Go's `BenchmarkPool`).
//!
//! * `<subject>/1t`: one thread, wall time. Every clock times the same loop (`round_trips`), so
//!   the clocks differ only in what they count.
//! * `<subject>/1t_cpu`: one thread, timed with the thread's CPU clock (compare with `2t_cpu`).
//! * `<subject>/1t_spawned_cpu`: the same on a freshly spawned thread (as `2t_*` use), because a
//!   subject's fast path can depend on which thread runs it (stack and thread-slot addresses).
//! * `<subject>/2t_wall`: two threads sharing one pool, both running the same iteration count
//!   between a barrier; the time reported per iteration is the slowest thread's wall time / ops,
//!   i.e. per-op latency per thread (aggregate throughput is twice that).
//! * `<subject>/2t_cpu`: the same run timed with each thread's CPU clock
//!   (`CLOCK_THREAD_CPUTIME_ID`), which leaves out time a thread spent descheduled: on a shared
//!   2-core machine this is the figure to compare with `1t_cpu` to see how the pool scales.
//! * `<subject>/2t_cpu_mean`: the same run, the two threads' CPU times averaged instead of the
//!   slower one taken. This host runs a thread at one of two speeds for seconds at a time (the
//!   control shows it too), so the slower of two threads is more often in the slow phase than
//!   one thread is: the mean separates that bias from a cost of running two threads at once.
//! * `machine_control_alu/*`: not a pool. A loop of register-only arithmetic that shares
//!   nothing and touches no memory, timed the same ways: its `2t_cpu / 1t_cpu` is what this
//!   machine (a shared VM host) does to *any* code when a second thread runs, the part of a
//!   pool's own ratio that no pool design can remove. Read a subject's ratio next to the
//!   control's of the same run (`scripts/bench-chart.py` prints both).
mod common;

use common::*;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use std::time::{Duration, Instant};

/// The one-thread clocks of `work(iters)`: `1t` (wall) and `1t_cpu`.
fn single(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, work: impl Fn(u64)) {
    g.bench_function(BenchmarkId::new(name, "1t"), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            work(iters);
            start.elapsed()
        })
    });
    g.bench_function(BenchmarkId::new(name, "1t_cpu"), |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu_time();
            work(iters);
            thread_cpu_time() - start
        })
    });
}

/// The spawned-thread clocks of `work(iters)`: `1t_spawned_cpu`, `2t_wall` and `2t_cpu`.
fn threaded(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, work: impl Fn(u64) + Sync) {
    g.bench_function(BenchmarkId::new(name, "1t_spawned_cpu"), |b| {
        b.iter_custom(|iters| run_threads(1, Clock::Cpu, |_| work_done(&work, iters)).0)
    });
    for (clock, label) in [(Clock::Wall, "2t_wall"), (Clock::Cpu, "2t_cpu")] {
        g.bench_function(BenchmarkId::new(name, label), |b| {
            b.iter_custom(|iters| run_threads(2, clock, |_| work_done(&work, iters)).0)
        });
    }
    g.bench_function(BenchmarkId::new(name, "2t_cpu_mean"), |b| {
        b.iter_custom(|iters| {
            let (_, both) = run_threads(2, Clock::Cpu, |_| {
                let start = thread_cpu_time();
                work(iters);
                (thread_cpu_time() - start).as_nanos() as u64
            });
            Duration::from_nanos(both / 2)
        })
    });
}

fn work_done(work: &impl Fn(u64), iters: u64) -> u64 {
    work(iters);
    0
}

/// A subject's timed loop: `iters` round trips. (The closure is `Sync` when `S` is: `threaded`
/// needs that, `single` does not, so the `!Sync` `SyncPool` uses it too.)
fn round_trips<S: Subject>(s: &S) -> impl Fn(u64) + '_ {
    move |iters| {
        for _ in 0..iters {
            round_trip(s);
        }
    }
}

fn warm<S: Subject>(s: &S) {
    for _ in 0..1000 {
        round_trip(s);
    }
}

/// The control's work per iteration: eight independent add/xor chains (no memory access, no
/// shared state), a few nanoseconds.
#[inline(never)]
fn alu(iters: u64) -> u64 {
    let mut r = [1u64, 2, 3, 4, 5, 6, 7, 8];
    for i in 0..iters {
        for j in 0..8 {
            r[j] = r[j].wrapping_add(i ^ r[(j + 1) % 8]);
        }
    }
    std::hint::black_box(r.iter().fold(0, |a, b| a ^ b))
}

/// Every clock, for a subject shared by two threads.
fn both<S: Subject + Sync>(g: &mut BenchmarkGroup<'_, WallTime>, s: &S) {
    warm(s);
    single(g, s.name(), round_trips(s));
    threaded(g, s.name(), round_trips(s));
}

fn hot(c: &mut Criterion) {
    let mut g = c.benchmark_group("hot");
    both(&mut g, &gc_get());
    // The owned guard beside `get`, on one thread: it adds only an `Arc` clone and drop.
    let owned = gc_get_owned();
    warm(&owned);
    single(&mut g, owned.name(), round_trips(&owned));
    both(&mut g, &gc_take());
    const CONTROL: &str = "machine_control_alu";
    single(&mut g, CONTROL, |iters| {
        alu(iters);
    });
    threaded(&mut g, CONTROL, |iters| {
        alu(iters);
    });
    // Baselines.
    both(&mut g, &std_tls());
    both(&mut g, &std_tls_const());
    both(&mut g, &crate_tls());
    both(&mut g, &fresh());
    both(&mut g, &fresh_zeroed());
    // Peers.
    both(&mut g, &array_queue());
    both(&mut g, &mutex_vec());
    both(&mut g, &lfop_linear());
    both(&mut g, &lfop_spin());
    both(&mut g, &object_pool());
    both(&mut g, &opool());
    both(&mut g, &slab());
    // `SyncPool` is `!Sync`: one thread only.
    let sync_pool = syncpool();
    warm(&sync_pool);
    single(&mut g, sync_pool.name(), round_trips(&sync_pool));
    g.finish();
}

criterion_group! {
    name = benches;
    config = config()
        .warm_up_time(Duration::from_millis(150))
        .measurement_time(Duration::from_millis(500));
    targets = hot
}
criterion_main!(benches);
