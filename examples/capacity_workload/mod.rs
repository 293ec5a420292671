//! The size-aware workloads, shared by `benches/capacity.rs`, `examples/capacity.rs`
//! and `examples/plot.rs` (each includes this file with `#[path]`): the policies under test, a
//! port of `valyala/bytebufferpool`'s calibration for comparison, and the two workloads of the
//! Go experiment (`shared/reference/sizeaware-go`).
//!
//! * **mixed**: each op gets a buffer, writes a payload (99% uniform 100–1000 B, 1% 1 MiB) in
//!   1 KiB chunks and puts it back. Each thread keeps `in_flight` buffers checked out at once
//!   (a ring: the oldest goes back as a new one is taken), so that 2 threads × 32 stand for the
//!   Go experiment's 64 goroutines parked in `Gosched`.
//! * **skewed**: 3% 50 B, 93% 1 KiB, 4% 1 MiB, where a cut by frequency rank (bytebufferpool)
//!   keeps 1 MiB buffers and a 95th percentile by size does not.
//! * **burst then small** (Go issue #23199): 64 buffers grown to 1 MiB are put at once, then
//!   only small payloads follow.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gcpool::{BufferPool, Pool, PutDecision, Stats};

pub const KIB: usize = 1 << 10;
pub const MIB: usize = 1 << 20;

/// A small deterministic generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    /// 99% uniform 100–1000 B, 1% 1 MiB.
    pub fn mixed(&mut self) -> usize {
        if self.next() % 100 == 0 {
            MIB
        } else {
            self.range(100, 1000)
        }
    }
    /// 3% 50 B, 93% 1 KiB, 4% 1 MiB: bytebufferpool's frequency-rank cut keeps 1 MiB here.
    pub fn skewed(&mut self) -> usize {
        match self.next() % 100 {
            0..=2 => 50,
            3..=95 => KIB,
            _ => MIB,
        }
    }
    /// Uniform 100–1000 B.
    pub fn small(&mut self) -> usize {
        self.range(100, 1000)
    }
}

/// Writes `n` bytes in 1 KiB chunks, as a writer would (so the buffer grows as it would).
#[inline]
pub fn write(buf: &mut Vec<u8>, n: usize) {
    const CHUNK: [u8; KIB] = [0xab; KIB];
    let mut left = n;
    while left > 0 {
        let k = left.min(KIB);
        buf.extend_from_slice(&CHUNK[..k]);
        left -= k;
    }
}

/// A pool under test: a plain pool (with some policy), or size classes (given the size).
pub enum Subject {
    Pool(Pool<Vec<u8>>),
    Classes(BufferPool),
}

impl Subject {
    /// A buffer for a payload of `hint` bytes (only the size-classed pool uses the hint).
    #[inline]
    pub fn take(&self, hint: usize) -> Vec<u8> {
        match self {
            Subject::Pool(p) => p.take(),
            Subject::Classes(p) => p.take_with_capacity(hint),
        }
    }
    #[inline]
    pub fn put(&self, b: Vec<u8>) {
        match self {
            Subject::Pool(p) => p.put(b),
            Subject::Classes(p) => p.put(b),
        }
    }
    pub fn stats(&self) -> Stats {
        match self {
            Subject::Pool(p) => p.stats(),
            Subject::Classes(p) => p.stats(),
        }
    }
    pub fn collect(&self) {
        match self {
            Subject::Pool(p) => p.collect(),
            Subject::Classes(p) => p.collect(),
        }
    }
}

/// A named way to build a subject.
pub struct Policy {
    pub name: &'static str,
    pub make: fn() -> Subject,
}

/// Every policy compared, in table order.
pub fn policies() -> Vec<Policy> {
    fn p(name: &'static str, make: fn() -> Subject) -> Policy {
        Policy { name, make }
    }
    vec![
        p("unbounded (Go's sync.Pool)", || {
            Subject::Pool(Pool::builder(Vec::new).recycle().build())
        }),
        p("max_capacity(512) (seed)", || {
            Subject::Pool(Pool::builder(Vec::new).max_capacity(512).build())
        }),
        p("max_capacity(4K)", || {
            Subject::Pool(Pool::builder(Vec::new).max_capacity(4 * KIB).build())
        }),
        p("max_capacity(64K) (fmt)", || {
            Subject::Pool(Pool::builder(Vec::new).max_capacity(64 * KIB).build())
        }),
        p("shrink_underused(3, 0) (seed)", || {
            Subject::Pool(Pool::builder(Vec::new).shrink_underused(3.0, 0).build())
        }),
        p("shrink_underused(3, 4K)", || {
            Subject::Pool(
                Pool::builder(Vec::new)
                    .shrink_underused(3.0, 4 * KIB)
                    .build(),
            )
        }),
        p("bytebufferpool (port)", || Subject::Pool(bytebufferpool())),
        p("adaptive", || {
            Subject::Pool(Pool::builder(Vec::new).adaptive().build())
        }),
        p("max_retained_bytes(1M)", || {
            Subject::Pool(Pool::builder(Vec::new).max_retained_bytes(MIB).build())
        }),
        p("size classes (hinted)", || {
            Subject::Classes(BufferPool::new(512, MIB, Vec::with_capacity))
        }),
    ]
}

/// `valyala/bytebufferpool` (`pool.go` at 18533fa) ported onto a gcpool `on_put` hook: one
/// counter per power-of-two class of the **length** at put (64 B … 32 MiB, 20 classes); when a
/// class passes 42,000 puts, `calibrate` sorts the classes by count, takes the most frequent as
/// the default size and walks the sorted list until the running sum *already exceeds* 95%, the
/// largest class visited being the cap. Until then the cap is 0: keep everything.
pub fn bytebufferpool() -> Pool<Vec<u8>> {
    struct Bbp {
        calls: [AtomicU64; 20],
        calibrating: AtomicUsize,
        default_size: AtomicUsize,
        max_size: AtomicUsize,
    }
    fn index(n: usize) -> usize {
        let mut n = n.saturating_sub(1) >> 6;
        let mut idx = 0;
        while n > 0 {
            n >>= 1;
            idx += 1;
        }
        idx.min(19)
    }
    impl Bbp {
        fn calibrate(&self) {
            if self
                .calibrating
                .compare_exchange(0, 1, Relaxed, Relaxed)
                .is_err()
            {
                return;
            }
            let mut a: Vec<(u64, usize)> = (0..20)
                .map(|i| (self.calls[i].swap(0, Relaxed), 64usize << i))
                .collect();
            let total: u64 = a.iter().map(|c| c.0).sum();
            a.sort_by_key(|c| std::cmp::Reverse(c.0));
            let default_size = a[0].1;
            let mut max_size = default_size;
            let max_sum = (total as f64 * 0.95) as u64;
            let mut sum = 0;
            for &(calls, size) in &a {
                if sum > max_sum {
                    break;
                }
                sum += calls;
                max_size = max_size.max(size);
            }
            self.default_size.store(default_size, Relaxed);
            self.max_size.store(max_size, Relaxed);
            self.calibrating.store(0, Relaxed);
        }
    }
    let state = Arc::new(Bbp {
        calls: std::array::from_fn(|_| AtomicU64::new(0)),
        calibrating: AtomicUsize::new(0),
        default_size: AtomicUsize::new(0),
        max_size: AtomicUsize::new(0),
    });
    let factory = state.clone();
    Pool::builder(move || Vec::with_capacity(factory.default_size.load(Relaxed)))
        .on_put(move |b| {
            let idx = index(b.len());
            if state.calls[idx].fetch_add(1, Relaxed) + 1 > 42_000 {
                state.calibrate();
            }
            let max = state.max_size.load(Relaxed);
            if max == 0 || b.capacity() <= max {
                PutDecision::Keep
            } else {
                PutDecision::Reject
            }
        })
        .recycle()
        .build()
}

/// What one run measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome {
    pub ops: u64,
    pub elapsed: Duration,
    pub stats: Stats,
}

/// Runs `ops_per_thread` ops on each of `threads` threads, each keeping `in_flight` buffers
/// checked out; `size` draws the payload sizes. Returns when every buffer is back.
pub fn run(
    subject: &Subject,
    threads: usize,
    ops_per_thread: usize,
    in_flight: usize,
    seed: u64,
    size: fn(&mut Rng) -> usize,
    progress: Option<&AtomicU64>,
) -> Outcome {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                let mut rng = Rng(seed ^ (t as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let mut ring = VecDeque::with_capacity(in_flight + 1);
                for i in 0..ops_per_thread {
                    let n = size(&mut rng);
                    let mut b = subject.take(n);
                    write(&mut b, n);
                    ring.push_back(b);
                    if ring.len() > in_flight {
                        subject.put(ring.pop_front().unwrap());
                    }
                    if let Some(p) = progress {
                        if i % 256 == 255 {
                            p.fetch_add(256, Relaxed);
                        }
                    }
                }
                for b in ring {
                    subject.put(b);
                }
            });
        }
    });
    Outcome {
        ops: (threads * ops_per_thread) as u64,
        elapsed: start.elapsed(),
        stats: subject.stats(),
    }
}

/// The mixed load.
pub fn mixed(
    subject: &Subject,
    threads: usize,
    ops_per_thread: usize,
    in_flight: usize,
) -> Outcome {
    run(
        subject,
        threads,
        ops_per_thread,
        in_flight,
        1,
        Rng::mixed,
        None,
    )
}

/// The skewed load (`Rng::skewed`).
pub fn skewed(
    subject: &Subject,
    threads: usize,
    ops_per_thread: usize,
    in_flight: usize,
) -> Outcome {
    run(
        subject,
        threads,
        ops_per_thread,
        in_flight,
        3,
        Rng::skewed,
        None,
    )
}

/// The burst (64 × 1 MiB checked out at once, then put), then small payloads only. Returns the
/// bytes retained right after the burst, and the small phase's outcome.
pub fn burst_then_small(
    subject: &Subject,
    threads: usize,
    ops_per_thread: usize,
    in_flight: usize,
) -> (usize, Outcome) {
    let burst: Vec<_> = (0..64)
        .map(|_| {
            let mut b = subject.take(MIB);
            write(&mut b, MIB);
            b
        })
        .collect();
    for b in burst {
        subject.put(b);
    }
    let after_burst = subject.stats().retained_bytes;
    (
        after_burst,
        run(
            subject,
            threads,
            ops_per_thread,
            in_flight,
            2,
            Rng::small,
            None,
        ),
    )
}
