//! The put-time policy hook that capacity policies plug into.
//!
//! A pool built by a [`Builder`](crate::Builder) may carry one `Hooks` object. The pool calls it
//! on every `put` (before the object enters the cache, so it sees the length actually written),
//! after every factory call, and to measure the capacity bytes an object holds (for
//! `Stats::retained_bytes`). A pool without hooks pays one predictable branch.

/// What a put-time policy decided about an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)] // `Shrunk` and `Reject` come with the capacity policies
pub(crate) enum Verdict {
    /// Pool it as it is (it may have been reset).
    Keep,
    /// Pool it; its capacity was reduced.
    Shrunk,
    /// Drop it instead of pooling it.
    Reject,
}

/// A pool's policy hooks.
pub(crate) trait Hooks<T>: Send + Sync {
    /// Decides what `put` does with `value`; may reset or shrink it. `slot` is the calling
    /// thread's slot, for per-shard state.
    fn on_put(&self, value: &mut T, slot: usize) -> Verdict;

    /// Called on every new object from the factory.
    fn on_create(&self, _value: &mut T) {}

    /// Capacity bytes `value` holds, for `Stats::retained_bytes` (0 if not measured).
    fn bytes(&self, _value: &T) -> usize {
        0
    }
}
