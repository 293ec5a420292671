//! [`Stats`] (counters) and [`Snapshot`] (a diagnostic picture of where objects are).
//!
//! Counters are kept per thread cache, written only by the cache's owner with plain relaxed
//! stores (no shared, contended write on the get/put fast path), and summed on read.

/// A pool's counters, summed over every thread's cache.
///
/// Exact when no operation is in flight. While operations run, each field is some recent
/// value, and `retained` may be briefly off.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Objects made by the factory (misses of `get`/`take`).
    pub created: u64,
    /// `get`/`take`/`try_take` calls served from the pool, from either generation.
    pub hits: u64,
    /// Of `hits`, those served from the victim generation.
    pub victim_hits: u64,
    /// Objects passed to `put` (including those a policy then rejected).
    pub puts: u64,
    /// Calls to `collect` (including those made by `collect_all` and the `Collector`).
    pub collections: u64,
    /// Objects dropped by `collect` or `clear`.
    pub collected: u64,
    /// Objects the pool holds now, in both generations.
    pub retained: usize,
    /// Objects a put-time policy dropped instead of pooling.
    pub rejected: u64,
    /// Objects a put-time policy shrank before pooling.
    pub shrunk: u64,
    /// Capacity bytes held in both generations (0 unless the pool's policy measures objects).
    pub retained_bytes: usize,
}

/// A diagnostic picture of a pool: where its objects are right now.
///
/// For teaching and debugging, not for control flow: concurrent operations change the pool
/// while the snapshot is taken.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// One entry per thread slot the pool has a cache for, in slot order.
    pub caches: Vec<CacheSnapshot>,
    /// Objects in the primary generation (every cache's private slot, deque and stash).
    pub primary: usize,
    /// Objects in the victim generation.
    pub victim: usize,
}

/// One thread cache in a [`Snapshot`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheSnapshot {
    /// The thread slot (a small index reused after a thread exits; Go's P id).
    pub slot: usize,
    /// Whether the one-object private slot holds an object. An object leased in place by a
    /// live [`Pooled`](crate::Pooled) guard is out of the pool and shows as `false`.
    pub private: bool,
    /// Objects in the cache's deque (Go's `shared` `poolChain`).
    pub shared: usize,
    /// Objects in the cache's stash: what its last steal brought back beyond the object it
    /// returned, which only its thread pops (no Go counterpart; see `docs/internals.md`).
    pub stashed: usize,
    /// Whether this is the calling thread's cache.
    pub current: bool,
}
