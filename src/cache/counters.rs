//! The counters of a private slot or a shard, summed by `Pool::stats`.
//!
//! A thread that owns a private slot counts in that slot's counters with plain load-then-store
//! (`add` with `Writer::Sole`: it is their only writer, so no read-modify-write); a thread
//! without one counts in its home shard's counters with `fetch_add` (`Writer::Shared`: several
//! threads share a shard). Either way the
//! sum is exact once operations have stopped.

use crate::sync::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// The counters of one private slot or one shard (see the module docs).
pub(crate) struct Counters {
    pub(crate) created: AtomicU64,
    pub(crate) hits: AtomicU64,
    pub(crate) victim_hits: AtomicU64,
    pub(crate) puts: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) shrunk: AtomicU64,
    /// Capacity bytes that entered (`bytes_in`) and left (`bytes_out`) through this slot or shard.
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
}

/// Who is counting: the single writer of a private slot's counters, or a sharer of a shard's.
#[derive(Clone, Copy)]
pub(crate) enum Writer {
    Sole,
    Shared,
}

impl Counters {
    pub(crate) fn new() -> Self {
        let zero = || AtomicU64::new(0);
        Self {
            created: zero(),
            hits: zero(),
            victim_hits: zero(),
            puts: zero(),
            rejected: zero(),
            shrunk: zero(),
            bytes_in: zero(),
            bytes_out: zero(),
        }
    }
}

/// Adds `by` to `counter`.
#[inline]
pub(crate) fn add(writer: Writer, counter: &AtomicU64, by: u64) {
    match writer {
        // Relaxed: only the slot's owner writes this counter (ownership of a slot passes
        // through the slot allocator's mutex), and readers need the value to be exact only
        // once operations have stopped, which joining or any other synchronisation provides.
        Writer::Sole => counter.store(counter.load(Relaxed).wrapping_add(by), Relaxed),
        // Relaxed: a statistic, as above; the read-modify-write keeps concurrent adds.
        Writer::Shared => {
            counter.fetch_add(by, Relaxed);
        }
    }
}
