//! `collect_all()` and `Collector`: one collection cycle on every live pool in the process
//! (statics included), never on a pool that has been dropped.
//!
//! `collect_all` affects every pool of the process, so these tests live in their own binary
//! and take a lock to run one at a time: a test's counts then see only its own collections.

mod common;

use common::{Tracked, Tracker};
use gcpool::{collect_all, Collector, Pool};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs the calling test alone among the tests of this binary (even if another one failed).
fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

static STATIC_TRACKER: OnceLock<&'static Tracker> = OnceLock::new();

fn static_tracker() -> &'static Tracker {
    STATIC_TRACKER.get_or_init(|| Tracker::new(1000))
}

fn make_static() -> Tracked {
    static_tracker().make()
}

/// A pool in a `static`: `Pool::new` is `const`.
static STATIC_POOL: Pool<Tracked> = Pool::new(make_static);

fn tracked_pool(tracker: &'static Tracker) -> Pool<Tracked> {
    Pool::with_factory(move || tracker.make())
}

/// How long to wait for the collector before declaring it broken: generous, since CI
/// machines stall; the tests poll and finish as soon as the condition holds.
const DEADLINE: Duration = Duration::from_secs(20);

/// How many collector threads are running, on Linux (where thread names are visible in
/// `/proc`); `None` elsewhere and under Miri. The name is truncated to 15 bytes by the kernel.
fn collector_threads() -> Option<usize> {
    if cfg!(miri) {
        // Under Miri, /proc describes the interpreter's threads, not the program's.
        return None;
    }
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.trim_end() == "gcpool-collecto")
            .count(),
    )
}

fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(2));
    }
    cond()
}

#[test]
fn collect_all_reaches_a_static_pool() {
    let _serial = serial();
    let tracker = static_tracker();
    // The factory of a static pool works like any other.
    let x = STATIC_POOL.take();
    let before = STATIC_POOL.stats();
    let dropped = tracker.dropped();
    STATIC_POOL.put(x);
    STATIC_POOL.put(tracker.make());
    STATIC_POOL.put(tracker.make());
    collect_all();
    assert_eq!(
        tracker.dropped(),
        dropped,
        "one cycle only demotes to the victim"
    );
    assert_eq!(STATIC_POOL.stats().collections, before.collections + 1);
    collect_all();
    assert_eq!(
        tracker.dropped(),
        dropped + 3,
        "two cycles of collect_all drop the static pool's objects"
    );
    let after = STATIC_POOL.stats();
    assert_eq!(after.collections, before.collections + 2);
    assert_eq!(after.collected, before.collected + 3);
    assert_eq!(after.retained, 0);
    assert!(STATIC_POOL.try_take().is_none());
}

#[test]
fn collect_all_reaches_local_pools() {
    let _serial = serial();
    let trackers: Vec<&'static Tracker> = (0..4).map(|_| Tracker::new(16)).collect();
    let pools: Vec<Pool<Tracked>> = trackers.iter().map(|&t| tracked_pool(t)).collect();
    let bytes: Pool<Vec<u8>> = Pool::default();
    for (pool, &t) in pools.iter().zip(&trackers) {
        pool.put(t.make());
        pool.put(t.make());
    }
    bytes.put(vec![1, 2, 3]);
    // A pool used only by another thread (which has exited) is reached too.
    // `join` waits for its thread-local destructors, which hand its private object over.
    thread::scope(|s| {
        s.spawn(|| pools[0].put(trackers[0].make())).join().unwrap();
    });

    collect_all();
    for (pool, t) in pools.iter().zip(&trackers) {
        assert_eq!(t.dropped(), 0);
        assert_eq!(pool.stats().collections, 1);
    }
    assert_eq!(bytes.snapshot().victim, 1);
    collect_all();
    for (pool, t) in pools.iter().zip(&trackers) {
        t.assert_all_dropped();
        assert_eq!(pool.stats().collections, 2);
        assert_eq!(pool.stats().retained, 0);
    }
    assert_eq!(bytes.stats().collected, 1);
    assert!(bytes.try_take().is_none());
}

/// A dropped pool is no longer visited: its objects were dropped with it, and later
/// cycles neither touch its (freed) storage nor change any of its counters.
#[test]
fn a_dropped_pool_is_not_visited() {
    let _serial = serial();
    let tracker = Tracker::new(16);
    let factory_calls = Arc::new(AtomicU64::new(0));
    let calls = Arc::clone(&factory_calls);
    let pool = Pool::with_factory(move || {
        calls.fetch_add(1, SeqCst);
        tracker.make()
    });
    let x = pool.take();
    pool.put(x);
    pool.put(tracker.make());
    collect_all(); // both in the victim
    pool.put(tracker.make()); // one in the primary
    drop(pool);
    // The registry holds a handle to each live pool's state for `collect_all`; had the
    // dropped pool stayed registered, that handle would keep its objects alive here.
    tracker.assert_all_dropped();
    collect_all();
    collect_all();
    assert_eq!(tracker.created(), 3);
    assert_eq!(tracker.dropped(), 3);
    assert_eq!(factory_calls.load(SeqCst), 1);
    // The closure (and its Arc) was dropped with the pool: the registry keeps nothing of it.
    assert_eq!(
        Arc::strong_count(&factory_calls),
        1,
        "the dropped pool's factory is still alive"
    );
}

/// Pools created and dropped on several threads while another thread calls `collect_all`
/// in a loop: registration and removal race with the walk over all pools.
#[test]
fn pools_dropped_while_collect_all_runs() {
    let _serial = serial();
    #[cfg(not(miri))]
    const ROUNDS: usize = 2000;
    #[cfg(miri)]
    const ROUNDS: usize = 20;
    let stop = AtomicBool::new(false);
    let trackers: Vec<&'static Tracker> = (0..2).map(|_| Tracker::new(ROUNDS * 4)).collect();
    thread::scope(|s| {
        let collector = s.spawn(|| {
            let mut n = 0u64;
            while !stop.load(SeqCst) {
                collect_all();
                n += 1;
            }
            n
        });
        let workers: Vec<_> = trackers
            .iter()
            .map(|&t| {
                s.spawn(move || {
                    for i in 0..ROUNDS {
                        let pool = tracked_pool(t);
                        let mut x = pool.take();
                        x.acquire();
                        x.release();
                        pool.put(x);
                        pool.put(t.make());
                        if i % 2 == 0 {
                            let _ = pool.try_take();
                        }
                        drop(pool);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        stop.store(true, SeqCst);
        let n = collector.join().unwrap();
        eprintln!(
            "collect_all ran {n} times while {} pools were created and dropped",
            2 * ROUNDS
        );
    });
    for t in trackers {
        t.assert_all_dropped();
    }
}

/// The `Collector` drops idle objects within a few periods (polled with a generous deadline:
/// this is not a timing test), and once dropped it has stopped: no cycle runs after `drop`
/// returns.
#[test]
fn collector_drops_idle_objects_and_stops_when_dropped() {
    let _serial = serial();
    let tracker = Tracker::new(16);
    let pool = tracked_pool(tracker);
    for _ in 0..5 {
        pool.put(tracker.make());
    }
    let period = Duration::from_millis(5);
    let collector = Collector::start(period);
    assert!(
        wait_until(|| tracker.dropped() == 5),
        "the collector did not drop idle objects within {DEADLINE:?} ({} of 5 dropped, {:?})",
        tracker.dropped(),
        pool.stats()
    );
    assert!(pool.stats().collections >= 2);
    if let Some(n) = collector_threads() {
        assert_eq!(n, 1, "the collector thread is not running under its name");
    }
    drop(collector);
    // Joined: the thread has exited when `drop` returns (tests here run one at a time, so no
    // other collector exists). The kernel may list an exited thread for a moment after the
    // join, hence the polling.
    assert!(
        wait_until(|| collector_threads().unwrap_or(0) == 0),
        "the collector thread outlived drop"
    );

    // Stopped: nothing collects this pool any more. Waiting can only hide a failure
    // (if the thread were still running), never cause one.
    let collections = pool.stats().collections;
    pool.put(tracker.make());
    thread::sleep(period * 20);
    assert_eq!(
        pool.stats().collections,
        collections,
        "the collector ran after it was dropped"
    );
    assert_eq!(tracker.dropped(), 5);
    assert_eq!(pool.stats().retained, 1);
}

/// A collector dropped right after it starts (possibly before its first cycle) stops
/// cleanly, and several collectors may coexist.
#[test]
fn collectors_start_and_stop() {
    let _serial = serial();
    for _ in 0..20 {
        drop(Collector::start(Duration::from_millis(1)));
    }
    let a = Collector::start(Duration::from_millis(2));
    let b = Collector::start(Duration::from_millis(1));
    thread::sleep(Duration::from_millis(10));
    drop(b);
    drop(a);
    assert!(
        wait_until(|| collector_threads().unwrap_or(0) == 0),
        "a collector thread outlived its Collector"
    );
}

/// Dropping a collector does not wait out its period, even right after `start` (before the
/// thread first waits).
#[test]
fn dropping_a_collector_does_not_wait_out_its_period() {
    let _serial = serial();
    let period = Duration::from_secs(10);
    for _ in 0..3 {
        let start = Instant::now();
        drop(Collector::start(period));
        // Half a period is far more than a prompt stop needs, and far less than sleeping
        // through the period takes.
        assert!(
            start.elapsed() < period / 2,
            "dropping a collector with a {period:?} period took {:?}",
            start.elapsed()
        );
    }
}

/// Pools come and go while a collector runs.
#[test]
fn pools_dropped_while_a_collector_runs() {
    let _serial = serial();
    #[cfg(not(miri))]
    const ROUNDS: usize = 2000;
    #[cfg(miri)]
    const ROUNDS: usize = 20;
    let tracker = Tracker::new(ROUNDS * 2);
    let collector = Collector::start(Duration::from_micros(100));
    for _ in 0..ROUNDS {
        let pool = tracked_pool(tracker);
        pool.put(pool.take());
        pool.put(tracker.make());
    }
    drop(collector);
    tracker.assert_all_dropped();
}

fn zero() -> u64 {
    0
}

/// A static pool first touched by many threads at once.
static RACED: Pool<u64> = Pool::new(zero);

/// Many threads touch a static pool for the first time at once: its state is built once and
/// registered once, so one `collect_all` is one collection of it (not two), and nothing put
/// during the race is lost.
#[test]
fn concurrent_first_use_of_a_static_registers_it_once() {
    let _serial = serial();
    const THREADS: usize = 8;
    let start = std::sync::Barrier::new(THREADS);
    thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|i| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    RACED.put(i as u64 + 1);
                })
            })
            .collect();
        // `join` (unlike the end of the scope) waits for the threads' thread-local
        // destructors, which hand their private objects over: nothing is in flight after it.
        for t in threads {
            t.join().unwrap();
        }
    });
    assert_eq!(RACED.stats().puts, THREADS as u64);
    assert_eq!(RACED.stats().retained, THREADS);
    collect_all();
    assert_eq!(
        RACED.stats().collections,
        1,
        "the pool was registered more than once"
    );
    let mut got: Vec<u64> = std::iter::from_fn(|| RACED.try_take()).collect();
    got.sort_unstable();
    assert_eq!(got, (1..=THREADS as u64).collect::<Vec<_>>());
}

/// An object whose drop, run by `collect_all`, calls `collect_all` again and creates and
/// drops a pool: the registry is not locked while objects are dropped.
struct Reentrant {
    depth: u32,
    drops: Arc<AtomicU64>,
}

impl Drop for Reentrant {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
        if self.depth > 0 {
            collect_all();
            let inner: Pool<Reentrant> = Pool::with_factory(|| unreachable!());
            inner.put(Reentrant {
                depth: self.depth - 1,
                drops: Arc::clone(&self.drops),
            });
            drop(inner); // drops the object, which recurses once more
        }
    }
}

#[test]
fn drops_run_by_collect_all_may_use_the_registry() {
    let _serial = serial();
    let drops = Arc::new(AtomicU64::new(0));
    let pool: Pool<Reentrant> = Pool::with_factory(|| unreachable!());
    pool.put(Reentrant {
        depth: 3,
        drops: Arc::clone(&drops),
    });
    collect_all();
    assert_eq!(drops.load(SeqCst), 0);
    collect_all(); // drops it: depth 3, 2, 1, 0
    assert_eq!(drops.load(SeqCst), 4);
    assert_eq!(pool.stats().retained, 0);
}

/// Panics in its `Drop` once, when `armed`.
struct Bomb {
    armed: bool,
    dropped: Arc<AtomicU64>,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, SeqCst);
        if self.armed {
            panic!("bomb");
        }
    }
}

/// A panicking `Drop` in one pool does not stop `collect_all` from collecting the others; the
/// panic is resumed afterwards.
#[test]
fn collect_all_collects_every_pool_even_if_a_drop_panics() {
    let _serial = serial();
    let dropped = Arc::new(AtomicU64::new(0));
    let make = |armed| {
        let dropped = dropped.clone();
        Pool::with_factory(move || Bomb {
            armed,
            dropped: dropped.clone(),
        })
    };
    let pools: Vec<Pool<Bomb>> = vec![make(true), make(false), make(true), make(false)];
    for pool in &pools {
        pool.put(pool.take());
    }
    collect_all(); // all four objects move to their victims
    let panicked = std::panic::catch_unwind(collect_all).is_err();
    assert!(panicked, "the first panic is resumed");
    assert_eq!(dropped.load(SeqCst), 4, "every pool was collected");
    for pool in &pools {
        assert_eq!(pool.stats().retained, 0);
    }
}

/// A panicking `Drop` on the collector thread does not end collection for good.
#[test]
fn collector_survives_a_panicking_drop() {
    let _serial = serial();
    let dropped = Arc::new(AtomicU64::new(0));
    let bombs = {
        let dropped = dropped.clone();
        Pool::with_factory(move || Bomb {
            armed: true,
            dropped: dropped.clone(),
        })
    };
    bombs.put(bombs.take());
    let collector = Collector::start(Duration::from_millis(2));
    let deadline = Instant::now() + Duration::from_secs(20);
    while dropped.load(SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the bomb was never collected");
        thread::sleep(Duration::from_millis(1));
    }
    // After the panic, the collector must still release an idle object of another pool.
    let tracker = Tracker::new(16);
    let pool = Pool::with_factory(move || tracker.make());
    pool.put(pool.take());
    while pool.stats().retained > 0 {
        assert!(
            Instant::now() < deadline,
            "collection stopped after a panic"
        );
        thread::sleep(Duration::from_millis(1));
    }
    drop(collector);
}

/// Sends `"exited"` when the thread whose thread-local holds it exits.
struct ExitSignal(std::sync::mpsc::Sender<&'static str>);

impl Drop for ExitSignal {
    fn drop(&mut self) {
        let _ = self.0.send("exited");
    }
}

thread_local! {
    static ON_EXIT: std::cell::RefCell<Option<ExitSignal>> = const { std::cell::RefCell::new(None) };
}

/// A pooled object that holds the last handle to a `Collector`. Its `Drop` runs on whichever
/// thread drops it; it reports that thread's name and whether dropping the collector there
/// panicked, and arms `ON_EXIT` so that the thread's exit is reported too.
struct Holder {
    collector: Option<Collector>,
    report: std::sync::mpsc::Sender<(Option<String>, bool)>,
    exit: std::sync::mpsc::Sender<&'static str>,
}

impl Drop for Holder {
    fn drop(&mut self) {
        let name = thread::current().name().map(String::from);
        let exit = self.exit.clone();
        ON_EXIT.with(|slot| *slot.borrow_mut() = Some(ExitSignal(exit)));
        let collector = self.collector.take();
        let clean = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            drop(collector);
        }))
        .is_ok();
        let _ = self.report.send((name, clean));
    }
}

/// An object dropped by the collector thread (its second collection) holds the last handle to
/// the `Collector`: the drop runs on the collector thread, which must not try to join itself
/// (that panics with "failed to join thread: Resource deadlock avoided"). It stops instead,
/// once the collection in progress returns.
#[test]
fn a_collector_dropped_on_its_own_thread_stops_without_joining_itself() {
    let _serial = serial();
    let (report, reports) = std::sync::mpsc::channel();
    let (exit, exits) = std::sync::mpsc::channel();
    let pool = Pool::with_factory(|| -> Holder { unreachable!("never taken") });
    pool.put(Holder {
        collector: Some(Collector::start(Duration::from_millis(1))),
        report,
        exit,
    });
    // Generous bounds against a hang only: two periods of 1 ms are all it takes.
    let (name, clean) = reports
        .recv_timeout(Duration::from_secs(60))
        .expect("the holder was never collected");
    assert_eq!(
        name.as_deref(),
        Some("gcpool-collector"),
        "dropped elsewhere"
    );
    assert!(clean, "dropping the Collector on its own thread panicked");
    assert_eq!(
        exits.recv_timeout(Duration::from_secs(60)),
        Ok("exited"),
        "the collector thread did not stop"
    );
    assert_eq!(pool.stats().retained, 0);
}
