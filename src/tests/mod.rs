//! Loom models that need the crate's internals: the private slot and the shard as units (the
//! way tokio models its run queue in `runtime/tests/loom_queue.rs`), and the thread-exit
//! hand-over, which only the crate can trigger (`thread_slot::thread_exit`).
//!
//! Run with the loom cfg, in release mode, with a separate target directory:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom -C debug-assertions=on" LOOM_MAX_PREEMPTIONS=2 \
//! LOOM_MAX_BRANCHES=10000 CARGO_TARGET_DIR=target/loom \
//!   cargo test -p gcpool --lib --release -- --test-threads=2 --nocapture
//! ```
//!
//! Bookkeeping (ids, drop counts, iteration counts) uses `std` atomics on purpose: loom runs a
//! model's threads on one OS thread, so `std` atomics record what happened in the explored
//! execution without adding scheduling points. Everything the code under test does goes
//! through loom (the sync facade).

mod loom_exit;
mod loom_private;
mod loom_shard;
#[allow(unreachable_pub)] // public for `loom-tests/`, which includes the file too
mod track;

#[allow(unreachable_pub)] // public for `loom-tests/`, which includes the file too
mod runner;

use runner::{assert_exactly, check_around};
use track::{Obj, Tracker};

/// Runs a model (`runner::check_around`, with nothing around it).
fn check(name: &str, model: impl Fn() + Sync + Send + 'static) {
    check_around(name, model, |explore| explore());
}
