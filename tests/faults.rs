//! Fault injection: user code that fails inside the pool's operations.
//!
//! * a factory that panics every Nth call, on one thread and on several;
//! * a `Drop` that panics while `collect`, `clear` or dropping the pool drops objects, with the
//!   panicking object in each place the pool keeps objects (private slot, deque, victim);
//! * a reset hook ([`Builder::reset`](gcpool::Builder::reset)) that panics;
//! * threads that exit with objects in their caches, or with a guard in a thread-local that is
//!   destroyed after the thread's slot was released;
//! * threads killed by a panic while holding `Pooled` guards.
//!
//! After each fault: the pool stays usable, `created == dropped` holds for every object that
//! did not panic in its own `Drop` (each dropped exactly once), `Stats` stays exact, and no
//! lock is poisoned (later operations, `collect_all` and new threads all work).
//!
//! Tests that call `collect_all` or run a `Collector` visit every pool in this process, so
//! they take [`EXCLUSIVE`] for writing; every other test takes it for reading.
//!
//! The panic messages printed while these tests run are expected.

use gcpool::{collect_all, Pool, Pooled};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::thread;

/// Serialises the tests that collect every pool in the process against all others.
static EXCLUSIVE: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    // A failed test poisons it; the other tests must still run.
    EXCLUSIVE.read().unwrap_or_else(|e| e.into_inner())
}

/// Scales loop counts down under Miri (about 1,000 times slower).
const fn scale(n: usize) -> usize {
    if cfg!(miri) {
        n / 50 + 2
    } else {
        n
    }
}

// ---------------------------------------------------------------------------------------------
// A tracked object whose drop can be armed to panic.
// ---------------------------------------------------------------------------------------------

/// Per-test bookkeeping: every object's id and how often it was dropped.
#[derive(Default)]
struct Book {
    next: AtomicU64,
    drops: Mutex<BTreeMap<u64, u32>>,
    /// Objects whose `Drop` panicked (they count as dropped once).
    exploded: AtomicUsize,
}

impl Book {
    fn new() -> Arc<Book> {
        Arc::new(Book::default())
    }

    fn make(self: &Arc<Self>) -> Obj {
        self.make_armed(false)
    }

    fn make_armed(self: &Arc<Self>, armed: bool) -> Obj {
        Obj {
            id: self.next.fetch_add(1, SeqCst),
            armed,
            poisoned: false,
            book: Arc::clone(self),
        }
    }

    fn created(&self) -> u64 {
        self.next.load(SeqCst)
    }

    fn dropped(&self) -> u64 {
        self.drops.lock().unwrap().len() as u64
    }

    /// Every object made so far has been dropped, exactly once.
    #[track_caller]
    fn assert_all_dropped_once(&self) {
        let drops = self.drops.lock().unwrap();
        let missing: Vec<u64> = (0..self.created())
            .filter(|id| !drops.contains_key(id))
            .collect();
        assert!(missing.is_empty(), "never dropped: {missing:?}");
        let twice: Vec<_> = drops.iter().filter(|(_, n)| **n != 1).collect();
        assert!(twice.is_empty(), "dropped more than once: {twice:?}");
    }
}

struct Obj {
    id: u64,
    /// `Drop` panics.
    armed: bool,
    /// The reset hook panics on it.
    poisoned: bool,
    book: Arc<Book>,
}

impl Drop for Obj {
    fn drop(&mut self) {
        *self.book.drops.lock().unwrap().entry(self.id).or_insert(0) += 1;
        if self.armed {
            self.book.exploded.fetch_add(1, SeqCst);
            panic!("object {} exploded", self.id);
        }
    }
}

fn plain_pool(book: &Arc<Book>) -> Pool<Obj> {
    let book = Arc::clone(book);
    Pool::with_factory(move || book.make())
}

/// Checks that the pool still works: put, hit, collect, clear, stats and snapshot.
#[track_caller]
fn assert_usable(pool: &Pool<Obj>, book: &Arc<Book>) {
    pool.put(book.make());
    let got = pool.try_take().expect("the pool lost an object just put");
    pool.put(got);
    pool.collect();
    let _ = pool.snapshot();
    let s = pool.stats();
    assert!(s.retained >= 1, "{s:?}");
    pool.clear();
    assert_eq!(pool.stats().retained, 0);
    assert!(pool.try_take().is_none());
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// A factory that panics every Nth call.
// ---------------------------------------------------------------------------------------------

/// A pool whose factory panics on every `n`-th call; returns it and the call counter.
fn flaky_pool(book: &Arc<Book>, n: u64) -> (Pool<Obj>, Arc<AtomicU64>) {
    let calls = Arc::new(AtomicU64::new(0));
    let pool = {
        let (book, calls) = (Arc::clone(book), Arc::clone(&calls));
        Pool::with_factory(move || {
            if (calls.fetch_add(1, SeqCst) + 1) % n == 0 {
                panic!("factory failed");
            }
            book.make()
        })
    };
    (pool, calls)
}

/// Runs a mixed workload on `pool` where every `get`/`take` may panic; returns
/// (calls that panicked, calls that returned, try_ hits, puts).
fn flaky_workload(pool: &Pool<Obj>, seed: u64, ops: usize) -> (u64, u64, u64, u64) {
    let (mut failed, mut ok, mut try_hits, mut puts) = (0, 0, 0, 0);
    let mut held: Vec<Obj> = Vec::new();
    let mut x = seed | 1;
    for _ in 0..ops {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match x % 7 {
            0 | 1 => match catch_unwind(AssertUnwindSafe(|| pool.take())) {
                Ok(o) => {
                    ok += 1;
                    held.push(o);
                }
                Err(e) => {
                    assert_eq!(message(&*e), "factory failed");
                    failed += 1;
                }
            },
            2 => match catch_unwind(AssertUnwindSafe(|| Pooled::into_inner(pool.get()))) {
                Ok(o) => {
                    ok += 1;
                    held.push(o);
                }
                Err(_) => failed += 1,
            },
            3 => {
                if let Some(o) = pool.try_take() {
                    try_hits += 1;
                    held.push(o);
                }
            }
            4 if x % 97 == 0 => pool.collect(),
            _ => {
                if let Some(o) = held.pop() {
                    puts += 1;
                    pool.put(o);
                }
            }
        }
    }
    for o in held {
        puts += 1;
        pool.put(o);
    }
    (failed, ok, try_hits, puts)
}

#[test]
fn factory_panicking_every_nth_call_single_thread() {
    let _g = shared();
    for n in [1, 2, 3, 7] {
        let book = Book::new();
        let (pool, calls) = flaky_pool(&book, n);
        let (failed, ok, try_hits, puts) = flaky_workload(&pool, n, scale(2_000));
        let s = pool.stats();
        let calls = calls.load(SeqCst);
        assert!(calls > 0, "n={n}: the workload never called the factory");
        // Exactly every n-th call panicked, and only the calls that returned count as created.
        assert_eq!(failed, calls / n, "n={n}");
        assert_eq!(s.created, calls - failed, "n={n}: {s:?}");
        assert_eq!(s.created, book.created(), "n={n}: {s:?}");
        assert_eq!(s.hits + s.created, ok + try_hits, "n={n}: {s:?}");
        assert_eq!(s.puts, puts);
        // Everything the threads gave back is in the pool, reachable.
        assert_eq!(s.retained as u64 + book.dropped(), book.created());
        assert_usable(&pool, &book);
        drop(pool);
        book.assert_all_dropped_once();
    }
}

#[test]
fn factory_panicking_every_nth_call_many_threads() {
    let _g = shared();
    let book = Book::new();
    let (pool, calls) = flaky_pool(&book, 3);
    let totals: Vec<(u64, u64, u64, u64)> = thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let pool = &pool;
                s.spawn(move || flaky_workload(pool, 0x9E37 * (t + 1), scale(5_000)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failed: u64 = totals.iter().map(|t| t.0).sum();
    let ok: u64 = totals.iter().map(|t| t.1).sum();
    let try_hits: u64 = totals.iter().map(|t| t.2).sum();
    let puts: u64 = totals.iter().map(|t| t.3).sum();
    let s = pool.stats();
    assert_eq!(s.created, book.created(), "{s:?}");
    assert_eq!(
        failed,
        calls.load(SeqCst) / 3,
        "exactly every third call panicked"
    );
    assert_eq!(calls.load(SeqCst), s.created + failed);
    assert_eq!(s.hits + s.created, ok + try_hits, "{s:?}");
    assert_eq!(s.puts, puts);
    assert_eq!(s.retained as u64 + book.dropped(), book.created(), "{s:?}");
    assert_usable(&pool, &book);
    drop(pool);
    book.assert_all_dropped_once();
}

// ---------------------------------------------------------------------------------------------
// A `Drop` that panics inside the pool.
// ---------------------------------------------------------------------------------------------

/// Where the armed object sits when the pool drops it.
#[derive(Clone, Copy, Debug)]
enum Place {
    /// The thread's private slot (the first object put).
    Private,
    /// The middle of the thread's deque.
    Deque,
    /// The middle of the victim generation.
    Victim,
}

/// Fills `pool` with 9 objects on this thread, one of them armed at `place`: 1 in the private
/// slot and 4 in the deque, collected into the victim when `place` is `Victim`, then 4 more
/// (1 private, 3 deque) on top. Returns the armed id.
fn fill_with_bomb(pool: &Pool<Obj>, book: &Arc<Book>, place: Place) -> u64 {
    let armed_at = match place {
        Place::Private => 0,
        Place::Deque | Place::Victim => 2,
    };
    let mut armed_id = u64::MAX;
    for i in 0..5 {
        let o = book.make_armed(i == armed_at);
        if o.armed {
            armed_id = o.id;
        }
        pool.put(o);
    }
    if matches!(place, Place::Victim) {
        pool.collect();
        for _ in 0..4 {
            pool.put(book.make());
        }
    }
    armed_id
}

#[test]
fn drop_panic_during_collect_and_clear() {
    let _g = shared();
    for place in [Place::Private, Place::Deque, Place::Victim] {
        for clear in [false, true] {
            let book = Book::new();
            let pool = plain_pool(&book);
            let armed = fill_with_bomb(&pool, &book, place);
            let retained = pool.stats().retained;
            // `clear`, or two collections (the bomb is dropped by the first when it is in the
            // victim, by the second otherwise): exactly one call panics.
            let calls = if clear { 1 } else { 2 };
            let errors: Vec<_> = (0..calls)
                .filter_map(|_| {
                    catch_unwind(AssertUnwindSafe(|| {
                        if clear {
                            pool.clear();
                        } else {
                            pool.collect();
                        }
                    }))
                    .err()
                })
                .collect();
            assert_eq!(
                errors.len(),
                1,
                "{place:?} clear={clear}: the panic must propagate"
            );
            assert_eq!(message(&*errors[0]), format!("object {armed} exploded"));
            assert_eq!(book.exploded.load(SeqCst), 1);
            // Everything was dropped, once, and counted.
            let s = pool.stats();
            assert_eq!(s.retained, 0, "{place:?} clear={clear}: {s:?}");
            assert_eq!(s.collected as usize, retained, "{place:?} clear={clear}");
            book.assert_all_dropped_once();
            assert_usable(&pool, &book);
            drop(pool);
            book.assert_all_dropped_once();
        }
    }
}

#[test]
fn drop_panic_while_the_pool_is_dropped() {
    let _g = shared();
    for place in [Place::Private, Place::Deque, Place::Victim] {
        let book = Book::new();
        let pool = plain_pool(&book);
        let armed = fill_with_bomb(&pool, &book, place);
        let e = catch_unwind(AssertUnwindSafe(move || drop(pool)))
            .expect_err("the panic must propagate from the pool's drop");
        assert_eq!(message(&*e), format!("object {armed} exploded"));
        // The other objects are still dropped (as a `Vec` does), each once.
        book.assert_all_dropped_once();
    }
}

// ---------------------------------------------------------------------------------------------
// A reset hook that panics.
// ---------------------------------------------------------------------------------------------

fn resetting_pool(book: &Arc<Book>, resets: &Arc<AtomicU64>) -> Pool<Obj> {
    let book = Arc::clone(book);
    let resets = Arc::clone(resets);
    Pool::builder(move || book.make())
        .reset(move |o: &mut Obj| {
            resets.fetch_add(1, SeqCst);
            if o.poisoned {
                panic!("reset failed on {}", o.id);
            }
        })
        .build()
}

#[test]
fn reset_hook_panic_propagates_and_drops_the_object() {
    let _g = shared();
    let book = Book::new();
    let resets = Arc::new(AtomicU64::new(0));
    let pool = resetting_pool(&book, &resets);
    for _ in 0..3 {
        pool.put(book.make());
    }
    // A put whose reset panics: the panic propagates, the object is dropped (not pooled).
    let mut bad = book.make();
    bad.poisoned = true;
    let bad_id = bad.id;
    let e = catch_unwind(AssertUnwindSafe(|| pool.put(bad))).expect_err("put must panic");
    assert_eq!(message(&*e), format!("reset failed on {bad_id}"));
    assert_eq!(book.drops.lock().unwrap().get(&bad_id), Some(&1));
    // The same through a guard: the guard's drop panics (not while unwinding, so no abort).
    let mut g = pool.get();
    g.poisoned = true;
    let g_id = g.id;
    let e = catch_unwind(AssertUnwindSafe(move || drop(g))).expect_err("guard drop must panic");
    assert_eq!(message(&*e), format!("reset failed on {g_id}"));
    assert_eq!(book.drops.lock().unwrap().get(&g_id), Some(&1));

    // `retained` counts what the pool holds: the 3 good objects minus the one `get` took.
    let s = pool.stats();
    assert_eq!(
        s.retained, 2,
        "an object whose reset panicked is not retained: {s:?}"
    );
    let mut n = 0;
    while pool.try_take().is_some() {
        n += 1;
    }
    assert_eq!(n, 2);
    assert_eq!(pool.stats().retained, 0, "{:?}", pool.stats());
    assert_usable(&pool, &book);
    drop(pool);
    book.assert_all_dropped_once();
}

// ---------------------------------------------------------------------------------------------
// Threads that exit, or die, at awkward moments.
// ---------------------------------------------------------------------------------------------

/// Threads killed by a panic while holding guards: the guards return their objects during
/// unwinding, into the dead thread's cache, from where others (and collect) still reach them.
#[test]
fn threads_killed_while_holding_guards() {
    let _g = shared();
    let book = Book::new();
    let pool = plain_pool(&book);
    let rounds = scale(50);
    thread::scope(|s| {
        for t in 0..rounds {
            let pool = &pool;
            let r = s
                .spawn(move || {
                    let a = pool.get();
                    let _b = pool.get();
                    drop(a);
                    let _c = pool.get();
                    if t % 3 == 0 {
                        pool.collect();
                    }
                    panic!("thread {t} killed");
                })
                .join();
            assert!(r.is_err());
        }
    });
    let s = pool.stats();
    assert_eq!(s.created, book.created());
    assert_eq!(s.retained as u64 + book.dropped(), book.created(), "{s:?}");
    // Nothing is stranded in dead threads' caches: this thread takes every one back.
    let mut back = Vec::new();
    while let Some(o) = pool.try_take() {
        back.push(o);
    }
    assert_eq!(back.len(), s.retained);
    drop(back);
    assert_usable(&pool, &book);
    drop(pool);
    book.assert_all_dropped_once();
}

/// Threads that put objects and exit (leaving them in their private slot and deque) while
/// another thread keeps collecting and taking: nothing is lost, nothing dropped twice.
#[test]
fn threads_exiting_mid_stream() {
    let _g = shared();
    let book = Book::new();
    let pool = plain_pool(&book);
    let stop = AtomicBool::new(false);
    let taken = AtomicU64::new(0);
    thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(SeqCst) {
                if let Some(o) = pool.try_take() {
                    taken.fetch_add(1, SeqCst);
                    pool.put(o);
                }
                pool.collect();
            }
        });
        for round in 0..scale(200) {
            let (pool, book) = (&pool, &book);
            s.spawn(move || {
                for _ in 0..(round % 5) + 1 {
                    pool.put(book.make());
                }
                let _g = pool.get(); // held while the thread exits
            })
            .join()
            .unwrap();
        }
        stop.store(true, SeqCst);
    });
    let s = pool.stats();
    assert_eq!(s.retained as u64 + book.dropped(), book.created(), "{s:?}");
    let mut back = 0;
    while pool.try_take().is_some() {
        back += 1;
    }
    assert_eq!(back, s.retained);
    drop(pool);
    book.assert_all_dropped_once();
}

/// Counters for the static pool below (a guard in a thread-local needs a `'static` pool).
static TLS_MADE: AtomicUsize = AtomicUsize::new(0);
static TLS_DROPPED: AtomicUsize = AtomicUsize::new(0);

struct TlsObj;

impl Drop for TlsObj {
    fn drop(&mut self) {
        TLS_DROPPED.fetch_add(1, SeqCst);
    }
}

fn make_tls_obj() -> TlsObj {
    TLS_MADE.fetch_add(1, SeqCst);
    TlsObj
}

static TLS_POOL: Pool<TlsObj> = Pool::new(make_tls_obj);

thread_local! {
    static HELD: RefCell<Vec<Pooled<'static, TlsObj>>> = const { RefCell::new(Vec::new()) };
}

/// A thread exits while holding guards in a thread-local: they are put back while the
/// thread's thread-locals are destroyed, possibly after its slot was released. Nothing is
/// lost and the slot allocator stays consistent.
#[test]
fn guards_dropped_by_thread_local_destructors() {
    let _g = shared();
    let threads = scale(40);
    let before = TLS_POOL.stats();
    for _ in 0..threads {
        thread::spawn(|| {
            let a = TLS_POOL.get();
            let b = TLS_POOL.get();
            HELD.with(|h| h.borrow_mut().extend([a, b]));
        })
        .join()
        .unwrap();
    }
    let s = TLS_POOL.stats();
    assert_eq!(s.puts - before.puts, 2 * threads as u64, "{s:?}");
    assert_eq!(
        TLS_MADE.load(SeqCst) - TLS_DROPPED.load(SeqCst),
        s.retained,
        "{s:?}"
    );
    let mut back = Vec::new();
    while let Some(o) = TLS_POOL.try_take() {
        back.push(o);
    }
    assert_eq!(back.len(), s.retained);
    drop(back);
    assert_eq!(TLS_MADE.load(SeqCst), TLS_DROPPED.load(SeqCst));
}

// ---------------------------------------------------------------------------------------------
// No lock is poisoned.
// ---------------------------------------------------------------------------------------------

/// After panics in the places user code runs inside the pool (factory, `Drop` during
/// `collect_all` on this and on another thread, guard held by a dying thread), every global and per-pool lock
/// still works: `collect_all`, new threads (slot allocation), pool creation and drop.
#[test]
fn no_lock_is_poisoned() {
    let _g = EXCLUSIVE.write().unwrap_or_else(|e| e.into_inner());
    let book = Book::new();
    let pool = {
        let book = Arc::clone(&book);
        let calls = AtomicU64::new(0);
        Pool::with_factory(move || {
            if calls.fetch_add(1, SeqCst) == 0 {
                panic!("factory failed");
            }
            book.make()
        })
    };
    // Factory panic. (A panicking reset hook is covered, with its accounting, by
    // `reset_hook_panic_propagates_and_drops_the_object`.)
    assert!(catch_unwind(AssertUnwindSafe(|| pool.take())).is_err());
    // A thread dies holding a guard, with a collection in between.
    thread::scope(|s| {
        assert!(s
            .spawn(|| {
                let _g = pool.get();
                pool.collect();
                panic!("killed");
            })
            .join()
            .is_err());
    });
    // A panicking drop inside `collect_all` (on this thread, then on another thread).
    for on_other_thread in [false, true] {
        pool.put(book.make_armed(true));
        collect_all();
        let r = if on_other_thread {
            thread::spawn(collect_all).join().map_err(|_| ())
        } else {
            catch_unwind(collect_all).map_err(|_| ())
        };
        assert!(r.is_err(), "the drop panic propagates from collect_all");
    }
    assert_eq!(book.exploded.load(SeqCst), 2);

    // Everything still works.
    assert_usable(&pool, &book);
    collect_all();
    let fresh: Pool<u32> = Pool::new(|| 7);
    thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    fresh.put(1);
                    pool.put(book.make());
                    assert!(fresh.try_take().is_some());
                })
            })
            .collect();
        // `join` (unlike the end of the scope) waits for the threads' thread-local
        // destructors, which hand their private objects over: nothing is in flight after it.
        for t in threads {
            t.join().unwrap();
        }
    });
    collect_all();
    collect_all();
    assert_eq!(pool.stats().retained, 0);
    drop(fresh);
    drop(pool);
    book.assert_all_dropped_once();
}
