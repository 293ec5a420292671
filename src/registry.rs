//! Two process-wide registries: thread slots, and live pools.
//!
//! **Thread slots** stand in for Go's P ids. Go pins a goroutine to its P (`runtime_procPin`)
//! and indexes `p.local[pid]`; a thread here takes a small slot index the first time it touches
//! any pool and keeps it until it exits. Every pool has one cache per slot (`local.rs`). Slots are
//! handed out smallest-first and reused after a thread exits, so the caches of a pool stay dense
//! however many short-lived threads come and go, and a new thread inherits the cache (and any
//! objects) an exited thread left behind: thread exit strands nothing.
//!
//! Ownership of a slot passes between threads only through the allocator's mutex (release on
//! exit, acquire on assignment), so everything the previous owner wrote to its caches
//! happens-before the next owner's first access. That is what makes the caches' owner-only
//! fields sound.
//!
//! **Live pools** stand in for Go's `allPools`: `collect_all` visits every registered pool. A
//! pool registers when its state is first built and unregisters in `Drop`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::sync::{self, lazy_global, tls, Mutex, NO_SLOT};

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

/// Runs `f` with the calling thread's slot: its exclusive index into every pool's caches.
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

/// The calling thread's slot, if it has one already (one read of a `const` thread-local).
#[inline]
pub(crate) fn current_slot() -> Option<usize> {
    let slot = tls::slot();
    (slot != NO_SLOT).then_some(slot)
}

#[cold]
fn with_new_slot<R>(f: impl FnOnce(usize) -> R) -> R {
    if tls::register_exit() {
        let slot = acquire_slot();
        tls::set_slot(slot);
        return f(slot);
    }
    // The thread is exiting and its thread-locals are being destroyed (a `Pooled` dropped by
    // another thread-local's destructor, say): borrow a slot for this one operation.
    struct Borrowed(usize);
    impl Drop for Borrowed {
        fn drop(&mut self) {
            release_slot(self.0);
        }
    }
    let borrowed = Borrowed(acquire_slot());
    f(borrowed.0)
}

/// Called by the thread-exit guard in the sync facade.
#[allow(dead_code)] // the loom build never releases slots
pub(crate) fn release_current_slot() {
    let slot = tls::slot();
    tls::set_slot(NO_SLOT);
    if slot != NO_SLOT && sync::REUSE_SLOTS {
        release_slot(slot);
    }
}

/// What `collect_all` needs from a pool, without knowing its object type.
pub(crate) trait Collectable: Send + Sync {
    /// One collection cycle.
    fn collect(&self);
    /// Another handle to the same pool state, so that `collect_all` can work without holding
    /// the registry lock (a `Drop` run by `collect` may create or drop pools).
    fn clone_handle(&self) -> Box<dyn Collectable>;
}

struct Pools {
    next_id: u64,
    live: Vec<(u64, Box<dyn Collectable>)>,
}

lazy_global! {
    static POOLS: Mutex<Pools> = Mutex::new(Pools { next_id: 0, live: Vec::new() });
}

/// Registers a pool for `collect_all`; returns the id to unregister with.
pub(crate) fn register(pool: Box<dyn Collectable>) -> u64 {
    let mut pools = POOLS.lock();
    let id = pools.next_id;
    pools.next_id += 1;
    pools.live.push((id, pool));
    id
}

/// Removes a pool from the registry. After this returns, no later `collect_all` visits it; one
/// already running may still hold a handle, which keeps the pool's state alive until it is done.
pub(crate) fn unregister(id: u64) {
    let removed = {
        let mut pools = POOLS.lock();
        let i = pools.live.iter().position(|(pid, _)| *pid == id);
        i.map(|i| pools.live.swap_remove(i))
    };
    // Dropped outside the lock: it may be the last handle, and dropping a pool runs `T::drop`.
    drop(removed);
}

/// Handles to every live pool, taken under the lock and used after it is released.
pub(crate) fn live_pools() -> Vec<Box<dyn Collectable>> {
    let pools = POOLS.lock();
    pools.live.iter().map(|(_, p)| p.clone_handle()).collect()
}
