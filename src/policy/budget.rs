//! The per-shard byte budget of `max_retained_bytes`.

use std::cell::Cell;
use std::sync::atomic::AtomicIsize;
use std::sync::atomic::Ordering::Relaxed;

use crossbeam_utils::CachePadded;

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
        Self::with_shards(budget, super::adaptive::shard_count())
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
