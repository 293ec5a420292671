//! The put-time policy hook that capacity policies plug into, the public [`PutDecision`] of a
//! custom hook, and the per-shard byte budget of `max_retained_bytes`.
//!
//! A pool built by a [`Builder`](crate::Builder) may carry one `Hooks` object. The pool calls it
//! on every `put` (before the object enters the cache, so it sees the length actually written),
//! after every factory call, and to measure the capacity bytes an object holds (for
//! `Stats::retained_bytes`). A pool without hooks pays one predictable branch.

use std::cell::Cell;
use std::sync::atomic::AtomicIsize;
use std::sync::atomic::Ordering::Relaxed;

use crossbeam_utils::CachePadded;

/// A pool's policy hooks.
///
/// Contract with `pool.rs`/`generation.rs` (which `Stats::retained_bytes` and the byte budget
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

/// The pool-wide byte budget of `max_retained_bytes`, split into per-shard budgets.
///
/// Shard `i` (keyed by thread slot) has a signed balance `held[i]` and a share
/// `budget / shards`. Invariant: every balance stays `<= share`, because a balance only grows by
/// a compare-and-swap that checks it. So the sum of the balances, which is the capacity held,
/// never exceeds `budget`, with no pool-wide atomic on the put path. A put that does not fit in
/// its shard's share borrows headroom from other shards (raise theirs by CAS, lower ours), which
/// keeps the sum unchanged. An object leaving the pool credits the shard of the thread that
/// takes it (or collects it), which may go negative: headroom that others borrow.
pub(crate) struct Budget {
    shards: Box<[CachePadded<AtomicIsize>]>,
    share: isize,
}

thread_local! {
    /// The last slot this thread put with, for crediting departures (any shard is correct; the
    /// thread's own keeps the balance local).
    static LAST_SLOT: Cell<usize> = const { Cell::new(0) };
}

impl Budget {
    /// A budget of `budget` bytes (at most `isize::MAX`: no more can be allocated), split over
    /// one shard per thread shard of the process.
    pub(crate) fn new(budget: usize) -> Self {
        Self::with_shards(budget, crate::adaptive::shard_count())
    }

    /// A budget split over `n` shards (a power of two).
    fn with_shards(budget: usize, n: usize) -> Self {
        debug_assert!(n.is_power_of_two());
        let budget = budget.min(isize::MAX as usize) as isize;
        Self {
            shards: (0..n)
                .map(|_| CachePadded::new(AtomicIsize::new(0)))
                .collect(),
            share: budget / n as isize,
        }
    }

    /// Reserves `bytes` for an object about to be pooled by a thread of `slot`; false if the
    /// budget is full.
    pub(crate) fn admit(&self, bytes: usize, slot: usize) -> bool {
        let bytes = bytes.min(isize::MAX as usize) as isize;
        let i = slot & (self.shards.len() - 1);
        let _ = LAST_SLOT.try_with(|s| s.set(slot));
        let mine = &self.shards[i];
        // Relaxed throughout: the balances carry no data; the invariant (each balance <= share)
        // is kept by the atomicity of each compare-and-swap alone.
        for _ in 0..3 {
            let mut held = mine.load(Relaxed);
            // Checked: with a budget near `isize::MAX`, `held + bytes` can overflow while a
            // saturated sum still compares below the share.
            while let Some(new) = held.checked_add(bytes).filter(|&new| new <= self.share) {
                match mine.compare_exchange_weak(held, new, Relaxed, Relaxed) {
                    Ok(_) => return true,
                    Err(now) => held = now,
                }
            }
            if !self.borrow(i, held.saturating_add(bytes) - self.share) {
                return false;
            }
        }
        false
    }

    /// Moves up to `need` bytes of headroom from other shards to shard `i`; false if the others
    /// have none left.
    #[cold]
    fn borrow(&self, i: usize, mut need: isize) -> bool {
        let n = self.shards.len();
        // Relaxed throughout, as in `admit`: the balances carry no data.
        for k in 1..n {
            let other = &self.shards[(i + k) & (n - 1)];
            let mut held = other.load(Relaxed);
            while held < self.share {
                // Saturating: a balance may be as low as minus the whole budget (credits), so
                // `share - held` may exceed `isize::MAX`.
                let take = need.min(self.share.saturating_sub(held));
                match other.compare_exchange_weak(held, held + take, Relaxed, Relaxed) {
                    Ok(_) => {
                        self.shards[i].fetch_sub(take, Relaxed);
                        need -= take;
                        break;
                    }
                    Err(now) => held = now,
                }
            }
            if need <= 0 {
                return true;
            }
        }
        false
    }

    /// Credits back the bytes of an object that left the pool (`Hooks::on_leave`), to the
    /// shard this thread last put into (any shard keeps the sum right).
    pub(crate) fn credit(&self, bytes: usize) {
        let slot = LAST_SLOT.try_with(Cell::get).unwrap_or(0);
        let bytes = bytes.min(isize::MAX as usize) as isize;
        // Relaxed: as in `admit`.
        self.shards[slot & (self.shards.len() - 1)].fetch_sub(bytes, Relaxed);
    }

    /// The sum of the balances: the bytes held.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn held(&self) -> isize {
        self.shards.iter().map(|s| s.load(Relaxed)).sum()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn budget_bounds_the_sum_and_refills_on_departure() {
        let b = Budget::new(1 << 20);
        let mut admitted = 0;
        for _ in 0..100 {
            if b.admit(64 << 10, 0) {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 16);
        assert_eq!(b.held(), 1 << 20);
        b.credit(64 << 10); // one leaves
        assert!(b.admit(64 << 10, 3));
        assert!(!b.admit(1, 5));
        assert!(b.held() <= 1 << 20);
    }

    /// A budget near `isize::MAX` (`max_retained_bytes(usize::MAX)`): sums of balances and
    /// object sizes near the limit must neither overflow (a panic in a debug build, a
    /// negative balance that admits everything in a release build) nor admit past the budget.
    #[test]
    fn a_budget_near_isize_max_neither_overflows_nor_over_admits() {
        let one = Budget::with_shards(usize::MAX, 1);
        assert!(one.admit(100, 0));
        assert!(!one.admit(usize::MAX, 0), "admitted past the budget");
        assert_eq!(one.held(), 100);

        let two = Budget::with_shards(usize::MAX, 2);
        let share = isize::MAX / 2;
        assert!(two.admit(10, 1));
        two.credit(usize::MAX); // shard 1 far below zero: headroom for shard 0 to borrow
        assert!(two.admit(share as usize + 1_000, 0));
        // The sum of the balances moved by exactly what was admitted and credited.
        assert_eq!(two.held(), 10 - isize::MAX + share + 1_000);
    }

    #[test]
    fn an_object_larger_than_a_share_borrows() {
        let b = Budget::new(1 << 20);
        assert!(b.admit(1 << 20, 1));
        assert!(!b.admit(1, 0));
    }
}
