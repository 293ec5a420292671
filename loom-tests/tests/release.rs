//! Properties: **every object is dropped exactly once**, and **nothing the semantics keep is
//! lost**: an object whose `put` happens-before a `collect` is still obtainable after it, and a
//! `put` racing a `collect` lands in the primary or the victim, never in retired storage.
//!
//! Drop counts are checked by the objects themselves (a second drop panics) and by the models
//! (`assert_all_dropped_once`); leaks are also reported by loom (`loom::alloc::Track`).
#![cfg(loom)]

mod common;
use common::*;

/// get (with its guard putting back), put, two racing collects and the final pool drop: every
/// object, including any the factory made, is dropped exactly once.
#[test]
fn dropped_once_across_get_put_collect_drop() {
    check("dropped_once_across_get_put_collect_drop", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: deque

        let other = {
            let pool = pool.clone();
            thread::spawn(move || {
                drop(pool.get()); // a hit (stolen or from the victim) or a new object; put back
                pool.collect();
            })
        };
        pool.collect();
        other.join().unwrap();
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// An object whose `put` happens-before `collect()` is obtainable after it (it is in the
/// victim): the collecting thread then takes both objects main put before spawning it, while
/// main itself competes for them.
#[test]
fn put_before_collect_is_obtainable_after() {
    check("put_before_collect_is_obtainable_after", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: deque

        let collector = {
            let pool = pool.clone();
            thread::spawn(move || {
                pool.collect();
                drain(&pool)
            })
        };
        let mine = pool.try_take();
        let theirs = collector.join().unwrap();

        let got: Vec<&Obj> = mine.iter().chain(theirs.iter()).collect();
        assert_exactly(&got, &[0, 1]);
        drop((mine, theirs));
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// A `put` racing one `collect` lands in the primary or in the new victim: after the race, all
/// three objects are obtainable (one collect drops nothing). Object 2's put finds the private
/// slot full (or emptied by the collect) and may push into the deque that the collect is
/// retiring at that moment.
#[test]
fn put_racing_collect_lands_in_primary_or_victim() {
    check("put_racing_collect_lands_in_primary_or_victim", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: deque (now published)

        let collector = {
            let pool = pool.clone();
            thread::spawn(move || pool.collect())
        };
        pool.put(tracker.obj()); // 2: races the collect
        collector.join().unwrap();

        let got = drain(&pool);
        let refs: Vec<&Obj> = got.iter().collect();
        assert_exactly(&refs, &[0, 1, 2]);
        drop(got);
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// A `put` racing two `collect`s may be dropped by them, but once the put has returned, two more
/// collections must drop it (release guarantee) — it must not sit in a deque that a collect
/// already drained, out of reach of every later collect and thief.
#[test]
fn put_racing_two_collects_is_released() {
    check("put_racing_two_collects_is_released", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: deque (now published)

        let collector = {
            let pool = pool.clone();
            thread::spawn(move || {
                pool.collect();
                pool.collect();
            })
        };
        pool.put(tracker.obj()); // 2: races both collects
        collector.join().unwrap();
        pool.collect();
        pool.collect();
        tracker.assert_all_dropped_once("after two collects that follow every put");
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// A `put` racing `clear()` on another thread, which then exits: once both are done, the object
/// is either dropped (the clear took it) or obtainable by another thread's get. It must not sit
/// in the retired deque, out of reach of every get until a later collect drains it (what Miri's
/// schedule of `tests/model.rs` found before thieves searched retired deques whose victim is
/// gone, `Local::stealer`).
#[test]
fn put_racing_clear_is_dropped_or_obtainable() {
    check("put_racing_clear_is_dropped_or_obtainable", || {
        let (pool, tracker) = tracked_pool();
        // 0: the putter's private slot, 1: the putter's deque, racing the clear.
        let putter = spawn_putting_two(&pool, &tracker);
        pool.clear();
        putter.join().unwrap();
        let got = drain(&pool);
        for id in 0..2 {
            let held = got.iter().filter(|o| o.id == id).count();
            let dropped = tracker.drops(id);
            assert!(
                (held, dropped) == (1, 0) || (held, dropped) == (0, 1),
                "object {id}: obtained {held} times, dropped {dropped} times"
            );
        }
        drop(got);
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// `collect` drains the old victim even while a getter holds one of its deques: the drain retries
/// a contended steal instead of treating it as empty. The victim deque holding objects 1 and 2
/// is locked by the thief while the drain reaches it; whatever the thief did not take must be
/// dropped when `collect` returns.
#[test]
fn collect_drains_contended_victim() {
    check("collect_drains_contended_victim", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: deque
        pool.put(tracker.obj()); // 2: deque
        pool.collect(); // victim: [0], [1, 2]

        let thief = {
            let pool = pool.clone();
            thread::spawn(move || pool.try_take())
        };
        pool.collect(); // drops the victim
        let taken = thief.join().unwrap();

        for id in 0..3 {
            let held = taken.as_ref().is_some_and(|o| o.id == id);
            let dropped = tracker.drops(id);
            assert!(
                (held && dropped == 0) || (!held && dropped == 1),
                "object {id}: held by the thief {held}, dropped {dropped} times"
            );
        }
        drop(taken);
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}
