//! A try-lock: the short critical sections of a shard (`cache/shard.rs`).
//!
//! One atomic flag. Taking it is one read-modify-write (a compare-exchange) and releasing it
//! one `Release` store, where a `std` mutex pays a read-modify-write for each (its unlock must
//! learn whether to wake a waiter). Nobody sleeps on it: takers that find it held treat the shard as busy and
//! go elsewhere, and the rare waiter (a put that found every shard busy) yields its CPU
//! between tries, so the holder, which runs no user code inside, gets to finish.

use std::ops::{Deref, DerefMut};

use crate::sync::{yield_now, AtomicBool, UnsafeCell};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// A value behind a try-lock.
pub(crate) struct TryLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a `Guard`, and at most one exists at a time (the
// flag); values move between threads with it, hence `T: Send`.
unsafe impl<T: Send> Sync for TryLock<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for TryLock<T> {}

/// Exclusive access to a `TryLock`'s value until dropped.
pub(crate) struct Guard<'a, T> {
    lock: &'a TryLock<T>,
}

impl<T> TryLock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, if no other thread holds the lock.
    #[inline]
    pub(crate) fn try_lock(&self) -> Option<Guard<'_, T>> {
        // Relaxed: a look before the read-modify-write, so that a held lock's cache line is
        // only read, not taken exclusive. The swap below is what orders.
        if self.locked.load(Relaxed) {
            return None;
        }
        self.acquire()
    }

    /// The value, waiting for the lock (yielding between tries).
    pub(crate) fn lock(&self) -> Guard<'_, T> {
        loop {
            // No relaxed look first: the read-modify-write reads the latest value, so a waiter
            // sees the holder's unlock (a plain load may read a stale `true` for a while).
            if let Some(guard) = self.acquire() {
                return guard;
            }
            yield_now();
        }
    }

    /// One attempt to take the flag.
    #[inline]
    fn acquire(&self) -> Option<Guard<'_, T>> {
        // Acquire pairs with the Release store of the previous holder's unlock: its writes to
        // the value happen-before ours. A compare-exchange rather than a swap: a failed attempt
        // writes nothing (a swap rewrites `true`), so every store to the flag is a lock or an
        // unlock, totally ordered by the holders. Loom needs that: it orders stores that no
        // thread has ordered only partially, and would let a waiter's next attempt read its own
        // failed swap's `true` instead of the holder's unlock, forever.
        self.locked
            .compare_exchange(false, true, Acquire, Relaxed)
            .ok()
            .map(|_| Guard { lock: self })
    }
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: we hold the lock, so no other reference to the value exists.
        self.lock.value.with(|v| unsafe { &*v })
    }
}

impl<T> DerefMut for Guard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only access through the guard.
        self.lock.value.with_mut(|v| unsafe { &mut *v })
    }
}

impl<T> Drop for Guard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Release publishes our writes to the value to the next holder's Acquire swap.
        self.lock.locked.store(false, Release);
    }
}
