//! `capacity`: the size-aware workloads under every policy (`docs/capacity.md`).
//!
//! * `capacity_mixed/<policy>`: 2 threads, 32 buffers in flight each; payloads 99% uniform
//!   100–1000 B, 1% 1 MiB, written in 1 KiB chunks. Time per op (get, write, put).
//! * `capacity_small_after_burst/<policy>`: 64 buffers grown to 1 MiB are put first, then small
//!   payloads only: the #23199 live-lock, where an unbounded pool keeps handing out 1 MiB buffers.
//!
//! Each sample starts from a fresh pool, so cold-start behaviour (bytebufferpool keeping
//! everything for 42,000 puts, the adaptive cold bound) is part of what is measured. Retained
//! bytes and allocations per op, which Criterion cannot report, are printed by
//! `cargo run --release --example capacity`.

#[path = "../examples/capacity_workload/mod.rs"]
mod workload;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use workload::{policies, run, Rng, MIB};

const THREADS: usize = 2;
const IN_FLIGHT: usize = 32;
/// Every timed run does at least this many ops per thread, so that spawning the threads (and,
/// in `small_after_burst`, the untimed 64 MiB burst before each run) never dominates; the time
/// returned is scaled to the iterations Criterion asked for.
const MIN_OPS_PER_THREAD: usize = 20_000;

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
}

fn mixed(c: &mut Criterion) {
    let mut g = c.benchmark_group("capacity_mixed");
    for policy in policies() {
        g.bench_function(BenchmarkId::from_parameter(policy.name), |b| {
            b.iter_custom(|iters| {
                let subject = (policy.make)();
                let per_thread = (iters as usize).div_ceil(THREADS).max(MIN_OPS_PER_THREAD);
                let out = run(
                    &subject,
                    THREADS,
                    per_thread,
                    IN_FLIGHT,
                    1,
                    Rng::mixed,
                    None,
                );
                out.elapsed.mul_f64(iters as f64 / out.ops as f64)
            })
        });
    }
    g.finish();
}

fn small_after_burst(c: &mut Criterion) {
    let mut g = c.benchmark_group("capacity_small_after_burst");
    for policy in policies() {
        g.bench_function(BenchmarkId::from_parameter(policy.name), |b| {
            b.iter_custom(|iters| {
                let subject = (policy.make)();
                let burst: Vec<_> = (0..64)
                    .map(|_| {
                        let mut v = subject.take(MIB);
                        workload::write(&mut v, MIB);
                        v
                    })
                    .collect();
                for v in burst {
                    subject.put(v);
                }
                let per_thread = (iters as usize).div_ceil(THREADS).max(MIN_OPS_PER_THREAD);
                let out = run(
                    &subject,
                    THREADS,
                    per_thread,
                    IN_FLIGHT,
                    2,
                    Rng::small,
                    None,
                );
                out.elapsed.mul_f64(iters as f64 / out.ops as f64)
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = mixed, small_after_burst
}
criterion_main!(benches);
