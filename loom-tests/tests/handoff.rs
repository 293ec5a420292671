//! Property: **no object is handed to two holders, and none is lost while takers race.**
//!
//! Each model puts a few tracked objects, lets threads take concurrently, then checks that every
//! id was obtained exactly once: during the race, or afterwards by a drain on a quiet pool.
//!
//! Under loom a pool has 2 shards and 4 private slots; threads take slots in the order they
//! first touch a pool (main first: slot 0, home shard 0; then 1 and 2, homed at shards 1 and 0).
#![cfg(loom)]

mod common;
use common::*;

/// Another thread's get never takes a live owner's private object (as in Go, where `private`
/// is never stolen): with object 0 in main's private slot and every shard empty, the thief
/// misses and the owner's claim hits, in every interleaving.
#[test]
fn a_thief_never_takes_a_live_owners_private_object() {
    check("a_thief_never_takes_a_live_owners_private_object", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: main's private slot

        let thief = spawn_with_slot(&pool, move |pool| pool.try_take());
        let mine = pool.try_take();
        let theirs = thief.join().unwrap();

        assert!(theirs.is_none(), "a thief took {theirs:?}");
        assert_eq!(mine.as_ref().map(|o| o.id), Some(0));
        drop((mine, theirs));
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// Two gets race for one object in main's home shard: the owner pops the newest end, a thief
/// (another home shard) the oldest. A busy lock counts as empty, so both may miss, but the
/// object goes to at most one of them and is otherwise still there.
#[test]
fn two_gets_of_one_shard_object() {
    check("two_gets_of_one_shard_object", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: main's home shard
        let first = pool.try_take().expect("own private slot");
        assert_eq!(first.id, 0);

        let thief = spawn_with_slot(&pool, move |pool| pool.try_take());
        let mine = pool.try_take();
        let theirs = thief.join().unwrap();

        let rest = drain(&pool);
        let got: Vec<&Obj> = mine
            .iter()
            .chain(theirs.iter())
            .chain(rest.iter())
            .collect();
        assert_exactly(&got, &[1]);
        drop((first, mine, theirs, rest));
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// Two thieves on one shard at once: main's home shard holds objects 1 and 2 (0 is in main's
/// private slot), and two threads with empty caches get at the same time: one is homed at that
/// shard (it pops the newest), the other at the other shard (it steals the oldest). No object
/// goes to both; whatever they missed (a busy lock) is still there.
#[test]
fn two_thieves_on_one_shard() {
    check("two_thieves_on_one_shard", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: main's home shard
        pool.put(tracker.obj()); // 2: main's home shard

        let thieves: Vec<_> = (0..2)
            .map(|_| spawn_with_slot(&pool, move |pool| pool.try_take()))
            .collect();
        let theirs: Vec<Option<Obj>> = thieves.into_iter().map(|t| t.join().unwrap()).collect();
        for obj in theirs.iter().flatten() {
            assert_ne!(obj.id, 0, "a thief took the owner's private object");
        }

        let rest = drain(&pool);
        let got: Vec<&Obj> = theirs.iter().flatten().chain(rest.iter()).collect();
        assert_exactly(&got, &[0, 1, 2]);
        drop((theirs, rest));
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// The owner takes twice while another thread runs `collect`, which moves the owner's private
/// object (unless the owner's claim came first: the barrier pair decides) and its shard into
/// the victim. Every object is obtained exactly once: during the race, or afterwards from the
/// victim (one collect drops nothing).
#[test]
fn get_racing_collect() {
    check("get_racing_collect", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: home shard

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

/// The owner holds its private object through a guard (`get`) while another thread runs two
/// collections, and returns it in between: the first collection may take object 0 into the
/// victim (before the claim) or find the slot empty, the second may take the returned object.
/// The guard's object is never dropped while held, and every object is in one place after.
#[test]
fn guard_racing_two_collects() {
    check("guard_racing_two_collects", || {
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
            let guard = pool.get(); // object 0, or a new object 1 if a collect took 0
            assert_eq!(
                tracker.drops(guard.id),
                0,
                "object {} dropped while held",
                guard.id
            );
            guard.id
        }; // back to main's private slot (after settling) or its shard
        collector.join().unwrap();
        let rest = drain(&pool);

        assert!(id <= 1, "got object {id}");
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
        // The returned object is obtainable, or both collections ran after its return and the
        // second dropped it: exactly one of the two.
        assert!(
            counts.contains_key(&id) != (tracker.drops(id) == 1),
            "object {id}: obtainable {}, dropped {} times",
            counts.contains_key(&id),
            tracker.drops(id)
        );
        drop(rest);
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// A guard taken on main is dropped on another thread while main collects: the object goes
/// into that thread's private slot, which the collect has retired, or already had (then it
/// waits for the next). It is never dropped by that one collect, main's get never takes it
/// from a live thread's slot, and at most one more collect brings it to the victim, where main
/// obtains it exactly once.
#[test]
fn guard_dropped_on_another_thread() {
    check("guard_dropped_on_another_thread", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        let guard = pool.get();
        assert_eq!(guard.id, 0);
        // SAFETY: only the lifetime changes. The spawned thread owns a clone of the `Arc` that
        // keeps the pool alive, and drops the guard before that clone (the closure drops them
        // in that order, explicitly), so the guard never outlives the pool it borrows.
        let guard: gcpool::Pooled<'static, Obj> = unsafe { std::mem::transmute(guard) };
        let other = spawn_with_slot(&pool, move |pool| {
            drop(guard); // into this thread's private slot
            drop(pool);
        });
        pool.collect();
        other.join().unwrap();
        assert_eq!(
            tracker.drops(0),
            0,
            "one collect dropped the returned object"
        );

        let mut got = drain(&pool); // in the victim if the collect took it
        if got.is_empty() {
            pool.collect(); // it was still in the other thread's private slot
            got = drain(&pool);
        }
        assert_exactly(got.iter(), &[0]);
        drop(got);
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}
