//! Properties: **no use-after-free of generation storage**, and **per-thread cache privacy**.
//!
//! Generation storage (the `Victim` and the deques it holds) is freed through crossbeam-epoch.
//! Its deques are loom `Mutex`es (the facade's deque stand-in), so touching one after it was
//! freed makes loom panic; reclamation is forced inside the model (`reclaim`), otherwise the
//! garbage would outlive the execution and a premature free would go unseen.
//!
//! The private slot's value is a loom `UnsafeCell`: a read by `collect` that is not ordered
//! with the owner's write (or a second read of the same value) is reported by loom or shows up
//! as a double hand-out / double drop.
#![cfg(loom)]

mod common;
use common::*;

/// A getter reads the victim while `collect` retires it and the epoch is advanced until the
/// retired storage is actually freed.
#[test]
fn victim_read_racing_its_reclamation() {
    check("victim_read_racing_its_reclamation", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: private
        pool.put(tracker.obj()); // 1: deque
        pool.put(tracker.obj()); // 2: deque
        pool.collect(); // victim: [0], [1, 2]

        let getter = {
            let pool = pool.clone();
            thread::spawn(move || pool.try_take())
        };
        pool.collect(); // retires the victim (defer_destroy) and drops what is left in it
        reclaim();
        let taken = getter.join().unwrap();

        for id in 0..3 {
            let held = taken.as_ref().is_some_and(|o| o.id == id);
            assert_eq!(
                tracker.drops(id),
                usize::from(!held),
                "object {id} (held by the getter: {held})"
            );
        }
        drop(taken);
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}

/// `collect` moves the owner's private object while the owner takes from and puts into its
/// private slot. Every object ends up exactly once: with the owner, or in the victim.
#[test]
fn private_slot_owner_racing_collect() {
    check("private_slot_owner_racing_collect", || {
        let (pool, tracker) = tracked_pool();
        pool.put(tracker.obj()); // 0: main's private slot

        let collector = {
            let pool = pool.clone();
            thread::spawn(move || pool.collect())
        };
        let mine = pool.try_take(); // races collect's take of the private object
        pool.put(tracker.obj()); // 1: writes the private slot while collect may be reading it
        collector.join().unwrap();

        let rest = drain(&pool);
        let got: Vec<&Obj> = mine.iter().chain(rest.iter()).collect();
        assert_exactly(&got, &[0, 1]);
        drop((mine, rest));
        drop_pool(pool);
        tracker.assert_all_dropped_once("after pool drop");
    });
}
