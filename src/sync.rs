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

    /// The owner's half of the asymmetric barrier that lets `collect` take a thread's stash
    /// (`stash.rs`) while the owner pops from it with plain loads and stores: orders the owner's
    /// store of the stash's length before its load of the stash's `retired` flag. When
    /// [`heavy_barrier`] is a process-wide barrier (`global`, asked once per stash with
    /// [`heavy_barrier_is_global`]) a compiler fence is enough: the collector's barrier makes
    /// this thread execute a full fence at some point of its program, before the store (the
    /// collector then sees the flag's effect) or after it (the store is visible to the
    /// collector). Otherwise a full fence.
    #[inline(always)]
    pub(crate) fn light_barrier(global: bool) {
        use std::sync::atomic::{compiler_fence, fence, Ordering::SeqCst};
        if global {
            compiler_fence(SeqCst);
        } else {
            fence(SeqCst);
        }
    }

    /// The collector's half (see [`light_barrier`]): Linux's `membarrier` with
    /// `MEMBARRIER_CMD_PRIVATE_EXPEDITED`, which runs a full memory barrier on every CPU running
    /// a thread of this process before it returns (user-space RCU's asymmetric fence; about 1 µs
    /// here). A full fence where that is unavailable (other systems, old kernels, seccomp, Miri);
    /// owners then fence too.
    pub(crate) fn heavy_barrier() {
        use std::sync::atomic::{fence, Ordering::SeqCst};
        fence(SeqCst);
        #[cfg(all(target_os = "linux", not(miri)))]
        if heavy_barrier_is_global() {
            membarrier::expedited();
        }
        fence(SeqCst);
    }

    /// Whether [`heavy_barrier`] reaches every thread of the process, so that owners may use a
    /// compiler fence ([`light_barrier`]). Decided once per process, and the same for every
    /// thread: the registration that `MEMBARRIER_CMD_PRIVATE_EXPEDITED` needs is done here.
    pub(crate) fn heavy_barrier_is_global() -> bool {
        #[cfg(all(target_os = "linux", not(miri)))]
        {
            static GLOBAL: once_cell::sync::Lazy<bool> =
                once_cell::sync::Lazy::new(membarrier::register);
            *GLOBAL
        }
        #[cfg(not(all(target_os = "linux", not(miri))))]
        false
    }

    /// Linux's `membarrier(2)`.
    #[cfg(all(target_os = "linux", not(miri)))]
    mod membarrier {
        use libc::{c_int, c_long};

        // From `linux/membarrier.h` (stable kernel ABI; the libc crate does not export them).
        const CMD_QUERY: c_int = 0;
        const CMD_PRIVATE_EXPEDITED: c_int = 1 << 3;
        const CMD_REGISTER_PRIVATE_EXPEDITED: c_int = 1 << 4;

        fn membarrier(cmd: c_int) -> c_long {
            // SAFETY: `membarrier(cmd, flags = 0, cpu_id = 0)` reads and writes no user memory;
            // an unknown command or a kernel without the call returns -1 with an errno.
            unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_uint, 0 as c_int) }
        }

        /// Registers the process for expedited private barriers; `false` if the kernel (or a
        /// seccomp filter) does not offer them.
        pub(super) fn register() -> bool {
            let wanted = c_long::from(CMD_PRIVATE_EXPEDITED | CMD_REGISTER_PRIVATE_EXPEDITED);
            let offered = membarrier(CMD_QUERY);
            offered >= 0
                && offered & wanted == wanted
                && membarrier(CMD_REGISTER_PRIVATE_EXPEDITED) == 0
        }

        /// A full barrier on every CPU running a thread of this process. Only after `register`
        /// returned `true`.
        pub(super) fn expedited() {
            if membarrier(CMD_PRIVATE_EXPEDITED) != 0 {
                // Owners rely on this barrier: continuing would let `collect` race their pops.
                panic!(
                    "gcpool: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed after the process \
                     registered for it: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
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
            /// The cache this thread used last: `(pool key, slot, &Local)` (`Locals::get`).
            static LAST: Cell<(u64, usize, *const ())> =
                const { Cell::new((0, super::super::NO_SLOT, std::ptr::null())) };
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

        /// The cache of slot `slot` in the pool whose `Locals` have `key`, if this thread looked
        /// it up last (see `Locals::get`).
        #[inline]
        pub(crate) fn last_local(key: u64, slot: usize) -> Option<*const ()> {
            let (k, s, local) = LAST.with(Cell::get);
            (k == key && s == slot).then_some(local)
        }

        pub(crate) fn set_last_local(key: u64, slot: usize, local: *const ()) {
            LAST.with(|l| l.set((key, slot, local)));
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

    /// Under loom both halves of the asymmetric barrier are a read-modify-write of one shared
    /// atomic: such operations are totally ordered and each acquires the one before, which gives
    /// exactly the guarantee of the std build's pair (loom models neither `membarrier` nor
    /// compiler fences, and weakens `SeqCst` fences).
    pub(crate) fn light_barrier(_global: bool) {
        BARRIER.fetch_add(0, std::sync::atomic::Ordering::AcqRel);
    }

    /// See [`light_barrier`].
    pub(crate) fn heavy_barrier() {
        BARRIER.fetch_add(0, std::sync::atomic::Ordering::AcqRel);
    }

    pub(crate) fn heavy_barrier_is_global() -> bool {
        true
    }

    loom::lazy_static! {
        static ref BARRIER: AtomicUsize = AtomicUsize::new(0);
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
            static LAST: Cell<(u64, usize, *const ())> =
                Cell::new((0, super::super::NO_SLOT, std::ptr::null()));
        }

        pub(crate) fn slot() -> usize {
            SLOT.with(Cell::get)
        }

        pub(crate) fn set_slot(slot: usize) {
            SLOT.with(|s| s.set(slot));
        }

        pub(crate) fn last_local(key: u64, slot: usize) -> Option<*const ()> {
            let (k, s, local) = LAST.with(Cell::get);
            (k == key && s == slot).then_some(local)
        }

        pub(crate) fn set_last_local(key: u64, slot: usize, local: *const ()) {
            LAST.with(|l| l.set((key, slot, local)));
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
