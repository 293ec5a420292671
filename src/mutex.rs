//! The pool's process-wide mutex: the sync facade's `Mutex`, ignoring poisoning.

use crate::sync::{maybe_const_fn, MutexGuard, RawMutex};

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
}
