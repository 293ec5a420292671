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
//! The object lives in the slot's heap cell (`cell.rs`), so that `get` can lease it: the guard
//! takes the cell, object and all, and gives it back on drop.
//!
//! Invariants: `state` and `cell` are written only by the owner; `retired` and `taken` only
//! under the collectors' lock (by a collector, or by the owner settling). When `state` is
//! `FULL`, `cell` is non-null, and its object is initialised exactly when `taken` is 0. When
//! `state` is `EMPTY`, the cell (if any) holds no object.

use std::ptr;

use super::cell::{Cell, CellPtr};
use super::counters::Counters;
use crate::sync::{light_barrier, AtomicPtr, AtomicU8};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

const EMPTY: u8 = 0;
const FULL: u8 = 1;

/// What an owner's claim found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Claim {
    /// The object is the claimer's: lease it ([`Private::lease_claimed`]) or move it out
    /// ([`Private::take_claimed`]).
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
    /// The slot's cell, null if a guard has it (or none was allocated yet). Read by a
    /// collector only when `state` is `FULL`.
    cell: AtomicPtr<Cell<T>>,
    /// An empty cell kept for when a guard has the slot's own (owner only): a guard returning
    /// its cell to a full slot leaves it here, and the next put uses it, so that nested guards
    /// allocate nothing.
    spare: AtomicPtr<Cell<T>>,
    /// Written only by the slot's owner.
    pub(crate) counters: Counters,
}

// SAFETY: the cell and its object are reached only by the owner (whose ownership of the slot
// passes through the slot allocator's mutex) and by collectors behind the barrier pair and the
// collectors' lock (module docs); everything else is atomic. Objects move between threads:
// `T: Send`.
unsafe impl<T: Send> Sync for Private<T> {}
// SAFETY: as above; nothing here is tied to the thread that created it.
unsafe impl<T: Send> Send for Private<T> {}

impl<T> Private<T> {
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicU8::new(EMPTY),
            retired: AtomicU8::new(0),
            taken: AtomicU8::new(0),
            cell: AtomicPtr::new(ptr::null_mut()),
            spare: AtomicPtr::new(ptr::null_mut()),
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

    /// Owner only: the slot's cell, allocating one if a guard took the last one (or none was
    /// allocated yet).
    #[inline]
    fn own_cell(&self) -> CellPtr<T> {
        // Relaxed: only the owner (us) writes `cell`.
        match CellPtr::new(self.cell.load(Relaxed)) {
            Some(cell) => cell,
            None => self.new_cell(),
        }
    }

    #[cold]
    #[inline(never)]
    fn new_cell(&self) -> CellPtr<T> {
        // Relaxed (both): owner-only fields.
        let cell = match CellPtr::new(self.spare.load(Relaxed)) {
            Some(spare) => {
                self.spare.store(ptr::null_mut(), Relaxed);
                spare
            }
            None => Cell::alloc(),
        };
        // Relaxed: a collector reads `cell` only after loading FULL with Acquire, which the
        // Release store of FULL in `put` orders after this.
        self.cell.store(cell.as_ptr(), Relaxed);
        cell
    }

    /// Owner only, after `is_empty` returned `true`.
    #[inline]
    pub(crate) fn put(&self, value: T) {
        // SAFETY: EMPTY, and only the owner (us) leaves EMPTY: the cell holds no object and
        // nobody reads it until we publish FULL below (a collector reads it only once it sees
        // FULL).
        unsafe { Cell::write(self.own_cell(), value) };
        // Release publishes the cell and the object to a collector that loads FULL with
        // Acquire.
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
        unsafe { Cell::write_from(self.own_cell(), src) };
        // Release publishes the value to a collector that loads FULL with Acquire.
        self.state.store(FULL, Release);
    }

    /// Owner only (the caller holds this slot), when a guard returns a leased cell with its
    /// object: installs it if the slot is empty and has no cell, and says whether it did (if
    /// not, the caller still owns the cell).
    #[inline(always)]
    pub(crate) fn install_cell(&self, cell: CellPtr<T>) -> bool {
        // Relaxed (both): only the owner (us) writes `state` and `cell`.
        if self.state.load(Relaxed) != EMPTY || !self.cell.load(Relaxed).is_null() {
            return false;
        }
        // Relaxed: published by the Release store of FULL, as in `new_cell`.
        self.cell.store(cell.as_ptr(), Relaxed);
        // Release publishes the cell and the object (which the guard may have written) to a
        // collector that loads FULL with Acquire.
        self.state.store(FULL, Release);
        true
    }

    /// Owner only (the caller holds this slot), when a guard returns a leased cell with its
    /// object and `install_cell` declined it: installs it if the slot is empty (its own empty
    /// cell becomes the spare), and returns the object if the slot holds one already (the
    /// caller puts it elsewhere). The cell is kept either way, or freed if the slot has a cell
    /// and a spare.
    #[cold]
    #[inline(never)]
    pub(crate) fn return_cell(&self, cell: CellPtr<T>) -> Option<T> {
        // Relaxed (all): owner-only fields, published as in `install_cell`.
        if self.state.load(Relaxed) == EMPTY {
            // The slot has an empty cell of its own: ours, with the object, takes its place.
            let own = self.cell.load(Relaxed);
            self.cell.store(cell.as_ptr(), Relaxed);
            self.state.store(FULL, Release);
            if let Some(own) = CellPtr::new(own) {
                self.keep_spare(own);
            }
            return None;
        }
        // SAFETY: the caller owned the cell and its object, and gives both up.
        let value = unsafe { Cell::read(cell) };
        self.keep_spare(cell);
        Some(value)
    }

    /// Owner only: keeps an empty cell as the spare, or frees it if there is one already.
    fn keep_spare(&self, cell: CellPtr<T>) {
        // Relaxed (both): owner-only field.
        if self.spare.load(Relaxed).is_null() {
            self.spare.store(cell.as_ptr(), Relaxed);
        } else {
            // SAFETY: an empty cell that the caller owned and gives up.
            unsafe { Cell::free(cell) };
        }
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

    /// Owner only, after a claim that stands: the slot's cell with the object in it, which the
    /// caller now owns (the slot has no cell until one is returned or allocated).
    #[inline]
    pub(crate) fn lease_claimed(&self) -> CellPtr<T> {
        // Relaxed (both): only the owner (us) writes `cell`; our claim stands, so no collector
        // reads it (it saw our claim, or took nothing).
        let cell = self.cell.load(Relaxed);
        self.cell.store(ptr::null_mut(), Relaxed);
        // SAFETY: FULL when claimed, so the cell was non-null (type invariant).
        unsafe { CellPtr::new_unchecked(cell) }
    }

    /// Owner only, after a claim that stands: moves the object out (the cell stays).
    #[inline]
    pub(crate) fn take_claimed(&self) -> T {
        // Relaxed: only the owner (us) writes `cell`.
        let cell = self.cell.load(Relaxed);
        // SAFETY: our claim stands: FULL when claimed, so the cell is non-null and its object
        // initialised; no collector takes it (it saw our claim, or took nothing, per `taken`),
        // and only we write a new one.
        unsafe { Cell::read(CellPtr::new_unchecked(cell)) }
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
        // Relaxed on `cell`: the Acquire load of FULL above ordered the owner's store of it.
        let value = unsafe { Cell::read(CellPtr::new_unchecked(self.cell.load(Relaxed))) };
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
        if let Some(spare) = CellPtr::new(self.spare.load(Relaxed)) {
            // SAFETY: the slot's empty spare, reached by nobody else any more.
            unsafe { Cell::free(spare) };
        }
        let Some(cell) = CellPtr::new(self.cell.load(Relaxed)) else {
            return;
        };
        // SAFETY: FULL and not taken: initialised, and moved out once.
        let value = self.looks_full().then(|| unsafe { Cell::read(cell) });
        // SAFETY: the slot's own cell, empty now, reached by nobody else any more. Freed before
        // the object is dropped, so that a panicking `T::drop` does not leak it.
        unsafe { Cell::free(cell) };
        drop(value);
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
