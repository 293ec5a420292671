//! Properties: **a thread's objects are released after it stops**, **`collect_all` racing a
//! pool's drop** never visits a dangling registry entry, and a 3-thread model of get, steal and
//! collect together.
//!
//! Under loom a finished thread hands nothing over (its exit does not run the registry's
//! thread-exit hook; `src/tests/loom_exit.rs` models the hand-over): its private object stays in
//! its slot, where only a collection reaches it, as a live idle thread's would.
#![cfg(loom)]

mod common;
use common::*;

/// A thread puts two objects (its private slot and its home shard) and stops while main
/// collects; two more collections afterwards drop every one of them exactly once, with the pool
/// still alive: collections reach an idle thread's private slot.
#[test]
fn exited_threads_objects_are_released() {
    check("exited_threads_objects_are_released", || {
        let (pool, tracker) = tracked_pool();
        // 0: its private slot, 1: its home shard.
        let worker = spawn_putting_two(&pool, &tracker);
        pool.collect(); // races the puts
        worker.join().unwrap();
        pool.collect();
        pool.collect();
        tracker.assert_all_dropped_once("after two collects that follow the puts");
        drop_pool(pool);
    });
}

/// `collect_all` runs while the only owner drops the pool: the registry handle keeps the pool's
/// state alive for a visit already under way, and no later visit finds it. Every object is
/// dropped exactly once, by whichever finishes last.
#[test]
fn collect_all_racing_pool_drop() {
    check("collect_all_racing_pool_drop", || {
        let tracker = Tracker::new();
        let pool = {
            let tracker = tracker.clone();
            Pool::with_factory(move || tracker.obj())
        };
        pool.put(tracker.obj()); // 0: private
        pool.collect(); // 0 in the victim
        pool.put(tracker.obj()); // 1: private

        let collector = thread::spawn(gcpool::collect_all);
        drop(pool);
        collector.join().unwrap();
        tracker.assert_all_dropped_once("after the pool was dropped and collect_all returned");
        // The pool is unregistered: this must not visit it (a dangling entry would be a
        // use-after-free of its loom objects).
        gcpool::collect_all();
        tracker.assert_all_dropped_once("after a later collect_all");
    });
}

/// Three threads: main takes from its own private slot and shard, a thief steals, and a third
/// thread collects, all at once. Every object is obtained exactly once, during the race or
/// afterwards from the victim (one collect drops nothing).
#[test]
fn get_steal_collect_three_threads() {
    check("get_steal_collect_three_threads", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: home shard

        let thief = spawn_with_slot(&pool, move |pool| pool.try_take());
        let collector = {
            let pool = pool.clone();
            thread::spawn(move || pool.collect())
        };
        let mine = pool.try_take();
        let theirs = thief.join().unwrap();
        collector.join().unwrap();

        let rest = drain(&pool);
        let got: Vec<&Obj> = mine
            .iter()
            .chain(theirs.iter())
            .chain(rest.iter())
            .collect();
        assert_exactly(&got, &[0, 1]);
        drop((mine, theirs, rest));
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}
