//! Properties: **every object is dropped exactly once**, and **nothing is dropped early**: an
//! object whose `put` happens-before a `collect` is still obtainable after that one collect, and
//! a `put` racing a `collect` lands in the primary or the victim, where gets and the next
//! collections reach it.
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
        pool.put(tracker.obj()); // 1: home shard

        let other = spawn_with_slot(&pool, move |pool| {
            drop(pool.get()); // a hit (stolen or from the victim) or a new object; put back
            pool.collect();
        });
        pool.collect();
        other.join().unwrap();
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// Not dropped early: objects whose `put` happens-before `collect()` are obtainable after it
/// (they are in the victim); the collecting thread takes them, while main competes for them.
#[test]
fn put_before_collect_is_obtainable_after() {
    check("put_before_collect_is_obtainable_after", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: home shard

        let collector = spawn_with_slot(&pool, move |pool| {
            pool.collect();
            drain(&pool)
        });
        let mine = pool.try_take();
        let theirs = collector.join().unwrap();
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

/// Not dropped early, across a swap: objects put before a collect survive exactly that one
/// collect, whichever thread's get runs meanwhile. A thread with an empty cache gets while main
/// collects once; after both, every object is obtainable (or was the getter's) and none was
/// dropped. Then one more collect drops exactly what nobody took.
#[test]
fn put_before_collect_survives_exactly_one_collect() {
    check("put_before_collect_survives_exactly_one_collect", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: home shard

        let getter = spawn_with_slot(&pool, move |pool| pool.try_take());
        pool.collect();
        let theirs = getter.join().unwrap();
        for id in 0..2 {
            assert_eq!(tracker.drops(id), 0, "object {id} dropped by one collect");
        }
        let rest = drain(&pool);
        let got: Vec<&Obj> = theirs.iter().chain(rest.iter()).collect();
        assert_exactly(&got, &[0, 1]);

        // Put back what main drained: into the primary, so one collect keeps it and a second
        // drops it; what the getter holds is never dropped by the pool.
        for obj in rest {
            pool.put(obj);
        }
        pool.collect();
        pool.collect();
        for id in 0..2 {
            let held = theirs.as_ref().is_some_and(|o| o.id == id);
            assert_eq!(tracker.drops(id), usize::from(!held), "object {id}");
        }
        drop(theirs);
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// A `put` racing one `collect` lands in the primary or in the new victim: after the race, all
/// three objects are obtainable (one collect drops nothing). Object 2's put finds the private
/// slot full (or taken by the collect, and settles) and may push into the shard while the
/// collect swaps it.
#[test]
fn put_racing_collect_lands_in_primary_or_victim() {
    check("put_racing_collect_lands_in_primary_or_victim", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: home shard

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

/// A `put` racing two `collect`s may be dropped by them; once everything is done the object is
/// obtainable or dropped, exactly one of the two, and two more collections release whatever is
/// left (it must not sit where no later collection reaches it).
#[test]
fn put_racing_two_collects_is_released() {
    check("put_racing_two_collects_is_released", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: home shard

        let collector = {
            let pool = pool.clone();
            thread::spawn(move || {
                pool.collect();
                pool.collect();
            })
        };
        pool.put(tracker.obj()); // 2: races both collects
        collector.join().unwrap();
        let stats = pool.stats();
        let dropped: usize = (0..3).map(|id| tracker.drops(id)).sum();
        assert_eq!(stats.collected as usize, dropped, "{stats:?}");
        assert_eq!(stats.retained + dropped, 3, "{stats:?}");
        pool.collect();
        pool.collect();
        tracker.assert_all_dropped_once("after two collects that follow every put");
        drop_pool(pool);
    });
}

/// Two `put`s racing `clear()` on another thread: afterwards each object is in exactly one
/// place: dropped by the clear, obtainable by main's get, or in the putter's private slot
/// (under loom a finished thread hands nothing over: `src/tests/loom_exit.rs` models that), and
/// `stats().retained` counts exactly what is obtainable or private. The putter's first object
/// goes to its private slot; the second to its home shard while the clear swaps it, or to the
/// private slot if the clear took the first one and the putter settled.
#[test]
fn put_racing_clear_is_dropped_or_obtainable() {
    check("put_racing_clear_is_dropped_or_obtainable", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: main's slot and the pool's state exist before the race
        let mine = pool.try_take().expect("own private slot");
        let putter = spawn_putting_two(&pool, &tracker); // 1: private; 2: home shard or private
        pool.clear();
        putter.join().unwrap();
        let stats = pool.stats();
        let got = drain(&pool);
        let private = pool.snapshot().private;
        assert!(private <= 1, "{private} objects in private slots");
        for id in 1..3 {
            let held = got.iter().filter(|o| o.id == id).count();
            assert!(
                held + tracker.drops(id) <= 1,
                "object {id} obtained and dropped"
            );
        }
        let dropped = tracker.drops(1) + tracker.drops(2);
        assert_eq!(
            got.len() + dropped + private,
            2,
            "an object is nowhere: {got:?}"
        );
        assert_eq!(stats.retained, got.len() + private, "{stats:?}");
        assert_eq!(stats.collected as usize, dropped, "{stats:?}");
        drop((mine, got));
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// `collect` drops the old victim while a getter takes from it: each victim object is the
/// getter's or dropped by the collect, exactly once (the collect waits for the victim's lock).
#[test]
fn collect_drains_contended_victim() {
    check("collect_drains_contended_victim", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: home shard
        pool.put(tracker.obj()); // 2: home shard
        pool.collect(); // victim: [0, 1, 2]

        let getter = spawn_with_slot(&pool, move |pool| pool.try_take());
        pool.collect(); // drops the victim
        let taken = getter.join().unwrap();

        for id in 0..3 {
            let held = taken.as_ref().is_some_and(|o| o.id == id);
            let dropped = tracker.drops(id);
            assert!(
                (held && dropped == 0) || (!held && dropped == 1),
                "object {id}: held by the getter {held}, dropped {dropped} times"
            );
        }
        drop(taken);
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// A get misses the victim while a collect installs a new one: main's objects 0 (private) and
/// 1 (shard) were collected once (the victim), then main put 2; a thread with an empty cache
/// gets while main collects again (0 and 1 die, 2 becomes the victim). The getter obtains one
/// of them or misses; afterwards object 2 is obtainable unless the getter has it, and 0 and 1
/// are the getter's or dropped, exactly once. The lengths the getter skipped by are hints that
/// the collect rewrote under the lock, so no later get is misled by them.
#[test]
fn get_missing_the_victim_while_a_collect_installs_one() {
    check(
        "get_missing_the_victim_while_a_collect_installs_one",
        || {
            let (pool, tracker) = tracked_pool();
            pool.put(tracker.obj()); // 0: private
            pool.put(tracker.obj()); // 1: home shard
            pool.collect(); // victim: [0, 1]
            pool.put(tracker.obj()); // 2: private again (after settling)

            let getter = spawn_with_slot(&pool, move |pool| pool.try_take());
            pool.collect(); // 0 and 1 die, 2 is the victim
            let theirs = getter.join().unwrap();

            let rest = drain(&pool);
            for id in 0..2 {
                let held = theirs.as_ref().is_some_and(|o| o.id == id);
                assert_eq!(tracker.drops(id), usize::from(!held), "object {id}");
            }
            let got: Vec<&Obj> = theirs
                .iter()
                .filter(|o| o.id == 2)
                .chain(rest.iter())
                .collect();
            assert_exactly(&got, &[2]);
            drop((theirs, rest));
            drop_pool(pool);
            tracker.assert_all_dropped_once("after pool drop");
        },
    );
}
