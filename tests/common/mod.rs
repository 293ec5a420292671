//! Shared helpers for the integration tests: an object type that tracks its own life.
//!
//! Each test binary compiles this module separately and uses only part of it, so unused
//! items are expected here.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

/// The object was created (by a factory or by the test) and is not held by a user:
/// it is in the pool, or on its way into or out of it.
const IDLE: u8 = 1;
/// A user holds the object (between `acquire` and `release`).
const HELD: u8 = 2;
/// The object has been dropped.
const DROPPED: u8 = 3;

static ALL_TRACKERS: Mutex<Vec<&'static Tracker>> = Mutex::new(Vec::new());

/// Per-test bookkeeping for [`Tracked`] objects: how many were created and dropped, and the
/// life state of each one, indexed by its unique id.
///
/// Tests in one binary run in parallel, so every test makes its own tracker. It is leaked
/// (`&'static`) on purpose: objects then hold a plain reference and no reference count, so a
/// pool bug that duplicates or double-drops an object is reported by the state checks below
/// instead of corrupting a count.
pub struct Tracker {
    created: AtomicUsize,
    dropped: AtomicUsize,
    states: Box<[AtomicU8]>,
}

impl Tracker {
    /// A tracker for at most `capacity` objects.
    pub fn new(capacity: usize) -> &'static Tracker {
        let tracker: &'static Tracker = Box::leak(Box::new(Tracker {
            created: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            states: (0..capacity).map(|_| AtomicU8::new(0)).collect(),
        }));
        // Kept reachable from a static, so that Miri's leak checker (which ignores memory
        // reachable from statics) does not report the deliberate leak.
        ALL_TRACKERS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tracker);
        tracker
    }

    /// Creates a new object with a fresh id, in the idle state (ready to be put, or to be
    /// returned by a factory).
    pub fn make(&'static self) -> Tracked {
        let id = self.created.fetch_add(1, SeqCst);
        assert!(
            id < self.states.len(),
            "tracker capacity {} exceeded",
            self.states.len()
        );
        self.states[id].store(IDLE, SeqCst);
        Tracked {
            id,
            tracker: self,
            version: 0,
            mirror: Box::new(0),
        }
    }

    /// Objects created so far.
    pub fn created(&self) -> usize {
        self.created.load(SeqCst)
    }

    /// Objects dropped so far.
    pub fn dropped(&self) -> usize {
        self.dropped.load(SeqCst)
    }

    /// Objects created and not yet dropped.
    pub fn live(&self) -> usize {
        // Read `dropped` first: both only grow, so this never underflows.
        let dropped = self.dropped();
        self.created() - dropped
    }

    /// Whether the object with this id has been dropped.
    pub fn is_dropped(&self, id: usize) -> bool {
        self.states[id].load(SeqCst) == DROPPED
    }

    /// Asserts that every object created has been dropped exactly once (double drops
    /// already panic in `Drop`).
    pub fn assert_all_dropped(&self) {
        let created = self.created();
        assert_eq!(
            self.dropped(),
            created,
            "created {created} objects, dropped {}",
            self.dropped()
        );
        for (id, state) in self.states[..created].iter().enumerate() {
            assert_eq!(state.load(SeqCst), DROPPED, "object {id} was never dropped");
        }
    }
}

/// A pooled object that knows its unique id and checks its own life cycle:
/// a double hand-out (`acquire` of an object another user holds), a double drop, and a
/// hand-off without visibility of the previous holder's writes all panic.
pub struct Tracked {
    id: usize,
    tracker: &'static Tracker,
    /// A plain (non-atomic) field written by each holder before it puts the object back,
    /// with a copy in a separate allocation: the next holder checks that they agree, which a
    /// hand-off without happens-before could break (and which Miri/TSan would flag as a race).
    version: u64,
    mirror: Box<u64>,
}

impl Tracked {
    /// The object's unique id (unique within its tracker).
    pub fn id(&self) -> usize {
        self.id
    }

    /// Marks the object as held by the caller: call it on every object obtained from a pool.
    /// Panics if someone else holds it.
    pub fn acquire(&mut self) {
        let prev = self.tracker.states[self.id].swap(HELD, SeqCst);
        assert_eq!(
            prev,
            IDLE,
            "object {} handed out while {}",
            self.id,
            state_name(prev)
        );
        assert_eq!(
            self.version, *self.mirror,
            "object {}: torn or stale contents",
            self.id
        );
    }

    /// Marks the object as no longer held: call it before every `put` (or before dropping a
    /// `Pooled` guard). Updates the contents the next holder checks.
    pub fn release(&mut self) {
        self.version += 1;
        *self.mirror = self.version;
        let prev = self.tracker.states[self.id].swap(IDLE, SeqCst);
        assert_eq!(
            prev,
            HELD,
            "object {} released while {}",
            self.id,
            state_name(prev)
        );
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let prev = self.tracker.states[self.id].swap(DROPPED, SeqCst);
        assert_ne!(prev, DROPPED, "object {} dropped twice", self.id);
        self.tracker.dropped.fetch_add(1, SeqCst);
    }
}

impl std::fmt::Debug for Tracked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tracked({})", self.id)
    }
}

fn state_name(state: u8) -> &'static str {
    match state {
        IDLE => "idle (in the pool)",
        HELD => "held by another user",
        DROPPED => "already dropped",
        _ => "never created",
    }
}

/// A small deterministic pseudo-random generator (xorshift64*), so that the tests need no
/// extra dependency and a failing run can be replayed from its seed.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value; zero is remapped).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}
