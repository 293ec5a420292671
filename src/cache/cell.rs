//! A private slot's object lives in a cell: a heap allocation of one `T` that a guard can take
//! with the object in it, so that `get` and its guard's drop move a pointer, not the object.
//!
//! A slot keeps one cell. `get`'s hot path leases it: the guard takes the cell out of the slot
//! and the object stays where it is; the guard's drop gives the cell to the dropping thread's
//! slot if that slot has none (any slot will do: a cell is only memory), else moves the object
//! out and frees the cell. A forgotten guard leaks its cell with its object, and the slot
//! allocates a new cell at its next put: nothing else is lost.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use crate::sync::UnsafeCell;

/// One object's place on the heap (initialised or not: the owner of the pointer knows).
pub(crate) struct Cell<T> {
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A pointer to a `Cell`, owned by whoever holds it (a slot, or a guard).
pub(crate) type CellPtr<T> = NonNull<Cell<T>>;

impl<T> Cell<T> {
    /// A new, empty cell.
    #[cold]
    #[inline(never)]
    pub(crate) fn alloc() -> CellPtr<T> {
        let cell = Box::new(Cell {
            value: UnsafeCell::new(MaybeUninit::uninit()),
        });
        NonNull::from(Box::leak(cell))
    }

    /// Frees an empty cell (its object, if any, must have been moved out or dropped).
    ///
    /// # Safety
    ///
    /// `cell` came from `alloc`, is owned by the caller, and is not used again.
    pub(crate) unsafe fn free(cell: CellPtr<T>) {
        // SAFETY: from `Box::leak` in `alloc`, owned by the caller (our contract); the
        // `MaybeUninit` drops nothing.
        drop(unsafe { Box::from_raw(cell.as_ptr()) });
    }

    /// Writes the object into an empty cell.
    ///
    /// # Safety
    ///
    /// The caller owns `cell`, whose object is uninitialised (or already moved out).
    #[inline]
    pub(crate) unsafe fn write(cell: CellPtr<T>, value: T) {
        // SAFETY: our contract: nobody else reaches the cell.
        unsafe { cell.as_ref() }
            .value
            .with_mut(|v| unsafe { (*v).write(value) });
    }

    /// Copies the object at `src` into an empty cell.
    ///
    /// # Safety
    ///
    /// As for `write`; `src` is an initialised `T` that the caller gives up.
    #[inline]
    pub(crate) unsafe fn write_from(cell: CellPtr<T>, src: *const T) {
        // SAFETY: our contract.
        unsafe { cell.as_ref() }
            .value
            .with_mut(|v| unsafe { std::ptr::copy_nonoverlapping(src, (*v).as_mut_ptr(), 1) });
    }

    /// Moves the object out, leaving the cell empty.
    ///
    /// # Safety
    ///
    /// The caller owns `cell`, whose object is initialised, and treats it as moved out.
    #[inline]
    pub(crate) unsafe fn read(cell: CellPtr<T>) -> T {
        // SAFETY: our contract.
        unsafe { cell.as_ref() }
            .value
            .with(|v| unsafe { (*v).assume_init_read() })
    }

    /// The object, for a guard's `Deref`. (Under loom the access escapes the cell's closure:
    /// loom checks the moves in and out of a cell, not a guard's uses of the object.)
    ///
    /// # Safety
    ///
    /// The caller owns `cell`, whose object is initialised, for as long as it uses the pointer.
    #[inline]
    pub(crate) unsafe fn get(cell: CellPtr<T>) -> *mut T {
        // SAFETY: our contract.
        unsafe { cell.as_ref() }.value.with_mut(|v| v.cast::<T>())
    }
}
