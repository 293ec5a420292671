//! Thread churn (semantics 4 and 5 of `tests/semantics.rs`): objects put by threads that have exited are
//! found by other threads, an exiting thread hands its private objects to its shard, and everything is
//! dropped exactly once (by a taker, by two collections, or with the pool).

mod common;

use common::{Tracked, Tracker};
use gcpool::Pool;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;

#[cfg(not(miri))]
const CHURN_THREADS: usize = 128;
#[cfg(miri)]
const CHURN_THREADS: usize = 12;

/// A pool whose factory makes tracked objects.
fn tracked_pool(tracker: &'static Tracker) -> Pool<Tracked> {
    Pool::with_factory(move || tracker.make())
}

/// Puts `n` new objects from a new thread, which then exits; returns their ids.
fn put_from_exited_thread(pool: &Pool<Tracked>, tracker: &'static Tracker, n: usize) -> Vec<usize> {
    thread::scope(|s| {
        s.spawn(|| {
            (0..n)
                .map(|_| {
                    let x = tracker.make();
                    let id = x.id();
                    pool.put(x);
                    id
                })
                .collect()
        })
        .join()
        .unwrap()
    })
}

/// Semantics 4: "an object put by a thread that has since exited is found by another
/// thread's `get`", without calling the factory.
#[test]
fn object_put_by_exited_thread_is_found_by_get() {
    let tracker = Tracker::new(16);
    let pool = tracked_pool(tracker);
    let ids = put_from_exited_thread(&pool, tracker, 1);
    let g = pool.get();
    assert_eq!(
        g.id(),
        ids[0],
        "get did not find the exited thread's object"
    );
    assert_eq!(
        pool.stats().created,
        0,
        "get called the factory although an object was pooled"
    );
    assert_eq!(pool.stats().hits, 1);
    drop(g); // back into this thread's cache

    // More than the private slot: the exited thread's deque is reachable too.
    let more = put_from_exited_thread(&pool, tracker, 5);
    let mut all: Vec<Tracked> = Vec::new();
    while let Some(x) = pool.try_take() {
        all.push(x);
    }
    let mut got: Vec<usize> = all.iter().map(|x| x.id()).collect();
    got.sort_unstable();
    let mut want: Vec<usize> = ids.into_iter().chain(more).collect();
    want.sort_unstable();
    assert_eq!(got, want, "objects of an exited thread were stranded");
    assert_eq!(pool.stats().created, 0);
    drop(all);
    tracker.assert_all_dropped();
}

/// A new thread (which may reuse the exited thread's cache slot) finds the objects too.
#[test]
fn object_put_by_exited_thread_is_found_by_a_later_thread() {
    let tracker = Tracker::new(16);
    let pool = tracked_pool(tracker);
    let mut want = put_from_exited_thread(&pool, tracker, 3);
    let mut got: Vec<usize> = thread::scope(|s| {
        s.spawn(|| {
            std::iter::from_fn(|| pool.try_take())
                .map(|x| x.id())
                .collect()
        })
        .join()
        .unwrap()
    });
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    tracker.assert_all_dropped();
    assert!(pool.try_take().is_none());
}

/// Objects left in exited threads' caches are released by two collections, like any others.
#[test]
fn exited_threads_objects_are_released_by_two_collects() {
    let tracker = Tracker::new(100);
    let pool = tracked_pool(tracker);
    for _ in 0..10 {
        put_from_exited_thread(&pool, tracker, 5);
    }
    assert_eq!(pool.stats().retained, 50);
    pool.collect();
    assert_eq!(
        tracker.dropped(),
        0,
        "the first collection must keep them (victim)"
    );
    assert_eq!(pool.stats().retained, 50);
    pool.collect();
    assert_eq!(pool.stats().retained, 0);
    tracker.assert_all_dropped();
}

/// Dropping the pool drops what exited threads left in their caches.
#[test]
fn dropping_the_pool_drops_exited_threads_objects() {
    let tracker = Tracker::new(CHURN_THREADS * 3);
    let pool = tracked_pool(tracker);
    thread::scope(|s| {
        let threads: Vec<_> = (0..CHURN_THREADS)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..3 {
                        pool.put(tracker.make());
                    }
                })
            })
            .collect();
        // `join` (unlike the end of the scope) waits for the threads' thread-local
        // destructors, which hand their private objects to the shards.
        for t in threads {
            t.join().unwrap();
        }
    });
    assert_eq!(tracker.dropped(), 0);
    drop(pool);
    tracker.assert_all_dropped();
}

/// Thread churn: 128 short-lived threads (in waves, so that slots are reused) each take a
/// few objects, put them back with some new ones, and exit, while two finder threads take
/// objects concurrently. Afterwards one thread drains the pool completely (nothing is
/// stranded in a dead thread's cache), the stats are exact, and two collections drop the
/// rest.
#[test]
fn thread_churn() {
    let tracker = Tracker::new(CHURN_THREADS * 8 + 1024);
    let pool = tracked_pool(tracker);
    let done = AtomicBool::new(false);
    let gets = AtomicU64::new(0);
    let puts = AtomicU64::new(0);
    let made = AtomicU64::new(0);
    let user_dropped = AtomicU64::new(0);
    let found = AtomicU64::new(0);
    thread::scope(|s| {
        let finders: Vec<_> = (0..2u64)
            .map(|f| {
                let (pool, done, gets, puts, user_dropped, found) =
                    (&pool, &done, &gets, &puts, &user_dropped, &found);
                s.spawn(move || {
                    let mut kept: Vec<Tracked> = Vec::new();
                    let mut n = 0u64;
                    while !done.load(SeqCst) {
                        if let Some(mut x) = pool.try_take() {
                            gets.fetch_add(1, SeqCst);
                            found.fetch_add(1, SeqCst);
                            x.acquire();
                            n += 1;
                            // Keep some, drop some, so that the churn threads both refill
                            // and reuse.
                            if n % 3 == f {
                                drop(x);
                                user_dropped.fetch_add(1, SeqCst);
                            } else {
                                kept.push(x);
                            }
                        } else {
                            thread::yield_now();
                        }
                    }
                    for mut x in kept {
                        x.release();
                        pool.put(x);
                        puts.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        for wave in 0..CHURN_THREADS / 8 {
            thread::scope(|w| {
                let mut wave_threads = Vec::new();
                for t in 0..8 {
                    let (pool, gets, puts, made) = (&pool, &gets, &puts, &made);
                    wave_threads.push(w.spawn(move || {
                        let k = 1 + (wave + t) % 4;
                        let mut mine: Vec<Tracked> = (0..k)
                            .map(|_| {
                                let mut x = pool.take();
                                x.acquire();
                                x
                            })
                            .collect();
                        gets.fetch_add(k as u64, SeqCst);
                        for x in &mut mine {
                            x.release();
                        }
                        for x in mine {
                            pool.put(x);
                        }
                        pool.put(tracker.make());
                        pool.put(tracker.make());
                        made.fetch_add(2, SeqCst);
                        puts.fetch_add(k as u64 + 2, SeqCst);
                    }));
                }
                // `join` (unlike the end of the scope) waits for the hand-over in each
                // thread's thread-local destructors.
                for t in wave_threads {
                    t.join().unwrap();
                }
            });
        }
        done.store(true, SeqCst);
        for f in finders {
            f.join().unwrap();
        }
    });
    eprintln!(
        "churn: finders took {} objects from the churn threads",
        found.load(SeqCst)
    );

    let st = pool.stats();
    let made = made.load(SeqCst) as usize;
    assert_eq!(st.created as usize, tracker.created() - made);
    assert_eq!(st.hits + st.created, gets.load(SeqCst));
    assert_eq!(st.puts, puts.load(SeqCst));
    assert_eq!(
        st.retained,
        tracker.live(),
        "every live object is in the pool"
    );
    assert_eq!(st.collections, 0);
    assert_eq!(st.collected, 0);
    assert_eq!(tracker.dropped(), user_dropped.load(SeqCst) as usize);

    // Nothing is stranded: this thread alone finds every live object.
    let all: Vec<Tracked> = std::iter::from_fn(|| pool.try_take()).collect();
    assert_eq!(
        all.len(),
        tracker.live(),
        "objects stranded in exited threads' caches"
    );
    let ids: HashSet<usize> = all.iter().map(|x| x.id()).collect();
    assert_eq!(ids.len(), all.len(), "an object was returned twice");
    for x in all {
        pool.put(x);
    }

    pool.collect();
    assert_eq!(tracker.dropped(), user_dropped.load(SeqCst) as usize);
    pool.collect();
    tracker.assert_all_dropped();
    assert_eq!(pool.stats().retained, 0);
}

/// A thread-local destructor that puts an object back while its thread exits.
struct PutOnExit {
    pool: Arc<Pool<Tracked>>,
    value: Option<Tracked>,
}

impl Drop for PutOnExit {
    fn drop(&mut self) {
        if let Some(x) = self.value.take() {
            self.pool.put(x);
        }
    }
}

thread_local! {
    static PUT_ON_EXIT: RefCell<Option<PutOnExit>> = const { RefCell::new(None) };
}

/// Uses the pool without changing what it holds.
fn touch(pool: &Pool<Tracked>) {
    if let Some(x) = pool.try_take() {
        pool.put(x);
    }
}

/// Puts from a thread-local destructor work, before or after the crate's own thread-exit
/// hook has run (the order depends on which thread-local was touched first), and the object
/// is found afterwards by another thread.
#[test]
fn put_from_a_thread_local_destructor_is_found() {
    let tracker = Tracker::new(8);
    let pool = Arc::new(tracked_pool(tracker));
    let mut want = Vec::new();
    for pool_first in [false, true] {
        let pool2 = Arc::clone(&pool);
        let id = thread::spawn(move || {
            if pool_first {
                // Touch the pool first: the crate's thread-exit hook is then registered
                // before our thread-local (destructor order differs between the two cases;
                // the put must land somewhere reachable either way). Put back what we find:
                // it may be the previous iteration's object.
                touch(&pool2);
            }
            let x = tracker.make();
            let id = x.id();
            PUT_ON_EXIT.with(|p| {
                *p.borrow_mut() = Some(PutOnExit {
                    pool: Arc::clone(&pool2),
                    value: Some(x),
                })
            });
            if !pool_first {
                touch(&pool2);
            }
            id
        })
        .join()
        .unwrap();
        want.push(id);
    }
    let mut got: Vec<usize> = std::iter::from_fn(|| pool.try_take())
        .map(|x| x.id())
        .collect();
    got.sort_unstable();
    assert_eq!(
        got, want,
        "an object put by a thread-local destructor was lost"
    );
    tracker.assert_all_dropped();
}

/// What a thread holds when it exits is handed over where the next thread finds it: many
/// sequential short-lived threads share one object, and the pool's shards do not grow with
/// the number of threads ever started.
#[test]
fn sequential_threads_find_what_exited_threads_left() {
    #[cfg(not(miri))]
    const THREADS: usize = 1000;
    #[cfg(miri)]
    const THREADS: usize = 10;
    let tracker = Tracker::new(THREADS + 1);
    let pool = tracked_pool(tracker);
    for _ in 0..THREADS {
        // `join` (unlike the end of a scope) waits for the thread's thread-local destructors,
        // which hand its private object over.
        thread::scope(|s| {
            s.spawn(|| {
                let x = pool.try_take().unwrap_or_else(|| tracker.make());
                pool.put(x);
            })
            .join()
            .unwrap();
        });
    }
    let shards = pool.snapshot().shards.len();
    assert!(
        shards
            <= std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .next_power_of_two(),
        "{shards} shards"
    );
    assert_eq!(
        tracker.created(),
        1,
        "each thread should have found the previous thread's object"
    );
    drop(pool);
    tracker.assert_all_dropped();
}

static GUARD_TRACKER: std::sync::OnceLock<&'static Tracker> = std::sync::OnceLock::new();

fn guard_tracker() -> &'static Tracker {
    GUARD_TRACKER.get_or_init(|| Tracker::new(16))
}

fn make_for_guards() -> Tracked {
    guard_tracker().make()
}

/// A static pool only the test below uses.
static GUARD_POOL: Pool<Tracked> = Pool::new(make_for_guards);

thread_local! {
    static HELD_GUARD: RefCell<Option<gcpool::Pooled<'static, Tracked>>> = const { RefCell::new(None) };
}

/// A guard kept in a thread-local is dropped while its thread exits, before or after the
/// crate's own thread-exit hook: its object returns to the pool and is found afterwards.
#[test]
fn guard_in_a_thread_local_returns_its_object_at_thread_exit() {
    let tracker = guard_tracker();
    let mut want = Vec::new();
    for pool_first in [false, true] {
        let id = thread::spawn(move || {
            if pool_first {
                touch(&GUARD_POOL);
            }
            HELD_GUARD.with(|h| *h.borrow_mut() = Some(GUARD_POOL.get()));
            if !pool_first {
                touch(&GUARD_POOL);
            }
            HELD_GUARD.with(|h| h.borrow().as_ref().unwrap().id())
        })
        .join()
        .unwrap();
        want.push(id);
    }
    want.sort_unstable();
    want.dedup();
    let mut got: Vec<usize> = std::iter::from_fn(|| GUARD_POOL.try_take())
        .map(|x| x.id())
        .collect();
    got.sort_unstable();
    assert_eq!(got, want, "a guard dropped at thread exit lost its object");
    assert_eq!(tracker.live(), 0);
}
