//! A shard: one of a pool's per-CPU lists of objects, in both generations (Go's
//! `poolLocal.shared` of the primary and of the victim).
//!
//! A pool has one shard per CPU (rounded up to a power of two). Go indexes its `poolLocal`s by
//! P and pins the goroutine to its P, so the owner pushes and pops without a lock; a Rust thread
//! cannot pin itself, and many threads share a CPU, so each shard is a short critical section
//! behind a try-lock (`cache/lock.rs`): a `VecDeque` of the primary generation and one of the
//! victim.
//! A thread's home shard is its slot modulo the shard count if it owns a private slot, else
//! the CPU it runs on (`Inner::home`). Go's rules carry over:
//!
//! * the home shard is used from its newest end (`pop_back`, Go's `popHead`): what a thread
//!   just put is still warm in its cache;
//! * other shards are stolen from at their oldest end (`pop_front`, Go's `popTail`);
//! * a shard whose lock is busy counts as empty (weaker than Go's `popTail`, which retries a
//!   lost CAS: a lock holder may be preempted, and waiting for it is how a pool livelocks); only a
//!   `put` that finds every shard busy waits for its home shard's lock, so a miss is one pass
//!   over the shards and nobody ever spins on a lock held by a preempted thread;
//! * `collect` swaps the generations of each shard under its lock: the primary becomes the
//!   victim, and the old victim moves to `dying`, which the collector drops after it has
//!   released every lock. A deque's memory goes with its generation.
//!
//! Nothing here runs user code under the lock: no object is dropped while a lock is held.

use std::collections::VecDeque;
use std::mem;

use super::counters::Counters;
use super::lock::TryLock;
use crate::sync::AtomicUsize;
use crossbeam_utils::CachePadded;
use std::sync::atomic::Ordering::Relaxed;

/// Shards per pool: the CPU count rounded up to a power of two (so that a thread's home shard
/// is its slot masked, not divided).
pub(crate) fn shards() -> usize {
    crate::sync::cpus().next_power_of_two()
}

/// Private slots per pool: the slots `0..private_slots()` own one (`thread_slot.rs`). Two per
/// shard: a CPU usually runs one thread, sometimes two that take turns.
pub(crate) fn private_slots() -> usize {
    2 * shards()
}

/// The largest buffer (in objects) that a drain keeps for the next primary.
const RECYCLED: usize = 16;

/// The objects of one shard (under its lock).
struct Lists<T> {
    primary: VecDeque<T>,
    victim: VecDeque<T>,
    /// The victim that the last collection retired: dropped by that collector once it has
    /// released every lock.
    dying: VecDeque<T>,
}

/// One shard (module docs).
#[repr(align(128))]
pub(crate) struct Shard<T> {
    /// Objects in `primary` and in `victim`: written under the lock after every change, read
    /// without it so that a miss skips an empty shard without touching its lock.
    primary_len: AtomicUsize,
    victim_len: AtomicUsize,
    lists: TryLock<Lists<T>>,
    /// The counters of the threads that have no private slot (several threads share them).
    pub(crate) counters: CachePadded<Counters>,
}

/// Which end of the primary list a taker uses.
#[derive(Clone, Copy)]
pub(crate) enum End {
    /// The newest object: the home shard (Go's `popHead`).
    Newest,
    /// The oldest object: another thread's shard (Go's `popTail`).
    Oldest,
}

impl<T> Shard<T> {
    pub(crate) fn new() -> Self {
        Self {
            primary_len: AtomicUsize::new(0),
            victim_len: AtomicUsize::new(0),
            lists: TryLock::new(Lists {
                primary: VecDeque::new(),
                victim: VecDeque::new(),
                dying: VecDeque::new(),
            }),
            counters: CachePadded::new(Counters::new()),
        }
    }

    /// Publishes the lengths for lock-free looks. Called under the lock after every change.
    fn publish(&self, lists: &Lists<T>) {
        // Relaxed: hints. A stale value costs a miss (allowed) or one needless `try_lock`, and
        // every change is followed by a store, so a hint is never stale for long.
        self.primary_len.store(lists.primary.len(), Relaxed);
        self.victim_len.store(lists.victim.len(), Relaxed);
    }

    /// Pushes into the primary generation if the lock is free; gives `value` back if not.
    #[inline]
    pub(crate) fn try_push(&self, value: T) -> Result<(), T> {
        match self.lists.try_lock() {
            Some(mut lists) => {
                lists.primary.push_back(value);
                self.publish(&lists);
                Ok(())
            }
            None => Err(value),
        }
    }

    /// Pushes into the primary generation, waiting for the lock (a `put` that found every
    /// shard busy: the holders are inside short critical sections).
    pub(crate) fn push(&self, value: T) {
        let mut lists = self.lists.lock();
        lists.primary.push_back(value);
        self.publish(&lists);
    }

    /// Takes a primary object from `end`; `None` if the shard looks empty or its lock is busy.
    #[inline]
    pub(crate) fn take_primary(&self, end: End) -> Option<T> {
        // Relaxed: a hint (see `publish`).
        if self.primary_len.load(Relaxed) == 0 {
            return None;
        }
        let mut lists = self.lists.try_lock()?;
        let value = match end {
            End::Newest => lists.primary.pop_back(),
            End::Oldest => lists.primary.pop_front(),
        };
        self.publish(&lists);
        value
    }

    /// Takes the oldest victim object (Go: the victim's `popTail`); `None` if the victim looks
    /// empty or the lock is busy.
    #[inline]
    pub(crate) fn take_victim(&self) -> Option<T> {
        // Relaxed: a hint (see `publish`).
        if self.victim_len.load(Relaxed) == 0 {
            return None;
        }
        let mut lists = self.lists.try_lock()?;
        let value = lists.victim.pop_front();
        self.publish(&lists);
        value
    }

    /// A collector: turns the primary into the victim and the victim into `dying`, and puts the
    /// private objects that `privates` yields at the victim's front, where the first victim
    /// search of their threads looks (Go checks the victim's `private` before its `shared`).
    /// With `clear`, everything goes to `dying`. Waits for the lock; runs no user code.
    /// Whether the shard looks empty in both generations (a hint, as in `publish`; exact for
    /// every push and take that happened before the caller).
    pub(crate) fn looks_empty(&self) -> bool {
        // Relaxed: hints (see `publish`).
        self.primary_len.load(Relaxed) == 0 && self.victim_len.load(Relaxed) == 0
    }

    /// Returns whether `dying` holds objects for the collector to drop.
    pub(crate) fn swap(&self, clear: bool, privates: impl FnMut() -> Option<T>) -> bool {
        let mut lists = self.lists.lock();
        let lists = &mut *lists;
        // The three lists rotate: primary -> victim -> dying, and the buffer that the last
        // drain gave back (empty, in `dying`) becomes the new primary, so that a pool in
        // steady use allocates no buffer per collection.
        let primary = mem::take(&mut lists.primary);
        let old = mem::replace(&mut lists.victim, primary);
        if lists.dying.is_empty() {
            lists.primary = mem::replace(&mut lists.dying, old);
        } else {
            // The previous collector has not drained yet: its objects stay ours to drop too.
            let mut old = old;
            lists.dying.append(&mut old);
        }
        for value in std::iter::from_fn(privates) {
            lists.victim.push_front(value);
        }
        if clear {
            let mut victim = mem::take(&mut lists.victim);
            lists.dying.append(&mut victim);
        }
        self.publish(lists);
        !lists.dying.is_empty()
    }

    /// A collector, after releasing the collectors' lock: what it must drop.
    pub(crate) fn take_dying(&self) -> VecDeque<T> {
        mem::take(&mut self.lists.lock().dying)
    }

    /// A collector, after dropping what `take_dying` returned: gives the empty buffer back for
    /// the next collection to reuse as a primary, if it is small (a large one is freed: the
    /// memory of a burst goes with its generation).
    pub(crate) fn give_back(&self, buffer: VecDeque<T>) {
        if buffer.is_empty() && buffer.capacity() <= RECYCLED {
            let mut lists = self.lists.lock();
            if lists.dying.is_empty() && lists.dying.capacity() == 0 {
                lists.dying = buffer;
            }
        }
    }

    /// Objects in the primary and in the victim generation (diagnostics).
    pub(crate) fn lens(&self) -> (usize, usize) {
        let lists = self.lists.lock();
        (lists.primary.len(), lists.victim.len())
    }
}
