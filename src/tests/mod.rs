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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

/// Upper bound on the objects one execution of a model creates.
const MAX_OBJECTS: usize = 8;

/// Hands out object ids and counts drops per id.
struct Tracker {
    next: AtomicUsize,
    drops: [AtomicUsize; MAX_OBJECTS],
}

/// A tracked object. Dropping it twice panics; leaking it is reported by loom (the `Track`).
struct Obj {
    id: usize,
    tracker: std::sync::Arc<Tracker>,
    _leak_check: loom::alloc::Track<()>,
}

impl Drop for Obj {
    fn drop(&mut self) {
        let before = self.tracker.drops[self.id].fetch_add(1, SeqCst);
        // While a failed assertion unwinds, a second drop is a consequence, and a second panic
        // would abort the test binary before the failure is reported.
        if !std::thread::panicking() {
            assert_eq!(before, 0, "object {} dropped twice", self.id);
        }
    }
}

impl std::fmt::Debug for Obj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Obj({})", self.id)
    }
}

impl Tracker {
    fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            next: AtomicUsize::new(0),
            drops: std::array::from_fn(|_| AtomicUsize::new(0)),
        })
    }

    /// A fresh object with the next id.
    fn obj(self: &std::sync::Arc<Self>) -> Obj {
        let id = self.next.fetch_add(1, SeqCst);
        assert!(id < MAX_OBJECTS, "model creates too many objects");
        Obj {
            id,
            tracker: self.clone(),
            _leak_check: loom::alloc::Track::new(()),
        }
    }

    fn created(&self) -> usize {
        self.next.load(SeqCst)
    }

    fn drops(&self, id: usize) -> usize {
        self.drops[id].load(SeqCst)
    }

    /// Every object created so far was dropped exactly once.
    fn assert_all_dropped_once(&self, when: &str) {
        for id in 0..self.created() {
            assert_eq!(self.drops(id), 1, "object {id}: drop count {when}");
        }
    }
}

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
