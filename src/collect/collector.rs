//! [`collect_all`] and the background [`Collector`]: Go's GC hook, `poolCleanup`, made explicit.
//!
//! Go's runtime calls `poolCleanup` at the start of every GC cycle for every pool in
//! `allPools`. gcpool has no garbage collector, so the cycle is either called by the program
//! (`collect_all`, or `Pool::collect` for one pool) or driven by a timer thread (`Collector`).

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Runs one collection cycle on every live pool in the process, `static` pools included.
///
/// Pools dropped before the call are not visited. A pool dropped while the call runs is
/// visited at most once more (its objects are then dropped by whichever finishes last).
///
/// ```
/// use gcpool::{collect_all, Pool};
///
/// static NAMES: Pool<String> = Pool::new(String::new);
/// NAMES.put(String::from("kept for one cycle"));
/// collect_all();
/// collect_all();
/// assert!(NAMES.stats().collections >= 2);
/// assert_eq!(NAMES.try_take(), None);
/// ```
///
/// # Panics
///
/// If an object's `Drop` panics, the remaining pools are still collected, then the first
/// panic is resumed.
pub fn collect_all() {
    super::collect_all();
}

/// A background thread that calls [`collect_all`] every `period`, standing in for Go's
/// garbage collector. Dropping the `Collector` stops the thread and joins it; if the drop runs
/// on the collector thread itself (a pooled object's `Drop` held the last handle), the thread
/// stops after the collection in progress, without a join.
///
/// With a collector running, an object that sits unused in a pool is dropped within about two
/// periods.
///
/// ```
/// use std::time::Duration;
/// use gcpool::Collector;
///
/// let collector = Collector::start(Duration::from_millis(10));
/// // ... use pools ...
/// drop(collector); // stops and joins the thread
/// ```
#[derive(Debug)]
pub struct Collector {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Collector {
    /// Starts the collector thread (named `gcpool-collector`).
    ///
    /// # Panics
    ///
    /// If `period` is zero, or the thread cannot be spawned.
    pub fn start(period: Duration) -> Collector {
        assert!(
            !period.is_zero(),
            "gcpool: Collector::start needs a non-zero period"
        );
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("gcpool-collector".into())
            .spawn(move || {
                let (lock, cvar) = &*signal;
                let mut stopped = lock.lock().unwrap_or_else(PoisonError::into_inner);
                // Checked before every wait: `Drop` may have asked us to stop before this
                // thread first took the lock, and that notification is not queued.
                while !*stopped {
                    let (guard, timeout) = cvar
                        .wait_timeout(stopped, period)
                        .unwrap_or_else(PoisonError::into_inner);
                    stopped = guard;
                    if !*stopped && timeout.timed_out() {
                        drop(stopped);
                        // A panicking `Drop` must not end collection for good: the panic hook
                        // has reported it; keep collecting on the next period.
                        let _ = std::panic::catch_unwind(collect_all);
                        stopped = lock.lock().unwrap_or_else(PoisonError::into_inner);
                    }
                }
            })
            .expect("gcpool: failed to spawn the collector thread");
        Collector {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the thread and waits for it (unless called on the collector thread itself, which
    /// stops after its current collection); the same as dropping the collector.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.stop;
        *lock.lock().unwrap_or_else(PoisonError::into_inner) = true;
        cvar.notify_all();
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() == std::thread::current().id() {
                // Dropped on the collector thread itself: an object's `Drop`, run by the
                // collection in progress, held the last handle. A thread cannot join itself;
                // the flag set above ends its loop once that collection returns, and dropping
                // the handle detaches it.
                return;
            }
            // A panic on the collector thread (an object's `Drop` panicked) has already been
            // reported by the panic hook; do not turn it into a second panic here.
            let _ = thread.join();
        }
    }
}
