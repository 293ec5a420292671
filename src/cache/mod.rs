//! A pool's cache of objects in the primary and victim generations, split by CPU (Go's
//! `poolLocal`, one per P).
//!
//! Go's `poolLocal` has two parts, and so does a cache here:
//!
//! * `poolLocal.private` is a [`private::Private`] slot, one per thread slot: one object that
//!   its owner takes and puts with plain loads and stores, reached by `collect` behind an
//!   asymmetric barrier;
//! * `poolLocal.shared`, of `local` and of `victim`, is a [`shard::Shard`], one per CPU: a short
//!   try-lock ([`lock::TryLock`]) over a list of the primary and one of the victim, because a
//!   Rust thread cannot pin itself to its CPU the way a goroutine pins itself to its P.
//!
//! Each private slot and each shard carries the [`counters::Counters`] that `Pool::stats`
//! sums.

pub(crate) mod cell;
pub(crate) mod counters;
pub(crate) mod lock;
pub(crate) mod private;
pub(crate) mod shard;
