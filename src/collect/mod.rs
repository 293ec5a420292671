//! The collection protocol: Go's `poolCleanup`, without stopping the world.
//!
//! Go's collector stops the world, moves every pool's primary to its victim and drops the old
//! victims. Here one collection of one pool or of every pool (`collect_all`) runs three steps:
//!
//! 1. **Retire** (under the collectors' lock): mark every private slot that holds an object
//!    `retired`.
//! 2. **Barrier, then swap** (still under the lock): one heavy barrier for all the pools
//!    (`sync/barrier.rs`; none if step 1 marked nothing), after which each private object that
//!    its owner has not claimed is taken into its home shard's victim, and each shard that
//!    holds anything swaps its generations under its own lock. An idle pool is only read.
//!    Getters and putters never wait for the collectors' lock, except an owner whose claim
//!    found its slot retired (once per collection, `cache/private.rs`); they may find one
//!    shard busy for the length of a swap.
//! 3. **Drain** (no lock held): drop what the old victims held, on the calling thread, so that
//!    when `collect` returns with no operation in flight, everything two collections old has
//!    been dropped, and a `Drop` may use pools again.
//!
//! The collectors' lock serialises collectors, and it is what an owner settles under. Its
//! content is the buffer of handles to the pools that step 3 must drain, reused from one
//! collection to the next, so that a collection allocates nothing once the buffer has grown.

pub(crate) mod collector;
pub(crate) mod registry;

use crate::mutex::Mutex;
use crate::sync::{heavy_barrier, lazy_global, MutexGuard};
use registry::{Collectable, Handle};

lazy_global! {
    static COLLECTORS: Mutex<Vec<Handle>> = Mutex::new(Vec::new());
}

/// The collectors' lock (an owner settles its private slot under it).
pub(crate) fn lock() -> MutexGuard<'static, Vec<Handle>> {
    COLLECTORS.lock()
}

/// One collection of one pool (`clear`: drops both generations).
pub(crate) fn collect_one(pool: &dyn Collectable, clear: bool) {
    let dying = {
        let _collectors = lock();
        if pool.retire() > 0 {
            heavy_barrier();
        }
        pool.swap(clear)
    };
    if dying {
        pool.drain();
    }
}

/// One collection of every live pool, behind one barrier (none if no private slot holds an
/// object). Steps 1 and 2 run under the registry's lock and touch an idle pool without a
/// write; only the pools with something to drop are kept (a handle each, in a buffer reused
/// from one collection to the next) for step 3. If a `T::drop` panics, the other pools are
/// still drained, then the first panic is resumed.
pub(crate) fn collect_all() {
    let mut pools = {
        let mut collectors = lock();
        let mut retired = 0;
        registry::for_each_live(|pool| retired += pool.retire());
        if retired > 0 {
            heavy_barrier();
        }
        registry::for_each_live(|pool| {
            if pool.swap(false) {
                collectors.push(pool.clone());
            }
        });
        std::mem::take(&mut *collectors)
    };
    let mut first_panic = None;
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
