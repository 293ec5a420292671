//! Two process-wide registries: thread slots, and live pools.
//!
//! **Thread slots** stand in for Go's P ids. A thread takes a small slot index the first time it
//! touches any pool and keeps it until it exits. In every pool, slot `s` picks the home shard
//! `s % shards`, and the slots below the pool's private-slot count own a private slot
//! (`private.rs`); Go has one `private` per P, and gcpool one per slot up to twice the CPU
//! count, so a pool's memory is bounded by the CPUs however many threads use it. Slots are
//! handed out smallest-first and reused after a thread exits, so the threads that own private
//! slots are the oldest live ones.
//!
//! Ownership of a slot passes between threads only through the allocator's mutex (release on
//! exit, acquire on assignment), so everything the previous owner wrote to its private slots
//! happens-before the next owner's first access. That is what makes those slots' owner-only
//! fields sound.
//!
//! **Live pools** stand in for Go's `allPools`: `collect_all` visits every registered pool. A
//! pool registers when its state is first built and unregisters in `Drop`, both O(1) (a slab
//! with a free list).
//!
//! **Thread exit**: before its slot is released, an exiting thread hands each pool's private
//! object to the pool's shards, where every thread finds it (no barrier: the thread is the
//! slot's owner).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::sync::{self, lazy_global, tls, Arc, Mutex, NO_SLOT};

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
    if tls::register_exit() {
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

/// The calling thread is exiting (called by the sync facade's thread-exit guard; loom models
/// call it directly): hands its private objects over to the shards, then releases its slot.
#[allow(dead_code)] // the loom build calls it only from its models
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
    if slot >= crate::shard::private_slots() {
        return; // no pool has a private slot for it
    }
    let mut pools = Vec::new();
    live_pools(&mut pools);
    for pool in &pools {
        pool.hand_over(slot);
    }
}

/// What the registry and `collect_all` need from a pool, without knowing its object type. The
/// collection protocol's steps (`collect.rs`).
pub(crate) trait Collectable: Send + Sync {
    /// Step 1, under the collectors' lock: marks every private slot that looks full retired;
    /// returns how many it marked (none: no barrier is needed for this pool).
    fn retire(&self) -> usize;
    /// Step 2, under the collectors' lock, after the heavy barrier: takes the private objects
    /// and swaps each shard's generations (`clear`: empties both). Returns whether there is
    /// anything for step 3 to drop.
    fn swap(&self, clear: bool) -> bool;
    /// Step 3, with no lock held: drops what step 2 retired.
    fn drain(&self);
    /// The calling thread owns `slot` and is about to give it up: moves its private object to
    /// the shards.
    fn hand_over(&self, slot: usize);
}

/// A handle to a live pool's state.
pub(crate) type Handle = Arc<dyn Collectable>;

struct Pools {
    /// A slab: a pool's id is its index.
    live: Vec<Option<Handle>>,
    free: Vec<usize>,
}

lazy_global! {
    static POOLS: Mutex<Pools> = Mutex::new(Pools { live: Vec::new(), free: Vec::new() });
}

/// Registers a pool for `collect_all`; returns the id to unregister with. O(1) amortised.
pub(crate) fn register(pool: Handle) -> usize {
    let mut pools = POOLS.lock();
    match pools.free.pop() {
        Some(id) => {
            pools.live[id] = Some(pool);
            id
        }
        None => {
            pools.live.push(Some(pool));
            pools.live.len() - 1
        }
    }
}

/// Removes a pool from the registry. After this returns, no later `collect_all` visits it; one
/// already running may still hold a handle, which keeps the pool's state alive until it is done.
/// O(1).
pub(crate) fn unregister(id: usize) {
    let removed = {
        let mut pools = POOLS.lock();
        let removed = pools.live.get_mut(id).and_then(Option::take);
        if removed.is_some() {
            pools.free.push(id);
        }
        removed
    };
    // Dropped outside the lock: it may be the last handle, and dropping a pool runs `T::drop`.
    drop(removed);
}

/// Appends a handle to every live pool to `out`, taken under the lock and used after it is
/// released.
pub(crate) fn live_pools(out: &mut Vec<Handle>) {
    let pools = POOLS.lock();
    out.extend(pools.live.iter().flatten().cloned());
}

/// Runs `f` on every live pool, holding the registry's lock (`f` must not run user code, nor
/// register or drop a pool).
pub(crate) fn for_each_live(mut f: impl FnMut(&Handle)) {
    let pools = POOLS.lock();
    pools.live.iter().flatten().for_each(&mut f);
}
