//! [`Recycle`]: objects whose memory a pool can measure, reset and shrink.
//!
//! Pooled objects of one type can hold very different amounts of memory: a buffer grows with
//! use, clearing it keeps the allocation, and a pool that hands out arbitrary objects ends up
//! pinning peak-sized buffers under a stream of small requests (the "capacity trap", Go's
//! `sync.Pool` issue golang/go#23199). The size-aware policies of a [`Builder`](crate::Builder)
//! (`max_capacity`, `shrink_underused`, `adaptive`, `max_retained_bytes`) need to know, for each
//! object put back, how many bytes were *used* (read before it is reset) and how many bytes of
//! *capacity* it holds. This trait provides both, plus the two operations the policies apply.
//!
//! All sizes are in **bytes of the container's own allocation**: heap memory owned by the
//! elements (the bytes of the `String`s in a `Vec<String>`, say) is not counted.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::mem::size_of;

/// An object whose memory a pool can measure, reset and shrink.
///
/// Implemented for `Vec<T>`, `String`, `VecDeque<T>`, `HashMap`, `HashSet`, `BTreeMap` and, with
/// the `bytes` feature, `bytes::BytesMut`. Implement it for your own buffer types to use the
/// size-aware policies of a [`Builder`](crate::Builder).
///
/// ```
/// use gcpool::Recycle;
///
/// let mut buf: Vec<u8> = Vec::new();
/// assert_eq!(buf.capacity_bytes(), 0);
/// buf.extend_from_slice(b"long message");
/// assert_eq!(buf.used_bytes(), 12);
/// let cap = buf.capacity_bytes();
/// assert!(cap >= 12);
/// buf.reset();                              // contents gone, allocation kept
/// assert_eq!((buf.used_bytes(), buf.capacity_bytes()), (0, cap));
/// buf.shrink_to_bytes(0);                   // and now released
/// assert_eq!(buf.capacity_bytes(), 0);
/// ```
pub trait Recycle {
    /// Clears the contents and keeps the allocation, so the next user can reuse it.
    fn reset(&mut self);

    /// Bytes of content in use now. Policies read it *before* [`reset`](Recycle::reset), so it
    /// is the size the last user actually needed.
    fn used_bytes(&self) -> usize;

    /// Bytes of capacity the object holds (its allocation), whatever is in use.
    fn capacity_bytes(&self) -> usize;

    /// Reduces the capacity to about `bytes`, never below what is in use. May do nothing if the
    /// type cannot shrink. Like `Vec::shrink_to`, the result may be somewhat above `bytes`.
    /// The pool's caps are checked against the capacity left afterwards, so an object that
    /// stays above a cap is dropped, not kept.
    fn shrink_to_bytes(&mut self, bytes: usize);

    /// Grows the capacity to at least about `bytes` (the adaptive policy uses it to give new
    /// objects a learned initial capacity). The default does nothing.
    fn reserve_bytes(&mut self, bytes: usize) {
        let _ = bytes;
    }
}

/// Elements that fit in `bytes`, for a type of `size` bytes (zero-sized types take no memory).
#[inline]
fn elements(bytes: usize, size: usize) -> usize {
    bytes.checked_div(size).unwrap_or(0)
}

/// `Recycle` for a growable sequence of `T` with `len`, `capacity`, `clear`, `shrink_to` and
/// `reserve` (`Vec` and `VecDeque` have the same ones). `len` and `capacity` × `size_of::<T>()`
/// cannot overflow: for a sized `T` the product is the size of an allocation, at most
/// `isize::MAX` bytes, and for a zero-sized `T` it is 0.
macro_rules! recycle_sequence {
    ($($ty:ident),*) => {$(
        impl<T> Recycle for $ty<T> {
            fn reset(&mut self) {
                self.clear();
            }
            fn used_bytes(&self) -> usize {
                self.len() * size_of::<T>()
            }
            fn capacity_bytes(&self) -> usize {
                self.capacity() * size_of::<T>()
            }
            fn shrink_to_bytes(&mut self, bytes: usize) {
                self.shrink_to(elements(bytes, size_of::<T>()));
            }
            fn reserve_bytes(&mut self, bytes: usize) {
                self.reserve(elements(bytes, size_of::<T>()).saturating_sub(self.len()));
            }
        }
    )*};
}

recycle_sequence!(Vec, VecDeque);

impl Recycle for String {
    fn reset(&mut self) {
        self.clear();
    }
    fn used_bytes(&self) -> usize {
        self.len()
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity()
    }
    fn shrink_to_bytes(&mut self, bytes: usize) {
        self.shrink_to(bytes);
    }
    fn reserve_bytes(&mut self, bytes: usize) {
        self.reserve(bytes.saturating_sub(self.len()));
    }
}

/// Bytes per entry of a hash table: the entry plus one control byte (hashbrown's layout). The
/// table also rounds its bucket count up to a power of two above capacity × 8/7, which
/// `capacity()` hides; the figures are therefore estimates, within a factor of about 2. The
/// products with it saturate rather than overflow: they are estimates, not allocation sizes.
const fn hash_entry<E>() -> usize {
    size_of::<E>() + 1
}

/// `Recycle` for a hash table whose entries are `$entry` (`HashMap` and `HashSet` have the same
/// API). `capacity_bytes` and `used_bytes` are estimates (see the module docs): entries × (entry
/// size + 1 control byte), from `capacity()` and `len()`.
macro_rules! recycle_hash_table {
    ($([$($generics:tt)*] $ty:ty, entry $entry:ty;)*) => {$(
        impl<$($generics)*> Recycle for $ty {
            fn reset(&mut self) {
                self.clear();
            }
            fn used_bytes(&self) -> usize {
                self.len().saturating_mul(hash_entry::<$entry>())
            }
            fn capacity_bytes(&self) -> usize {
                self.capacity().saturating_mul(hash_entry::<$entry>())
            }
            fn shrink_to_bytes(&mut self, bytes: usize) {
                self.shrink_to(elements(bytes, hash_entry::<$entry>()));
            }
            fn reserve_bytes(&mut self, bytes: usize) {
                self.reserve(elements(bytes, hash_entry::<$entry>()).saturating_sub(self.len()));
            }
        }
    )*};
}

recycle_hash_table! {
    [K: Hash + Eq, V, S: BuildHasher] HashMap<K, V, S>, entry (K, V);
    [T: Hash + Eq, S: BuildHasher] HashSet<T, S>, entry T;
}

/// `BTreeMap` has no capacity API, so its capacity is an **estimate** from its length: entries
/// × entry size × 3/2, for the node headers, edges and the partly filled nodes (B-tree nodes of
/// up to 11 entries are between half and completely full). `clear` frees every node, so a reset
/// map holds no capacity at all (`capacity_bytes() == 0`): pooling a `BTreeMap` saves only the
/// map header, and the capacity policies never see a large reset map. `shrink_to_bytes` and
/// `reserve_bytes` do nothing. The estimate saturates at `usize::MAX` rather than overflow (its
/// nodes are separate allocations, so `len × entry size × 3/2` is not bounded by one).
impl<K: Ord, V> Recycle for BTreeMap<K, V> {
    fn reset(&mut self) {
        self.clear();
    }
    fn used_bytes(&self) -> usize {
        self.len().saturating_mul(size_of::<(K, V)>())
    }
    fn capacity_bytes(&self) -> usize {
        let used = self.used_bytes();
        used.saturating_add(used / 2)
    }
    fn shrink_to_bytes(&mut self, _bytes: usize) {}
}

/// With the `bytes` feature. `shrink_to_bytes` moves the contents into a new, smaller buffer
/// (`BytesMut` has no shrink of its own); `reserve_bytes` is `BytesMut::reserve`.
#[cfg(feature = "bytes")]
impl Recycle for bytes::BytesMut {
    fn reset(&mut self) {
        self.clear();
    }
    fn used_bytes(&self) -> usize {
        self.len()
    }
    fn capacity_bytes(&self) -> usize {
        self.capacity()
    }
    fn shrink_to_bytes(&mut self, bytes: usize) {
        let target = bytes.max(self.len());
        if self.capacity() > target {
            let mut smaller = bytes::BytesMut::with_capacity(target);
            smaller.extend_from_slice(self);
            *self = smaller;
        }
    }
    fn reserve_bytes(&mut self, bytes: usize) {
        self.reserve(bytes.saturating_sub(self.len()));
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn vec_of_u32_counts_bytes_not_elements() {
        let mut v: Vec<u32> = Vec::with_capacity(100);
        v.extend([1, 2, 3]);
        assert_eq!(v.used_bytes(), 12);
        assert_eq!(v.capacity_bytes(), 400);
        v.shrink_to_bytes(40);
        assert!(v.capacity_bytes() >= 40 && v.capacity_bytes() < 400);
        v.reset();
        v.reserve_bytes(4000);
        assert!(v.capacity_bytes() >= 4000);
    }

    #[test]
    fn zero_sized_elements_take_no_bytes() {
        let mut v = vec![(); 10];
        assert_eq!((v.used_bytes(), v.capacity_bytes()), (0, 0));
        v.shrink_to_bytes(0);
        v.reserve_bytes(100);
        assert_eq!(v.len(), 10);
    }

    #[test]
    fn shrink_never_drops_content() {
        let mut s = String::with_capacity(4096);
        s.push_str("hello");
        s.shrink_to_bytes(0);
        assert_eq!(s, "hello");
        assert!(s.capacity_bytes() < 4096);
    }

    #[test]
    fn deque_and_hash_tables() {
        let mut d: VecDeque<u64> = VecDeque::with_capacity(64);
        d.push_back(1);
        assert_eq!(d.used_bytes(), 8);
        assert!(d.capacity_bytes() >= 512);
        d.reset();
        d.shrink_to_bytes(0);
        assert_eq!(d.capacity_bytes(), 0);

        let mut m: HashMap<u64, u64> = HashMap::with_capacity(100);
        m.insert(1, 2);
        assert_eq!(m.used_bytes(), 17);
        let cap = m.capacity_bytes();
        assert!(cap >= 100 * 17);
        m.reset();
        assert_eq!(m.capacity_bytes(), cap);
        m.shrink_to_bytes(0);
        assert!(m.capacity_bytes() < cap);

        let mut h: HashSet<u32> = (0..50).collect();
        assert_eq!(h.used_bytes(), 50 * 5);
        h.reset();
        assert!(h.capacity_bytes() >= 50 * 5);
    }

    #[test]
    fn btree_capacity_is_an_estimate_and_clear_frees_it() {
        let mut m: BTreeMap<u64, u64> = (0..100).map(|i| (i, i)).collect();
        assert_eq!(m.used_bytes(), 1600);
        assert_eq!(m.capacity_bytes(), 2400);
        m.reset();
        assert_eq!(m.capacity_bytes(), 0);
    }

    #[cfg(feature = "bytes")]
    #[test]
    fn bytes_mut_shrinks_by_copying() {
        let mut b = bytes::BytesMut::with_capacity(1 << 16);
        b.extend_from_slice(b"abc");
        b.shrink_to_bytes(16);
        assert_eq!(&b[..], b"abc");
        assert!(b.capacity_bytes() < 1 << 16);
        b.reset();
        assert_eq!(b.used_bytes(), 0);
    }
}
