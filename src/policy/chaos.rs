//! Chaos mode: a put-time policy that makes the pool forget, for users' tests.
//!
//! Go's `sync.Pool` drops a quarter of all puts when built with the race detector
//! (`src/sync/pool.go` `Put`: `if race.Enabled { if fastrandn(4) == 0 { return } }`), so that
//! code which silently relies on getting back what it put fails in tests instead of in
//! production. [`Builder::chaos`](crate::Builder::chaos) does the same, with a configurable
//! fraction, and also collects now and then, so that the victim path and drops from `collect`
//! are exercised too:
//!
//! * each `put` is dropped (counted in `Stats::rejected`) with probability `fraction`;
//! * each `put` that is kept triggers one `collect` with probability `fraction / 32`
//!   (about one collection per 128 puts at 0.25): two such collections drop an object that
//!   nobody took in between.
//!
//! The draw is a thread-local xorshift64 generator: a few instructions, no shared cache line,
//! no lock. It is seeded per thread from the address of its state, so runs differ; chaos mode
//! is for flushing out assumptions, not for reproducible schedules.
//!
//! Chaos wraps the pool's other put-time policy (reset, capacity limits): a dropped put never
//! reaches it, a kept one is passed on unchanged.

use std::cell::Cell;

use super::{Hooks, PutDecision};

/// A kept put triggers a collection with probability `fraction / COLLECT_DIVISOR`.
const COLLECT_DIVISOR: f64 = 32.0;

/// A probability as a threshold on 53 random bits (the precision of an `f64`): a draw below it
/// happens with that probability. `1.0` maps to `2^53`, above every draw.
fn threshold(p: f64) -> u64 {
    (p * (1u64 << 53) as f64) as u64
}

/// 53 random bits from the calling thread's xorshift64 generator.
#[inline]
fn draw() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = const { Cell::new(0) };
    }
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            // First use on this thread: seed from the address of the thread's state (distinct
            // per live thread, and randomised by ASLR), through splitmix64 so that nearby
            // addresses give unrelated sequences. `| 1`: xorshift must not start at 0.
            let mut z = (s as *const Cell<u64> as usize as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x = (z ^ (z >> 31)) | 1;
        }
        // xorshift64 (Marsaglia): never yields 0 from a non-zero state.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x >> 11
    })
}

/// The chaos policy, wrapping the pool's other policy (if any).
pub(crate) struct Chaos<T> {
    /// A put is dropped when its draw is below this.
    drop_below: u64,
    /// A kept put triggers a collection when its draw is below this.
    collect_below: u64,
    inner: Option<Box<dyn Hooks<T>>>,
}

impl<T> Chaos<T> {
    /// Chaos that drops `fraction` of all puts, in front of `inner`.
    ///
    /// # Panics
    ///
    /// If `fraction` is not within `0.0..=1.0` (NaN included).
    pub(crate) fn new(fraction: f64, inner: Option<Box<dyn Hooks<T>>>) -> Self {
        assert!(
            (0.0..=1.0).contains(&fraction),
            "gcpool: chaos fraction must be within 0.0..=1.0, got {fraction}"
        );
        Self {
            drop_below: threshold(fraction),
            collect_below: threshold(fraction / COLLECT_DIVISOR),
            inner,
        }
    }
}

/// Wraps `inner` in chaos if `fraction` is set: what [`Builder::build`](crate::Builder::build)
/// calls with its `chaos` option and the hooks built from its other options.
pub(crate) fn wrap<T: 'static>(
    fraction: Option<f64>,
    inner: Option<Box<dyn Hooks<T>>>,
) -> Option<Box<dyn Hooks<T>>> {
    match fraction {
        Some(fraction) => Some(Box::new(Chaos::new(fraction, inner))),
        None => inner,
    }
}

impl<T> Hooks<T> for Chaos<T> {
    #[inline]
    fn on_put(&self, value: &mut T, slot: usize) -> PutDecision {
        if self.drop_below != 0 && draw() < self.drop_below {
            // Go's race-mode `Put`: drop it before any other policy sees it.
            return PutDecision::Reject;
        }
        match &self.inner {
            Some(inner) => inner.on_put(value, slot),
            None => PutDecision::Keep,
        }
    }

    fn on_create(&self, value: &mut T) {
        if let Some(inner) = &self.inner {
            inner.on_create(value);
        }
    }

    fn measure(&self, value: &T) -> usize {
        self.inner.as_ref().map_or(0, |inner| inner.measure(value))
    }

    fn on_leave(&self, value: &T) -> usize {
        // Only objects the inner policy admitted can leave: a dropped put never entered.
        self.inner.as_ref().map_or(0, |inner| inner.on_leave(value))
    }

    /// Whether the pool should run one collection now (asked after each kept put).
    #[inline]
    fn wants_collect(&self) -> bool {
        self.collect_below != 0 && draw() < self.collect_below
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::sync::Arc;

    /// An inner policy that counts what reaches it.
    struct Counting(Arc<AtomicU64>);

    impl Hooks<u32> for Counting {
        fn on_put(&self, value: &mut u32, _slot: usize) -> PutDecision {
            self.0.fetch_add(1, Relaxed);
            *value = 0;
            PutDecision::Keep
        }
        fn measure(&self, _value: &u32) -> usize {
            4
        }
    }

    fn rejected(chaos: &Chaos<u32>, puts: u32) -> u32 {
        (0..puts)
            .filter(|_| chaos.on_put(&mut 1, 0) == PutDecision::Reject)
            .count() as u32
    }

    const PUTS: u32 = if cfg!(miri) { 2_000 } else { 100_000 };

    #[test]
    fn drops_the_configured_fraction() {
        assert_eq!(rejected(&Chaos::new(0.0, None), PUTS), 0);
        assert_eq!(rejected(&Chaos::new(1.0, None), PUTS), PUTS);
        for fraction in [0.1, 0.25, 0.5] {
            let got = f64::from(rejected(&Chaos::new(fraction, None), PUTS)) / f64::from(PUTS);
            // Binomial: 6 standard deviations at the smallest PUTS is < 0.07.
            assert!((got - fraction).abs() < 0.07, "{fraction}: dropped {got}");
        }
    }

    #[test]
    fn collects_now_and_then() {
        let never = Chaos::<u32>::new(0.0, None);
        assert!(!(0..PUTS).any(|_| never.wants_collect()));
        let chaos = Chaos::<u32>::new(1.0, None);
        let n = (0..PUTS).filter(|_| chaos.wants_collect()).count() as f64;
        let expected = f64::from(PUTS) / COLLECT_DIVISOR;
        assert!(
            (n - expected).abs() < expected / 2.0,
            "{n} collections, expected ~{expected}"
        );
    }

    #[test]
    fn kept_puts_reach_the_inner_policy() {
        let seen = Arc::new(AtomicU64::new(0));
        let chaos = Chaos::new(0.5, Some(Box::new(Counting(seen.clone()))));
        let dropped = rejected(&chaos, 1_000);
        assert_eq!(seen.load(Relaxed), u64::from(1_000 - dropped));
        assert_eq!(chaos.measure(&7), 4);
        assert_eq!(chaos.on_leave(&7), 4);
        let mut v = 9;
        let keep = Chaos::new(0.0, Some(Box::new(Counting(seen.clone()))));
        assert_eq!(keep.on_put(&mut v, 0), PutDecision::Keep);
        assert_eq!(v, 0, "the inner reset ran");
    }

    #[test]
    #[should_panic(expected = "chaos fraction")]
    fn rejects_a_fraction_above_one() {
        let _ = Chaos::<u32>::new(1.5, None);
    }

    /// Through the builder: a quarter of puts vanish and collections happen, so code that
    /// assumes retention sees misses; yet every object is accounted for and dropped once.
    #[test]
    fn a_chaotic_pool_forgets_but_loses_nothing() {
        struct Obj(Arc<AtomicU64>);
        impl Drop for Obj {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Relaxed);
            }
        }
        let live = Arc::new(AtomicU64::new(0));
        let pool = {
            let live = live.clone();
            crate::Pool::builder(move || {
                live.fetch_add(1, Relaxed);
                Obj(live.clone())
            })
            .chaos(0.25)
            .build()
        };
        let rounds = if cfg!(miri) { 200 } else { 20_000 };
        let mut misses = 0;
        for _ in 0..rounds {
            let o = pool.take();
            pool.put(o);
            // Code that assumes retention: "I just put one, so there is one to take".
            match pool.try_take() {
                Some(o) => pool.put(o),
                None => misses += 1,
            }
        }
        let s = pool.stats();
        let dropped = s.rejected as f64 / s.puts as f64;
        let tolerance = if cfg!(miri) { 0.1 } else { 0.03 };
        assert!(
            (dropped - 0.25).abs() < tolerance,
            "dropped {dropped} of puts: {s:?}"
        );
        assert!(misses > 0, "{s:?}");
        if !cfg!(miri) {
            assert!(s.collections > 0, "{s:?}");
        }
        assert_eq!(live.load(Relaxed), s.retained as u64, "{s:?}");
        drop(pool);
        assert_eq!(live.load(Relaxed), 0);
    }

    #[test]
    fn wrap_only_when_asked() {
        assert!(wrap::<u32>(None, None).is_none());
        assert!(wrap::<u32>(Some(0.25), None).is_some());
    }
}
