//! Model-based property tests.
//!
//! **One thread.** Random sequences of `get`, `try_get`, `take`, `try_take`, `put`,
//! `Pooled::into_inner`, guard drops, `collect`, `clear` and `stats` run against the pool and
//! against a reference model of the two generations: a primary set and a victim set of object
//! ids (ids are unique, so a set is the multiset). After every step the observables must agree
//! with the model:
//!
//! * hit or miss, and for a hit, that the object came from the generation the model says:
//!   on one thread the whole primary (the thread's own cache) is searched before the victim,
//!   so a hit must come from the primary while it is non-empty, and `Stats::victim_hits`
//!   must grow by one exactly when the victim served;
//! * which objects have been dropped (by `collect`, `clear`, the user, or dropping the pool);
//! * every field of `Stats`, and `Snapshot::primary`/`victim`;
//! * for a pool built with a reset hook, that every served object was reset, and for a plain
//!   pool that objects come back in the state they were put in.
//!
//! Which object *within* a generation is served (private slot, LIFO deque, FIFO victim) is an
//! implementation detail the crate does not promise, so the model only checks membership.
//!
//! **Several threads.** 2–4 threads run random sequences on one pool concurrently (including
//! `collect` and `clear`), then join. At quiescence: nothing handed to two holders at once,
//! nothing dropped twice, `Stats` agrees with what the threads did, `retained` equals the
//! objects actually in the pool, and a single thread can take every one of them back (nothing
//! lost or stranded in an exited thread's cache); finally every object is dropped exactly once.
//!
//! Case counts: `PROPTEST_CASES` (default 64 here, 4 under Miri, where sequences are shorter).

use gcpool::{Pool, Pooled, Stats};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

// ---------------------------------------------------------------------------------------------
// Objects that report their own life.
// ---------------------------------------------------------------------------------------------

/// Where an object is in its life, as recorded by the test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Just made by the factory, not yet seen by its caller.
    Fresh,
    /// In the pool, or being moved into or out of it.
    Idle,
    /// A user holds it.
    Held,
    Dropped,
}

/// Shared bookkeeping for one test case's objects.
#[derive(Default)]
struct Log {
    next_id: AtomicU64,
    /// Calls of the factory that returned (ids it made).
    factory_calls: AtomicU64,
    /// Calls of the reset hook.
    resets: AtomicU64,
    states: Mutex<BTreeMap<u64, State>>,
    /// Ids in the order they were dropped (by anyone).
    dropped: Mutex<Vec<u64>>,
    /// Protocol violations seen where a panic would be unhelpful (inside `Drop`).
    errors: Mutex<Vec<String>>,
}

impl Log {
    fn make(self: &Arc<Self>, state: State) -> Obj {
        let id = self.next_id.fetch_add(1, SeqCst);
        self.states.lock().unwrap().insert(id, state);
        Obj {
            id,
            dirty: false,
            log: Arc::clone(self),
        }
    }

    /// Moves `id` from `from` to `to`, recording an error if it was elsewhere.
    fn transition(&self, id: u64, from: State, to: State) {
        let mut states = self.states.lock().unwrap();
        let s = states.get_mut(&id).expect("unknown object");
        if *s != from {
            self.errors.lock().unwrap().push(format!(
                "object {id}: expected {from:?}, found {s:?} (-> {to:?})"
            ));
        }
        *s = to;
    }

    /// The test got `id` from `get`/`take`: it must have been in the pool (or be new).
    fn acquire(&self, id: u64) {
        let mut states = self.states.lock().unwrap();
        let s = states.get_mut(&id).expect("unknown object");
        if !matches!(*s, State::Idle | State::Fresh) {
            self.errors
                .lock()
                .unwrap()
                .push(format!("object {id} handed out while {s:?}"));
        }
        *s = State::Held;
    }

    fn dropped_set(&self) -> BTreeSet<u64> {
        self.dropped.lock().unwrap().iter().copied().collect()
    }

    fn count(&self, state: State) -> usize {
        self.states
            .lock()
            .unwrap()
            .values()
            .filter(|s| **s == state)
            .count()
    }

    fn assert_clean(&self) {
        let errors = self.errors.lock().unwrap();
        assert!(errors.is_empty(), "protocol violations: {errors:#?}");
        let dropped = self.dropped.lock().unwrap();
        let unique: BTreeSet<_> = dropped.iter().collect();
        assert_eq!(unique.len(), dropped.len(), "an object was dropped twice");
    }
}

/// A pooled object: a unique id, a "used" flag for the reset checks, and its log.
struct Obj {
    id: u64,
    /// Set by every user; the reset hook clears it.
    dirty: bool,
    log: Arc<Log>,
}

impl Drop for Obj {
    fn drop(&mut self) {
        let mut states = self.log.states.lock().unwrap();
        let s = states.get_mut(&self.id).expect("unknown object");
        if *s == State::Dropped {
            self.log
                .errors
                .lock()
                .unwrap()
                .push(format!("object {} dropped twice", self.id));
        }
        *s = State::Dropped;
        drop(states);
        self.log.dropped.lock().unwrap().push(self.id);
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// `Pool::with_factory`: objects come back as they were put.
    Plain,
    /// `Pool::builder(..).reset(..)`: every put resets the object.
    Reset,
}

fn make_pool(kind: Kind, log: &Arc<Log>) -> Pool<Obj> {
    let factory = {
        let log = Arc::clone(log);
        move || {
            let obj = log.make(State::Fresh);
            log.factory_calls.fetch_add(1, SeqCst);
            obj
        }
    };
    match kind {
        Kind::Plain => Pool::with_factory(factory),
        Kind::Reset => {
            let log = Arc::clone(log);
            Pool::builder(factory)
                .reset(move |o: &mut Obj| {
                    log.resets.fetch_add(1, SeqCst);
                    o.dirty = false;
                })
                .build()
        }
    }
}

fn config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(miri) { 4 } else { default_cases });
    let mut config = Config::with_cases(cases);
    if cfg!(miri) {
        // No regression files under Miri (its file system access is emulated).
        config.failure_persistence = None;
    }
    config
}

/// What a property run did, printed (with `--nocapture`) for docs/reliability.md.
#[derive(Default)]
struct Figures {
    cases: AtomicU64,
    ops: AtomicU64,
    threads: AtomicU64,
    objects: AtomicU64,
}

impl Figures {
    fn add(&self, ops: usize, threads: usize, objects: u64) {
        self.cases.fetch_add(1, SeqCst);
        self.ops.fetch_add(ops as u64, SeqCst);
        self.threads.fetch_add(threads as u64, SeqCst);
        self.objects.fetch_add(objects, SeqCst);
    }
}

/// Runs a property with `TestRunner` (what `proptest!` expands to), then prints its figures.
/// A failure panics with the shrunk (minimal) failing input.
fn check<S>(
    name: &str,
    default_cases: u32,
    strategy: S,
    test: impl Fn(S::Value, &Figures) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let mut config = config(default_cases);
    // As `proptest!` does: failures are saved next to this file and replayed first.
    config.source_file = Some(file!());
    let figures = Figures::default();
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, |v| test(v, &figures)) {
        panic!("{name}: {e}");
    }
    eprintln!(
        "model: {name}: {} cases, {} operations on {} threads in all, {} objects created, \
         each dropped exactly once",
        figures.cases.load(SeqCst),
        figures.ops.load(SeqCst),
        figures.threads.load(SeqCst),
        figures.objects.load(SeqCst),
    );
}

/// Longest generated sequence (per thread, for the threaded test).
const MAX_OPS: usize = if cfg!(miri) { 24 } else { 120 };
const MAX_OPS_PER_THREAD: usize = if cfg!(miri) { 12 } else { 60 };

// ---------------------------------------------------------------------------------------------
// Operations.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    /// `pool.get()`, keeping the guard.
    Get,
    /// `pool.try_get()`, keeping the guard if any.
    TryGet,
    /// `pool.take()`, keeping the object.
    Take,
    /// `pool.try_take()`, keeping the object if any.
    TryTake,
    /// `pool.put` of the n-th (mod len) owned object.
    Put(usize),
    /// `pool.put` of an object made by the test, not the factory.
    PutNew,
    /// Drop the n-th guard: it puts its object back.
    DropGuard(usize),
    /// `Pooled::into_inner` of the n-th guard: the object becomes owned.
    IntoInner(usize),
    /// The user drops the n-th owned object.
    DropOwned(usize),
    Collect,
    Clear,
    Stats,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Get),
        2 => Just(Op::TryGet),
        3 => Just(Op::Take),
        3 => Just(Op::TryTake),
        4 => any::<usize>().prop_map(Op::Put),
        3 => Just(Op::PutNew),
        4 => any::<usize>().prop_map(Op::DropGuard),
        1 => any::<usize>().prop_map(Op::IntoInner),
        1 => any::<usize>().prop_map(Op::DropOwned),
        2 => Just(Op::Collect),
        1 => Just(Op::Clear),
        1 => Just(Op::Stats),
    ]
}

// ---------------------------------------------------------------------------------------------
// The reference model (one thread).
// ---------------------------------------------------------------------------------------------

/// Go's two generations, as sets of ids with the `dirty` flag each object should have when
/// served again.
#[derive(Default, Debug)]
struct Model {
    primary: BTreeMap<u64, bool>,
    victim: BTreeMap<u64, bool>,
    dropped: BTreeSet<u64>,
    stats: Stats,
}

/// Where a take was served from, according to the model.
#[derive(Debug, PartialEq, Eq)]
enum Served {
    Primary,
    Victim,
    Factory,
    Nothing,
}

impl Model {
    /// Applies a take that returned `got` (`None`: a `try_` variant that missed), checking it.
    /// `fresh` is the first id the factory could have made for this call.
    fn take(&mut self, got: Option<(u64, bool)>, fresh: u64, may_create: bool) -> Served {
        let served = if !self.primary.is_empty() {
            Served::Primary
        } else if !self.victim.is_empty() {
            Served::Victim
        } else if may_create {
            Served::Factory
        } else {
            Served::Nothing
        };
        match served {
            Served::Primary | Served::Victim => {
                let (id, dirty) = got.unwrap_or_else(|| {
                    panic!("miss although the {served:?} holds {:?}", self.gen(&served))
                });
                let generation = match served {
                    Served::Primary => &mut self.primary,
                    _ => &mut self.victim,
                };
                let expected = generation.remove(&id).unwrap_or_else(|| {
                    panic!("object {id} served, but the {served:?} holds {generation:?}")
                });
                assert_eq!(dirty, expected, "object {id} served in the wrong state");
                self.stats.hits += 1;
                if served == Served::Victim {
                    self.stats.victim_hits += 1;
                }
            }
            Served::Factory => {
                let (id, dirty) = got.expect("take returned nothing");
                assert!(
                    id >= fresh,
                    "object {id} is not new, but the pool was empty"
                );
                assert!(!dirty);
                self.stats.created += 1;
            }
            Served::Nothing => assert_eq!(got, None, "served from an empty pool"),
        }
        self.stats.retained = self.primary.len() + self.victim.len();
        served
    }

    fn gen(&self, served: &Served) -> &BTreeMap<u64, bool> {
        match served {
            Served::Primary => &self.primary,
            _ => &self.victim,
        }
    }

    /// A put always goes to the primary, also for an object that was a victim hit.
    fn put(&mut self, id: u64, dirty: bool, resets: bool) {
        self.primary.insert(id, dirty && !resets);
        self.stats.puts += 1;
        self.stats.retained = self.primary.len() + self.victim.len();
    }

    /// Go's `poolCleanup`: drop the victim, primary becomes victim.
    fn collect(&mut self, counted: bool) {
        let old = std::mem::replace(&mut self.victim, std::mem::take(&mut self.primary));
        self.stats.collected += old.len() as u64;
        self.dropped.extend(old.keys());
        if counted {
            self.stats.collections += 1;
        }
        self.stats.retained = self.primary.len() + self.victim.len();
    }
}

/// What the test holds between steps: guards (which borrow the pool) and owned objects.
struct Holdings<'p> {
    guards: Vec<Pooled<'p, Obj>>,
    owned: Vec<Obj>,
}

fn pick<T>(v: &mut Vec<T>, n: usize) -> Option<T> {
    if v.is_empty() {
        None
    } else {
        let i = n % v.len();
        Some(v.swap_remove(i))
    }
}

/// Marks an object as now held by the test and dirties it (a user writes to it); returns what
/// the model checks: its id and whether it was dirty when served.
fn hold(log: &Log, o: &mut Obj) -> (u64, bool) {
    let seen = (o.id, o.dirty);
    log.acquire(o.id);
    o.dirty = true;
    seen
}

fn run_single(kind: Kind, ops: &[Op], figures: &Figures) -> Result<(), TestCaseError> {
    let log = Arc::new(Log::default());
    let pool = make_pool(kind, &log);
    steps(&pool, &log, kind, ops)?;
    // Dropping the pool drops everything it holds.
    drop(pool);
    log.assert_clean();
    prop_assert_eq!(
        log.dropped.lock().unwrap().len() as u64,
        log.next_id.load(SeqCst),
        "every object is dropped exactly once"
    );
    figures.add(ops.len(), 1, log.next_id.load(SeqCst));
    Ok(())
}

/// Runs `ops` on one thread, checking every step against the model.
fn steps(pool: &Pool<Obj>, log: &Arc<Log>, kind: Kind, ops: &[Op]) -> Result<(), TestCaseError> {
    let resets = matches!(kind, Kind::Reset);
    let mut model = Model::default();
    let mut held = Holdings {
        guards: Vec::new(),
        owned: Vec::new(),
    };

    for (step, op) in ops.iter().enumerate() {
        let before = pool.stats();
        let fresh = log.next_id.load(SeqCst);
        match op {
            Op::Get | Op::TryGet => {
                let guard = if matches!(op, Op::Get) {
                    Some(pool.get())
                } else {
                    pool.try_get()
                };
                let seen = guard.map(|mut g| {
                    let seen = hold(log, &mut g);
                    held.guards.push(g);
                    seen
                });
                model.take(seen, fresh, matches!(op, Op::Get));
            }
            Op::Take | Op::TryTake => {
                let obj = if matches!(op, Op::Take) {
                    Some(pool.take())
                } else {
                    pool.try_take()
                };
                let seen = obj.map(|mut o| {
                    let seen = hold(log, &mut o);
                    held.owned.push(o);
                    seen
                });
                model.take(seen, fresh, matches!(op, Op::Take));
            }
            Op::Put(n) => {
                if let Some(o) = pick(&mut held.owned, *n) {
                    log.transition(o.id, State::Held, State::Idle);
                    model.put(o.id, o.dirty, resets);
                    pool.put(o);
                }
            }
            Op::PutNew => {
                let o = log.make(State::Idle);
                model.put(o.id, o.dirty, resets);
                pool.put(o);
            }
            Op::DropGuard(n) => {
                if let Some(g) = pick(&mut held.guards, *n) {
                    log.transition(g.id, State::Held, State::Idle);
                    model.put(g.id, g.dirty, resets);
                    drop(g);
                }
            }
            Op::IntoInner(n) => {
                if let Some(g) = pick(&mut held.guards, *n) {
                    held.owned.push(Pooled::into_inner(g));
                }
            }
            Op::DropOwned(n) => {
                if let Some(o) = pick(&mut held.owned, *n) {
                    model.dropped.insert(o.id);
                    drop(o);
                }
            }
            Op::Collect => {
                pool.collect();
                model.collect(true);
            }
            Op::Clear => {
                pool.clear();
                model.collect(false);
                model.collect(false);
            }
            Op::Stats => {}
        }

        // The observables after every step.
        let stats = pool.stats();
        prop_assert_eq!(stats, model.stats, "stats after step {} ({:?})", step, op);
        prop_assert!(
            stats.victim_hits - before.victim_hits <= 1,
            "one step served more than one victim hit"
        );
        let snap = pool.snapshot();
        prop_assert_eq!(snap.primary, model.primary.len(), "primary after {:?}", op);
        prop_assert_eq!(snap.victim, model.victim.len(), "victim after {:?}", op);
        prop_assert_eq!(&log.dropped_set(), &model.dropped, "drops after {:?}", op);
        prop_assert_eq!(log.factory_calls.load(SeqCst), model.stats.created);
        if resets {
            prop_assert_eq!(log.resets.load(SeqCst), model.stats.puts);
        }
        log.assert_clean();
    }

    // Dropping the guards puts their objects back.
    let back = held.guards.len();
    drop(held.guards);
    prop_assert_eq!(
        pool.stats().retained,
        model.primary.len() + model.victim.len() + back
    );
    Ok(())
}

/// One thread, a plain pool: results, generations, drops and `Stats` follow the model.
#[test]
fn single_thread_follows_the_model() {
    check(
        "single thread",
        64,
        prop::collection::vec(op(), 1..MAX_OPS),
        |ops, f| run_single(Kind::Plain, &ops, f),
    );
}

/// One thread, a pool with a reset hook: as above, and every put object is reset once.
#[test]
fn single_thread_with_reset_follows_the_model() {
    check(
        "single thread, reset hook",
        64,
        prop::collection::vec(op(), 1..MAX_OPS),
        |ops, f| run_single(Kind::Reset, &ops, f),
    );
}

/// The examples from the crate docs, spelled out as model steps, so that a model bug cannot
/// make the property tests vacuous.
#[test]
fn model_agrees_with_documented_examples() {
    run_single(
        Kind::Plain,
        &[
            Op::PutNew,
            Op::Collect,
            Op::TryTake, // victim hit
            Op::Put(0),
            Op::Collect,
            Op::Collect, // dropped
            Op::TryTake, // miss
            Op::Take,    // factory
            Op::Get,     // factory
            Op::DropGuard(0),
            Op::Get, // primary hit
        ],
        &Figures::default(),
    )
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Several threads, checked at quiescence.
// ---------------------------------------------------------------------------------------------

/// What one thread did, for the totals checked after joining.
#[derive(Default, Debug)]
struct Tally {
    /// `get`/`take` calls (each is a hit or a factory call).
    takes: u64,
    /// `try_get`/`try_take` calls that returned an object.
    try_hits: u64,
    puts: u64,
    collects: u64,
}

fn run_thread(pool: &Pool<Obj>, log: &Arc<Log>, ops: &[Op]) -> Tally {
    let mut t = Tally::default();
    let mut guards: Vec<Pooled<'_, Obj>> = Vec::new();
    let mut owned: Vec<Obj> = Vec::new();
    let take_mark = |o: &mut Obj| {
        hold(log, o);
    };
    for op in ops {
        match op {
            Op::Get => {
                let mut g = pool.get();
                t.takes += 1;
                take_mark(&mut g);
                guards.push(g);
            }
            Op::TryGet => {
                if let Some(mut g) = pool.try_get() {
                    t.try_hits += 1;
                    take_mark(&mut g);
                    guards.push(g);
                }
            }
            Op::Take => {
                let mut o = pool.take();
                t.takes += 1;
                take_mark(&mut o);
                owned.push(o);
            }
            Op::TryTake => {
                if let Some(mut o) = pool.try_take() {
                    t.try_hits += 1;
                    take_mark(&mut o);
                    owned.push(o);
                }
            }
            Op::Put(n) => {
                if let Some(o) = pick(&mut owned, *n) {
                    log.transition(o.id, State::Held, State::Idle);
                    t.puts += 1;
                    pool.put(o);
                }
            }
            Op::PutNew => {
                t.puts += 1;
                pool.put(log.make(State::Idle));
            }
            Op::DropGuard(n) => {
                if let Some(g) = pick(&mut guards, *n) {
                    log.transition(g.id, State::Held, State::Idle);
                    t.puts += 1;
                    drop(g);
                }
            }
            Op::IntoInner(n) => {
                if let Some(g) = pick(&mut guards, *n) {
                    owned.push(Pooled::into_inner(g));
                }
            }
            Op::DropOwned(n) => drop(pick(&mut owned, *n)),
            Op::Collect => {
                pool.collect();
                t.collects += 1;
            }
            Op::Clear => pool.clear(),
            Op::Stats => {
                // Never torn: counters only grow while nothing is taken back out of them.
                let s = pool.stats();
                assert!(s.hits >= s.victim_hits);
            }
        }
    }
    // The thread leaves: guards go back, owned objects alternately go back and are dropped.
    for g in guards {
        log.transition(g.id, State::Held, State::Idle);
        t.puts += 1;
        drop(g);
    }
    for (i, o) in owned.into_iter().enumerate() {
        if i % 2 == 0 {
            log.transition(o.id, State::Held, State::Idle);
            t.puts += 1;
            pool.put(o);
        }
    }
    t
}

fn run_threads(kind: Kind, per_thread: &[Vec<Op>], figures: &Figures) -> Result<(), TestCaseError> {
    let log = Arc::new(Log::default());
    let pool = make_pool(kind, &log);
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = per_thread
            .iter()
            .map(|ops| s.spawn(|| run_thread(&pool, &log, ops)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    log.assert_clean();

    let sum = |f: fn(&Tally) -> u64| tallies.iter().map(f).sum::<u64>();
    let stats = pool.stats();
    prop_assert_eq!(stats.created, log.factory_calls.load(SeqCst));
    prop_assert_eq!(
        stats.hits + stats.created,
        sum(|t| t.takes) + sum(|t| t.try_hits),
        "every get/take is a hit or a factory call: {:?}",
        stats
    );
    prop_assert!(stats.victim_hits <= stats.hits);
    prop_assert_eq!(stats.puts, sum(|t| t.puts));
    prop_assert_eq!(stats.collections, sum(|t| t.collects));
    prop_assert_eq!((stats.rejected, stats.shrunk), (0, 0));
    // `retained` is exact at quiescence: the objects in the pool, per the objects themselves.
    let in_pool = log.count(State::Idle);
    prop_assert_eq!(
        stats.retained,
        in_pool,
        "retained vs objects idle: {:?}",
        stats
    );
    let snap = pool.snapshot();
    prop_assert_eq!(snap.primary + snap.victim, in_pool);
    // Drops: the pool dropped `collected`, the threads dropped the rest.
    prop_assert_eq!(
        log.dropped.lock().unwrap().len() + in_pool,
        log.next_id.load(SeqCst) as usize,
        "created = dropped + retained"
    );

    // Nothing lost: this thread alone can take back every retained object, including those
    // in the exited threads' caches (stolen) and in the victim.
    let mut drained = Vec::new();
    while let Some(o) = pool.try_take() {
        log.transition(o.id, State::Idle, State::Held);
        drained.push(o);
    }
    prop_assert_eq!(drained.len(), in_pool, "objects stranded in the pool");
    prop_assert_eq!(pool.stats().retained, 0);
    drop(drained);
    drop(pool);
    log.assert_clean();
    prop_assert_eq!(log.count(State::Dropped) as u64, log.next_id.load(SeqCst));
    figures.add(
        per_thread.iter().map(Vec::len).sum(),
        per_thread.len(),
        log.next_id.load(SeqCst),
    );
    Ok(())
}

fn threads_strategy() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 1..MAX_OPS_PER_THREAD), 2..=4)
}

/// 2–4 threads on one plain pool, then quiescence: nothing lost, nothing dropped twice,
/// `Stats` and `retained` exact.
#[test]
fn threads_lose_nothing() {
    check("2-4 threads", 32, threads_strategy(), |t, f| {
        run_threads(Kind::Plain, &t, f)
    });
}

/// The same with a reset hook.
#[test]
fn threads_with_reset_lose_nothing() {
    check("2-4 threads, reset hook", 32, threads_strategy(), |t, f| {
        run_threads(Kind::Reset, &t, f)
    });
}
