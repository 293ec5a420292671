//! Loom models that need the crate's internals: the private slot and the shard as units (the
//! way tokio models its run queue in `runtime/tests/loom_queue.rs`), and the thread-exit
//! hand-over, which only the crate can trigger (`thread_slot::thread_exit`).
//!
//! Run with the loom cfg, in release mode, with a separate target directory:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom -C debug-assertions=on" LOOM_MAX_PREEMPTIONS=2 \
//! LOOM_MAX_BRANCHES=10000 CARGO_TARGET_DIR=target/loom \
//!   cargo test -p gcpool --lib --release -- --test-threads=2 --nocapture
//! ```
//!
//! Bookkeeping (ids, drop counts, iteration counts) uses `std` atomics on purpose: loom runs a
//! model's threads on one OS thread, so `std` atomics record what happened in the explored
//! execution without adding scheduling points. Everything the code under test does goes
//! through loom (the sync facade).

mod loom_exit;
mod loom_private;
mod loom_shard;
#[allow(unreachable_pub)] // public for `loom-tests/`, which includes the file too
mod track;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

use track::{Obj, Tracker};

/// Asserts that `objs` holds each of `expected` exactly once and nothing else.
fn assert_exactly<'a>(objs: impl IntoIterator<Item = &'a Obj>, expected: &[usize]) {
    let mut counts = BTreeMap::new();
    for obj in objs {
        *counts.entry(obj.id).or_insert(0usize) += 1;
    }
    for (id, n) in &counts {
        assert_eq!(*n, 1, "object {id} handed out {n} times");
    }
    let got: Vec<usize> = counts.keys().copied().collect();
    let mut want = expected.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "objects obtained");
}

/// Runs a model with `LOOM_MAX_PREEMPTIONS` (default 2) and prints its iteration count and
/// time (`--nocapture` shows them).
fn check(name: &str, model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    // `Builder::new` read the environment; only fill in what it left unset.
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    let bound = builder.preemption_bound;
    let iterations = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = iterations.clone();
    let start = Instant::now();
    // Reports the iterations a failing model ran before its failure (the panic unwinds
    // through `check`, so the success line below is never printed then).
    struct OnFailure<'a>(&'a str, std::sync::Arc<AtomicUsize>, Instant);
    impl Drop for OnFailure<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                eprintln!(
                    "loom model {}: FAILED in iteration {} after {:.2?}",
                    self.0,
                    self.1.load(SeqCst),
                    self.2.elapsed()
                );
            }
        }
    }
    let on_failure = OnFailure(name, iterations.clone(), start);
    builder.check(move || {
        counter.fetch_add(1, SeqCst);
        model();
    });
    drop(on_failure);
    eprintln!(
        "loom model {name}: {} iterations in {:.2?} (max preemptions {})",
        iterations.load(SeqCst),
        start.elapsed(),
        bound.map_or("unbounded".to_string(), |b| b.to_string()),
    );
}
