//! Tracked objects for loom models, shared by the in-crate models (`src/tests/`) and the
//! models of `loom-tests/` (which include this file by path): each object has an id, and the
//! tracker counts drops per id, so that a model can assert that every object is dropped
//! exactly once. Leaks are reported by loom (the `Track` each object holds).
//!
//! The bookkeeping uses `std` atomics on purpose: loom runs a model's threads on one OS thread,
//! so `std` atomics record what happened in the explored execution without adding scheduling
//! points.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// Upper bound on the objects one execution of a model creates.
pub const MAX_OBJECTS: usize = 8;

/// Hands out object ids and counts drops per id.
pub struct Tracker {
    next: AtomicUsize,
    drops: [AtomicUsize; MAX_OBJECTS],
}

/// A pooled object. Dropping it twice panics; leaking it is reported by loom (the `Track`).
pub struct Obj {
    pub id: usize,
    tracker: std::sync::Arc<Tracker>,
    _leak_check: loom::alloc::Track<()>,
}

/// So that the assertions of `runner.rs` take objects, references and references to them alike.
impl AsRef<Obj> for Obj {
    fn as_ref(&self) -> &Obj {
        self
    }
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
    pub fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            next: AtomicUsize::new(0),
            drops: std::array::from_fn(|_| AtomicUsize::new(0)),
        })
    }

    /// A fresh object with the next id.
    pub fn obj(self: &std::sync::Arc<Self>) -> Obj {
        let id = self.next.fetch_add(1, SeqCst);
        assert!(id < MAX_OBJECTS, "model creates too many objects");
        Obj {
            id,
            tracker: self.clone(),
            _leak_check: loom::alloc::Track::new(()),
        }
    }

    /// Objects created so far (by the model or by the pool's factory).
    pub fn created(&self) -> usize {
        self.next.load(SeqCst)
    }

    /// How many times object `id` was dropped.
    pub fn drops(&self, id: usize) -> usize {
        self.drops[id].load(SeqCst)
    }

    /// Every object created so far was dropped exactly once.
    pub fn assert_all_dropped_once(&self, when: &str) {
        for id in 0..self.created() {
            assert_eq!(self.drops(id), 1, "object {id}: drop count {when}");
        }
    }
}
