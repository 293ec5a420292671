//! [`Stats`] (counters) and [`Snapshot`] (a diagnostic picture of where objects are).
//!
//! Counters are kept per private slot (written only by its owner, with plain relaxed stores: no
//! shared, contended write on the get/put fast path) and per shard, and summed on read
//! (`cache/counters.rs`).

/// A pool's counters, summed over its private slots and shards.
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
    /// One entry per shard (one per CPU, rounded up to a power of two), in order.
    pub shards: Vec<ShardSnapshot>,
    /// Whether the calling thread's private slot holds an object; `None` if the thread has no
    /// private slot in this pool (only the first threads, up to twice the CPU count, have one).
    pub own_private: Option<bool>,
    /// Objects in all private slots.
    pub private: usize,
    /// Objects in the primary generation (the private slots and every shard's primary list).
    pub primary: usize,
    /// Objects in the victim generation.
    pub victim: usize,
}

/// One shard in a [`Snapshot`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShardSnapshot {
    /// The shard's index.
    pub shard: usize,
    /// Objects in the private slots of the threads whose home this shard is.
    pub private: usize,
    /// Objects in the shard's primary list (Go's `shared`, a `poolChain` there).
    pub shared: usize,
    /// Objects in the shard's victim list.
    pub victim: usize,
    /// Whether this is the calling thread's home shard.
    pub home: bool,
}
