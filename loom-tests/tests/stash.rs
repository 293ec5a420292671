//! Property: **a thief's stash (`src/stash.rs`) hands each object to exactly one holder, and
//! `collect` and other thieves still reach it**, although its owner pops with plain loads and
//! stores: the asymmetric barrier (`sync::light_barrier` / `sync::heavy_barrier`, under loom a
//! read-modify-write of one atomic on both sides) and the settlement under the collectors' lock
//! decide every race.
//!
//! Every model starts the same way, on one thread at a time: a thread puts objects 0-5 (0 in
//! its private slot, 1 and 2 in its first ring of 2, 3-5 in a second ring of 4) and exits; main
//! then takes three times, stealing 1, then 2, then half of the second ring: 3, with 4 kept in
//! main's stash (5 stays in the ring). The race comes after.
#![cfg(loom)]

mod common;
use common::*;

/// The setup's first step: a thread puts objects 0-5 and exits.
fn six_objects_put_by_an_exited_thread(pool: &Arc<Pool<Obj>>, tracker: &std::sync::Arc<Tracker>) {
    let putter = {
        let (pool, tracker) = (pool.clone(), tracker.clone());
        thread::spawn(move || {
            for _ in 0..6 {
                pool.put(tracker.obj());
            }
        })
    };
    putter.join().unwrap();
}

/// The setup above; returns main's three objects.
fn main_holds_a_stash(pool: &Arc<Pool<Obj>>, tracker: &std::sync::Arc<Tracker>) -> Vec<Obj> {
    six_objects_put_by_an_exited_thread(pool, tracker);
    let got: Vec<Obj> = (0..3).map(|_| pool.try_take().expect("a steal")).collect();
    let ids: Vec<usize> = got.iter().map(|o| o.id).collect();
    assert_eq!(ids, [1, 2, 3], "the setup's steals");
    got
}

/// Main's next take races a collect on another thread; then `account`.
fn take_racing_a_collect(pool: Arc<Pool<Obj>>, tracker: &Tracker, mut held: Vec<Obj>) {
    let collector = {
        let pool = pool.clone();
        thread::spawn(move || pool.collect())
    };
    held.extend(pool.try_take());
    collector.join().unwrap();
    account(pool, tracker, held);
}

/// Everything obtainable after the race, plus what the model's threads hold, is each object
/// exactly once; then everything goes back, two collects drop it all.
fn account(pool: Arc<Pool<Obj>>, tracker: &Tracker, mut held: Vec<Obj>) {
    held.extend(drain(&pool));
    let refs: Vec<&Obj> = held.iter().collect();
    assert_exactly(&refs, &(0..tracker.created()).collect::<Vec<_>>());
    for obj in held {
        pool.put(obj);
    }
    pool.collect();
    pool.collect();
    tracker.assert_all_dropped_once("after putting everything back and two collects");
    drop_pool(pool);
}

/// Main pops object 4 from its stash while another thread collects: the collect takes it into
/// the victim, or main gets it, never both, and main's settlement (when it sees the retirement)
/// leaves nothing behind or twice.
#[test]
fn stash_pop_racing_collect_hands_out_each_object_once() {
    check(
        "stash_pop_racing_collect_hands_out_each_object_once",
        || {
            let (pool, tracker) = tracked_pool();
            let held = main_holds_a_stash(&pool, &tracker);
            take_racing_a_collect(pool, &tracker, held);
        },
    );
}

/// Main's third steal, which fills its stash, races a collect: the stash's object is published
/// before or after the collect looks, and either way it is obtainable once afterwards.
#[test]
fn stash_fill_racing_collect_loses_nothing() {
    check("stash_fill_racing_collect_loses_nothing", || {
        let (pool, tracker) = tracked_pool();
        six_objects_put_by_an_exited_thread(&pool, &tracker);
        let held: Vec<Obj> = (0..2).map(|_| pool.try_take().unwrap()).collect();
        // The third take is the steal that fills the stash.
        take_racing_a_collect(pool, &tracker, held);
    });
}

/// Another thread, finding every deque and private slot empty, raids main's stash while main
/// pops from it: object 4 goes to exactly one of them.
#[test]
fn stash_pop_racing_a_raid_hands_out_each_object_once() {
    check("stash_pop_racing_a_raid_hands_out_each_object_once", || {
        let (pool, tracker) = tracked_pool();
        let mut held = main_holds_a_stash(&pool, &tracker);
        // Empty the putter's ring and private slot (objects 5 and 0) from a third thread.
        let emptier = {
            let pool = pool.clone();
            thread::spawn(move || vec![pool.try_take().unwrap(), pool.try_take().unwrap()])
        };
        held.extend(emptier.join().unwrap());
        let raider = {
            let pool = pool.clone();
            thread::spawn(move || pool.try_take())
        };
        let mine = pool.try_take();
        let raided = raider.join().unwrap();
        assert!(
            mine.is_some() != raided.is_some(),
            "object 4 went to {} holders",
            usize::from(mine.is_some()) + usize::from(raided.is_some())
        );
        held.extend(mine);
        held.extend(raided);
        account(pool, &tracker, held);
    });
}
