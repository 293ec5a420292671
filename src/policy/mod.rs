//! The extras beyond Go's `sync.Pool`: put-time policies, and the trait through which the pool
//! calls them.
//!
//! The core (`pool.rs` and what it uses) knows nothing of this module but [`Hooks`], the trait
//! object a pool may hold, and the [`PutDecision`] it answers with. Everything else builds on
//! the core: [`builder`] (the [`Builder`](crate::Builder) that assembles the hooks), [`recycle`]
//! (objects whose memory can be measured, reset and shrunk), [`budget`] (the byte budget of
//! `max_retained_bytes`), [`adaptive`] (a learned size cap), [`chaos`] (chaos mode) and
//! [`size_class`] (pools by size class).
//!
//! A pool built by a [`Builder`](crate::Builder) may carry one `Hooks` object. The pool calls it
//! on every `put` (before the object enters the cache, so it sees the length actually written),
//! after every factory call, and to measure the capacity bytes an object holds (for
//! `Stats::retained_bytes`). A pool without hooks pays one predictable branch.

pub(crate) mod adaptive;
pub(crate) mod budget;
pub(crate) mod builder;
pub(crate) mod chaos;
pub(crate) mod recycle;
pub(crate) mod size_class;

/// A pool's policy hooks.
///
/// Contract with `pool.rs` (which `Stats::retained_bytes` and the byte budget
/// rely on): `bytes` is called exactly once for each object that enters the pool, on the putting
/// thread, immediately after `on_put` kept it, and exactly once for each object that leaves the
/// pool (a hit, or dropped by `collect`/`clear`).
pub(crate) trait Hooks<T>: Send + Sync {
    /// Decides what `put` does with `value`; may reset or shrink it. `slot` is the calling
    /// thread's slot, for per-shard state.
    fn on_put(&self, value: &mut T, slot: usize) -> PutDecision;

    /// Called on every new object from the factory.
    fn on_create(&self, _value: &mut T) {}

    /// Capacity bytes `value` holds, with no side effect (0 if the pool does not measure
    /// objects). `put` adds it to `Stats::retained_bytes` for every object a policy admits.
    fn measure(&self, _value: &T) -> usize {
        0
    }

    /// Called for every object leaving the pool: a hit (on the taker's thread), a drop by
    /// `collect`/`clear` (on the collecting thread), or a drop of an object a put left in a
    /// deque that two collections retired (on the owner's thread). Returns its capacity bytes,
    /// which `Stats::retained_bytes` subtracts; a byte budget credits them back here.
    fn on_leave(&self, value: &T) -> usize {
        self.measure(value)
    }

    /// Asked after every put a policy admitted: whether the pool should run one collection
    /// now (chaos mode).
    fn wants_collect(&self) -> bool {
        false
    }
}

/// What a custom put hook ([`Builder::on_put`](crate::Builder::on_put)) decided; the pool's own
/// put-time policies answer with the same three values.
///
/// ```
/// use gcpool::{Pool, PutDecision};
///
/// // Keep at most 16 entries' worth of a Vec<String>; shrink larger ones.
/// let pool = Pool::builder(Vec::<String>::new)
///     .on_put(|v| {
///         if v.iter().any(|s| s.len() > 1 << 20) {
///             PutDecision::Reject                  // holds a huge string: not worth keeping
///         } else if v.capacity() > 16 {
///             v.clear();
///             v.shrink_to(16);
///             PutDecision::Shrunk
///         } else {
///             PutDecision::Keep
///         }
///     })
///     .reset(Vec::clear)
///     .build();
/// pool.put(vec![String::new(); 100]);
/// assert_eq!(pool.stats().shrunk, 1);
/// assert!(pool.take().capacity() <= 16);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PutDecision {
    /// Pool the object.
    Keep,
    /// Pool the object; the hook reduced its memory (counted in [`Stats::shrunk`](crate::Stats::shrunk)).
    Shrunk,
    /// Drop the object instead of pooling it (counted in [`Stats::rejected`](crate::Stats::rejected)).
    Reject,
}
