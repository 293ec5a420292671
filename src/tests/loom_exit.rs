//! The thread-exit hand-over (`thread_slot::thread_exit`): a thread puts into its private slot,
//! then exits, handing the object to its home shard, while another thread collects or gets.
//!
//! Under loom a thread's exit does not run `thread_exit` (loom's thread-locals cannot reach a
//! loom lazy static at model shutdown), so each model's exiting thread calls it last, as the
//! std build's thread-exit guard does.
//!
//! Property of every model: **the exiting thread's private object is found or released exactly
//! once**: the hand-over claims it behind the barrier pair, so either a collector took it (into
//! the victim) or the hand-over pushed it into a shard, never both and never neither.

use super::{assert_exactly, check, Obj, Tracker};
use crate::sync::Arc;
use crate::thread_slot;
use crate::Pool;
use loom::thread;

/// A pool of tracked objects, used once by main so that main's thread slot and the pool's
/// state exist before the race.
fn tracked_pool() -> (Arc<Pool<Obj>>, std::sync::Arc<Tracker>) {
    let tracker = Tracker::new();
    let factory = tracker.clone();
    let pool = Arc::new(Pool::with_factory(move || factory.obj()));
    assert!(pool.try_take().is_none());
    (pool, tracker)
}

/// Spawns a thread that puts one new object (object 0, into its private slot) and exits;
/// returns once the thread has its slot.
fn spawn_put_and_exit(
    pool: &Arc<Pool<Obj>>,
    tracker: &std::sync::Arc<Tracker>,
) -> thread::JoinHandle<()> {
    // A channel, not a flag: loom models the receive as blocking, so the wait adds no spin.
    let (ready, slot_taken) = loom::sync::mpsc::channel();
    let exiting = {
        let (pool, tracker) = (pool.clone(), tracker.clone());
        thread::spawn(move || {
            // Takes the thread slot before the race: loom models a mutex lock as `SeqCst`
            // (one global clock), so taking it during the race would order everything the
            // other thread did before it, and hide the schedules where the put comes first.
            drop(pool.snapshot());
            ready.send(()).unwrap();
            pool.put(tracker.obj()); // its slot (1) owns a private slot: loom's pools have 4
            thread_slot::thread_exit();
        })
    };
    slot_taken.recv().unwrap();
    exiting
}

/// Takes objects with `try_take` until the pool answers `None`.
fn drain(pool: &Pool<Obj>) -> Vec<Obj> {
    std::iter::from_fn(|| pool.try_take()).take(8).collect()
}

/// Drops the last handle to the pool (and with it every object it holds).
fn drop_pool(pool: Arc<Pool<Obj>>) {
    match Arc::try_unwrap(pool) {
        Ok(pool) => drop(pool),
        Err(_) => panic!("the model's other threads must not hold the pool any more"),
    }
}

/// The hand-over races one collection: the collection took the object into the victim, or the
/// hand-over pushed it into a shard (primary or victim). One collection drops nothing put
/// before it, so afterwards main obtains it exactly once.
#[test]
fn hand_over_racing_a_collect() {
    check("exit::hand_over_racing_a_collect", || {
        let (pool, tracker) = tracked_pool();
        let exiting = spawn_put_and_exit(&pool, &tracker);
        pool.collect();
        exiting.join().unwrap();

        let got = drain(&pool);
        assert_exactly(&got, &[0]);
        drop(got);
        drop_pool(pool);
        tracker.assert_all_dropped_once("after the pool's drop");
    });
}

/// The hand-over races a get on another thread (which never takes a live thread's private
/// object): the get obtains the object once it is in a shard, or afterwards main does.
#[test]
fn hand_over_racing_a_get() {
    check("exit::hand_over_racing_a_get", || {
        let (pool, tracker) = tracked_pool();
        let exiting = spawn_put_and_exit(&pool, &tracker);
        let early = pool.try_take();
        exiting.join().unwrap();

        let rest = drain(&pool);
        assert_exactly(early.iter().chain(rest.iter()), &[0]);
        drop((early, rest));
        drop_pool(pool);
        tracker.assert_all_dropped_once("after the pool's drop");
    });
}

/// The hand-over races two collections: the object was dropped by the second (it reached the
/// victim by the first) or is still obtainable (handed over after the first swap), exactly one
/// of the two; then two more collections release it, with the pool alive.
#[test]
fn hand_over_racing_two_collects() {
    check("exit::hand_over_racing_two_collects", || {
        let (pool, tracker) = tracked_pool();
        let exiting = spawn_put_and_exit(&pool, &tracker);
        pool.collect();
        pool.collect();
        exiting.join().unwrap();

        let retained = pool.stats().retained;
        assert_eq!(
            retained + tracker.drops(0),
            1,
            "object 0: retained {retained}, dropped {}",
            tracker.drops(0)
        );
        if retained == 1 {
            let got = drain(&pool);
            assert_exactly(&got, &[0]);
            got.into_iter().for_each(|obj| pool.put(obj));
        }
        pool.collect();
        pool.collect();
        tracker.assert_all_dropped_once("after two collections that follow the exit");
        assert_eq!(pool.stats().retained, 0);
        drop_pool(pool);
    });
}
