//! The private slot (`cache/private.rs`) as a unit: its owner (main) claims, puts and settles as the
//! pool does, while a collector thread runs collect's steps on it (the collectors' lock, then
//! `retire`, the heavy barrier and `take_retired`).
//!
//! Property of every model: **each object ends up in exactly one place**: with the owner, with
//! a collector, or in the "shard" (where the owner's put goes when its slot is full), and the
//! collector reads the value only after the owner's write of it. A value read without
//! happens-before is a loom causality violation; a double hand-out shows up as an object
//! counted twice or dropped twice.

use super::{assert_exactly, check, Obj, Tracker};
use crate::cache::private::{Claim, Private};
use crate::collect;
use crate::sync::{heavy_barrier, Arc};
use loom::thread;

/// One collection of one slot, as `collect::collect_one` runs it (the barrier only if the slot
/// was retired now; a slot retired by an earlier collection had its barrier then).
fn collect(private: &Private<Obj>) -> Option<Obj> {
    let _collectors = collect::lock();
    if private.retire() {
        heavy_barrier();
    }
    private.take_retired()
}

/// Whether the owner's claim stands after settling (under the collectors' lock), as the pool's
/// `Inner::take_after` (`pool/get_slow.rs`) decides it.
fn claim(private: &Private<Obj>) -> bool {
    // `global`: under loom both barrier halves are the same read-modify-write anyway.
    match private.claim(true) {
        Claim::Hit => true,
        Claim::Miss => false,
        Claim::Retired => {
            let _collectors = collect::lock();
            private.settle()
        }
    }
}

/// The owner's take: claim, then move the object out.
fn take(private: &Private<Obj>) -> Option<Obj> {
    claim(private).then(|| private.take_claimed())
}

/// The owner's put, as the pool's `Inner::put_after` decides it. Returns the object if it would go to
/// the shard (the slot still holds an object of ours).
fn put(private: &Private<Obj>, value: Obj) -> Option<Obj> {
    if private.is_empty() {
        private.put(value);
        return None;
    }
    if private.needs_settling() {
        let _collectors = collect::lock();
        private.settle();
    }
    if private.is_empty() {
        private.put(value);
        None
    } else {
        Some(value)
    }
}

/// The owner's claim races one collection of a full slot: exactly one of them gets the object
/// (the barrier pair: either the collector sees the claim's store, or the claim sees
/// `retired` and settles), and afterwards the slot is settled and works again: a new object
/// put into it is the owner's next hit.
#[test]
fn claim_racing_a_collect() {
    check("private::claim_racing_a_collect", || {
        let tracker = Tracker::new();
        let private = Arc::new(Private::new());
        private.put(tracker.obj()); // 0

        let collector = {
            let private = private.clone();
            thread::spawn(move || collect(&private))
        };
        let mine = take(&private);
        let theirs = collector.join().unwrap();
        assert_exactly(mine.iter().chain(theirs.iter()), &[0]);

        assert!(take(&private).is_none(), "the slot still held an object");
        assert!(put(&private, tracker.obj()).is_none(), "slot not free"); // 1
        assert_eq!(take(&private).map(|o| o.id), Some(1));
        drop((mine, theirs));
        tracker.assert_all_dropped_once("at the end");
    });
}

/// The owner takes, then puts a second object, while a collector runs two collections: the
/// first may take object 0 (before the claim) or nothing, the second may take object 1 (the
/// owner's put refilled the slot), and an object a collector took is never taken again
/// (`taken`), nor is it the owner's after it settles. Every object is in exactly one place.
#[test]
fn take_and_put_racing_two_collects() {
    check("private::take_and_put_racing_two_collects", || {
        let tracker = Tracker::new();
        let private = Arc::new(Private::new());
        private.put(tracker.obj()); // 0

        let collector = {
            let private = private.clone();
            thread::spawn(move || {
                let first = collect(&private);
                let second = collect(&private);
                [first, second]
            })
        };
        let mine = take(&private);
        let shard = put(&private, tracker.obj()); // 1
        let theirs = collector.join().unwrap();
        let last = take(&private);

        let got: Vec<&Obj> = mine
            .iter()
            .chain(shard.iter())
            .chain(theirs.iter().flatten())
            .chain(last.iter())
            .collect();
        assert_exactly(got, &[0, 1]);
        drop((mine, shard, theirs, last));
        tracker.assert_all_dropped_once("at the end");
    });
}

/// The owner puts into its empty slot while a collector runs: the collector takes the object
/// only if it sees `FULL`, and then it must see the value the put wrote (the put's `Release`
/// store, `take_retired`'s `Acquire` load); otherwise the owner still has it.
#[test]
fn put_racing_a_collect() {
    check("private::put_racing_a_collect", || {
        let tracker = Tracker::new();
        let private = Arc::new(Private::new());
        let zero = tracker.obj();

        let collector = {
            let private = private.clone();
            thread::spawn(move || collect(&private))
        };
        assert!(put(&private, zero).is_none(), "an empty slot refused a put");
        let theirs = collector.join().unwrap();
        let mine = take(&private);
        assert_exactly(mine.iter().chain(theirs.iter()), &[0]);
        drop((mine, theirs));
        tracker.assert_all_dropped_once("at the end");
    });
}
