//! [`Adaptive`]: a retention cap learned from the sizes actually used.
//!
//! A fixed cap (`max_capacity`) must be chosen by someone who knows the size distribution, and
//! is wrong when it changes: too low and ordinary buffers are re-allocated on every use (a
//! 512 B cap under 100–1000 B payloads re-allocates on almost every put), too high and the
//! pool pins rare huge buffers. The adaptive policy learns the cap instead:
//!
//! * **What it observes.** On a random sample of puts (one in
//!   [`sample_every`](AdaptiveConfig::sample_every) on average, drawn per thread shard so that
//!   every put has the same chance and a periodic load cannot alias with the sampling), the bytes *used* by the
//!   object, read before it is reset: the size its last user needed, not a length left after
//!   truncation or the capacity it happened to have.
//! * **The histogram.** Power-of-two size classes (class `i` holds sizes in `(64 << (i-1), 64 << i]`,
//!   class 0 is `≤ 64`), counted in padded atomics. Every [`window`](AdaptiveConfig::window)
//!   samples one thread (a `try_lock`, others skip) folds the window into a *decaying* histogram
//!   (old counts × 3/4 + window), so the estimate follows a changing load.
//! * **The cap.** `max(floor, slack × class(p))` where `p` is the
//!   [`percentile`](AdaptiveConfig::percentile) (95th by default) of the decaying histogram **by
//!   size**, or of the last window's median if that is larger (so a load that moved up is followed
//!   within one or two windows, while a rare tail, like 4% of 1 MiB requests, never raises it).
//!   A put whose capacity exceeds the cap is dropped.
//! * **Small samples.** The percentile is read three standard errors below `p`, where the
//!   error is that of a share estimated from the histogram's effective number of samples
//!   (0.93 instead of 0.95 at the first calibration, 0.942 in steady state). Without it, one
//!   window of 1,024 samples in which a 4% tail happens to exceed 5% (one time in twenty)
//!   would move the cut to that tail's class.
//! * **Cold start.** Until the first window completes the cap is
//!   [`cold_max`](AdaptiveConfig::cold_max) (64 KiB), not "keep everything".
//! * **Initial capacity.** New objects from the factory are grown to the median class: the
//!   usual advice to create buffers with the capacity they are expected to need, learned.
//!
//! Compared with `valyala/bytebufferpool` (`pool.go` `calibrate`): that cut is the class where
//! the *most frequent* classes sum to 95% (a frequency rank, so 3% 50 B / 93% 1 KiB / 4% 1 MiB
//! keeps 1 MiB buffers, where this keeps 4 KiB), it keeps everything until one class has had
//! 42,000 puts, re-calibrates only every 42,000 puts of one class, measures `len` after any
//! truncation, and adds to 20 adjacent shared counters on every put.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex};

use crossbeam_utils::CachePadded;

/// Number of size classes: 64 B << 0..=40, enough for any `usize` payload in practice.
pub(crate) const CLASSES: usize = 41;

/// The size class of `bytes`: the smallest `i` with `bytes <= 64 << i`.
#[inline]
pub(crate) fn class_of(bytes: usize) -> usize {
    if bytes <= 64 {
        return 0;
    }
    let bits = (usize::BITS - (bytes - 1).leading_zeros()) as usize; // ceil(log2(bytes))
    (bits - 6).min(CLASSES - 1)
}

/// The largest size in class `class`.
#[inline]
pub(crate) fn class_size(class: usize) -> usize {
    64usize.saturating_mul(1usize.checked_shl(class as u32).unwrap_or(usize::MAX))
}

/// Parameters of the adaptive policy. `AdaptiveConfig::default()` is what
/// [`Builder::adaptive`](crate::Builder::adaptive) uses.
///
/// The struct is `#[non_exhaustive]`, so that a parameter can be added without breaking
/// callers: start from [`default`](AdaptiveConfig::default) and set the fields to change.
///
/// ```
/// use gcpool::{Adaptive, AdaptiveConfig};
///
/// let mut config = AdaptiveConfig::default();
/// config.percentile = 0.99;
/// let learned = Adaptive::new(config);
/// assert_eq!(learned.config().percentile, 0.99);
/// assert_eq!(learned.config().slack, 4);
/// ```
///
/// A struct literal, even with `..AdaptiveConfig::default()`, does not compile outside the
/// crate:
///
/// ```compile_fail
/// use gcpool::AdaptiveConfig;
///
/// let config = AdaptiveConfig { percentile: 0.99, ..AdaptiveConfig::default() };
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct AdaptiveConfig {
    /// The share of observed sizes that must fit under the cap (before `slack`): 0.95 keeps
    /// buffers big enough for 95% of uses. It is read a few standard errors lower while the
    /// histogram holds few samples (see the module docs), so a rare tail is not mistaken for
    /// more than `1 - percentile` of the load by chance.
    pub percentile: f64,
    /// The cap is `slack` × the percentile's size class, leaving room for growth slack (a
    /// buffer written to 1,000 bytes in chunks ends with a capacity up to 2× that).
    pub slack: usize,
    /// The cap is never below `floor` bytes (small buffers are always worth keeping).
    pub floor: usize,
    /// The cap before the first window completes.
    pub cold_max: usize,
    /// Samples between two re-calibrations.
    pub window: u32,
    /// One put in `sample_every` is observed.
    pub sample_every: u32,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        Self {
            percentile: 0.95,
            slack: 4,
            floor: 4 << 10,
            cold_max: 64 << 10,
            window: 1024,
            sample_every: 8,
        }
    }
}

/// The learned state of an adaptive policy. Cheap to clone (a shared handle): keep a clone to
/// watch what a pool learned.
///
/// ```
/// use gcpool::{Adaptive, Pool};
///
/// let learned = Adaptive::default();
/// let pool = Pool::builder(Vec::<u8>::new).adaptive_with(learned.clone()).build();
/// assert_eq!(learned.max_capacity(), 64 << 10);       // the cold-start bound
///
/// pool.put(vec![0; 1 << 20]);                          // a 1 MiB buffer: dropped
/// assert_eq!(pool.stats().rejected, 1);
///
/// for _ in 0..20_000 {
///     let mut b = pool.get();
///     b.extend_from_slice(&[7; 700]);                  // ~700 B payloads
/// }
/// assert!(learned.calibrations() >= 1);
/// assert_eq!(learned.max_capacity(), 4 << 10);         // 4 × the 1 KiB class
/// assert_eq!(learned.initial_capacity(), 1 << 10);
/// ```
#[derive(Clone, Debug)]
pub struct Adaptive {
    shared: Arc<Shared>,
}

/// One thread shard's sampling state (a xorshift generator), on its own cache line.
#[derive(Debug)]
struct Tick(AtomicU32);

#[derive(Debug)]
struct Shared {
    config: AdaptiveConfig,
    /// Per-shard sampling generators (keyed by thread slot).
    ticks: Box<[CachePadded<Tick>]>,
    /// The current window's counts, one cache line per class: a sampled put touches one.
    window: Box<[CachePadded<AtomicU32>]>,
    /// Samples taken so far; a multiple of `window` triggers a calibration. Only sampled puts
    /// touch it.
    samples: CachePadded<AtomicU64>,
    max_cap: AtomicUsize,
    initial: AtomicUsize,
    calibrations: AtomicU64,
    /// The decaying histogram, only touched by the calibrating thread.
    decayed: Mutex<Decayed>,
}

#[derive(Debug)]
struct Decayed {
    counts: [f64; CLASSES],
    /// Σ weight² × samples over the windows folded in (each window's weight is 3/4 per
    /// calibration since), so that `counts.sum()² / squares` is the effective sample size
    /// of the decayed histogram: what its percentile's sampling error depends on.
    squares: f64,
}

/// Number of sampling shards: a power of two near the number of CPUs.
pub(crate) fn shard_count() -> usize {
    // Bounded before rounding up, which could overflow for a (hypothetical) count above 2^63.
    std::thread::available_parallelism()
        .map_or(4, |n| n.get().min(64))
        .next_power_of_two()
}

impl Default for Adaptive {
    fn default() -> Self {
        Self::new(AdaptiveConfig::default())
    }
}

impl Adaptive {
    /// A fresh policy state (cold: cap `cold_max`, no initial capacity).
    ///
    /// # Panics
    ///
    /// If `percentile` is not in `(0, 1]`, or `window`, `sample_every` or `slack` is 0.
    pub fn new(config: AdaptiveConfig) -> Self {
        assert!(
            config.percentile > 0.0 && config.percentile <= 1.0,
            "gcpool: percentile must be in (0, 1]"
        );
        assert!(
            config.window > 0 && config.sample_every > 0 && config.slack > 0,
            "gcpool: window, sample_every and slack must be positive"
        );
        let shards = shard_count();
        // A distinct, non-zero xorshift seed per shard.
        let ticks = (0..shards)
            .map(|i| {
                CachePadded::new(Tick(AtomicU32::new(
                    (i as u32 + 1).wrapping_mul(0x9e37_79b9) | 1,
                )))
            })
            .collect();
        Self {
            shared: Arc::new(Shared {
                config,
                ticks,
                window: (0..CLASSES)
                    .map(|_| CachePadded::new(AtomicU32::new(0)))
                    .collect(),
                samples: CachePadded::new(AtomicU64::new(0)),
                max_cap: AtomicUsize::new(config.cold_max),
                initial: AtomicUsize::new(0),
                calibrations: AtomicU64::new(0),
                decayed: Mutex::new(Decayed {
                    counts: [0.0; CLASSES],
                    squares: 0.0,
                }),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> AdaptiveConfig {
        self.shared.config
    }

    /// The current cap: a put whose capacity exceeds it is dropped.
    pub fn max_capacity(&self) -> usize {
        // Relaxed: an advisory value; a put that reads a slightly stale cap is still bounded by
        // one of the caps the policy has published.
        self.shared.max_cap.load(Relaxed)
    }

    /// The learned initial capacity for new objects (0 until the first calibration).
    pub fn initial_capacity(&self) -> usize {
        // Relaxed: advisory, as `max_capacity`.
        self.shared.initial.load(Relaxed)
    }

    /// Calibrations done so far (each folds one window of samples into the histogram).
    pub fn calibrations(&self) -> u64 {
        self.shared.calibrations.load(Relaxed)
    }

    /// Records `used` if this put is sampled, and returns the cap to apply.
    #[inline]
    pub(crate) fn observe(&self, used: usize, slot: usize) -> usize {
        let s = &*self.shared;
        let tick = &s.ticks[slot & (s.ticks.len() - 1)].0;
        // A xorshift step rather than a counter, so that a periodic load (small, large, small,
        // …) cannot alias with the sampling period. Relaxed load-then-store: threads sharing a
        // shard may repeat a state, which only correlates two samples; no read-modify-write
        // on the put path.
        let mut x = tick.load(Relaxed);
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        tick.store(x, Relaxed);
        if x % s.config.sample_every == 0 {
            self.record(used);
        }
        // Relaxed: a bound that `record` moves now and then; a put that reads a stale one
        // keeps or shrinks one object by the previous bound, which is still a valid bound.
        s.max_cap.load(Relaxed)
    }

    #[cold]
    fn record(&self, used: usize) {
        let s = &*self.shared;
        // Relaxed: counts; the calibrating thread reads whatever has landed, and a count that
        // lands late goes into the next window.
        s.window[class_of(used)].fetch_add(1, Relaxed);
        let n = s.samples.fetch_add(1, Relaxed) + 1;
        if n % u64::from(s.config.window) == 0 {
            self.calibrate();
        }
    }

    /// Folds the window into the decaying histogram and publishes a new cap and initial
    /// capacity. One thread at a time; a thread that finds the lock taken skips (the next
    /// window catches up).
    fn calibrate(&self) {
        let s = &*self.shared;
        let Ok(mut decayed) = s.decayed.try_lock() else {
            return;
        };
        let c = &s.config;
        let mut window = [0f64; CLASSES];
        for (w, count) in window.iter_mut().zip(s.window.iter()) {
            // Relaxed: see `record`.
            *w = f64::from(count.swap(0, Relaxed));
        }
        for (d, w) in decayed.counts.iter_mut().zip(window.iter()) {
            *d = *d * DECAY + w;
        }
        decayed.squares = decayed.squares * DECAY * DECAY + window.iter().sum::<f64>();
        let total: f64 = decayed.counts.iter().sum();
        let p = percentile_class(
            &decayed.counts,
            guarded_percentile(c.percentile, total * total / decayed.squares),
        );
        let recent = percentile_class(&window, 0.5);
        let class = p.max(recent);
        let cap = class_size(class).saturating_mul(c.slack).max(c.floor);
        let initial = class_size(percentile_class(&decayed.counts, 0.5));
        // Relaxed: advisory values read by puts and creates; see `max_capacity`.
        s.max_cap.store(cap, Relaxed);
        s.initial.store(initial, Relaxed);
        s.calibrations.fetch_add(1, Relaxed);
    }
}

/// The weight the decaying histogram keeps of its counts at each calibration.
const DECAY: f64 = 0.75;

/// Standard errors by which the percentile is lowered (see [`guarded_percentile`]).
const GUARD_SIGMAS: f64 = 3.0;

/// The percentile to read from a histogram of `samples` effective samples so that sampling
/// error alone does not move the cut to a higher class: `p` less three standard errors of
/// the share below the cut, `sqrt(p (1 - p) / samples)`.
///
/// Under 3% 50 B / 93% 1 KiB / 4% 1 MiB the share above the 1 KiB class is 4%, close to the
/// 5% the 95th percentile leaves out. The first calibration sees one window of 1,024 samples,
/// in which more than 5% are 1 MiB about one time in twenty; read at `p` itself, the cut
/// would then land in the 1 MiB class and the cap jump to 4 MiB. Read at 0.95 − 3 × 0.0068 =
/// 0.93, that takes more than 7% (about one time in 400,000). The guard shrinks as the
/// decayed histogram fills (about 7,000 effective samples in steady state: 0.942), so a tail
/// that really grows is still followed: 10% of 1 MiB raises the cap within two windows.
fn guarded_percentile(p: f64, samples: f64) -> f64 {
    if samples.is_nan() || samples <= 0.0 {
        return p;
    }
    p - GUARD_SIGMAS * (p * (1.0 - p) / samples).sqrt()
}

/// The smallest class whose cumulative share of `counts` reaches `p` (0 for an empty histogram).
fn percentile_class(counts: &[f64; CLASSES], p: f64) -> usize {
    let total: f64 = counts.iter().sum();
    if total <= 0.0 {
        return 0;
    }
    let target = p * total;
    let mut sum = 0.0;
    for (class, count) in counts.iter().enumerate() {
        sum += count;
        // A small tolerance so that p = 1.0 is not defeated by rounding.
        if sum >= target * (1.0 - 1e-12) {
            return class;
        }
    }
    CLASSES - 1
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn classes_are_powers_of_two_from_64() {
        assert_eq!(class_of(0), 0);
        assert_eq!(class_of(64), 0);
        assert_eq!(class_of(65), 1);
        assert_eq!(class_of(1000), 4);
        assert_eq!(class_of(1024), 4);
        assert_eq!(class_of(1025), 5);
        assert_eq!(class_size(4), 1024);
        assert_eq!(class_of(usize::MAX), CLASSES - 1);
    }

    const KIB: usize = 1 << 10;
    const MIB: usize = 1 << 20;

    /// A seeded generator (xorshift64*), so that each seed is one reproducible workload.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Self {
            // Any non-zero state works; spread the small seeds over the state first.
            Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
        }
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        /// `small`% 50 B, `large`% 1 MiB, the rest 1 KiB.
        fn mix(&mut self, small: u64, large: u64) -> usize {
            match self.next() % 100 {
                r if r < small => 50,
                r if r < small + large => MIB,
                _ => KIB,
            }
        }
    }

    /// Drives `policy` with `puts` puts of sizes from `size` (all on shard 0); returns the
    /// largest cap it published after its first calibration (0 if it never calibrated).
    fn drive(policy: &Adaptive, puts: usize, mut size: impl FnMut() -> usize) -> usize {
        let mut highest = 0;
        for _ in 0..puts {
            let cap = policy.observe(size(), 0);
            if policy.calibrations() > 0 {
                highest = highest.max(cap);
            }
        }
        highest
    }

    /// 3% 50 B / 93% 1 KiB / 4% 1 MiB: the 1 MiB tail is below the 5% the 95th percentile
    /// leaves out, so no learned cap may exceed 4 × 1 KiB. The first calibrations see one or
    /// two windows of 1,024 samples, in which more than 5% are 1 MiB about one time in
    /// twenty: the percentile must allow for that sampling error.
    #[test]
    fn a_rare_large_tail_never_raises_the_cap_in_500_seeds() {
        const SEEDS: u64 = 500;
        const PUTS: usize = 100_000; // 12,500 samples: 12 calibrations
        let mut above = Vec::new();
        let mut highest = 0;
        for seed in 1..=SEEDS {
            let policy = Adaptive::default();
            let mut rng = Rng::new(seed);
            let cap = drive(&policy, PUTS, || rng.mix(3, 4));
            assert!(policy.calibrations() >= 12, "seed {seed}");
            highest = highest.max(cap);
            if cap > 4 * KIB {
                above.push((seed, cap));
            }
        }
        println!("{SEEDS} seeds x {PUTS} puts: highest learned cap {highest} B");
        assert!(
            above.is_empty(),
            "{} of {SEEDS} seeds raised the cap above 4 KiB: {above:?}",
            above.len()
        );
        assert_eq!(highest, 4 * KIB);
    }

    /// A real change of the distribution is still followed within 32k puts (four windows),
    /// whether the bulk moves (every payload 256 KiB: the window's median) or only the tail
    /// grows (1 MiB from 4% to 10% of puts: the percentile).
    #[test]
    fn a_real_shift_is_followed_within_32k_puts() {
        const LIMIT: usize = 32_000;
        let mut slowest = (0, 0);
        for seed in 1..=50 {
            for (case, shifted) in [(0, 256 * KIB), (1, MIB)] {
                let policy = Adaptive::default();
                let mut rng = Rng::new(seed);
                let settled = drive(&policy, 50_000, || rng.mix(3, 4));
                assert_eq!(settled, 4 * KIB, "seed {seed}: settled above the mix's cap");
                let mut puts = 0;
                while policy.max_capacity() < shifted {
                    match case {
                        0 => policy.observe(256 * KIB, 0),
                        _ => policy.observe(rng.mix(3, 10), 0),
                    };
                    puts += 1;
                    assert!(
                        puts <= LIMIT,
                        "seed {seed}, case {case}: cap {} after {LIMIT} puts",
                        policy.max_capacity()
                    );
                }
                slowest.0 = slowest.0.max(if case == 0 { puts } else { 0 });
                slowest.1 = slowest.1.max(if case == 1 { puts } else { 0 });
            }
        }
        println!(
            "50 seeds: cap followed the bulk within {} puts, the tail within {} puts",
            slowest.0, slowest.1
        );
    }

    #[test]
    fn percentile_is_by_size_not_frequency_rank() {
        let mut h = [0.0; CLASSES];
        h[class_of(50)] = 3.0;
        h[class_of(1024)] = 93.0;
        h[class_of(1 << 20)] = 4.0;
        assert_eq!(class_size(percentile_class(&h, 0.95)), 1024);
        assert_eq!(class_size(percentile_class(&h, 0.99)), 1 << 20);
        assert_eq!(percentile_class(&[0.0; CLASSES], 0.95), 0);
    }
}
