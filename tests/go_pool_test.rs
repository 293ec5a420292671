//! Ports of Go's `src/sync/pool_test.go` (Go 1.19): `TestPool`, `TestPoolNew`, `TestPoolGC`
//! and `TestPoolRelease`, with `runtime.GC()` replaced by `Pool::collect` and finalizers by
//! the drop bookkeeping of [`common::Tracker`]. `TestPoolStress` is in `tests/stress.rs`.
//!
//! Go pins the goroutine to its P (`Runtime_procPin`) to make `TestPool` deterministic; here
//! one thread plays that role, since a thread always uses its own cache.

mod common;

use common::Tracker;
use gcpool::Pool;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;

/// A pool for `TestPool`: Go's pool there has no `New`, so the factory must never run.
fn pool_without_new<T: Send + 'static>() -> Pool<T> {
    Pool::with_factory(|| panic!("the factory of a pool without New was called"))
}

/// `TestPool`: the empty pool gives nothing; one thread's `put(a); put(b)` gives `a` (the
/// private slot), then `b`, then nothing; objects survive one collection (served from the
/// victim) and are dropped by the second, which Go checks only by the next `Get` being nil
/// and which this port checks by exact drop counts.
#[test]
fn test_pool() {
    let tracker = Tracker::new(200);
    let p = pool_without_new();
    assert!(p.try_take().is_none(), "an empty pool returned an object");

    let a = tracker.make();
    let b = tracker.make();
    let (a_id, b_id) = (a.id(), b.id());
    p.put(a);
    p.put(b);
    // Go asserts this exact order: the private slot first, then the shared head.
    let first = p.try_take().expect("first get after two puts missed");
    assert_eq!(first.id(), a_id, "the private slot (first put) comes first");
    let second = p.try_take().expect("second get after two puts missed");
    assert_eq!(second.id(), b_id);
    assert!(
        p.try_take().is_none(),
        "a third get after two puts and two gets hit"
    );
    drop((first, second));
    assert_eq!(tracker.dropped(), 2);

    // Go puts 100 times unpinned so that the objects spill into the stealable shared queue.
    let c_ids: Vec<usize> = (0..100)
        .map(|_| {
            let c = tracker.make();
            let id = c.id();
            p.put(c);
            id
        })
        .collect();
    p.collect();
    assert_eq!(
        tracker.dropped(),
        2,
        "the first collection dropped objects it should keep"
    );
    let c = p
        .try_take()
        .expect("the victim did not keep the objects alive");
    assert!(c_ids.contains(&c.id()), "got an object that was never put");
    p.collect();
    assert!(
        p.try_take().is_none(),
        "the second collection did not drop the victim"
    );
    // Strengthened: exactly the 99 untaken objects were dropped, and `c` is still alive.
    assert_eq!(tracker.dropped(), 2 + 99);
    assert!(!tracker.is_dropped(c.id()));
    drop(c);
    tracker.assert_all_dropped();
}

/// `TestPoolNew`: the factory runs only on a miss, and a pooled object wins over it.
#[test]
fn test_pool_new() {
    let calls = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&calls);
    let p = Pool::with_factory(move || counter.fetch_add(1, SeqCst) + 1);
    assert_eq!(p.take(), 1);
    assert_eq!(p.take(), 2);
    p.put(42);
    assert_eq!(
        p.take(),
        42,
        "the factory ran although an object was pooled"
    );
    assert_eq!(p.take(), 3);
    assert_eq!(calls.load(SeqCst), 3);
    // The guard form behaves the same, and returns its object on drop.
    {
        let g = p.get();
        assert_eq!(*g, 4);
    }
    assert_eq!(*p.get(), 4, "the guard did not return its object");
    assert_eq!(calls.load(SeqCst), 4);
}

/// Puts 100 tracked objects, as Go's `testPool` does, and returns their ids.
fn put_hundred(p: &Pool<common::Tracked>, tracker: &'static Tracker) -> Vec<usize> {
    (0..100)
        .map(|_| {
            let x = tracker.make();
            let id = x.id();
            p.put(x);
            id
        })
        .collect()
}

/// `TestPoolGC` (`testPool(drain = true)`): the pool keeps no hidden reference to what it
/// handed out. Go waits for 99 of 100 finalizers; here the count is exact: every object is
/// dropped once when its taker drops it, and later collections drop nothing more.
#[test]
fn test_pool_gc_drain() {
    let tracker = Tracker::new(100);
    let p = pool_without_new();
    let mut ids = put_hundred(&p, tracker);
    let mut taken: Vec<_> = (0..100)
        .map(|_| p.try_take().expect("a put object was lost"))
        .collect();
    assert!(
        p.try_take().is_none(),
        "the pool handed out more than was put"
    );
    let mut got: Vec<usize> = taken.iter().map(|x| x.id()).collect();
    got.sort_unstable();
    ids.sort_unstable();
    assert_eq!(got, ids, "every object comes back exactly once");
    assert_eq!(tracker.dropped(), 0);
    taken.clear();
    assert_eq!(tracker.dropped(), 100);
    p.collect();
    p.collect();
    assert_eq!(
        tracker.dropped(),
        100,
        "a collection dropped an object a user had taken"
    );
    drop(p);
    tracker.assert_all_dropped();
}

/// `TestPoolRelease` (`testPool(drain = false)`), deterministic: nothing is dropped by the
/// first collection (the objects move to the victim), all 100 by the second.
#[test]
fn test_pool_release() {
    let tracker = Tracker::new(100);
    let p = pool_without_new();
    put_hundred(&p, tracker);
    p.collect();
    assert_eq!(
        tracker.dropped(),
        0,
        "the first collection must only demote to the victim"
    );
    p.collect();
    assert_eq!(
        tracker.dropped(),
        100,
        "the second collection must drop every object"
    );
    tracker.assert_all_dropped();
    assert!(p.try_take().is_none());
}

/// `TestPoolRelease`, as it also holds in Go: an unreachable pool releases everything.
/// Dropping the pool drops every object it holds: in the victim, in this thread's private slot
/// and shard, and what a thread that has exited left.
#[test]
fn dropping_the_pool_drops_every_item() {
    let tracker = Tracker::new(300);
    let p = pool_without_new();
    put_hundred(&p, tracker); // these go to the victim
    p.collect();
    put_hundred(&p, tracker); // these stay in this thread's cache (primary)
    std::thread::scope(|s| {
        // These go to the exited thread's private slot and shard. `join` (unlike the end of
        // the scope) waits for its thread-local destructors, which hand the private object over.
        s.spawn(|| put_hundred(&p, tracker)).join().unwrap();
    });
    assert_eq!(tracker.dropped(), 0);
    drop(p);
    tracker.assert_all_dropped();
}
