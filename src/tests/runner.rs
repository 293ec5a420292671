//! The model runner and the hand-out assertion that the crate's loom models and `loom-tests/`
//! share (`loom-tests/tests/common/mod.rs` includes this file by path, beside `track.rs`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

use super::track::Obj;

/// The ids of `objs`, counted: a count above one is a double hand-out.
pub fn id_counts(objs: impl IntoIterator<Item = impl AsRef<Obj>>) -> BTreeMap<usize, usize> {
    let mut counts = BTreeMap::new();
    for obj in objs {
        *counts.entry(obj.as_ref().id).or_insert(0) += 1;
    }
    counts
}

/// Asserts that `objs` holds each of `expected` exactly once and nothing else.
pub fn assert_exactly(objs: impl IntoIterator<Item = impl AsRef<Obj>>, expected: &[usize]) {
    let counts = id_counts(objs);
    for (id, n) in &counts {
        assert_eq!(*n, 1, "object {id} handed out {n} times");
    }
    let got: Vec<usize> = counts.keys().copied().collect();
    let mut want = expected.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "objects obtained");
}

/// Runs a model with `LOOM_MAX_PREEMPTIONS` (default 2) and prints its iteration count and
/// time (`--nocapture` shows them). `around` runs the exploration (`loom-tests/` installs a
/// tracing subscriber around it, for `LOOM_LOG`).
pub fn check_around(
    name: &str,
    model: impl Fn() + Sync + Send + 'static,
    around: impl FnOnce(&mut dyn FnMut()),
) {
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
    // through `check_around`, so the success line below is never printed then).
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
    let model = std::sync::Arc::new(model);
    around(&mut || {
        let (model, counter) = (model.clone(), counter.clone());
        builder.check(move || {
            counter.fetch_add(1, SeqCst);
            model();
        })
    });
    drop(on_failure);
    eprintln!(
        "loom model {name}: {} iterations in {:.2?} (max preemptions {})",
        iterations.load(SeqCst),
        start.elapsed(),
        bound.map_or("unbounded".to_string(), |b| b.to_string()),
    );
}
