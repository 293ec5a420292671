//! [`Builder`]: a pool with put-time policies.
//!
//! # The order in which policies run on `put`
//!
//! 1. The custom hook ([`on_put`](Builder::on_put)), on the object as its user left it.
//!    `PutDecision::Reject` ends here; `Shrunk` is counted.
//! 2. For [`Recycle`] types: the bytes *used* are read (before anything is reset), then
//!    * [`adaptive`](Builder::adaptive) samples them and yields its learned cap;
//!    * [`shrink_underused`](Builder::shrink_underused) decides a shrink target;
//!    * the caps ([`max_capacity`](Builder::max_capacity), the adaptive cap) are checked against
//!      that target (or the capacity, with no shrink): above either, it is dropped.
//! 3. Reset: the [`reset`](Builder::reset) closure if given, else `Recycle::reset` (for a pool
//!    configured with any `Recycle` policy). It runs after every policy has measured.
//! 4. The shrink decided in step 2 is applied to the now empty object (so no content is copied),
//!    and the caps are checked again against the capacity it actually left, which may be above
//!    the target ([`Recycle::shrink_to_bytes`] may round up, or do nothing): above either cap,
//!    the object is dropped.
//! 5. [`max_retained_bytes`](Builder::max_retained_bytes): the object's final capacity is
//!    admitted against the budget, or the object is dropped.
//!
//! A pool with no policy at all (built from [`Pool::new`], [`Pool::with_factory`], or a builder
//! with nothing configured) pays nothing for any of this.

use std::fmt;

use super::adaptive::Adaptive;
use super::budget::Budget;
use super::recycle::Recycle;
use super::{Hooks, PutDecision};
use crate::Pool;

/// Configures a [`Pool`] before it is built: [`Pool::builder`] … [`build`](Builder::build).
///
/// ```
/// use gcpool::Pool;
///
/// let pool = Pool::builder(String::new).reset(String::clear).build();
/// let mut s = pool.get();
/// s.push_str("secret");
/// drop(s);                       // reset runs here, before the string is pooled
/// assert_eq!(pool.get().as_str(), "");
/// ```
///
/// For types that implement [`Recycle`] (`Vec`, `String`, `VecDeque`, hash maps and sets,
/// `BTreeMap`, `BytesMut`), the size-aware policies bound the memory the pool pins (see the
/// docs of [`Recycle`] and
/// [`docs/capacity.md`](https://github.com/gcpool/gcpool/blob/main/docs/capacity.md)):
///
/// ```
/// use gcpool::Pool;
///
/// let pool = Pool::builder(|| Vec::<u8>::with_capacity(1024))
///     .max_capacity(64 << 10)              // never keep a buffer above 64 KiB
///     .shrink_underused(3.0, 4 << 10)      // shrink one using < 1/3 of it, down to 4 KiB
///     .max_retained_bytes(16 << 20)        // and never hold more than 16 MiB in all
///     .build();
/// pool.put(vec![0; 1 << 20]);               // 1 MiB: dropped
/// let mut b = vec![0u8; 100];
/// b.reserve(30_000);
/// pool.put(b);                              // 32 KiB holding 100 bytes: shrunk, kept
/// let s = pool.stats();
/// assert_eq!((s.rejected, s.shrunk, s.retained), (1, 1, 1));
/// assert!(s.retained_bytes <= 4 << 10);
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder<T> {
    factory: Box<dyn Fn() -> T + Send + Sync>,
    reset: Option<ResetFn<T>>,
    custom: Option<CustomFn<T>>,
    measure: Option<Measure<T>>,
    max_capacity: Option<usize>,
    shrink: Option<(f64, usize)>,
    adaptive: Option<Adaptive>,
    budget: Option<usize>,
    chaos: Option<f64>,
}

/// Shows what is configured; closures show as whether they are set, so `T` needs no `Debug`.
impl<T> fmt::Debug for Builder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("reset", &self.reset.is_some())
            .field("on_put", &self.custom.is_some())
            .field("recycle", &self.measure.is_some())
            .field("max_capacity", &self.max_capacity)
            .field("shrink_underused", &self.shrink)
            .field("adaptive", &self.adaptive.as_ref().map(Adaptive::config))
            .field("max_retained_bytes", &self.budget)
            .field("chaos", &self.chaos)
            .finish_non_exhaustive()
    }
}

/// A reset hook.
type ResetFn<T> = Box<dyn Fn(&mut T) + Send + Sync>;
/// A custom put hook.
type CustomFn<T> = Box<dyn Fn(&mut T) -> PutDecision + Send + Sync>;

/// `Recycle`'s operations as plain function pointers, so that a `Builder<T>` for any `T` can
/// hold them once a `T: Recycle` method has been called.
struct Measure<T> {
    used: fn(&T) -> usize,
    capacity: fn(&T) -> usize,
    shrink: fn(&mut T, usize),
    reset: fn(&mut T),
    reserve: fn(&mut T, usize),
}

impl<T: Recycle> Measure<T> {
    fn new() -> Self {
        Self {
            used: T::used_bytes,
            capacity: T::capacity_bytes,
            shrink: T::shrink_to_bytes,
            reset: T::reset,
            reserve: T::reserve_bytes,
        }
    }
}

impl<T: Send + 'static> Pool<T> {
    /// Starts configuring a pool whose factory is `factory`.
    ///
    /// # A configured pool in a `static`
    ///
    /// [`Pool::new`] is `const`, but a configured pool is built at run time:
    /// [`LazyLock`](std::sync::LazyLock) builds it on first use.
    ///
    /// ```
    /// use std::sync::LazyLock;
    /// use gcpool::Pool;
    ///
    /// static BUFFERS: LazyLock<Pool<Vec<u8>>> =
    ///     LazyLock::new(|| Pool::builder(|| Vec::with_capacity(4096)).reset(Vec::clear).build());
    ///
    /// let mut buf = BUFFERS.get();
    /// buf.extend_from_slice(b"request body");
    /// drop(buf);                                  // cleared by `reset`, then pooled
    /// let buf = BUFFERS.get();
    /// assert!(buf.is_empty() && buf.capacity() >= 4096);
    /// let stats = BUFFERS.stats();
    /// assert_eq!((stats.created, stats.hits, stats.puts), (1, 1, 1));
    /// ```
    pub fn builder(factory: impl Fn() -> T + Send + Sync + 'static) -> Builder<T> {
        Builder {
            factory: Box::new(factory),
            reset: None,
            custom: None,
            measure: None,
            max_capacity: None,
            shrink: None,
            adaptive: None,
            budget: None,
            chaos: None,
        }
    }
}

impl<T: Send + 'static> Builder<T> {
    /// Runs `reset` on every object passed to `put`, before it is pooled, so that no data leaks
    /// from one user to the next. It runs
    /// after every size policy has measured the object; for a `Recycle` type it replaces
    /// `Recycle::reset`.
    pub fn reset(mut self, reset: impl Fn(&mut T) + Send + Sync + 'static) -> Self {
        self.reset = Some(Box::new(reset));
        self
    }

    /// A custom put-time hook for anything the built-in policies do not cover: it sees the
    /// object as its user left it, may change it (shrink it, say), and decides whether the pool
    /// keeps it. It runs first, before every other policy. See [`PutDecision`].
    pub fn on_put(mut self, hook: impl Fn(&mut T) -> PutDecision + Send + Sync + 'static) -> Self {
        self.custom = Some(Box::new(hook));
        self
    }

    /// Chaos mode, for tests: drops `fraction` of all puts at random and collects now and then
    /// (about once per 128 puts at 0.25), so that code which assumes the pool keeps what it is
    /// given fails in tests rather than in production. Go's race-detector build drops a quarter
    /// of all puts for the same reason (`src/sync/pool.go`, `Put`). Dropped puts are counted in
    /// [`Stats::rejected`](crate::Stats::rejected). Runs before every other put-time policy.
    ///
    /// ```
    /// use gcpool::Pool;
    ///
    /// let pool = Pool::builder(|| 0u64).chaos(1.0).build(); // forget everything
    /// pool.put(7);
    /// assert_eq!(pool.try_take(), None);
    /// assert_eq!(pool.stats().rejected, 1);
    /// ```
    ///
    /// # Panics
    ///
    /// `build` panics if `fraction` is not within `0.0..=1.0`.
    pub fn chaos(mut self, fraction: f64) -> Self {
        self.chaos = Some(fraction);
        self
    }

    /// Builds the pool.
    pub fn build(self) -> Pool<T> {
        let configured = self.reset.is_some()
            || self.custom.is_some()
            || self.measure.is_some()
            || self.adaptive.is_some();
        let hooks = configured.then(|| {
            Box::new(Policy {
                custom: self.custom,
                reset: self.reset,
                measure: self.measure,
                max_capacity: self.max_capacity.unwrap_or(usize::MAX),
                shrink: self.shrink,
                adaptive: self.adaptive,
                budget: self.budget.map(Budget::new),
            }) as Box<dyn Hooks<T>>
        });
        Pool::from_parts(self.factory, super::chaos::wrap(self.chaos, hooks))
    }
}

impl<T: Recycle + Send + 'static> Builder<T> {
    /// Resets every object put with [`Recycle::reset`] (unless a [`reset`](Builder::reset)
    /// closure is given) and measures the capacity the pool holds, in
    /// [`Stats::retained_bytes`](crate::Stats::retained_bytes). No bound: this is Go's
    /// `sync.Pool` behaviour, which every size policy below implies as well.
    ///
    /// ```
    /// use gcpool::Pool;
    ///
    /// let pool = Pool::builder(Vec::<u8>::new).recycle().build();
    /// let mut b = pool.get();
    /// b.extend_from_slice(b"long message");
    /// let cap = b.capacity();
    /// drop(b);
    /// assert_eq!(pool.stats().retained_bytes, cap); // the capacity stays pinned
    /// assert!(pool.get().is_empty());               // but the contents are gone
    /// ```
    pub fn recycle(mut self) -> Self {
        self.measure = Some(Measure::new());
        self
    }

    /// Drops an object whose capacity exceeds `bytes` instead of pooling it: the Go idiom
    /// `if buf.Cap() <= limit { pool.Put(buf) }` (Go's `fmt` package keeps buffers up to
    /// 64 KiB).
    ///
    /// Choose `bytes` above the normal payload plus growth slack: a cap below what ordinary
    /// requests grow to re-allocates on almost every use (a 512 B cap under 100–1000 B payloads
    /// makes about one allocation per put).
    pub fn max_capacity(mut self, bytes: usize) -> Self {
        self.max_capacity = Some(bytes);
        self.recycle()
    }

    /// When an object's capacity exceeds both `floor` and `ratio` × the bytes used, shrinks it to
    /// `max(used, floor)` and keeps it: the rule "shrink when `cap > 3 × len`", with a floor.
    /// Without one, ordinary growth (a buffer's capacity is up to 2–3× its length) makes the
    /// rule fire on normal buffers, which are then re-grown on the next use (under 100–1000 B
    /// payloads with a 1% tail of 1 MiB, about 0.6 allocations per put with no floor, under 0.1
    /// with a 4 KiB floor).
    ///
    /// # Panics
    ///
    /// If `ratio < 1.0` (or NaN).
    pub fn shrink_underused(mut self, ratio: f64, floor: usize) -> Self {
        assert!(ratio >= 1.0, "gcpool: shrink_underused ratio must be >= 1");
        self.shrink = Some((ratio, floor));
        self.recycle()
    }

    /// Learns the cap from the sizes actually used, and the initial capacity of new objects
    /// (see [`Adaptive`]): a cold-start bound of 64 KiB, then 4 × the 95th-percentile size
    /// class (at least 4 KiB), re-learned every 8,192 puts.
    pub fn adaptive(self) -> Self {
        self.adaptive_with(Adaptive::default())
    }

    /// Like [`adaptive`](Builder::adaptive), with a policy state made by the caller (keep a
    /// clone to watch what it learns, or configure it with
    /// [`AdaptiveConfig`](crate::AdaptiveConfig)).
    pub fn adaptive_with(mut self, adaptive: Adaptive) -> Self {
        self.adaptive = Some(adaptive);
        self.recycle()
    }

    /// A hard bound on the capacity bytes the pool holds (both generations): a put that would
    /// exceed it drops the object. The budget is split into per-thread-shard budgets that
    /// borrow from each other, so no single counter is shared by every put, and the bound holds
    /// at every instant, not only when quiescent.
    pub fn max_retained_bytes(mut self, budget: usize) -> Self {
        self.budget = Some(budget);
        self.recycle()
    }
}

/// Every configured policy, applied in the order documented in the module docs.
struct Policy<T> {
    custom: Option<CustomFn<T>>,
    reset: Option<ResetFn<T>>,
    measure: Option<Measure<T>>,
    max_capacity: usize,
    shrink: Option<(f64, usize)>,
    adaptive: Option<Adaptive>,
    budget: Option<Budget>,
}

impl<T> Hooks<T> for Policy<T> {
    fn on_put(&self, value: &mut T, slot: usize) -> PutDecision {
        let mut verdict = PutDecision::Keep;
        if let Some(custom) = &self.custom {
            match custom(value) {
                PutDecision::Keep => {}
                PutDecision::Shrunk => verdict = PutDecision::Shrunk,
                PutDecision::Reject => return PutDecision::Reject,
            }
        }
        let Some(m) = &self.measure else {
            if let Some(reset) = &self.reset {
                reset(value);
            }
            return verdict;
        };
        let used = (m.used)(value);
        let capacity = (m.capacity)(value);
        let cap = match &self.adaptive {
            Some(adaptive) => adaptive.observe(used, slot).min(self.max_capacity),
            None => self.max_capacity,
        };
        let target = match self.shrink {
            Some((ratio, floor)) if capacity > floor && capacity as f64 > ratio * used as f64 => {
                Some(used.max(floor))
            }
            _ => None,
        };
        // Checked before the reset, to skip the reset and the shrink of an object that no
        // shrink can bring under the cap.
        if target.unwrap_or(capacity) > cap {
            return PutDecision::Reject;
        }
        match &self.reset {
            Some(reset) => reset(value),
            None => (m.reset)(value),
        }
        if let Some(target) = target {
            (m.shrink)(value, target);
            let shrunk = (m.capacity)(value);
            // And checked again against what the shrink left: it may round up (hash tables
            // keep a power-of-two bucket count) or do nothing (a type that cannot shrink).
            if shrunk > cap {
                return PutDecision::Reject;
            }
            if shrunk < capacity {
                verdict = PutDecision::Shrunk;
            }
        }
        if let Some(budget) = &self.budget {
            if !budget.admit((m.capacity)(value), slot) {
                return PutDecision::Reject;
            }
        }
        verdict
    }

    fn on_create(&self, value: &mut T) {
        if let (Some(adaptive), Some(m)) = (&self.adaptive, &self.measure) {
            let initial = adaptive.initial_capacity();
            if initial > (m.capacity)(value) {
                (m.reserve)(value, initial);
            }
        }
    }

    fn measure(&self, value: &T) -> usize {
        self.measure.as_ref().map_or(0, |m| (m.capacity)(value))
    }

    fn on_leave(&self, value: &T) -> usize {
        let bytes = self.measure(value);
        if let Some(budget) = &self.budget {
            budget.credit(bytes);
        }
        bytes
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::Pool;

    #[test]
    fn debug_shows_the_configuration_of_any_t() {
        struct Opaque; // no `Debug`
        let builder = Pool::builder(|| Opaque).reset(|_| {}).chaos(0.5);
        let shown = format!("{builder:?}");
        assert!(shown.starts_with("Builder {"), "{shown}");
        assert!(shown.contains("reset: true"), "{shown}");
        assert!(shown.contains("on_put: false"), "{shown}");
        assert!(shown.contains("chaos: Some(0.5)"), "{shown}");

        let sized = Pool::builder(Vec::<u8>::new)
            .max_capacity(4096)
            .shrink_underused(3.0, 1024);
        let shown = format!("{sized:?}");
        assert!(shown.contains("recycle: true"), "{shown}");
        assert!(shown.contains("max_capacity: Some(4096)"), "{shown}");
        assert!(
            shown.contains("shrink_underused: Some((3.0, 1024))"),
            "{shown}"
        );
        assert!(shown.contains("adaptive: None"), "{shown}");
    }
}
