//! Size-aware pooling: the capacity trap and every policy that bounds it.
//!
//! Deterministic and single-threaded unless a test says otherwise. Allocation counts are in
//! `tests/capacity_alloc.rs`, which has its own counting `#[global_allocator]`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use gcpool::{Adaptive, Pool, PutDecision, Recycle, SizeClassPool};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// A small deterministic generator (xorshift64*), so every run sees the same sizes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    /// The seed's mixed load: 99% uniform 100–1000 B, 1% 1 MiB.
    fn mixed(&mut self) -> usize {
        if self.next() % 100 == 0 {
            MIB
        } else {
            self.range(100, 1000)
        }
    }
}

/// Writes `n` bytes in 1 KiB chunks, as the Go experiment does (so the buffer grows the way
/// a writer grows it).
fn write(buf: &mut Vec<u8>, n: usize) {
    const CHUNK: [u8; KIB] = [0xab; KIB];
    let mut left = n;
    while left > 0 {
        let k = left.min(KIB);
        buf.extend_from_slice(&CHUNK[..k]);
        left -= k;
    }
}

/// Every policy under test, by name. `unbounded` is Go's behaviour (reset, keep everything),
/// measured so that the trap shows.
fn policies() -> Vec<(&'static str, Pool<Vec<u8>>)> {
    vec![
        ("unbounded", Pool::builder(Vec::new).recycle().build()),
        (
            "max_capacity(4K)",
            Pool::builder(Vec::new).max_capacity(4 * KIB).build(),
        ),
        (
            "max_capacity(64K)",
            Pool::builder(Vec::new).max_capacity(64 * KIB).build(),
        ),
        (
            "shrink_underused(3, 4K)",
            Pool::builder(Vec::new)
                .shrink_underused(3.0, 4 * KIB)
                .build(),
        ),
        ("adaptive", Pool::builder(Vec::new).adaptive().build()),
        (
            "max_retained_bytes(256K)",
            Pool::builder(Vec::new)
                .max_retained_bytes(256 * KIB)
                .build(),
        ),
        (
            "adaptive+shrink+budget",
            Pool::builder(Vec::new)
                .adaptive()
                .shrink_underused(3.0, 4 * KIB)
                .max_retained_bytes(MIB)
                .build(),
        ),
    ]
}

#[test]
fn max_capacity_drops_a_large_object() {
    let pool = Pool::builder(Vec::<u8>::new).max_capacity(64 * KIB).build();
    pool.put(Vec::with_capacity(MIB));
    let s = pool.stats();
    assert_eq!((s.puts, s.rejected, s.retained), (1, 1, 0));
    assert_eq!(s.retained_bytes, 0);
    // The next get is a fresh object.
    assert_eq!(pool.get().capacity(), 0);
    assert_eq!(pool.stats().created, 1);
    // At the cap exactly, kept.
    pool.put(Vec::with_capacity(64 * KIB));
    assert_eq!(pool.stats().retained_bytes, 64 * KIB);
}

/// Go issue #23199's live-lock: a burst of 64 huge buffers, then an endless stream of small
/// requests that keeps them all in circulation (64 in flight, as 64 workers would).
#[test]
fn burst_then_small() {
    for (name, pool) in policies() {
        let mut rng = Rng(0x5eed);
        let burst: Vec<_> = (0..64)
            .map(|_| {
                let mut b = pool.take();
                write(&mut b, MIB);
                b
            })
            .collect();
        for b in burst {
            pool.put(b);
        }
        let after_burst = pool.stats().retained_bytes;
        let mut in_flight = Vec::with_capacity(64);
        for _ in 0..100_000 / 64 {
            in_flight.extend((0..64).map(|_| pool.take()));
            for b in &mut in_flight {
                write(b, rng.range(100, 1000));
            }
            for b in in_flight.drain(..) {
                pool.put(b);
            }
        }
        let s = pool.stats();
        if name == "unbounded" {
            // The problem: every buffer still holds its peak.
            assert!(after_burst >= 64 * MIB, "{name}: {after_burst}");
            assert!(s.retained_bytes >= 64 * MIB, "{name}: {s:?}");
        } else {
            assert!(s.retained_bytes <= 64 * 4 * KIB, "{name}: {s:?}");
        }
        assert_eq!(s.hits + s.created, s.puts, "{name}: every get was put back");
    }
}

#[test]
fn shrink_underused_keeps_the_object_with_a_small_capacity() {
    let pool = Pool::builder(Vec::<u8>::new)
        .shrink_underused(3.0, 4 * KIB)
        .build();
    let mut b = Vec::with_capacity(MIB);
    write(&mut b, 100);
    pool.put(b);
    let s = pool.stats();
    assert_eq!((s.shrunk, s.rejected, s.retained), (1, 0, 1));
    assert!(s.retained_bytes <= 4 * KIB, "{s:?}");
    let b = pool.take();
    assert_eq!(pool.stats().hits, 1, "kept, not dropped");
    assert!(b.is_empty() && b.capacity() <= 4 * KIB && b.capacity() >= 100);

    // Below the floor nothing is shrunk, whatever the ratio.
    let mut small = Vec::with_capacity(4 * KIB);
    write(&mut small, 1);
    pool.put(small);
    assert_eq!(pool.stats().shrunk, 1);
    // Used enough (a third or more): kept as it is.
    let mut used = Vec::with_capacity(MIB);
    write(&mut used, MIB / 2);
    pool.put(used);
    assert_eq!(pool.stats().shrunk, 1);
}

#[test]
fn adaptive_cold_start_drops_a_huge_put() {
    let learned = Adaptive::default();
    let pool = Pool::builder(Vec::<u8>::new)
        .adaptive_with(learned.clone())
        .build();
    assert_eq!(learned.calibrations(), 0);
    pool.put(Vec::with_capacity(MIB));
    assert_eq!(pool.stats().rejected, 1);
    assert_eq!(pool.stats().retained_bytes, 0);
    // A normal buffer is kept while cold.
    pool.put(Vec::with_capacity(2 * KIB));
    assert_eq!(pool.stats().retained, 1);
}

/// Runs `n` get / write(size) / put cycles on one thread; returns the hits among them.
fn cycles(pool: &Pool<Vec<u8>>, n: usize, mut size: impl FnMut() -> usize) -> u64 {
    let before = pool.stats().hits;
    for _ in 0..n {
        let mut b = pool.get();
        write(&mut b, size());
    }
    pool.stats().hits - before
}

#[test]
fn adaptive_learns_the_mixed_load_then_follows_a_shift() {
    let learned = Adaptive::default();
    let pool = Pool::builder(Vec::<u8>::new)
        .adaptive_with(learned.clone())
        .build();
    let mut rng = Rng(42);
    cycles(&pool, 50_000, || rng.mixed());
    assert!(learned.calibrations() >= 3);
    assert!(
        learned.max_capacity() <= 4 * KIB,
        "{}",
        learned.max_capacity()
    );
    assert_eq!(learned.initial_capacity(), KIB);
    // New objects start at the learned capacity: seed rule 1, learned.
    pool.clear();
    assert!(pool.take().capacity() >= KIB);

    // Every payload is now 256 KiB: the cap must follow within 32k puts.
    let mut puts = 0;
    while learned.max_capacity() < 256 * KIB {
        cycles(&pool, 1_000, || 256 * KIB);
        puts += 1_000;
        assert!(
            puts <= 32_000,
            "cap still {} after {puts} puts",
            learned.max_capacity()
        );
    }
    let hits = cycles(&pool, 10_000, || 256 * KIB);
    assert!(hits > 9_000, "hit rate {hits}/10000 after the cap adapted");
}

/// bytebufferpool's cut is by frequency rank: with 3% 50 B / 93% 1 KiB / 4% 1 MiB its walk
/// visits 1 KiB (93%) and then 1 MiB (97%), so it keeps 1 MiB buffers. A percentile by size is
/// 1 KiB.
#[test]
fn adaptive_percentile_is_by_size_not_frequency() {
    let learned = Adaptive::default();
    let pool = Pool::builder(Vec::<u8>::new)
        .adaptive_with(learned.clone())
        .build();
    let mut rng = Rng(7);
    let mut max_seen = 0;
    for _ in 0..40 {
        cycles(&pool, 2_500, || match rng.next() % 100 {
            0..=2 => 50,
            3..=95 => KIB,
            _ => MIB,
        });
        if learned.calibrations() > 0 {
            max_seen = max_seen.max(learned.max_capacity());
        }
    }
    assert!(learned.calibrations() >= 10);
    assert!(max_seen <= 4 * KIB, "cap reached {max_seen}");
    assert!(pool.stats().retained_bytes <= 4 * KIB);
}

#[test]
fn adaptive_reads_the_size_before_reset() {
    // A pool whose reset closure runs after measuring: if the policy measured after the reset
    // it would see 0 bytes and learn a 64 B median.
    let learned = Adaptive::default();
    let pool = Pool::builder(Vec::<u8>::new)
        .adaptive_with(learned.clone())
        .reset(Vec::clear)
        .build();
    cycles(&pool, 20_000, || 3 * KIB);
    assert_eq!(learned.initial_capacity(), 4 * KIB);
    assert_eq!(learned.max_capacity(), 16 * KIB);
}

#[test]
fn budget_bounds_the_bytes_held() {
    let pool = Pool::builder(Vec::<u8>::new)
        .max_retained_bytes(MIB)
        .build();
    for _ in 0..100 {
        pool.put(Vec::with_capacity(64 * KIB));
    }
    let s = pool.stats();
    assert!(s.retained_bytes <= MIB, "{s:?}");
    assert!(s.rejected >= 84, "{s:?}");
    assert_eq!(s.retained_bytes, s.retained * 64 * KIB);

    // Objects that leave the pool give their bytes back to the budget.
    let taken: Vec<_> = (0..8).map(|_| pool.take()).collect();
    assert_eq!(pool.stats().created, 0);
    let rejected = pool.stats().rejected;
    for b in taken {
        pool.put(b);
    }
    assert_eq!(
        pool.stats().rejected,
        rejected,
        "the freed budget was reused"
    );
    pool.collect();
    pool.collect();
    assert_eq!(pool.stats().retained_bytes, 0);
    for _ in 0..16 {
        pool.put(Vec::with_capacity(64 * KIB));
    }
    assert_eq!(
        pool.stats().rejected,
        rejected,
        "collected bytes were credited too"
    );
}

#[test]
fn two_collections_release_every_byte_under_every_policy() {
    for (name, pool) in policies() {
        let mut rng = Rng(3);
        let held: Vec<_> = (0..100)
            .map(|_| {
                let mut b = pool.take();
                write(&mut b, rng.mixed());
                b
            })
            .collect();
        for b in held {
            pool.put(b);
        }
        assert!(pool.stats().retained_bytes > 0, "{name}");
        pool.collect();
        assert!(
            pool.stats().retained_bytes > 0,
            "{name}: the victim still holds them"
        );
        pool.collect();
        let s = pool.stats();
        assert_eq!((s.retained, s.retained_bytes), (0, 0), "{name}: {s:?}");
    }
}

/// A `Recycle` type outside the crate, which counts its drops so that losses show.
struct Counted {
    buf: Vec<u8>,
    drops: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

impl Recycle for Counted {
    fn reset(&mut self) {
        self.buf.clear();
    }
    fn used_bytes(&self) -> usize {
        self.buf.len()
    }
    fn capacity_bytes(&self) -> usize {
        self.buf.capacity()
    }
    fn shrink_to_bytes(&mut self, bytes: usize) {
        self.buf.shrink_to(bytes);
    }
    fn reserve_bytes(&mut self, bytes: usize) {
        self.buf.reserve(bytes);
    }
}

/// A hash table rounds a shrink up to a power-of-two bucket count: a `HashMap<u64, u64>` of
/// about 1.9 MB holding one entry, shrunk toward 4 KiB, still holds 448 entries (7,616 B by
/// `Recycle`'s estimate). A cap is a promise about what the pool keeps, so it is checked
/// against the capacity the object has after its shrink, not the target.
#[test]
fn caps_are_checked_against_the_capacity_left_after_the_shrink() {
    let big = || {
        let mut m = HashMap::<u64, u64>::with_capacity(114_000);
        m.insert(1, 2);
        m
    };
    let probe = big();
    assert!(
        probe.capacity_bytes() > 1_900_000,
        "{}",
        probe.capacity_bytes()
    );
    let mut shrunk = probe;
    shrunk.reset();
    shrunk.shrink_to_bytes(4 * KIB);
    let after = shrunk.capacity_bytes();
    assert!(after > 4 * KIB, "the table rounded its shrink to {after} B");

    let pool = Pool::builder(HashMap::<u64, u64>::new)
        .max_capacity(4 * KIB)
        .shrink_underused(3.0, 4 * KIB)
        .build();
    pool.put(big());
    let s = pool.stats();
    assert_eq!(
        (s.rejected, s.retained, s.retained_bytes),
        (1, 0, 0),
        "kept at {} B under a 4 KiB cap",
        s.retained_bytes
    );

    // A cap above what the shrink reaches keeps the shrunk table.
    let roomy = Pool::builder(HashMap::<u64, u64>::new)
        .max_capacity(after)
        .shrink_underused(3.0, 4 * KIB)
        .build();
    roomy.put(big());
    let s = roomy.stats();
    assert_eq!((s.rejected, s.shrunk, s.retained), (0, 1, 1));
    assert_eq!(s.retained_bytes, after);
}

/// `Recycle::shrink_to_bytes` may do nothing (a type that cannot shrink). Such an object is
/// then as large after the shrink as before, and every cap must drop it.
#[test]
fn an_object_that_cannot_shrink_is_dropped_by_every_cap() {
    struct Rigid(Vec<u8>);
    impl Recycle for Rigid {
        fn reset(&mut self) {
            self.0.clear();
        }
        fn used_bytes(&self) -> usize {
            self.0.len()
        }
        fn capacity_bytes(&self) -> usize {
            self.0.capacity()
        }
        fn shrink_to_bytes(&mut self, _bytes: usize) {}
    }
    let rigid = || {
        let mut v = Vec::with_capacity(MIB);
        v.push(1);
        Rigid(v)
    };
    let fixed = Pool::builder(|| Rigid(Vec::new()))
        .max_capacity(64 * KIB)
        .shrink_underused(3.0, 4 * KIB)
        .build();
    let learned = Adaptive::default(); // cold: a 64 KiB cap
    let adaptive = Pool::builder(|| Rigid(Vec::new()))
        .adaptive_with(learned.clone())
        .shrink_underused(3.0, 4 * KIB)
        .build();
    assert_eq!(learned.max_capacity(), 64 * KIB);
    for (name, pool) in [("max_capacity", &fixed), ("adaptive", &adaptive)] {
        pool.put(rigid());
        let s = pool.stats();
        assert_eq!(
            (s.rejected, s.retained, s.retained_bytes),
            (1, 0, 0),
            "{name}: kept {} B above a 64 KiB cap",
            s.retained_bytes
        );
    }
}

#[test]
fn eight_threads_mixed_load_lose_nothing_and_stay_bounded() {
    type Configure = fn(gcpool::Builder<Counted>) -> gcpool::Builder<Counted>;
    let cases: [(&str, Configure, usize); 5] = [
        ("max_capacity(64K)", |b| b.max_capacity(64 * KIB), 64 * KIB),
        (
            "shrink_underused(3, 4K)",
            |b| b.shrink_underused(3.0, 4 * KIB),
            usize::MAX,
        ),
        ("adaptive", |b| b.adaptive(), 64 * KIB),
        (
            "max_retained_bytes(1M)",
            |b| b.max_retained_bytes(MIB),
            usize::MAX,
        ),
        (
            "adaptive+budget(2M)",
            |b| b.adaptive().max_retained_bytes(2 * MIB),
            64 * KIB,
        ),
    ];
    for (name, configure, per_object) in cases {
        let created = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        let pool = {
            let (created, drops) = (created.clone(), drops.clone());
            Arc::new(
                configure(Pool::builder(move || {
                    created.fetch_add(1, SeqCst);
                    Counted {
                        buf: Vec::new(),
                        drops: drops.clone(),
                    }
                }))
                .build(),
            )
        };
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut rng = Rng(t + 1);
                    for i in 0..5_000 {
                        let mut a = pool.get();
                        let mut b = pool.get();
                        write(&mut a.buf, rng.mixed());
                        write(&mut b.buf, rng.range(100, 1000));
                        drop(a);
                        drop(b);
                        if t == 0 && i % 1_000 == 999 {
                            pool.collect();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = pool.stats();
        let created = created.load(SeqCst);
        assert_eq!(s.created as usize, created, "{name}");
        assert_eq!(
            s.retained + drops.load(SeqCst),
            created,
            "{name}: every object is held or dropped: {s:?}"
        );
        assert_eq!(
            s.rejected + s.collected,
            drops.load(SeqCst) as u64,
            "{name}"
        );
        assert!(
            s.retained_bytes <= s.retained.saturating_mul(per_object),
            "{name}: {s:?}"
        );
        if name.contains("budget") || name.contains("bytes") {
            assert!(s.retained_bytes <= 2 * MIB, "{name}: {s:?}");
        }
        pool.collect();
        pool.collect();
        let s = pool.stats();
        assert_eq!((s.retained, s.retained_bytes), (0, 0), "{name}: {s:?}");
        assert_eq!(drops.load(SeqCst), created, "{name}");
    }
}

#[test]
fn policies_compose_in_the_documented_order() {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let pool = {
        let (l1, l2) = (log.clone(), log.clone());
        Pool::builder(Vec::<u8>::new)
            .on_put(move |b| {
                l1.lock().unwrap().push(format!("hook sees {}", b.len()));
                if b.len() == 13 {
                    PutDecision::Reject
                } else {
                    PutDecision::Keep
                }
            })
            .shrink_underused(2.0, 0)
            .reset(move |b| {
                l2.lock().unwrap().push(format!("reset sees {}", b.len()));
                b.clear();
            })
            .build()
    };
    let mut b = Vec::with_capacity(1000);
    b.extend_from_slice(&[1; 100]);
    pool.put(b);
    let mut b = Vec::with_capacity(1000);
    b.extend_from_slice(&[1; 13]);
    pool.put(b);
    assert_eq!(
        *log.lock().unwrap(),
        ["hook sees 100", "reset sees 100", "hook sees 13"]
    );
    let s = pool.stats();
    assert_eq!((s.shrunk, s.rejected, s.retained), (1, 1, 1));
    // Shrunk to what was used (the shrink happens after reset, so nothing was copied).
    assert!(pool.take().capacity() < 1000);
}

#[test]
fn on_put_works_for_any_type() {
    let pool = Pool::builder(|| [0u64; 8])
        .on_put(|a| {
            if a[0] == 0 {
                PutDecision::Keep
            } else {
                PutDecision::Reject
            }
        })
        .build();
    pool.put([0; 8]);
    pool.put([1; 8]);
    let s = pool.stats();
    assert_eq!((s.retained, s.rejected, s.retained_bytes), (1, 1, 0));
}

/// A glob import of `PutDecision`'s variants must leave the prelude's `Drop` trait visible: with
/// a variant named `Drop`, the `impl Drop` below would not compile.
#[test]
fn put_decision_glob_import_keeps_the_preludes_drop() {
    use gcpool::PutDecision::*;

    struct Noisy(Arc<AtomicUsize>);
    impl Drop for Noisy {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    let dropped = Arc::new(AtomicUsize::new(0));
    let factory = dropped.clone();
    let pool = Pool::builder(move || Noisy(factory.clone()))
        .on_put(|_| Reject)
        .build();
    pool.put(Noisy(dropped.clone()));
    assert_eq!(pool.stats().rejected, 1);
    assert_eq!(
        dropped.load(SeqCst),
        1,
        "a rejected object is dropped at once"
    );
}

/// `SizeClassPool` and `SizedPooled` carry no bounds on their definitions (they are on the
/// impls that need them), so generic code can name them without repeating `Recycle + Send`.
#[test]
fn size_class_types_can_be_named_without_bounds() {
    struct Slot<T> {
        pool: Option<SizeClassPool<T>>,
    }
    fn capacity_of<T>(guard: &gcpool::SizedPooled<'_, T>, bytes: impl Fn(&T) -> usize) -> usize {
        bytes(guard)
    }
    let slot = Slot {
        pool: Some(SizeClassPool::new(512, 4 * KIB, Vec::<u8>::with_capacity)),
    };
    let pool = slot.pool.as_ref().unwrap();
    let guard = pool.get_with_capacity(1000);
    assert!(capacity_of(&guard, Vec::capacity) >= 1000);
    drop(guard);
    assert_eq!(pool.stats().retained, 1);
}

#[test]
fn size_classes_neither_pin_nor_reallocate() {
    let pool = SizeClassPool::new(512, MIB, Vec::<u8>::with_capacity);
    let mut rng = Rng(11);
    // The burst: 64 requests of 1 MiB held at once.
    let burst: Vec<_> = (0..64).map(|_| pool.take_with_capacity(MIB)).collect();
    for b in burst {
        pool.put(b);
    }
    for _ in 0..20_000 {
        let n = rng.mixed();
        let mut b = pool.get_with_capacity(n);
        let cap = b.capacity();
        write(&mut b, n);
        assert_eq!(
            b.capacity(),
            cap,
            "a request of {n} bytes fit without growing"
        );
    }
    let s = pool.stats();
    // Only the first small request of each class created an object; the 1 MiB class kept
    // its buffers for the 1% of large requests.
    assert!(s.created <= 64 + 2, "{s:?}");
    let small: usize = pool
        .class_stats()
        .iter()
        .filter(|(size, _)| *size < MIB)
        .map(|(_, s)| s.retained_bytes)
        .sum();
    assert!(small <= 2 * 2 * KIB, "small classes hold {small}");
    // Collection releases the idle large buffers.
    pool.collect();
    pool.collect();
    assert_eq!(pool.stats().retained_bytes, 0);
}

#[test]
fn every_std_recycle_type_works_in_a_pool() {
    use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
    let strings = Pool::builder(String::new).max_capacity(KIB).build();
    strings.put("x".repeat(2 * KIB));
    strings.put("x".repeat(100));
    assert_eq!(strings.stats().rejected, 1);
    assert!(strings.take().is_empty());

    let deques = Pool::builder(VecDeque::<u64>::new).recycle().build();
    deques.put((0..100).collect());
    assert!(deques.stats().retained_bytes >= 800);

    let maps = Pool::builder(HashMap::<u32, u32>::new)
        .shrink_underused(4.0, 0)
        .build();
    let mut m: HashMap<u32, u32> = HashMap::with_capacity(10_000);
    m.insert(1, 1);
    maps.put(m);
    assert_eq!(maps.stats().shrunk, 1);
    assert!(maps.take().is_empty());

    let sets = Pool::builder(HashSet::<u32>::new).recycle().build();
    sets.put((0..10).collect());
    assert!(sets.take().is_empty());

    // A cleared BTreeMap frees its nodes: the pool holds no capacity for it.
    let trees = Pool::builder(BTreeMap::<u32, u32>::new).recycle().build();
    trees.put((0..1000).map(|i| (i, i)).collect());
    assert_eq!(trees.stats().retained_bytes, 0);
}

#[cfg(feature = "bytes")]
#[test]
fn bytes_mut_is_pooled_with_a_cap() {
    let pool = Pool::builder(bytes::BytesMut::new)
        .max_capacity(64 * KIB)
        .build();
    pool.put(bytes::BytesMut::with_capacity(MIB));
    pool.put(bytes::BytesMut::with_capacity(KIB));
    let s = pool.stats();
    assert_eq!((s.rejected, s.retained, s.retained_bytes), (1, 1, KIB));
}

#[path = "../examples/capacity_workload/mod.rs"]
mod workload;

/// The same skewed load through the bytebufferpool port (`examples/capacity_workload`): its
/// frequency-rank cut keeps the 1 MiB buffers that the adaptive policy drops.
#[test]
fn adaptive_beats_bytebufferpool_on_the_skewed_load() {
    let bbp = workload::bytebufferpool();
    let adaptive = Pool::builder(Vec::<u8>::new).adaptive().build();
    for pool in [&bbp, &adaptive] {
        let mut rng = Rng(9);
        cycles(pool, 100_000, || match rng.next() % 100 {
            0..=2 => 50,
            3..=95 => KIB,
            _ => MIB,
        });
    }
    assert!(bbp.stats().retained_bytes >= MIB, "{:?}", bbp.stats());
    assert!(
        adaptive.stats().retained_bytes <= 4 * KIB,
        "{:?}",
        adaptive.stats()
    );

    // Cold start: bytebufferpool keeps everything until a class has seen 42,000 puts.
    let bbp = workload::bytebufferpool();
    let adaptive = Pool::builder(Vec::<u8>::new).adaptive().build();
    for pool in [&bbp, &adaptive] {
        for _ in 0..64 {
            pool.put(vec![0; MIB]);
        }
    }
    assert_eq!(bbp.stats().retained_bytes, 64 * MIB);
    assert_eq!(adaptive.stats().retained_bytes, 0);
}
