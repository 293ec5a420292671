//! The registry of live pools, standing in for Go's `allPools`: `collect_all` visits every
//! registered pool. A pool registers when its state is first built and unregisters in `Drop`,
//! both O(1) (a slab with a free list).

use crate::mutex::Mutex;
use crate::sync::{lazy_global, Arc};

/// What the registry and `collect_all` need from a pool, without knowing its object type. The
/// collection protocol's steps (`collect/mod.rs`).
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
