//! Deterministic regression tests for races that need a thread paused at one precise point: a
//! `put` inside its shard's critical section, paused where it allocates (the shard's deque
//! grows), while another thread collects or clears. The pause comes from this binary's global
//! allocator ([`Parking`]): a thread that arms itself parks at its next allocation until the
//! test releases it. Also: an exited thread's deque memory, and a forgotten guard.
//!
//! The tests share the allocator's state, so each holds [`serial`]'s lock.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use gcpool::Pool;

/// `System`, counting live bytes, and parking an armed thread at its next allocation.
///
/// Nothing on the parking path allocates: the armed flag is a `const`-initialised thread-local
/// without a destructor, and the handshake is two atomics and `yield_now`.
struct Parking;

#[global_allocator]
static ALLOCATOR: Parking = Parking;

/// Bytes allocated and not yet freed, by every thread of this binary.
static LIVE: AtomicIsize = AtomicIsize::new(0);
/// Set by the parked thread once it has stopped at an allocation.
static PARKED: AtomicBool = AtomicBool::new(false);
/// Set by the test to let the parked thread continue.
static RELEASE: AtomicBool = AtomicBool::new(false);

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

/// Parks the calling thread here if it armed itself; disarms it (one park per arming).
fn park_if_armed() {
    // `try_with`: an allocation during thread-local destruction never parks.
    if ARMED
        .try_with(|armed| armed.replace(false))
        .unwrap_or(false)
    {
        PARKED.store(true, SeqCst);
        while !RELEASE.load(SeqCst) {
            thread::yield_now();
        }
        PARKED.store(false, SeqCst);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments, so `System`'s
// guarantees hold; the extra work (a counter, parking) neither allocates nor touches the memory.
unsafe impl GlobalAlloc for Parking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        park_if_armed();
        // SAFETY: forwarded as is (see the impl).
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size() as isize, SeqCst);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        park_if_armed();
        // SAFETY: forwarded as is (see the impl).
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size() as isize, SeqCst);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, SeqCst);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        park_if_armed();
        // SAFETY: forwarded as is (see the impl).
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, SeqCst);
        }
        new
    }
}

/// The calling thread parks at its next allocation (or reallocation).
fn arm() {
    ARMED.with(|armed| armed.set(true));
}

/// Waits until `flag` is set, failing after a generous limit (the machine may be loaded).
fn wait_for(flag: &AtomicBool, what: &str) {
    let start = Instant::now();
    while !flag.load(SeqCst) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting: {what}"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// Serialises this binary's tests: they share the parking handshake and the live-byte count.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An object that counts its drops per id.
struct Tracked {
    id: usize,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, SeqCst);
    }
}

fn drop_counts(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

fn tracked(drops: &Arc<Vec<AtomicUsize>>, id: usize) -> Tracked {
    Tracked {
        id,
        drops: drops.clone(),
    }
}

/// Takes with `try_take` until the pool answers `None`.
fn drain(pool: &Pool<Tracked>) -> Vec<Tracked> {
    std::iter::from_fn(|| pool.try_take()).take(64).collect()
}

/// What the test's collecting thread does while a put is parked.
#[derive(Clone, Copy, Debug)]
enum Collector {
    Collect,
    Clear,
    TwoCollects,
}

/// The race of every parked-put test. A thread with a slot puts `objects` one after another
/// with its allocations armed: the first that goes to a shard (after the private slot took
/// one, if the thread has a private slot) grows the shard's empty deque and parks inside the
/// shard's critical section. Meanwhile the test runs `before` (on this thread), then starts
/// `collector` on a third thread and checks that it has not returned (it must wait for the
/// shard's lock), then releases the put. The pool's state must exist (its first use
/// allocates, which must not happen on the armed thread). The putter waits for the collector to finish, then
/// runs `after_on_putter` and exits. Returns what `before` and `after_on_putter` returned.
fn parked_put_racing<B: Send + 'static>(
    pool: &Arc<Pool<Tracked>>,
    objects: Vec<Tracked>,
    collector: Collector,
    before: impl FnOnce() -> Vec<Tracked>,
    after_on_putter: impl FnOnce(&Pool<Tracked>) -> B + Send + 'static,
) -> (Vec<Tracked>, B) {
    /// Releases the parked thread however the test ends, so that a failed assertion does not
    /// leave it spinning (and the next test waiting on a stale handshake).
    struct ReleaseOnDrop;
    impl Drop for ReleaseOnDrop {
        fn drop(&mut self) {
            RELEASE.store(true, SeqCst);
        }
    }
    assert!(!PARKED.load(SeqCst), "a thread is still parked");
    RELEASE.store(false, SeqCst);
    let release = ReleaseOnDrop;
    let done = Arc::new(AtomicBool::new(false));
    let putter = {
        let (pool, done) = (pool.clone(), done.clone());
        thread::spawn(move || {
            drop(pool.snapshot()); // takes a slot before arming (its first use allocates)
                                   // A private slot allocates its cell at its first put: one round trip before arming.
            let mut objects = objects;
            if let Some(first) = objects.pop() {
                pool.put(first);
                objects.push(pool.try_take().expect("the object just put"));
            }
            arm();
            for obj in objects {
                pool.put(obj);
            }
            ARMED.with(|armed| assert!(!armed.get(), "no put allocated"));
            wait_for(&done, "the collector");
            after_on_putter(&pool)
        })
    };
    wait_for(&PARKED, "the put to park");
    let early = before();

    let started = Arc::new(AtomicBool::new(false));
    let collecting = {
        let (pool, started, done) = (pool.clone(), started.clone(), done.clone());
        thread::spawn(move || {
            started.store(true, SeqCst);
            match collector {
                Collector::Collect => pool.collect(),
                Collector::Clear => pool.clear(),
                Collector::TwoCollects => {
                    pool.collect();
                    pool.collect();
                }
            }
            done.store(true, SeqCst);
        })
    };
    wait_for(&started, "the collector to start");
    thread::sleep(Duration::from_millis(200));
    assert!(
        !done.load(SeqCst),
        "{collector:?} returned while a put was inside its shard's critical section"
    );
    assert!(PARKED.load(SeqCst), "the put went on before its release");
    drop(release);
    collecting.join().unwrap();
    let after = putter.join().unwrap();
    (early, after)
}

/// A put paused inside its shard's critical section (growing the deque) while a get drains the
/// victim down to a miss and `collect` runs: the collect waits for the put, so the late object
/// reaches the new victim, and gets find it there; `stats().retained` counts exactly what gets
/// can drain, and every object is dropped exactly once.
#[test]
fn a_put_paused_in_its_critical_section_is_found_after_a_collect() {
    let _serial = serial();
    let drops = drop_counts(3);
    let pool = Arc::new(Pool::new(|| unreachable!("try_take only")));
    pool.put(tracked(&drops, 0)); // this thread's private slot or shard
    pool.collect(); // 0 is in the victim
    let objects = vec![tracked(&drops, 1), tracked(&drops, 2)];

    let (early, ()) = parked_put_racing(
        &pool,
        objects,
        Collector::Collect,
        // Drains the victim down to a miss while the put is paused: 0 if its shard is free.
        || drain(&pool),
        |_| (),
    );
    assert!(early.iter().all(|o| o.id == 0), "got a paused put's object");

    let stats = pool.stats();
    let late = drain(&pool);
    let mut ids: Vec<usize> = late.iter().map(|o| o.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2], "the putter's objects are in the new victim");
    assert_eq!(stats.retained, late.len(), "{stats:?}");
    assert_eq!(pool.stats().retained, 0);
    assert_eq!(pool.try_take().map(|o| o.id), None);
    assert_eq!(
        drops[0].load(SeqCst),
        usize::from(early.is_empty()),
        "object 0: obtained early or dropped by the collect"
    );
    assert_eq!(pool.stats().collected as usize, drops[0].load(SeqCst));
    drop((early, late));
    drop(pool);
    assert!(drops.iter().all(|d| d.load(SeqCst) == 1), "drops {drops:?}");
}

impl std::fmt::Debug for Tracked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tracked({})", self.id)
    }
}

/// The paused put racing `clear()`, or two collects: both wait for the put, so they drop its
/// object (counted in `Stats::collected`), and afterwards, with nothing in flight, the putting
/// thread's own get misses only because the object is gone: nothing is left that other threads
/// could get, and its private slot works again.
fn a_put_paused_in_its_critical_section_is_dropped_by(collector: Collector) {
    let _serial = serial();
    let drops = drop_counts(3);
    let pool = Arc::new(Pool::new(|| unreachable!("try_take only")));
    // The pool's state is built on its first use, which allocates: not on the armed thread.
    assert!(pool.try_take().is_none());
    let objects = vec![tracked(&drops, 0), tracked(&drops, 1)];
    let refill = tracked(&drops, 2);

    let (_, (own, stats, refilled)) = parked_put_racing(
        &pool,
        objects,
        collector,
        Vec::new,
        move |pool: &Pool<Tracked>| {
            let own = pool.try_take();
            let stats = pool.stats();
            pool.put(refill);
            (own, stats, pool.try_take())
        },
    );
    assert!(own.is_none(), "{collector:?} left {own:?}");
    assert_eq!(
        refilled.as_ref().map(|o| o.id),
        Some(2),
        "the put's own slot or shard"
    );
    assert_eq!(stats.retained, 0, "{stats:?}");
    assert_eq!(stats.collected, 2, "{stats:?}");
    for id in 0..2 {
        assert_eq!(drops[id].load(SeqCst), 1, "object {id}");
    }
    assert!(
        drain(&pool).is_empty(),
        "an object no get of the putter found"
    );
    drop(refilled);
    drop(pool);
    assert!(drops.iter().all(|d| d.load(SeqCst) == 1), "drops {drops:?}");
}

#[test]
fn a_put_paused_in_its_critical_section_is_dropped_by_clear() {
    a_put_paused_in_its_critical_section_is_dropped_by(Collector::Clear);
}

#[test]
fn a_put_paused_in_its_critical_section_is_dropped_by_two_collects() {
    a_put_paused_in_its_critical_section_is_dropped_by(Collector::TwoCollects);
}

/// An exited thread's deque memory goes with its generation: a thread puts `N` objects (8-byte
/// `u64`s, so only the deque's memory counts) and exits; after five collections the live bytes
/// are back where they were before the puts. `N` is 4M, as the race was first measured.
#[test]
fn an_exited_threads_deque_memory_is_freed_by_collections() {
    const N: u64 = 1 << 22;
    let _serial = serial();
    let pool = Arc::new(Pool::new(|| 0u64));
    assert_eq!(pool.try_take(), None); // the pool's state exists before the count
    let before = LIVE.load(SeqCst);
    {
        let pool = pool.clone();
        thread::spawn(move || (0..N).for_each(|i| pool.put(i)))
            .join()
            .unwrap();
    }
    // Slack for what the test harness's own thread allocates or frees meanwhile (a few bytes).
    const SLACK: isize = 64 << 10;
    let peak = LIVE.load(SeqCst) - before;
    assert!(
        peak >= (N * 8) as isize - SLACK,
        "the deques hold {peak} bytes"
    );
    for _ in 0..5 {
        pool.collect();
    }
    let after = LIVE.load(SeqCst) - before;
    assert!(
        after < SLACK,
        "{after} bytes still live after five collections (peak {peak})"
    );
    let stats = pool.stats();
    assert_eq!((stats.retained, stats.collected), (0, N), "{stats:?}");
}

/// A forgotten guard costs its thread nothing but the object: the next put goes to the private
/// slot, and the next get takes it from there.
#[test]
fn a_forgotten_guard_leaves_the_private_slot_usable() {
    let _serial = serial();
    let pool = Pool::new(|| 0u64);
    assert_eq!(pool.try_take(), None);
    let private = pool.snapshot().own_private;
    pool.put(7);
    let guard = pool.get();
    assert_eq!(*guard, 7);
    std::mem::forget(guard);

    pool.put(8);
    if private.is_some() {
        assert_eq!(
            pool.snapshot().own_private,
            Some(true),
            "not in the private slot"
        );
    }
    assert_eq!(*pool.get(), 8);
    if private.is_some() {
        // The guard's drop put 8 back into the private slot.
        assert_eq!(pool.snapshot().own_private, Some(true));
        assert_eq!(pool.try_take(), Some(8));
        assert_eq!(pool.snapshot().own_private, Some(false));
    } else {
        eprintln!("no private slot on this thread: checked the get only");
    }
    let stats = pool.stats();
    assert_eq!(
        (stats.puts, stats.hits, stats.created),
        (3, 2 + u64::from(private.is_some()), 0)
    );
}
