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
//! A ring is Go's `poolDequeue`: a power-of-two array of slots and one 64-bit word packing the
//! `head` index (high half) and the `tail` index (low half), so that one CAS decides every race
//! between the owner's pop and a steal. Slot reuse is guarded per slot: a stealer claims slots
//! by moving `tail` and only then reads them, so the owner may write a slot again only after the
//! stealer has cleared its `full` flag (Go clears `typ`).
//!
//! Unlike crossbeam-deque, which copies its buffer into a new one to grow *and to shrink*, a ring
//! never moves, so a steady push-100/pop-100 cycle settles into one ring and allocates nothing;
//! and a steal is one CAS with no epoch pin, because no ring is freed before the chain itself:
//! the chain's memory lives exactly as long as the chain, which the pool replaces at every
//! collection (a deque belongs to one generation), so what a burst made it grow is released
//! with the generation. Go frees drained rings early because its GC can tell when no stealer
//! still reads them; without a collector we would need epochs on every steal for that.

use crate::sync::{Arc, AtomicPtr, AtomicU64, AtomicU8, UnsafeCell, FIRST_RING};
use std::cell::Cell;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// The largest ring (Go's `dequeueLimit`): indices are 32 bits, and a ring must stay under a
/// quarter of that range so that `head - tail` is never ambiguous.
const RING_LIMIT: usize = 1 << 30;
/// The most objects one steal moves (crossbeam-deque moves at most 32; measured on
/// `benches/producer_consumer.rs`, 128 amortises the steal a little better and half a ring
/// still bounds it).
const BATCH: u32 = 128;

const EMPTY: u8 = 0;
const FULL: u8 = 1;

/// One slot. `full` is set by the owner when it writes the value and cleared by whoever read
/// it out; the owner never writes a slot whose flag is set (a stealer that claimed it may still
/// be reading).
struct Slot<T> {
    full: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// Go's `poolDequeue`: a fixed ring of slots. Aligned to 128 bytes (two cache lines, the unit
/// of the adjacent-line prefetcher) so that the contended `head_tail` word shares its line with
/// no other allocation.
#[repr(align(128))]
struct Ring<T> {
    /// `head << 32 | tail`. `tail` is the oldest occupied slot, `head` the next free one; both
    /// count up forever (mod 2^32) and index the ring mod its length. Empty when equal.
    /// Only the owner moves `head`; whoever moves `tail` (a stealer) or `head` down (the owner
    /// popping) does it with a CAS on the whole word, so the two ends never take one slot twice.
    head_tail: AtomicU64,
    slots: Box<[Slot<T>]>,
    /// The next, newer ring; set once by the owner when this one was full.
    next: AtomicPtr<Ring<T>>,
    /// The previous, older ring that may still hold objects. Owner only.
    prev: UnsafeCell<*mut Ring<T>>,
}

#[inline]
fn unpack(head_tail: u64) -> (u32, u32) {
    ((head_tail >> 32) as u32, head_tail as u32)
}

#[inline]
fn pack(head: u32, tail: u32) -> u64 {
    (u64::from(head) << 32) | u64::from(tail)
}

impl<T> Ring<T> {
    fn new(len: usize, prev: *mut Ring<T>) -> *mut Ring<T> {
        debug_assert!(len.is_power_of_two() && len <= RING_LIMIT);
        let slots = (0..len)
            .map(|_| Slot {
                full: AtomicU8::new(EMPTY),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Box::into_raw(Box::new(Ring {
            head_tail: AtomicU64::new(0),
            slots,
            next: AtomicPtr::new(ptr::null_mut()),
            prev: UnsafeCell::new(prev),
        }))
    }

    #[inline]
    fn slot(&self, index: u32) -> &Slot<T> {
        &self.slots[index as usize & (self.slots.len() - 1)]
    }

    /// Owner only (Go: `pushHead`): pushes into `slot`, the one at `head`, after the caller
    /// saw its flag clear (`Worker::push`).
    #[inline]
    fn push_at(&self, slot: &Slot<T>, value: T) {
        // SAFETY: the caller saw the slot's flag clear with Acquire: whoever read its last value
        // out has finished (see `Worker::push`), so nobody reads it, and only the owner (us)
        // writes slots.
        slot.value.with_mut(|v| unsafe { (*v).write(value) });
        // Relaxed: only the owner reads a set flag; stealers learn of the value from `head`.
        slot.full.store(FULL, Relaxed);
        // Release publishes the value to the stealer whose Acquire CAS claims it (every later
        // change of `head_tail` is a read-modify-write, so the release sequence reaches it).
        self.head_tail.fetch_add(1 << 32, Release);
    }

    /// Owner only: pushes `n` objects made by `next` with one release of `head` (the batch a
    /// steal moves into the thief's own chain: one read-modify-write instead of `n`). Pushes
    /// nothing and returns `false` unless all `n` fit.
    fn push_batch(&self, n: u32, mut next: impl FnMut() -> T) -> bool {
        // Relaxed: `head` is ours, and a stale `tail` only makes the ring look fuller than it
        // is. Acquire on the flags: as in `Worker::push`.
        let (head, tail) = unpack(self.head_tail.load(Relaxed));
        let free = self.slots.len() as u32 - head.wrapping_sub(tail);
        if free < n || (0..n).any(|i| self.slot(head.wrapping_add(i)).full.load(Acquire) != EMPTY) {
            return false;
        }
        for i in 0..n {
            let slot = self.slot(head.wrapping_add(i));
            // SAFETY: as in `push_at`, for each of the `n` slots whose flags were clear above.
            slot.value.with_mut(|v| unsafe { (*v).write(next()) });
            slot.full.store(FULL, Relaxed);
        }
        // Release: as in `push_at`, for all `n` values at once.
        self.head_tail.fetch_add(u64::from(n) << 32, Release);
        true
    }

    /// Owner only (Go: `popHead`): moves the newest object into `out`; `false` if empty.
    #[inline]
    fn pop_head(&self, out: &mut MaybeUninit<T>) -> bool {
        let mut current = self.head_tail.load(Relaxed);
        let head = loop {
            let (head, tail) = unpack(current);
            if head == tail {
                return false;
            }
            let head = head.wrapping_sub(1);
            // Relaxed: the value was written by the owner (us; ownership of a `Worker` passes
            // between threads with a happens-before edge). The CAS only has to keep stealers
            // off the slot, which its atomicity does: a steal of this slot changes the word.
            match self
                .head_tail
                .compare_exchange_weak(current, pack(head, tail), Relaxed, Relaxed)
            {
                Ok(_) => break head,
                Err(actual) => current = actual,
            }
        };
        let slot = self.slot(head);
        // SAFETY: our CAS took slot `head` out of `tail..head`, so no stealer can claim it, and
        // it was in that range, so it holds a value, which we move out (the slot is empty now).
        slot.value
            .with(|v| unsafe { ptr::copy_nonoverlapping((*v).as_ptr(), out.as_mut_ptr(), 1) });
        // Relaxed: only the owner (us) reads the flag next, in `push_head`.
        slot.full.store(EMPTY, Relaxed);
        true
    }

    /// Any thread (Go: `popTail`, here for up to `max` objects, never more than half of what
    /// the ring holds, rounded up): claims the oldest objects by moving `tail`. The caller must
    /// `read` every claimed index. `None` if the ring is empty.
    fn claim_tail(&self, max: u32) -> Option<(u32, u32)> {
        let mut current = self.head_tail.load(Relaxed);
        loop {
            let (head, tail) = unpack(current);
            let len = head.wrapping_sub(tail);
            if len == 0 {
                return None;
            }
            let n = len.div_ceil(2).min(max);
            // Acquire on success pairs with the owner's Release `fetch_add` that pushed these
            // objects (every later change of the word is a read-modify-write and continues its
            // release sequence): their values happen-before our reads.
            match self.head_tail.compare_exchange_weak(
                current,
                pack(head, tail.wrapping_add(n)),
                Acquire,
                Relaxed,
            ) {
                Ok(_) => return Some((tail, n)),
                // Another steal, or the owner pushed or popped: lock-free, someone progressed.
                Err(actual) => current = actual,
            }
        }
    }

    /// Reads a slot claimed by `claim_tail` and hands it back to the owner.
    fn read(&self, index: u32) -> T {
        let slot = self.slot(index);
        // SAFETY: `claim_tail` moved `tail` past `index`, so no other stealer nor the owner's
        // pop can take it, and the owner cannot overwrite it until we clear the flag below.
        let value = slot.value.with(|v| unsafe { (*v).assume_init_read() });
        // Release: our read happens-before the owner's next write to this slot (it loads the
        // flag with Acquire in `push_head`).
        slot.full.store(EMPTY, Release);
        value
    }

    /// Objects in this ring now (a racy snapshot).
    fn len(&self) -> usize {
        let (head, tail) = unpack(self.head_tail.load(Relaxed));
        head.wrapping_sub(tail) as usize
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
            let (head, tail) = unpack(owned.head_tail.load(Relaxed));
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
    /// The head ring's slots, its length - 1, and its `head` index, mirrored here (only the owner
    /// moves `head`) so that a push finds its slot from the `Worker` alone. Reading them from
    /// the ring cost two more dependent loads (ring, then `head_tail` and `slots`) before the
    /// flag's, on every push.
    slots: Cell<*const Slot<T>>,
    mask: Cell<u32>,
    index: Cell<u32>,
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
        };
        worker.mirror(first, 0);
        worker
    }

    /// Points the mirrors at `ring`, the new head ring, whose `head` is `index`.
    fn mirror(&self, ring: *mut Ring<T>, index: u32) {
        // SAFETY: as in `head`.
        let slots = &unsafe { &*ring }.slots;
        self.slots.set(slots.as_ptr());
        self.mask.set(slots.len() as u32 - 1);
        self.index.set(index);
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
        // SAFETY: `slots` and `mask` describe the head ring, which lives as long as the chain;
        // `index & mask` is in bounds.
        let slot = unsafe { &*self.slots.get().add((index & self.mask.get()) as usize) };
        // The flag alone says whether the ring has room (Go also compares `head` with `tail`
        // first): this slot last held the object at `index - len`. Were the ring full, that
        // object would be the oldest, at `tail`, not yet claimed, so its flag would be set (a
        // stealer clears it only after moving `tail` past it, the owner's pop only after moving
        // `head` below it). Set also when a stealer claimed it but has not read it yet.
        // Acquire pairs with the Release store of the stealer that cleared it: its read of the
        // old value happens-before our write of the new one.
        if slot.full.load(Acquire) != EMPTY {
            return self.push_new_ring(value);
        }
        self.head().push_at(slot, value);
        self.index.set(index.wrapping_add(1));
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
        self.mirror(ring, 0);
        self.push(value);
    }

    /// `Ring::push_batch` into the head ring, keeping the mirrored index.
    fn push_batch(&self, n: u32, next: impl FnMut() -> T) -> bool {
        let pushed = self.head().push_batch(n, next);
        if pushed {
            self.index.set(self.index.get().wrapping_add(n));
        }
        pushed
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
        if self.head().pop_head(out) {
            self.index.set(self.index.get().wrapping_sub(1));
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
            if older.pop_head(out) {
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

    /// Steals up to half of the oldest ring's objects (at most `BATCH`): returns the oldest and
    /// pushes the rest into `dest`, the caller's own chain, so that a thread fed by another's
    /// puts pays for one steal per batch.
    pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Option<T> {
        self.steal_with(BATCH, |ring, first, n| {
            let mut i = 1;
            let moved = n == 1
                || dest.push_batch(n - 1, || {
                    let value = ring.read(first.wrapping_add(i));
                    i += 1;
                    value
                });
            if !moved {
                // The thief's newest ring is short of room: one by one, growing it.
                for i in 1..n {
                    dest.push(ring.read(first.wrapping_add(i)));
                }
            }
            ring.read(first)
        })
    }

    fn steal_with(&self, max: u32, take: impl FnOnce(&Ring<T>, u32, u32) -> T) -> Option<T> {
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
            // (with `Relaxed` it could read a stale, empty `head_tail` and skip live objects;
            // loom model `chain::steal_racing_pushes_that_wrap_and_grow_a_ring`).
            let next = ring.next.load(Acquire);
            if let Some((first, n)) = ring.claim_tail(max) {
                return Some(take(ring, first, n));
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
        assert_eq!(from.stealer().steal_batch_and_pop(&to), Some(0));
        assert_eq!(to.pop(), Some(2));
        assert_eq!(to.pop(), Some(1));
        assert_eq!(to.pop(), None);
        assert_eq!(from.stealer().len(), 3);
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
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        struct D;
        impl Drop for D {
            fn drop(&mut self) {
                DROPS.fetch_add(1, SeqCst);
            }
        }
        let w = Worker::new();
        let s = w.stealer();
        for _ in 0..50 {
            w.push(D);
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
                            let got = thief.steal_batch_and_pop(&dest);
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
                            match s.steal_batch_and_pop(&mine) {
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
