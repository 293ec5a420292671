//! Go's `sync.Pool` for Rust: a concurrent pool of reusable objects whose objects live in two
//! generations, released by an explicit or timer-driven [`collect`](Pool::collect).
//!
//! # What it is
//!
//! A [`Pool<T>`] keeps objects that are expensive to make (buffers, scratch structures,
//! encoders) so that the next user can take one instead of allocating. Like Go's `sync.Pool`:
//!
//! * each thread has a one-object **private slot** in every pool (Go's `poolLocal.private`),
//!   which it takes and puts with plain loads and stores, so the hot `get`/`put` pair touches
//!   no lock, no shared cache line and no atomic read-modify-write;
//! * each CPU has a **shard** (Go's `poolLocal.shared`): a short lock over a list of objects.
//!   A thread puts into its home shard when its private slot is full, takes from it newest
//!   first, and **steals** from the other shards oldest first. Go pins a goroutine to its P so
//!   that the owner needs no lock; a Rust thread cannot pin itself, and many threads share a
//!   CPU, hence the lock. Another live thread's private object is never stolen, as in Go;
//! * objects live in a **primary** and a **victim** generation. [`Pool::collect`] (Go: a
//!   garbage collection) drops the victim and turns the primary into the new victim; a `get`
//!   that misses the whole primary is served from the victim.
//!
//! # Guarantees, and what is not guaranteed
//!
//! Guaranteed (each is tested; see
//! [`docs/guarantees.md`](https://github.com/gcpool/gcpool/blob/main/docs/guarantees.md)):
//!
//! * **Exclusive hand-off.** An object is handed to at most one holder at a time, and only
//!   after it was put; the `put` happens-before the `get` that returns it.
//! * **Release.** An object put and never taken is dropped by the second `collect` after the
//!   put. When `collect` returns with no other operation in flight, those drops have happened.
//!   Dropping the pool drops everything it holds. Every object is dropped exactly once.
//! * **Go's order on one thread.** The private slot, then the home shard newest first, then
//!   the other shards oldest first, then the victim, starting with this thread's private object
//!   of the last generation.
//! * **No stop-the-world.** `collect` runs concurrently with `get`/`put`; the part they can
//!   observe is O(CPUs) (at most one barrier, one short lock per shard), `get`/`put` never run a
//!   process-wide barrier, and objects are dropped outside every lock. An exiting thread hands
//!   its private object to its shard, so nothing is stranded.
//! * **The factory runs outside every critical section**: it may be slow, use the same pool,
//!   or panic.
//!
//! Not guaranteed, as in Go ("Any item stored in the Pool may be removed automatically at any
//! time without notification"):
//!
//! * **No retention.** A `get` may call the factory although objects exist (in another live
//!   thread's private slot, or in a shard another thread holds at that moment). Never rely on
//!   getting back what you put.
//! * **No order across threads.** Which thread gets which object, and which shards threads
//!   share, depend on the CPU count and on timing.
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
//! | P id, `runtime_procPin` | a thread slot (`thread_slot.rs`) |
//! | `poolLocal.private` | a private slot per thread slot, behind an asymmetric barrier (`cache/private.rs`, `sync/barrier.rs`) |
//! | `poolLocal.shared` (`poolChain`), of `local` and `victim` | a shard per CPU: a lock over a primary and a victim list (`cache/shard.rs`) |
//! | `Get`, `getSlow` stealing, victim search | `Pool::get`, `Inner::take_slow` (`pool.rs`, `pool/get_slow.rs`) |
//! | `poolCleanup` under stop-the-world | [`Pool::collect`]: mark, one barrier, swap each shard, then drops (`collect/mod.rs`) |
//! | `allPools`, the GC | the registry, [`collect_all`], [`Collector`] (`collect/registry.rs`, `collect/collector.rs`) |
//! | (a P never exits) | thread exit hands private objects to the shards (`thread_slot.rs`) |
//! | finalizers | `Drop` |

#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

// Go's `sync.Pool`: the pool, its guards, statistics, thread slots, the per-CPU cache and the
// collection protocol, over the std/loom facade.
mod cache;
mod collect;
mod mutex;
mod pool;
mod pooled;
mod stats;
mod sync;
mod thread_slot;
// The extras beyond Go, built on the core; the core sees them only through `policy::Hooks`.
mod policy;

#[cfg(all(test, not(loom)))]
mod testing;
#[cfg(all(test, loom))]
mod tests;

pub use collect::collector::{collect_all, Collector};
pub use policy::adaptive::{Adaptive, AdaptiveConfig};
pub use policy::builder::Builder;
pub use policy::recycle::Recycle;
pub use policy::size_class::{BufferPool, SizeClassPool, SizedPooled};
pub use policy::PutDecision;
pub use pool::Pool;
pub use pooled::{OwnedPooled, Pooled};
pub use stats::{ShardSnapshot, Snapshot, Stats};
