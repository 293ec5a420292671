//! The public pool: [`Pool`] and its guard [`Pooled`].
//!
//! The hot path is [`Inner::take`] and [`Inner::put`]: one thread-local read for the thread's
//! slot, one load to find its cache, and the cache's private slot (to take, a load, a plain
//! store, a compiler fence and a load; to put, a load and a store: no read-modify-write).
//! Everything else (the thread's own deque, stealing, the victim, the factory) is the slow
//! path, split into separate functions as Go splits `Get` from `getSlow`.

use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

use crate::generation::Generations;
use crate::local::{self, bump, Claim, Detached, Local, Locals};
use crate::policy::{Hooks, Verdict};
use crate::pooled::Pooled;
use crate::registry::{self, with_slot, Collectable};
use crate::stash::Pop;
use crate::stats::{CacheSnapshot, Snapshot, Stats};
use crate::sync::{maybe_const_fn, spin_loop, Arc, AtomicPtr, AtomicU64};

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
/// (the calling thread's cache); [`collect`](Pool::collect) turns the primary into the
/// *victim* and drops the previous victim. [`get`](Pool::get) searches the calling thread's
/// cache, then steals from other threads' caches, then takes from the victim, and only then
/// calls the factory.
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
    /// The pool's state, built on first use so that `new` can be `const`. A pointer from
    /// `Arc::into_raw`; the registry holds a second handle for `collect_all`.
    inner: AtomicPtr<Inner<T>>,
    /// `Pool<T>` is `Send + Sync` exactly when the state it owns is, that is when `T: Send`.
    _owns: PhantomData<Arc<Inner<T>>>,
}

/// The state shared by a pool and the registry.
pub(crate) struct Inner<T> {
    locals: Locals<T>,
    generations: Generations<T>,
    hooks: Option<Box<dyn Hooks<T>>>,
    /// The id under which the pool is registered for `collect_all`.
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
        // SAFETY: a non-null pointer came from `Arc::into_raw` in `init` and stays valid until
        // `Pool::drop`, which needs `&mut self`.
        unsafe { &*ptr }
    }

    #[cold]
    fn init(&self, hooks: Option<Box<dyn Hooks<T>>>) -> &Inner<T> {
        let fresh = Arc::new(Inner {
            locals: Locals::new(),
            generations: Generations::new(),
            hooks,
            id: AtomicU64::new(u64::MAX),
        });
        let raw = Arc::into_raw(fresh.clone()) as *mut Inner<T>;
        // AcqRel on success: publishes the initialised `Inner` to `inner()`'s Acquire load.
        // Acquire on failure: we then use the winner's `Inner`.
        match self
            .inner
            .compare_exchange(std::ptr::null_mut(), raw, AcqRel, Acquire)
        {
            Ok(_) => {
                // Relaxed: read only by `Pool::drop`, which `&mut self` orders after this.
                fresh
                    .id
                    .store(registry::register(Box::new(fresh.clone())), Relaxed);
                // SAFETY: just published; valid until `Pool::drop`.
                unsafe { &*raw }
            }
            Err(winner) => {
                // SAFETY: `raw` came from `Arc::into_raw` above and was never shared.
                drop(unsafe { Arc::from_raw(raw) });
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
        Pooled::new(self, self.take())
    }

    /// Like [`get`](Pool::get), but never calls the factory: `None` if the pool looks empty
    /// (Go's `Get` with `New == nil`).
    #[inline]
    pub fn try_get(&self) -> Option<Pooled<'_, T>> {
        self.try_take().map(|value| Pooled::new(self, value))
    }

    /// Takes an object from the pool, or makes one with the factory. The caller owns it:
    /// nothing returns it to the pool unless the caller [`put`](Pool::put)s it.
    #[inline]
    pub fn take(&self) -> T {
        let inner = self.inner();
        let mut out = MaybeUninit::uninit();
        if with_slot(|slot| inner.take(slot, &mut out)) {
            // SAFETY: `take` initialised `out` when it returned `true`.
            unsafe { out.assume_init() }
        } else {
            self.create()
        }
    }

    /// Takes an object from the pool without ever calling the factory.
    ///
    /// Searches the calling thread's cache, then other threads' caches, then the victim
    /// generation. `None` does not prove the pool is empty: an object being put concurrently,
    /// or one moved by a concurrent `collect`, may be missed.
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
        let inner = self.inner();
        let mut out = MaybeUninit::uninit();
        // SAFETY: `take` initialised `out` when it returned `true`.
        with_slot(|slot| inner.take(slot, &mut out)).then(|| unsafe { out.assume_init() })
    }

    /// Makes a new object; the factory runs outside every critical section.
    #[cold]
    fn create(&self) -> T {
        let mut value = self.factory.call();
        let inner = self.inner();
        if let Some(hooks) = &inner.hooks {
            hooks.on_create(&mut value);
        }
        with_slot(|slot| bump(&inner.locals.get(slot).counters.created, 1));
        value
    }

    /// Puts an object into the primary generation (never the victim). Never blocks, never
    /// fails; the object may be dropped at any later collection (or right away, by a
    /// policy configured on a [`Builder`](crate::Builder)).
    #[inline]
    pub fn put(&self, value: T) {
        let inner = self.inner();
        with_slot(|slot| inner.put(slot, value));
    }

    /// One collection cycle, standing in for a run of Go's garbage collector: drops every
    /// object in the victim generation, then makes the primary generation the new victim.
    ///
    /// Concurrent `get`/`put` keep running: the part they can observe touches each thread's
    /// cache once (O(threads)); dropping objects happens afterwards, on the calling thread,
    /// outside every lock. When `collect` returns with no other operation in flight, every
    /// object put before the previous `collect` and not taken since has been dropped.
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
        self.inner().collect();
    }

    /// Drops every object the pool holds, in both generations, now. Not counted in
    /// [`Stats::collections`]; the objects are counted in [`Stats::collected`].
    pub fn clear(&self) {
        let inner = self.inner();
        inner
            .generations
            .clear(&inner.locals, inner.hooks.as_deref());
    }

    /// Counters summed over every thread's cache. Exact when no operation is in flight;
    /// approximate (but never torn) otherwise.
    pub fn stats(&self) -> Stats {
        // Acquire: as in `inner`.
        let ptr = self.inner.load(Acquire);
        if ptr.is_null() {
            return Stats::default();
        }
        // SAFETY: as in `inner`.
        unsafe { &*ptr }.stats()
    }

    /// A diagnostic picture of where the pool's objects are: each thread cache's private slot
    /// and deque, and the victim generation. For teaching and debugging, not for control flow:
    /// concurrent operations change it while it is taken.
    pub fn snapshot(&self) -> Snapshot {
        // Acquire: as in `inner`.
        let ptr = self.inner.load(Acquire);
        if ptr.is_null() {
            return Snapshot::default();
        }
        // SAFETY: as in `inner`.
        let inner = unsafe { &*ptr };
        let current = registry::current_slot();
        // Acquire: as in `Local::pop_shared`.
        let now = inner.generations.number().load(Acquire);
        let caches: Vec<CacheSnapshot> = inner
            .locals
            .iter()
            .map(|(slot, local)| {
                let (private, shared, stashed) = local.snapshot(now);
                CacheSnapshot {
                    slot,
                    private,
                    shared,
                    stashed,
                    current: current == Some(slot),
                }
            })
            .collect();
        let primary = caches
            .iter()
            .map(|c| usize::from(c.private) + c.shared + c.stashed)
            .sum();
        Snapshot {
            caches,
            primary,
            victim: inner.generations.victim_len(),
        }
    }
}

impl<T> Inner<T> {
    /// Takes an object for the calling thread (slot `slot`) into `out`, initialised when this
    /// returns `true`. The object is moved once, from where it lay to `out`: returning it
    /// through the layers below as `Option<T>` made the compiler copy it piecewise and reload
    /// it whole, a store-forwarding stall on every take.
    #[inline]
    fn take(&self, slot: usize, out: &mut MaybeUninit<T>) -> bool {
        let local = self.locals.get(slot);
        if self.claimed(local, local.claim_private()) {
            local.move_private(out);
        } else if !self.take_slow(slot, local, out) {
            return false;
        }
        bump(&local.counters.hits, 1);
        if let Some(hooks) = &self.hooks {
            Self::measure_out(hooks.as_ref(), local, out);
        }
        true
    }

    /// Go's rest of `Get` and `getSlow`: own deque (LIFO), then steal (FIFO) from every other
    /// thread's cache, then the victim.
    #[inline]
    fn take_slow(&self, slot: usize, local: &Local<T>, out: &mut MaybeUninit<T>) -> bool {
        match local.pop_stash(out) {
            Pop::Hit => return true,
            Pop::Empty => {}
            Pop::Retired(want) => {
                if self.settle_stash(local, Some(want), out) {
                    return true;
                }
            }
        }
        let (mut hit, detached) = local.pop_shared(self.generations.number(), out);
        if let Some(detached) = detached {
            hit = self.finish_detached(detached, local, hit, out);
        }
        if hit {
            return true;
        }
        match self.steal(slot, local) {
            Some(value) => {
                out.write(value);
                true
            }
            None => false,
        }
    }

    /// Whether the owner's claim on its private object stands, settling it first if a collect
    /// or a raid looked at the slot (`local.rs`, `Private`).
    #[inline]
    fn claimed(&self, local: &Local<T>, claim: Claim) -> bool {
        match claim {
            Claim::Hit => true,
            Claim::Miss => false,
            Claim::Retired => self.settle_private(local),
        }
    }

    /// The owner's claim found its private slot retired by a collect or a raid: settles it
    /// under the collectors' lock, which the collector held while it took from the slot.
    #[cold]
    #[inline(never)]
    fn settle_private(&self, local: &Local<T>) -> bool {
        let _serial = self.generations.serial();
        local.settle_private()
    }

    /// The owner found its stash retired by a collect (`stash.rs`): settles it under the
    /// collectors' lock, which the collect held while it took from the stash. `want`: the slot
    /// of the pending pop, whose object is moved into `out` unless the collect took it.
    #[cold]
    #[inline(never)]
    fn settle_stash(&self, local: &Local<T>, want: Option<u32>, out: &mut MaybeUninit<T>) -> bool {
        let _serial = self.generations.serial();
        local.settle_stash(want, out)
    }

    /// The owner found its deque retired by a collect: drops the detached deque's leftovers,
    /// holding the object already taken (if any) in a local so that a panicking `T::drop`
    /// drops it too instead of leaking it from `out`. Returns `hit`, with `out` as it was.
    #[cold]
    fn finish_detached(
        &self,
        detached: Detached<T>,
        local: &Local<T>,
        hit: bool,
        out: &mut MaybeUninit<T>,
    ) -> bool {
        // SAFETY: `pop_shared` initialised `out` when it reported a hit.
        let taken = hit.then(|| unsafe { out.assume_init_read() });
        detached.finish(self.hooks.as_deref(), &local.counters);
        if let Some(value) = taken {
            out.write(value);
        }
        hit
    }

    /// Go's `getSlow`: steal, starting after our own slot, a batch from each other cache's
    /// deque (never a private object, which its owner claims with no read-modify-write); then
    /// raid; then the victim.
    #[cold]
    fn steal(&self, slot: usize, local: &Local<T>) -> Option<T> {
        loop {
            let mut contended = false;
            // Acquire: as in `Local::pop_shared`.
            let now = self.generations.number().load(Acquire);
            for other in self.locals.others(slot) {
                let batch = match other.stealer(now) {
                    Ok(Some(stealer)) => local.steal_batch(&stealer),
                    Ok(None) => None,
                    Err(()) => {
                        contended = true;
                        None
                    }
                };
                if let Some((value, retired)) = batch {
                    if retired {
                        // A collect took the stash while we filled it; nothing is pending.
                        self.settle_stash(local, None, &mut MaybeUninit::uninit());
                    }
                    return Some(value);
                }
            }
            if !contended {
                break;
            }
            spin_loop();
        }
        if let Some(value) = self.raid(slot, local) {
            return Some(value);
        }
        let value = self.generations.take_victim(slot)?;
        bump(&local.counters.victim_hits, 1);
        Some(value)
    }

    /// Every other deque is empty: takes other threads' private objects and what their
    /// stashes hold, the way `collect` does (`local::take_all`), so that objects an idle or
    /// exited thread left stay within reach. Keeps one and puts the rest into this thread's
    /// deque. Costs a process-wide barrier (about a microsecond), paid only when some cache
    /// looks raidable, and instead of a victim hit or a factory call.
    #[cold]
    fn raid(&self, slot: usize, local: &Local<T>) -> Option<T> {
        // A racy look first, so that a plain miss costs no barrier.
        if !self.locals.others(slot).any(Local::looks_raidable) {
            return None;
        }
        let mut raided = Vec::new();
        {
            let _serial = self.generations.serial();
            let others = self
                .locals
                .others(slot)
                .filter(|other| other.looks_raidable());
            local::take_all(others, |value| raided.push(value));
        }
        // Outside the lock: pushing may drop a detached deque's leftovers (user code).
        let value = raided.pop()?;
        for other in raided {
            self.put_slow(local, other);
        }
        Some(value)
    }

    /// Accounts for the bytes of an object leaving a pool that measures them (out of line, as
    /// `admit`). The object is moved into a local while the hook runs, so that a panicking hook
    /// drops it rather than leaking it from `out`.
    #[inline(never)]
    fn measure_out(hooks: &dyn Hooks<T>, local: &Local<T>, out: &mut MaybeUninit<T>) {
        // SAFETY: `take` initialised `out` before calling us.
        let value = unsafe { out.assume_init_read() };
        bump(&local.counters.bytes_out, hooks.on_leave(&value) as u64);
        out.write(value);
    }

    /// The hot path of `put`: the calling thread's private slot if empty, else its deque.
    #[inline]
    fn put(&self, slot: usize, value: T) {
        let local = self.locals.get(slot);
        bump(&local.counters.puts, 1);
        // The policy runs out of line and takes the object by value, so that the hook-free
        // path never takes the object's address (which would force it through memory).
        let value = match &self.hooks {
            None => value,
            Some(hooks) => match Self::admit(hooks.as_ref(), local, slot, value) {
                Some(value) => value,
                None => return,
            },
        };
        if local.private_is_empty() {
            local.put_private(value);
        } else {
            self.put_slow(local, value);
        }
        if let Some(hooks) = &self.hooks {
            if hooks.wants_collect() {
                // Chaos mode: a collection now and then, as a GC would run.
                self.collect();
            }
        }
    }

    /// Runs the put-time policy; `None` if it rejected (and dropped) the object.
    #[inline(never)]
    fn admit(hooks: &dyn Hooks<T>, local: &Local<T>, slot: usize, mut value: T) -> Option<T> {
        /// If the policy panics, the object is dropped while the panic unwinds: count it as
        /// rejected so that `retained` stays exact.
        struct OnUnwind<'a>(&'a AtomicU64);
        impl Drop for OnUnwind<'_> {
            fn drop(&mut self) {
                bump(self.0, 1);
            }
        }
        let on_unwind = OnUnwind(&local.counters.rejected);
        let verdict = hooks.on_put(&mut value, slot);
        std::mem::forget(on_unwind);
        match verdict {
            Verdict::Keep => {}
            Verdict::Shrunk => bump(&local.counters.shrunk, 1),
            Verdict::Reject => {
                bump(&local.counters.rejected, 1);
                return None;
            }
        }
        bump(&local.counters.bytes_in, hooks.measure(&value) as u64);
        Some(value)
    }

    #[inline]
    fn put_slow(&self, local: &Local<T>, value: T) {
        if let Some(detached) = local.push_shared(value, self.generations.number()) {
            detached.finish(self.hooks.as_deref(), &local.counters);
        }
    }

    fn collect(&self) {
        // Relaxed: a statistic.
        self.generations.collections.fetch_add(1, Relaxed);
        self.generations
            .collect(&self.locals, self.hooks.as_deref());
    }

    fn stats(&self) -> Stats {
        // Relaxed loads throughout: statistics, read without ordering against the operations
        // that count them (hence "approximate while operations are in flight").
        let mut s = Stats::default();
        let (mut bytes_in, mut bytes_out) = (0u64, 0u64);
        for (_, local) in self.locals.iter() {
            let c = &local.counters;
            s.created += c.created.load(Relaxed);
            s.hits += c.hits.load(Relaxed);
            s.victim_hits += c.victim_hits.load(Relaxed);
            s.puts += c.puts.load(Relaxed);
            s.collected += c.collected.load(Relaxed);
            s.rejected += c.rejected.load(Relaxed);
            s.shrunk += c.shrunk.load(Relaxed);
            bytes_in += c.bytes_in.load(Relaxed);
            bytes_out += c.bytes_out.load(Relaxed);
        }
        s.collected += self.generations.collected.load(Relaxed);
        s.collections = self.generations.collections.load(Relaxed);
        let held = s
            .puts
            .saturating_sub(s.rejected)
            .saturating_sub(s.hits)
            .saturating_sub(s.collected);
        s.retained = held as usize;
        s.retained_bytes = bytes_in
            .saturating_sub(bytes_out)
            .saturating_sub(self.generations.collected_bytes.load(Relaxed))
            as usize;
        s
    }
}

impl<T: Send + 'static> Collectable for Arc<Inner<T>> {
    fn collect(&self) {
        Inner::collect(self);
    }

    fn clone_handle(&self) -> Box<dyn Collectable> {
        Box::new(self.clone())
    }
}

impl<T> Drop for Pool<T> {
    fn drop(&mut self) {
        let ptr = self.inner.load(Acquire);
        if ptr.is_null() {
            return;
        }
        // SAFETY: from `Arc::into_raw` in `init`; `&mut self` means no borrow of it remains.
        let inner = unsafe { Arc::from_raw(ptr) };
        // Stop `collect_all` from visiting the pool; a run already in progress holds its own
        // handle, and the last handle to go drops every object the pool still holds.
        // Relaxed: `&mut self` orders `init`'s store of `id` before us.
        registry::unregister(inner.id.load(Relaxed));
    }
}

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
