//! Property: **no object is handed to two holders.**
//!
//! Each model puts a few tracked objects, lets two threads take concurrently, then checks that
//! every id was obtained at most once (and, where nothing can drop it, exactly once).
#![cfg(loom)]

mod common;
use common::*;

/// Two threads take the one object that sits in main's private slot: the owner's CAS
/// (`take_own`) races a thief's CAS (`Private::steal`). Exactly one of them gets it.
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
