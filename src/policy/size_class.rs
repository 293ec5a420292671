//! [`SizeClassPool`]: pools by size class, for callers that know the size they need.
//!
//! Without a size hint a pool hands out an arbitrary object, so a bound on what it keeps is
//! paid for by re-allocating the rare large objects. A caller that knows the size can ask for
//! it: `get_with_capacity(n)` takes from the smallest power-of-two class that holds `n`, and a
//! put files an object by its capacity, rounded down to a class. Of the designs compared in
//! [`docs/capacity.md`](https://github.com/gcpool/gcpool/blob/main/docs/capacity.md) it is the
//! only one that avoids both pinning large buffers and re-allocating them (Prometheus
//! `util/pool`, Vitess `bucketpool` and gRPC-go `mem` use it too).
//!
//! Each class is a full [`Pool`] with the same generations, collection and policies; requests
//! above the largest class are served by a new object that is not pooled.
//!
//! **`n` may come from an untrusted peer** (a length prefix, a `Content-Length`): the pool
//! allocates what is asked for, so validate `n` first (Go issue #48535). What it keeps is
//! bounded by the classes and their policies, not by `n`.

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::recycle::Recycle;
use crate::{Builder, Pool, Stats};

/// Power-of-two size classes, each a [`Pool`].
///
/// ```
/// use gcpool::BufferPool;
///
/// let pool = BufferPool::default();               // classes 512 B ..= 1 MiB
/// let mut b = pool.get_with_capacity(1000);        // from the 1 KiB class
/// assert!(b.capacity() >= 1000 && b.is_empty());
/// b.extend_from_slice(&[1; 1000]);
/// drop(b);                                         // reset, filed by capacity
/// let b = pool.get_with_capacity(700);
/// assert!(b.is_empty() && b.capacity() >= 1024);   // the same buffer, reused
/// assert_eq!(pool.stats().hits, 1);
/// drop(b);
///
/// let huge = pool.get_with_capacity(8 << 20);      // above the largest class
/// drop(huge);                                      // not pooled
/// assert_eq!(pool.stats().puts, 2);
/// assert_eq!(pool.stats().retained_bytes, 1024);
/// ```
pub struct SizeClassPool<T> {
    classes: Box<[Pool<T>]>,
    /// log2 of the smallest class.
    min_shift: u32,
    make: Arc<dyn Fn(usize) -> T + Send + Sync>,
}

/// A [`SizeClassPool`] of byte buffers.
pub type BufferPool = SizeClassPool<Vec<u8>>;

impl Default for SizeClassPool<Vec<u8>> {
    /// Classes from 512 B to 1 MiB, with no policy beyond reset.
    fn default() -> Self {
        Self::new(512, 1 << 20, Vec::with_capacity)
    }
}

impl<T: Recycle + Send + 'static> SizeClassPool<T> {
    /// Classes `min_class, 2 × min_class, …, max_class` (both rounded up to powers of two);
    /// `make(bytes)` creates an object with at least `bytes` of capacity. Objects are reset with
    /// [`Recycle::reset`] when put.
    ///
    /// # Panics
    ///
    /// If `max_class` is above the largest power of two a `usize` holds (2⁶³ on 64-bit
    /// targets), or if `min_class` rounds up to a larger power of two than `max_class` does
    /// (never when `min_class <= max_class`).
    pub fn new(
        min_class: usize,
        max_class: usize,
        make: impl Fn(usize) -> T + Send + Sync + 'static,
    ) -> Self {
        Self::with_policy(min_class, max_class, make, |b| b)
    }

    /// Like [`new`](SizeClassPool::new), with `policy` applied to each class's [`Builder`] (a
    /// [`max_retained_bytes`](Builder::max_retained_bytes) per class, say).
    ///
    /// # Panics
    ///
    /// As [`new`](SizeClassPool::new).
    ///
    /// ```
    /// use gcpool::SizeClassPool;
    ///
    /// let pool = SizeClassPool::with_policy(1024, 64 << 10, Vec::<u8>::with_capacity, |class| {
    ///     class.max_retained_bytes(256 << 10)           // per class
    /// });
    /// let held: Vec<_> = (0..100).map(|_| pool.take_with_capacity(60 << 10)).collect();
    /// for b in held {
    ///     pool.put(b);
    /// }
    /// assert!(pool.stats().retained_bytes <= 256 << 10);
    /// ```
    pub fn with_policy(
        min_class: usize,
        max_class: usize,
        make: impl Fn(usize) -> T + Send + Sync + 'static,
        policy: impl Fn(Builder<T>) -> Builder<T>,
    ) -> Self {
        let Some(max) = max_class.checked_next_power_of_two() else {
            panic!("gcpool: max_class {max_class} is above the largest power of two in a usize");
        };
        // A `min_class` too large to round up is above every `max_class` that can.
        let min = match min_class.max(1).checked_next_power_of_two() {
            Some(min) if min <= max => min,
            _ => panic!(
                "gcpool: min_class > max_class ({min_class} and {max_class}, rounded up to \
                 powers of two)"
            ),
        };
        let make: Arc<dyn Fn(usize) -> T + Send + Sync> = Arc::new(make);
        let min_shift = min.trailing_zeros();
        let classes = (min_shift..=max.trailing_zeros())
            .map(|shift| {
                let make = make.clone();
                let size = 1usize << shift;
                policy(Pool::builder(move || make(size)).recycle()).build()
            })
            .collect();
        Self {
            classes,
            min_shift,
            make,
        }
    }

    /// The class sizes, smallest first.
    pub fn class_sizes(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.classes.len()).map(|i| 1usize << (self.min_shift as usize + i))
    }

    /// The index of the smallest class that holds `n` bytes, if any.
    fn class_for_request(&self, n: usize) -> Option<usize> {
        let shift = n.max(1).checked_next_power_of_two()?.trailing_zeros();
        let index = shift.saturating_sub(self.min_shift) as usize;
        (index < self.classes.len()).then_some(index)
    }

    /// The class a capacity of `bytes` is filed in: rounded down; none below the smallest class
    /// or at twice the largest and above.
    fn class_for_capacity(&self, bytes: usize) -> Option<usize> {
        if bytes == 0 {
            return None;
        }
        let shift = usize::BITS - 1 - bytes.leading_zeros();
        let index = shift.checked_sub(self.min_shift)? as usize;
        (index < self.classes.len()).then_some(index)
    }

    /// An object with at least `n` bytes of capacity, from the smallest class that holds `n`,
    /// in a guard that files it back by capacity when dropped. Above the largest class, a new
    /// object of `n` bytes that is dropped, not pooled, when the guard goes.
    pub fn get_with_capacity(&self, n: usize) -> SizedPooled<'_, T> {
        let pooled = self.class_for_request(n).is_some();
        SizedPooled {
            pool: self,
            value: ManuallyDrop::new(self.take_with_capacity(n)),
            put: pooled.then_some(Self::put as fn(&Self, T)),
        }
    }

    /// Like [`get_with_capacity`](SizeClassPool::get_with_capacity), but the caller owns the
    /// object; [`put`](SizeClassPool::put) it back to reuse it.
    pub fn take_with_capacity(&self, n: usize) -> T {
        match self.class_for_request(n) {
            Some(class) => self.classes[class].take(),
            None => (self.make)(n),
        }
    }

    /// Files `value` by its capacity, rounded down to a class (so any object of a class can
    /// serve every request of that class); drops it if it is below the smallest class or at least
    /// twice the largest.
    pub fn put(&self, value: T) {
        if let Some(class) = self.class_for_capacity(value.capacity_bytes()) {
            self.classes[class].put(value);
        }
    }

    /// One collection cycle on every class (see [`Pool::collect`]).
    pub fn collect(&self) {
        for pool in self.classes.iter() {
            pool.collect();
        }
    }

    /// Drops everything every class holds (see [`Pool::clear`]).
    pub fn clear(&self) {
        for pool in self.classes.iter() {
            pool.clear();
        }
    }

    /// Counters summed over the classes (`collections` is the largest of the classes').
    pub fn stats(&self) -> Stats {
        let mut total = Stats::default();
        for pool in self.classes.iter() {
            let s = pool.stats();
            total.created += s.created;
            total.hits += s.hits;
            total.victim_hits += s.victim_hits;
            total.puts += s.puts;
            total.collections = total.collections.max(s.collections);
            total.collected += s.collected;
            total.retained += s.retained;
            total.rejected += s.rejected;
            total.shrunk += s.shrunk;
            // Saturating: `Recycle` sizes are the implementor's figures, unbounded in principle.
            total.retained_bytes = total.retained_bytes.saturating_add(s.retained_bytes);
        }
        total
    }

    /// Each class's size and counters, smallest first.
    pub fn class_stats(&self) -> Vec<(usize, Stats)> {
        self.class_sizes()
            .zip(self.classes.iter().map(Pool::stats))
            .collect()
    }
}

impl<T: Recycle + Send + 'static> fmt::Debug for SizeClassPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SizeClassPool")
            .field("classes", &self.class_sizes().collect::<Vec<_>>())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// An object from [`SizeClassPool::get_with_capacity`]; files itself back by capacity when
/// dropped (or is dropped, if it was made for a request above the largest class).
pub struct SizedPooled<'a, T> {
    pool: &'a SizeClassPool<T>,
    value: ManuallyDrop<T>,
    /// [`SizeClassPool::put`], taken where its bounds hold so that `Drop` needs none; `None`
    /// for an object made for a request above the largest class, which is dropped.
    put: Option<fn(&SizeClassPool<T>, T)>,
}

impl<T> SizedPooled<'_, T> {
    /// Takes the object out of the guard: it will not return to the pool.
    pub fn into_inner(this: Self) -> T {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used again and its `Drop` is suppressed, so the value is
        // moved out exactly once.
        unsafe { ManuallyDrop::take(&mut this.value) }
    }
}

impl<T> Deref for SizedPooled<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for SizedPooled<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T> Drop for SizedPooled<'_, T> {
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and the value is not used afterwards.
        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        if let Some(put) = self.put {
            put(self.pool, value);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for SizedPooled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn classes_round_requests_up_and_capacities_down() {
        let pool = BufferPool::new(512, 1 << 20, Vec::with_capacity);
        assert_eq!(pool.class_sizes().count(), 12);
        assert_eq!(pool.class_for_request(0), Some(0));
        assert_eq!(pool.class_for_request(512), Some(0));
        assert_eq!(pool.class_for_request(513), Some(1));
        assert_eq!(pool.class_for_request(1 << 20), Some(11));
        assert_eq!(pool.class_for_request((1 << 20) + 1), None);
        assert_eq!(pool.class_for_capacity(511), None);
        assert_eq!(pool.class_for_capacity(1023), Some(0));
        assert_eq!(pool.class_for_capacity((2 << 20) - 1), Some(11));
        assert_eq!(pool.class_for_capacity(2 << 20), None);
    }

    #[test]
    #[should_panic(expected = "gcpool: min_class > max_class")]
    fn a_min_class_too_large_to_round_up_panics() {
        // `usize::MAX.next_power_of_two()` overflows: it must not wrap to a pool of no classes.
        BufferPool::new(usize::MAX, 1 << 20, Vec::with_capacity);
    }

    #[test]
    #[should_panic(expected = "gcpool: min_class > max_class")]
    fn a_min_class_above_the_max_class_panics() {
        BufferPool::new(4096, 1024, Vec::with_capacity);
    }

    #[test]
    #[should_panic(expected = "gcpool: max_class")]
    fn a_max_class_too_large_to_round_up_panics() {
        BufferPool::new(512, (1 << (usize::BITS - 1)) + 1, Vec::with_capacity);
    }

    #[test]
    fn the_largest_power_of_two_is_a_class() {
        let top = 1usize << (usize::BITS - 1);
        let pool = BufferPool::new(top - 1, top, Vec::with_capacity);
        assert_eq!(pool.class_sizes().collect::<Vec<_>>(), [top]);
        assert_eq!(pool.class_for_request(usize::MAX), None);
        assert_eq!(pool.class_for_capacity(usize::MAX), Some(0));
        // Same size classes rounded from different bounds: one class, no panic.
        assert_eq!(
            BufferPool::new(600, 513, Vec::with_capacity)
                .class_sizes()
                .count(),
            1
        );
    }

    #[test]
    fn above_the_largest_class_is_not_pooled() {
        let pool = BufferPool::new(512, 4096, Vec::with_capacity);
        drop(pool.get_with_capacity(5000));
        assert_eq!(pool.stats().puts, 0);
        drop(pool.get_with_capacity(4000));
        assert_eq!(pool.stats().puts, 1);
        assert_eq!(pool.stats().retained_bytes, 4096);
    }
}
