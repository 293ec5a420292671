//! Go's `sync.Pool` for Rust: a concurrent pool of reusable objects whose objects live in two
//! generations, released by an explicit or timer-driven [`collect`](Pool::collect).
//!
//! # What it is
//!
//! A [`Pool<T>`] keeps objects that are expensive to make (buffers, scratch structures,
//! encoders) so that the next user can take one instead of allocating. Like Go's `sync.Pool`:
//!
//! * each thread has its own cache: a one-object private slot and a deque, so the hot
//!   `get`/`put` pair touches no lock and no shared cache line;
//! * a thread whose cache is empty **steals** from other threads' caches, a batch at a time:
//!   it keeps the rest in a stash that only it pops, without atomic read-modify-writes;
//! * objects live in a **primary** and a **victim** generation. [`Pool::collect`] (Go: a
//!   garbage collection) drops the victim and turns the primary into the new victim; a `get`
//!   that misses the whole primary is served from the victim.
//!
//! # Guarantees, and what is not guaranteed
//!
//! Guaranteed (each is tested; see `docs/guarantees.md`):
//!
//! * **Exclusive hand-off.** An object is handed to at most one holder at a time, and only
//!   after it was put; the `put` happens-before the `get` that returns it.
//! * **Release.** An object put and never taken is dropped by the second `collect` after the
//!   put. When `collect` returns with no other operation in flight, those drops have happened.
//!   Dropping the pool drops everything it holds. Every object is dropped exactly once.
//! * **No stop-the-world.** `collect` runs concurrently with `get`/`put`; the part they can
//!   observe is O(threads), and objects are dropped outside every lock.
//! * **The factory runs outside every critical section**: it may be slow, use the same pool,
//!   or panic.
//!
//! Not guaranteed, as in Go ("Any item stored in the Pool may be removed automatically at any
//! time without notification"):
//!
//! * **No retention.** A `get` may call the factory although objects exist (in another thread's
//!   private slot that is being moved, say). Never rely on getting back what you put.
//! * **No order.** The current order (own private slot, own stash and deque newest first,
//!   other threads oldest first, victim) is an implementation detail.
//! * **No reset.** Objects come back in the state they were put in; clear them first, or use
//!   [`Builder::reset`].
//!
//! # When to use it, and when not
//!
//! Use it for short-lived, interchangeable objects on hot paths, where a miss only costs an
//! allocation. Do not use it for resources that must stay open or be bounded (connections,
//! files): a pool that may drop anything at any collection is not a connection pool.
//!
//! # The two generations
//!
//! ```
//! use gcpool::Pool;
//!
//! let pool = Pool::new(|| String::from("new"));
//! pool.put(String::from("old"));
//!
//! pool.collect();                            // "old" moves to the victim
//! assert_eq!(pool.take(), "old");            // still served: a victim hit
//! assert_eq!(pool.stats().victim_hits, 1);
//!
//! pool.put(String::from("old"));             // back into the primary
//! pool.collect();
//! pool.collect();                            // two collections without use
//! assert_eq!(pool.take(), "new");            // it was dropped; the factory runs
//! assert_eq!(pool.stats().collected, 1);
//! ```
//!
//! # A static pool
//!
//! [`Pool::new`] is `const`, so a pool can be a `static`, as Go's pools usually are:
//!
//! ```
//! use gcpool::Pool;
//!
//! static SCRATCH: Pool<Vec<u64>> = Pool::new(Vec::new);
//!
//! fn sum_of_squares(xs: &[u64]) -> u64 {
//!     let mut tmp = SCRATCH.get();          // returns to SCRATCH when dropped
//!     tmp.clear();
//!     tmp.extend(xs.iter().map(|x| x * x));
//!     tmp.iter().sum()
//! }
//!
//! assert_eq!(sum_of_squares(&[1, 2, 3]), 14);
//! assert_eq!(sum_of_squares(&[4]), 16);
//! assert_eq!(SCRATCH.stats().created, 1);   // the second call reused the first vector
//! ```
//!
//! # A buffer pool with a reset policy
//!
//! ```
//! use gcpool::Pool;
//!
//! let buffers = Pool::builder(|| Vec::<u8>::with_capacity(1024))
//!     .reset(|b| b.clear())                  // runs on every put
//!     .build();
//! let mut b = buffers.get();
//! b.extend_from_slice(b"request body");
//! drop(b);
//! let b = buffers.get();
//! assert!(b.is_empty() && b.capacity() >= 1024);
//! ```
//!
//! # The collector
//!
//! Go's garbage collector runs on its own; here a [`Collector`] thread calls [`collect_all`]
//! (every live pool, statics included) on a timer, so idle objects are released within about
//! two periods:
//!
//! ```
//! use std::time::Duration;
//! use gcpool::{Collector, Pool};
//!
//! let pool = Pool::new(|| [0u8; 64]);
//! pool.put([1; 64]);
//! let collector = Collector::start(Duration::from_millis(5));
//! while pool.stats().collected == 0 {
//!     std::thread::sleep(Duration::from_millis(1));
//! }
//! drop(collector);                           // stops and joins the thread
//! assert_eq!(pool.stats().retained, 0);
//! ```
//!
//! # How it maps to Go
//!
//! | Go (`src/sync/pool.go`, `poolqueue.go`) | gcpool |
//! |---|---|
//! | P id, `runtime_procPin` | a thread slot (`registry.rs`) |
//! | `poolLocal.private` | the cache's private slot (`local.rs`) |
//! | `poolLocal.shared` (`poolChain`) | the same chain of rings, `Worker`/`Stealer` (`chain.rs`, `local.rs`) |
//! | `getSlow` stealing, victim search | `Inner::steal` (`pool.rs`), the thief's stash (`stash.rs`), `generation.rs` |
//! | `poolCleanup` under stop-the-world | [`Pool::collect`]: O(threads) swap, then drops (`generation.rs`) |
//! | `allPools`, the GC | the registry, [`collect_all`], [`Collector`] (`collector.rs`) |
//! | finalizers | `Drop` |

#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod adaptive;
mod builder;
mod capacity;
mod chaos;
mod collect;
mod collector;
mod counters;
mod policy;
mod pool;
mod pooled;
mod private;
mod registry;
mod shard;
mod size_class;
mod stats;
mod sync;
#[cfg(test)]
mod testing;

pub use adaptive::{Adaptive, AdaptiveConfig};
pub use builder::Builder;
pub use capacity::Recycle;
pub use collector::{collect_all, Collector};
pub use policy::PutDecision;
pub use pool::Pool;
pub use pooled::{OwnedPooled, Pooled};
pub use size_class::{BufferPool, SizeClassPool, SizedPooled};
pub use stats::{ShardSnapshot, Snapshot, Stats};
