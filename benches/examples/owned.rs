//! Owned guards in async code: 1,000 tokio tasks each hold a pooled buffer across `.await`s,
//! and every tenth task hands its buffer to a writer task through a channel.
//!
//! A borrowing `Pooled` cannot go into `tokio::spawn` (the task must be `'static`) nor through
//! a channel to another task; an `OwnedPooled` from `Pool::get_owned` holds an `Arc` of the
//! pool and can. Wherever it is dropped, in the task that took it or in the writer, its
//! buffer goes back into the pool. At the end the example checks the pool's `Stats` against
//! what the tasks did.
//!
//! Run with `cargo run -p gcpool-benches --example owned` (it lives in the benches package so
//! that tokio is not built for gcpool's other examples).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use gcpool::{OwnedPooled, Pool};
use tokio::sync::mpsc;

/// Tasks, each taking one buffer.
const TASKS: usize = 1_000;
/// Every `SENT_EVERY`-th task sends its buffer to the writer instead of dropping it itself.
const SENT_EVERY: usize = 10;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // A buffer pool whose buffers are cleared on their way back, shared by every task.
    let pool = Arc::new(
        Pool::builder(|| Vec::<u8>::with_capacity(4096))
            .reset(Vec::clear)
            .build(),
    );

    // The writer: receives buffers from other tasks, "writes" them, and drops them, which
    // returns them to the pool from the writer's thread.
    let (tx, mut rx) = mpsc::channel::<OwnedPooled<Vec<u8>>>(16);
    let writer = tokio::spawn(async move {
        let (mut buffers, mut bytes) = (0, 0);
        while let Some(buf) = rx.recv().await {
            assert!(
                buf.starts_with(b"task "),
                "a buffer arrives with its content"
            );
            buffers += 1;
            bytes += buf.len();
        }
        (buffers, bytes)
    });

    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let (pool, tx) = (Arc::clone(&pool), tx.clone());
            tokio::spawn(async move {
                let mut buf = pool.get_owned();
                assert!(
                    buf.is_empty(),
                    "reset cleared the buffer before it was pooled"
                );
                write!(buf, "task {i}: ").unwrap(); // the guard is an `io::Write`
                tokio::task::yield_now().await; // held across an await point
                tokio::time::sleep(Duration::from_micros(100)).await;
                buf.extend_from_slice(b"done\n");
                if i % SENT_EVERY == 0 {
                    tx.send(buf)
                        .await
                        .expect("the writer runs until every sender is gone");
                }
                // Otherwise `buf` is dropped here and goes back to the pool.
            })
        })
        .collect();
    drop(tx); // the writer stops once the tasks' senders are gone too

    for task in tasks {
        task.await.expect("no task panics");
    }
    let (sent, bytes) = writer.await.expect("the writer does not panic");

    let stats = pool.stats();
    println!("{TASKS} tasks, {sent} buffers ({bytes} bytes) through the writer");
    println!(
        "buffers made: {}, reused: {}, returned: {}, pooled now: {}",
        stats.created, stats.hits, stats.puts, stats.retained
    );

    assert_eq!(sent, TASKS / SENT_EVERY);
    // Every guard went back exactly once, from whichever task dropped it.
    assert_eq!(stats.puts, TASKS as u64);
    // Every get was served by the pool or by the factory.
    assert_eq!(stats.created + stats.hits, TASKS as u64);
    // Nothing was collected or rejected, and no guard is alive: every buffer ever made is in
    // the pool now.
    assert_eq!((stats.collected, stats.rejected), (0, 0));
    assert_eq!(stats.retained as u64, stats.created);
    // How many were made depends on how many tasks held a buffer at once (timing), so it is
    // printed, not asserted. The next get is served by the pool.
    let again = pool.get_owned();
    assert_eq!(pool.stats().hits, stats.hits + 1);
    assert!(again.is_empty());
}
