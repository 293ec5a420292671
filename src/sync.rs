//! The sync facade: the one module that decides between `std` and `loom`.
//!
//! Every atomic, lock, cell, thread-local, lazily built global and deque that the pool uses comes
//! from here, so that no other module mentions `cfg(loom)` (the layout of tokio's `src/loom/`).
//! Under `--cfg loom --cfg crossbeam_loom` the pool is model-checked by loom:
//!
//! * atomics, `Arc`, `Mutex` and `UnsafeCell` are loom's, so loom sees every synchronisation;
//! * crossbeam-epoch switches itself to loom through `crossbeam_loom` (and its `loom` feature);
//! * the per-thread deque is the crate's own `chain` (Go's `poolChain`), built from these
//!   atomics and cells, so loom checks it inside every model (crossbeam-deque, which gcpool used
//!   first, is invisible to loom: crossbeam issue #846);
//! * std thread-locals are shared by all loom threads, so the thread-slot cell is a
//!   `loom::thread_local!`, and thread slots are never reused (a thread-local destructor that
//!   touches a loom lazy static panics at model shutdown, loom#152);
//! * sizes are tiny ([`BUCKETS`], [`FIRST_RING`]) so that a couple of operations cross every
//!   path.

#![allow(dead_code)] // each build uses a different subset

pub(crate) use crate::chain as deque;
pub(crate) use crossbeam_epoch as epoch;

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize};
    pub(crate) use std::sync::{Arc, Mutex as RawMutex, MutexGuard};

    /// Number of power-of-two buckets of per-thread caches: enough for any slot index.
    pub(crate) const BUCKETS: usize = usize::BITS as usize;

    /// Slots in a deque's first ring (Go: 8).
    pub(crate) const FIRST_RING: usize = 8;

    /// Thread slots are reused after a thread exits, which keeps per-pool cache arrays dense.
    pub(crate) const REUSE_SLOTS: bool = true;

    /// Backs off inside a retry loop.
    #[inline]
    pub(crate) fn spin_loop() {
        std::hint::spin_loop();
    }

    /// Whether this CPU has x86's `prefetchw` (the PRFCHW / 3DNowPrefetch CPUID bit, leaf
    /// `0x8000_0001`, ECX bit 8), the condition of [`prefetch_write`]. Asked once per process;
    /// `false` on other architectures and under Miri (which runs no inline assembly).
    pub(crate) fn prefetch_write_supported() -> bool {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        {
            use std::sync::atomic::Ordering::Relaxed;
            /// 0: not asked yet, 1: no, 2: yes.
            static HAS: AtomicU8 = AtomicU8::new(0);
            match HAS.load(Relaxed) {
                0 => {
                    // SAFETY: `cpuid` has no preconditions on x86-64, and leaf 0x8000_0001
                    // exists on every x86-64 CPU (it is where long mode is reported). (The
                    // intrinsic is a safe function in newer Rust, an unsafe one in 1.80.)
                    #[allow(unused_unsafe)]
                    let leaf = unsafe { std::arch::x86_64::__cpuid(0x8000_0001) };
                    let yes = leaf.ecx & (1 << 8) != 0;
                    // Relaxed: a cache of a fact every thread computes alike.
                    HAS.store(if yes { 2 } else { 1 }, Relaxed);
                    yes
                }
                known => known == 2,
            }
        }
        #[cfg(not(all(target_arch = "x86_64", not(miri))))]
        false
    }

    /// Asks the CPU to fetch the cache line at `p` for writing, ahead of a write: a push calls it
    /// for the slot a few pushes ahead, whose line a stealer last read, so that the line is
    /// already exclusive when the push writes it (x86's `prefetchw`; measured on
    /// `producer_consumer`, the consumer's put went from 13-14 to 10-12 ns, and a read prefetch
    /// did nothing). A hint: it never faults and changes no memory.
    ///
    /// # Safety
    ///
    /// [`prefetch_write_supported`] returned `true` (the caller asks once and keeps the answer:
    /// checking a global on every push cost about 10% in `producer_consumer`).
    #[inline(always)]
    pub(crate) unsafe fn prefetch_write<P>(p: *const P) {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        // SAFETY: the CPU has `prefetchw` (our caller's contract). It reads and writes no memory
        // and cannot fault, whatever `p` is (the SDM: "merely a hint and does not affect program
        // behavior"; an unmapped address is ignored); it uses no register but its input and
        // leaves the flags alone.
        unsafe {
            std::arch::asm!(
                "prefetchw [{0}]",
                in(reg) p,
                options(nostack, readonly, preserves_flags)
            );
        }
        #[cfg(not(all(target_arch = "x86_64", not(miri))))]
        let _ = p;
    }

    /// `std::cell::UnsafeCell` with loom's closure-based API, so both builds read alike.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
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

    /// The calling thread's slot index (see `registry`). The hot cell is `const`-initialised
    /// and has no destructor, so reading it costs a plain TLS load; the exit guard with a
    /// destructor lives in a second thread-local that only the slow path touches.
    pub(crate) mod tls {
        use std::cell::Cell;

        thread_local! {
            static SLOT: Cell<usize> = const { Cell::new(super::super::NO_SLOT) };
            static EXIT: ExitGuard = const { ExitGuard };
        }

        struct ExitGuard;

        impl Drop for ExitGuard {
            fn drop(&mut self) {
                crate::registry::release_current_slot();
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

        /// Arranges for the slot to be released at thread exit. Returns `false` if the thread's
        /// thread-locals are already being destroyed, in which case the caller must not keep a
        /// slot.
        pub(crate) fn register_exit() -> bool {
            EXIT.try_with(|_| ()).is_ok()
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize};
    pub(crate) use loom::sync::{Arc, Mutex as RawMutex, MutexGuard};

    /// Tiny under loom: slots 0..15 are enough for any model (at most 5 threads).
    pub(crate) const BUCKETS: usize = 4;

    /// Tiny under loom, so that models with two or three objects wrap a ring (reusing a slot a
    /// thief has just emptied) and link a second one.
    pub(crate) const FIRST_RING: usize = 2;

    /// No slot reuse under loom: a thread-local destructor touching a loom lazy static panics at
    /// model shutdown (loom#152), and reuse is covered by the std stress tests.
    pub(crate) const REUSE_SLOTS: bool = false;

    #[inline]
    pub(crate) fn spin_loop() {
        loom::thread::yield_now();
    }

    /// No prefetching under loom (a hint, not a memory access: nothing for loom to check).
    pub(crate) fn prefetch_write_supported() -> bool {
        false
    }

    /// Never called under loom (`prefetch_write_supported` is `false`).
    ///
    /// # Safety
    ///
    /// None needed; the signature matches the std build's.
    #[inline(always)]
    pub(crate) unsafe fn prefetch_write<P>(_p: *const P) {}

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

        pub(crate) fn register_exit() -> bool {
            true
        }
    }
}

pub(crate) use imp::*;

/// The value of the thread-slot cell before a slot is assigned, and after it is released.
pub(crate) const NO_SLOT: usize = usize::MAX;

/// A mutex that ignores poisoning: the pool never leaves shared state inconsistent across a
/// panic (user code never runs while one of its locks is held), so a panic elsewhere must not
/// make the pool unusable.
#[derive(Debug)]
pub(crate) struct Mutex<T>(RawMutex<T>);

impl<T> Mutex<T> {
    maybe_const_fn! {
        pub(crate) const fn new(value: T) -> Self {
            Self(RawMutex::new(value))
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `None` if another thread holds the lock.
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match self.0.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}
