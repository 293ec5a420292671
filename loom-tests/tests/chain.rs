//! Property: **the deque (`src/chain.rs`, Go's `poolChain`) hands each object to exactly one
//! holder and leaves none out of thieves' reach**, while its owner pushes, pops, wraps a ring
//! and links a new one under a concurrent steal.
//!
//! Under loom the first ring has 2 slots (`FIRST_RING`), so a third object in one thread's deque
//! links a second ring of 4, and a push after a steal reuses the stolen slot. The owner's
//! private slot takes the first object put, so every model keeps it full (or empty) on purpose.
#![cfg(loom)]

mod common;
use common::*;

/// Put everything back, collect twice: every object is dropped exactly once.
fn put_back_and_release(pool: Arc<Pool<Obj>>, tracker: &Tracker, objs: Vec<Obj>) {
    for obj in objs {
        pool.put(obj);
    }
    pool.collect();
    pool.collect();
    tracker.assert_all_dropped_once("after putting everything back and two collects");
    drop_pool(pool);
}

/// Main's private slot full (object 0) and its published ring of 2 empty, then a thief spawned
/// that tries one take. Returns the pool, object 1 (taken back from the deque, for the model to
/// push again) and the thief.
fn empty_ring_and_a_thief() -> (
    Arc<Pool<Obj>>,
    std::sync::Arc<Tracker>,
    Obj,
    thread::JoinHandle<Option<Obj>>,
) {
    let (pool, tracker) = tracked_pool();
    pool.put(tracker.obj()); // 0: private
    pool.put(tracker.obj()); // 1: deque (creates and publishes main's chain)
    let zero = pool.try_take().expect("own private slot");
    let one = pool.try_take().expect("own deque");
    assert_eq!((zero.id, one.id), (0, 1));
    pool.put(zero); // private again: the puts that follow go to the (empty) ring of 2

    let thief = {
        let pool = pool.clone();
        thread::spawn(move || pool.try_take())
    };
    (pool, tracker, one, thief)
}

/// A thief steals while the owner pushes three objects into its empty ring of 2: the first two
/// fill it (the second may reuse the slot the thief just stole from), the third finds it full
/// and links a ring of 4. The thief either claims a pushed object (its value published by the
/// push's release of `head`, its slot not rewritten before the thief read it) or finds the ring
/// empty; it must never skip a ring that is not empty for good (Go's `popTail`: load `next`
/// before trying the ring). After one collect every object is reachable from the victim,
/// which only steals (walks the chain from its `tail`).
#[test]
fn steal_racing_pushes_that_wrap_and_grow_a_ring() {
    check("steal_racing_pushes_that_wrap_and_grow_a_ring", || {
        let (pool, tracker, one, thief) = empty_ring_and_a_thief();
        pool.put(one); // ring 1, slot 0
        pool.put(tracker.obj()); // 2: ring 1, slot 1 (or a new ring if slot 0 is still claimed)
        pool.put(tracker.obj()); // 3: slot 0 again if stolen and read, else a new ring of 4
        let theirs = thief.join().unwrap();

        pool.collect();
        let rest = drain(&pool); // all from the victim: private, then steals from the chain
        let got: Vec<&Obj> = theirs.iter().chain(rest.iter()).collect();
        assert_exactly(&got, &[0, 1, 2, 3]);
        put_back_and_release(pool, &tracker, theirs.into_iter().chain(rest).collect());
    });
}

/// The owner pops through an emptied newer ring into the older one (`pop_older`) while a thief
/// steals from that older ring's tail, racing for its last object; the thief walks past the
/// ring if the owner emptied it first.
#[test]
fn pop_older_ring_racing_steal() {
    check("pop_older_ring_racing_steal", || {
        let (pool, tracker) = tracked_pool();
        for _ in 0..4 {
            pool.put(tracker.obj()); // 0: private; 1, 2: ring of 2; 3: links a ring of 4
        }
        let zero = pool.try_take().expect("own private slot");
        let three = pool.try_take().expect("own newest ring");
        assert_eq!((zero.id, three.id), (0, 3));

        let thief = {
            let pool = pool.clone();
            thread::spawn(move || pool.try_take())
        };
        let a = pool.try_take(); // the ring of 4 is empty: pops 2 (or 1) from the ring of 2
        let b = pool.try_take(); // races the thief for the last one
        let theirs = thief.join().unwrap();

        let got: Vec<&Obj> = a.iter().chain(b.iter()).chain(theirs.iter()).collect();
        assert_exactly(&got, &[1, 2]);
        let objs = [Some(zero), Some(three), a, b, theirs];
        put_back_and_release(pool, &tracker, objs.into_iter().flatten().collect());
    });
}

/// A thief steals while the owner pushes two objects into its empty ring and pops one back. A
/// pop lowers `head` with a store of its own (`Ring::pop_head`, after its CAS on `tail`), and a
/// thief may claim against that store without having read the pushes' stores: the pop's store
/// must publish the older object's value as the pushes' do (`Release` there, `Acquire` in
/// `claim_tail`; with `Relaxed` loom reports a causality violation here). Whatever the order
/// (the thief may also find the deque empty and raid the owner's private object instead), every
/// object is handed out exactly once and nothing is stranded.
#[test]
fn steal_against_a_pop_sees_the_pushes_before_it() {
    check("steal_against_a_pop_sees_the_pushes_before_it", || {
        let (pool, tracker, one, thief) = empty_ring_and_a_thief();
        pool.put(one); // ring slot 0
        pool.put(tracker.obj()); // 2: ring slot 1
        let zero = pool.try_take().expect("own private slot");
        let popped = pool.try_take(); // pops 2 (or 1, or nothing if the thief was first)
        let theirs = thief.join().unwrap();

        let rest = drain(&pool);
        let mut all = vec![zero];
        all.extend(popped);
        all.extend(theirs);
        all.extend(rest);
        let got: Vec<&Obj> = all.iter().collect();
        assert_exactly(&got, &[0, 1, 2]);
        put_back_and_release(pool, &tracker, all);
    });
}
