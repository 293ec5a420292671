//! The shard (`cache/shard.rs`) as a unit: takers at both ends, pushes, and collect's `swap` and
//! `take_dying`, racing.
//!
//! Property of every model: **each object ends up in exactly one place**: with a taker, still
//! in the shard (primary or victim), or dropped exactly once by the collector that drained it;
//! and **nothing is dropped early**: an object pushed before a swap is still in the shard after
//! that one swap. After the race the shard is drained on one thread, where nothing is busy.

use super::{assert_exactly, check, Obj, Tracker};
use crate::cache::shard::{End, Shard};
use crate::sync::Arc;
use loom::thread;

/// Everything the shard holds, primary first, taken with no other thread running.
fn drain(shard: &Shard<Obj>) -> Vec<Obj> {
    let mut out = Vec::new();
    while let Some(obj) = shard.take_primary(End::Oldest) {
        out.push(obj);
    }
    while let Some(obj) = shard.take_victim() {
        out.push(obj);
    }
    let (primary, victim) = shard.lens();
    assert_eq!((primary, victim), (0, 0), "the length hints hid objects");
    out
}

/// One collection of the shard with no private objects, then its drain, as `collect_one` runs
/// them (`clear`: both generations go).
fn collect(shard: &Shard<Obj>, clear: bool) {
    shard.swap(clear, || None);
    drop(shard.take_dying());
}

/// Two takers on one shard at once, from both ends (the home shard's owner takes the newest,
/// a thief the oldest), with two objects in it. A busy lock counts as empty, so a taker may
/// miss; but no object goes to both, and whatever they did not take is still in the shard.
#[test]
fn two_takers_at_both_ends() {
    check("shard::two_takers_at_both_ends", || {
        let tracker = Tracker::new();
        let shard = Arc::new(Shard::new());
        shard.push(tracker.obj()); // 0
        shard.push(tracker.obj()); // 1

        let thief = {
            let shard = shard.clone();
            thread::spawn(move || shard.take_primary(End::Oldest))
        };
        let mine = shard.take_primary(End::Newest);
        let theirs = thief.join().unwrap();
        if let (Some(mine), Some(theirs)) = (&mine, &theirs) {
            assert_eq!((mine.id, theirs.id), (1, 0), "wrong ends");
        }
        let rest = drain(&shard);
        assert_exactly(mine.iter().chain(theirs.iter()).chain(rest.iter()), &[0, 1]);
        drop((mine, theirs, rest));
        tracker.assert_all_dropped_once("at the end");
    });
}

/// A push races a collection that moves the primary to the victim and drops the old victim:
/// the pushed object lands in the primary (after the swap) or the victim (before it), never in
/// what the collector drops; the old victim's object is dropped exactly once.
#[test]
fn push_racing_a_collect() {
    check("shard::push_racing_a_collect", || {
        let tracker = Tracker::new();
        let shard = Arc::new(Shard::new());
        shard.push(tracker.obj()); // 0
        shard.swap(false, || None); // 0 in the victim
        let one = tracker.obj();

        let pusher = {
            let shard = shard.clone();
            thread::spawn(move || shard.push(one))
        };
        collect(&shard, false); // 0 dies, 1 is in the primary or the victim
        pusher.join().unwrap();
        assert_eq!(tracker.drops(0), 1, "the old victim was not dropped");
        assert_eq!(tracker.drops(1), 0, "the pushed object was dropped early");
        let rest = drain(&shard);
        assert_exactly(&rest, &[1]);
        drop(rest);
        tracker.assert_all_dropped_once("at the end");
    });
}

/// A push races a collection and then a clear: the object is dropped exactly once if it
/// landed before the clear's swap, or is still in the shard if after; then two more
/// collections drop whatever is left, exactly once.
#[test]
fn push_racing_a_collect_and_a_clear() {
    check("shard::push_racing_a_collect_and_a_clear", || {
        let tracker = Tracker::new();
        let shard = Arc::new(Shard::new());
        shard.push(tracker.obj()); // 0
        let one = tracker.obj();

        let pusher = {
            let shard = shard.clone();
            thread::spawn(move || shard.push(one))
        };
        collect(&shard, false);
        collect(&shard, true);
        pusher.join().unwrap();
        assert_eq!(tracker.drops(0), 1, "the clear did not drop object 0");
        let (primary, victim) = shard.lens();
        assert_eq!(victim, 0, "a clear left a victim");
        assert_eq!(
            primary + tracker.drops(1),
            1,
            "object 1 neither in the shard nor dropped once"
        );
        collect(&shard, false);
        collect(&shard, false);
        tracker.assert_all_dropped_once("after two more collections");
    });
}

/// A thief takes from the victim while a collection retires that victim: each victim object is
/// the thief's or dropped by the collection, exactly once; the collection leaves nothing of
/// the old victim behind.
#[test]
fn victim_take_racing_a_collect() {
    check("shard::victim_take_racing_a_collect", || {
        let tracker = Tracker::new();
        let shard = Arc::new(Shard::new());
        shard.push(tracker.obj()); // 0
        shard.push(tracker.obj()); // 1
        shard.swap(false, || None); // victim [0, 1]

        let thief = {
            let shard = shard.clone();
            thread::spawn(move || shard.take_victim())
        };
        collect(&shard, false);
        let taken = thief.join().unwrap();
        if let Some(obj) = &taken {
            assert_eq!(obj.id, 0, "the victim is taken oldest first");
        }
        for id in 0..2 {
            let held = taken.as_ref().is_some_and(|o| o.id == id);
            assert_eq!(
                tracker.drops(id),
                usize::from(!held),
                "object {id} (held by the thief: {held})"
            );
        }
        assert!(
            drain(&shard).is_empty(),
            "the old victim survived a collection"
        );
        drop(taken);
        tracker.assert_all_dropped_once("at the end");
    });
}
