//! Shared pieces of the loom models: tracked objects, a pool factory, and a model runner that
//! reports its iteration count and time.
//!
//! Bookkeeping (ids, drop counts, iteration counts) uses `std` atomics on purpose: loom runs all
//! of a model's threads on one OS thread, so `std` atomics record what really happened in the
//! explored execution without adding scheduling points that would multiply the state space.
//! Everything the *pool* does goes through loom (the crate's sync facade).

#![allow(dead_code)] // each test binary uses a different subset

pub use gcpool::Pool;
pub use loom::sync::Arc;
pub use loom::thread;

#[path = "../../../src/tests/track.rs"]
mod track;
pub use track::{Obj, Tracker, MAX_OBJECTS};

#[path = "../../../src/tests/runner.rs"]
mod runner;
use runner::check_around;
#[allow(unused_imports)] // each test binary uses a different subset
pub use runner::{assert_exactly, id_counts};

/// A pool whose factory makes tracked objects, shared through a loom `Arc`.
pub fn tracked_pool() -> (Arc<Pool<Obj>>, std::sync::Arc<Tracker>) {
    let tracker = Tracker::new();
    let factory = tracker.clone();
    (Arc::new(Pool::with_factory(move || factory.obj())), tracker)
}

/// Spawns a thread that first takes its thread slot in the pool (`snapshot` does), and returns
/// once it has; the thread then runs `f`, the part that races the model's other threads.
///
/// Why: loom models every `Mutex` lock as a `SeqCst` operation, which joins one global clock.
/// A thread whose first use of the pool takes the slot allocator's lock would thereby
/// "happen after" everything the other threads did before it in loom's first schedule, and
/// loom would never try the schedules where its later, plain atomic accesses come first (a
/// model of a guard dropped on another thread explored one execution). With the slot taken
/// before the race, what races carries no lock that is not part of the protocol.
pub fn spawn_with_slot<R: 'static>(
    pool: &Arc<Pool<Obj>>,
    f: impl FnOnce(Arc<Pool<Obj>>) -> R + 'static,
) -> thread::JoinHandle<R> {
    // A channel, not a flag: loom models the receive as blocking, so the wait adds no spin
    // (and no branches) to the explored executions.
    let (ready, slot_taken) = loom::sync::mpsc::channel();
    let handle = {
        let pool = pool.clone();
        thread::spawn(move || {
            drop(pool.snapshot()); // takes the slot (the pool's state exists: main used it)
            ready.send(()).unwrap();
            f(pool)
        })
    };
    slot_taken.recv().unwrap();
    handle
}

/// Spawns a thread that puts two new objects and exits: the first lands in its private slot,
/// the second in its home shard (unless a collection took the first meanwhile).
pub fn spawn_putting_two(
    pool: &Arc<Pool<Obj>>,
    tracker: &std::sync::Arc<Tracker>,
) -> thread::JoinHandle<()> {
    let tracker = tracker.clone();
    spawn_with_slot(pool, move |pool| {
        pool.put(tracker.obj()); // its private slot
        pool.put(tracker.obj()); // its home shard
    })
}

/// Drops the last handle to the pool (and with it every object it holds).
pub fn drop_pool(pool: Arc<Pool<Obj>>) {
    match Arc::try_unwrap(pool) {
        Ok(pool) => drop(pool),
        Err(_) => panic!("the model's other threads must not hold the pool any more"),
    }
}

/// Takes objects with `try_take` until the pool answers `None` (at most `MAX_OBJECTS`).
pub fn drain(pool: &Pool<Obj>) -> Vec<Obj> {
    let mut out = Vec::new();
    while let Some(obj) = pool.try_take() {
        out.push(obj);
        assert!(out.len() <= MAX_OBJECTS, "pool hands out more than exists");
    }
    out
}

/// Runs a model (`runner::check_around`) with a tracing subscriber around it, as `loom::model`
/// installs one: `LOOM_LOG=trace` (with `LOOM_LOCATION=1`) prints every thread switch and
/// operation of the explored executions.
pub fn check(name: &str, model: impl Fn() + Sync + Send + 'static) {
    let subscriber = tracing_subscriber::fmt::Subscriber::builder()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("LOOM_LOG"))
        .with_test_writer()
        .without_time()
        .finish();
    check_around(name, model, |explore| {
        tracing::subscriber::with_default(subscriber, explore)
    });
}
