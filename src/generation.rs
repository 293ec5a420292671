//! The two generations and the collection protocol: Go's `poolCleanup`, without stopping the
//! world.
//!
//! The **primary** generation is what the per-thread caches hold (`local.rs`). The **victim**
//! is a frozen set of deques that `collect` detached from the caches: getters search it only
//! after the whole primary missed, nobody puts into it, and the next `collect` drops whatever
//! is left in it.
//!
//! `collect` (Go: `poolCleanup`, run by the GC with the world stopped) works in two phases:
//!
//! 1. **Swap** (what concurrent get/put can observe; O(threads), no per-object work): under a
//!    mutex that only serialises collectors, move each cache's private object and published
//!    deque into a new `Victim`, swap it in for the old one, and advance the generation number.
//!    Get/put never wait for this: one process-wide barrier serves every private slot and stash
//!    (`local::take_all`), and each deque is moved under a short lock that the owner takes only
//!    on its slow path.
//! 2. **Drop** (O(objects), on the calling thread, after every lock is released): drain the old
//!    victim's deques, dropping each object, so that when `collect` returns with no operation in
//!    flight everything two collections old has been dropped. Getters that loaded the old
//!    victim before the swap may still take from it meanwhile (the deques hand each object to
//!    exactly one taker); its storage is freed through crossbeam-epoch once no getter can
//!    still be reading it.

use crate::local::{self, Locals};
use crate::policy::Hooks;
use crate::sync::deque::{Stealer, Worker};
use crate::sync::epoch::{self, Atomic, Guard, Owned, Shared};
use crate::sync::{AtomicU64, Mutex, MutexGuard};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

/// A detached generation: the deques `collect` took from the caches, plus one deque of the
/// private objects it took.
struct Victim<T> {
    deques: Vec<Stealer<T>>,
}

/// Pool-wide generation state.
pub(crate) struct Generations<T> {
    victim: Atomic<Victim<T>>,
    /// Number of completed swaps. Caches compare it with the number they last saw to learn that
    /// their deque was retired.
    number: AtomicU64,
    /// The generation number whose victim a getter found empty (Go: `victimSize = 0`), so later
    /// misses skip it. Tagged with the number so that a late store cannot hide a newer victim.
    victim_empty_at: AtomicU64,
    /// Serialises collectors (Go: the world is stopped), and a thief's raid on other caches.
    /// An owner takes it only to settle its private slot or stash after a collection or raid
    /// retired them (`local.rs`, `stash.rs`): at most once each per collection, at its next
    /// claim or stash operation; a put never does.
    swap_lock: Mutex<()>,
    /// Objects dropped by `collect` and `clear`.
    pub(crate) collected: AtomicU64,
    /// Capacity bytes of the objects counted in `collected` (when the pool measures them).
    pub(crate) collected_bytes: AtomicU64,
    /// Calls to `collect`.
    pub(crate) collections: AtomicU64,
}

impl<T> Generations<T> {
    pub(crate) fn new() -> Self {
        Self {
            victim: Atomic::null(),
            number: AtomicU64::new(0),
            victim_empty_at: AtomicU64::new(u64::MAX),
            swap_lock: Mutex::new(()),
            collected: AtomicU64::new(0),
            collected_bytes: AtomicU64::new(0),
            collections: AtomicU64::new(0),
        }
    }

    /// The collectors' lock: held while a collection retires the caches. An owner that finds
    /// its stash retired settles it under this lock (`stash.rs`).
    pub(crate) fn serial(&self) -> MutexGuard<'_, ()> {
        self.swap_lock.lock()
    }

    /// The current generation number (see `Local::pop_shared`).
    pub(crate) fn number(&self) -> &AtomicU64 {
        &self.number
    }

    /// Takes one object from the victim (Go: the second half of `getSlow`), starting with the
    /// deque at `slot` so that threads spread out. FIFO within each deque: the oldest first.
    pub(crate) fn take_victim(&self, slot: usize) -> Option<T> {
        // Acquire pairs with collect's Release store: if we see number n, we see its victim.
        let number = self.number.load(Acquire);
        // Relaxed: a stale answer only costs one extra search or one missed victim hit, both
        // allowed (Get may "treat the pool as empty").
        if self.victim_empty_at.load(Relaxed) == number {
            return None;
        }
        let guard = epoch::pin();
        // Acquire pairs with the AcqRel swap that installed the victim.
        let victim = self.victim.load(Acquire, &guard);
        // SAFETY: the victim is only freed through `defer_destroy` after being swapped out,
        // and our guard keeps it alive until we unpin.
        let Some(victim) = (unsafe { victim.as_ref() }) else {
            // Relaxed: a hint that lets later misses skip the victim until the next
            // collection; a stale value only costs one more look at it.
            self.victim_empty_at.store(number, Relaxed);
            return None;
        };
        let n = victim.deques.len();
        for i in 0..n {
            if let Some(value) = victim.deques[(slot + i) % n].steal() {
                return Some(value);
            }
        }
        self.victim_empty_at.store(number, Relaxed);
        None
    }

    /// One collection cycle (see the module docs). Returns after every object of the old victim
    /// has been dropped; a panic from `T::drop` propagates after the rest are dropped.
    pub(crate) fn collect(&self, locals: &Locals<T>, hooks: Option<&dyn Hooks<T>>) {
        self.cycle(locals, hooks, false);
    }

    /// Drops both generations now: the old victim and everything the caches hold. One pass, so
    /// that a panicking `T::drop` cannot leave half of it behind.
    pub(crate) fn clear(&self, locals: &Locals<T>, hooks: Option<&dyn Hooks<T>>) {
        self.cycle(locals, hooks, true);
    }

    fn cycle(&self, locals: &Locals<T>, hooks: Option<&dyn Hooks<T>>, clear: bool) {
        let guard = epoch::pin();
        let (old, primary, stale) = {
            let _serial = self.swap_lock.lock();
            // Relaxed: `number` is written only under `swap_lock`, which we hold.
            let at = self.number.load(Relaxed) + 1;
            let mut deques = Vec::new();
            let mut stale = Vec::new();
            let privates = Worker::new();
            let mut any_private = false;
            // The private objects and the stashes first, behind one barrier (`local::take_all`).
            local::take_all(locals.iter().map(|(_, l)| l), |value| {
                privates.push(value);
                any_private = true;
            });
            for (_, local) in locals.iter() {
                let retired = local.retire(at);
                deques.extend(retired.victim);
                stale.extend(retired.stale);
            }
            if any_private {
                // One more deque of the victim, like Go's victim `private` slots; getters scan
                // the victim's deques in rotation from their own slot, as `getSlow` does.
                deques.insert(0, privates.stealer());
            }
            let primary = Victim { deques };
            let (fresh, primary) = if clear || primary.deques.is_empty() {
                (Shared::null(), clear.then_some(primary))
            } else {
                (Owned::new(primary).into_shared(&guard), None)
            };
            // AcqRel: Release publishes the new victim to getters; Acquire makes the old one's
            // contents (published by the previous swap) ours to drain.
            let old = self.victim.swap(fresh, AcqRel, &guard);
            // Release pairs with the Acquire loads of caches and getters. `clear` skips a
            // number, so that caches whose deque it took see them as dead (`now > at`) and
            // drain what a racing put left there.
            self.number.store(if clear { at + 1 } else { at }, Release);
            (old, primary, stale)
        };
        let retire = Retire { old, guard: &guard };
        let to = Drained {
            collected: &self.collected,
            bytes: &self.collected_bytes,
            hooks,
        };
        // One drain for all of it (the old victim, stale deques, and for `clear` the primary),
        // so that a panicking drop in one part does not skip the others.
        let all = Victim {
            deques: primary
                .into_iter()
                .flat_map(|p| p.deques)
                .chain(stale)
                .collect(),
        };
        // SAFETY: swapped out under `guard`, which keeps it alive until `retire` is dropped.
        let victims: Vec<&Victim<T>> = unsafe { old.as_ref() }.into_iter().chain([&all]).collect();
        drain(&victims, &to);
        drop(retire);
    }

    /// Diagnostic: objects in the victim.
    pub(crate) fn victim_len(&self) -> usize {
        let guard = epoch::pin();
        // Acquire: pairs with the swap's release, so the victim's deques are initialised.
        let victim = self.victim.load(Acquire, &guard);
        // SAFETY: as in `take_victim`.
        match unsafe { victim.as_ref() } {
            Some(victim) => victim.deques.iter().map(Stealer::len).sum(),
            None => 0,
        }
    }
}

/// Schedules a swapped-out victim's storage for reclamation when dropped, also when a
/// `T::drop` panics while the victim is drained.
struct Retire<'g, T> {
    old: Shared<'g, Victim<T>>,
    guard: &'g Guard,
}

impl<T> Drop for Retire<'_, T> {
    fn drop(&mut self) {
        if !self.old.is_null() {
            // SAFETY: the old victim is unreachable from the pool (swapped out); getters that
            // loaded it earlier hold guards, and `defer_destroy` waits for them.
            unsafe { self.guard.defer_destroy(self.old) };
        }
    }
}

/// Where `drain` accounts for what it drops.
struct Drained<'a, T> {
    collected: &'a AtomicU64,
    bytes: &'a AtomicU64,
    hooks: Option<&'a dyn Hooks<T>>,
}

/// Drops every object left in `victims`. If a `T::drop` panics, the rest are still dropped
/// before the panic propagates (as `Vec`'s drop does; a second panic aborts, as it would there).
fn drain<T>(victims: &[&Victim<T>], to: &Drained<'_, T>) {
    struct OnUnwind<'a, 'b, T>(&'a [&'a Victim<T>], &'a Drained<'b, T>);
    impl<T> Drop for OnUnwind<'_, '_, T> {
        fn drop(&mut self) {
            drain(self.0, self.1);
        }
    }
    for deque in victims.iter().flat_map(|v| &v.deques) {
        while let Some(value) = deque.steal() {
            // Counted before the drop runs, so a panicking drop is still counted, once.
            // Relaxed: statistics, read exactly only when quiescent.
            to.collected.fetch_add(1, Relaxed);
            if let Some(hooks) = to.hooks {
                to.bytes.fetch_add(hooks.on_leave(&value) as u64, Relaxed);
            }
            let on_unwind = OnUnwind(victims, to);
            drop(value);
            std::mem::forget(on_unwind);
        }
    }
}

impl<T> Drop for Generations<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no other thread can reach the victim any more. (Hence also
        // `Relaxed`: nothing is left to synchronise with.)
        let victim = self
            .victim
            .swap(Shared::null(), Relaxed, unsafe { epoch::unprotected() });
        if !victim.is_null() {
            // SAFETY: unreachable now, and it came from `Owned::new`.
            let victim = unsafe { victim.into_owned() };
            // Drained one by one rather than left to the chain's drop, so that each object is
            // counted in `collected` and a panicking `T::drop` does not stop the rest.
            drain(
                &[&*victim],
                &Drained {
                    collected: &self.collected,
                    bytes: &self.collected_bytes,
                    hooks: None,
                },
            );
        }
    }
}
