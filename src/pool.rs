//! The public pool, [`Pool`]: Go's `Get` and `Put` (`src/sync/pool.go`).
//!
//! The hot path is the calling thread's private slot (`cache/private.rs`): a `get` is one read
//! of a thread-local for the thread's slot, one load to find the pool's state, and a claim (a
//! load, a plain store, a compiler fence and a load); a `put` is a load and a store. No
//! read-modify-write, no shared cache line. Everything else, the slow path, is in
//! `pool/get_slow.rs`, as Go splits `Get` from `getSlow`: the home shard, one pass over the
//! other shards, one pass over the victim, and only then the factory.

use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

use crate::cache::cell::{Cell, CellPtr};
use crate::cache::counters::{add, Counters, Writer};
use crate::cache::private::{Claim, Private};
use crate::cache::shard::{self, Shard};
use crate::collect::{self, registry, registry::Collectable};
use crate::policy::Hooks;
use crate::pooled::{Held, Pooled};
use crate::stats::{ShardSnapshot, Snapshot, Stats};
use crate::thread_slot::{self, with_slot};
mod get_slow;

use crate::sync::{arc_from_std, heavy_barrier_is_global, maybe_const_fn, AtomicPtr, AtomicU64};

/// How a pool makes new objects.
enum Factory<T> {
    Fn(fn() -> T),
    Boxed(Box<dyn Fn() -> T + Send + Sync>),
}

impl<T> Factory<T> {
    fn call(&self) -> T {
        match self {
            Factory::Fn(f) => f(),
            Factory::Boxed(f) => f(),
        }
    }
}

/// A concurrent pool of reusable objects with Go's `sync.Pool` semantics.
///
/// Objects live in two generations. [`put`](Pool::put) stores into the *primary* generation
/// (the calling thread's private slot, else its shard); [`collect`](Pool::collect) turns the
/// primary into the *victim* and drops the previous victim. [`get`](Pool::get) searches the
/// calling thread's private slot and shard, then steals from the other shards, then takes from
/// the victim, and only then calls the factory.
///
/// **Retention is never guaranteed; release is.** Any object in the pool may be dropped at any
/// collection, and `get` may call the factory although objects exist elsewhere. But an object
/// that nobody takes is dropped by the second `collect` after its `put`, and dropping the pool
/// drops everything it holds. Objects come back in whatever state they were put in: reset them
/// before `put` (or configure a reset policy on a [`Builder`](crate::Builder)).
///
/// `Pool<T>` is `Send + Sync` when `T: Send`. Its constructor is `const`, so a pool can be a
/// `static`:
///
/// ```
/// use gcpool::Pool;
///
/// static BUFFERS: Pool<Vec<u8>> = Pool::new(Vec::new);
///
/// let mut buf = BUFFERS.get();          // a pooled buffer, or a new one
/// buf.extend_from_slice(b"hello");
/// assert_eq!(&buf[..], b"hello");
/// buf.clear();                          // reset before it goes back
/// drop(buf);                            // returns it to the pool
/// assert_eq!(BUFFERS.stats().puts, 1);
/// ```
pub struct Pool<T> {
    factory: Factory<T>,
    /// The pool's state, built on first use so that `new` can be `const`. It is owned by the
    /// registry's handle (`collect/registry.rs`), which `Pool::drop` removes.
    inner: AtomicPtr<Inner<T>>,
    /// `Pool<T>` is `Send + Sync` exactly when the state it owns is, that is when `T: Send`.
    _owns: PhantomData<Inner<T>>,
}

/// The state shared by a pool and the registry.
pub(crate) struct Inner<T> {
    /// One per slot `0..shard::private_slots()` (Go: `poolLocal.private`).
    privates: Box<[Private<T>]>,
    /// One per CPU, a power of two (Go: `poolLocal.shared`, of both generations).
    shards: Box<[Shard<T>]>,
    hooks: Option<Box<dyn Hooks<T>>>,
    /// Whether the heavy barrier reaches every thread (owners then need only a compiler fence).
    global: bool,
    /// Objects dropped by `collect` and `clear`, and their capacity bytes.
    collected: AtomicU64,
    collected_bytes: AtomicU64,
    /// Calls to `collect`.
    collections: AtomicU64,
    /// The id under which the pool is registered.
    id: AtomicU64,
}

impl<T: Send + 'static> Pool<T> {
    maybe_const_fn! {
        /// Creates a pool whose factory is a plain function. `const`, so the pool can be a
        /// `static`; its state is built on first use.
        ///
        /// ```
        /// # use gcpool::Pool;
        /// static POOL: Pool<String> = Pool::new(String::new);
        /// assert!(POOL.try_take().is_none());
        /// ```
        pub const fn new(factory: fn() -> T) -> Self {
            Self { factory: Factory::Fn(factory), inner: AtomicPtr::new(std::ptr::null_mut()), _owns: PhantomData }
        }
    }

    /// Creates a pool whose factory is any closure.
    ///
    /// The factory runs outside every internal critical section: it may be slow, use this
    /// same pool, or panic (the panic propagates from [`get`](Pool::get)/[`take`](Pool::take)
    /// and the pool stays usable).
    ///
    /// ```
    /// # use gcpool::Pool;
    /// let pool = Pool::with_factory(|| Vec::<u8>::with_capacity(1024));
    /// assert_eq!(pool.get().capacity(), 1024);
    /// ```
    pub fn with_factory(factory: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self {
            factory: Factory::Boxed(Box::new(factory)),
            inner: AtomicPtr::new(std::ptr::null_mut()),
            _owns: PhantomData,
        }
    }

    /// Builds a pool with a put-time policy (see [`Builder`](crate::Builder)).
    pub(crate) fn from_parts(
        factory: Box<dyn Fn() -> T + Send + Sync>,
        hooks: Option<Box<dyn Hooks<T>>>,
    ) -> Self {
        let pool = Self {
            factory: Factory::Boxed(factory),
            inner: AtomicPtr::new(std::ptr::null_mut()),
            _owns: PhantomData,
        };
        pool.init(hooks);
        pool
    }

    /// The pool's state, built and registered on first use (Go: `pinSlow`).
    #[inline]
    fn inner(&self) -> &Inner<T> {
        // Acquire pairs with the AcqRel CAS in `init`.
        let ptr = self.inner.load(Acquire);
        if ptr.is_null() {
            return self.init(None);
        }
        // SAFETY: a non-null pointer points into the registry's handle, which `init` created
        // and only `Pool::drop` (which needs `&mut self`) removes.
        unsafe { &*ptr }
    }

    #[cold]
    fn init(&self, hooks: Option<Box<dyn Hooks<T>>>) -> &Inner<T> {
        let fresh = std::sync::Arc::new(Inner {
            privates: (0..shard::private_slots())
                .map(|_| Private::new())
                .collect(),
            shards: (0..shard::shards()).map(|_| Shard::new()).collect(),
            hooks,
            global: heavy_barrier_is_global(),
            collected: AtomicU64::new(0),
            collected_bytes: AtomicU64::new(0),
            collections: AtomicU64::new(0),
            id: AtomicU64::new(u64::MAX),
        });
        let raw = std::sync::Arc::as_ptr(&fresh) as *mut Inner<T>;
        // AcqRel on success: publishes the initialised `Inner` to `inner()`'s Acquire load.
        // Acquire on failure: we then use the winner's `Inner`.
        match self
            .inner
            .compare_exchange(std::ptr::null_mut(), raw, AcqRel, Acquire)
        {
            Ok(_) => {
                let handle: std::sync::Arc<dyn Collectable> = fresh;
                let id = registry::register(arc_from_std(handle));
                // Relaxed: read only by `Pool::drop`, which `&mut self` orders after this.
                // SAFETY: `raw` is kept alive by the handle just registered.
                unsafe { &*raw }.id.store(id as u64, Relaxed);
                // SAFETY: as above; valid until `Pool::drop` unregisters it.
                unsafe { &*raw }
            }
            Err(winner) => {
                drop(fresh);
                // SAFETY: as in `inner`.
                unsafe { &*winner }
            }
        }
    }

    /// Takes an object from the pool, or makes one with the factory, wrapped in a guard that
    /// puts it back when dropped.
    ///
    /// ```
    /// # use gcpool::Pool;
    /// let pool: Pool<Vec<u32>> = Pool::default();
    /// {
    ///     let mut v = pool.get();
    ///     v.push(7);
    ///     v.clear();
    /// } // back in the pool
    /// assert_eq!(pool.stats().created, 1);
    /// let _again = pool.get();
    /// assert_eq!(pool.stats().hits, 1);
    /// ```
    #[inline]
    pub fn get(&self) -> Pooled<'_, T> {
        Pooled::new(self, self.get_held())
    }

    /// Like [`get`](Pool::get), but never calls the factory: `None` if the pool looks empty
    /// (Go's `Get` with `New == nil`).
    #[inline]
    pub fn try_get(&self) -> Option<Pooled<'_, T>> {
        self.try_get_held().map(|held| Pooled::new(self, held))
    }

    /// The hot path's claim, shared by `get`, `take` and their `try_` forms: the calling
    /// thread's private slot if it applies (`Inner::hot`) and the claim hit (counted), else
    /// what the claim found, if one ran, for `take_cold`.
    #[inline(always)]
    fn claim_hot(&self) -> Result<&Private<T>, Option<Claim>> {
        let inner = self.inner();
        let Some(private) = inner.hot(thread_slot::slot()) else {
            return Err(None);
        };
        match private.claim(inner.global) {
            Claim::Hit => {
                add(Writer::Sole, &private.counters.hits, 1);
                Ok(private)
            }
            claim => Err(Some(claim)),
        }
    }

    /// What a guard holds: on the hot path the private slot's cell with the object in it (a
    /// lease: the object does not move), else the object itself.
    #[inline(always)]
    pub(crate) fn get_held(&self) -> Held<T> {
        match self.claim_hot() {
            Ok(private) => Held::Cell(private.lease_claimed()),
            Err(claim) => Held::value(self.take_cold(claim).unwrap_or_else(|| self.create())),
        }
    }

    /// `get_held` that never calls the factory.
    #[inline]
    pub(crate) fn try_get_held(&self) -> Option<Held<T>> {
        match self.claim_hot() {
            Ok(private) => Some(Held::Cell(private.lease_claimed())),
            Err(claim) => self.take_cold(claim).map(Held::value),
        }
    }

    /// The calling thread's private slot if the hot path applies and the slot is empty: the
    /// put into it is counted, and the caller must make it.
    #[inline(always)]
    fn empty_private_for_put(&self) -> Option<&Private<T>> {
        let private = self.inner().hot(thread_slot::slot())?;
        if !private.is_empty() {
            return None;
        }
        add(Writer::Sole, &private.counters.puts, 1);
        Some(private)
    }

    /// A guard's drop, the hot case: gives a leased cell, with its object, back to the calling
    /// thread's private slot if that slot is empty and has no cell (any thread's slot takes any
    /// cell of this pool). `false`: the caller still owns the cell (`put_cell`).
    #[inline(always)]
    pub(crate) fn return_cell_hot(&self, cell: CellPtr<T>) -> bool {
        let inner = self.inner();
        if let Some(private) = inner.hot(thread_slot::slot()) {
            if private.install_cell(cell) {
                add(Writer::Sole, &private.counters.puts, 1);
                return true;
            }
        }
        false
    }

    /// A guard's drop after `return_cell_hot` declined the cell: the calling thread's private
    /// slot takes it if it is empty, else the object is put the ordinary way and the cell kept
    /// or freed.
    pub(crate) fn put_cell(&self, cell: CellPtr<T>) {
        let inner = self.inner();
        if let Some(private) = inner.hot(thread_slot::slot()) {
            match private.return_cell(cell) {
                None => add(Writer::Sole, &private.counters.puts, 1),
                Some(value) => self.put_cold(value),
            }
            return;
        }
        self.put_cell_cold(cell);
    }

    /// `put_cell` on a thread without a private slot: moves the object out of the cell, frees
    /// the cell, and puts the object.
    #[cold]
    #[inline(never)]
    fn put_cell_cold(&self, cell: CellPtr<T>) {
        // SAFETY: the guard owned the cell and its object, and gives both up.
        let value = unsafe { Cell::read(cell) };
        // SAFETY: as above; the cell is empty now.
        unsafe { Cell::free(cell) };
        self.put_cold(value);
    }

    /// Takes an object from the pool, or makes one with the factory. The caller owns it:
    /// nothing returns it to the pool unless the caller [`put`](Pool::put)s it.
    #[inline]
    pub fn take(&self) -> T {
        match self.claim_hot() {
            Ok(private) => private.take_claimed(),
            Err(claim) => self.take_cold(claim).unwrap_or_else(|| self.create()),
        }
    }

    /// `take` and `try_take` past their hot path (`claim`: what the hot path's claim found).
    #[inline(never)]
    fn take_cold(&self, claim: Option<Claim>) -> Option<T> {
        let inner = self.inner();
        let mut out = MaybeUninit::uninit();
        // SAFETY: `take_after` initialised `out` when it returned `true`.
        with_slot(|slot| inner.take_after(slot, claim, &mut out))
            .then(|| unsafe { out.assume_init() })
    }

    /// Takes an object from the pool without ever calling the factory.
    ///
    /// Searches the calling thread's private slot, its home shard, the other shards, then the
    /// victim generation: one pass, in which a shard that another thread holds counts as
    /// empty. So `None` does not prove the pool is empty: an object being put concurrently,
    /// one in a busy shard, or one in another thread's private slot, may be missed.
    ///
    /// ```
    /// # use gcpool::Pool;
    /// let pool = Pool::new(|| 0u32);
    /// pool.put(1);
    /// pool.put(2);
    /// let mut got = vec![pool.try_take().unwrap(), pool.try_take().unwrap()];
    /// got.sort();
    /// assert_eq!(got, [1, 2]);
    /// assert_eq!(pool.try_take(), None);
    /// ```
    #[inline]
    pub fn try_take(&self) -> Option<T> {
        match self.claim_hot() {
            Ok(private) => Some(private.take_claimed()),
            Err(claim) => self.take_cold(claim),
        }
    }

    /// Makes a new object; the factory runs outside every critical section.
    #[cold]
    fn create(&self) -> T {
        let mut value = self.factory.call();
        let inner = self.inner();
        if let Some(hooks) = &inner.hooks {
            hooks.on_create(&mut value);
        }
        with_slot(|slot| {
            let (writer, counters) = inner.counters(slot);
            add(writer, &counters.created, 1);
        });
        value
    }

    /// Puts an object into the primary generation (never the victim). Never fails; the object
    /// may be dropped at any later collection (or right away, by a policy configured on a
    /// [`Builder`](crate::Builder)). It waits only if every shard's lock is held at once, for
    /// the length of another thread's push or pop.
    #[inline]
    pub fn put(&self, value: T) {
        match self.empty_private_for_put() {
            Some(private) => private.put(value),
            None => self.put_cold(value),
        }
    }

    /// `put` of the object at `src`, copied memory to memory into the private slot's cell on
    /// the hot path (the drop of a guard that holds a moved-out object, `Held::Value`).
    ///
    /// # Safety
    ///
    /// `src` points to an initialised `T` that the caller will neither use nor drop again.
    #[inline]
    pub(crate) unsafe fn put_from(&self, src: *const T) {
        match self.empty_private_for_put() {
            // SAFETY: our caller's contract.
            Some(private) => unsafe { private.put_from(src) },
            // SAFETY: our caller's contract: the value is moved out once.
            None => self.put_cold(unsafe { std::ptr::read(src) }),
        }
    }

    /// `put` past its hot path.
    #[inline(never)]
    fn put_cold(&self, value: T) {
        let inner = self.inner();
        with_slot(|slot| inner.put_after(slot, value));
    }

    /// One collection cycle, standing in for a run of Go's garbage collector: drops every
    /// object in the victim generation, then makes the primary generation the new victim.
    ///
    /// Concurrent `get`/`put` keep running: the part they can observe takes each shard's lock
    /// once, and each private slot is reached behind one process-wide barrier; dropping
    /// objects happens afterwards, on the calling thread, outside every lock. When `collect`
    /// returns with no other operation in flight, every object put before the previous
    /// `collect` and not taken since has been dropped.
    ///
    /// ```
    /// # use gcpool::Pool;
    /// let pool = Pool::new(|| 0u8);
    /// pool.put(1);
    /// pool.collect();                       // 1 is now in the victim
    /// assert_eq!(pool.try_take(), Some(1)); // still served, from the victim
    /// pool.put(1);                          // goes to the primary again
    /// pool.collect();
    /// pool.collect();                       // two collections without use: dropped
    /// assert_eq!(pool.try_take(), None);
    /// assert_eq!(pool.stats().collected, 1);
    /// ```
    ///
    /// # Panics
    ///
    /// If a dropped object's `Drop` panics, the remaining objects are still dropped and the
    /// panic propagates; the pool stays usable.
    pub fn collect(&self) {
        collect::collect_one(self.inner(), false);
    }

    /// Drops every object the pool holds, in both generations, now. Not counted in
    /// [`Stats::collections`]; the objects are counted in [`Stats::collected`].
    pub fn clear(&self) {
        collect::collect_one(self.inner(), true);
    }

    /// Counters summed over every private slot and shard. Exact when no operation is in
    /// flight; approximate (but never torn) otherwise.
    pub fn stats(&self) -> Stats {
        // Acquire: as in `inner`.
        let ptr = self.inner.load(Acquire);
        if ptr.is_null() {
            return Stats::default();
        }
        // SAFETY: as in `inner`.
        unsafe { &*ptr }.stats()
    }

    /// A diagnostic picture of where the pool's objects are: the private slots, each shard's
    /// primary and victim lists. For teaching and debugging, not for control flow: concurrent
    /// operations change it while it is taken.
    pub fn snapshot(&self) -> Snapshot {
        // Acquire: as in `inner`.
        let ptr = self.inner.load(Acquire);
        if ptr.is_null() {
            return Snapshot::default();
        }
        // SAFETY: as in `inner`.
        let inner = unsafe { &*ptr };
        let slot = Some(with_slot(|slot| slot));
        let mask = inner.shards.len() - 1;
        let mut shards: Vec<ShardSnapshot> = inner
            .shards
            .iter()
            .enumerate()
            .map(|(i, shard)| {
                let (shared, victim) = shard.lens();
                ShardSnapshot {
                    shard: i,
                    private: 0,
                    shared,
                    victim,
                    home: slot.map(|s| s & mask) == Some(i),
                }
            })
            .collect();
        for (s, private) in inner.privates.iter().enumerate() {
            shards[s & mask].private += usize::from(private.looks_full());
        }
        let private = shards.iter().map(|s| s.private).sum::<usize>();
        Snapshot {
            own_private: slot
                .and_then(|s| inner.privates.get(s))
                .map(Private::looks_full),
            private,
            primary: private + shards.iter().map(|s| s.shared).sum::<usize>(),
            victim: shards.iter().map(|s| s.victim).sum(),
            shards,
        }
    }
}

impl<T: Send> Inner<T> {
    /// Where slot `slot` counts: its private slot's counters (sole writer) or its home shard's.
    #[inline]
    fn counters(&self, slot: usize) -> (Writer, &Counters) {
        match self.privates.get(slot) {
            Some(private) => (Writer::Sole, &private.counters),
            None => (Writer::Shared, &self.shards[self.home(slot)].counters),
        }
    }

    /// The home shard of slot `slot`. A thread that owns a private slot is homed by its slot,
    /// so that its order is Go's whatever CPU it runs on (its last-generation private object is
    /// at the front of that shard's victim). A thread without one, which exists only when more
    /// threads than twice the CPUs use the pool, is homed by the CPU it runs on now, as Go's P
    /// is: threads running at the same moment then use different shards, and only a preempted
    /// lock holder can make a shard look busy.
    #[inline]
    fn home(&self, slot: usize) -> usize {
        let mask = self.shards.len() - 1;
        if slot < self.privates.len() {
            slot & mask
        } else {
            crate::sync::current_cpu().unwrap_or(slot) & mask
        }
    }

    /// The calling thread's private slot, if the fast path applies: the pool has no put-time
    /// policy and `slot` (`NO_SLOT` if the thread has none yet) owns a private slot. The hot
    /// paths built on it (`Pool::claim_hot`, `Pool::empty_private_for_put`, the guards'
    /// `return_cell_hot`) are inlined into the caller; everything else is out of line, as Go
    /// splits `getSlow` from `Get`.
    #[inline]
    fn hot(&self, slot: usize) -> Option<&Private<T>> {
        match self.hooks {
            None => self.privates.get(slot),
            Some(_) => None,
        }
    }

    fn stats(&self) -> Stats {
        // Relaxed loads throughout: statistics, read without ordering against the operations
        // that count them (hence "approximate while operations are in flight").
        let mut s = Stats::default();
        let (mut bytes_in, mut bytes_out) = (0u64, 0u64);
        let counters = self
            .privates
            .iter()
            .map(|p| &p.counters)
            .chain(self.shards.iter().map(|s| &*s.counters));
        for c in counters {
            s.created += c.created.load(Relaxed);
            s.hits += c.hits.load(Relaxed);
            s.victim_hits += c.victim_hits.load(Relaxed);
            s.puts += c.puts.load(Relaxed);
            s.rejected += c.rejected.load(Relaxed);
            s.shrunk += c.shrunk.load(Relaxed);
            bytes_in += c.bytes_in.load(Relaxed);
            bytes_out += c.bytes_out.load(Relaxed);
        }
        s.collected = self.collected.load(Relaxed);
        s.collections = self.collections.load(Relaxed);
        let held = s
            .puts
            .saturating_sub(s.rejected)
            .saturating_sub(s.hits)
            .saturating_sub(s.collected);
        s.retained = usize::try_from(held).unwrap_or(usize::MAX);
        s.retained_bytes = usize::try_from(
            bytes_in
                .saturating_sub(bytes_out)
                .saturating_sub(self.collected_bytes.load(Relaxed)),
        )
        .unwrap_or(usize::MAX);
        s
    }
}

impl<T> Inner<T> {
    /// Drops `objects` (a generation that a collection retired), counting each. If a
    /// `T::drop` panics, the rest are still dropped before the panic propagates (as a `Vec`'s
    /// drop does; a second panic aborts, as it would there).
    fn drop_all(&self, objects: &mut std::collections::VecDeque<T>) {
        struct OnUnwind<'a, T>(&'a Inner<T>, &'a mut std::collections::VecDeque<T>);
        impl<T> Drop for OnUnwind<'_, T> {
            fn drop(&mut self) {
                self.0.drop_all(self.1);
            }
        }
        while let Some(value) = objects.pop_front() {
            // Counted before the drop runs, so a panicking drop is still counted, once.
            // Relaxed: statistics, read exactly only when quiescent.
            self.collected.fetch_add(1, Relaxed);
            if let Some(hooks) = &self.hooks {
                self.collected_bytes
                    .fetch_add(hooks.on_leave(&value) as u64, Relaxed);
            }
            let on_unwind = OnUnwind(self, &mut *objects);
            drop(value);
            std::mem::forget(on_unwind);
        }
    }
}

impl<T: Send> Collectable for Inner<T> {
    fn retire(&self) -> usize {
        self.privates.iter().filter(|p| p.retire()).count()
    }

    fn swap(&self, clear: bool) -> bool {
        if !clear {
            // Relaxed: a statistic.
            self.collections.fetch_add(1, Relaxed);
        }
        let n = self.shards.len();
        let mut dying = false;
        for (i, shard) in self.shards.iter().enumerate() {
            // The private objects of the slots homed at shard `i`, not yet claimed.
            let mut homed = self.privates.iter().skip(i).step_by(n);
            let mut first = homed.by_ref().find_map(Private::take_retired);
            // An idle shard costs two loads: no lock, no write.
            if first.is_none() && shard.looks_empty() {
                continue;
            }
            dying |= shard.swap(clear, || {
                first
                    .take()
                    .or_else(|| homed.by_ref().find_map(Private::take_retired))
            });
        }
        dying
    }

    fn drain(&self) {
        for shard in self.shards.iter() {
            let mut dying = shard.take_dying();
            if dying.capacity() > 0 {
                self.drop_all(&mut dying);
                shard.give_back(dying);
            }
        }
    }

    fn hand_over(&self, slot: usize) {
        let Some(private) = self.privates.get(slot) else {
            return;
        };
        if Self::stands(private, private.claim(self.global)) {
            self.shards[self.home(slot)].push(private.take_claimed());
        }
    }
}

impl<T> Drop for Pool<T> {
    fn drop(&mut self) {
        let ptr = self.inner.load(Acquire);
        if ptr.is_null() {
            return;
        }
        // Relaxed: `&mut self` orders `init`'s store of `id` before us.
        // SAFETY: as in `inner`; the registry's handle is still there.
        let id = unsafe { &*ptr }.id.load(Relaxed);
        // Stop `collect_all` from visiting the pool, and drop the registry's handle: a run
        // already in progress holds its own, and the last handle to go drops every object the
        // pool still holds.
        registry::unregister(id as usize);
    }
}

// The pool's state stays consistent across a panic: no user code (factory, `Drop`, policy)
// runs while one of its locks is held or a slot is half-updated, and its mutexes ignore
// poisoning. So a `&Pool` may cross `catch_unwind` without `AssertUnwindSafe`.
impl<T> std::panic::RefUnwindSafe for Pool<T> {}
impl<T> std::panic::UnwindSafe for Pool<T> {}

impl<T: Default + Send + 'static> Default for Pool<T> {
    /// A pool whose factory is `T::default`.
    fn default() -> Self {
        Self::new(T::default)
    }
}

impl<T: Send + 'static> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;

    /// An object that fails loudly if handed to two holders or dropped twice.
    struct Token {
        in_use: AtomicBool,
        dropped: Arc<AtomicUsize>,
    }

    impl Drop for Token {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn concurrent_get_put_collect_loses_nothing() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let created = Arc::new(AtomicUsize::new(0));
        let pool = {
            let (dropped, created) = (dropped.clone(), created.clone());
            Arc::new(Pool::with_factory(move || {
                created.fetch_add(1, SeqCst);
                Token {
                    in_use: AtomicBool::new(false),
                    dropped: dropped.clone(),
                }
            }))
        };
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    for i in 0..if cfg!(miri) { 200 } else { 20_000 } {
                        if t == 0 && i % 100 == 0 {
                            pool.collect();
                        }
                        let a = pool.get();
                        let b = pool.get();
                        assert!(!a.in_use.swap(true, SeqCst), "double hand-out");
                        assert!(!b.in_use.swap(true, SeqCst), "double hand-out");
                        a.in_use.store(false, SeqCst);
                        b.in_use.store(false, SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let stats = pool.stats();
        assert_eq!(stats.created as usize, created.load(SeqCst));
        assert_eq!(stats.retained + dropped.load(SeqCst), created.load(SeqCst));
        pool.collect();
        pool.collect();
        assert_eq!(pool.stats().retained, 0);
        assert_eq!(dropped.load(SeqCst), created.load(SeqCst));
    }

    /// Get and put never run a process-wide barrier, on any path (hits, misses, steals, the
    /// victim, a guard dropped on another thread); only `collect` does, one per call.
    #[test]
    fn get_and_put_never_run_a_heavy_barrier() {
        use crate::sync::heavy_barriers;
        let pool = Arc::new(Pool::new(|| vec![0u8; 16]));
        let before = heavy_barriers();
        for _ in 0..1000 {
            let a = pool.get();
            let b = pool.get(); // a miss past the private slot: the shards, then the factory
            drop((a, b));
            let v = pool.take();
            pool.put(v);
        }
        let guard = pool.get_owned();
        let other = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let before = heavy_barriers();
                drop(guard); // returned on another thread
                let stolen = pool.try_take(); // steals from this thread's shard
                drop(stolen);
                heavy_barriers() - before
            })
        };
        assert_eq!(
            other.join().unwrap(),
            0,
            "a get or put on the other thread ran one"
        );
        assert_eq!(heavy_barriers(), before, "a get or put ran a heavy barrier");
        pool.put(vec![1]);
        pool.collect();
        assert_eq!(heavy_barriers(), before + 1, "collect runs exactly one");
        assert_eq!(pool.take(), vec![1], "a victim hit, without a barrier");
        assert_eq!(heavy_barriers(), before + 1);
    }

    #[test]
    fn dropping_the_pool_drops_everything() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let pool = Pool::new(|| 0);
        let objects = Pool::with_factory({
            let dropped = dropped.clone();
            move || Token {
                in_use: AtomicBool::new(false),
                dropped: dropped.clone(),
            }
        });
        let held: Vec<_> = (0..10).map(|_| objects.take()).collect();
        for t in held {
            objects.put(t);
        }
        objects.collect();
        drop(objects);
        assert_eq!(dropped.load(SeqCst), 10);
        pool.put(1);
    }
}
