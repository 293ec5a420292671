//! The scale harness: gcpool used the way it is deployed (many more threads than cores,
//! idle threads, thread pools handing work around, thousands of pools), side by side with a
//! baseline pool built on `crossbeam_queue::ArrayQueue` with the same factory.
//!
//! ```text
//! cargo bench --bench scale -- [SCENARIO[,SCENARIO...]|all] [--runs N] [--quick]
//!                              [--json PATH] [--strace] [--impl NAME]
//! ```
//!
//! Scenarios: `threads`, `herd`, `collector`, `miss`, `barriers`, `memory`, `collect` (see each
//! `sc_*` function below). `--runs N` (default 3) repeats every case N times and reports medians;
//! `--quick` shrinks the sizes (not the thread counts, not the time limits); `--json PATH` writes
//! every figure with the machine it ran on, for `docs/bench-runs/`; `--strace` also counts the
//! `barriers` scenario's `membarrier` calls with `strace -f -c` (a cross-check of the counter);
//! `--impl gcpool` runs only gcpool's cases.
//!
//! Every run is a child process of this binary (`current_exe() --child KIND IMPL ARGS...`) in
//! its own process group. The parent kills the group when the scenario's time limit is hit, so
//! a livelocked run cannot hang the harness: it prints `STUCK (time limit N s hit)`, counts as a
//! failure, and the harness goes on. Children print `PROGRESS n` (threads finished so far) every
//! 100 ms, so a stuck run still says how far it got, and one `RESULT key=value ...` line.
//!
//! Reading the figures:
//! * `threads`: `ns/op` is wall time from the release of the threads until all are joined,
//!   divided by all threads' operations; on a shared machine (and under `nice`) it moves with
//!   other load. `CPU ns/op` is the process's CPU time over the same operations, steadier.
//! * `barriers`: counted by a perf counter on the `syscalls:sys_enter_membarrier` tracepoint
//!   (`BarrierCounter`), after a warm-up that takes the crate's one-time registration calls out
//!   of the count. `--strace` counts again under `strace -f -c` (its count for N gets minus
//!   its count for none); strace slows every thread, which changes how a pattern interleaves
//!   (the thread pool's jobs then land on a different worker every time), so the two counts
//!   agree exactly only where the pattern is deterministic (the token ring).
//! * `memory`: pool bytes = live bytes − 64 × live objects; they include each held object's
//!   24-byte `Vec` header (it lives in the pool's slots) and a few KiB of the harness's own
//!   thread bookkeeping.
//!
//! Only gcpool's public API is used (`Pool::new/get/take/try_take/put/collect/stats`,
//! `collect_all`, `Collector`), so the harness runs unchanged on any core that keeps that API.
//! Dependencies: `gcpool`, `crossbeam-queue`, `libc`. Nothing here asserts anything about
//! timing: it is a benchmark, not a test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{
    AtomicBool, AtomicIsize, AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use std::sync::{mpsc, Arc, Barrier, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_queue::{ArrayQueue, SegQueue};
use gcpool::{collect_all, Collector, Pool};

// ---------------------------------------------------------------------------------------------
// Counting allocator (the `memory` and `collect` scenarios)
// ---------------------------------------------------------------------------------------------

/// Forwards to `System`; while `COUNTING` is on, also keeps the live byte count and the number
/// of allocations. Off by default so that the timing scenarios pay one relaxed load per
/// allocation and no shared read-modify-write. A child turns it on before its first
/// measurement and never off, so the counts are only ever used as differences.
struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed while counting (frees of blocks allocated before counting
/// started make it drift down by a constant; only differences are reported).
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
/// Allocations (and reallocations) while counting.
static ALLOCS: AtomicU64 = AtomicU64::new(0);

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

#[inline]
fn count_alloc(size: usize) {
    if COUNTING.load(Relaxed) {
        LIVE_BYTES.fetch_add(size as isize, Relaxed);
        ALLOCS.fetch_add(1, Relaxed);
    }
}

#[inline]
fn count_free(size: usize) {
    if COUNTING.load(Relaxed) {
        LIVE_BYTES.fetch_sub(size as isize, Relaxed);
    }
}

// SAFETY: every method forwards its arguments unchanged to `System` and returns what `System`
// returns, so the `GlobalAlloc` contract is `System`'s; the counters are plain atomics on the
// side and touch no allocated memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller upholds `alloc`'s contract (non-zero size), passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with `layout` (caller's
        // contract), which is what `System.dealloc` requires.
        unsafe { System.dealloc(ptr, layout) };
        count_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`, and `new_size` is valid for it
        // (caller's contract), which is what `System.realloc` requires.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count_free(layout.size());
            count_alloc(new_size);
        }
        p
    }
}

fn live_bytes() -> isize {
    LIVE_BYTES.load(Relaxed)
}

fn allocs() -> u64 {
    ALLOCS.load(Relaxed)
}

// ---------------------------------------------------------------------------------------------
// The pooled object
// ---------------------------------------------------------------------------------------------

/// Heap capacity of every pooled object: small, so that 10,000 pools × 64 threads of them fit.
const OBJ_CAP: usize = 64;

/// Objects alive while counting (the `memory` scenario subtracts their heap bytes from the
/// live bytes to get what the pools themselves hold).
static LIVE_OBJS: AtomicIsize = AtomicIsize::new(0);

/// A `Vec<u8>` with capacity 64 that counts itself while `COUNTING` is on.
struct Obj(Vec<u8>);

impl Obj {
    /// The factory of every pool, gcpool and baseline alike.
    fn new() -> Obj {
        Obj::counted(Vec::with_capacity(OBJ_CAP))
    }

    /// An object with no heap block (the 4M-put case, which measures the pool's own slots).
    fn empty() -> Obj {
        Obj::counted(Vec::new())
    }

    fn counted(v: Vec<u8>) -> Obj {
        if COUNTING.load(Relaxed) {
            LIVE_OBJS.fetch_add(1, Relaxed);
        }
        Obj(v)
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        if COUNTING.load(Relaxed) {
            LIVE_OBJS.fetch_sub(1, Relaxed);
        }
    }
}

/// Makes the optimiser assume the object was read and written while it was held.
#[inline]
fn touch(o: &mut Obj) {
    black_box(&mut o.0);
}

// ---------------------------------------------------------------------------------------------
// The two pools under test
// ---------------------------------------------------------------------------------------------

/// What every scenario does with a pool; implemented by gcpool and by the baseline.
trait Subject: Send + Sync + Sized + 'static {
    /// A pool; `cap` bounds the baseline's queue (gcpool ignores it).
    fn make(cap: usize) -> Self;
    /// Get an object (guard), use it, drop the guard (returns it).
    fn get_drop(&self);
    /// Hold two guards at once, then drop both (the second first, as locals drop).
    fn nested(&self);
    fn take(&self) -> Obj;
    fn try_take(&self) -> Option<Obj>;
    fn put(&self, o: Obj);
    fn collect(&self);
    /// One collection of every pool in `pools`: gcpool's process-wide `collect_all()` (which
    /// visits every live pool of the child, i.e. exactly these), the baseline's drain of each.
    fn collect_every(pools: &[Self]);
    /// Objects the factory made.
    fn created(&self) -> u64;
    /// Collections this pool has seen.
    fn collections(&self) -> u64;
    /// Objects held now (gcpool: `stats().retained`, which sums every cache's counters).
    fn count(&self) -> usize;
}

struct Gc(Pool<Obj>);

impl Subject for Gc {
    fn make(_cap: usize) -> Self {
        Gc(Pool::new(Obj::new))
    }
    fn get_drop(&self) {
        let mut g = self.0.get();
        touch(&mut g);
    }
    fn nested(&self) {
        let mut g1 = self.0.get();
        let mut g2 = self.0.get();
        touch(&mut g1);
        touch(&mut g2);
    }
    fn take(&self) -> Obj {
        self.0.take()
    }
    fn try_take(&self) -> Option<Obj> {
        self.0.try_take()
    }
    fn put(&self, o: Obj) {
        self.0.put(o)
    }
    fn collect(&self) {
        self.0.collect()
    }
    fn collect_every(_pools: &[Self]) {
        collect_all()
    }
    fn created(&self) -> u64 {
        self.0.stats().created
    }
    fn collections(&self) -> u64 {
        self.0.stats().collections
    }
    fn count(&self) -> usize {
        self.0.stats().retained
    }
}

/// The baseline: a bounded lock-free queue as the free list, the factory on a miss, a put into
/// a full queue drops the object, and a "collection" drops everything queued.
struct Aq {
    q: ArrayQueue<Obj>,
    created: AtomicU64,
    collections: AtomicU64,
}

impl Subject for Aq {
    fn make(cap: usize) -> Self {
        Aq {
            q: ArrayQueue::new(cap.max(1)),
            created: AtomicU64::new(0),
            collections: AtomicU64::new(0),
        }
    }
    fn get_drop(&self) {
        let mut o = self.take();
        touch(&mut o);
        self.put(o);
    }
    fn nested(&self) {
        let mut a = self.take();
        let mut b = self.take();
        touch(&mut a);
        touch(&mut b);
        self.put(b);
        self.put(a);
    }
    fn take(&self) -> Obj {
        self.q.pop().unwrap_or_else(|| {
            self.created.fetch_add(1, Relaxed);
            Obj::new()
        })
    }
    fn try_take(&self) -> Option<Obj> {
        self.q.pop()
    }
    fn put(&self, o: Obj) {
        // Full: the object is dropped, as a bounded pool does.
        let _ = self.q.push(o);
    }
    fn collect(&self) {
        self.collections.fetch_add(1, Relaxed);
        while self.q.pop().is_some() {}
    }
    fn collect_every(pools: &[Self]) {
        for p in pools {
            p.collect();
        }
    }
    fn created(&self) -> u64 {
        self.created.load(Relaxed)
    }
    fn collections(&self) -> u64 {
        self.collections.load(Relaxed)
    }
    fn count(&self) -> usize {
        self.q.len()
    }
}

// ---------------------------------------------------------------------------------------------
// Child-side helpers
// ---------------------------------------------------------------------------------------------

/// Stack of every worker thread: 1,000 threads × 256 KiB of address space, touched lazily.
const STACK: usize = 256 * 1024;

fn spawn<F: FnOnce() + Send + 'static>(f: F) -> JoinHandle<()> {
    thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .expect("scale: cannot spawn a thread")
}

fn join_all(handles: Vec<JoinHandle<()>>) {
    for h in handles {
        h.join().expect("scale: a worker thread panicked");
    }
}

/// Prints the child's one result line, read by the parent.
fn report(metrics: &[(&str, f64)]) {
    let mut line = String::from("RESULT");
    for (k, v) in metrics {
        let _ = write!(line, " {k}={v}");
    }
    println!("{line}");
}

/// A thread that prints `PROGRESS n` (`n` = finished workers) every 100 ms until dropped, so
/// that the parent knows how far a run got when it has to kill it.
struct Progress {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Progress {
    fn start(done: &Arc<AtomicUsize>) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let (d, s) = (Arc::clone(done), Arc::clone(&stop));
        let handle = spawn(move || {
            while !s.load(Relaxed) {
                println!("PROGRESS {}", d.load(Relaxed));
                thread::sleep(Duration::from_millis(100));
            }
        });
        Progress {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// `k` idle registered threads: each puts an object into the pool and takes it back (so the
/// pool knows the thread and the pool is left empty), then blocks on a condvar until `stop`.
struct Idle {
    gate: Arc<(Mutex<bool>, Condvar)>,
    handles: Vec<JoinHandle<()>>,
}

impl Idle {
    fn start<P: Subject>(pool: &Arc<P>, k: usize) -> Idle {
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let ready = Arc::new(Barrier::new(k + 1));
        let handles = (0..k)
            .map(|_| {
                let (pool, gate, ready) = (Arc::clone(pool), Arc::clone(&gate), Arc::clone(&ready));
                spawn(move || {
                    pool.put(Obj::new());
                    drop(pool.try_take());
                    ready.wait();
                    let (m, c) = &*gate;
                    let mut stop = m.lock().unwrap();
                    while !*stop {
                        stop = c.wait(stop).unwrap();
                    }
                })
            })
            .collect();
        ready.wait();
        Idle { gate, handles }
    }

    fn stop(self) {
        let (m, c) = &*self.gate;
        *m.lock().unwrap() = true;
        c.notify_all();
        join_all(self.handles);
    }
}

/// This process's CPU time (user + system, all threads) in seconds.
fn cpu_time() -> f64 {
    // SAFETY: `getrusage` writes one `rusage` into the zeroed value we pass; all-zero bytes are
    // a valid `rusage` (plain integers).
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `&mut ru` is a valid, writable `rusage`.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median ns per call of `f`, timed in batches of 32 calls for about `window` (at least 20
/// batches, at most 20,000).
fn sample(window: Duration, mut f: impl FnMut()) -> f64 {
    const BATCH: usize = 32;
    for _ in 0..BATCH {
        f();
    }
    let end = Instant::now() + window;
    let mut v = Vec::with_capacity(20_000);
    while v.len() < 20 || (v.len() < 20_000 && Instant::now() < end) {
        let t = Instant::now();
        for _ in 0..BATCH {
            f();
        }
        v.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    median(v)
}

// ---------------------------------------------------------------------------------------------
// The membarrier counter
// ---------------------------------------------------------------------------------------------

/// Counts `membarrier(2)` calls with a perf counter on the `syscalls:sys_enter_membarrier`
/// tracepoint, opened on the child's main thread with `inherit`, before any other thread is
/// spawned: it counts the main thread and every thread spawned later, the latter once they have
/// exited (the kernel folds an exited thread's count into the parent event). Read it only when
/// the threads of the measurement have been joined.
struct BarrierCounter {
    fd: libc::c_int,
}

/// `struct perf_event_attr` up to `config1` (`PERF_ATTR_SIZE_VER0`, 64 bytes).
#[repr(C)]
struct PerfEventAttr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    /// Bit 0 `disabled`, bit 1 `inherit`, ...
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

impl BarrierCounter {
    const HOW: &'static str = "perf_event_open on tracepoint syscalls:sys_enter_membarrier \
        (inherit, counted from the measuring thread, read after the workers are joined)";

    fn open() -> Result<BarrierCounter, String> {
        let id = [
            "/sys/kernel/tracing/events/syscalls/sys_enter_membarrier/id",
            "/sys/kernel/debug/tracing/events/syscalls/sys_enter_membarrier/id",
        ]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .ok_or("no tracefs entry for syscalls:sys_enter_membarrier")?
        .trim()
        .parse::<u64>()
        .map_err(|e| format!("tracepoint id: {e}"))?;
        let attr = PerfEventAttr {
            type_: 2, // PERF_TYPE_TRACEPOINT
            size: std::mem::size_of::<PerfEventAttr>() as u32,
            config: id,
            sample_period: 0,
            sample_type: 0,
            read_format: 0,
            flags: 1 << 1, // enabled, inherit
            wakeup_events: 0,
            bp_type: 0,
            config1: 0,
        };
        // SAFETY: `perf_event_open(attr, pid = 0 (this thread), cpu = -1, group_fd = -1,
        // PERF_FLAG_FD_CLOEXEC)` only reads `attr`, a valid `perf_event_attr` of `attr.size`
        // bytes that outlives the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &attr as *const PerfEventAttr,
                0 as libc::pid_t,
                -1 as libc::c_int,
                -1 as libc::c_int,
                8 as libc::c_ulong,
            )
        };
        if fd < 0 {
            return Err(format!(
                "perf_event_open: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(BarrierCounter {
            fd: fd as libc::c_int,
        })
    }

    fn read(&self) -> u64 {
        let mut v: u64 = 0;
        // SAFETY: reads at most 8 bytes into `v`, a live, writable `u64`.
        let n = unsafe { libc::read(self.fd, (&mut v as *mut u64).cast(), 8) };
        assert_eq!(n, 8, "scale: reading the membarrier counter failed");
        v
    }
}

impl Drop for BarrierCounter {
    fn drop(&mut self) {
        // SAFETY: `fd` is ours and closed once.
        unsafe { libc::close(self.fd) };
    }
}

/// Opens the counter, or says why not (printed as a `NOTE`; the figures are then missing).
fn barrier_counter() -> Option<BarrierCounter> {
    match BarrierCounter::open() {
        Ok(c) => Some(c),
        Err(e) => {
            println!("NOTE membarrier counter unavailable: {e}");
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios (child side)
// ---------------------------------------------------------------------------------------------

/// `threads`: `t` threads released at once by a barrier, each doing `total / t` get/drop (or
/// take/put) on one pool; wall time from the release until all are joined.
fn sc_threads<P: Subject>(t: usize, mode: &str, total: usize) {
    let pool = Arc::new(P::make(2 * t + 64));
    let per = (total / t).max(1);
    let takeput = mode == "takeput";
    let start = Arc::new(Barrier::new(t + 1));
    let done = Arc::new(AtomicUsize::new(0));
    let handles = (0..t)
        .map(|_| {
            let (pool, start, done) = (Arc::clone(&pool), Arc::clone(&start), Arc::clone(&done));
            spawn(move || {
                start.wait();
                for _ in 0..per {
                    if takeput {
                        let mut o = pool.take();
                        touch(&mut o);
                        pool.put(o);
                    } else {
                        pool.get_drop();
                    }
                }
                done.fetch_add(1, Relaxed);
            })
        })
        .collect();
    let _progress = Progress::start(&done);
    let cpu0 = cpu_time();
    start.wait();
    let t0 = Instant::now();
    join_all(handles);
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_time() - cpu0;
    let ops = (per * t) as f64;
    report(&[
        ("ns_per_op", wall * 1e9 / ops),
        ("mops", ops / wall / 1e6),
        ("cpu_ns_per_op", cpu * 1e9 / ops),
        ("created", pool.created() as f64),
    ]);
}

/// `herd`: `n` fresh threads parked on a condvar, woken at once by `notify_all`, each doing one
/// get and dropping it; time from the wake-up until all are joined.
fn sc_herd<P: Subject>(n: usize) {
    let pool = Arc::new(P::make(n + 64));
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let parked = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let handles = (0..n)
        .map(|_| {
            let (pool, gate) = (Arc::clone(&pool), Arc::clone(&gate));
            let (parked, done) = (Arc::clone(&parked), Arc::clone(&done));
            spawn(move || {
                let (m, c) = &*gate;
                let mut open = m.lock().unwrap();
                parked.fetch_add(1, Relaxed);
                while !*open {
                    open = c.wait(open).unwrap();
                }
                drop(open);
                pool.get_drop();
                done.fetch_add(1, Relaxed);
            })
        })
        .collect();
    // A thread counts itself under the lock and releases it only by waiting, so once all `n`
    // have counted, taking the lock means all `n` are waiting.
    while parked.load(Relaxed) < n {
        thread::sleep(Duration::from_millis(1));
    }
    let _progress = Progress::start(&done);
    let (m, c) = &*gate;
    *m.lock().unwrap() = true;
    c.notify_all();
    let t0 = Instant::now();
    join_all(handles);
    report(&[
        ("ms", t0.elapsed().as_secs_f64() * 1e3),
        ("done", done.load(Relaxed) as f64),
        ("created", pool.created() as f64),
    ]);
}

/// `collector`: `n` threads each doing `ops` operations (get/drop and take/put alternately) on
/// one pool while collections run every 1 ms: a thread looping `collect_every` + 1 ms sleep
/// (`loop`), or gcpool's `Collector::start(1 ms)` (`Collector`).
fn sc_collector<P: Subject>(n: usize, ops: usize, variant: &str) {
    let pool = Arc::new(P::make(n + 64));
    let stop = Arc::new(AtomicBool::new(false));
    let loops = Arc::new(AtomicU64::new(0));
    let mut background = None;
    let mut looper = None;
    if variant == "Collector" {
        background = Some(Collector::start(Duration::from_millis(1)));
    } else {
        let (pool, stop, loops) = (Arc::clone(&pool), Arc::clone(&stop), Arc::clone(&loops));
        looper = Some(spawn(move || {
            while !stop.load(Relaxed) {
                P::collect_every(std::slice::from_ref(&*pool));
                loops.fetch_add(1, Relaxed);
                thread::sleep(Duration::from_millis(1));
            }
        }));
    }
    let start = Arc::new(Barrier::new(n + 1));
    let done = Arc::new(AtomicUsize::new(0));
    let handles = (0..n)
        .map(|_| {
            let (pool, start, done) = (Arc::clone(&pool), Arc::clone(&start), Arc::clone(&done));
            spawn(move || {
                start.wait();
                for i in 0..ops {
                    if i % 2 == 0 {
                        pool.get_drop();
                    } else {
                        let mut o = pool.take();
                        touch(&mut o);
                        pool.put(o);
                    }
                }
                done.fetch_add(1, Relaxed);
            })
        })
        .collect();
    let _progress = Progress::start(&done);
    start.wait();
    let t0 = Instant::now();
    join_all(handles);
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    stop.store(true, Relaxed);
    if let Some(h) = looper {
        h.join().unwrap();
    }
    drop(background);
    report(&[
        ("ms", ms),
        ("done", done.load(Relaxed) as f64),
        ("collections", pool.collections() as f64),
        ("created", pool.created() as f64),
    ]);
}

/// `miss`: `try_take` on an empty pool, and `take` that has to create (the object is then
/// dropped, so the pool stays empty), with `k` idle registered threads.
fn sc_miss<P: Subject>(k: usize, window: Duration) {
    let pool = Arc::new(P::make(k + 64));
    let idle = Idle::start(&pool, k);
    while pool.try_take().is_some() {}
    let try_take_ns = sample(window, || drop(black_box(pool.try_take())));
    let take_new_ns = sample(window, || drop(black_box(pool.take())));
    let count_ns = sample(window, || {
        black_box(pool.count());
    });
    idle.stop();
    report(&[
        ("try_take_ns", try_take_ns),
        ("take_new_ns", take_new_ns),
        ("count_ns", count_ns),
    ]);
}

/// Nanoseconds `f` took.
#[inline]
fn timed(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_nanos() as f64
}

/// Threads of the token ring and of the thread pool.
const RING: usize = 4;
const WORKERS: usize = 4;

/// `barriers`: `membarrier` calls during `n` gets in one of four patterns (see `main`'s help).
fn sc_barriers<P: Subject>(pattern: &str, n: usize) {
    let counter = barrier_counter();
    let pool = Arc::new(P::make(1024));
    // Warm-up on this thread: registers it with the pool, and makes the crate do its one-time
    // `membarrier` registration now rather than inside the counted region.
    pool.get_drop();
    pool.collect();
    pool.collect();
    let created0 = pool.created();
    // Every get's latency (get + use + drop of the guard, or the `take` in `prodcons`; each
    // includes about 25 ns of clock reads), merged from the threads when they finish.
    let lat = Arc::new(Mutex::new(Vec::<f64>::with_capacity(n)));
    let b0 = counter.as_ref().map(BarrierCounter::read);
    let t0 = Instant::now();
    let gets = match pattern {
        // N threads pass one object around through the pool: a thread gets it, uses it, puts it
        // back, then hands the token to the next thread, which gets it from the pool.
        "ring" => {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..RING).map(|_| mpsc::channel::<usize>()).unzip();
            let handles: Vec<_> = rxs
                .into_iter()
                .enumerate()
                .map(|(i, rx)| {
                    let (pool, next) = (Arc::clone(&pool), txs[(i + 1) % RING].clone());
                    let lat = Arc::clone(&lat);
                    spawn(move || {
                        let mut mine = Vec::with_capacity(n / RING + 1);
                        while let Ok(left) = rx.recv() {
                            if left == 0 {
                                let _ = next.send(0);
                                break;
                            }
                            mine.push(timed(|| pool.get_drop()));
                            let _ = next.send(left - 1);
                        }
                        lat.lock().unwrap().extend(mine);
                    })
                })
                .collect();
            txs[0].send(n).unwrap();
            drop(txs);
            join_all(handles);
            n
        }
        // A std-style thread pool (workers share one `Receiver` behind a mutex); the main thread
        // keeps one job in flight: send, wait for its completion, send the next.
        "threadpool" => {
            let (job_tx, job_rx) = mpsc::channel::<()>();
            let (done_tx, done_rx) = mpsc::channel::<()>();
            let job_rx = Arc::new(Mutex::new(job_rx));
            let handles: Vec<_> = (0..WORKERS)
                .map(|_| {
                    let (pool, rx, tx) = (Arc::clone(&pool), Arc::clone(&job_rx), done_tx.clone());
                    let lat = Arc::clone(&lat);
                    spawn(move || {
                        let mut mine = Vec::with_capacity(n);
                        loop {
                            let job = rx.lock().unwrap().recv();
                            if job.is_err() {
                                break;
                            }
                            mine.push(timed(|| pool.get_drop()));
                            let _ = tx.send(());
                        }
                        lat.lock().unwrap().extend(mine);
                    })
                })
                .collect();
            for _ in 0..n {
                job_tx.send(()).unwrap();
                done_rx.recv().unwrap();
            }
            drop(job_tx);
            join_all(handles);
            n
        }
        // One thread: hold g1 = get(), then g2 = get(), drop both, repeat.
        // (Latency: the pair's time, halved.)
        "nested" => {
            let mut l = lat.lock().unwrap();
            for _ in 0..n / 2 {
                l.push(timed(|| pool.nested()) / 2.0);
            }
            n / 2 * 2
        }
        // One thread puts fresh objects, the main thread takes them: a pipeline at most 16
        // objects deep, each take waiting until the producer has put one more object than have
        // been taken (the take can still miss, and then creates, if the pool does not find it).
        "prodcons" => {
            let produced = Arc::new(AtomicUsize::new(0));
            let consumed = Arc::new(AtomicUsize::new(0));
            let (p, pr, co) = (
                Arc::clone(&pool),
                Arc::clone(&produced),
                Arc::clone(&consumed),
            );
            let producer = spawn(move || {
                for i in 0..n {
                    while i >= co.load(Acquire) + 16 {
                        thread::yield_now();
                    }
                    p.put(Obj::new());
                    pr.store(i + 1, Release);
                }
            });
            let mut l = lat.lock().unwrap();
            for i in 0..n {
                while produced.load(Acquire) <= i {
                    thread::yield_now();
                }
                l.push(timed(|| drop(black_box(pool.take()))));
                consumed.store(i + 1, Release);
            }
            drop(l);
            producer.join().unwrap();
            n
        }
        other => panic!("scale: unknown barrier pattern {other}"),
    };
    let secs = t0.elapsed().as_secs_f64();
    let mut m = vec![
        ("gets", gets as f64),
        ("ns_per_get", secs * 1e9 / gets.max(1) as f64),
        ("created", (pool.created() - created0) as f64),
    ];
    let mut lat = std::mem::take(&mut *lat.lock().unwrap());
    lat.sort_by(|a, b| a.total_cmp(b));
    for (key, q) in [
        ("get_p50_ns", 0.5),
        ("get_p99_ns", 0.99),
        ("get_p999_ns", 0.999),
    ] {
        if !lat.is_empty() {
            m.push((key, lat[((lat.len() - 1) as f64 * q).round() as usize]));
        }
    }
    if let (Some(c), Some(b0)) = (&counter, b0) {
        let b = c.read() - b0;
        m.push(("barriers", b as f64));
        m.push(("per_1000_gets", b as f64 * 1000.0 / gets.max(1) as f64));
    }
    report(&m);
}

/// `memory`/`pools`: `p` pools × `t` threads; each thread puts a fresh object into every pool
/// and gets it back (the guard returns it), so every pool ends up holding `t` objects.
/// Pool bytes = live bytes − the objects' heap bytes (64 each), measured with the threads
/// alive, after they exit, and after two collections of every pool.
fn sc_memory_pools<P: Subject>(p: usize, t: usize) {
    COUNTING.store(true, Relaxed);
    let mut pools: Vec<P> = Vec::with_capacity(p);
    let (base, allocs0) = (live_bytes(), allocs());
    for _ in 0..p {
        pools.push(P::make(t));
    }
    let pools = Arc::new(pools);
    let worked = Arc::new(Barrier::new(t + 1));
    let exit = Arc::new(Barrier::new(t + 1));
    let handles = (0..t)
        .map(|_| {
            let (pools, worked, exit) =
                (Arc::clone(&pools), Arc::clone(&worked), Arc::clone(&exit));
            spawn(move || {
                for q in pools.iter() {
                    q.put(Obj::new());
                    q.get_drop();
                }
                worked.wait();
                exit.wait();
            })
        })
        .collect();
    worked.wait();
    let own = || LIVE_OBJS.load(Relaxed) as f64 * OBJ_CAP as f64;
    let (live1, own1, allocs1) = ((live_bytes() - base) as f64, own(), allocs() - allocs0);
    exit.wait();
    join_all(handles);
    let (live2, own2) = ((live_bytes() - base) as f64, own());
    P::collect_every(&pools);
    P::collect_every(&pools);
    let (live3, own3) = ((live_bytes() - base) as f64, own());
    report(&[
        ("pool_bytes_live", live1 - own1),
        ("own_bytes_live", own1),
        ("pool_bytes_exit", live2 - own2),
        ("own_bytes_exit", own2),
        ("pool_bytes_collected", live3 - own3),
        ("own_bytes_collected", own3),
        ("allocs", allocs1 as f64),
    ]);
}

/// `memory`/`bigput` for gcpool: one thread puts `n` heap-less objects into one pool and exits;
/// live bytes after its exit and after each of five `collect()`s.
fn sc_bigput_gc(n: usize) {
    COUNTING.store(true, Relaxed);
    let base = live_bytes();
    let pool = Arc::new(Gc::make(0));
    let p = Arc::clone(&pool);
    spawn(move || {
        for _ in 0..n {
            p.put(Obj::empty());
        }
    })
    .join()
    .unwrap();
    bigput_tail(base, || pool.collect());
}

/// The same with the baseline; an `ArrayQueue` would need its 4M slots up front, so the
/// baseline here is the unbounded `SegQueue` (blocks freed as they are drained).
fn sc_bigput_seg(n: usize) {
    COUNTING.store(true, Relaxed);
    let base = live_bytes();
    let q = Arc::new(SegQueue::new());
    let p = Arc::clone(&q);
    spawn(move || {
        for _ in 0..n {
            p.push(Obj::empty());
        }
    })
    .join()
    .unwrap();
    bigput_tail(base, || while q.pop().is_some() {});
}

fn bigput_tail(base: isize, mut collect: impl FnMut()) {
    let mut m = vec![("bytes_exit".to_string(), (live_bytes() - base) as f64)];
    for i in 1..=5 {
        collect();
        m.push((format!("bytes_c{i}"), (live_bytes() - base) as f64));
    }
    m.push(("objects_left".into(), LIVE_OBJS.load(Relaxed) as f64));
    let m: Vec<(&str, f64)> = m.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    report(&m);
}

/// `collect`/`threads`: `collect()` on a pool the main thread used once, with `k` idle
/// registered threads; median time of `r` calls, allocations and barriers per call.
fn sc_collect_threads<P: Subject>(k: usize, r: usize) {
    COUNTING.store(true, Relaxed);
    let counter = barrier_counter();
    let pool = Arc::new(P::make(k + 64));
    pool.get_drop();
    let idle = Idle::start(&pool, k);
    while pool.try_take().is_some() {}
    for _ in 0..3 {
        pool.collect();
    }
    // Allocated before counting starts: the harness's own allocation stays out of the count.
    let mut times = Vec::with_capacity(r);
    let (b0, a0) = (counter.as_ref().map(BarrierCounter::read), allocs());
    for _ in 0..r {
        let t = Instant::now();
        pool.collect();
        times.push(t.elapsed().as_nanos() as f64);
    }
    let a = allocs() - a0;
    let b = counter.as_ref().map(BarrierCounter::read);
    idle.stop();
    let mut m = vec![
        ("collect_ns", median(times)),
        ("allocs_per_call", a as f64 / r as f64),
    ];
    if let (Some(b0), Some(b1)) = (b0, b) {
        m.push(("barriers_per_call", (b1 - b0) as f64 / r as f64));
    }
    report(&m);
}

/// `collect`/`all`: one collection of every pool (gcpool: `collect_all()`) over `np` pools that
/// were each used once; median time of `r` calls after three warm-ups (the steady state),
/// allocations and barriers per call. With `full` = 1, every pool is used once more before
/// each call (untimed), so that each call moves one object per pool to the victim and drops
/// the one of two calls before: the busy steady state, not only idle pools.
fn sc_collect_all<P: Subject>(np: usize, r: usize, full: usize) {
    COUNTING.store(true, Relaxed);
    let counter = barrier_counter();
    let pools: Vec<P> = (0..np).map(|_| P::make(64)).collect();
    for p in &pools {
        p.get_drop();
    }
    let refill = |pools: &[P]| {
        if full == 1 {
            for p in pools {
                p.get_drop();
            }
        }
    };
    for _ in 0..3 {
        refill(&pools);
        P::collect_every(&pools);
    }
    let mut times = Vec::with_capacity(r);
    let (mut a, mut b) = (0, 0);
    for _ in 0..r {
        refill(&pools);
        let (b0, a0) = (counter.as_ref().map(BarrierCounter::read), allocs());
        let t = Instant::now();
        P::collect_every(&pools);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        a += allocs() - a0;
        if let (Some(b0), Some(b1)) = (b0, counter.as_ref().map(BarrierCounter::read)) {
            b += b1 - b0;
        }
    }
    let (b0, b) = (counter.as_ref().map(|_| 0), counter.as_ref().map(|_| b));
    let mut m = vec![
        ("ms", median(times)),
        ("allocs_per_call", a as f64 / r as f64),
    ];
    if let (Some(b0), Some(b1)) = (b0, b) {
        m.push(("barriers_per_call", (b1 - b0) as f64 / r as f64));
    }
    report(&m);
}

/// `collect`/`drop`: dropping `np` pools (each used once, so registered), in creation order.
fn sc_drop_pools<P: Subject>(np: usize) {
    let pools: Vec<P> = (0..np).map(|_| P::make(64)).collect();
    for p in &pools {
        p.get_drop();
    }
    let t = Instant::now();
    drop(pools);
    let s = t.elapsed().as_secs_f64();
    report(&[("ms", s * 1e3), ("ns_per_pool", s * 1e9 / np as f64)]);
}

fn child_main(args: &[String]) {
    let kind = args[0].as_str();
    let imp = args[1].as_str();
    let num = |i: usize| -> usize { args[2 + i].parse().expect("scale: numeric child argument") };
    macro_rules! dispatch {
        ($f:ident ( $($a:expr),* )) => {
            match imp {
                "gcpool" => $f::<Gc>($($a),*),
                "arrayqueue" => $f::<Aq>($($a),*),
                other => panic!("scale: unknown pool {other}"),
            }
        };
    }
    match kind {
        "threads" => dispatch!(sc_threads(num(0), &args[3], num(2))),
        "herd" => dispatch!(sc_herd(num(0))),
        "collector" => dispatch!(sc_collector(num(0), num(1), &args[4])),
        "miss" => dispatch!(sc_miss(num(0), Duration::from_millis(num(1) as u64))),
        "barriers" => dispatch!(sc_barriers(&args[2], num(1))),
        "memory-pools" => dispatch!(sc_memory_pools(num(0), num(1))),
        "memory-bigput" if imp == "gcpool" => sc_bigput_gc(num(0)),
        "memory-bigput" => sc_bigput_seg(num(0)),
        "collect-threads" => dispatch!(sc_collect_threads(num(0), num(1))),
        "collect-all" => dispatch!(sc_collect_all(num(0), num(1), num(2))),
        "collect-drop" => dispatch!(sc_drop_pools(num(0))),
        other => panic!("scale: unknown child kind {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Parent: cases, the watchdog, tables, JSON
// ---------------------------------------------------------------------------------------------

/// A JSON scalar for a case's parameters.
enum J {
    N(f64),
    S(String),
}

/// One measured configuration of one pool, run `--runs` times.
struct Case {
    scenario: &'static str,
    /// Child kind, and the table the case is printed in.
    kind: &'static str,
    label: String,
    imp: &'static str,
    args: Vec<String>,
    params: Vec<(&'static str, J)>,
    limit: Duration,
}

#[derive(Default)]
struct Outcome {
    stuck: bool,
    failed: Option<String>,
    metrics: Vec<(String, f64)>,
    progress: Option<u64>,
    notes: Vec<String>,
    wall_s: f64,
}

struct Settings {
    runs: usize,
    quick: bool,
    strace: bool,
    /// `--impl NAME`: run only that pool's cases (e.g. `gcpool`, to save the baseline's time).
    only: Option<String>,
}

const SCENARIOS: [&str; 7] = [
    "threads",
    "herd",
    "collector",
    "miss",
    "barriers",
    "memory",
    "collect",
];

fn cases(scenario: &'static str, s: &Settings) -> Vec<Case> {
    let q = s.quick;
    let mut out = Vec::new();
    let mut add = |kind: &'static str,
                   label: String,
                   imp: &'static str,
                   args: Vec<String>,
                   params: Vec<(&'static str, J)>,
                   limit: u64| {
        out.push(Case {
            scenario,
            kind,
            label,
            imp,
            args,
            params,
            limit: Duration::from_secs(limit),
        })
    };
    let both = ["gcpool", "arrayqueue"];
    let st = |v: &[&dyn ToString]| -> Vec<String> { v.iter().map(|x| x.to_string()).collect() };
    match scenario {
        "threads" => {
            let total = if q { 400_000 } else { 4_000_000 };
            for mode in ["get", "takeput"] {
                for t in [1usize, 10, 100, 1000] {
                    for imp in both {
                        add(
                            "threads",
                            format!("T={t} {mode}"),
                            imp,
                            st(&[&t, &mode, &total]),
                            vec![
                                ("T", J::N(t as f64)),
                                ("mode", J::S(mode.into())),
                                ("ops", J::N(total as f64)),
                            ],
                            20,
                        );
                    }
                }
            }
        }
        "herd" => {
            for n in [1000usize, 300] {
                for imp in both {
                    add(
                        "herd",
                        format!("{n} parked threads"),
                        imp,
                        st(&[&n]),
                        vec![("threads", J::N(n as f64))],
                        10,
                    );
                }
            }
        }
        "collector" => {
            let ops = if q { 200 } else { 1000 };
            for variant in ["loop", "Collector"] {
                for imp in both {
                    if variant == "Collector" && imp != "gcpool" {
                        continue; // gcpool's Collector collects gcpool pools only
                    }
                    add(
                        "collector",
                        format!("1000 threads × {ops} ops, {variant} 1 ms"),
                        imp,
                        st(&[&1000, &ops, &variant]),
                        vec![
                            ("threads", J::N(1000.0)),
                            ("ops", J::N(ops as f64)),
                            ("variant", J::S(variant.into())),
                        ],
                        20,
                    );
                }
            }
        }
        "miss" => {
            let window = if q { 100 } else { 300 };
            for k in [0usize, 10, 100, 1000] {
                for imp in both {
                    add(
                        "miss",
                        format!("{k} idle threads"),
                        imp,
                        st(&[&k, &window]),
                        vec![("idle", J::N(k as f64))],
                        30,
                    );
                }
            }
        }
        "barriers" => {
            let n = if q { 2_000 } else { 10_000 };
            for pattern in ["ring", "threadpool", "nested", "prodcons"] {
                for imp in both {
                    add(
                        "barriers",
                        pattern.to_string(),
                        imp,
                        st(&[&pattern, &n]),
                        vec![("pattern", J::S(pattern.into())), ("gets", J::N(n as f64))],
                        20,
                    );
                }
            }
        }
        "memory" => {
            let (p, t) = if q { (1_000, 16) } else { (10_000, 64) };
            for imp in both {
                add(
                    "memory-pools",
                    format!("{p} pools × {t} threads"),
                    imp,
                    st(&[&p, &t]),
                    vec![("pools", J::N(p as f64)), ("threads", J::N(t as f64))],
                    60,
                );
            }
            let n = if q { 400_000 } else { 4_000_000 };
            for imp in ["gcpool", "segqueue"] {
                add(
                    "memory-bigput",
                    format!("{n} puts, thread exits"),
                    imp,
                    st(&[&n]),
                    vec![("puts", J::N(n as f64))],
                    60,
                );
            }
        }
        "collect" => {
            let r = if q { 50 } else { 200 };
            for k in [0usize, 10, 100, 1000] {
                for imp in both {
                    add(
                        "collect-threads",
                        format!("{k} idle threads"),
                        imp,
                        st(&[&k, &r]),
                        vec![("idle", J::N(k as f64))],
                        60,
                    );
                }
            }
            let r = if q { 5 } else { 20 };
            for (full, label) in [(0usize, "idle"), (1, "one object each")] {
                for np in [1_000usize, 10_000] {
                    for imp in both {
                        add(
                            "collect-all",
                            format!("{np} pools, {label}"),
                            imp,
                            st(&[&np, &r, &full]),
                            vec![("pools", J::N(np as f64)), ("full", J::N(full as f64))],
                            60,
                        );
                    }
                }
            }
            for np in [3_000usize, 10_000, 30_000] {
                for imp in both {
                    add(
                        "collect-drop",
                        format!("{np} pools"),
                        imp,
                        st(&[&np]),
                        vec![("pools", J::N(np as f64))],
                        60,
                    );
                }
            }
        }
        other => panic!("scale: unknown scenario {other}"),
    }
    out
}

/// Title and columns (metric key, header, divisor) of each table.
fn table(kind: &str) -> (&'static str, Vec<(&'static str, &'static str, f64)>) {
    const MIB: f64 = 1024.0 * 1024.0;
    match kind {
        "threads" => (
            "threads: T threads on one pool (wall ns per op over all threads)",
            vec![
                ("ns_per_op", "ns/op", 1.0),
                ("mops", "Mops/s", 1.0),
                ("cpu_ns_per_op", "CPU ns/op", 1.0),
                ("created", "created", 1.0),
            ],
        ),
        "herd" => (
            "herd: parked threads woken at once, one get each (limit 10 s)",
            vec![
                ("ms", "ms until all done", 1.0),
                ("created", "created", 1.0),
            ],
        ),
        "collector" => (
            "collector: 1,000 threads of get/put with a collection every 1 ms (limit 20 s)",
            vec![
                ("ms", "ms until all done", 1.0),
                ("collections", "collections", 1.0),
                ("created", "created", 1.0),
            ],
        ),
        "miss" => (
            "miss: empty pool, idle registered threads (median ns per call)",
            vec![
                ("try_take_ns", "try_take miss ns", 1.0),
                ("take_new_ns", "take (creates) ns", 1.0),
                ("count_ns", "stats().retained / len() ns", 1.0),
            ],
        ),
        "barriers" => (
            "barriers: membarrier calls per 1,000 gets",
            vec![
                ("per_1000_gets", "per 1,000 gets", 1.0),
                ("strace_per_1000_gets", "strace: per 1,000", 1.0),
                ("gets", "gets", 1.0),
                ("created", "created", 1.0),
                ("ns_per_get", "ns/get", 1.0),
                ("get_p50_ns", "get p50 ns", 1.0),
                ("get_p99_ns", "get p99 ns", 1.0),
                ("get_p999_ns", "get p99.9 ns", 1.0),
            ],
        ),
        "memory-pools" => (
            "memory: P pools × T threads, one 64-byte object per thread and pool (MiB)",
            vec![
                ("pool_bytes_live", "pools, threads alive", MIB),
                ("own_bytes_live", "objects, alive", MIB),
                ("pool_bytes_exit", "pools, after exit", MIB),
                ("own_bytes_exit", "objects, after exit", MIB),
                ("pool_bytes_collected", "pools, +2 collections", MIB),
                ("own_bytes_collected", "objects, +2 collections", MIB),
                ("allocs", "allocations", 1.0),
            ],
        ),
        "memory-bigput" => (
            "memory: one thread puts heap-less objects and exits, then collect() ×5 (live MiB)",
            vec![
                ("bytes_exit", "after exit", MIB),
                ("bytes_c1", "1 collect", MIB),
                ("bytes_c2", "2", MIB),
                ("bytes_c3", "3", MIB),
                ("bytes_c4", "4", MIB),
                ("bytes_c5", "5", MIB),
                ("objects_left", "objects left", 1.0),
            ],
        ),
        "collect-threads" => (
            "collect(): one pool, idle registered threads",
            vec![
                ("collect_ns", "µs", 1e3),
                ("allocs_per_call", "allocs/call", 1.0),
                ("barriers_per_call", "barriers/call", 1.0),
            ],
        ),
        "collect-all" => (
            "collect_all() over N pools (baseline: drain each queue)",
            vec![
                ("ms", "ms", 1.0),
                ("allocs_per_call", "allocs/call", 1.0),
                ("barriers_per_call", "barriers/call", 1.0),
            ],
        ),
        "collect-drop" => (
            "dropping N pools",
            vec![("ms", "ms", 1.0), ("ns_per_pool", "ns/pool", 1.0)],
        ),
        other => panic!("scale: no table for {other}"),
    }
}

/// Kills the child's whole process group (the child and, with `--strace`, strace with it).
fn kill_group(pid: u32) {
    // SAFETY: `kill` has no memory effects; `-pid` names the group we created for this child.
    unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGKILL) };
}

/// Runs one child command under the watchdog and collects its output.
fn run_child(cmd: &[String], limit: Duration) -> Outcome {
    let mut out = Outcome::default();
    let spawned = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            out.failed = Some(format!("spawn: {e}"));
            return out;
        }
    };
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let errs = Arc::new(Mutex::new(Vec::<String>::new()));
    let readers = [
        (
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            Arc::clone(&lines),
        ),
        (
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            Arc::clone(&errs),
        ),
    ]
    .into_iter()
    .filter_map(|(r, sink)| {
        r.map(|r| {
            thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            })
        })
    })
    .collect::<Vec<_>>();
    let t0 = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if t0.elapsed() >= limit => {
                kill_group(child.id());
                let _ = child.wait();
                out.stuck = true;
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                kill_group(child.id());
                let _ = child.wait();
                out.failed = Some(format!("wait: {e}"));
                break None;
            }
        }
    };
    out.wall_s = t0.elapsed().as_secs_f64();
    for r in readers {
        let _ = r.join();
    }
    for line in lines.lock().unwrap().iter() {
        if let Some(rest) = line.strip_prefix("RESULT") {
            for kv in rest.split_whitespace() {
                if let Some((k, v)) = kv.split_once('=') {
                    if let Ok(v) = v.parse() {
                        out.metrics.push((k.to_string(), v));
                    }
                }
            }
        } else if let Some(p) = line.strip_prefix("PROGRESS ") {
            out.progress = p.trim().parse().ok();
        } else if let Some(n) = line.strip_prefix("NOTE ") {
            out.notes.push(n.to_string());
        }
    }
    if let Some(st) = status {
        if !st.success() || out.metrics.is_empty() {
            let errs = errs.lock().unwrap();
            let tail = errs
                .iter()
                .rev()
                .take(3)
                .rev()
                .cloned()
                .collect::<Vec<_>>()
                .join(" | ");
            out.failed = Some(format!("{st}: {tail}"));
        }
    }
    out
}

/// `membarrier` calls of a command run under `strace -f -c` (from its summary file).
fn strace_count(exe: &str, child_args: &[String], limit: Duration) -> Option<f64> {
    let file = std::env::temp_dir().join(format!("gcpool-scale-strace-{}.txt", std::process::id()));
    let mut cmd: Vec<String> = ["strace", "-f", "-qq", "-c", "-e", "trace=membarrier", "-o"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    cmd.push(file.display().to_string());
    cmd.push(exe.to_string());
    cmd.extend(child_args.iter().cloned());
    let o = run_child(&cmd, limit);
    let text = std::fs::read_to_string(&file).ok();
    let _ = std::fs::remove_file(&file);
    if o.stuck || o.failed.is_some() {
        return None;
    }
    // A summary row reads `% time  seconds  usecs/call  calls  [errors]  syscall`; no row
    // means no call.
    let calls = text?
        .lines()
        .find(|l| l.trim_end().ends_with(" membarrier"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .unwrap_or(0.0);
    Some(calls)
}

fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    // Days since 1970-01-01 to a civil date (H. Hinnant's `civil_from_days`).
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        sod / 3600,
        sod % 3600 / 60
    )
}

/// The machine and source the figures come from.
fn machine() -> Vec<(&'static str, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    let nproc = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let dirty = !sh("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    vec![
        ("nproc", nproc.to_string()),
        ("cpu", cpu),
        (
            "kernel",
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
        ),
        (
            "commit",
            sh("git", &["rev-parse", "--short", "HEAD"]) + if dirty { "+dirty" } else { "" },
        ),
        // The last commit that changed the pool's source (the repository's top-level `src/`,
        // wherever this file lives): the core these figures measure.
        (
            "core_commit",
            sh("git", &["log", "-1", "--format=%h", "--", ":/src"]),
        ),
        ("date", utc_now()),
        (
            "loadavg_at_start",
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
                .to_string(),
        ),
        ("rustc", sh("rustc", &["--version"])),
    ]
}

/// CPU seconds of every child reaped so far.
fn children_cpu() -> f64 {
    // SAFETY: as in `cpu_time`.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `&mut ru` is a valid, writable `rusage`.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

const HELP: &str = "\
usage: cargo bench --bench scale -- [SCENARIO[,SCENARIO...]|all] [--runs N] [--quick] [--json PATH]
                                    [--strace] [--impl gcpool|arrayqueue|segqueue]
scenarios: threads herd collector miss barriers memory collect
barrier patterns: ring (4 threads pass one object: get, put, hand the token on), threadpool (4
workers on a shared mpsc receiver, one job in flight, each job get/put), nested (one thread holds
two guards at once), prodcons (one thread puts fresh objects, another takes)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        child_main(&args[1..]);
        return;
    }
    if args.is_empty() {
        // `cargo test --benches` runs a `harness = false` bench with no arguments (`cargo bench`
        // passes `--bench`): the harness is a benchmark, so in test mode it does nothing.
        println!("scale: benchmark only; run it with `cargo bench --bench scale -- --help`");
        return;
    }
    let mut s = Settings {
        runs: 3,
        quick: false,
        strace: false,
        only: None,
    };
    let mut json = None;
    let mut chosen: Vec<&'static str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--bench" => {} // passed by `cargo bench`
            "--runs" => {
                s.runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .expect("--runs N (N ≥ 1)")
            }
            "--quick" => s.quick = true,
            "--strace" => s.strace = true,
            "--json" => json = Some(it.next().expect("--json PATH").clone()),
            "--impl" => {
                s.only = Some(
                    it.next()
                        .expect("--impl gcpool|arrayqueue|segqueue")
                        .clone(),
                )
            }
            "-h" | "--help" => {
                println!("{HELP}");
                return;
            }
            list => {
                for name in list.split(',') {
                    if name == "all" {
                        chosen.extend(SCENARIOS);
                    } else if let Some(sc) = SCENARIOS.iter().find(|sc| **sc == name) {
                        chosen.push(sc);
                    } else {
                        eprintln!("scale: unknown argument {name}\n{HELP}");
                        std::process::exit(2);
                    }
                }
            }
        }
    }
    if chosen.is_empty() {
        chosen.extend(SCENARIOS);
    }
    let exe = std::env::current_exe()
        .expect("current_exe")
        .display()
        .to_string();
    let info = machine();
    eprintln!(
        "scale: {}",
        info.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut done: Vec<(Case, Vec<Outcome>)> = Vec::new();
    for sc in &chosen {
        for case in cases(sc, &s) {
            if s.only.as_deref().is_some_and(|only| only != case.imp) {
                continue;
            }
            let mut outcomes = Vec::new();
            let mut child_args = vec![
                "--child".to_string(),
                case.kind.to_string(),
                case.imp.to_string(),
            ];
            child_args.extend(case.args.iter().cloned());
            for run in 1..=s.runs {
                let mut cmd = vec![exe.clone()];
                cmd.extend(child_args.iter().cloned());
                let mut o = run_child(&cmd, case.limit);
                // Cross-check of the barrier counter, once per case: strace's count for `n`
                // gets minus its count for none (the warm-up's calls).
                if s.strace && case.kind == "barriers" && run == 1 && !o.stuck && o.failed.is_none()
                {
                    let mut zero = child_args.clone();
                    *zero.last_mut().unwrap() = "0".into();
                    let gets = o.metrics.iter().find(|(k, _)| k == "gets").map(|m| m.1);
                    if let (Some(a), Some(b), Some(g)) = (
                        strace_count(&exe, &child_args, case.limit),
                        strace_count(&exe, &zero, case.limit),
                        gets,
                    ) {
                        o.metrics
                            .push(("strace_per_1000_gets".into(), (a - b) * 1000.0 / g.max(1.0)));
                    }
                }
                let what = if o.stuck {
                    let p = o
                        .progress
                        .map(|p| format!(", {p} threads done"))
                        .unwrap_or_default();
                    format!("STUCK (time limit {} s hit{p})", case.limit.as_secs())
                } else if let Some(f) = &o.failed {
                    format!("FAILED ({f})")
                } else {
                    o.metrics
                        .iter()
                        .map(|(k, v)| format!("{k}={}", fmt_num(*v)))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                eprintln!(
                    "[{}] {} · {} · run {run}/{}: {what} ({:.1} s)",
                    case.kind, case.label, case.imp, s.runs, o.wall_s
                );
                for n in &o.notes {
                    eprintln!("    note: {n}");
                }
                outcomes.push(o);
            }
            done.push((case, outcomes));
        }
    }

    // Tables: one per kind, rows in the order run, medians over the successful runs.
    let median_of = |os: &[Outcome], key: &str| {
        median(
            os.iter()
                .filter(|o| !o.stuck && o.failed.is_none())
                .filter_map(|o| o.metrics.iter().find(|(k, _)| k == key).map(|m| m.1))
                .collect(),
        )
    };
    let mut kinds: Vec<&str> = Vec::new();
    for (c, _) in &done {
        if !kinds.contains(&c.kind) {
            kinds.push(c.kind);
        }
    }
    for kind in kinds {
        let (title, cols) = table(kind);
        let cols: Vec<_> = cols
            .into_iter()
            .filter(|(k, _, _)| {
                done.iter().any(|(c, os)| {
                    c.kind == kind && os.iter().any(|o| o.metrics.iter().any(|m| m.0 == *k))
                })
            })
            .collect();
        println!("\n### {title}\n");
        let mut head = String::from("| case | pool | ok / stuck / failed |");
        let mut rule = String::from("|---|---|---|");
        for (_, h, _) in &cols {
            let _ = write!(head, " {h} |");
            rule.push_str("---:|");
        }
        println!("{head} threads done when stuck |\n{rule}---|");
        for (c, os) in done.iter().filter(|(c, _)| c.kind == kind) {
            let ok = os.iter().filter(|o| !o.stuck && o.failed.is_none()).count();
            let stuck = os.iter().filter(|o| o.stuck).count();
            let failed = os.iter().filter(|o| o.failed.is_some()).count();
            let mut row = format!("| {} | {} | {ok} / {stuck} / {failed} |", c.label, c.imp);
            for (k, _, div) in &cols {
                let _ = write!(row, " {} |", fmt_num(median_of(os, k) / div));
            }
            let prog: Vec<String> = os
                .iter()
                .filter(|o| o.stuck)
                .map(|o| o.progress.map_or("?".into(), |p| p.to_string()))
                .collect();
            println!("{row} {} |", prog.join(", "));
        }
    }
    let cpu = children_cpu();
    println!("\nchildren's CPU time: {cpu:.1} s");

    if let Some(path) = json {
        let mut j = String::from("{\n  \"harness\": \"benches/scale.rs\",\n  \"machine\": {");
        let m: Vec<String> = info
            .iter()
            .map(|(k, v)| match v.parse::<u64>() {
                Ok(n) if *k == "nproc" => format!("{}: {n}", json_str(k)),
                _ => format!("{}: {}", json_str(k), json_str(v)),
            })
            .collect();
        j.push_str(&m.join(", "));
        let _ = write!(
            j,
            "}},\n  \"settings\": {{\"runs\": {}, \"quick\": {}, \"strace\": {}, \"scenarios\": [{}], \"barrier_counter\": {}, \"object\": \"Vec<u8> with capacity 64\"}},\n  \"children_cpu_s\": {},\n  \"results\": [",
            s.runs,
            s.quick,
            s.strace,
            chosen.iter().map(|c| json_str(c)).collect::<Vec<_>>().join(", "),
            json_str(BarrierCounter::HOW),
            json_num(cpu)
        );
        for (i, (c, os)) in done.iter().enumerate() {
            let mut keys: Vec<&str> = Vec::new();
            for o in os {
                for (k, _) in &o.metrics {
                    if !keys.contains(&k.as_str()) {
                        keys.push(k);
                    }
                }
            }
            let params: Vec<String> = c
                .params
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        J::N(n) => json_num(*n),
                        J::S(s) => json_str(s),
                    };
                    format!("{}: {v}", json_str(k))
                })
                .collect();
            let medians: Vec<String> = keys
                .iter()
                .map(|k| format!("{}: {}", json_str(k), json_num(median_of(os, k))))
                .collect();
            let values: Vec<String> = keys
                .iter()
                .map(|k| {
                    let v: Vec<String> = os
                        .iter()
                        .map(|o| {
                            o.metrics
                                .iter()
                                .find(|m| m.0 == *k)
                                .map_or("null".into(), |m| json_num(m.1))
                        })
                        .collect();
                    format!("{}: [{}]", json_str(k), v.join(", "))
                })
                .collect();
            let status: Vec<String> = os
                .iter()
                .map(|o| {
                    json_str(if o.stuck {
                        "stuck"
                    } else if o.failed.is_some() {
                        "failed"
                    } else {
                        "ok"
                    })
                })
                .collect();
            let progress: Vec<String> = os
                .iter()
                .filter(|o| o.stuck)
                .map(|o| o.progress.map_or("null".into(), |p| p.to_string()))
                .collect();
            let errors: Vec<String> = os
                .iter()
                .filter_map(|o| o.failed.as_deref())
                .map(json_str)
                .collect();
            let notes: Vec<String> = os
                .iter()
                .flat_map(|o| o.notes.iter())
                .map(|n| json_str(n))
                .collect();
            let walls: Vec<String> = os.iter().map(|o| format!("{:.3}", o.wall_s)).collect();
            let _ = write!(
                j,
                "{}\n    {{\"scenario\": {}, \"kind\": {}, \"case\": {}, \"impl\": {}, \"params\": {{{}}}, \"limit_s\": {}, \"runs\": {}, \"ok\": {}, \"stuck\": {}, \"failed\": {}, \"status\": [{}], \"median\": {{{}}}, \"values\": {{{}}}, \"done_when_stuck\": [{}], \"errors\": [{}], \"notes\": [{}], \"wall_s\": [{}]}}",
                if i == 0 { "" } else { "," },
                json_str(c.scenario),
                json_str(c.kind),
                json_str(&c.label),
                json_str(c.imp),
                params.join(", "),
                c.limit.as_secs(),
                os.len(),
                os.iter().filter(|o| !o.stuck && o.failed.is_none()).count(),
                os.iter().filter(|o| o.stuck).count(),
                os.iter().filter(|o| o.failed.is_some()).count(),
                status.join(", "),
                medians.join(", "),
                values.join(", "),
                progress.join(", "),
                errors.join(", "),
                notes.join(", "),
                walls.join(", ")
            );
        }
        j.push_str("\n  ]\n}\n");
        std::fs::write(&path, j).unwrap_or_else(|e| panic!("scale: cannot write {path}: {e}"));
        eprintln!("scale: wrote {path}");
    }
}
