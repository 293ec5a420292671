//! Allocation counts of the size-aware policies, in their own test binary because
//! they need a counting `#[global_allocator]`.
//!
//! The allocator counts per thread (tests in one binary run in parallel), and every count is
//! taken after a warm-up cycle, so the pool's own first-use allocations (its thread cache, the
//! slot registry) are not charged to the policy.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use gcpool::{Adaptive, BufferPool, Pool};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: the allocator may run while this thread's locals are being destroyed.
    let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (including reallocations) made by this thread while `f` runs.
fn allocations(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

const KIB: usize = 1 << 10;

fn alternate(pool: &Pool<Vec<u8>>, cycles: usize) -> u64 {
    drop(pool.get()); // warm-up: the pool's thread cache
    let payload = [7u8; 1000];
    allocations(|| {
        for i in 0..cycles {
            let mut b = pool.get();
            let n = if i % 2 == 0 { 100 } else { 1000 };
            b.extend_from_slice(&payload[..n]);
        }
    })
}

#[test]
fn shrink_underused_with_a_floor_does_not_churn() {
    let pool = Pool::builder(Vec::new)
        .shrink_underused(3.0, 4 * KIB)
        .build();
    let n = alternate(&pool, 10_000);
    assert!(n <= 2, "{n} allocations in 10k cycles");
    assert_eq!(pool.stats().shrunk, 0);
}

/// The regression guard: the seed's ratio rule without a floor shrinks every buffer that
/// served a small request, and the next large request grows it again.
#[test]
fn shrink_underused_without_a_floor_churns() {
    let pool = Pool::builder(Vec::new).shrink_underused(3.0, 0).build();
    let n = alternate(&pool, 10_000);
    assert!(
        n >= 9_000,
        "only {n} allocations: the rule no longer fires?"
    );
}

#[test]
fn a_fixed_cap_below_the_payload_reallocates_every_time() {
    // The seed's `cap <= 512` with payloads up to 1000 B.
    let pool = Pool::builder(Vec::new).max_capacity(512).build();
    let n = alternate(&pool, 10_000);
    assert!(n >= 5_000, "{n}");
}

#[test]
fn adaptive_learned_initial_capacity_avoids_growth() {
    let learned = Adaptive::default();
    let pool = Pool::builder(Vec::<u8>::new)
        .adaptive_with(learned.clone())
        .build();
    // Uniform 100..=1000 B payloads: the median size class is 1 KiB.
    let payload = [7u8; 1000];
    let mut x = 1u64;
    for _ in 0..20_000 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let n = 100 + ((x >> 33) % 901) as usize;
        pool.get().extend_from_slice(&payload[..n]);
    }
    assert_eq!(learned.initial_capacity(), KIB);
    // A fresh object starts at 1 KiB: a 1000-byte payload is one allocation, not several.
    pool.clear();
    let n = allocations(|| {
        let mut b = pool.take();
        b.extend_from_slice(&[0; 1000]);
        std::hint::black_box(&b);
    });
    assert_eq!(n, 1);
    // In steady state the pool allocates nothing.
    assert_eq!(alternate(&pool, 10_000), 0);
}

#[test]
fn size_classes_allocate_nothing_in_steady_state() {
    let pool = BufferPool::default();
    let sizes = [100usize, 1000, 5000, 1 << 20, 700];
    for &n in &sizes {
        drop(pool.get_with_capacity(n)); // one object per class
    }
    let payload = vec![1u8; 1 << 20];
    let n = allocations(|| {
        for i in 0..10_000 {
            let n = sizes[i % sizes.len()];
            let mut b = pool.get_with_capacity(n);
            b.extend_from_slice(&payload[..n]);
        }
    });
    assert_eq!(n, 0);
}
