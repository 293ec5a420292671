//! Shared harness for the gcpool benches: the object under test, every peer and
//! baseline behind one `Subject` trait, thread helpers and the Criterion configuration.
//!
//! The object is a `Vec<u8>` with capacity 4096 (the shape of every figure in `docs/benchmarks.md`).
//! A subject's `take` is "get an object, creating it if the pool has none" and `put` is "give it
//! back"; guard-based pools return their guard from `take` and `put` drops it, so every group can
//! drive every pool with the same loop.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::Criterion;

/// Capacity of every pooled buffer.
pub const BUF_CAP: usize = 4096;
/// Bound used by every bounded peer and baseline free list (`ArrayQueue`, `opool`, the free
/// lists, `Mutex<Vec>`, `syncpool`). Larger than the 100 objects the `overflow` group holds, so a
/// bound never decides a result; per-thread free lists need some bound or the consumer side of
/// `producer_consumer` grows without limit.
pub const CAP: usize = 256;

thread_local! {
    /// Factory calls made by this thread (a plain thread-local counter, so counting adds no
    /// shared write to the benchmarks that allocate on both threads).
    static NEW_CALLS: Cell<u64> = const { Cell::new(0) };
}

/// Counts one factory call on this thread.
#[inline]
pub fn count_new() {
    NEW_CALLS.with(|c| c.set(c.get() + 1));
}

/// Factory calls made by this thread so far.
pub fn new_calls() -> u64 {
    NEW_CALLS.with(|c| c.get())
}

/// The factory every pool uses: a fresh `Vec::with_capacity(4096)`, counted.
pub fn new_buf() -> Vec<u8> {
    count_new();
    Vec::with_capacity(BUF_CAP)
}

/// Makes the optimiser assume the buffer was read and written.
#[inline]
pub fn touch(v: &mut Vec<u8>) {
    black_box(v);
}

/// Criterion settings that keep `cargo bench` under 5 minutes on a 2-core machine.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1000))
        .sample_size(20)
        .nresamples(10_000)
        .without_plots()
        .configure_from_args()
}

/// Which clock `run_threads` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Wall time: includes time a thread was descheduled.
    Wall,
    /// `CLOCK_THREAD_CPUTIME_ID`: only time the thread ran.
    Cpu,
}

/// CPU time consumed by the calling thread.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and the clock id is a constant Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn now(clock: Clock) -> (Instant, Duration) {
    match clock {
        Clock::Wall => (Instant::now(), Duration::ZERO),
        Clock::Cpu => (Instant::now(), thread_cpu_time()),
    }
}

fn since(clock: Clock, start: (Instant, Duration)) -> Duration {
    match clock {
        Clock::Wall => start.0.elapsed(),
        Clock::Cpu => thread_cpu_time() - start.1,
    }
}

/// Runs `body(thread_index)` on `threads` scoped threads that start together behind a barrier;
/// each thread times only its own `body`. Returns the slowest thread's time and the sum of
/// each thread's return value. Thread start-up is outside the timed region.
pub fn run_threads<F>(threads: usize, clock: Clock, body: F) -> (Duration, u64)
where
    F: Fn(usize) -> u64 + Sync,
{
    let barrier = Barrier::new(threads);
    let results: Vec<(Duration, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let barrier = &barrier;
                let body = &body;
                s.spawn(move || {
                    barrier.wait();
                    let start = now(clock);
                    let r = body(i);
                    (since(clock, start), r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let slowest = results.iter().map(|r| r.0).max().unwrap();
    (slowest, results.iter().map(|r| r.1).sum())
}

/// Side figures (factory calls per op, misses per get...) collected while benches run and
/// printed at the end, and written as JSON to `target/gcpool-bench/<group>.json` for the docs.
pub struct Side {
    group: &'static str,
    // name -> (numerator, denominator, unit)
    rows: Mutex<BTreeMap<String, (f64, f64, &'static str)>>,
}

impl Side {
    /// An empty table for `group`.
    pub const fn new(group: &'static str) -> Self {
        Side {
            group,
            rows: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds `num / den` (accumulated over calls) to row `name`.
    pub fn add(&self, name: &str, num: f64, den: f64, unit: &'static str) {
        let mut rows = self.rows.lock().unwrap();
        let e = rows.entry(name.to_string()).or_insert((0.0, 0.0, unit));
        e.0 += num;
        e.1 += den;
    }

    /// Sets row `name` to `value` (replacing earlier values).
    pub fn set(&self, name: &str, value: f64, unit: &'static str) {
        self.rows
            .lock()
            .unwrap()
            .insert(name.to_string(), (value, 1.0, unit));
    }

    /// Prints the table and writes the JSON file.
    pub fn report(&self) {
        let rows = self.rows.lock().unwrap();
        if rows.is_empty() {
            return;
        }
        println!("\n{} side figures:", self.group);
        let mut json = String::from("{\n");
        for (i, (name, (num, den, unit))) in rows.iter().enumerate() {
            let v = if *den == 0.0 { f64::NAN } else { num / den };
            println!("  {name:<48} {v:>12.4} {unit}");
            let sep = if i + 1 == rows.len() { "" } else { "," };
            let v = if v.is_finite() {
                format!("{v}")
            } else {
                "null".into()
            };
            json.push_str(&format!(
                "  \"{name}\": {{\"value\": {v}, \"unit\": \"{unit}\"}}{sep}\n"
            ));
        }
        json.push_str("}\n");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/gcpool-bench");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{}.json", self.group)), json);
    }
}

/// One pool (or baseline) driven by the benches.
pub trait Subject {
    /// What `take` hands out: the buffer itself or a guard around it.
    type Item<'a>
    where
        Self: 'a;
    /// Name used as the Criterion function id.
    fn name(&self) -> &'static str;
    /// Gets an object, calling the factory if the pool has none.
    fn take(&self) -> Self::Item<'_>;
    /// Gets an object without calling the factory; `None` if the subject cannot do that.
    fn try_take(&self) -> Option<Self::Item<'_>> {
        None
    }
    /// Whether `try_take` is supported (the `starvation` group needs it).
    fn can_try(&self) -> bool {
        false
    }
    /// Gives the object back (for guards: drops it).
    fn put<'a>(&'a self, item: Self::Item<'a>);
    /// The buffer inside an item.
    fn buf<'b>(item: &'b mut Self::Item<'_>) -> &'b mut Vec<u8>;
}

/// A `Subject` whose item is a guard that gives the buffer back when dropped: `put` drops it.
/// The first closure gets an item from the subject; the second, when given, is `try_take`.
macro_rules! guard_subject {
    ($ty:ident, $item:ty, $name:literal, |$p:ident| $take:expr $(, |$tp:ident| $try:expr)?) => {
        impl Subject for $ty {
            type Item<'a> = $item;
            fn name(&self) -> &'static str {
                $name
            }
            #[inline]
            fn take(&self) -> Self::Item<'_> {
                let $p = self;
                $take
            }
            $(
                #[inline]
                fn try_take(&self) -> Option<Self::Item<'_>> {
                    let $tp = self;
                    $try
                }
                fn can_try(&self) -> bool {
                    true
                }
            )?
            #[inline]
            fn put<'a>(&'a self, item: Self::Item<'a>) {
                drop(item);
            }
            fn buf<'b>(item: &'b mut Self::Item<'_>) -> &'b mut Vec<u8> {
                item
            }
        }
    };
}

/// One get+put round trip: the `hot` group's operation. Always inlined: otherwise LLVM keeps it
/// as an out-of-line call in every subject's timing loop, a call per iteration that no user's
/// loop pays.
#[inline(always)]
pub fn round_trip<S: Subject>(s: &S) {
    let mut it = s.take();
    touch(S::buf(&mut it));
    s.put(it);
}

// ---------------------------------------------------------------- baselines

/// No pool: a fresh `Vec::with_capacity(4096)` (or `vec![0u8; 4096]`) per get, dropped on put.
pub struct Fresh {
    /// `vec![0u8; 4096]` (calloc) instead of `Vec::with_capacity`.
    pub zeroed: bool,
}

impl Subject for Fresh {
    type Item<'a> = Vec<u8>;
    fn name(&self) -> &'static str {
        if self.zeroed {
            "fresh_vec_zeroed"
        } else {
            "fresh_vec_with_capacity"
        }
    }
    #[inline]
    fn take(&self) -> Vec<u8> {
        count_new();
        if self.zeroed {
            vec![0u8; BUF_CAP]
        } else {
            Vec::with_capacity(BUF_CAP)
        }
    }
    #[inline]
    fn put(&self, item: Vec<u8>) {
        drop(item);
    }
    fn buf(item: &mut Vec<u8>) -> &mut Vec<u8> {
        item
    }
}

thread_local! {
    // Written "the obvious way": a lazily initialised thread-local (non-const initialiser),
    // the way a user would write it.
    #[allow(clippy::missing_const_for_thread_local)]
    static STD_FREE: RefCell<Vec<Vec<u8>>> = RefCell::new(Vec::new());
    // The best a std thread-local free list can do: const-initialised.
    static STD_FREE_CONST: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// std `thread_local!` `RefCell<Vec<Vec<u8>>>` free list, bounded at `CAP` per thread.
pub struct StdTls {
    /// Use the const-initialised thread-local.
    pub const_init: bool,
    /// Bound on the free list's length.
    pub cap: usize,
}

impl StdTls {
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&RefCell<Vec<Vec<u8>>>) -> R) -> R {
        if self.const_init {
            STD_FREE_CONST.with(f)
        } else {
            STD_FREE.with(f)
        }
    }
}

impl Subject for StdTls {
    type Item<'a> = Vec<u8>;
    fn name(&self) -> &'static str {
        if self.const_init {
            "std_tls_freelist_const"
        } else {
            "std_tls_freelist"
        }
    }
    #[inline]
    fn take(&self) -> Vec<u8> {
        self.try_take().unwrap_or_else(new_buf)
    }
    #[inline]
    fn try_take(&self) -> Option<Vec<u8>> {
        self.with(|l| l.borrow_mut().pop())
    }
    fn can_try(&self) -> bool {
        true
    }
    #[inline]
    fn put(&self, item: Vec<u8>) {
        self.with(|l| {
            let mut l = l.borrow_mut();
            if l.len() < self.cap {
                l.push(item)
            }
        })
    }
    fn buf(item: &mut Vec<u8>) -> &mut Vec<u8> {
        item
    }
}

/// `thread_local` crate `ThreadLocal<RefCell<Vec<Vec<u8>>>>` free list, bounded at `CAP`.
pub struct CrateTls(
    pub thread_local::ThreadLocal<RefCell<Vec<Vec<u8>>>>,
    pub usize,
);

impl Subject for CrateTls {
    type Item<'a> = Vec<u8>;
    fn name(&self) -> &'static str {
        "thread_local_freelist"
    }
    #[inline]
    fn take(&self) -> Vec<u8> {
        self.try_take().unwrap_or_else(new_buf)
    }
    #[inline]
    fn try_take(&self) -> Option<Vec<u8>> {
        self.0.get_or_default().borrow_mut().pop()
    }
    fn can_try(&self) -> bool {
        true
    }
    #[inline]
    fn put(&self, item: Vec<u8>) {
        let mut l = self.0.get_or_default().borrow_mut();
        if l.len() < self.1 {
            l.push(item)
        }
    }
    fn buf(item: &mut Vec<u8>) -> &mut Vec<u8> {
        item
    }
}

// ---------------------------------------------------------------- peers

/// `std::sync::Mutex<Vec<Vec<u8>>>`, bounded at `CAP`.
pub struct MutexVec(pub Mutex<Vec<Vec<u8>>>, pub usize);

impl Subject for MutexVec {
    type Item<'a> = Vec<u8>;
    fn name(&self) -> &'static str {
        "std_mutex_vec"
    }
    #[inline]
    fn take(&self) -> Vec<u8> {
        self.try_take().unwrap_or_else(new_buf)
    }
    #[inline]
    fn try_take(&self) -> Option<Vec<u8>> {
        self.0.lock().unwrap().pop()
    }
    fn can_try(&self) -> bool {
        true
    }
    #[inline]
    fn put(&self, item: Vec<u8>) {
        let mut l = self.0.lock().unwrap();
        if l.len() < self.1 {
            l.push(item)
        }
    }
    fn buf(item: &mut Vec<u8>) -> &mut Vec<u8> {
        item
    }
}

/// `crossbeam_queue::ArrayQueue` used as a pool: pop or create, push or drop.
pub struct ArrayQ(pub crossbeam_queue::ArrayQueue<Vec<u8>>);

impl Subject for ArrayQ {
    type Item<'a> = Vec<u8>;
    fn name(&self) -> &'static str {
        "crossbeam_arrayqueue"
    }
    #[inline]
    fn take(&self) -> Vec<u8> {
        self.0.pop().unwrap_or_else(new_buf)
    }
    #[inline]
    fn try_take(&self) -> Option<Vec<u8>> {
        self.0.pop()
    }
    fn can_try(&self) -> bool {
        true
    }
    #[inline]
    fn put(&self, item: Vec<u8>) {
        let _ = self.0.push(item);
    }
    fn buf(item: &mut Vec<u8>) -> &mut Vec<u8> {
        item
    }
}

/// `lockfree_object_pool::LinearObjectPool` (reset = `clear`).
pub struct LfopLinear(pub lockfree_object_pool::LinearObjectPool<Vec<u8>>);

guard_subject!(
    LfopLinear,
    lockfree_object_pool::LinearReusable<'a, Vec<u8>>,
    "lockfree_object_pool_linear",
    |p| p.0.pull()
);

/// `lockfree_object_pool::SpinLockObjectPool` (reset = `clear`).
pub struct LfopSpin(pub lockfree_object_pool::SpinLockObjectPool<Vec<u8>>);

guard_subject!(
    LfopSpin,
    lockfree_object_pool::SpinLockReusable<'a, Vec<u8>>,
    "lockfree_object_pool_spinlock",
    |p| p.0.pull()
);

/// `object_pool::Pool` (`parking_lot::Mutex<Vec<T>>`), `pull(new_buf)`.
pub struct ObjectPool(pub object_pool::Pool<Vec<u8>>);

guard_subject!(
    ObjectPool,
    object_pool::Reusable<'a, Vec<u8>>,
    "object_pool",
    |p| p.0.pull(new_buf),
    |p| p.0.try_pull()
);

/// `opool`'s allocator for the benched buffer.
pub struct VecAlloc;

impl opool::PoolAllocator<Vec<u8>> for VecAlloc {
    #[inline]
    fn allocate(&self) -> Vec<u8> {
        new_buf()
    }
}

/// `opool::Pool` (an `ArrayQueue` plus a guard), capacity `CAP` unless built prefilled.
pub struct Opool(pub opool::Pool<VecAlloc, Vec<u8>>);

guard_subject!(
    Opool,
    opool::RefGuard<'a, VecAlloc, Vec<u8>>,
    "opool",
    |p| p.0.get(),
    |p| p.0.try_get()
);

/// `sharded_slab::Pool`: `create()`, reserve on first use, then `clear(key)` to release.
pub struct Slab(pub sharded_slab::Pool<Vec<u8>>);

impl Subject for Slab {
    type Item<'a> = sharded_slab::pool::RefMut<'a, Vec<u8>>;
    fn name(&self) -> &'static str {
        "sharded_slab"
    }
    #[inline]
    fn take(&self) -> Self::Item<'_> {
        let mut g = self.0.create().expect("sharded-slab full");
        if g.capacity() < BUF_CAP {
            count_new();
            g.reserve(BUF_CAP);
        }
        g
    }
    #[inline]
    fn put<'a>(&'a self, item: Self::Item<'a>) {
        let k = item.key();
        drop(item);
        self.0.clear(k);
    }
    fn buf<'b>(item: &'b mut Self::Item<'_>) -> &'b mut Vec<u8> {
        item
    }
}

/// `syncpool::SyncPool` (`get`/`put` take `&mut self`, the pool is `!Sync`): a `RefCell`, so it
/// is benched on one thread only (the crate's own multi-thread usage is a `static mut`, UB).
pub struct SyncPoolCell(pub RefCell<syncpool::SyncPool<Vec<u8>>>);

impl Subject for SyncPoolCell {
    type Item<'a> = Box<Vec<u8>>;
    fn name(&self) -> &'static str {
        "syncpool"
    }
    #[inline]
    fn take(&self) -> Box<Vec<u8>> {
        self.0.borrow_mut().get()
    }
    #[inline]
    fn put(&self, item: Box<Vec<u8>>) {
        let _ = self.0.borrow_mut().put(item);
    }
    fn buf(item: &mut Box<Vec<u8>>) -> &mut Vec<u8> {
        item
    }
}

// ---------------------------------------------------------------- constructors

pub fn fresh() -> Fresh {
    Fresh { zeroed: false }
}
pub fn fresh_zeroed() -> Fresh {
    Fresh { zeroed: true }
}
pub fn std_tls() -> StdTls {
    StdTls {
        const_init: false,
        cap: CAP,
    }
}
pub fn std_tls_const() -> StdTls {
    StdTls {
        const_init: true,
        cap: CAP,
    }
}
pub fn crate_tls() -> CrateTls {
    CrateTls(thread_local::ThreadLocal::new(), CAP)
}
pub fn mutex_vec() -> MutexVec {
    MutexVec(Mutex::new(Vec::new()), CAP)
}
pub fn array_queue() -> ArrayQ {
    ArrayQ(crossbeam_queue::ArrayQueue::new(CAP))
}

/// Every bounded subject above with bound `cap` instead of `CAP` (for `producer_consumer`,
/// where thousands of objects are in flight).
pub fn with_cap(cap: usize) -> (StdTls, StdTls, CrateTls, MutexVec, ArrayQ, Opool) {
    (
        StdTls {
            const_init: false,
            cap,
        },
        StdTls {
            const_init: true,
            cap,
        },
        CrateTls(thread_local::ThreadLocal::new(), cap),
        MutexVec(Mutex::new(Vec::new()), cap),
        ArrayQ(crossbeam_queue::ArrayQueue::new(cap)),
        Opool(opool::Pool::new(cap, VecAlloc)),
    )
}
pub fn lfop_linear() -> LfopLinear {
    LfopLinear(lockfree_object_pool::LinearObjectPool::new(
        new_buf,
        |v: &mut Vec<u8>| v.clear(),
    ))
}
pub fn lfop_spin() -> LfopSpin {
    LfopSpin(lockfree_object_pool::SpinLockObjectPool::new(
        new_buf,
        |v: &mut Vec<u8>| v.clear(),
    ))
}
pub fn object_pool() -> ObjectPool {
    ObjectPool(object_pool::Pool::new(0, new_buf))
}
pub fn opool() -> Opool {
    Opool(opool::Pool::new(CAP, VecAlloc))
}
/// `opool` holding exactly `n` prefilled objects (capacity `n`).
pub fn opool_prefilled(n: usize) -> Opool {
    Opool(opool::Pool::new_prefilled(n, VecAlloc))
}
pub fn slab() -> Slab {
    Slab(sharded_slab::Pool::new())
}
pub fn syncpool() -> SyncPoolCell {
    SyncPoolCell(RefCell::new(syncpool::SyncPool::with_builder_and_size(
        CAP, new_buf,
    )))
}

// ---------------------------------------------------------------- gcpool

/// gcpool through the guard: `get()` then drop the `Pooled`.
pub struct GcGet(pub gcpool::Pool<Vec<u8>>);

guard_subject!(
    GcGet,
    gcpool::Pooled<'a, Vec<u8>>,
    "gcpool_get",
    |p| p.0.get(),
    |p| p.0.try_get()
);

/// gcpool through the owned guard: `get_owned()` on an `Arc<Pool>`, then drop the
/// `OwnedPooled` (an `Arc` clone and drop more than `gcpool_get`).
pub struct GcGetOwned(pub std::sync::Arc<gcpool::Pool<Vec<u8>>>);

guard_subject!(
    GcGetOwned,
    gcpool::OwnedPooled<Vec<u8>>,
    "gcpool_get_owned",
    |p| p.0.get_owned(),
    |p| p.0.try_get_owned()
);

/// gcpool with owned values: `take()` / `put(v)` (`try_take()` in `starvation`).
pub struct GcTake(pub gcpool::Pool<Vec<u8>>);

impl Subject for GcTake {
    type Item<'a> = Vec<u8>;
    fn name(&self) -> &'static str {
        "gcpool_take_put"
    }
    #[inline]
    fn take(&self) -> Vec<u8> {
        self.0.take()
    }
    #[inline]
    fn try_take(&self) -> Option<Vec<u8>> {
        self.0.try_take()
    }
    fn can_try(&self) -> bool {
        true
    }
    #[inline]
    fn put(&self, item: Vec<u8>) {
        self.0.put(item)
    }
    fn buf(item: &mut Vec<u8>) -> &mut Vec<u8> {
        item
    }
}

pub fn gc_get() -> GcGet {
    GcGet(gcpool::Pool::new(new_buf))
}
pub fn gc_get_owned() -> GcGetOwned {
    GcGetOwned(std::sync::Arc::new(gcpool::Pool::new(new_buf)))
}
pub fn gc_take() -> GcTake {
    GcTake(gcpool::Pool::new(new_buf))
}
