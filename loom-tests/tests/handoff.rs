//! Property: **no object is handed to two holders.**
//!
//! Each model puts a few tracked objects, lets two threads take concurrently, then checks that
//! every id was obtained at most once (and, where nothing can drop it, exactly once).
#![cfg(loom)]

mod common;
use common::*;

/// Two threads take the one object that sits in main's private slot: the owner's claim (a
/// plain store, then the light barrier and a look at `retired`) races a thief that finds every
/// deque empty and raids the slot (`retired`, the heavy barrier, a look at `state`). Exactly one
/// of them gets it.
#[test]
fn two_gets_of_one_pooled_object() {
    check("two_gets_of_one_pooled_object", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // object 0: main's private slot

        let thief = {
            let pool = pool.clone();
            thread::spawn(move || pool.try_take())
        };
        let mine = pool.try_take();
        let theirs = thief.join().unwrap();

        let got: Vec<&Obj> = mine.iter().chain(theirs.iter()).collect();
        // Nobody else can take or drop it, so it is neither lost nor duplicated.
        assert_exactly(&got, &[0]);
        drop((mine, theirs));
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// The owner pops its deque (LIFO end) while another thread steals from it (FIFO end), with one
/// object in the deque: the deque stand-in's `try_lock` makes the thief see `Retry` whenever the
/// owner holds the lock, so the pool's retry loop is explored too.
#[test]
fn get_racing_steal() {
    check("get_racing_steal", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: main's deque
        let first = pool.try_take().expect("own private slot");
        assert_eq!(first.id, 0);

        let thief = {
            let pool = pool.clone();
            thread::spawn(move || pool.try_take())
        };
        let mine = pool.try_take();
        let theirs = thief.join().unwrap();

        let got: Vec<&Obj> = mine.iter().chain(theirs.iter()).collect();
        assert_exactly(&got, &[1]);
        drop((first, mine, theirs));
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// The owner leases its private object with `get` while another thread runs two collections,
/// and returns the lease in between: the first collection may find the slot full (and take the
/// object into the victim) or leased (and leave it), the second may find it returned. The lease
/// is never taken from under the guard, and the object ends up exactly once: in the guard's
/// hands, then with main again or released by the second collection.
#[test]
fn lease_racing_two_collects() {
    check("lease_racing_two_collects", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private

        let collector = {
            let pool = pool.clone();
            thread::spawn(move || {
                pool.collect();
                pool.collect();
            })
        };
        let id = {
            let guard = pool.get(); // object 0 leased, or a new object 1 if collect took 0
            let id = guard.id;
            // The guard's object is still alive: no collection dropped it from under us.
            assert_eq!(tracker.drops(id), 0, "object {id} dropped while leased");
            id
        }; // returned to main's private slot
        collector.join().unwrap();
        let rest = drain(&pool);

        assert!(id <= 1, "got object {id}");
        // Whatever is left comes out at most once; the rest was released by a collection.
        for obj in &rest {
            assert_eq!(
                tracker.drops(obj.id),
                0,
                "object {} handed out after its drop",
                obj.id
            );
        }
        let counts = id_counts(&rest);
        assert!(
            counts.values().all(|&n| n == 1),
            "handed out twice: {counts:?}"
        );
        drop(rest);
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// The owner takes twice while another thread runs `collect`, which moves the owner's private
/// object and deque into the victim. Every object is obtained exactly once: during the race, or
/// afterwards from the victim (one collect drops nothing).
#[test]
fn get_racing_collect() {
    check("get_racing_collect", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: deque

        let collector = {
            let pool = pool.clone();
            thread::spawn(move || pool.collect())
        };
        let a = pool.try_take();
        let b = pool.try_take();
        collector.join().unwrap();
        let rest = drain(&pool);

        let got: Vec<&Obj> = a.iter().chain(b.iter()).chain(rest.iter()).collect();
        assert_exactly(&got, &[0, 1]);
        drop((a, b, rest));
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}
