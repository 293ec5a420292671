//! The semantics that the tests must prove, numbered (other test files cite these numbers):
//!
//! 1. exclusive hand-off with happens-before;
//! 2. two generations (and a victim object put again goes to the primary);
//! 3. the primary (own cache, then stealing) is searched before the victim, and `put` never
//!    writes into the victim;
//! 4. same-thread put/take;
//! 5. every object dropped exactly once;
//!
//! plus exact `Stats` after known sequences, and a model-based property test of single-thread
//! behaviour against a two-generation model.

mod common;

use common::{Tracked, Tracker};
use gcpool::{Pool, Pooled};
use proptest::prelude::*;
use std::collections::HashSet;
use std::sync::Barrier;
use std::thread;

fn tracked_pool(tracker: &'static Tracker) -> Pool<Tracked> {
    Pool::with_factory(move || tracker.make())
}

/// Puts a new object and returns its id.
fn put_new(pool: &Pool<Tracked>, tracker: &'static Tracker) -> usize {
    let x = tracker.make();
    let id = x.id();
    pool.put(x);
    id
}

// ---- 1. Exclusive hand-off -------------------------------------------------------------

/// An object held through a guard is not in the pool: no other thread can get it until the
/// guard returns it, and then exactly one can.
#[test]
fn held_object_is_not_handed_out_again() {
    let tracker = Tracker::new(8);
    let pool = tracked_pool(tracker);
    let id = put_new(&pool, tracker);
    let mut g = pool.get();
    g.acquire();
    assert_eq!(g.id(), id);
    thread::scope(|s| {
        s.spawn(|| assert!(pool.try_take().is_none(), "a held object was handed out"));
    });
    assert!(pool.try_take().is_none());
    g.release();
    drop(g);
    // Back in this thread's private slot, which only this thread (or a collect) takes from.
    let got = pool.try_take().map(|x| x.id());
    assert_eq!(got, Some(id));
    assert!(pool.try_take().is_none(), "the object was handed out twice");
    tracker.assert_all_dropped();
}

/// Several threads pass a few objects around through the pool; each hand-off checks that
/// the object is not held elsewhere and that the previous holder's writes are visible
/// (see `Tracked::acquire`).
#[test]
fn exclusive_hand_off_across_threads() {
    #[cfg(not(miri))]
    const N: usize = 20_000;
    #[cfg(miri)]
    const N: usize = 100;
    let tracker = Tracker::new(4 * N + 16);
    let pool = tracked_pool(tracker);
    for _ in 0..4 {
        put_new(&pool, tracker);
    }
    thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let pool = &pool;
                s.spawn(move || {
                    for i in 0..N {
                        if (i + t) % 2 == 0 {
                            let mut g = pool.get();
                            g.acquire();
                            g.release();
                        } else if let Some(mut x) = pool.try_take() {
                            x.acquire();
                            x.release();
                            pool.put(x);
                        }
                    }
                })
            })
            .collect();
        // `join` waits for the threads' thread-local destructors (their hand-over) too.
        for t in threads {
            t.join().unwrap();
        }
    });
    let st = pool.stats();
    assert_eq!(st.retained, tracker.live());
    drop(pool);
    tracker.assert_all_dropped();
}

// ---- 2. Two generations ----------------------------------------------------------------

/// An object put and not taken survives one collection (served from the victim) and is
/// dropped by the second, when `collect` returns.
#[test]
fn survives_one_collection_dropped_by_the_second() {
    let tracker = Tracker::new(8);
    let pool = tracked_pool(tracker);
    let id = put_new(&pool, tracker);
    let snap = pool.snapshot();
    assert_eq!((snap.primary, snap.victim), (1, 0));
    pool.collect();
    assert!(!tracker.is_dropped(id));
    let snap = pool.snapshot();
    assert_eq!((snap.primary, snap.victim), (0, 1));
    pool.collect();
    assert!(
        tracker.is_dropped(id),
        "the second collection must drop it before returning"
    );
    let snap = pool.snapshot();
    assert_eq!((snap.primary, snap.victim), (0, 0));
    let st = pool.stats();
    assert_eq!((st.collections, st.collected, st.retained), (2, 1, 0));
}

/// A victim object that is taken and put again goes to the primary: it then survives the
/// next collection (which drops the victim) and is dropped by the one after.
#[test]
fn victim_object_put_again_goes_to_primary() {
    let tracker = Tracker::new(8);
    let pool = tracked_pool(tracker);
    let id = put_new(&pool, tracker);
    pool.collect();
    let x = pool.take();
    assert_eq!(x.id(), id);
    let st = pool.stats();
    assert_eq!((st.hits, st.victim_hits), (1, 1));
    pool.put(x);
    let snap = pool.snapshot();
    assert_eq!(
        (snap.primary, snap.victim),
        (1, 0),
        "a re-put victim object must go to the primary"
    );
    pool.collect();
    assert!(
        !tracker.is_dropped(id),
        "the re-put object was dropped with the old victim"
    );
    pool.collect();
    assert!(tracker.is_dropped(id));

    // The same through a guard: a victim hit returned by `Pooled::drop` goes to the primary.
    let id = put_new(&pool, tracker);
    pool.collect();
    {
        let g = pool.get();
        assert_eq!(g.id(), id);
    }
    assert_eq!(pool.snapshot().primary, 1);
    pool.collect();
    assert!(!tracker.is_dropped(id));
    pool.collect();
    tracker.assert_all_dropped();
}

// ---- 3. Primary before victim; put never writes into the victim ------------------------

/// Own cache before the victim: `put x; collect; put y` then take gives `y`, then `x`.
#[test]
fn primary_is_searched_before_victim() {
    let tracker = Tracker::new(8);
    let pool = tracked_pool(tracker);
    let x = put_new(&pool, tracker);
    pool.collect();
    let y = put_new(&pool, tracker);
    assert_eq!(
        pool.take().id(),
        y,
        "the victim was searched before the primary"
    );
    assert_eq!(pool.take().id(), x);
    let st = pool.stats();
    assert_eq!((st.hits, st.victim_hits, st.created), (2, 1, 0));
    assert!(pool.try_take().is_none());
}

/// Stealing from other shards comes before the victim, whether the thread that put there is
/// alive or has exited (an exiting thread hands its private object to its shard).
#[test]
fn other_threads_caches_are_searched_before_victim() {
    let tracker = Tracker::new(16);
    let pool = tracked_pool(tracker);
    let x = put_new(&pool, tracker);
    pool.collect();

    // A live thread's shard (its private object stays its own).
    let put_done = Barrier::new(2);
    let taken = Barrier::new(2);
    let mut left = 0;
    thread::scope(|s| {
        let other = s.spawn(|| {
            let ids = [0; 3].map(|_| put_new(&pool, tracker));
            let has_private = pool.snapshot().own_private.is_some();
            put_done.wait();
            taken.wait(); // stay alive while the main thread takes
            (ids, has_private)
        });
        put_done.wait();
        let a = pool.take().id();
        let b = pool.take().id();
        taken.wait();
        let ([y0, y1, y2], has_private) = other.join().unwrap();
        left = if has_private { y0 } else { y2 };
        let mut got = [a, b];
        got.sort_unstable();
        // With a private slot, the other thread's first object stays in it.
        let want = if has_private { [y1, y2] } else { [y0, y1] };
        assert_eq!(
            got, want,
            "the victim was searched before a live thread's shard"
        );
    });

    // Exited threads: what they held (the other thread's leftover, and `z`) went to the shards.
    let z = thread::scope(|s| s.spawn(|| put_new(&pool, tracker)).join().unwrap());
    let mut got = [pool.take().id(), pool.take().id()];
    got.sort_unstable();
    let mut want = [left, z];
    want.sort_unstable();
    assert_eq!(
        got, want,
        "the victim was searched before what exited threads left"
    );
    assert_eq!(pool.take().id(), x);
    let st = pool.stats();
    assert_eq!((st.hits, st.victim_hits, st.created), (5, 1, 0));
    assert_eq!(pool.stats().created, 0);
}

/// As in Go's `getSlow`, a thief steals from the shards and never takes a live thread's
/// private object: the owner finds it where it left it.
#[test]
fn a_thief_takes_the_shard_and_leaves_the_private_object_to_its_owner() {
    let tracker = Tracker::new(8);
    let pool = tracked_pool(tracker);
    let (put_done, stolen) = (Barrier::new(2), Barrier::new(2));
    thread::scope(|s| {
        let owner = s.spawn(|| {
            let ids = (put_new(&pool, tracker), put_new(&pool, tracker)); // private, shard
            let has_private = pool.snapshot().own_private.is_some();
            put_done.wait();
            stolen.wait();
            let after = pool.try_take().map(|o| o.id());
            (ids, has_private, after)
        });
        put_done.wait();
        let first = pool.try_take().map(|o| o.id());
        let second = pool.try_take().map(|o| o.id());
        stolen.wait();
        let ((private, shard), has_private, after) = owner.join().unwrap();
        if has_private {
            assert_eq!(first, Some(shard), "the shard's object is stolen");
            assert_eq!(second, None, "a live thread's private object was stolen");
            assert_eq!(after, Some(private), "the owner finds its private object");
        } else {
            // A thread without a private slot (many test threads run): both in its shard.
            assert_eq!(first, Some(private), "stolen oldest first");
            assert_eq!(second, Some(shard));
            assert_eq!(after, None);
        }
    });
    let st = pool.stats();
    assert_eq!((st.hits, st.victim_hits, st.created), (2, 0, 0));
}

/// `put` never writes into the victim: with a non-empty victim, puts go to the primary, and
/// the next collection drops exactly the old victim.
#[test]
fn put_never_writes_into_the_victim() {
    let tracker = Tracker::new(16);
    let pool = tracked_pool(tracker);
    let x = put_new(&pool, tracker);
    pool.collect();
    let ys: Vec<usize> = (0..5).map(|_| put_new(&pool, tracker)).collect();
    let snap = pool.snapshot();
    assert_eq!((snap.primary, snap.victim), (5, 1));
    pool.collect();
    assert!(tracker.is_dropped(x));
    assert!(
        ys.iter().all(|&y| !tracker.is_dropped(y)),
        "a put object was dropped with the victim"
    );
    assert_eq!(tracker.dropped(), 1);
    let snap = pool.snapshot();
    assert_eq!((snap.primary, snap.victim), (0, 5));
}

// ---- 4. Same thread -----------------------------------------------------------------------

/// `put(a); put(b)` then two `try_take()` give `a` and `b`, then `None`.
#[test]
fn same_thread_put_two_take_two() {
    let tracker = Tracker::new(8);
    let pool = tracked_pool(tracker);
    let a = put_new(&pool, tracker);
    let b = put_new(&pool, tracker);
    let first = pool.try_take().expect("miss after two puts").id();
    let second = pool
        .try_take()
        .expect("miss after two puts and one take")
        .id();
    let mut got = [first, second];
    got.sort_unstable();
    assert_eq!(got, [a, b]);
    assert!(pool.try_take().is_none());
    assert_eq!(pool.stats().created, 0);
    tracker.assert_all_dropped();
}

/// The diagnostic snapshot shows the private slot, then the home shard's primary list.
#[test]
fn snapshot_shows_the_private_slot_then_the_home_shard() {
    let pool: Pool<u32> = Pool::default();
    pool.put(1);
    let snap = pool.snapshot();
    assert_eq!(
        snap.shards.iter().filter(|s| s.home).count(),
        1,
        "one home shard"
    );
    if snap.own_private.is_none() {
        return; // this test thread has no private slot (many threads run): nothing to show
    }
    assert_eq!(snap.own_private, Some(true));
    assert_eq!((snap.private, snap.primary), (1, 1));
    pool.put(2);
    pool.put(3);
    let snap = pool.snapshot();
    let home = snap.shards.iter().find(|s| s.home).unwrap();
    assert_eq!((home.private, home.shared), (1, 2));
    assert_eq!(snap.primary, 3);
}

/// A thief takes another shard's oldest object (its home shard's newest), never the private
/// object of a live thread (as in Go); a collect moves that private object into the victim,
/// where the thief finds it.
#[test]
fn a_thief_never_takes_a_live_threads_private_object_but_finds_it_after_a_collect() {
    let pool = Pool::new(|| u32::MAX);
    for i in 0..7 {
        pool.put(i); // 0: this thread's private slot (if it has one); 1..=6: its home shard
    }
    let main = pool.snapshot();
    let main_home = main.shards.iter().position(|s| s.home).unwrap();
    let private = main.own_private == Some(true);
    thread::scope(|s| {
        s.spawn(|| {
            let mine = pool.snapshot();
            let my_home = mine.shards.iter().position(|s| s.home).unwrap();
            let first = pool.try_take();
            if my_home == main_home {
                assert_eq!(first, Some(6), "the home shard is used newest first");
            } else {
                assert_eq!(first, Some(1), "another shard is stolen from oldest first");
            }
            let mut rest: Vec<u32> = std::iter::from_fn(|| pool.try_take()).collect();
            rest.extend(first);
            rest.sort_unstable();
            if private {
                assert_eq!(
                    rest,
                    [1, 2, 3, 4, 5, 6],
                    "took a live thread's private object"
                );
                pool.collect();
                assert_eq!(
                    pool.try_take(),
                    Some(0),
                    "the collect moved it to the victim"
                );
            } else {
                assert_eq!(rest, [0, 1, 2, 3, 4, 5, 6]);
            }
            assert_eq!(pool.try_take(), None);
        });
    });
}

// ---- Stats and clear ----------------------------------------------------------------------

/// Exact stats after a known single-thread sequence.
#[test]
fn stats_after_a_known_sequence() {
    let tracker = Tracker::new(16);
    let pool = tracked_pool(tracker);
    assert_eq!(pool.stats(), gcpool::Stats::default());

    let a = pool.take(); // miss: created 1
    let b = pool.take(); // miss: created 2
    pool.put(a); // puts 1
    pool.put(b); // puts 2
    let a = pool.take(); // hit 1
    drop(pool.get()); // hit 2, puts 3 (the guard returns it)
    let st = pool.stats();
    assert_eq!((st.created, st.hits, st.victim_hits, st.puts), (2, 2, 0, 3));
    assert_eq!((st.collections, st.collected, st.retained), (0, 0, 1));

    pool.collect(); // 1 object to the victim
    pool.put(a); // puts 4: primary 1, victim 1
    let st = pool.stats();
    assert_eq!(
        (st.collections, st.collected, st.retained, st.puts),
        (1, 0, 2, 4)
    );
    let a = pool.take(); // hit 3 from the primary
    let b = pool.take(); // hit 4 from the victim
    let c = pool.take(); // miss: created 3
    let st = pool.stats();
    assert_eq!(
        (st.created, st.hits, st.victim_hits, st.retained),
        (3, 4, 1, 0)
    );

    pool.put(a);
    pool.put(b);
    pool.collect(); // victim empty: drops nothing; 2 to the victim
    pool.put(c); // primary 1
    let st = pool.stats();
    assert_eq!(
        (st.puts, st.collections, st.collected, st.retained),
        (7, 2, 0, 3)
    );
    pool.collect(); // drops 2, 1 to the victim
    let st = pool.stats();
    assert_eq!((st.collections, st.collected, st.retained), (3, 2, 1));
    assert_eq!(tracker.dropped(), 2);

    pool.put(tracker.make()); // puts 8: primary 1, victim 1
    pool.clear(); // drops 2, not a collection
    let st = pool.stats();
    assert_eq!(
        (st.puts, st.collections, st.collected, st.retained),
        (8, 3, 4, 0)
    );
    assert_eq!((st.created, st.hits, st.victim_hits), (3, 4, 1));
    assert_eq!(
        (st.rejected, st.shrunk),
        (0, 0),
        "the default pool rejects nothing"
    );
    tracker.assert_all_dropped();
}

/// `clear` drops everything held now, in both generations and in every thread's cache.
#[test]
fn clear_drops_everything_now() {
    let tracker = Tracker::new(16);
    let pool = tracked_pool(tracker);
    put_new(&pool, tracker);
    pool.collect();
    put_new(&pool, tracker);
    put_new(&pool, tracker);
    // `join` (unlike the end of the scope) waits for the thread's thread-local destructors,
    // which hand its private object over to the shards before `clear` runs.
    thread::scope(|s| s.spawn(|| put_new(&pool, tracker)).join().unwrap());
    let held = pool.take();
    pool.clear();
    assert_eq!(tracker.dropped(), 3);
    assert!(!tracker.is_dropped(held.id()));
    assert!(pool.try_take().is_none());
    let snap = pool.snapshot();
    assert_eq!((snap.primary, snap.victim), (0, 0));
    drop(held);
    tracker.assert_all_dropped();
}

/// `Pooled::into_inner` keeps the object: nothing returns it to the pool.
#[test]
fn into_inner_keeps_the_object() {
    let tracker = Tracker::new(8);
    let pool = tracked_pool(tracker);
    let id = put_new(&pool, tracker);
    let x: Tracked = Pooled::into_inner(pool.get());
    assert_eq!(x.id(), id);
    assert!(pool.try_take().is_none());
    let st = pool.stats();
    assert_eq!((st.hits, st.puts, st.retained), (1, 1, 0));
    drop(x);
    tracker.assert_all_dropped();
}

/// `Pooled` derefs mutably, and changes are kept when it goes back.
#[test]
fn guard_deref_mut_changes_are_kept() {
    let pool: Pool<Vec<u8>> = Pool::default();
    pool.get().extend_from_slice(b"abc");
    assert_eq!(&*pool.get(), b"abc");
    assert_eq!(pool.stats().created, 1);
}

// ---- Model-based property test --------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Take,
    TryTake,
    GetGuard,
    TryGetGuard,
    IntoInner,
    PutNew,
    PutHeld(usize),
    DropHeld(usize),
    Collect,
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Take),
        3 => Just(Op::TryTake),
        2 => Just(Op::GetGuard),
        1 => Just(Op::TryGetGuard),
        1 => Just(Op::IntoInner),
        3 => Just(Op::PutNew),
        4 => any::<usize>().prop_map(Op::PutHeld),
        1 => any::<usize>().prop_map(Op::DropHeld),
        2 => Just(Op::Collect),
        1 => Just(Op::Clear),
    ]
}

/// The two-generation model of one thread's view of a pool, with the stats it implies.
#[derive(Default)]
struct Model {
    primary: HashSet<usize>,
    victim: HashSet<usize>,
    dropped: usize,
    created: u64,
    hits: u64,
    victim_hits: u64,
    puts: u64,
    collections: u64,
    collected: u64,
}

impl Model {
    /// Checks where an object obtained by a get came from: any primary object if the
    /// primary is not empty, else any victim object, else a new one from the factory.
    fn got(&mut self, id: usize, tracker: &Tracker, created_before: usize) {
        if !self.primary.is_empty() {
            assert!(
                self.primary.remove(&id),
                "got {id}, not from the non-empty primary {:?}",
                self.primary
            );
            self.hits += 1;
        } else if !self.victim.is_empty() {
            assert!(
                self.victim.remove(&id),
                "got {id}, not from the victim {:?}",
                self.victim
            );
            self.hits += 1;
            self.victim_hits += 1;
        } else {
            assert_eq!(
                tracker.created(),
                created_before + 1,
                "a miss must call the factory"
            );
            assert_eq!(
                id, created_before,
                "a miss must return the factory's object"
            );
            self.created += 1;
        }
    }

    fn put(&mut self, id: usize) {
        self.puts += 1;
        self.primary.insert(id);
    }

    fn is_empty(&self) -> bool {
        self.primary.is_empty() && self.victim.is_empty()
    }
}

fn run_model(ops: Vec<Op>) {
    let tracker = Tracker::new(ops.len() + 1);
    let pool = tracked_pool(tracker);
    let mut m = Model::default();
    let mut held: Vec<Tracked> = Vec::new();
    for op in ops {
        let before = tracker.created();
        let empty = m.is_empty();
        match op {
            Op::Take => {
                let x = pool.take();
                m.got(x.id(), tracker, before);
                held.push(x);
            }
            Op::TryTake => match pool.try_take() {
                Some(x) => {
                    assert!(!empty);
                    m.got(x.id(), tracker, before);
                    held.push(x);
                }
                None => assert!(empty, "try_take missed a pooled object"),
            },
            Op::GetGuard => {
                let g = pool.get();
                let id = g.id();
                m.got(id, tracker, before);
                drop(g);
                m.put(id);
            }
            Op::TryGetGuard => match pool.try_get() {
                Some(g) => {
                    let id = g.id();
                    assert!(!empty);
                    m.got(id, tracker, before);
                    drop(g);
                    m.put(id);
                }
                None => assert!(empty, "try_get missed a pooled object"),
            },
            Op::IntoInner => {
                let x = Pooled::into_inner(pool.get());
                m.got(x.id(), tracker, before);
                held.push(x);
            }
            Op::PutNew => m.put(put_new(&pool, tracker)),
            Op::PutHeld(i) => {
                if !held.is_empty() {
                    let x = held.swap_remove(i % held.len());
                    m.put(x.id());
                    pool.put(x);
                }
            }
            Op::DropHeld(i) => {
                if !held.is_empty() {
                    held.swap_remove(i % held.len());
                    m.dropped += 1;
                }
            }
            Op::Collect => {
                let old = std::mem::take(&mut m.victim);
                pool.collect();
                assert!(
                    old.iter().all(|&id| tracker.is_dropped(id)),
                    "collect kept an old victim"
                );
                m.dropped += old.len();
                m.collected += old.len() as u64;
                m.collections += 1;
                m.victim = std::mem::take(&mut m.primary);
            }
            Op::Clear => {
                pool.clear();
                let n = m.primary.len() + m.victim.len();
                m.dropped += n;
                m.collected += n as u64;
                m.primary.clear();
                m.victim.clear();
            }
        }
        let st = pool.stats();
        assert_eq!(
            (
                st.created,
                st.hits,
                st.victim_hits,
                st.puts,
                st.collections,
                st.collected
            ),
            (
                m.created,
                m.hits,
                m.victim_hits,
                m.puts,
                m.collections,
                m.collected
            ),
            "stats (created, hits, victim_hits, puts, collections, collected)"
        );
        assert_eq!(st.retained, m.primary.len() + m.victim.len(), "retained");
        let snap = pool.snapshot();
        assert_eq!(
            (snap.primary, snap.victim),
            (m.primary.len(), m.victim.len()),
            "snapshot"
        );
        assert_eq!(tracker.dropped(), m.dropped, "drops");
    }
    drop(held);
    drop(pool);
    tracker.assert_all_dropped();
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        ..ProptestConfig::default()
    })]

    /// Single thread: every get obeys primary-then-victim-then-factory, puts go to the
    /// primary, collect/clear drop exactly what the model says, and stats and snapshot
    /// match the model after every operation.
    #[test]
    fn single_thread_matches_the_two_generation_model(ops in proptest::collection::vec(op(), 0..80)) {
        run_model(ops);
    }
}

// ---- Reentrancy, zero-sized types, auto traits -------------------------------------------

/// What a `SelfUser` does with its own pool when it is dropped.
#[derive(Clone, Copy)]
enum OnDrop {
    Nothing,
    Put,
    TryTake,
    Collect,
    Clear,
}

struct SelfUser(OnDrop);

static SELF_USERS_LIVE: std::sync::atomic::AtomicIsize = std::sync::atomic::AtomicIsize::new(0);

impl SelfUser {
    fn new(on_drop: OnDrop) -> Self {
        SELF_USERS_LIVE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        SelfUser(on_drop)
    }
}

fn quiet_self_user() -> SelfUser {
    SelfUser::new(OnDrop::Nothing)
}

/// A pool whose objects use it from their `Drop` (only the test below uses it).
static SELF_USERS: Pool<SelfUser> = Pool::new(quiet_self_user);

impl Drop for SelfUser {
    fn drop(&mut self) {
        SELF_USERS_LIVE.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        match self.0 {
            OnDrop::Nothing => {}
            OnDrop::Put => SELF_USERS.put(SelfUser::new(OnDrop::Nothing)),
            OnDrop::TryTake => drop(SELF_USERS.try_take()),
            OnDrop::Collect => SELF_USERS.collect(),
            OnDrop::Clear => SELF_USERS.clear(),
        }
    }
}

/// `collect` and `clear` drop objects outside every internal lock: a `Drop` may put into,
/// take from, collect or clear the same pool without deadlock, and nothing leaks.
#[test]
fn drops_may_use_the_same_pool() {
    use OnDrop::*;
    let live = || SELF_USERS_LIVE.load(std::sync::atomic::Ordering::SeqCst);
    for round in 0..3 {
        for on_drop in [Put, TryTake, Collect, Nothing, Clear, Put, Nothing] {
            SELF_USERS.put(SelfUser::new(on_drop));
        }
        match round {
            0 => {
                SELF_USERS.collect();
                SELF_USERS.collect();
            }
            1 => SELF_USERS.clear(),
            _ => {
                SELF_USERS.collect();
                drop(SELF_USERS.get()); // a victim hit, back to the primary
                SELF_USERS.clear();
            }
        }
    }
    // Every drop that puts creates a quiet object, so a few more cycles drop everything.
    for _ in 0..4 {
        SELF_USERS.clear();
    }
    assert_eq!(live(), 0, "objects leaked");
    assert_eq!(SELF_USERS.stats().retained, 0);
}

/// Zero-sized objects work like any others.
#[test]
fn zero_sized_objects() {
    let pool: Pool<()> = Pool::default();
    for _ in 0..5 {
        pool.put(());
    }
    assert_eq!(pool.stats().retained, 5);
    pool.collect();
    assert_eq!(pool.snapshot().victim, 5);
    assert_eq!(std::iter::from_fn(|| pool.try_take()).count(), 5);
    let st = pool.stats();
    assert_eq!((st.hits, st.victim_hits, st.retained), (5, 5, 0));
}

/// `Pool<T>` is `Send + Sync` and `Pooled` is `Send` whenever `T: Send`, even if `T` is not
/// `Sync` (a pool hands each object to one thread at a time).
#[test]
fn auto_traits() {
    fn send_sync<X: Send + Sync>() {}
    fn send<X: Send>() {}
    send_sync::<Pool<std::cell::Cell<u8>>>();
    send::<Pooled<'static, std::cell::Cell<u8>>>();
    send_sync::<gcpool::Collector>();
    // Usable after a panic (no user code runs while the pool holds a lock), so usable from
    // `catch_unwind` without `AssertUnwindSafe`.
    fn unwind_safe<X: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<Pool<String>>();
    let pool = Pool::new(String::new);
    let caught = std::panic::catch_unwind(|| {
        let _s = pool.get();
        panic!("user code panics while holding a guard");
    });
    assert!(caught.is_err());
    assert_eq!(pool.stats().puts, 1, "the guard went back while unwinding");
    assert_eq!(pool.take(), "");
}

// ---- 6. No stop-the-world -------------------------------------------------------------

/// An object whose drop blocks until told to proceed, so that a test can act while a
/// `collect` is in the middle of dropping objects.
enum Gate {
    Blocking {
        entered: std::sync::mpsc::Sender<()>,
        proceed: std::sync::mpsc::Receiver<()>,
    },
    Plain,
}

impl Drop for Gate {
    fn drop(&mut self) {
        if let Gate::Blocking { entered, proceed } = self {
            entered.send(()).unwrap();
            proceed
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("an operation waited for collect's drops: collect stopped the world");
        }
    }
}

/// Semantics 6: while one thread's `collect` is dropping objects (here: blocked inside a
/// `Drop`), other threads' get, put, steal, victim hits and even another `collect` complete.
/// If any of them waited for the dropping collect, the blocked drop would time out and fail
/// the test instead of hanging it.
#[test]
fn collect_drops_objects_outside_every_critical_section() {
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let (proceed_tx, proceed_rx) = std::sync::mpsc::channel();
    let pool: Pool<Gate> = Pool::with_factory(|| Gate::Plain);
    pool.put(Gate::Blocking {
        entered: entered_tx,
        proceed: proceed_rx,
    });
    pool.collect(); // the blocking object is now in the victim
    thread::scope(|s| {
        let collector = s.spawn(|| pool.collect()); // drops it, and blocks inside its drop
        entered_rx.recv().unwrap();
        // Meanwhile, everything else works, from this thread and from another one.
        pool.put(Gate::Plain);
        pool.put(Gate::Plain);
        assert!(matches!(pool.try_take(), Some(Gate::Plain)));
        drop(pool.get());
        s.spawn(|| {
            pool.put(Gate::Plain);
            assert!(pool.try_take().is_some());
        })
        .join()
        .unwrap();
        pool.collect(); // another collection: the plain objects go to the victim
        assert!(
            pool.try_take().is_some(),
            "a victim hit during another collect's drops"
        );
        let _ = pool.stats();
        let _ = pool.snapshot();
        proceed_tx.send(()).unwrap();
        collector.join().unwrap();
    });
    pool.clear();
    assert_eq!(pool.stats().retained, 0);
}

// ---- Guards on the hot path ---------------------------------------------------------------

/// A guard held across collections keeps its object out of reach of `collect` (it is not in
/// the pool), and dropping the guard afterwards returns the object to the primary.
#[test]
fn guard_held_across_collections() {
    let tracker = Tracker::new(8);
    let pool = tracked_pool(tracker);
    let id = put_new(&pool, tracker);
    let g = pool.get(); // from this thread's private slot
    assert_eq!(g.id(), id);
    pool.collect();
    pool.collect();
    assert!(
        !tracker.is_dropped(id),
        "collect dropped an object a guard holds"
    );
    assert_eq!(pool.stats().retained, 0);
    drop(g);
    let snap = pool.snapshot();
    assert_eq!((snap.primary, snap.victim), (1, 0));
    pool.collect();
    assert!(!tracker.is_dropped(id));
    pool.collect();
    tracker.assert_all_dropped();
}

/// While a guard holds this thread's private object, the same thread's puts and gets go
/// elsewhere and nothing is handed out twice.
#[test]
fn same_thread_operations_while_a_guard_is_held() {
    let tracker = Tracker::new(8);
    let pool = tracked_pool(tracker);
    let x = put_new(&pool, tracker);
    let mut g = pool.get();
    g.acquire();
    assert_eq!(g.id(), x);
    let y = put_new(&pool, tracker);
    let mut h = pool.get();
    h.acquire();
    assert_eq!(
        h.id(),
        y,
        "the second get must find the object put meanwhile"
    );
    assert!(pool.try_take().is_none());
    let mut z = pool.get(); // a miss: the factory
    z.acquire();
    for guard in [&mut g, &mut h, &mut z] {
        guard.release();
    }
    drop((h, g, z));
    let mut got: Vec<usize> = std::iter::from_fn(|| pool.try_take())
        .map(|t| t.id())
        .collect();
    got.sort_unstable();
    assert_eq!(got.len(), 3);
    assert_eq!(got[..2], [x, y]);
    let st = pool.stats();
    assert_eq!((st.created, st.hits, st.puts), (1, 5, 5));
    tracker.assert_all_dropped();
}

/// Forgetting a guard leaks its object (as `mem::forget` does) but breaks nothing: the pool
/// keeps working, and dropping it drops everything else exactly once.
#[test]
#[cfg_attr(
    miri,
    ignore = "leaks an object on purpose, which Miri's leak check reports"
)]
fn forgotten_guard_leaks_only_its_object() {
    let tracker = Tracker::new(8);
    let pool = tracked_pool(tracker);
    let x = put_new(&pool, tracker);
    let g = pool.get();
    assert_eq!(g.id(), x);
    std::mem::forget(g);
    let y = put_new(&pool, tracker);
    assert_eq!(pool.take().id(), y);
    put_new(&pool, tracker);
    pool.collect();
    put_new(&pool, tracker);
    drop(pool.get());
    drop(pool);
    assert_eq!(
        tracker.dropped(),
        tracker.created() - 1,
        "only the forgotten object may leak"
    );
    assert!(!tracker.is_dropped(x));
}

/// Pools used alternately, and a pool dropped and another made (likely at the same address),
/// each keep their own objects.
#[test]
fn pools_used_alternately_or_made_anew_keep_their_own_caches() {
    let a = Pool::new(|| 0u32);
    let b = Pool::new(|| 0u32);
    for i in 0..4 {
        a.put(i);
        b.put(100 + i);
    }
    let mut from_a: Vec<u32> = std::iter::from_fn(|| a.try_take()).collect();
    let mut from_b: Vec<u32> = std::iter::from_fn(|| b.try_take()).collect();
    from_a.sort_unstable();
    from_b.sort_unstable();
    assert_eq!(from_a, [0, 1, 2, 3]);
    assert_eq!(from_b, [100, 101, 102, 103]);
    for round in 0..8u32 {
        let pool = Pool::new(|| 0u32);
        assert_eq!(
            pool.try_take(),
            None,
            "round {round}: a new pool holds nothing"
        );
        pool.put(round);
        pool.put(round + 1000);
        assert_eq!(pool.stats().retained, 2);
        drop(pool);
    }
}
