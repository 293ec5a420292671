//! Thread slots: a small index per thread, standing in for Go's P id.
//!
//! A thread takes a small slot index the first time it touches any pool and keeps it until it
//! exits. In every pool, slot `s` picks the home shard `s % shards`, and the slots below the
//! pool's private-slot count own a private slot (`cache/private.rs`); Go has one `private` per
//! P, and gcpool one per slot up to twice the CPU count, so a pool's memory is bounded by the
//! CPUs however many threads use it. Slots are handed out smallest-first and reused after a
//! thread exits, so the threads that own private slots are the oldest live ones.
//!
//! Ownership of a slot passes between threads only through the allocator's mutex (release on
//! exit, acquire on assignment), so everything the previous owner wrote to its private slots
//! happens-before the next owner's first access. That is what makes those slots' owner-only
//! fields sound.
//!
//! **Thread exit**: before its slot is released, an exiting thread hands each pool's private
//! object to the pool's shards, where every thread finds it (no barrier: the thread is the
//! slot's owner).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::cache::shard::private_slots;
use crate::collect::registry::live_pools;
use crate::mutex::Mutex;
use crate::sync::{self, lazy_global, tls, NO_SLOT};

/// Hands out thread slots, smallest free first.
struct SlotAllocator {
    next: usize,
    free: BinaryHeap<Reverse<usize>>,
}

lazy_global! {
    static SLOTS: Mutex<SlotAllocator> = Mutex::new(SlotAllocator { next: 0, free: BinaryHeap::new() });
}

fn acquire_slot() -> usize {
    let mut slots = SLOTS.lock();
    match slots.free.pop() {
        Some(Reverse(slot)) => slot,
        None => {
            let slot = slots.next;
            slots.next += 1;
            slot
        }
    }
}

fn release_slot(slot: usize) {
    SLOTS.lock().free.push(Reverse(slot));
}

/// Runs `f` with the calling thread's slot.
///
/// The fast path is one read of a `const` thread-local.
#[inline]
pub(crate) fn with_slot<R>(f: impl FnOnce(usize) -> R) -> R {
    let slot = tls::slot();
    if slot != NO_SLOT {
        return f(slot);
    }
    with_new_slot(f)
}

/// The calling thread's slot, or `NO_SLOT` if it has none yet (one read of a `const`
/// thread-local).
#[inline]
pub(crate) fn slot() -> usize {
    tls::slot()
}

#[cold]
fn with_new_slot<R>(f: impl FnOnce(usize) -> R) -> R {
    if tls::register_exit(thread_exit) {
        let slot = acquire_slot();
        tls::set_slot(slot);
        return f(slot);
    }
    // The thread is exiting and its thread-locals are being destroyed (a guard dropped by
    // another thread-local's destructor, say): borrow a slot for this one operation, and hand
    // back what it left in private slots before releasing it.
    struct Borrowed(usize);
    impl Drop for Borrowed {
        fn drop(&mut self) {
            hand_over(self.0);
            release_slot(self.0);
        }
    }
    let borrowed = Borrowed(acquire_slot());
    f(borrowed.0)
}

/// The calling thread is exiting (run by the exit guard that `with_new_slot` registers; loom
/// models call it directly): hands its private objects over to the shards, then releases its
/// slot.
pub(crate) fn thread_exit() {
    let slot = tls::slot();
    if slot == NO_SLOT {
        return;
    }
    hand_over(slot);
    tls::set_slot(NO_SLOT);
    if sync::REUSE_SLOTS {
        release_slot(slot);
    }
}

/// Moves what slot `slot` holds in every live pool's private slot to that pool's shards. The
/// caller owns the slot.
fn hand_over(slot: usize) {
    if slot >= private_slots() {
        return; // no pool has a private slot for it
    }
    let mut pools = Vec::new();
    live_pools(&mut pools);
    for pool in &pools {
        pool.hand_over(slot);
    }
}
