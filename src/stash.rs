//! The thief's stash: the objects a steal brought back beyond the one it returned.
//!
//! A steal claims up to `chain::BATCH` of another cache's oldest objects at once, so that a
//! thread fed by another thread's puts (Go issue #11834's producer/consumer) pays for one steal
//! per batch rather than per object. The thief keeps all but one of them here, and its next
//! takes pop them. Nobody else steals from a stash: the thief took these objects because it
//! needs them, and giving them back to other thieves would only move them again. So a pop
//! needs no read-modify-write, which is what makes it cheaper than a pop from the thread's own
//! deque (whose owner must win a CAS against thieves).
//!
//! Only `collect` (and `clear`) must still reach a stash, including an idle thread's: release is
//! guaranteed (a thief that finds every deque empty also *raids* stashes, the same way). Go gets this for free, because its collector stops the world. Here the two sides
//! use an *asymmetric barrier* (`sync::light_barrier` / `sync::heavy_barrier`, Linux's
//! `membarrier`, as user-space RCU does): the owner's half is a compiler fence, the collector's
//! half makes every thread of the process execute a full fence.
//!
//! ```text
//!   owner's pop:  len = n - 1;  light;  if retired { settle } else { take slot n - 1 }
//!   collect:      retired = true;  heavy;  take slots [taken, len);  taken = len
//! ```
//!
//! Either the owner's store of `len` is visible to the collector's load (the collector then
//! leaves slot `n - 1` alone), or the owner's load sees `retired` (the owner then leaves slot
//! `n - 1` to the settlement). A collector takes what the stash holds, records how much in
//! `taken`, and leaves `retired` set; the owner's next operation sees it and *settles* under
//! the collectors' lock: it learns from `taken` whether its pending pop's object was taken, and
//! moves what is left above `taken` down to the bottom. Settling is the owner's only wait, once
//! per collection that found its stash, and never for a drop (collectors drop outside the lock).

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use crate::sync::{heavy_barrier_is_global, light_barrier, AtomicU32, UnsafeCell};

/// One place for an object.
pub(crate) type Place<T> = UnsafeCell<MaybeUninit<T>>;

/// What [`Stash::pop`] found.
pub(crate) enum Pop {
    /// The object is in `out`.
    Hit,
    /// The stash is empty.
    Empty,
    /// A collector retired the stash. The owner must [`settle`](Stash::settle), asking for
    /// this slot, the one its pop claimed.
    Retired(u32),
}

/// A thread cache's stash. Invariants: only the owner (the thread holding the cache's slot)
/// writes `len` and the slots (outside [`Stash::take_retired`]), and it only fills an empty
/// stash; objects lie in slots `[taken, len)`; `taken` is 0 unless `retired` is set; `retired`
/// and `taken` change only under the collectors' lock (`Generations::serial`).
pub(crate) struct Stash<T> {
    /// Objects in slots below `len` belong to the stash, minus the `taken` first ones.
    len: AtomicU32,
    /// 1 once a collector has taken slots `[0, taken)`; 0 again when the owner has settled.
    retired: AtomicU32,
    /// Slots `[0, taken)` were taken by collectors since the owner last settled.
    taken: AtomicU32,
    /// Whether the collector's barrier reaches this thread, so that the owner's half is a
    /// compiler fence (`sync::heavy_barrier_is_global`, asked once here, as `chain::Worker`
    /// does with `prefetch`).
    global: bool,
    slots: Box<[Place<T>]>,
}

// SAFETY: the slots are reached as the protocol above allows: by the owner, or by a collector
// for the slots it claimed; objects move between threads, hence `T: Send`.
unsafe impl<T: Send> Sync for Stash<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Stash<T> {}

impl<T> Stash<T> {
    /// An empty stash of `capacity` slots.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            len: AtomicU32::new(0),
            retired: AtomicU32::new(0),
            taken: AtomicU32::new(0),
            global: heavy_barrier_is_global(),
            slots: (0..capacity)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
        }
    }

    /// Owner only: whether the stash is empty (and may be filled).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        // Relaxed: the owner's own last store (collectors never write `len`).
        self.len.load(Relaxed) == 0
    }

    /// Owner only, while the stash is empty: the slots a steal may fill from the bottom up
    /// before [`publish`](Self::publish)ing them.
    pub(crate) fn room(&self) -> &[Place<T>] {
        debug_assert!(self.is_empty());
        &self.slots
    }

    /// Owner only: makes the `n` objects a steal moved into the bottom of the (empty) stash its
    /// contents. `false` if a collector has retired the stash meanwhile: the owner must then
    /// [`settle`](Self::settle) (the objects may be in the victim already).
    #[inline]
    pub(crate) fn publish(&self, n: u32) -> bool {
        // Release: a collector that loads this `len` (Acquire, `take_retired`) reads the objects.
        self.len.store(n, Release);
        light_barrier(self.global);
        // Relaxed: the barrier pair, not this load's ordering, decides what we see (module docs).
        self.retired.load(Relaxed) == 0
    }

    /// Owner only: moves the newest object into `out`.
    #[inline]
    pub(crate) fn pop(&self, out: &mut MaybeUninit<T>) -> Pop {
        // Relaxed: the owner's own last store.
        let n = self.len.load(Relaxed);
        if n == 0 {
            return Pop::Empty;
        }
        let index = n - 1;
        // Relaxed: what orders this store before a collector's load of `len` is the barrier
        // pair, and the object it gives up is the owner's, not one being published.
        self.len.store(index, Relaxed);
        light_barrier(self.global);
        if self.retired.load(Relaxed) != 0 {
            return Pop::Retired(index);
        }
        // SAFETY: the slot held an object (below `len`), and no collector takes it: we saw no
        // retirement after our store of `len`, so every collector that retires the stash from
        // now on loads a `len` at or below `index` (module docs). Only we write slots.
        self.slots[index as usize]
            .with(|v| unsafe { ptr::copy_nonoverlapping((*v).as_ptr(), out.as_mut_ptr(), 1) });
        Pop::Hit
    }

    /// Owner only, holding the collectors' lock, after [`pop`](Self::pop) returned
    /// `Retired(want)` (`want` is `Some`) or [`publish`](Self::publish) returned `false`
    /// (`None`): collectors took slots `[0, taken)`; the rest is the owner's again. Moves the
    /// pending pop's object into `out` if no collector took it (and returns `true`), and the
    /// objects left above `taken` down to the bottom.
    pub(crate) fn settle(&self, want: Option<u32>, out: &mut MaybeUninit<T>) -> bool {
        // Relaxed (all): collectors write `taken` and `retired` under the lock we hold.
        let taken = self.taken.load(Relaxed);
        let len = self.len.load(Relaxed);
        let hit = match want {
            Some(index) if index >= taken => {
                // SAFETY: the pending pop's slot, below what every collector took: ours, and
                // initialised (as in `pop`).
                self.slots[index as usize].with(|v| unsafe {
                    ptr::copy_nonoverlapping((*v).as_ptr(), out.as_mut_ptr(), 1)
                });
                true
            }
            _ => false,
        };
        let keep = len.saturating_sub(taken);
        // Nothing to move if no collector took anything (`taken == 0`).
        if taken > 0 {
            for i in 0..keep {
                let (from, to) = ((taken + i) as usize, i as usize);
                // SAFETY: slots `[taken, len)` hold the objects left to the owner; we move each
                // down once, to a lower slot (`taken > 0`) that is free or already moved from,
                // and nobody else touches the stash while we hold the lock and it is retired.
                self.slots[from]
                    .with(|src| self.slots[to].with_mut(|dst| unsafe { ptr::copy(src, dst, 1) }));
            }
        }
        // Relaxed: we hold the collectors' lock, which orders these before the next collector's
        // loads, and `len` is otherwise the owner's (us).
        self.len.store(keep, Relaxed);
        self.taken.store(0, Relaxed);
        self.retired.store(0, Relaxed);
        hit
    }

    /// A collector, holding the collectors' lock: the first step, for every stash, before one
    /// `sync::heavy_barrier` for all of them and [`take_retired`](Self::take_retired) (see
    /// `local::take_all`).
    pub(crate) fn retire(&self) {
        // Relaxed: the heavy barrier orders it before the `len` loads that follow.
        self.retired.store(1, Relaxed);
    }

    /// A collector, holding the collectors' lock, after `retire` and the heavy barrier: moves
    /// every object the owner has not taken into `sink`.
    pub(crate) fn take_retired(&self, mut sink: impl FnMut(T)) {
        // Acquire pairs with `publish`: the objects below it are written.
        let len = self.len.load(Acquire);
        // Relaxed: written under the lock we hold.
        let taken = self.taken.load(Relaxed);
        for index in taken..len {
            // SAFETY: below `len` and not taken by an earlier collector: the owner will not
            // read these slots before it settles, which needs the lock we hold (module docs),
            // nor write them (it only fills an empty stash, and from `len` on, it sees
            // `retired` before touching a slot again).
            sink(self.slots[index as usize].with(|v| unsafe { (*v).assume_init_read() }));
        }
        if len > taken {
            self.taken.store(len, Relaxed);
        }
    }

    /// Objects in the stash now (a racy snapshot).
    pub(crate) fn len(&self) -> usize {
        // Relaxed: a racy snapshot for diagnostics, never used to reach a slot.
        let len = self.len.load(Relaxed);
        len.saturating_sub(self.taken.load(Relaxed)) as usize
    }
}

impl<T> Drop for Stash<T> {
    fn drop(&mut self) {
        // `&mut self`: no operation is in flight, so the objects are exactly `[taken, len)`
        // (and `Relaxed` loads see the last stores).
        // Moved out first and dropped as one `Vec`, so that a panicking `T::drop` still drops
        // the rest.
        let (taken, len) = (self.taken.load(Relaxed), self.len.load(Relaxed));
        let left: Vec<T> = (taken..len)
            .map(|index| {
                // SAFETY: initialised (`[taken, len)`), and read once.
                self.slots[index as usize].with(|v| unsafe { (*v).assume_init_read() })
            })
            .collect();
        drop(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills the empty stash with `values`, as a steal does.
    fn fill(stash: &Stash<u32>, values: &[u32]) -> bool {
        for (place, &v) in stash.room().iter().zip(values) {
            // SAFETY: `room` is the empty stash's slots, which only the owner (this test)
            // writes; writing a `MaybeUninit` needs nothing more.
            place.with_mut(|p| unsafe { (*p).write(v) });
        }
        stash.publish(values.len() as u32)
    }

    fn pop(stash: &Stash<u32>) -> Result<Option<u32>, u32> {
        let mut out = MaybeUninit::uninit();
        match stash.pop(&mut out) {
            // SAFETY: `Pop::Hit` means `pop` wrote `out`.
            Pop::Hit => Ok(Some(unsafe { out.assume_init() })),
            Pop::Empty => Ok(None),
            Pop::Retired(want) => Err(want),
        }
    }

    fn settle(stash: &Stash<u32>, want: Option<u32>) -> Option<u32> {
        let mut out = MaybeUninit::uninit();
        stash
            .settle(want, &mut out)
            // SAFETY: `settle` returns true only after writing `out`.
            .then(|| unsafe { out.assume_init() })
    }

    fn collect(stash: &Stash<u32>) -> Vec<u32> {
        stash.retire();
        let mut taken = Vec::new();
        stash.take_retired(|v| taken.push(v));
        taken
    }

    #[test]
    fn the_owner_pops_newest_first() {
        let stash = Stash::new(8);
        assert!(fill(&stash, &[1, 2, 3]));
        assert_eq!(stash.len(), 3);
        assert_eq!((pop(&stash), pop(&stash)), (Ok(Some(3)), Ok(Some(2))));
        assert_eq!((pop(&stash), pop(&stash)), (Ok(Some(1)), Ok(None)));
    }

    #[test]
    fn a_collect_takes_everything_and_the_owner_settles_with_nothing() {
        let stash = Stash::new(8);
        assert!(fill(&stash, &[1, 2, 3]));
        assert_eq!(collect(&stash), [1, 2, 3]);
        assert_eq!(stash.len(), 0);
        // The owner's next pop claims slot 2, which the collect took.
        assert_eq!(pop(&stash), Err(2));
        assert_eq!(settle(&stash, Some(2)), None);
        assert_eq!(pop(&stash), Ok(None));
        assert!(fill(&stash, &[4]));
        assert_eq!(pop(&stash), Ok(Some(4)));
    }

    #[test]
    fn a_pop_the_collect_did_not_see_keeps_its_object() {
        // The owner stored `len = 2` before the collector's load (which saw 2), but its load of
        // `retired` came after the collector's store: the pop's slot 2 is the owner's.
        let stash = Stash::new(8);
        assert!(fill(&stash, &[1, 2, 3]));
        stash.len.store(2, Relaxed);
        assert_eq!(collect(&stash), [1, 2]);
        assert_eq!(settle(&stash, Some(2)), Some(3));
        assert_eq!(pop(&stash), Ok(None));
    }

    #[test]
    fn objects_published_after_a_collect_survive_the_settlement() {
        // A collect found the stash empty (it took nothing), then the owner's steal filled it:
        // `publish` reports the retirement, and settling keeps all three.
        let stash = Stash::new(8);
        assert_eq!(collect(&stash), []);
        assert!(!fill(&stash, &[1, 2, 3]));
        assert_eq!(settle(&stash, None), None);
        assert_eq!(stash.len(), 3);
        assert_eq!(pop(&stash), Ok(Some(3)));
    }

    #[test]
    fn settling_moves_what_is_left_above_taken_to_the_bottom() {
        // Two collects, the second after more objects came: each takes only what the ones
        // before left, and the owner keeps what came after both.
        let stash = Stash::new(8);
        assert!(fill(&stash, &[1, 2]));
        assert_eq!(collect(&stash), [1, 2]);
        // The owner has not noticed; a collect that finds nothing new takes nothing.
        assert_eq!(collect(&stash), []);
        // What a steal's fill does, spelled out (the test plays the owner; single thread).
        // SAFETY (both writes): one thread; slots 2 and 3 hold no object (the collects took
        // slots 0 and 1), so nothing is overwritten.
        stash.len.store(3, Relaxed);
        stash.slots[2].with_mut(|p| unsafe { (*p).write(3) });
        stash.len.store(4, Relaxed);
        stash.slots[3].with_mut(|p| unsafe { (*p).write(4) });
        assert_eq!(settle(&stash, None), None);
        assert_eq!(stash.len(), 2);
        assert_eq!((pop(&stash), pop(&stash)), (Ok(Some(4)), Ok(Some(3))));
    }

    #[test]
    fn dropping_the_stash_drops_what_it_holds_once() {
        use crate::testing::Counted;
        use std::sync::atomic::AtomicUsize;
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let stash = Stash::new(4);
        for place in &stash.room()[..3] {
            // SAFETY: as in `fill`.
            place.with_mut(|p| unsafe { (*p).write(Counted(&DROPS)) });
        }
        assert!(stash.publish(3));
        stash.retire();
        let mut taken = Vec::new();
        stash.take_retired(|v| taken.push(v));
        // One more object after the collect, unsettled.
        // SAFETY: slot 3 is above `len` (3), so free; the test is the only thread.
        stash.slots[3].with_mut(|p| unsafe { (*p).write(Counted(&DROPS)) });
        stash.len.store(4, Relaxed);
        drop(taken);
        assert_eq!(DROPS.load(Relaxed), 3);
        drop(stash);
        assert_eq!(DROPS.load(Relaxed), 4);
    }
}
