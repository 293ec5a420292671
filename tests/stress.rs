//! `TestPoolStress` from Go's `src/sync/pool_test.go`, strengthened: many threads mix every
//! way in and out of the pool while another thread collects (and sometimes clears)
//! throughout. Every object carries a unique id and a life state (see `common::Tracked`), so
//! a double hand-out, a double drop, or a hand-off without happens-before panics; at the end
//! the exact counts are compared with `Stats`, and two collections must drop everything.

mod common;

use common::{Rng, Tracked, Tracker};
use gcpool::{Pool, Pooled};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Mutex;

#[cfg(not(miri))]
const THREADS: usize = 8;
#[cfg(miri)]
const THREADS: usize = 3;
#[cfg(not(miri))]
const OPS: usize = 200_000;
#[cfg(miri)]
const OPS: usize = 200;
/// A worker keeps at most this many objects of its own (taken and not yet put back).
const MAX_HELD: usize = 8;
/// Objects a worker puts at once in a burst.
const BURST: usize = 8;
/// Workers call `collect` themselves every this many operations, so that collections also
/// race with each other and happen even when the collector thread gets little CPU.
const WORKER_COLLECT_EVERY: usize = 5_000;

/// What one worker did, to compare with `Stats` at the end.
#[derive(Default)]
struct Counts {
    /// Objects obtained from the pool (by `get`, `take`, `try_get`, `try_take`).
    gets: u64,
    /// Objects given to the pool (by `put` or by dropping a `Pooled` guard).
    puts: u64,
    /// Objects the worker created itself (not through the factory) and put.
    made: u64,
    /// Objects the worker took and dropped itself.
    dropped: u64,
    /// Calls to `collect` made by the worker.
    collections: u64,
}

fn put_back(pool: &Pool<Tracked>, mut x: Tracked, c: &mut Counts) {
    x.release();
    pool.put(x);
    c.puts += 1;
}

fn keep(pool: &Pool<Tracked>, held: &mut Vec<Tracked>, x: Tracked, c: &mut Counts) {
    if held.len() == MAX_HELD {
        let oldest = held.remove(0);
        put_back(pool, oldest, c);
    }
    held.push(x);
}

fn worker(
    pool: &Pool<Tracked>,
    tracker: &'static Tracker,
    mailbox: &Mutex<Vec<Tracked>>,
    seed: u64,
) -> Counts {
    let mut rng = Rng::new(seed);
    let mut c = Counts::default();
    let mut held: Vec<Tracked> = Vec::new();
    for i in 0..OPS {
        if i % WORKER_COLLECT_EVERY == WORKER_COLLECT_EVERY - 1 {
            pool.collect();
            c.collections += 1;
        }
        match rng.below(100) {
            // The guard: use the object in place, it goes back on drop.
            0..=24 => {
                let mut g = pool.get();
                c.gets += 1;
                g.acquire();
                g.release();
                drop(g);
                c.puts += 1;
            }
            25..=29 => {
                if let Some(mut g) = pool.try_get() {
                    c.gets += 1;
                    g.acquire();
                    g.release();
                    drop(g);
                    c.puts += 1;
                }
            }
            30..=44 => {
                let mut x = pool.take();
                c.gets += 1;
                x.acquire();
                keep(pool, &mut held, x, &mut c);
            }
            45..=59 => {
                if let Some(mut x) = pool.try_take() {
                    c.gets += 1;
                    x.acquire();
                    keep(pool, &mut held, x, &mut c);
                }
            }
            60..=64 => {
                let mut x = Pooled::into_inner(pool.get());
                c.gets += 1;
                x.acquire();
                keep(pool, &mut held, x, &mut c);
            }
            65..=85 => {
                if let Some(x) = held.pop() {
                    put_back(pool, x, &mut c);
                }
            }
            86 => {
                // A burst of objects the pool never created (`put` accepts any T): more than
                // the workers reuse, so that collections find idle objects to drop.
                for _ in 0..BURST {
                    pool.put(tracker.make());
                }
                c.made += BURST as u64;
                c.puts += BURST as u64;
            }
            87..=92 => {
                if held.pop().is_some() {
                    c.dropped += 1;
                }
            }
            // Hand objects to other threads so that objects are put by threads that did
            // not take them.
            93..=95 => {
                if let Some(x) = held.pop() {
                    mailbox.lock().unwrap().push(x);
                }
            }
            _ => {
                let x = mailbox.lock().unwrap().pop();
                if let Some(x) = x {
                    keep(pool, &mut held, x, &mut c);
                }
            }
        }
    }
    for x in held {
        put_back(pool, x, &mut c);
    }
    c
}

#[test]
fn stress_get_put_collect() {
    // Each operation creates at most `BURST` objects.
    let tracker = Tracker::new(THREADS * OPS * BURST + 16);
    let pool = Pool::with_factory(move || tracker.make());
    let mailbox = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let (counts, collections, clears) = std::thread::scope(|s| {
        let collector = s.spawn(|| {
            let (mut collections, mut clears) = (0u64, 0u64);
            for i in 0u64.. {
                if stop.load(SeqCst) {
                    break;
                }
                if i % 8 == 7 {
                    pool.clear();
                    clears += 1;
                } else {
                    pool.collect();
                    collections += 1;
                }
                std::thread::yield_now();
            }
            (collections, clears)
        });
        let workers: Vec<_> = (0..THREADS)
            .map(|i| {
                let (pool, mailbox) = (&pool, &mailbox);
                s.spawn(move || worker(pool, tracker, mailbox, i as u64 + 1))
            })
            .collect();
        let counts: Vec<Counts> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        stop.store(true, SeqCst);
        let (collections, clears) = collector.join().unwrap();
        (counts, collections, clears)
    });
    // Objects left in the mailbox are still held by the test: put them back.
    let mut puts_after = 0;
    for mut x in mailbox.into_inner().unwrap() {
        x.release();
        pool.put(x);
        puts_after += 1;
    }

    let sum = |f: fn(&Counts) -> u64| counts.iter().map(f).sum::<u64>();
    let (gets, puts, made, user_dropped) = (
        sum(|c| c.gets),
        sum(|c| c.puts) + puts_after,
        sum(|c| c.made),
        sum(|c| c.dropped),
    );
    let collections = collections + sum(|c| c.collections);
    let st = pool.stats();
    eprintln!(
        "stress: {THREADS} threads x {OPS} ops, {collections} collections, {clears} clears, \
         {} objects created, {st:?}",
        tracker.created()
    );
    assert!(
        st.collected > 0,
        "no collection dropped anything: the test exercises too little"
    );
    // Exactness with no operation in flight.
    assert_eq!(
        st.created as usize,
        tracker.created() - made as usize,
        "created"
    );
    assert_eq!(
        st.hits + st.created,
        gets,
        "every get is a hit or a factory call"
    );
    assert!(st.victim_hits <= st.hits);
    assert_eq!(st.puts, puts, "puts");
    assert_eq!(
        st.collections, collections,
        "collections (clear() is not one)"
    );
    assert_eq!(
        st.collected as usize,
        tracker.dropped() - user_dropped as usize,
        "collected"
    );
    assert_eq!(
        st.retained,
        tracker.live(),
        "retained: the test holds nothing now"
    );

    // Release: two collections drop every object still held.
    pool.collect();
    pool.collect();
    assert_eq!(pool.stats().retained, 0);
    tracker.assert_all_dropped();
    assert!(pool.try_take().is_none());
}

/// A `Pooled` guard is `Send`: guards taken on one thread and dropped on another return their
/// object to the pool from there; nothing is lost or duplicated while a collector runs.
#[test]
fn stress_guards_dropped_on_other_threads() {
    #[cfg(not(miri))]
    const N: usize = 20_000;
    #[cfg(miri)]
    const N: usize = 100;
    let tracker = Tracker::new(N + 16);
    let pool = Pool::with_factory(move || tracker.make());
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Pooled<'_, Tracked>>(16);
        s.spawn(|| {
            while !stop.load(SeqCst) {
                pool.collect();
                std::thread::yield_now();
            }
        });
        let consumer = s.spawn(move || {
            let mut n = 0;
            for mut g in rx {
                g.release();
                drop(g); // returns the object from this thread
                n += 1;
            }
            n
        });
        for _ in 0..N {
            let mut g = pool.get();
            g.acquire();
            tx.send(g).unwrap();
        }
        drop(tx);
        assert_eq!(consumer.join().unwrap(), N);
        stop.store(true, SeqCst);
    });
    let st = pool.stats();
    assert_eq!(st.hits + st.created, N as u64);
    assert_eq!(st.puts, N as u64);
    assert_eq!(st.retained, tracker.live());
    drop(pool);
    tracker.assert_all_dropped();
}
