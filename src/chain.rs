//! The shared half of a per-thread cache: Go's `poolDequeue` and `poolChain`
//! (`src/sync/poolqueue.go`), a single-producer, multi-consumer queue.
//!
//! One thread, the owner, pushes and pops at the **head** (LIFO: the object it put last is the
//! warmest); any thread steals at the **tail** (FIFO: the oldest). The queue is a chain of
//! rings, each twice the size of the one before, because a ring never grows in place:
//!
//! ```text
//!   stealers: tail ──► [ring 8] ─next─► [ring 16] ─next─► [ring 32] ◄── head: owner
//!                       oldest                             newest, the only one pushed to
//! ```
//!
//! A ring is Go's `poolDequeue`: a power-of-two array of slots, a `head` index that only the
//! owner writes and a `tail` index that stealers move with a CAS. Go packs both into one word so
//! that one CAS decides every race between the owner's pop and a steal, which makes every push a
//! read-modify-write too. Here a push is a plain store: the owner's pops instead count an
//! *epoch* kept beside both indices (see `Ring::tail`), and a steal only succeeds against a
//! `head` of the epoch its CAS finds. Slot reuse is guarded per batch: a stealer claims up to
//! `BATCH` slots by moving `tail`, reads them, and then stores the batch's length in its
//! first slot; the owner writes those slots again only after it has seen that store
//! (`Worker::writable`). Go clears `typ` in every slot, which costs a line written by the
//! stealer and read back by the owner per two objects.
//!
//! Unlike crossbeam-deque, which copies its buffer into a new one to grow *and to shrink*, a ring
//! never moves, so a steady push-100/pop-100 cycle settles into one ring and allocates nothing;
//! and a steal is one CAS with no epoch pin, because no ring is freed before the chain itself:
//! the chain's memory lives exactly as long as the chain, which the pool replaces at every
//! collection (a deque belongs to one generation), so what a burst made it grow is released
//! with the generation. Go frees drained rings early because its GC can tell when no stealer
//! still reads them; without a collector we would need epochs on every steal for that.

use crate::stash::Place;
use crate::sync::{
    prefetch_write, prefetch_write_supported, spin_loop, Arc, AtomicPtr, AtomicU32, AtomicU64,
    UnsafeCell, FIRST_RING,
};
use std::cell::Cell;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// The largest ring (Go's `dequeueLimit`): indices are 32 bits, and a ring must stay under a
/// quarter of that range so that `head - tail` is never ambiguous.
const RING_LIMIT: usize = 1 << 30;
/// The most objects one steal moves (crossbeam-deque moves at most 32; measured on
/// `benches/producer_consumer.rs`, 128 amortises the steal a little better than 32, and 64 or
/// 256 made no difference; half a ring still bounds it).
pub(crate) const BATCH: u32 = 128;
/// How many pushes ahead a push prefetches its slot (`prefetch_write`): four cache lines when
/// a slot is 32 bytes (a `Vec` and its count), far enough ahead for the line to arrive from the
/// stealer's core in time (measured on `producer_consumer`).
const PREFETCH_AHEAD: u32 = 8;

/// One slot.
struct Slot<T> {
    /// Set to 0 by the owner when it writes the value. A stealer that claimed a batch of `n`
    /// objects *starting at this slot* stores `n` here once it has read all `n` of them: one
    /// store per batch, on one line, is how the owner learns that it may write those slots
    /// again (see `Worker::writable`). Other slots of the batch are not touched.
    released: AtomicU32,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// Go's `poolDequeue`: a fixed ring of slots. Aligned to 128 bytes (two cache lines, the unit
/// of the adjacent-line prefetcher) so that `head` and `tail` share their line with no other
/// allocation.
#[repr(align(128))]
struct Ring<T> {
    /// `epoch << 32 | head`: `head` is the next free slot. Only the owner writes this word, with
    /// plain stores: a push is a store, not a read-modify-write (Go packs `head` with `tail` and
    /// pushes with a CAS; the owner's locked instruction waited for its slot write to reach the
    /// other core on every push).
    head: AtomicU64,
    /// `epoch << 32 | tail`: `tail` is the oldest occupied slot; stealers move it up with a CAS.
    /// `epoch` counts the owner's pops: a pop first moves it up with a CAS on this word, then
    /// stores the lower `head` with the new epoch. A stealer claims only with a `head` of the
    /// epoch it finds here, so a pop between its reads and its CAS makes the CAS fail, and a pop
    /// done before has already lowered `head`: the two ends never take one slot twice.
    ///
    /// Indices count up forever (mod 2^32) and index the ring mod its length; the ring is empty
    /// when they are equal. The epoch wraps after 2^32 pops; a stealer would have to sleep
    /// between two loads for exactly that many pops to be fooled (Go's indices have the same
    /// wrap argument).
    tail: AtomicU64,
    slots: Box<[Slot<T>]>,
    /// The next, newer ring; set once by the owner when this one was full.
    next: AtomicPtr<Ring<T>>,
    /// The previous, older ring that may still hold objects. Owner only.
    prev: UnsafeCell<*mut Ring<T>>,
}

/// `(epoch, index)` of a `head` or `tail` word.
#[inline]
fn unpack(word: u64) -> (u32, u32) {
    ((word >> 32) as u32, word as u32)
}

#[inline]
fn pack(epoch: u32, index: u32) -> u64 {
    (u64::from(epoch) << 32) | u64::from(index)
}

impl<T> Slot<T> {
    /// Owner only: writes `value` into this slot, which the owner knows to be writable.
    #[inline]
    fn fill(&self, value: T) {
        // SAFETY: the slot is writable (`Worker::writable`): its last object, if any, was popped
        // by the owner or read by the stealer whose release the owner acquired, so nobody reads
        // it, and only the owner (us) writes slots.
        self.value.with_mut(|v| unsafe { (*v).write(value) });
        // No batch starting here has been released yet. Relaxed: only the owner reads
        // `released` before a stealer has claimed this object (a claim is ordered after this
        // store by the Release/Acquire pair on `head`), and the owner sees its own store.
        self.released.store(0, Relaxed);
    }

    /// A stealer's `Ring::read` of this slot, straight into `dest`, a place in the caller's
    /// own stash (no copy through the stack). Only `Ring::move_into` calls it.
    #[inline]
    fn move_to(&self, dest: &Place<T>) {
        // SAFETY: as in `Ring::read` for this slot, which the caller claimed and reads once;
        // `dest` is an empty place of the caller's own stash (`Stash::room`): nobody else reads
        // or writes it.
        self.value
            .with(|src| dest.with_mut(|dst| unsafe { ptr::copy_nonoverlapping(src, dst, 1) }));
    }
}

impl<T> Ring<T> {
    fn new(len: usize, prev: *mut Ring<T>) -> *mut Ring<T> {
        debug_assert!(len.is_power_of_two() && len <= RING_LIMIT);
        let slots = (0..len)
            .map(|_| Slot {
                released: AtomicU32::new(0),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Box::into_raw(Box::new(Ring {
            head: AtomicU64::new(0),
            tail: AtomicU64::new(0),
            slots,
            next: AtomicPtr::new(ptr::null_mut()),
            prev: UnsafeCell::new(prev),
        }))
    }

    #[inline]
    fn slot(&self, index: u32) -> &Slot<T> {
        &self.slots[self.offset(index)]
    }

    /// Where `index` lies in `slots`.
    #[inline]
    fn offset(&self, index: u32) -> usize {
        index as usize & (self.slots.len() - 1)
    }

    /// Owner only (Go: `pushHead`): pushes into `slot`, the one at `head`, which the caller
    /// knows to be writable (`Worker::writable`). `head` is the owner's current `head` word.
    #[inline]
    fn push_at(&self, head: u64, slot: &Slot<T>, value: T) {
        slot.fill(value);
        let (epoch, index) = unpack(head);
        // Release publishes the value to the stealer whose Acquire load of `head` finds it.
        self.head.store(pack(epoch, index.wrapping_add(1)), Release);
    }

    /// Moves the `n` objects from `first` on (claimed by the caller's `claim_tail` and not
    /// read yet) into `dest[..n]`, the caller's own stash: the batch a steal keeps.
    fn move_into(&self, first: u32, n: u32, dest: &[Place<T>]) {
        let n = n as usize;
        let mut done = 0;
        while done < n {
            // The longest run that does not wrap around the ring, copied as two zipped slices:
            // a loop with no index arithmetic and no bounds check per object (measured: half
            // the cycles of indexing slot by slot, `docs/benchmark-notes.md`).
            let from = self.offset(first.wrapping_add(done as u32));
            let run = (n - done).min(self.slots.len() - from);
            for (source, dest) in self.slots[from..from + run]
                .iter()
                .zip(&dest[done..done + run])
            {
                source.move_to(dest);
            }
            done += run;
        }
    }

    /// Owner only (Go: `popHead`): moves the newest object into `out` and returns the new
    /// `head` word; `None` if empty. `head` is the ring's `head` index, which the owner knows.
    #[inline]
    fn pop_head(&self, head: u32, out: &mut MaybeUninit<T>) -> Option<u64> {
        let mut current = self.tail.load(Relaxed);
        let epoch = loop {
            let (epoch, tail) = unpack(current);
            if head == tail {
                return None;
            }
            // Relaxed: the value was written by the owner (us; ownership of a `Worker` passes
            // between threads with a happens-before edge). The CAS only has to keep stealers
            // off the slot: a stealer that read the old epoch now fails its CAS, and one that
            // claimed before us moved `tail`, which we then see (and retry).
            match self.tail.compare_exchange_weak(
                current,
                pack(epoch.wrapping_add(1), tail),
                Relaxed,
                Relaxed,
            ) {
                Ok(_) => break epoch.wrapping_add(1),
                Err(actual) => current = actual,
            }
        };
        let head = head.wrapping_sub(1);
        let word = pack(epoch, head);
        // Release: stealers that read this epoch from `tail` claim against this `head`, and
        // the values below it must be visible to them (as in `push_at`).
        self.head.store(word, Release);
        let slot = self.slot(head);
        // SAFETY: our CAS left `tail` at or below `head`, and a stealer can only claim below a
        // `head` of our new epoch, which is now lower than slot `head`: it is ours. It held a
        // value, which we move out.
        slot.value
            .with(|v| unsafe { ptr::copy_nonoverlapping((*v).as_ptr(), out.as_mut_ptr(), 1) });
        // The slot stays unreleased (`released` 0): the owner writes it again only after it has
        // pushed back down to `head`, which needs no release (see `Worker::writable`).
        Some(word)
    }

    /// Any thread (Go: `popTail`, here for up to `max` objects, never more than half of what
    /// the ring holds, rounded up): claims the oldest objects by moving `tail`. The caller must
    /// `read` every claimed index, then `release` them. `None` if the ring is empty.
    fn claim_tail(&self, max: u32) -> Option<(u32, u32)> {
        // Relaxed: the CAS below checks it.
        let mut current = self.tail.load(Relaxed);
        loop {
            let (epoch, tail) = unpack(current);
            // Acquire pairs with the owner's Release store of `head`: the values below it
            // happen-before our reads.
            let (head_epoch, head) = unpack(self.head.load(Acquire));
            let len = head.wrapping_sub(tail);
            if head_epoch != epoch || len > self.slots.len() as u32 {
                // Either the owner is between the two steps of a pop (or we read `tail` before
                // it), or our `head` is older than our `tail`: `tail` may come from another
                // stealer's claim against a newer `head` than the one we just loaded (nothing
                // orders our two loads with its), and `head - tail` would wrap around to a huge
                // claim (Miri found this, `chain::tests::concurrent_steals_and_pops...`). Read
                // both again. The first case is the chain's one wait: it lasts until the
                // owner's next instruction, the store of `head` in `pop_head`, unless the owner
                // is descheduled right there; the second until our load sees a `head` that is
                // already in memory.
                spin_loop();
                current = self.tail.load(Relaxed);
                continue;
            }
            if len == 0 {
                return None;
            }
            let n = len.div_ceil(2).min(max);
            // Relaxed: the values are visible through `head` above; the CAS only has to make
            // the claim exclusive (against other stealers, and against the owner's pops through
            // the epoch).
            match self.tail.compare_exchange_weak(
                current,
                pack(epoch, tail.wrapping_add(n)),
                Relaxed,
                Relaxed,
            ) {
                Ok(_) => return Some((tail, n)),
                // Another steal, or the owner popped: lock-free, someone progressed.
                Err(actual) => current = actual,
            }
        }
    }

    /// Reads a slot claimed by `claim_tail`. The claimer must `release` its batch afterwards.
    fn read(&self, index: u32) -> T {
        let slot = self.slot(index);
        // SAFETY: `claim_tail` moved `tail` past `index`, so no other stealer nor the owner's
        // pop can take it, and the owner cannot overwrite it until its batch is released.
        slot.value.with(|v| unsafe { (*v).assume_init_read() })
    }

    /// Hands the `n` slots from `first` (claimed by one `claim_tail` and all read) back to the
    /// owner, with one store into the batch's first slot.
    fn release(&self, first: u32, n: u32) {
        // Release: our reads of the `n` values happen-before the owner's next writes to their
        // slots (it loads this with Acquire in `Worker::release_more` before writing any of
        // them).
        self.slot(first).released.store(n, Release);
    }

    /// Objects in this ring now (a racy snapshot: 0 if the two loads disagree, see
    /// `claim_tail`).
    fn len(&self) -> usize {
        let (_, tail) = unpack(self.tail.load(Relaxed));
        let (_, head) = unpack(self.head.load(Relaxed));
        let len = head.wrapping_sub(tail) as usize;
        if len > self.slots.len() {
            0
        } else {
            len
        }
    }
}

/// What the owner and the stealers share (Go: `poolChain`'s `tail`).
struct Chain<T> {
    /// The oldest ring that may hold objects. Stealers start here and move it forward past
    /// rings they found empty *after* a newer ring existed (pushes only go to the newest, so
    /// such a ring stays empty).
    tail: AtomicPtr<Ring<T>>,
    /// The first ring ever: every ring is reachable from it through `next` until the chain is
    /// dropped, which is what keeps a ring alive while a stealer reads it.
    first: *mut Ring<T>,
}

// SAFETY: the chain owns its rings and the objects in them; objects move between threads, hence
// `T: Send`. Rings are only freed in `Drop`, with `&mut self`.
unsafe impl<T: Send> Send for Chain<T> {}
// SAFETY: shared access only goes through the rings' atomics and the protocol above.
unsafe impl<T: Send> Sync for Chain<T> {}

impl<T> Drop for Chain<T> {
    fn drop(&mut self) {
        // Moved out first and dropped as one `Vec`: if a `T::drop` panics, the rest are still
        // dropped (and every ring freed) while it propagates.
        let mut left = Vec::new();
        let mut ring = self.first;
        while !ring.is_null() {
            // SAFETY: every ring came from `Ring::new` and is reachable only through `first`
            // and `next` chains; `&mut self` means no `Worker` or `Stealer` is left.
            let owned = unsafe { Box::from_raw(ring) };
            // Relaxed (here and for `next`): `&mut self` orders every earlier access before us.
            let (_, head) = unpack(owned.head.load(Relaxed));
            let (_, tail) = unpack(owned.tail.load(Relaxed));
            let mut index = tail;
            while index != head {
                left.push(owned.read(index));
                index = index.wrapping_add(1);
            }
            ring = owned.next.load(Relaxed);
        }
        drop(left);
    }
}

/// The owner's end: push and pop the newest object. One per chain; `Send` but not `Sync`.
pub(crate) struct Worker<T> {
    chain: Arc<Chain<T>>,
    /// The newest ring, the only one pushed to.
    head: Cell<*mut Ring<T>>,
    /// The head ring's slots, its length - 1, its `head` index and its pop epoch, mirrored here
    /// (only the owner writes `head`) so that a push finds its slot and its new `head` word from
    /// the `Worker` alone, without dependent loads from the ring.
    slots: Cell<*const Slot<T>>,
    mask: Cell<u32>,
    index: Cell<u32>,
    epoch: Cell<u32>,
    /// The head ring's slots for the indices `index..writable` may be written: their last
    /// objects are gone and nobody reads them any more. `writable - index` is at most the
    /// ring's length.
    ///
    /// Why one watermark is enough. Stealers claim from `tail` in batches, each starting where
    /// the one before ended, and each stealer stores its batch's length into the batch's first
    /// slot once it has read the whole batch (`Ring::release`). `writable - len` is always the
    /// start of the oldest batch not yet seen released: 0 in a new ring (all of it is free),
    /// then moved by whole batches (`release_more`). It is at or below `tail`, and `head`
    /// (`index`) is above it whenever `release_more` looks, so that object was pushed in this
    /// lap and not popped by the owner (a pop never goes below `tail`; had the owner popped down
    /// to it, `index` would be there, not above). So the slot at `writable` holds either the
    /// first object of a batch, with the batch's length once it is released (0 until then), or
    /// an object nobody has claimed yet, with 0: the ring is full.
    ///
    /// Go has the stealer clear a flag (`typ`) in every slot it reads: a line written by the
    /// stealer and read back by the owner per two objects. Here it is one line per batch of up
    /// to `BATCH`.
    writable: Cell<u32>,
    /// Whether pushes prefetch their slot ahead (`prefetch_write_supported`, asked once here).
    prefetch: bool,
}

// SAFETY: a `Worker` is the chain's only owner end; moving it to another thread moves that
// role with a happens-before edge (whatever moved it). It is not `Sync`: `head` is a `Cell`.
unsafe impl<T: Send> Send for Worker<T> {}

/// A thief's end: steals the oldest objects. Any number, from any thread.
pub(crate) struct Stealer<T> {
    chain: Arc<Chain<T>>,
}

impl<T> Clone for Stealer<T> {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
        }
    }
}

impl<T> Worker<T> {
    /// An empty chain with one small ring.
    pub(crate) fn new() -> Self {
        let first = Ring::new(FIRST_RING, ptr::null_mut());
        let worker = Self {
            chain: Arc::new(Chain {
                tail: AtomicPtr::new(first),
                first,
            }),
            head: Cell::new(first),
            slots: Cell::new(ptr::null()),
            mask: Cell::new(0),
            index: Cell::new(0),
            epoch: Cell::new(0),
            writable: Cell::new(0),
            prefetch: prefetch_write_supported(),
        };
        worker.mirror(first);
        worker
    }

    /// Points the mirrors at `ring`, a new, empty head ring.
    fn mirror(&self, ring: *mut Ring<T>) {
        // SAFETY: as in `head`.
        let slots = &unsafe { &*ring }.slots;
        self.slots.set(slots.as_ptr());
        self.mask.set(slots.len() as u32 - 1);
        self.index.set(0);
        self.epoch.set(0);
        self.writable.set(slots.len() as u32);
    }

    /// A thief's handle on this chain.
    pub(crate) fn stealer(&self) -> Stealer<T> {
        Stealer {
            chain: self.chain.clone(),
        }
    }

    #[inline]
    fn head(&self) -> &Ring<T> {
        // SAFETY: rings live as long as the chain, which `self` keeps alive.
        unsafe { &*self.head.get() }
    }

    /// Pushes at the head (Go: `poolChain.pushHead`).
    #[inline]
    pub(crate) fn push(&self, value: T) {
        let index = self.index.get();
        if index == self.writable.get() && !self.release_more() {
            return self.push_new_ring(value);
        }
        if self.prefetch {
            // SAFETY: `prefetch` is `prefetch_write_supported()`.
            unsafe { prefetch_write(self.slot(index.wrapping_add(PREFETCH_AHEAD))) };
        }
        let head = pack(self.epoch.get(), index);
        self.head().push_at(head, self.slot(index), value);
        self.index.set(index.wrapping_add(1));
    }

    /// The head ring's slot for `index`.
    #[inline]
    fn slot(&self, index: u32) -> &Slot<T> {
        // SAFETY: `slots` and `mask` describe the head ring, which lives as long as the chain;
        // `index & mask` is in bounds.
        unsafe { &*self.slots.get().add((index & self.mask.get()) as usize) }
    }

    /// Moves `writable` past the next released batch, if its stealer has released it; `false`
    /// if not, or if nobody has claimed it yet: then the ring is full.
    #[inline]
    fn release_more(&self) -> bool {
        let writable = self.writable.get();
        // Acquire pairs with the Release store in `Ring::release`: the stealer's reads of the
        // batch happen-before our writes to its slots.
        let n = self.slot(writable).released.load(Acquire);
        if n == 0 {
            return false;
        }
        self.writable.set(writable.wrapping_add(n));
        true
    }

    /// The head ring is full: link a ring twice its size and push there.
    #[cold]
    fn push_new_ring(&self, value: T) {
        let old = self.head.get();
        // SAFETY: as in `head`.
        let len = (unsafe { &*old }.slots.len() * 2).min(RING_LIMIT);
        let ring = Ring::new(len, old);
        // Release publishes the new ring's initialisation to stealers, which load `next` with
        // Acquire before reading it.
        // SAFETY: as in `head`.
        unsafe { &*old }.next.store(ring, Release);
        self.head.set(ring);
        self.mirror(ring);
        self.push(value);
    }

    /// Pops the newest object (Go: `poolChain.popHead`).
    pub(crate) fn pop(&self) -> Option<T> {
        let mut out = MaybeUninit::uninit();
        // SAFETY: `pop_into` initialised `out` when it returned `true`.
        self.pop_into(&mut out)
            .then(|| unsafe { out.assume_init() })
    }

    /// `pop` into `out` (initialised when it returns `true`): the pool's take path moves the
    /// object once, from the slot to where the caller wants it, instead of through a chain of
    /// `Option<T>` return values (whose partial copies defeat store forwarding).
    #[inline]
    pub(crate) fn pop_into(&self, out: &mut MaybeUninit<T>) -> bool {
        if let Some(head) = self.head().pop_head(self.index.get(), out) {
            let (epoch, index) = unpack(head);
            self.epoch.set(epoch);
            self.index.set(index);
            return true;
        }
        self.pop_older(out)
    }

    /// The head ring is empty: try the older rings, newest first, unlinking from the owner's
    /// walk each one found empty (no push reaches it any more, so it stays empty; stealers may
    /// still pass through it, which is why it is not freed).
    #[cold]
    fn pop_older(&self, out: &mut MaybeUninit<T>) -> bool {
        let ring = self.head();
        loop {
            // SAFETY: `prev` is owner-only and we are the owner.
            let prev = ring.prev.with(|p| unsafe { *p });
            if prev.is_null() {
                return false;
            }
            // SAFETY: as in `head`.
            let older = unsafe { &*prev };
            // Relaxed: the owner's (our) own last store.
            let (_, head) = unpack(older.head.load(Relaxed));
            if older.pop_head(head, out).is_some() {
                return true;
            }
            // SAFETY (both): `prev` fields are owner-only, as above.
            let skip = older.prev.with(|p| unsafe { *p });
            ring.prev.with_mut(|p| unsafe { *p = skip });
        }
    }
}

impl<T> Stealer<T> {
    /// Steals the oldest object (Go: `poolChain.popTail`).
    pub(crate) fn steal(&self) -> Option<T> {
        self.steal_with(1, |ring, index, _| ring.read(index))
    }

    /// Steals up to half of the oldest ring's objects (at most `BATCH`, and at most one more
    /// than `dest` holds): returns the oldest, and moves the `n` others into `dest[..n]`, the
    /// caller's own (empty) stash, so that a thread fed by another's puts pays for one steal
    /// per batch.
    pub(crate) fn steal_batch_into(&self, dest: &[Place<T>]) -> Option<(T, u32)> {
        let max = u32::try_from(dest.len()).map_or(BATCH, |n| n.saturating_add(1).min(BATCH));
        self.steal_with(max, |ring, first, n| {
            ring.move_into(first.wrapping_add(1), n - 1, dest);
            (ring.read(first), n - 1)
        })
    }

    fn steal_with<R>(&self, max: u32, take: impl FnOnce(&Ring<T>, u32, u32) -> R) -> Option<R> {
        // Acquire pairs with the Release that published the ring (`next`, or a CAS below).
        let mut ptr = self.chain.tail.load(Acquire);
        loop {
            // SAFETY: rings live as long as the chain, which `self` keeps alive.
            let ring = unsafe { &*ptr };
            // Load `next` *before* trying the ring: if a newer ring existed before the ring was
            // found empty, the ring is empty for good (pushes only go to the newest), the only
            // case in which it may be skipped (Go's comment in `popTail`). Acquire pairs with the
            // Release store in `push_new_ring`, and the argument needs it: every push into this
            // ring happens-before that store, so a thief that sees the new ring also sees them
            // (with `Relaxed` it could read a stale, empty `head` and skip live objects;
            // loom model `chain::steal_racing_pushes_that_wrap_and_grow_a_ring`).
            let next = ring.next.load(Acquire);
            if let Some((first, n)) = ring.claim_tail(max) {
                // `take` reads all `n` claimed objects; only then may the owner reuse their slots.
                let value = take(ring, first, n);
                ring.release(first, n);
                return Some(value);
            }
            if next.is_null() {
                return None;
            }
            // Let later steals skip the drained ring. Release publishes the (acquired) newer
            // ring to whoever loads `tail`; losing the race is fine, someone else moved it on.
            let _ = self
                .chain
                .tail
                .compare_exchange(ptr, next, Release, Relaxed);
            ptr = next;
        }
    }

    /// Objects in the chain now (a racy snapshot).
    pub(crate) fn len(&self) -> usize {
        let mut n = 0;
        // Acquire: as in `steal_with`.
        let mut ptr = self.chain.tail.load(Acquire);
        while !ptr.is_null() {
            // SAFETY: as in `steal_with`.
            let ring = unsafe { &*ptr };
            n += ring.len();
            ptr = ring.next.load(Acquire);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A steal into a stash, whose objects then go into `dest` oldest first (what a thief's
    /// later takes would see, newest first, if `dest` were its deque).
    fn steal_batch_and_pop<T>(from: &Stealer<T>, dest: &Worker<T>) -> Option<T> {
        let stash: Vec<Place<T>> = (0..BATCH)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect();
        let (value, n) = from.steal_batch_into(&stash)?;
        for place in &stash[..n as usize] {
            // SAFETY: `steal_batch_into` moved an object into each of the first `n` places.
            dest.push(place.with(|v| unsafe { (*v).assume_init_read() }));
        }
        Some(value)
    }

    #[test]
    fn a_stolen_batch_wraps_around_the_end_of_the_victims_ring() {
        // `Ring::move_into` copies in runs that end where the victim's ring wraps around: its
        // `tail` is at slot 6 of 8 when the thief claims 4 objects, slots 6, 7, 0 and 1.
        assert_eq!(FIRST_RING, 8);
        let victim = Worker::new();
        let s = victim.stealer();
        for i in 0..6 {
            victim.push(i);
        }
        // Steals of 3, 2 and 1 objects empty the ring; `tail` (and `head`) stay at slot 6.
        let sink = Worker::new();
        while steal_batch_and_pop(&s, &sink).is_some() {}
        for i in 100..108 {
            victim.push(i);
        }
        let thief = Worker::new();
        // Claims half of the 8: keeps 100, moves 101..=103 (slots 7, 0, 1) into the stash.
        assert_eq!(steal_batch_and_pop(&s, &thief), Some(100));
        let moved: Vec<_> = std::iter::from_fn(|| thief.pop()).collect();
        assert_eq!(moved, [103, 102, 101]);
        let left: Vec<_> = std::iter::from_fn(|| victim.pop()).collect();
        assert_eq!(left, [107, 106, 105, 104]);
    }

    #[test]
    fn owner_is_lifo_and_stealers_fifo_across_rings() {
        let w = Worker::new();
        let s = w.stealer();
        for i in 0..100 {
            w.push(i);
        }
        assert_eq!(s.len(), 100);
        assert_eq!(w.pop(), Some(99));
        assert_eq!(s.steal(), Some(0));
        assert_eq!(s.steal(), Some(1));
        let mut rest = Vec::new();
        while let Some(v) = w.pop() {
            rest.push(v);
        }
        assert_eq!(rest, (2..99).rev().collect::<Vec<_>>());
        assert_eq!(s.steal(), None);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn batch_steal_takes_half_and_returns_the_oldest() {
        let from = Worker::new();
        let to = Worker::new();
        for i in 0..6 {
            from.push(i);
        }
        assert_eq!(steal_batch_and_pop(&from.stealer(), &to), Some(0));
        assert_eq!(to.pop(), Some(2));
        assert_eq!(to.pop(), Some(1));
        assert_eq!(to.pop(), None);
        assert_eq!(from.stealer().len(), 3);
    }

    #[test]
    fn objects_a_steal_moved_can_be_stolen_again() {
        // A steal moves a batch into a stash, which the helper empties into the thief's own
        // chain; a second thief stealing from that chain at the same time must see those
        // objects whole (under Miri: no race, no uninitialised read).
        let w = Worker::new();
        let total: u64 = if cfg!(miri) { 64 } else { 20_000 };
        for i in 0..total {
            w.push(i);
        }
        let first_thief = Worker::new();
        let second = first_thief.stealer();
        let from = w.stealer();
        let done = std::sync::atomic::AtomicBool::new(false);
        let (mut all, theirs) = std::thread::scope(|scope| {
            let done = &done;
            let other = scope.spawn(move || {
                let mine = Worker::new();
                let mut got = Vec::new();
                loop {
                    // Acquire: pairs with the Release below, so a `true` means every steal
                    // of the other thief is over and an empty steal now is final.
                    let finished = done.load(std::sync::atomic::Ordering::Acquire);
                    match steal_batch_and_pop(&second, &mine) {
                        Some(v) => {
                            got.push(v);
                            while let Some(v) = mine.pop() {
                                got.push(v);
                            }
                        }
                        None if finished => break,
                        None => std::thread::yield_now(),
                    }
                }
                got
            });
            let mut got = Vec::new();
            while let Some(v) = steal_batch_and_pop(&from, &first_thief) {
                got.push(v);
            }
            done.store(true, std::sync::atomic::Ordering::Release);
            let theirs = other.join().unwrap();
            while let Some(v) = first_thief.pop() {
                got.push(v);
            }
            (got, theirs)
        });
        all.extend(theirs);
        all.sort_unstable();
        assert_eq!(all, (0..total).collect::<Vec<_>>());
    }

    #[test]
    fn slots_are_reused_without_new_rings() {
        let w = Worker::new();
        let s = w.stealer();
        for round in 0..if cfg!(miri) { 20 } else { 1000 } {
            for i in 0..FIRST_RING {
                w.push(round * 10 + i);
            }
            for _ in 0..FIRST_RING / 2 {
                assert!(s.steal().is_some());
                assert!(w.pop().is_some());
            }
        }
        assert!(w.chain.first == w.head.get(), "a new ring was linked");
    }

    #[test]
    fn dropping_the_chain_drops_what_is_left_once() {
        use crate::testing::Counted;
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let w = Worker::new();
        let s = w.stealer();
        for _ in 0..50 {
            w.push(Counted(&DROPS));
        }
        drop(s.steal());
        drop(w.pop());
        drop(w);
        assert_eq!(DROPS.load(SeqCst), 2);
        drop(s);
        assert_eq!(DROPS.load(SeqCst), 50);
    }

    /// One operation of the property test below.
    #[derive(Debug, Clone)]
    enum Op {
        /// The owner pushes this many new values.
        Push(u8),
        /// The owner pops (newest first).
        Pop,
        /// A thief steals one (oldest first).
        Steal,
        /// A thief steals a batch into its own chain `dest`.
        Batch,
        /// The thief pops from `dest`.
        DestPop,
    }

    /// The chain against a reference model of two `VecDeque`s (the owner's deque and a thief's):
    /// every pop, steal and batch returns exactly the value the model says, a batch moves the
    /// next-oldest values in order and never more than half of what the deque holds (nor more
    /// than `BATCH`), and the lengths agree after every step. Pushes of up to 40 at a time wrap
    /// and link rings of 8, 16, 32, ...
    #[test]
    fn chain_follows_a_two_deque_model() {
        use proptest::prelude::*;
        use std::collections::VecDeque;
        let op = prop_oneof![
            (1u8..40).prop_map(Op::Push),
            Just(Op::Pop),
            Just(Op::Steal),
            Just(Op::Batch),
            Just(Op::DestPop),
        ];
        let cases = if cfg!(miri) { 4 } else { 256 };
        let mut config = proptest::test_runner::Config::with_cases(cases);
        config.failure_persistence = None;
        let mut runner = proptest::test_runner::TestRunner::new(config);
        let strategy = proptest::collection::vec(op, 1..if cfg!(miri) { 40 } else { 200 });
        runner
            .run(&strategy, |ops| {
                let (owner, dest) = (Worker::new(), Worker::new());
                let (thief, dest_view) = (owner.stealer(), dest.stealer());
                let (mut model, mut dest_model) = (VecDeque::new(), VecDeque::new());
                let mut next = 0u64;
                for op in ops {
                    match op {
                        Op::Push(n) => {
                            for _ in 0..n {
                                owner.push(next);
                                model.push_back(next);
                                next += 1;
                            }
                        }
                        Op::Pop => prop_assert_eq!(owner.pop(), model.pop_back()),
                        Op::Steal => prop_assert_eq!(thief.steal(), model.pop_front()),
                        Op::Batch => {
                            let (len, before) = (model.len(), dest_model.len());
                            let got = steal_batch_and_pop(&thief, &dest);
                            prop_assert_eq!(got, model.pop_front());
                            let moved = dest_view.len() - before;
                            if got.is_some() {
                                let taken = moved + 1;
                                prop_assert!(taken <= len.div_ceil(2) && taken <= BATCH as usize);
                            }
                            for _ in 0..moved {
                                dest_model.push_back(model.pop_front().unwrap());
                            }
                        }
                        Op::DestPop => prop_assert_eq!(dest.pop(), dest_model.pop_back()),
                    }
                    prop_assert_eq!(thief.len(), model.len());
                    prop_assert_eq!(dest_view.len(), dest_model.len());
                }
                while let Some(v) = owner.pop() {
                    prop_assert_eq!(Some(v), model.pop_back());
                }
                while let Some(v) = dest.pop() {
                    prop_assert_eq!(Some(v), dest_model.pop_back());
                }
                prop_assert!(model.is_empty() && dest_model.is_empty());
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn concurrent_steals_and_pops_hand_out_each_object_once() {
        let w = Worker::new();
        let thieves: Vec<_> = (0..2).map(|_| w.stealer()).collect();
        let total: u64 = if cfg!(miri) { 300 } else { 100_000 };
        let stolen = std::thread::scope(|scope| {
            let handles: Vec<_> = thieves
                .into_iter()
                .map(|s| {
                    scope.spawn(move || {
                        let mine = Worker::new();
                        let mut got = Vec::new();
                        let mut idle = 0;
                        while idle < if cfg!(miri) { 50 } else { 10_000 } {
                            match steal_batch_and_pop(&s, &mine) {
                                Some(v) => {
                                    idle = 0;
                                    got.push(v);
                                    while let Some(v) = mine.pop() {
                                        got.push(v);
                                    }
                                }
                                None => idle += 1,
                            }
                        }
                        got
                    })
                })
                .collect();
            let mut own = Vec::new();
            for i in 0..total {
                w.push(i);
                if i % 3 == 0 {
                    own.extend(w.pop());
                }
            }
            while let Some(v) = w.pop() {
                own.push(v);
            }
            let mut all = own;
            for h in handles {
                all.extend(h.join().unwrap());
            }
            all
        });
        let mut all = stolen;
        all.sort_unstable();
        assert_eq!(all, (0..total).collect::<Vec<_>>());
    }
}
