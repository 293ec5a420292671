//! The sync facade: the one module that decides between `std` and `loom`.
//!
//! Every atomic, lock, cell, thread-local and lazily built global of the core comes from here,
//! so that no other module mentions `cfg(loom)` (the layout of tokio's `src/loom/`). Only what
//! loom does not model uses `std` directly: the `Collector` thread and the policies of
//! `policy/`.
//! Under `--cfg loom` the pool is model-checked by loom: atomics, `Arc`, `Mutex` and
//! `UnsafeCell` are loom's, so loom sees every synchronisation; std thread-locals are shared by
//! all loom threads, so the thread-slot cell is a `loom::thread_local!`; the shard count is a
//! small constant (two), so that a model with three threads has two of them share a shard.
//!
//! The asymmetric barrier that lets `collect` reach the private slots lives in `sync/barrier.rs`.

#![allow(dead_code)] // each build uses a different subset

mod barrier;

#[cfg(all(test, not(loom)))]
pub(crate) use barrier::heavy_barriers;
pub(crate) use barrier::{heavy_barrier, heavy_barrier_is_global, light_barrier};

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::cell::UnsafeCell as StdUnsafeCell;
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize};
    pub(crate) use std::sync::{Arc, Mutex as RawMutex, MutexGuard};
    pub(crate) use std::thread::yield_now;

    /// Thread slots are reused after a thread exits, so that slot numbers stay small.
    pub(crate) const REUSE_SLOTS: bool = true;

    /// Shards per pool: the number of CPUs this process may run on (Go: `GOMAXPROCS`), asked
    /// once per process.
    pub(crate) fn cpus() -> usize {
        static CPUS: once_cell::sync::OnceCell<usize> = once_cell::sync::OnceCell::new();
        *CPUS.get_or_init(|| {
            std::thread::available_parallelism()
                .map_or(1, std::num::NonZeroUsize::get)
                .min(1024)
        })
    }

    /// The CPU the calling thread runs on now (`sched_getcpu`: a read of the kernel's rseq
    /// area in glibc), or `None` where that is unknown.
    #[inline]
    pub(crate) fn current_cpu() -> Option<usize> {
        #[cfg(all(target_os = "linux", not(miri)))]
        {
            // SAFETY: `sched_getcpu` takes no arguments and touches no caller memory; it
            // returns -1 with an errno on failure.
            let cpu = unsafe { libc::sched_getcpu() };
            usize::try_from(cpu).ok()
        }
        #[cfg(not(all(target_os = "linux", not(miri))))]
        None
    }

    /// `std::cell::UnsafeCell` with loom's closure-based API, so both builds read alike.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(StdUnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(StdUnsafeCell::new(value))
        }

        #[inline]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// Declares a lazily built global (once_cell's `Lazy`).
    macro_rules! lazy_global {
        ($vis:vis static $name:ident: $t:ty = $init:expr;) => {
            $vis static $name: once_cell::sync::Lazy<$t> = once_cell::sync::Lazy::new(|| $init);
        };
    }
    pub(crate) use lazy_global;

    /// `const fn` in the std build; loom's types have no `const` constructors.
    macro_rules! maybe_const_fn {
        ($(#[$m:meta])* $vis:vis const fn $($rest:tt)*) => { $(#[$m])* $vis const fn $($rest)* };
    }
    pub(crate) use maybe_const_fn;

    /// The calling thread's slot index (see `thread_slot.rs`). The hot cell is
    /// `const`-initialised and has no destructor, so reading it costs a plain TLS load; the
    /// exit guard with a destructor lives in a second thread-local that only the slow path
    /// touches.
    pub(crate) mod tls {
        use std::cell::Cell;

        thread_local! {
            static SLOT: Cell<usize> = const { Cell::new(super::super::NO_SLOT) };
            static EXIT: ExitGuard = const { ExitGuard(Cell::new(None)) };
        }

        /// Runs the function given to `register_exit` when the thread exits.
        struct ExitGuard(Cell<Option<fn()>>);

        impl Drop for ExitGuard {
            fn drop(&mut self) {
                if let Some(on_exit) = self.0.get() {
                    on_exit();
                }
            }
        }

        #[inline]
        pub(crate) fn slot() -> usize {
            // A const-initialised, destructor-free thread-local is always accessible.
            SLOT.with(Cell::get)
        }

        pub(crate) fn set_slot(slot: usize) {
            SLOT.with(|s| s.set(slot));
        }

        /// Arranges for `on_exit` to run when the thread exits. Returns `false` if the
        /// thread's thread-locals are already being destroyed, in which case the caller must
        /// not keep a slot.
        pub(crate) fn register_exit(on_exit: fn()) -> bool {
            EXIT.try_with(|e| e.0.set(Some(on_exit))).is_ok()
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize};
    pub(crate) use loom::sync::{Arc, Mutex as RawMutex, MutexGuard};
    pub(crate) use loom::thread::yield_now;

    /// No slot reuse under loom: a thread-local destructor touching a loom lazy static panics at
    /// model shutdown (loom#152). Reuse and the exit hand-over are modelled directly
    /// (`thread_slot::thread_exit` called by the model).
    pub(crate) const REUSE_SLOTS: bool = false;

    /// Two shards under loom: with main and two threads, two threads share a shard.
    pub(crate) fn cpus() -> usize {
        2
    }

    /// Unknown under loom: threads without a private slot are homed by their slot.
    pub(crate) fn current_cpu() -> Option<usize> {
        None
    }

    macro_rules! lazy_global {
        ($vis:vis static $name:ident: $t:ty = $init:expr;) => {
            // loom's macro takes no visibility: every lazy global here is module-private.
            loom::lazy_static! { static ref $name: $t = $init; }
        };
    }
    pub(crate) use lazy_global;

    macro_rules! maybe_const_fn {
        ($(#[$m:meta])* $vis:vis const fn $($rest:tt)*) => { $(#[$m])* $vis fn $($rest)* };
    }
    pub(crate) use maybe_const_fn;

    pub(crate) mod tls {
        use std::cell::Cell;

        loom::thread_local! {
            static SLOT: Cell<usize> = Cell::new(super::super::NO_SLOT);
        }

        pub(crate) fn slot() -> usize {
            SLOT.with(Cell::get)
        }

        pub(crate) fn set_slot(slot: usize) {
            SLOT.with(|s| s.set(slot));
        }

        pub(crate) fn register_exit(_on_exit: fn()) -> bool {
            true
        }
    }
}

pub(crate) use imp::*;

/// The value of the thread-slot cell before a slot is assigned, and after it is released.
pub(crate) const NO_SLOT: usize = usize::MAX;

/// The facade's `Arc` from a `std` one, so that unsized handles (`Arc<dyn Trait>`) can be built
/// by coercing the `std` `Arc` first (loom's `Arc` cannot be coerced).
pub(crate) fn arc_from_std<U: ?Sized>(arc: std::sync::Arc<U>) -> Arc<U> {
    #[cfg(not(loom))]
    return arc;
    #[cfg(loom)]
    return Arc::from_std(arc);
}
