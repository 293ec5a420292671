//! The per-thread cache: Go's `poolLocal`, one per thread slot per pool.
//!
//! Go's `poolLocal` (`src/sync/pool.go`) is a `private` slot that only its P touches plus a
//! `shared` `poolChain` that the owner pushes and pops at the head while other Ps steal from the
//! tail (`poolqueue.go`). Here:
//!
//! * `private` is a one-object slot with a state word that only its owner writes. Go can leave
//!   it unsynchronised because the collector stops the world; gcpool never stops the world, so
//!   `collect()` must be able to take the object from an idle thread's slot. The owner claims
//!   it with plain loads and stores (no read-modify-write) and puts with a release store;
//!   `collect` (or a thief that found every deque empty) takes it behind the stash's
//!   asymmetric barrier (`take_all`). A steal never takes it, as in Go.
//! * `shared` is a chain of rings (`chain.rs`, Go's `poolChain`) whose `Worker` end the slot's
//!   thread owns, and whose `Stealer` is *published* in a small mutex for thieves and for
//!   `collect`. `collect` retires the deque by taking the published `Stealer` into the victim
//!   generation; the owner notices on its next slow-path operation (the pool's generation
//!   number moved) and starts a new deque. The old `Worker` may be dropped: the `Stealer` in the
//!   victim keeps the deque alive.
//!
//! * the **stash** (`stash.rs`, no Go counterpart) holds what this cache's last steal brought
//!   back beyond the object it returned; only the owner pops it, with plain loads and stores,
//!   and `collect` (or a thief that found everything else empty) takes it behind an asymmetric
//!   barrier.
//!
//! Every `Local` is 128-byte aligned so that two threads' caches never share a cache line.

use std::mem::MaybeUninit;

use crate::policy::Hooks;
use crate::stash::{Pop, Stash};
use crate::sync::deque::{Stealer, Worker, BATCH};
use crate::sync::{self, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Mutex, UnsafeCell};
use crossbeam_utils::CachePadded;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

const EMPTY: u8 = 0;
const FULL: u8 = 1;
/// Leased in place (no caller at present).
#[allow(dead_code)]
const BUSY: u8 = 2;

/// The one-object private slot (Go's `poolLocal.private`).
///
/// Go's owner reads and writes `private` with plain loads and stores because nobody else
/// touches it while the world runs: other Ps never steal it, and `poolCleanup` clears it with
/// the world stopped. Here too only the owner claims the object, with plain loads and stores
/// (no read-modify-write); `collect`, which must still reach an idle or exited thread's object,
/// takes it behind the asymmetric barrier that the stash uses (`stash.rs`, whose module docs
/// give the argument):
///
/// ```text
///   owner's claim:  state = BUSY or EMPTY;  light;  if retired { settle } else { use it }
///   collect:        retired = 1;  heavy;  if state == FULL && taken == 0 { take it; taken = 1 }
/// ```
///
/// Either the collector sees the owner's claim (and leaves the object), or the owner sees
/// `retired` (and leaves the object to the settlement, which tells it from `taken` whether the
/// collector took it). Thieves do not take private objects: like Go's `getSlow`, they steal
/// from deques, and only a thief that found everything else empty *raids* private slots and
/// stashes the way `collect` does.
///
/// Invariants: `state` is written by the owner, and by a lease holder on another thread ending
/// its lease (`BUSY -> EMPTY`); never by collectors. `retired` and `taken` change only under the
/// collectors' lock. The value is initialised exactly when `state` is `FULL` or `BUSY` and
/// `taken` is 0. While `BUSY`, only the lease holder touches the value.
struct Private<T> {
    state: AtomicU8,
    /// 1 once a collector has looked at the slot; 0 again when the owner has settled.
    retired: AtomicU8,
    /// 1 if that collector took the object (`state` still says `FULL` until the owner settles).
    taken: AtomicU8,
    /// Whether the collector's barrier reaches this thread (as `Stash::global`).
    global: bool,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// What an owner's claim on its private object found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Claim {
    /// The object is the claimer's.
    Hit,
    /// No object.
    Miss,
    /// A collector looked at the slot since the owner last settled: the owner must settle
    /// (`Local::settle_private`, under the collectors' lock) to learn whether the claim stands.
    Retired,
}

impl<T> Private<T> {
    fn new() -> Self {
        Self {
            state: AtomicU8::new(EMPTY),
            retired: AtomicU8::new(0),
            taken: AtomicU8::new(0),
            global: sync::heavy_barrier_is_global(),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Owner only: whether `put` may be called. Checked apart from `put` so that the object
    /// is moved once, into the slot or into the deque, never handed back in a `Result`.
    #[inline]
    fn is_empty(&self) -> bool {
        // Acquire pairs with a lease holder's `Release` store of EMPTY on another thread
        // (`end_lease`): its read of the old value happens-before our write of the new one.
        self.state.load(Acquire) == EMPTY
    }

    /// Owner only, after `is_empty` returned `true`.
    #[inline]
    fn put(&self, value: T) {
        // SAFETY: the owner (us) saw EMPTY, and only the owner moves the state out of EMPTY:
        // nobody reads or writes the value until we publish FULL below (a collector reads it
        // only once it sees FULL).
        self.value.with_mut(|v| unsafe { (*v).write(value) });
        // Release publishes the value to a collector that loads FULL with Acquire.
        self.state.store(FULL, Release);
    }

    /// Owner only: claims the object by moving the state `FULL -> to` (EMPTY to take it, BUSY
    /// to lease it) with a plain store, then checks for a collector (the type's docs).
    #[inline]
    fn claim(&self, to: u8) -> Claim {
        // Relaxed: FULL is only ever stored by the owner (us, or an earlier owner of the slot,
        // ordered before us by the slot allocator).
        if self.state.load(Relaxed) != FULL {
            return Claim::Miss;
        }
        // Relaxed: what orders this store before a collector's load is the barrier pair.
        self.state.store(to, Relaxed);
        sync::light_barrier(self.global);
        // Relaxed: the barrier pair, not this load's ordering, decides what we see.
        if self.retired.load(Relaxed) != 0 {
            return Claim::Retired;
        }
        Claim::Hit
    }

    /// Owner only, holding the collectors' lock, after `claim` returned `Retired`: whether the
    /// claim stands (no collector took the object). Either way the slot is settled: no
    /// longer retired, and `EMPTY` if the object is gone.
    fn settle(&self) -> bool {
        // Relaxed (all): collectors write `retired` and `taken` under the lock we hold, and
        // `state` is ours.
        let stands = self.taken.load(Relaxed) == 0;
        if !stands {
            self.state.store(EMPTY, Relaxed);
        }
        self.taken.store(0, Relaxed);
        self.retired.store(0, Relaxed);
        stands
    }

    /// Owner only, after a claim into EMPTY that stands: moves the object into `out`.
    #[inline]
    fn move_out(&self, out: &mut MaybeUninit<T>) {
        // SAFETY: our claim stands: the value is initialised, no collector takes it (it sees
        // our claim, or took nothing, per `taken`), and only we write a new one.
        self.value
            .with(|v| unsafe { std::ptr::copy_nonoverlapping((*v).as_ptr(), out.as_mut_ptr(), 1) });
    }

    /// The leased object. Only the lease holder may use the pointer, until it ends the lease.
    #[allow(dead_code)] // In-place lease: no caller at present (guards move objects out).
    #[inline]
    fn leased(&self) -> *mut T {
        self.value.with_mut(|v| v.cast::<T>())
    }

    /// Lease holder, on the slot owner's thread: puts the object back where it lies
    /// (`BUSY -> FULL`).
    #[allow(dead_code)] // In-place lease: no caller at present (guards move objects out).
    #[inline]
    fn return_lease(&self) {
        // Release publishes the holder's writes to a collector that takes the object next.
        self.state.store(FULL, Release);
    }

    /// Lease holder, any thread: moves the object out and hands the empty slot back to its
    /// owner (`BUSY -> EMPTY`).
    #[allow(dead_code)] // In-place lease: no caller at present (guards move objects out).
    fn end_lease(&self) -> T {
        // SAFETY: BUSY under our lease: the value is initialised and nobody else touches it
        // (collectors leave a BUSY slot alone).
        let value = self.value.with(|v| unsafe { (*v).assume_init_read() });
        // Release: our read happens-before the owner's next write (it loads EMPTY with Acquire).
        self.state.store(EMPTY, Release);
        value
    }

    /// A collector (or a raiding thief) holding the collectors' lock: the first step, before
    /// the heavy barrier and [`take_retired`](Self::take_retired).
    fn retire(&self) {
        // Relaxed: the heavy barrier orders it before the `state` load that follows.
        self.retired.store(1, Relaxed);
    }

    /// A collector holding the collectors' lock, after `retire` and the heavy barrier: the
    /// object, if the owner has not claimed it.
    fn take_retired(&self) -> Option<T> {
        // Relaxed: written under the lock we hold. Acquire on `state` pairs with the owner's
        // Release store of FULL (`put`, `return_lease`): the value is written.
        if self.taken.load(Relaxed) != 0 || self.state.load(Acquire) != FULL {
            return None;
        }
        // SAFETY: FULL after the barrier pair: the owner has not claimed the object and will
        // not touch it before it settles, which needs the lock we hold; `taken` was 0, so no
        // earlier collector moved it out. We mark it taken below, under the lock.
        let value = self.value.with(|v| unsafe { (*v).assume_init_read() });
        self.taken.store(1, Relaxed);
        Some(value)
    }

    /// Any thread: whether the slot looks like it holds an object nobody is using (racy).
    fn looks_full(&self) -> bool {
        // Relaxed: a hint (snapshots, and whether a raid is worth a barrier); never used to
        // reach the value.
        self.state.load(Relaxed) == FULL && self.taken.load(Relaxed) == 0
    }
}

impl<T> Drop for Private<T> {
    fn drop(&mut self) {
        // `&mut self`: no thread can touch the slot (and Relaxed loads see the last stores).
        // A lease cannot outlive the pool, so BUSY does not occur here.
        if self.looks_full() {
            // SAFETY: FULL and not taken: initialised, and dropped once.
            self.value.with_mut(|v| unsafe { (*v).assume_init_drop() });
        }
    }
}

/// The published end of this cache's deque, as seen by thieves and `collect`.
pub(crate) enum Published<T> {
    /// No deque yet (or the owner dropped a retired one).
    None,
    /// The current primary deque.
    Live(Stealer<T>),
    /// `collect` moved the deque into the victim generation whose number is `at`. The handle
    /// stays here until the owner starts a new deque, so that later collections can still
    /// reach what a racing put left in it.
    Taken {
        /// The pool generation created by the collect that took it.
        at: u64,
        /// The same deque as the one in the victim.
        stealer: Stealer<T>,
    },
}

/// What `Local::retire` hands to `collect`.
pub(crate) struct Retired<T> {
    /// The live deque, for the new victim.
    pub(crate) victim: Option<Stealer<T>>,
    /// A deque retired two or more collections ago, to drain now.
    pub(crate) stale: Option<Stealer<T>>,
}

/// Owner-only state.
struct Own<T> {
    worker: Option<Worker<T>>,
    /// The pool generation this cache last synchronised with.
    generation: u64,
}

/// Per-cache counters. Single writer (the slot's owner) with relaxed load-then-store, no
/// read-modify-write on the fast path; readers sum them in `Pool::stats`, exact when quiescent.
pub(crate) struct Counters {
    pub(crate) created: AtomicU64,
    pub(crate) hits: AtomicU64,
    pub(crate) victim_hits: AtomicU64,
    pub(crate) puts: AtomicU64,
    /// Objects this owner dropped from a deque that a later collect had already emptied.
    pub(crate) collected: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) shrunk: AtomicU64,
    /// Capacity bytes that entered (`bytes_in`) and left (`bytes_out`) through this cache.
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
}

/// Adds to a single-writer counter.
#[inline]
pub(crate) fn bump(counter: &AtomicU64, by: u64) {
    // Relaxed suffices: only the slot's owner writes this counter (ownership passes through the
    // slot allocator's mutex), and readers only need the value to be exact once operations have
    // stopped, which joining or any other synchronisation provides.
    counter.store(counter.load(Relaxed).wrapping_add(by), Relaxed);
}

/// One thread slot's cache in one pool.
#[repr(align(128))]
pub(crate) struct Local<T> {
    private: Private<T>,
    own: UnsafeCell<Own<T>>,
    /// The objects this cache's last steal brought back (`stash.rs`); null until its first
    /// steal. Only the owner stores it, once; `collect` reads it.
    stash: AtomicPtr<Stash<T>>,
    pub(crate) counters: Counters,
    /// On its own cache line: thieves `try_lock` it on every steal attempt, and that write must
    /// not evict the owner's hot private slot and counters (a consumer fed by a producer's puts
    /// would otherwise bounce the producer's line on every object).
    published: CachePadded<Mutex<Published<T>>>,
}

// SAFETY: `private` and the stash follow the asymmetric protocol of `Private` (the owner's
// claims, collectors behind the barrier pair and the collectors' lock); `own` is only touched
// by the thread that holds this slot (exclusive, handed over through the slot allocator's
// mutex); `published` is a mutex; counters are atomics. Objects move between threads, hence
// `T: Send`.
unsafe impl<T: Send> Sync for Local<T> {}
// SAFETY: as above; nothing in a `Local` is tied to the thread that created it.
unsafe impl<T: Send> Send for Local<T> {}

/// What the owner must drop after leaving its critical section (dropping runs user code, which
/// may use the pool again).
pub(crate) struct Detached<T> {
    worker: Worker<T>,
    /// The victim that held this deque has been collected: whatever is left is garbage.
    dead: bool,
}

impl Counters {
    fn new() -> Self {
        let zero = || AtomicU64::new(0);
        Self {
            created: zero(),
            hits: zero(),
            victim_hits: zero(),
            puts: zero(),
            collected: zero(),
            rejected: zero(),
            shrunk: zero(),
            bytes_in: zero(),
            bytes_out: zero(),
        }
    }
}

impl<T> Detached<T> {
    /// Drops the detached deque; if it is dead, first drops what is left in it (objects put
    /// after the collect that emptied it: a put that raced two collections), accounting for
    /// them in `counters`, the owner's own.
    pub(crate) fn finish(self, hooks: Option<&dyn Hooks<T>>, counters: &Counters) {
        if self.dead {
            while let Some(value) = self.worker.pop() {
                bump(&counters.collected, 1);
                if let Some(hooks) = hooks {
                    bump(&counters.bytes_out, hooks.on_leave(&value) as u64);
                }
                drop(value);
            }
        }
    }
}

impl<T> Local<T> {
    pub(crate) fn new() -> Self {
        Self {
            private: Private::new(),
            own: UnsafeCell::new(Own {
                worker: None,
                generation: 0,
            }),
            stash: AtomicPtr::new(std::ptr::null_mut()),
            counters: Counters::new(),
            published: CachePadded::new(Mutex::new(Published::None)),
        }
    }

    /// The stash, if this cache has stolen before. Owner, or a collector ([`take_all`]).
    #[inline]
    pub(crate) fn stash(&self) -> Option<&Stash<T>> {
        // Acquire pairs with the Release store in `own_stash` (the owner reads its own store).
        let ptr = self.stash.load(Acquire);
        // SAFETY: a non-null pointer came from `Box::into_raw` in `own_stash` and is freed only
        // in `Drop` (`&mut self`).
        unsafe { ptr.as_ref() }
    }

    /// Owner only: the stash, made on first use.
    fn own_stash(&self) -> &Stash<T> {
        if let Some(stash) = self.stash() {
            return stash;
        }
        let stash = Box::into_raw(Box::new(Stash::new(stash_capacity::<T>())));
        // Release publishes the stash's initialisation to collectors (`stash`).
        self.stash.store(stash, Release);
        // SAFETY: just made, freed only in `Drop`.
        unsafe { &*stash }
    }

    /// Any thread: objects in this cache's stash now (a racy snapshot).
    pub(crate) fn stash_len(&self) -> usize {
        self.stash().map_or(0, Stash::len)
    }

    /// Owner only: pops the newest object of the stash into `out` (see `Stash::pop`).
    #[inline]
    pub(crate) fn pop_stash(&self, out: &mut MaybeUninit<T>) -> Pop {
        match self.stash() {
            Some(stash) => stash.pop(out),
            None => Pop::Empty,
        }
    }

    /// Owner only, holding the collectors' lock: `Stash::settle`.
    #[cold]
    pub(crate) fn settle_stash(&self, want: Option<u32>, out: &mut MaybeUninit<T>) -> bool {
        self.stash().is_some_and(|stash| stash.settle(want, out))
    }

    /// Owner only: claims the private object to move it out (`EMPTY`); on `Claim::Hit`,
    /// follow with [`move_private`](Self::move_private).
    #[inline]
    pub(crate) fn claim_private(&self) -> Claim {
        self.private.claim(EMPTY)
    }

    /// Owner only, after a claim into `EMPTY` that stands: moves the private object into `out`.
    #[inline]
    pub(crate) fn move_private(&self, out: &mut MaybeUninit<T>) {
        self.private.move_out(out);
    }

    /// Owner only: claims the private object to lease it in place (`BUSY`), so that a
    /// `Pooled` guard can use it where it lies. While leased, `collect` skips the slot (the
    /// object is out of the pool) and the owner's own put/take go elsewhere.
    #[allow(dead_code)] // In-place lease: no caller at present (guards move objects out).
    #[inline]
    pub(crate) fn lease_private(&self) -> Claim {
        self.private.claim(BUSY)
    }

    /// Owner only, holding the collectors' lock, after a claim returned `Claim::Retired`:
    /// whether the claim stands (see `Private`).
    #[cold]
    pub(crate) fn settle_private(&self) -> bool {
        self.private.settle()
    }

    /// The leased private object; valid while the caller holds the lease.
    #[allow(dead_code)] // In-place lease: no caller at present (guards move objects out).
    #[inline]
    pub(crate) fn leased(&self) -> *mut T {
        self.private.leased()
    }

    /// Lease holder on the owner's thread: the object goes back into the private slot.
    #[allow(dead_code)] // In-place lease: no caller at present (guards move objects out).
    #[inline]
    pub(crate) fn return_lease(&self) {
        self.private.return_lease();
    }

    /// Lease holder, any thread: moves the object out, emptying the private slot.
    #[allow(dead_code)] // In-place lease: no caller at present (guards move objects out).
    pub(crate) fn end_lease(&self) -> T {
        self.private.end_lease()
    }

    /// Owner only: whether the private slot is free for `put_private`.
    #[inline]
    pub(crate) fn private_is_empty(&self) -> bool {
        self.private.is_empty()
    }

    /// Owner only, after `private_is_empty` returned `true`: the fast path of `put`.
    #[inline]
    pub(crate) fn put_private(&self, value: T) {
        self.private.put(value);
    }

    /// Owner only: brings the owner's view up to date with the pool's generation `now`. If
    /// `collect` took this cache's deque into the victim, the worker is detached and returned
    /// for the caller to drop outside the cell; the next push starts a fresh deque.
    fn sync_generation(
        own: &mut Own<T>,
        published: &Mutex<Published<T>>,
        now: u64,
    ) -> Option<Detached<T>> {
        if own.generation == now {
            return None;
        }
        own.generation = now;
        let mut published = published.lock();
        match &*published {
            // Published after the last collect passed this cache: still primary.
            Published::Live(_) | Published::None => None,
            Published::Taken { at, .. } => {
                let dead = now > *at;
                *published = Published::None;
                own.worker.take().map(|worker| Detached { worker, dead })
            }
        }
    }

    /// Owner only: the current deque, made (and published) on first use.
    fn worker<'w>(own: &'w mut Own<T>, published: &Mutex<Published<T>>) -> &'w Worker<T> {
        own.worker.get_or_insert_with(|| {
            let worker = Worker::new();
            // `sync_generation` just ran, so nothing here is `Taken`: `retire` only turns
            // `Live` into `Taken`, and there was no live deque.
            *published.lock() = Published::Live(worker.stealer());
            worker
        })
    }

    /// Owner only: pops from the owner's end of the deque (LIFO, Go's `popHead`) into `out`.
    #[inline]
    pub(crate) fn pop_shared(
        &self,
        generation: &AtomicU64,
        out: &mut MaybeUninit<T>,
    ) -> (bool, Option<Detached<T>>) {
        // Acquire pairs with collect's Release store of the new generation, which it makes after
        // marking our deque `Taken`; the mutex in `sync_generation` orders the rest.
        let now = generation.load(Acquire);
        self.own.with_mut(|own| {
            // SAFETY: `own` is only accessed by the slot's owner (us) and this closure does not
            // run user code, so no reentrant access can alias it.
            let own = unsafe { &mut *own };
            if own.generation != now {
                return self.pop_shared_new_generation(own, now, out);
            }
            (own.worker.as_ref().is_some_and(|w| w.pop_into(out)), None)
        })
    }

    #[cold]
    fn pop_shared_new_generation(
        &self,
        own: &mut Own<T>,
        now: u64,
        out: &mut MaybeUninit<T>,
    ) -> (bool, Option<Detached<T>>) {
        let detached = Self::sync_generation(own, &self.published, now);
        (
            own.worker.as_ref().is_some_and(|w| w.pop_into(out)),
            detached,
        )
    }

    /// Owner only: pushes onto the owner's end of the deque (Go's `pushHead`).
    ///
    /// No lock on the common path. The push may race `collect` taking the deque (`retire`):
    /// the worker and the taken `Stealer` share one chain, so the object is then in the
    /// victim. If it lands after that victim was drained, the deque is still marked `Taken`
    /// and every later collect drains it again (`retire` hands it back as stale), so an
    /// object is never stranded out of reach of collections (loom model
    /// `release::put_racing_two_collects_is_released`).
    #[inline]
    pub(crate) fn push_shared(&self, value: T, generation: &AtomicU64) -> Option<Detached<T>> {
        // Acquire: as in `pop_shared`.
        let now = generation.load(Acquire);
        self.own.with_mut(|own| {
            // SAFETY: as in `pop_shared`; `Worker::push` runs no user code.
            let own = unsafe { &mut *own };
            match &own.worker {
                Some(worker) if own.generation == now => {
                    worker.push(value);
                    None
                }
                _ => self.push_shared_slow(own, value, now),
            }
        })
    }

    /// `push_shared` when the generation moved or there is no deque yet.
    #[cold]
    fn push_shared_slow(&self, own: &mut Own<T>, value: T, now: u64) -> Option<Detached<T>> {
        let detached = Self::sync_generation(own, &self.published, now);
        Self::worker(own, &self.published).push(value);
        detached
    }

    /// Owner only, with an empty stash: steals about half of the oldest ring of another
    /// cache's deque `from` (at most `chain`'s `BATCH` objects), keeps the oldest for the caller
    /// and the rest in this cache's stash, so that a consumer fed by another thread's puts pays
    /// for one steal per batch, not per object. The flag is `true` if a collector retired the
    /// stash while it was being filled: the caller must settle it (`settle_stash(None, ..)`).
    pub(crate) fn steal_batch(&self, from: &Stealer<T>) -> Option<(T, bool)> {
        let stash = self.own_stash();
        let (value, kept) = from.steal_batch_into(stash.room())?;
        Some((value, kept > 0 && !stash.publish(kept)))
    }

    /// Any thread: a handle to this cache's deque for a thief, when the deque belongs to the
    /// primary generation: the live one, or a retired one whose victim is gone (`now > at`),
    /// where only a put that raced the collections can have left objects. Those are primary
    /// objects too (the put simply landed after the collect), and without this a thread that
    /// exits right after such a put would strand them until the next collect. A retired deque
    /// whose victim is still current is searched with the victim, not here. `now` is the pool's
    /// generation number. `Err(())` if the lock is busy (contended, retry).
    pub(crate) fn stealer(&self, now: u64) -> Result<Option<Stealer<T>>, ()> {
        let published = self.published.try_lock().ok_or(())?;
        Ok(Self::primary_deque(&published, now).cloned())
    }

    /// The published deque if it belongs to the primary generation (see `stealer`).
    fn primary_deque(published: &Published<T>, now: u64) -> Option<&Stealer<T>> {
        match published {
            Published::Live(stealer) => Some(stealer),
            Published::Taken { at, stealer } if now > *at => Some(stealer),
            _ => None,
        }
    }

    /// Any thread: whether this cache looks like it holds objects that only a raid reaches
    /// (its private object or its stash; racy, see `Inner::raid`).
    pub(crate) fn looks_raidable(&self) -> bool {
        self.private.looks_full() || self.stash_len() > 0
    }

    /// `collect` only, for the collection that creates generation `at`, after [`take_all`]
    /// took the private objects and stashes: moves this cache's published deque into the new
    /// victim in O(1), never waiting for the owner's fast path. Also returns the deque of an
    /// earlier collection if the victim that held it has since been dropped
    /// (`at > taken + 1`): anything in it now was pushed by a put that raced those
    /// collections, and the caller drops it.
    pub(crate) fn retire(&self, at: u64) -> Retired<T> {
        let mut published = self.published.lock();
        match &*published {
            Published::Live(stealer) => {
                let victim = stealer.clone();
                *published = Published::Taken {
                    at,
                    stealer: victim.clone(),
                };
                Retired {
                    victim: Some(victim),
                    stale: None,
                }
            }
            Published::Taken { at: taken, stealer } if taken + 1 < at => Retired {
                victim: None,
                stale: Some(stealer.clone()),
            },
            _ => Retired {
                victim: None,
                stale: None,
            },
        }
    }

    /// Diagnostic: (private slot full, objects in the deque if it is primary, see `stealer`,
    /// objects in the stash).
    pub(crate) fn snapshot(&self, now: u64) -> (bool, usize, usize) {
        let shared = Self::primary_deque(&self.published.lock(), now).map_or(0, Stealer::len);
        (self.private.looks_full(), shared, self.stash_len())
    }
}

/// `collect` (or a thief's raid), holding the collectors' lock: takes every private object and
/// everything every stash holds from `locals` into `sink`, the collector's half of the
/// asymmetric protocol (`Private`, and `stash.rs`'s module docs). Marks each retired, runs one
/// `sync::heavy_barrier` for all of them (none if there are none), then takes from each.
/// Owners that noticed settle under the lock, after us.
pub(crate) fn take_all<'a, T: 'a>(
    locals: impl IntoIterator<Item = &'a Local<T>>,
    mut sink: impl FnMut(T),
) {
    // Each stash as it was when retired: one made after that is not ours to take.
    let retired: Vec<(&Private<T>, Option<&Stash<T>>)> = locals
        .into_iter()
        .map(|local| {
            local.private.retire();
            let stash = local.stash().inspect(|stash| stash.retire());
            (&local.private, stash)
        })
        .collect();
    if retired.is_empty() {
        return;
    }
    sync::heavy_barrier();
    for (private, stash) in retired {
        if let Some(value) = private.take_retired() {
            sink(value);
        }
        if let Some(stash) = stash {
            stash.take_retired(&mut sink);
        }
    }
}

/// Pops and drops every object left in `worker`. If a `T::drop` panics, the rest are still
/// dropped before the panic propagates, and the objects stay countable on the way out.
fn drain_worker<T>(worker: &Worker<T>) {
    struct OnUnwind<'a, T>(&'a Worker<T>);
    impl<T> Drop for OnUnwind<'_, T> {
        fn drop(&mut self) {
            drain_worker(self.0);
        }
    }
    while let Some(value) = worker.pop() {
        let on_unwind = OnUnwind(worker);
        drop(value);
        std::mem::forget(on_unwind);
    }
}

/// Places in a stash: one steal's batch (less the object it returns), within about 8 KiB.
fn stash_capacity<T>() -> usize {
    let most = BATCH as usize - 1;
    match std::mem::size_of::<T>() {
        0 => most,
        size => (8192 / size).clamp(1, most),
    }
}

impl<T> Drop for Local<T> {
    fn drop(&mut self) {
        /// Frees the stash (and drops its objects) at the end of `drop`, also when a `T::drop`
        /// panics while the deque is drained.
        struct FreeStash<T>(*mut Stash<T>);
        impl<T> Drop for FreeStash<T> {
            fn drop(&mut self) {
                if !self.0.is_null() {
                    // SAFETY: from `Box::into_raw` in `own_stash`; the cache is being dropped,
                    // so nobody else reaches it.
                    drop(unsafe { Box::from_raw(self.0) });
                }
            }
        }
        // Relaxed: the cache is being dropped (`&mut self`), which orders every store before us.
        let _stash = FreeStash(self.stash.load(Relaxed));
        // The pool is being dropped: empty the deque here, not when its chain is freed. A
        // retired deque's chain is shared with victims that `collect` swapped out and handed
        // to crossbeam-epoch, and those may be reclaimed much later (or not before the process
        // exits): objects a racing put left in it would wait for them. `Chain::drop` alone
        // keeps going past a panicking `T::drop`, but only runs with the last handle.
        self.own.with(|own| {
            // SAFETY: `&mut self`: no other thread can reach this cache any more.
            if let Some(worker) = unsafe { &*own }.worker.as_ref() {
                drain_worker(worker);
            }
        });
    }
}

/// A pool's caches, one per thread slot, in power-of-two buckets allocated on first use
/// (bucket `b` holds slots `2^b - 1 ..= 2^(b+1) - 2`). A cache never moves or dies before the
/// pool, so `&Local` stays valid for the pool's lifetime.
pub(crate) struct Locals<T> {
    buckets: [sync::AtomicPtr<Local<T>>; sync::BUCKETS],
    /// One more than the highest bucket allocated: bounds the scans of thieves and `collect`.
    len: AtomicUsize,
    /// Unique to this set of caches (never reused, unlike its address): the key under which a
    /// thread remembers the cache it used last (`sync::tls::last_local`).
    key: u64,
}

#[inline]
fn bucket_of(slot: usize) -> (usize, usize) {
    let index = slot + 1;
    let bucket = (usize::BITS - 1 - index.leading_zeros()) as usize;
    (bucket, index - (1 << bucket))
}

impl<T> Locals<T> {
    pub(crate) fn new() -> Self {
        /// Keys handed out so far. A plain `std` atomic under loom too: a counter for
        /// uniqueness, not part of any protocol loom checks.
        static KEYS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Self {
            buckets: std::array::from_fn(|_| sync::AtomicPtr::new(std::ptr::null_mut())),
            len: AtomicUsize::new(0),
            // Relaxed: only uniqueness matters. 0 is never handed out (the empty memo's key).
            key: KEYS.fetch_add(1, Relaxed) + 1,
        }
    }

    /// The cache of `slot`, created on first use. A thread that uses one pool over and over
    /// finds it in one thread-local memo instead of computing the bucket and loading its
    /// pointer, which shortens the chain of dependent loads in front of every hot-path claim.
    #[inline]
    pub(crate) fn get(&self, slot: usize) -> &Local<T> {
        if let Some(local) = sync::tls::last_local(self.key, slot) {
            // SAFETY: memorised by `get_and_remember` for this `key`, which only this set of
            // caches has (so the type is `Local<T>`), and which is alive (we were called on it):
            // its caches live as long as it does.
            return unsafe { &*local.cast::<Local<T>>() };
        }
        self.get_and_remember(slot)
    }

    #[inline(never)]
    fn get_and_remember(&self, slot: usize) -> &Local<T> {
        let local = self.find(slot);
        sync::tls::set_last_local(self.key, slot, (local as *const Local<T>).cast());
        local
    }

    /// The cache of `slot`, created on first use, found through its bucket.
    #[inline]
    fn find(&self, slot: usize) -> &Local<T> {
        let (bucket, offset) = bucket_of(slot);
        // Acquire pairs with the Release CAS that published the bucket.
        let ptr = self.buckets[bucket].load(Acquire);
        if ptr.is_null() {
            return self.alloc_bucket(bucket, offset);
        }
        // SAFETY: a published bucket holds `1 << bucket` initialised caches and lives until
        // `self` is dropped; `offset < 1 << bucket`.
        unsafe { &*ptr.add(offset) }
    }

    #[cold]
    fn alloc_bucket(&self, bucket: usize, offset: usize) -> &Local<T> {
        assert!(
            bucket < sync::BUCKETS,
            "gcpool: thread slot out of range under this configuration"
        );
        let fresh: Box<[Local<T>]> = (0..1usize << bucket).map(|_| Local::new()).collect();
        let fresh = Box::into_raw(fresh) as *mut Local<T>;
        // AcqRel on success: publishes the initialised caches to every thread that loads the
        // bucket with `Acquire`. Acquire on failure: we use the winner's caches, so we need
        // its initialisation.
        let ptr = match self.buckets[bucket].compare_exchange(
            std::ptr::null_mut(),
            fresh,
            AcqRel,
            Acquire,
        ) {
            Ok(_) => {
                // AcqRel: `iter` loads `len` with `Acquire` and then every bucket below it.
                self.len.fetch_max(bucket + 1, AcqRel);
                fresh
            }
            Err(winner) => {
                // SAFETY: `fresh` came from `Box::into_raw` above with this length and was
                // never shared.
                drop(unsafe {
                    Box::from_raw(std::ptr::slice_from_raw_parts_mut(fresh, 1 << bucket))
                });
                winner
            }
        };
        // SAFETY: as in `get`.
        unsafe { &*ptr.add(offset) }
    }

    /// Every cache allocated so far, with its slot index, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &Local<T>)> {
        let len = self.len.load(Acquire);
        (0..len).flat_map(move |bucket| {
            let ptr = self.buckets[bucket].load(Acquire);
            let n = if ptr.is_null() { 0 } else { 1usize << bucket };
            (0..n).map(move |offset| {
                // SAFETY: as in `get`.
                ((1usize << bucket) - 1 + offset, unsafe {
                    &*ptr.add(offset)
                })
            })
        })
    }

    /// Caches of other slots, starting after `slot` and wrapping (Go's `getSlow` starts at
    /// `pid+1`), so that thieves spread over victims instead of all hitting slot 0.
    pub(crate) fn others(&self, slot: usize) -> impl Iterator<Item = &Local<T>> {
        let after = self.iter().filter(move |(s, _)| *s > slot);
        let before = self.iter().take_while(move |(s, _)| *s < slot);
        after.chain(before).map(|(_, local)| local)
    }
}

impl<T> Drop for Locals<T> {
    fn drop(&mut self) {
        // Collected first and dropped as one `Vec`, so that if a `T::drop` panics inside one
        // bucket, the remaining buckets (and the rest of that bucket's slice) are still
        // dropped while the panic propagates, as a `Vec` of objects would be.
        let buckets: Vec<Box<[Local<T>]>> = self
            .buckets
            .iter_mut()
            .enumerate()
            .filter_map(|(bucket, ptr)| {
                // (`&mut self` orders every store before us; Acquire costs nothing here.)
                let ptr = ptr.load(Acquire);
                // SAFETY: published buckets came from `Box::into_raw` of `1 << bucket` caches;
                // `&mut self` means no thread can still reach them.
                (!ptr.is_null()).then(|| unsafe {
                    Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, 1 << bucket))
                })
            })
            .collect();
        drop(buckets);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn collect(local: &Local<u32>) -> Vec<u32> {
        let mut taken = Vec::new();
        take_all([local], |v| taken.push(v));
        taken
    }

    fn put(local: &Local<u32>, value: u32) {
        assert!(local.private_is_empty());
        local.put_private(value);
    }

    /// The owner's claim into EMPTY, settled as `Inner::claimed` does (one thread: the lock
    /// adds nothing here).
    fn take(local: &Local<u32>) -> Option<u32> {
        let stands = match local.claim_private() {
            Claim::Hit => true,
            Claim::Miss => false,
            Claim::Retired => local.settle_private(),
        };
        stands.then(|| {
            let mut out = MaybeUninit::uninit();
            local.move_private(&mut out);
            // SAFETY: `move_private` wrote `out`.
            unsafe { out.assume_init() }
        })
    }

    #[test]
    fn a_claim_after_a_collect_took_the_object_settles_to_a_miss() {
        let local = Local::new();
        put(&local, 1);
        assert_eq!(collect(&local), [1]);
        assert_eq!(local.claim_private(), Claim::Retired);
        assert!(!local.settle_private(), "the collect took it");
        assert!(local.private_is_empty());
        put(&local, 2);
        assert_eq!(take(&local), Some(2));
    }

    #[test]
    fn a_collect_leaves_a_leased_object_and_its_owner_keeps_it() {
        let local = Local::new();
        put(&local, 1);
        assert_eq!(local.lease_private(), Claim::Hit);
        assert_eq!(collect(&local), [], "leased: out of the pool");
        local.return_lease();
        // The collect retired the slot; the owner's next claim settles and keeps the object.
        assert_eq!(local.claim_private(), Claim::Retired);
        assert!(local.settle_private());
        let mut out = MaybeUninit::uninit();
        local.move_private(&mut out);
        // SAFETY: `move_private` wrote `out`.
        assert_eq!(unsafe { out.assume_init() }, 1);
        assert_eq!(local.claim_private(), Claim::Miss);
    }

    #[test]
    fn a_taken_object_is_taken_once_and_its_slot_refills_after_the_settlement() {
        let local = Local::new();
        put(&local, 1);
        assert_eq!(collect(&local), [1]);
        assert_eq!(
            collect(&local),
            [],
            "a second collect must not take it again"
        );
        assert!(!local.private.looks_full());
        // The owner has not settled: its slot still says FULL, so its puts go elsewhere.
        assert!(!local.private_is_empty());
        assert_eq!(take(&local), None);
        put(&local, 2);
        assert_eq!(collect(&local), [2]);
    }

    #[test]
    fn dropping_the_cache_drops_a_private_object_once_and_a_taken_one_never() {
        use crate::testing::Counted;
        use std::sync::atomic::AtomicUsize;
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let taken = {
            let local = Local::new();
            local.put_private(Counted(&DROPS));
            let mut taken = Vec::new();
            take_all([&local], |v| taken.push(v));
            taken
        };
        assert_eq!(
            DROPS.load(Relaxed),
            0,
            "the cache dropped the object the collect took"
        );
        drop(taken);
        assert_eq!(DROPS.load(Relaxed), 1);
        drop({
            let local = Local::new();
            local.put_private(Counted(&DROPS));
            local
        });
        assert_eq!(DROPS.load(Relaxed), 2);
    }
}
