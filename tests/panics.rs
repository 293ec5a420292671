//! Panics (semantics 7 and 5 of `tests/semantics.rs`): a panicking factory propagates from `get`/`take` and
//! leaves the pool fully usable; a panicking `T::drop` during `collect`/`clear` propagates
//! from that call, every other object is still dropped exactly once, and the pool stays
//! usable. The factory runs outside every internal critical section, so it may be slow and
//! may use the same pool.
//!
//! The panic messages printed while these tests run are expected.

mod common;

use common::{Tracked, Tracker};
use gcpool::Pool;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// A pool whose factory panics while `fail` is set.
fn failing_pool(tracker: &'static Tracker, fail: Arc<AtomicBool>) -> Pool<Tracked> {
    Pool::with_factory(move || {
        if fail.load(SeqCst) {
            panic!("factory failed");
        }
        tracker.make()
    })
}

#[test]
fn factory_panic_propagates_from_get_and_take() {
    let tracker = Tracker::new(16);
    let fail = Arc::new(AtomicBool::new(true));
    let pool = failing_pool(tracker, Arc::clone(&fail));

    let err = catch_unwind(AssertUnwindSafe(|| drop(pool.get()))).expect_err("get must panic");
    assert_eq!(panic_message(err), "factory failed");
    let err = catch_unwind(AssertUnwindSafe(|| drop(pool.take()))).expect_err("take must panic");
    assert_eq!(panic_message(err), "factory failed");
    // The non-factory paths do not call it.
    assert!(pool.try_take().is_none());
    assert!(pool.try_get().is_none());

    // Fully usable afterwards: a pooled object wins over the (still failing) factory.
    let x = tracker.make();
    let id = x.id();
    pool.put(x);
    {
        let g = pool.get();
        assert_eq!(g.id(), id);
        // While the guard holds the only object, the factory runs (and panics) again,
        // and the guard is unaffected.
        assert!(catch_unwind(AssertUnwindSafe(|| drop(pool.take()))).is_err());
        assert_eq!(g.id(), id);
    }
    assert_eq!(
        pool.try_take().map(|x| x.id()),
        Some(id),
        "the guard did not return its object"
    );

    // Another thread can use the pool, and the factory works again once it stops failing.
    fail.store(false, SeqCst);
    // `join` (unlike the end of the scope) waits for the thread's thread-local destructors,
    // which hand its private object over to the shards.
    thread::scope(|s| {
        s.spawn(|| {
            let x = pool.take();
            pool.put(x);
        })
        .join()
        .unwrap();
    });
    let y = pool.take();
    assert_eq!(tracker.created(), 2);
    let st = pool.stats();
    assert_eq!(st.hits, 3, "{st:?}");
    assert_eq!(st.retained, 0);
    drop(y);
    pool.collect();
    pool.collect();
    tracker.assert_all_dropped();
}

/// A factory panic in one thread does not disturb other threads using the pool at the
/// same time.
#[test]
fn factory_panics_under_concurrency() {
    #[cfg(not(miri))]
    const N: usize = 5_000;
    #[cfg(miri)]
    const N: usize = 12;
    let tracker = Tracker::new(4 * N + 16);
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    // Every third factory call panics.
    let pool = Pool::with_factory(move || {
        if counter.fetch_add(1, SeqCst) % 3 == 2 {
            panic!("every third call fails");
        }
        tracker.make()
    });
    let panics = thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut panics = 0;
                    for i in 0..N {
                        match catch_unwind(AssertUnwindSafe(|| pool.take())) {
                            Ok(mut x) => {
                                x.acquire();
                                x.release();
                                if i % 5 != 0 {
                                    pool.put(x);
                                }
                            }
                            Err(_) => panics += 1,
                        }
                        if i % 97 == 0 {
                            pool.collect();
                        }
                    }
                    panics
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .sum::<usize>()
    });
    let calls = calls.load(SeqCst);
    assert_eq!(panics, calls / 3, "{calls} factory calls");
    assert_eq!(tracker.created(), calls - panics);
    let st = pool.stats();
    assert_eq!(st.retained, tracker.live());
    pool.collect();
    pool.collect();
    tracker.assert_all_dropped();
}

static NESTED: Pool<Vec<u32>> = Pool::new(nested_factory);

/// A factory that uses its own pool: put, take, collect, and a nested `get` whose miss
/// calls this factory again (which then returns `[100]` at once).
fn nested_factory() -> Vec<u32> {
    thread_local!(static NESTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if NESTING.with(|n| n.replace(true)) {
        return vec![100];
    }
    NESTED.put(vec![1]);
    let inner = NESTED.try_take().expect("the factory's own put was lost");
    NESTED.collect();
    let nested_len = NESTED.get().len(); // the pool is empty: a nested factory call
    NESTING.with(|n| n.set(false));
    vec![inner[0] + 1, nested_len as u32]
}

#[test]
fn factory_may_use_the_same_pool() {
    // The outer factory call puts [1], takes it back, collects, then makes a nested `get`
    // miss; the nested call returns [100], which its guard puts back into the pool.
    assert_eq!(NESTED.take(), vec![2, 1]);
    assert_eq!(NESTED.try_take(), Some(vec![100]));
    assert_eq!(NESTED.try_take(), None);
    assert_eq!(NESTED.stats().created, 2);
}

/// The factory runs outside every internal critical section: while one thread is inside
/// the factory, another thread's put, take, collect, clear and stats on the same pool all
/// complete. (If one of them waited for the factory, the factory would time out and fail
/// the test instead of hanging it.)
#[test]
fn slow_factory_does_not_block_other_operations() {
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let (proceed_tx, proceed_rx) = mpsc::channel::<()>();
    let entered_tx = Mutex::new(entered_tx);
    let proceed_rx = Mutex::new(proceed_rx);
    let pool: Pool<u64> = Pool::with_factory(move || {
        entered_tx.lock().unwrap().send(()).unwrap();
        proceed_rx
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(60))
            .expect("another thread's operation waited for the factory");
        7
    });
    thread::scope(|s| {
        let slow = s.spawn(|| pool.take());
        entered_rx.recv().unwrap();
        pool.put(1);
        assert_eq!(pool.try_take(), Some(1));
        pool.put(2);
        pool.collect();
        pool.clear();
        let _ = pool.stats();
        let _ = pool.snapshot();
        proceed_tx.send(()).unwrap();
        assert_eq!(slow.join().unwrap(), 7);
    });
}

/// An object whose drop records its id and, if armed, panics.
struct Bomb {
    id: usize,
    armed: bool,
    drops: Arc<Mutex<Vec<usize>>>,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        self.drops.lock().unwrap().push(self.id);
        if self.armed {
            panic!("bomb {} exploded", self.id);
        }
    }
}

fn bombs(drops: &Arc<Mutex<Vec<usize>>>, ids: std::ops::Range<usize>, armed: usize) -> Vec<Bomb> {
    ids.map(|id| Bomb {
        id,
        armed: id == armed,
        drops: Arc::clone(drops),
    })
    .collect()
}

fn dropped_ids(drops: &Mutex<Vec<usize>>) -> Vec<usize> {
    let mut v = drops.lock().unwrap().clone();
    v.sort_unstable();
    v
}

fn unarmed_pool(drops: &Arc<Mutex<Vec<usize>>>) -> Pool<Bomb> {
    let drops = Arc::clone(drops);
    Pool::with_factory(move || Bomb {
        id: 1000,
        armed: false,
        drops: Arc::clone(&drops),
    })
}

#[test]
fn drop_panic_during_collect_propagates_and_loses_nothing_else() {
    let drops = Arc::new(Mutex::new(Vec::new()));
    let pool = unarmed_pool(&drops);
    // 0..5 (2 armed) go to the victim; 5..8 stay in the primary.
    for b in bombs(&drops, 0..5, 2) {
        pool.put(b);
    }
    pool.collect();
    for b in bombs(&drops, 5..8, usize::MAX) {
        pool.put(b);
    }
    assert!(dropped_ids(&drops).is_empty());

    let err = catch_unwind(AssertUnwindSafe(|| pool.collect())).expect_err("collect must panic");
    assert_eq!(panic_message(err), "bomb 2 exploded");
    // Every old victim dropped exactly once, the armed one included; nothing else.
    assert_eq!(dropped_ids(&drops), vec![0, 1, 2, 3, 4]);
    // 5..8 were demoted, not lost.
    let st = pool.stats();
    assert_eq!(st.retained, 3, "{st:?}");

    // Fully usable: the survivors come back, put/collect work as usual.
    let mut got: Vec<usize> = std::iter::from_fn(|| pool.try_take())
        .map(|b| b.id)
        .collect();
    got.sort_unstable();
    assert_eq!(got, vec![5, 6, 7]);
    assert_eq!(dropped_ids(&drops), vec![0, 1, 2, 3, 4, 5, 6, 7]);
    pool.put(Bomb {
        id: 8,
        armed: false,
        drops: Arc::clone(&drops),
    });
    pool.collect();
    assert_eq!(pool.take().id, 8);
    assert_eq!(dropped_ids(&drops), (0..=8).collect::<Vec<_>>());
    pool.put(Bomb {
        id: 9,
        armed: false,
        drops: Arc::clone(&drops),
    });
    pool.collect();
    pool.collect();
    assert_eq!(dropped_ids(&drops), (0..=9).collect::<Vec<_>>());
    assert_eq!(pool.stats().retained, 0);
}

/// A panicking drop during `clear`: the panic propagates, every object is dropped exactly
/// once, nothing is lost, and the pool stays usable.
#[test]
fn drop_panic_during_clear_propagates_and_loses_nothing_else() {
    let drops = Arc::new(Mutex::new(Vec::new()));
    let pool = unarmed_pool(&drops);
    for b in bombs(&drops, 0..3, 0) {
        pool.put(b);
    }
    pool.collect();
    for b in bombs(&drops, 3..6, usize::MAX) {
        pool.put(b);
    }
    let err = catch_unwind(AssertUnwindSafe(|| pool.clear())).expect_err("clear must panic");
    assert_eq!(panic_message(err), "bomb 0 exploded");
    // The victim's objects, the armed one included, are dropped exactly once.
    let dropped = dropped_ids(&drops);
    assert!(dropped.starts_with(&[0, 1, 2]), "{dropped:?}");
    // Usable afterwards, and nothing is lost: what was not dropped yet still is by two
    // collections.
    pool.put(Bomb {
        id: 6,
        armed: false,
        drops: Arc::clone(&drops),
    });
    assert_eq!(pool.take().id, 6);
    pool.collect();
    pool.collect();
    assert_eq!(dropped_ids(&drops), (0..7).collect::<Vec<_>>());
    assert_eq!(pool.stats().retained, 0);
    assert!(pool.try_take().is_none());
}

/// `clear` promises to drop everything the pool holds, now: a panicking drop among the
/// victim's objects must not leave the primary's objects alive.
#[test]

fn clear_drops_everything_even_if_a_drop_panics() {
    let drops = Arc::new(Mutex::new(Vec::new()));
    let pool = unarmed_pool(&drops);
    for b in bombs(&drops, 0..3, 0) {
        pool.put(b);
    }
    pool.collect();
    for b in bombs(&drops, 3..6, usize::MAX) {
        pool.put(b);
    }
    assert!(catch_unwind(AssertUnwindSafe(|| pool.clear())).is_err());
    assert_eq!(
        dropped_ids(&drops),
        (0..6).collect::<Vec<_>>(),
        "clear left objects alive"
    );
    assert_eq!(pool.stats().retained, 0);
    assert!(pool.try_take().is_none());
}

/// A guard dropped while its holder panics neither leaks nor double-drops its object: it
/// is either returned to the pool or dropped.
#[test]
fn guard_dropped_during_unwinding() {
    let tracker = Tracker::new(4);
    let pool = Pool::with_factory(move || tracker.make());
    let r = catch_unwind(AssertUnwindSafe(|| {
        let _g = pool.get();
        panic!("user code failed");
    }));
    assert!(r.is_err());
    assert_eq!(tracker.created(), 1);
    assert_eq!(pool.stats().retained + tracker.dropped(), 1);
    pool.collect();
    pool.collect();
    tracker.assert_all_dropped();
}
