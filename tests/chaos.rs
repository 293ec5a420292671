//! Chaos mode (`Builder::chaos`): a fraction of puts is dropped and the pool collects now and
//! then, like Go's race-detector build, so that code relying on retention fails in tests.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;

use gcpool::Pool;

/// Counts drops, to check that chaos loses nothing: every object is dropped exactly once.
struct Counted(Arc<AtomicU64>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn drops_about_the_configured_fraction_and_collects_sometimes() {
    let dropped = Arc::new(AtomicU64::new(0));
    let pool = {
        let dropped = dropped.clone();
        Pool::builder(move || Counted(dropped.clone()))
            .chaos(0.25)
            .build()
    };
    let n = if cfg!(miri) { 400 } else { 20_000 };
    for _ in 0..n {
        let object = pool.take();
        pool.put(object);
    }
    let s = pool.stats();
    assert_eq!(s.puts, n);
    // 25% of 20,000 puts: 5,000 expected; the bounds are over 10 standard deviations wide.
    let (lo, hi) = if cfg!(miri) {
        (40, 200)
    } else {
        (4_000, 6_000)
    };
    assert!(
        (lo..=hi).contains(&s.rejected),
        "rejected {} of {n}",
        s.rejected
    );
    assert!(s.collections > 0, "chaos mode never collected");
    // Nothing lost, nothing dropped twice: every object made is held by the pool or dropped.
    assert_eq!(s.retained as u64 + dropped.load(SeqCst), s.created);
    drop(pool);
    assert_eq!(dropped.load(SeqCst), s.created);
}

#[test]
fn chaos_zero_changes_nothing() {
    let pool = Pool::builder(|| 0u32).chaos(0.0).build();
    pool.put(1);
    pool.put(2);
    let mut got = [pool.try_take(), pool.try_take()];
    got.sort();
    assert_eq!(got, [Some(1), Some(2)]);
    assert_eq!(pool.stats().rejected, 0);
    assert_eq!(pool.stats().collections, 0);
}

#[test]
#[should_panic(expected = "chaos fraction must be within 0.0..=1.0")]
fn an_out_of_range_fraction_names_the_cause() {
    let _ = Pool::builder(|| 0u8).chaos(1.5).build();
}
