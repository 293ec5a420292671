//! Property: **the private slot's value is touched only with happens-before**: `collect` reads
//! it only after the owner's write of it, and the owner rewrites it only after a collector's
//! read of it.
//!
//! The private slot's value is a loom `UnsafeCell`: a read by `collect` that is not ordered
//! with the owner's write (or a write by the owner racing a collector's read) is reported by
//! loom as a causality violation; a second read of the same value shows up as a double
//! hand-out or a double drop.
#![cfg(loom)]

mod common;
use common::*;

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
