//! The collection protocol: Go's `poolCleanup`, without stopping the world.
//!
//! Go's collector stops the world, moves every pool's primary to its victim and drops the old
//! victims. Here one collection of one pool or of every pool (`collect_all`) runs three steps:
//!
//! 1. **Retire** (under the collectors' lock): mark every private slot `retired`.
//! 2. **Barrier, then swap** (still under the lock): one heavy barrier for all the pools
//!    (`sync/barrier.rs`), after which each private object that its owner has not claimed is
//!    taken into its home shard's victim, and each shard swaps its generations under its own
//!    lock. Getters and putters never wait for the collectors' lock, except an owner whose
//!    claim found its slot retired (once per collection, `private.rs`); they may find one shard
//!    busy for the length of a swap.
//! 3. **Drain** (no lock held): drop what the old victims held, on the calling thread, so that
//!    when `collect` returns with no operation in flight, everything two collections old has
//!    been dropped, and a `Drop` may use pools again.
//!
//! The collectors' lock serialises collectors, and it is what an owner settles under. Its
//! content is the buffer of pool handles that `collect_all` fills and reuses, so that a
//! collection allocates nothing once the buffer has grown.

use crate::registry::{self, Collectable, Handle};
use crate::sync::{heavy_barrier, lazy_global, Mutex, MutexGuard};

lazy_global! {
    static COLLECTORS: Mutex<Vec<Handle>> = Mutex::new(Vec::new());
}

/// The collectors' lock (an owner settles its private slot under it).
pub(crate) fn lock() -> MutexGuard<'static, Vec<Handle>> {
    COLLECTORS.lock()
}

/// One collection of one pool (`clear`: drops both generations).
pub(crate) fn collect_one(pool: &dyn Collectable, clear: bool) {
    {
        let _collectors = lock();
        pool.retire();
        heavy_barrier();
        pool.swap(clear);
    }
    pool.drain();
}

/// One collection of every live pool, behind one barrier. If a `T::drop` panics, the other
/// pools are still drained, then the first panic is resumed.
pub(crate) fn collect_all() {
    let pools = {
        let mut collectors = lock();
        registry::live_pools(&mut collectors);
        for pool in collectors.iter() {
            pool.retire();
        }
        if !collectors.is_empty() {
            heavy_barrier();
        }
        for pool in collectors.iter() {
            pool.swap(false);
        }
        std::mem::take(&mut *collectors)
    };
    let mut first_panic = None;
    let mut pools = pools;
    for pool in pools.drain(..) {
        // AssertUnwindSafe: a pool stays consistent when a `T::drop` panics inside `drain`
        // (the rest of its objects are dropped before the panic leaves it). Dropping the handle
        // may drop the pool's state, and so objects: inside the closure too.
        let drained = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            pool.drain();
            drop(pool);
        }));
        if let Err(panic) = drained {
            first_panic.get_or_insert(panic);
        }
    }
    // Give the (now empty) buffer back for the next collection to reuse.
    let mut collectors = lock();
    if collectors.capacity() < pools.capacity() {
        *collectors = pools;
    }
    drop(collectors);
    if let Some(panic) = first_panic {
        std::panic::resume_unwind(panic);
    }
}
