//! Go's `getSlow` and the rest of `Put`: everything a `get` or `put` does past the private
//! slot's hot path (`pool.rs`). A `get` settles a private slot that a collector retired, then
//! searches the home shard, the other shards and the victim; a `put` runs the put-time policy
//! if the pool has one, then fills the private slot or pushes into a shard.

use std::mem::MaybeUninit;

use super::Inner;
use crate::cache::counters::{add, Counters, Writer};
use crate::cache::private::{Claim, Private};
use crate::cache::shard::End;
use crate::collect;
use crate::policy::{Hooks, PutDecision};
use crate::sync::AtomicU64;

impl<T: Send> Inner<T> {
    /// Takes an object for the calling thread (slot `slot`) into `out`, initialised when this
    /// returns `true`, past the hot path (`claim`: what the hot path's claim found, if it ran).
    pub(super) fn take_after(
        &self,
        slot: usize,
        claim: Option<Claim>,
        out: &mut MaybeUninit<T>,
    ) -> bool {
        // A pool with a policy skips the hot path, whose claim then runs here.
        let private = self.privates.get(slot).filter(|private| {
            Self::stands(private, claim.unwrap_or_else(|| private.claim(self.global)))
        });
        if let Some(private) = private {
            add(Writer::Sole, &private.counters.hits, 1);
            out.write(private.take_claimed());
        } else if !self.take_slow(slot, out) {
            return false;
        }
        if let Some(hooks) = &self.hooks {
            self.measure_out(hooks.as_ref(), slot, out);
        }
        true
    }

    /// Whether an owner's `claim` on `private` stands: a hit, or a retired slot whose
    /// settlement finds the object still the owner's.
    pub(super) fn stands(private: &Private<T>, claim: Claim) -> bool {
        match claim {
            Claim::Hit => true,
            Claim::Miss => false,
            Claim::Retired => Self::settle(private),
        }
    }

    /// An owner's claim or put found its private slot retired by a collector: settles it under
    /// the collectors' lock, which the collector held while it took from the slot. Whether the
    /// object is still the owner's.
    #[cold]
    #[inline(never)]
    pub(super) fn settle(private: &Private<T>) -> bool {
        let _collectors = collect::lock();
        private.settle()
    }

    /// Go's rest of `Get` and `getSlow`: the home shard (newest first), one pass over the other
    /// shards (oldest first), then one pass over the victim (oldest first, starting at home,
    /// whose front holds this thread's private object of the last generation).
    fn take_slow(&self, slot: usize, out: &mut MaybeUninit<T>) -> bool {
        let (writer, counters) = self.counters(slot);
        let home = self.home(slot);
        let n = self.shards.len();
        let value = self.shards[home]
            .take_primary(End::Newest)
            .or_else(|| {
                (1..n).find_map(|i| self.shards[(home + i) & (n - 1)].take_primary(End::Oldest))
            })
            .or_else(|| {
                let value = (0..n).find_map(|i| self.shards[(home + i) & (n - 1)].take_victim());
                if value.is_some() {
                    add(writer, &counters.victim_hits, 1);
                }
                value
            });
        match value {
            Some(value) => {
                add(writer, &counters.hits, 1);
                out.write(value);
                true
            }
            None => false,
        }
    }

    /// Accounts for the bytes of an object leaving a pool that measures them (out of line).
    /// The object is moved into a local while the hook runs, so that a panicking hook drops
    /// it rather than leaking it from `out`.
    #[inline(never)]
    fn measure_out(&self, hooks: &dyn Hooks<T>, slot: usize, out: &mut MaybeUninit<T>) {
        // SAFETY: `take` initialised `out` before calling us.
        let value = unsafe { out.assume_init_read() };
        let (writer, counters) = self.counters(slot);
        add(writer, &counters.bytes_out, hooks.on_leave(&value) as u64);
        out.write(value);
    }

    /// Go's `Put` past the hot path: the private slot if empty (settling it first if a
    /// collector took its object), else the shards.
    pub(super) fn put_after(&self, slot: usize, value: T) {
        let (writer, counters) = self.counters(slot);
        add(writer, &counters.puts, 1);
        let value = match &self.hooks {
            None => value,
            Some(hooks) => match Self::admit(hooks.as_ref(), writer, counters, slot, value) {
                Some(value) => value,
                None => return,
            },
        };
        match self.privates.get(slot) {
            Some(private) if private.is_empty() => private.put(value),
            Some(private) if private.needs_settling() => {
                // A collector took the object that the slot still says it holds: settle, and
                // the slot is free again (Go's `private` is empty after a GC, too).
                Self::settle(private);
                if private.is_empty() {
                    private.put(value);
                } else {
                    self.put_slow(slot, value);
                }
            }
            _ => self.put_slow(slot, value),
        }
        if let Some(hooks) = &self.hooks {
            if hooks.wants_collect() {
                // Chaos mode: a collection now and then, as a GC would run.
                collect::collect_one(self, false);
            }
        }
    }

    /// Runs the put-time policy; `None` if it rejected (and dropped) the object.
    #[inline(never)]
    fn admit(
        hooks: &dyn Hooks<T>,
        writer: Writer,
        counters: &Counters,
        slot: usize,
        mut value: T,
    ) -> Option<T> {
        /// If the policy panics, the object is dropped while the panic unwinds: count it as
        /// rejected so that `retained` stays exact.
        struct OnUnwind<'a>(Writer, &'a AtomicU64);
        impl Drop for OnUnwind<'_> {
            fn drop(&mut self) {
                add(self.0, self.1, 1);
            }
        }
        let on_unwind = OnUnwind(writer, &counters.rejected);
        let verdict = hooks.on_put(&mut value, slot);
        std::mem::forget(on_unwind);
        match verdict {
            PutDecision::Keep => {}
            PutDecision::Shrunk => add(writer, &counters.shrunk, 1),
            PutDecision::Reject => {
                add(writer, &counters.rejected, 1);
                return None;
            }
        }
        add(writer, &counters.bytes_in, hooks.measure(&value) as u64);
        Some(value)
    }

    /// Go's `pushHead`: the home shard, else the first other shard whose lock is free, else
    /// the home shard once its lock is free.
    fn put_slow(&self, slot: usize, value: T) {
        let home = self.home(slot);
        let n = self.shards.len();
        let mut value = value;
        for i in 0..n {
            match self.shards[(home + i) & (n - 1)].try_push(value) {
                Ok(()) => return,
                Err(back) => value = back,
            }
        }
        self.shards[home].push(value);
    }
}
