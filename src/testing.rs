//! Support shared by the unit tests.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// An object that counts its drops in the counter it was made with (each test has its own
/// `static`, so that tests running in parallel do not share counts).
pub(crate) struct Counted(pub(crate) &'static AtomicUsize);

impl Drop for Counted {
    fn drop(&mut self) {
        // Relaxed: the tests read the counter on the dropping thread, or after a join.
        self.0.fetch_add(1, Relaxed);
    }
}
