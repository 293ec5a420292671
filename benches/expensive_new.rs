//! `expensive_new` (Go's `BenchmarkPoolExpensiveNew`): a factory that sleeps 1 ms and counts
//! its calls; two threads each repeatedly take 100 objects, touch them and put them back (one
//! "round"); thread 0 runs a collection every `K` of its rounds. The figure is factory calls per
//! round in the steady state (after the first `WARM` rounds), for
//!
//! * `gcpool collect()`: Go's two generations: a collection only demotes the primary to the
//!   victim, and the next round's gets are served from the victim;
//! * `gcpool clear()`: a pool without a victim generation (Go before 1.13): every collection
//!   drops everything pooled, so the next round re-creates it.
//!
//! A third setting collects from a separate thread every 10 ms, wherever the workers are. There
//! the pool without a victim is throttled by its own factory (its threads spend most of their
//! time sleeping in it, so fewer collections hit full caches), which flatters it; the fourth
//! setting repeats the third with a factory that only counts, so both pools run at full speed.
//!
//! A printed measurement, not a Criterion timing (the cost is the factory's sleep).
//! Results go to stdout and `target/gcpool-bench/expensive_new.json`.
mod common;

use common::*;
use gcpool::Pool;
use std::time::Instant;

static SIDE: Side = Side::new("expensive_new");
const ITEMS: usize = 100;
const THREADS: usize = 2;
const ROUNDS: u64 = 200;
const WARM: u64 = 20;

/// Whether the factory sleeps (set per setting; see `main`).
static SLEEP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Set by the collecting thread for the duration of each `collect()`/`clear()` call.
static IN_COLLECT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Factory calls made while `IN_COLLECT` was set (after the warm-up; reset per setting).
static CALLS_IN_COLLECT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Whether the current setting is past its warm-up (only then are calls attributed).
static COUNTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn expensive() -> Vec<u8> {
    count_new();
    // Relaxed: a diagnostic attribution; a call racing the flag's flip may land either side.
    if COUNTING.load(std::sync::atomic::Ordering::Relaxed)
        && IN_COLLECT.load(std::sync::atomic::Ordering::Relaxed)
    {
        CALLS_IN_COLLECT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    if SLEEP.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Vec::with_capacity(64)
}

/// When collections happen.
#[derive(Clone, Copy)]
enum Every {
    /// Thread 0 collects after every `k`-th of its rounds (deterministic).
    Rounds(u64),
    /// A separate thread collects every `ms` milliseconds, wherever the workers are (as Go's
    /// GC does); the workers then run for `STEADY_MS` after their warm-up rounds.
    Millis(u64),
}

const STEADY_MS: u64 = 1000;

/// Returns steady-state factory calls per round.
fn run(name: &str, every: Every, victim: bool) -> f64 {
    let pool: Pool<Vec<u8>> = Pool::new(expensive);
    let cycle = |pool: &Pool<Vec<u8>>| {
        IN_COLLECT.store(true, std::sync::atomic::Ordering::Relaxed);
        if victim {
            pool.collect();
        } else {
            pool.clear();
        }
        IN_COLLECT.store(false, std::sync::atomic::Ordering::Relaxed);
    };
    CALLS_IN_COLLECT.store(0, std::sync::atomic::Ordering::Relaxed);
    COUNTING.store(false, std::sync::atomic::Ordering::Relaxed);
    let (pool, cycle) = (&pool, &cycle);
    let steady = std::sync::Mutex::new((0u64, 0u64, std::time::Duration::ZERO)); // calls, rounds, time
    let stop = &std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let timer = match every {
            Every::Millis(ms) => Some(s.spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(ms));
                    cycle(pool);
                    n += 1;
                }
                n
            })),
            Every::Rounds(_) => None,
        };
        run_threads(THREADS, Clock::Wall, |t| {
            let mut held = Vec::with_capacity(ITEMS);
            let (mut at_warm, mut warm_start) = (0, Instant::now());
            let mut round = 0u64;
            loop {
                if round == WARM {
                    COUNTING.store(true, std::sync::atomic::Ordering::Relaxed);
                    at_warm = new_calls();
                    warm_start = Instant::now();
                }
                let done = match every {
                    Every::Rounds(_) => round == ROUNDS,
                    Every::Millis(_) => {
                        round > WARM && warm_start.elapsed().as_millis() as u64 >= STEADY_MS
                    }
                };
                if done {
                    break;
                }
                for _ in 0..ITEMS {
                    let mut v = pool.take();
                    touch(&mut v);
                    held.push(v);
                }
                for v in held.drain(..) {
                    pool.put(v);
                }
                round += 1;
                if let Every::Rounds(k) = every {
                    if t == 0 && round % k == 0 {
                        cycle(pool);
                    }
                }
            }
            let mut st = steady.lock().unwrap();
            st.0 += new_calls() - at_warm;
            st.1 += round - WARM;
            st.2 = st.2.max(warm_start.elapsed());
            0
        });
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = timer {
            h.join().unwrap();
        }
    });
    let (calls, rounds, time) = *steady.lock().unwrap();
    let label = match every {
        Every::Rounds(k) => format!("{name}, every {k} rounds"),
        Every::Millis(ms) => format!("{name}, every {ms} ms"),
    };
    SIDE.set(
        &format!("{label}: factory calls per round"),
        calls as f64 / rounds as f64,
        "calls/round",
    );
    SIDE.set(
        &format!("{label}: factory calls per get"),
        calls as f64 / (rounds * ITEMS as u64) as f64,
        "calls/get",
    );
    SIDE.set(
        &format!("{label}: steady wall time per round (per thread)"),
        time.as_secs_f64() * 1e6 * THREADS as f64 / rounds as f64,
        "µs/round",
    );
    let in_collect = CALLS_IN_COLLECT.load(std::sync::atomic::Ordering::Relaxed);
    SIDE.set(
        &format!("{label}: share of factory calls made during a collect() call"),
        if calls == 0 {
            0.0
        } else {
            in_collect as f64 / calls as f64
        },
        "share",
    );
    let st = pool.stats();
    println!(
        "{label:<44} pool stats (whole run): created {} hits {} victim_hits {} puts {} collections {} collected {}",
        st.created, st.hits, st.victim_hits, st.puts, st.collections, st.collected
    );
    println!(
        "{label:<44} steady: {rounds:>7} rounds, {calls:>5} factory calls ({:.4}/round, {in_collect} during collect), {:.1} µs/round",
        calls as f64 / rounds as f64,
        time.as_secs_f64() * 1e6 * THREADS as f64 / rounds as f64,
    );
    calls as f64 / rounds as f64
}

fn main() {
    // `cargo bench` passes `--bench` (and maybe a filter); this measurement takes no options.
    for (every, sleep) in [
        (Every::Rounds(10), true),
        (Every::Rounds(50), true),
        (Every::Millis(10), true),
        (Every::Millis(10), false),
    ] {
        SLEEP.store(sleep, std::sync::atomic::Ordering::Relaxed);
        let what = if sleep {
            ""
        } else {
            " (counting factory, no sleep)"
        };
        let with = run(&format!("gcpool collect(){what}"), every, true);
        let without = run(&format!("gcpool clear() (no victim){what}"), every, false);
        let label = match every {
            Every::Rounds(k) => format!("every {k} rounds{what}"),
            Every::Millis(ms) => format!("every {ms} ms{what}"),
        };
        SIDE.set(
            &format!("{label}: victim / no-victim factory calls"),
            with / without,
            "ratio",
        );
        println!(
            "{label}: factory calls with victim / without = {:.4}",
            with / without
        );
    }
    SIDE.report();
}
