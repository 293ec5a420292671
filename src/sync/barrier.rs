//! The asymmetric barrier: a cheap half for the thread that owns a private slot, an expensive
//! half for `collect`, which is rare.
//!
//! The owner of a private slot claims its object with a plain store followed by a load of the
//! slot's `retired` flag; a collector stores `retired` and then loads the slot's state. Each
//! side needs a full fence between its store and its load (the store-buffering pattern), and
//! Go needs neither because its collector stops the world. Here the collector pays for both:
//! [`heavy_barrier`] is Linux's `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which runs a full
//! memory barrier on every CPU that runs a thread of this process before it returns (user-space
//! RCU's asymmetric fence), so the owner's half, [`light_barrier`], only has to stop the
//! compiler from reordering. Where `membarrier` is unavailable (other systems, old kernels,
//! seccomp, Miri), both halves are full fences.

#[cfg(loom)]
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[cfg(not(loom))]
std::thread_local! {
    /// Heavy barriers run by this thread (a diagnostic for tests: get and put never run one).
    static HEAVY: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Heavy barriers run so far by the calling thread.
#[cfg(not(loom))]
pub(crate) fn heavy_barriers() -> u64 {
    HEAVY.with(std::cell::Cell::get)
}

#[cfg(loom)]
static HEAVY: AtomicU64 = AtomicU64::new(0);

/// Heavy barriers run so far (all loom threads).
#[cfg(loom)]
pub(crate) fn heavy_barriers() -> u64 {
    // Relaxed: a statistic.
    HEAVY.load(Relaxed)
}

/// The owner's half: orders the owner's store of its slot's state before its load of the
/// slot's `retired` flag. When [`heavy_barrier`] reaches every thread (`global`, from
/// [`heavy_barrier_is_global`]) a compiler fence is enough: the collector's barrier makes this
/// thread execute a full fence at some point of its program, before the store (the owner then
/// sees `retired`) or after it (the collector then sees the store). Otherwise a full fence.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn light_barrier(global: bool) {
    use std::sync::atomic::{compiler_fence, fence, Ordering::SeqCst};
    if global {
        compiler_fence(SeqCst);
    } else {
        fence(SeqCst);
    }
}

/// The collector's half (see [`light_barrier`]).
#[cfg(not(loom))]
pub(crate) fn heavy_barrier() {
    use std::sync::atomic::{fence, Ordering::SeqCst};
    let _ = HEAVY.try_with(|n| n.set(n.get() + 1));
    fence(SeqCst);
    #[cfg(all(target_os = "linux", not(miri)))]
    if heavy_barrier_is_global() {
        membarrier::expedited();
    }
    fence(SeqCst);
}

/// Whether [`heavy_barrier`] reaches every thread of the process, so that owners may use a
/// compiler fence. Decided once per process, and the same for every thread: the registration
/// that `MEMBARRIER_CMD_PRIVATE_EXPEDITED` needs is done here. The cfg `gcpool_no_membarrier`
/// forces the portable path (full fences on both sides), so that it is tested on Linux too.
#[cfg(not(loom))]
pub(crate) fn heavy_barrier_is_global() -> bool {
    #[cfg(all(target_os = "linux", not(miri), not(gcpool_no_membarrier)))]
    {
        static GLOBAL: once_cell::sync::Lazy<bool> =
            once_cell::sync::Lazy::new(membarrier::register);
        *GLOBAL
    }
    #[cfg(not(all(target_os = "linux", not(miri), not(gcpool_no_membarrier))))]
    false
}

/// Linux's `membarrier(2)`.
#[cfg(all(target_os = "linux", not(miri), not(loom)))]
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
    #[allow(dead_code)] // unused when `gcpool_no_membarrier` forces the portable path
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
            // Owners rely on this barrier: continuing would let `collect` race their claims.
            panic!(
                "gcpool: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed after the process \
                 registered for it: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Under loom both halves are a read-modify-write of one shared atomic: such operations are
/// totally ordered and each acquires the one before, which gives exactly the guarantee of the
/// std build's pair (loom models neither `membarrier` nor compiler fences, and weakens `SeqCst`
/// fences).
#[cfg(loom)]
pub(crate) fn light_barrier(_global: bool) {
    BARRIER.fetch_add(0, std::sync::atomic::Ordering::AcqRel);
}

/// See [`light_barrier`].
#[cfg(loom)]
pub(crate) fn heavy_barrier() {
    // Relaxed: a statistic.
    HEAVY.fetch_add(1, Relaxed);
    BARRIER.fetch_add(0, std::sync::atomic::Ordering::AcqRel);
}

#[cfg(loom)]
pub(crate) fn heavy_barrier_is_global() -> bool {
    true
}

#[cfg(loom)]
loom::lazy_static! {
    static ref BARRIER: loom::sync::atomic::AtomicUsize = loom::sync::atomic::AtomicUsize::new(0);
}
