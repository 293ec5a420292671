//! The private slot: one object per thread slot per pool, which its owner takes and puts with
//! plain loads and stores (Go's `poolLocal.private`).
//!
//! Go's owner reads and writes `private` with no synchronisation because nobody else touches it
//! while the world runs: other Ps never steal it, and `poolCleanup` clears it with the world
//! stopped. gcpool never stops the world, so `collect` must still reach the object of an idle
//! thread. Only the owner writes `state`; the collector marks the slot `retired` and takes a
//! `FULL` object behind the asymmetric barrier (`sync/barrier.rs`):
//!
//! ```text
//!   owner's claim:  state = EMPTY;  light barrier;  if retired { settle } else { it is ours }
//!   collector:      retired = 1;    heavy barrier;  if state == FULL && !taken { take; taken = 1 }
//! ```
//!
//! Either the collector sees the owner's claim (and leaves the object), or the owner sees
//! `retired` and settles under the collectors' lock, where `taken` tells it whether its claim
//! stands. Nobody else ever takes a private object: a thief steals from the shards, as in Go.
//!
//! Invariants: `state` is written only by the owner; `retired` and `taken` only under the
//! collectors' lock (by a collector, or by the owner settling). The value is initialised exactly
//! when `state` is `FULL` and `taken` is 0.

use std::mem::MaybeUninit;

use super::counters::Counters;
use crate::sync::{light_barrier, AtomicU8, UnsafeCell};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

const EMPTY: u8 = 0;
const FULL: u8 = 1;

/// What an owner's claim found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Claim {
    /// The object is the claimer's: move it out with [`Private::move_out`].
    Hit,
    /// No object.
    Miss,
    /// A collector looked at the slot since the owner last settled: the owner must settle
    /// ([`Private::settle`], under the collectors' lock) to learn whether the claim stands.
    Retired,
}

/// One thread slot's private object in one pool, and that slot's counters. 128-byte aligned
/// so that two threads' slots never share a cache line (or an adjacent-line prefetch pair).
#[repr(align(128))]
pub(crate) struct Private<T> {
    state: AtomicU8,
    /// 1 once a collector has looked at the slot; 0 again when the owner has settled.
    retired: AtomicU8,
    /// 1 if that collector took the object (`state` says `FULL` until the owner settles).
    taken: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
    /// Written only by the slot's owner.
    pub(crate) counters: Counters,
}

// SAFETY: the value is reached only by the owner (whose ownership of the slot passes through
// the slot allocator's mutex) and by collectors behind the barrier pair and the collectors'
// lock (module docs); everything else is atomic. Objects move between threads: `T: Send`.
unsafe impl<T: Send> Sync for Private<T> {}
// SAFETY: as above; nothing here is tied to the thread that created it.
unsafe impl<T: Send> Send for Private<T> {}

impl<T> Private<T> {
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicU8::new(EMPTY),
            retired: AtomicU8::new(0),
            taken: AtomicU8::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            counters: Counters::new(),
        }
    }

    /// Owner only: whether [`put`](Self::put) may be called, and if not whether the slot
    /// needs settling first (a collector took its object: [`Self::needs_settling`]).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        // Relaxed: only the owner (us) writes `state`.
        self.state.load(Relaxed) == EMPTY
    }

    /// Owner only, when the slot is full: whether a collector has looked at it since the owner
    /// last settled (the object may be gone). A hint: `false` only costs a put to the shard.
    #[inline]
    pub(crate) fn needs_settling(&self) -> bool {
        // Relaxed: a hint; the settlement itself runs under the collectors' lock.
        self.retired.load(Relaxed) != 0
    }

    /// Owner only, after `is_empty` returned `true`.
    #[inline]
    pub(crate) fn put(&self, value: T) {
        // SAFETY: the owner (us) saw EMPTY and only the owner leaves EMPTY: nobody reads the
        // value until we publish FULL below (a collector reads it only once it sees FULL).
        self.value.with_mut(|v| unsafe { (*v).write(value) });
        // Release publishes the value to a collector that loads FULL with Acquire.
        self.state.store(FULL, Release);
    }

    /// Owner only, after `is_empty` returned `true`: moves the object at `src` into the slot
    /// by copying its bytes.
    ///
    /// # Safety
    ///
    /// `src` points to an initialised `T` that the caller will neither use nor drop again.
    #[inline]
    pub(crate) unsafe fn put_from(&self, src: *const T) {
        // SAFETY: as in `put`; `src` is a valid `T` that the caller gives up (our contract).
        self.value
            .with_mut(|v| unsafe { std::ptr::copy_nonoverlapping(src, (*v).as_mut_ptr(), 1) });
        // Release publishes the value to a collector that loads FULL with Acquire.
        self.state.store(FULL, Release);
    }

    /// Owner only: claims the object (`FULL -> EMPTY`) with a plain store, then checks for a
    /// collector (module docs).
    #[inline]
    pub(crate) fn claim(&self, global: bool) -> Claim {
        // Relaxed: only the owner writes `state`.
        if self.state.load(Relaxed) != FULL {
            return Claim::Miss;
        }
        // Relaxed: what orders this store before a collector's load is the barrier pair.
        self.state.store(EMPTY, Relaxed);
        light_barrier(global);
        // Relaxed: the barrier pair, not this load's ordering, decides what we see.
        if self.retired.load(Relaxed) != 0 {
            return Claim::Retired;
        }
        Claim::Hit
    }

    /// Owner only, holding the collectors' lock, after `claim` returned `Retired` or
    /// `needs_settling` returned `true`: whether the object is still ours (no collector took
    /// it). Either way the slot is settled: no longer retired, and `EMPTY` if the object is
    /// gone.
    pub(crate) fn settle(&self) -> bool {
        // Relaxed (all): collectors write `retired` and `taken` under the lock we hold, and
        // `state` is ours.
        let stands = self.taken.load(Relaxed) == 0;
        if !stands {
            self.state.store(EMPTY, Relaxed);
        }
        self.taken.store(0, Relaxed);
        self.retired.store(0, Relaxed);
        stands
    }

    /// Owner only, after a claim that stands: moves the object out (into registers, read as
    /// the pieces `put` wrote it in).
    #[inline]
    pub(crate) fn take_claimed(&self) -> T {
        // SAFETY: our claim stands: the value is initialised, no collector takes it (it saw our
        // claim, or took nothing, per `taken`), and only we write a new one.
        self.value.with(|v| unsafe { (*v).assume_init_read() })
    }

    /// Owner only, after a claim that stands: moves the object to `dst` by copying its bytes.
    ///
    /// # Safety
    ///
    /// `dst` is valid for writing a `T` (whatever it held is overwritten, not dropped).
    #[inline]
    pub(crate) unsafe fn take_into(&self, dst: *mut T) {
        // SAFETY: as in `take_claimed`; `dst` is writable (our contract).
        self.value
            .with(|v| unsafe { std::ptr::copy_nonoverlapping((*v).as_ptr(), dst, 1) });
    }

    /// A collector holding the collectors' lock: the first step, before the heavy barrier and
    /// [`take_retired`](Self::take_retired). Retires the slot only if it looks full, and says
    /// whether it did: an empty slot has nothing to take, and an object its owner puts while
    /// the collection runs may stay in the primary (it was put after the collection began).
    /// A slot that is not retired never needs its owner to settle.
    pub(crate) fn retire(&self) -> bool {
        if !self.looks_full() {
            return false;
        }
        // Relaxed: the heavy barrier orders it before the `state` load that follows.
        self.retired.store(1, Relaxed);
        true
    }

    /// A collector holding the collectors' lock, after a heavy barrier that followed the store
    /// of `retired` (this collection's, or an earlier one's that the owner has not settled
    /// yet): the object, if the owner has not claimed it. A slot that is not retired is left
    /// alone.
    pub(crate) fn take_retired(&self) -> Option<T> {
        // Relaxed: `retired` and `taken` are written under the lock we hold. Acquire on `state`
        // pairs with the owner's Release store of FULL in `put`: the value is written.
        if self.retired.load(Relaxed) == 0
            || self.taken.load(Relaxed) != 0
            || self.state.load(Acquire) != FULL
        {
            return None;
        }
        // SAFETY: FULL after the barrier pair: the owner has not claimed the object, and will
        // not touch it before it settles, which needs the lock we hold; `taken` was 0, so no
        // earlier collector moved it out. We mark it taken below, under the lock.
        let value = self.value.with(|v| unsafe { (*v).assume_init_read() });
        self.taken.store(1, Relaxed);
        Some(value)
    }

    /// Any thread: whether the slot looks like it holds an object (racy; diagnostics only).
    pub(crate) fn looks_full(&self) -> bool {
        // Relaxed: a hint, never used to reach the value.
        self.state.load(Relaxed) == FULL && self.taken.load(Relaxed) == 0
    }
}

impl<T> Drop for Private<T> {
    fn drop(&mut self) {
        // `&mut self`: no thread can touch the slot (and Relaxed loads see the last stores).
        if self.looks_full() {
            // SAFETY: FULL and not taken: initialised, and dropped once.
            self.value.with_mut(|v| unsafe { (*v).assume_init_drop() });
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn collect(private: &Private<u32>) -> Option<u32> {
        let _ = private.retire();
        crate::sync::heavy_barrier();
        private.take_retired()
    }

    /// The owner's claim, settled as the pool does (one thread: the lock adds nothing).
    fn take(private: &Private<u32>) -> Option<u32> {
        let stands = match private.claim(false) {
            Claim::Hit => true,
            Claim::Miss => false,
            Claim::Retired => private.settle(),
        };
        stands.then(|| private.take_claimed())
    }

    #[test]
    fn a_claim_after_a_collect_took_the_object_settles_to_a_miss() {
        let private = Private::new();
        private.put(1);
        assert_eq!(collect(&private), Some(1));
        assert_eq!(private.claim(false), Claim::Retired);
        assert!(!private.settle(), "the collect took it");
        assert!(private.is_empty());
        private.put(2);
        assert_eq!(take(&private), Some(2));
    }

    #[test]
    fn a_put_after_a_collect_took_the_object_settles_and_refills_the_slot() {
        let private = Private::new();
        private.put(1);
        assert_eq!(collect(&private), Some(1));
        assert!(!private.is_empty(), "FULL until the owner settles");
        assert!(private.needs_settling());
        assert!(!private.settle());
        assert!(private.is_empty());
        private.put(2);
        assert_eq!(take(&private), Some(2));
    }

    #[test]
    fn a_taken_object_is_taken_once() {
        let private = Private::new();
        private.put(1);
        assert_eq!(collect(&private), Some(1));
        assert_eq!(collect(&private), None, "a second collect took it again");
        assert!(!private.looks_full());
        assert_eq!(take(&private), None);
    }

    #[test]
    fn an_object_claimed_before_the_collect_stays_with_its_owner() {
        let private = Private::new();
        private.put(1);
        // The claim lands before the collector's barrier: the collector sees EMPTY.
        assert_eq!(private.claim(false), Claim::Hit);
        assert_eq!(collect(&private), None);
        assert_eq!(private.take_claimed(), 1);
    }

    #[test]
    fn dropping_the_slot_drops_a_private_object_once_and_a_taken_one_never() {
        use crate::testing::Counted;
        use std::sync::atomic::AtomicUsize;
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let taken = {
            let private = Private::new();
            private.put(Counted(&DROPS));
            assert!(private.retire());
            private.take_retired()
        };
        assert_eq!(DROPS.load(Relaxed), 0, "the slot dropped the taken object");
        drop(taken);
        assert_eq!(DROPS.load(Relaxed), 1);
        drop({
            let private = Private::new();
            private.put(Counted(&DROPS));
            private
        });
        assert_eq!(DROPS.load(Relaxed), 2);
    }
}
