//! The guards that put an object back into its [`Pool`] when dropped: [`Pooled`], which
//! borrows the pool, and [`OwnedPooled`], which holds an [`Arc`] of it and so is `'static`.
//!
//! On the hot path a guard *leases* its object: it holds the private slot's heap cell with the
//! object in it (`cache/cell.rs`), so neither `get` nor the drop moves the object, and the
//! drop gives the cell to the dropping thread's private slot. Otherwise it holds the object
//! itself, and its drop puts it the way [`Pool::put`] does. Forgetting a guard leaks its object
//! (and its cell) and nothing else: the slot allocates a new cell at its next put.
//! They dereference to `T` and pass through the standard traits of `T` (comparison, hashing,
//! formatting, `io::Read`/`io::Write`, `fmt::Write`), so a guard can go where the object could.

use std::borrow::{Borrow, BorrowMut};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::cache::cell::{Cell, CellPtr};
use crate::Pool;

/// Where a guard's object is.
pub(crate) enum Held<T> {
    /// Leased: in a private slot's cell, which the guard owns until its drop gives it back.
    Cell(CellPtr<T>),
    /// Moved out of the pool (a slow-path hit, or a new object).
    Value(ManuallyDrop<T>),
}

impl<T> Held<T> {
    pub(crate) fn value(value: T) -> Self {
        Held::Value(ManuallyDrop::new(value))
    }

    #[inline(always)]
    fn get(&self) -> &T {
        match self {
            // SAFETY: the guard owns the cell, whose object is initialised until the guard
            // ends (a type invariant of `Held::Cell`).
            Held::Cell(cell) => unsafe { &*Cell::get(*cell) },
            Held::Value(value) => value,
        }
    }

    #[inline(always)]
    fn get_mut(&mut self) -> &mut T {
        match self {
            // SAFETY: as in `get`; `&mut self` makes this the only access.
            Held::Cell(cell) => unsafe { &mut *Cell::get(*cell) },
            Held::Value(value) => value,
        }
    }

    /// Moves the object out (freeing a leased cell).
    ///
    /// # Safety
    ///
    /// Called once; the `Held` is not used afterwards.
    unsafe fn take(&mut self) -> T {
        match self {
            Held::Cell(cell) => {
                // SAFETY: the guard owns the cell and its object (our contract: once).
                let value = unsafe { Cell::read(*cell) };
                // SAFETY: the cell is empty now, and not used again.
                unsafe { Cell::free(*cell) };
                value
            }
            // SAFETY: our contract: once.
            Held::Value(value) => unsafe { ManuallyDrop::take(value) },
        }
    }

    /// Gives the object back to `pool` (the guards' drop). The hot case, a leased cell going
    /// back to the dropping thread's empty private slot, is inlined; the rest is not, so that
    /// the drop stays small enough to inline where the guard dies.
    ///
    /// # Safety
    ///
    /// As for `take`.
    #[inline(always)]
    unsafe fn put_back(&mut self, pool: &Pool<T>)
    where
        T: Send + 'static,
    {
        if let Held::Cell(cell) = *self {
            if pool.return_cell_hot(cell) {
                return;
            }
        }
        // SAFETY: our contract.
        unsafe { self.put_back_slow(pool) }
    }

    /// `put_back` past its hot case.
    ///
    /// # Safety
    ///
    /// As for `take`.
    #[cold]
    #[inline(never)]
    unsafe fn put_back_slow(&mut self, pool: &Pool<T>)
    where
        T: Send + 'static,
    {
        match self {
            Held::Cell(cell) => pool.put_cell(*cell),
            // SAFETY: our contract: the value is moved out once and not used again.
            Held::Value(value) => unsafe { pool.put_from(&**value) },
        }
    }
}

/// An object taken from a [`Pool`] by [`Pool::get`] or [`Pool::try_get`]; puts itself back
/// when dropped.
///
/// Dereferences to `T`; [`Pooled::into_inner`] keeps the object instead. `Send` when `T: Send`,
/// so it may be dropped on another thread (the object then goes to that thread's private slot or shard). To
/// move a guard into a spawned thread or task, use [`OwnedPooled`].
///
/// The bounds `T: Send + 'static` are on the struct because its `Drop` calls [`Pool::put`],
/// which needs them, and Rust requires a `Drop` impl's bounds on the struct as well.
///
/// # Traits of `T`
///
/// The guard compares, hashes and formats as its object, and reads and writes through it. A
/// generic writer takes `&mut guard` (as `serde_json::to_writer(&mut buf, ..)` does) or
/// `&mut *guard` (the `&mut T` itself):
///
/// ```
/// use std::collections::HashSet;
/// use std::fmt::Write as _;
/// use std::io::{self, Read, Write};
/// use gcpool::Pool;
///
/// fn encode<W: io::Write>(mut w: W, n: u32) -> io::Result<()> {
///     write!(w, "{{\"n\":{n}}}")
/// }
///
/// let pool = Pool::new(Vec::<u8>::new);
/// let mut buf = pool.get();
/// encode(&mut buf, 1).unwrap();           // io::Write for &mut Pooled<Vec<u8>>
/// encode(&mut *buf, 2).unwrap();          // io::Write for &mut Vec<u8>
/// buf.write_all(b"!").unwrap();
/// assert_eq!(&buf[..], br#"{"n":1}{"n":2}!"#);
///
/// let texts = Pool::new(String::new);
/// let mut s = texts.get();
/// write!(s, "{}-{}", 4, 2).unwrap();      // fmt::Write
/// assert_eq!(format!("{s} / {s:?}"), r#"4-2 / "4-2""#); // Display, Debug
///
/// let other = texts.get();
/// assert!(other < s && other != s);       // PartialOrd, PartialEq of String
/// let set: HashSet<&str> = [s.as_str()].into();
/// assert!(set.contains(s.as_str()));
///
/// let readers = Pool::new(|| io::Cursor::new(b"abc".to_vec()));
/// let mut r = readers.get();
/// let mut out = String::new();
/// r.read_to_string(&mut out).unwrap();    // io::Read
/// assert_eq!(out, "abc");
/// ```
pub struct Pooled<'a, T: Send + 'static> {
    pool: &'a Pool<T>,
    /// Taken out only by `into_inner` or `drop`, each of which ends the guard.
    held: Held<T>,
}

impl<'a, T: Send + 'static> Pooled<'a, T> {
    /// A guard that gives `held` back to `pool` when dropped.
    #[inline]
    pub(crate) fn new(pool: &'a Pool<T>, held: Held<T>) -> Self {
        Self { pool, held }
    }

    /// Takes the object out of the guard: it will not return to the pool.
    ///
    /// An associated function (not a method) so that it never shadows a method of `T`.
    ///
    /// ```
    /// # use gcpool::{Pool, Pooled};
    /// let pool = Pool::new(String::new);
    /// let kept: String = Pooled::into_inner(pool.get());
    /// drop(kept);
    /// assert_eq!(pool.stats().puts, 0);
    /// ```
    #[inline]
    pub fn into_inner(this: Self) -> T {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used again and its `Drop` (which would put the value back)
        // is suppressed, so the value is moved out exactly once. `pool` is a reference: there
        // is nothing else to drop.
        unsafe { this.held.take() }
    }

    /// The pool this object returns to.
    ///
    /// ```
    /// # use gcpool::{Pool, Pooled};
    /// let pool = Pool::new(String::new);
    /// let s = pool.get();
    /// assert!(std::ptr::eq(Pooled::pool(&s), &pool));
    /// ```
    #[inline]
    pub fn pool(this: &Self) -> &'a Pool<T> {
        this.pool
    }
}

/// An object taken from an `Arc<Pool<T>>` by [`Pool::get_owned`] or [`Pool::try_get_owned`];
/// puts itself back when dropped, from any thread.
///
/// Holds a clone of the `Arc`, so it is `'static`: it can be moved into `std::thread::spawn`
/// or `tokio::spawn`, sent through a channel, or stored beside the pool. `Send` when
/// `T: Send`. Dereferences to `T`; [`OwnedPooled::into_inner`] keeps the object instead.
/// Getting one costs what [`Pool::get`] costs plus an `Arc` clone, and dropping it an `Arc`
/// drop.
///
/// The bounds `T: Send + 'static` are on the struct for the reason given on [`Pooled`].
///
/// # Traits of `T`
///
/// Passes through the same traits as [`Pooled`]:
///
/// ```
/// use std::fmt::Write as _;
/// use std::io::{self, Read, Write};
/// use std::sync::Arc;
/// use gcpool::{OwnedPooled, Pool};
///
/// fn encode<W: io::Write>(mut w: W, n: u32) -> io::Result<()> {
///     write!(w, "{{\"n\":{n}}}")
/// }
///
/// let pool = Arc::new(Pool::new(Vec::<u8>::new));
/// let mut buf: OwnedPooled<Vec<u8>> = pool.get_owned();
/// encode(&mut buf, 1).unwrap();           // io::Write for &mut OwnedPooled<Vec<u8>>
/// encode(&mut *buf, 2).unwrap();
/// buf.flush().unwrap();
/// assert_eq!(&buf[..], br#"{"n":1}{"n":2}"#);
///
/// let texts = Arc::new(Pool::new(String::new));
/// let (mut a, mut b) = (texts.get_owned(), texts.get_owned());
/// write!(a, "a").unwrap();                // fmt::Write
/// b.push('b');
/// assert!(a < b && a != b && a.cmp(&b).is_lt());
/// assert_eq!(format!("{a}{b} {a:?}"), r#"ab "a""#);
///
/// let readers = Arc::new(Pool::new(|| io::Cursor::new(b"xyz".to_vec())));
/// let mut r = readers.get_owned();
/// let mut first = [0u8; 2];
/// r.read_exact(&mut first).unwrap();      // io::Read
/// assert_eq!(&first, b"xy");
/// ```
pub struct OwnedPooled<T: Send + 'static> {
    pool: Arc<Pool<T>>,
    /// Taken out only by `into_inner` or `drop`, each of which ends the guard.
    held: Held<T>,
}

impl<T: Send + 'static> OwnedPooled<T> {
    /// A guard that gives `held` back to `pool` when dropped.
    #[inline]
    fn new(pool: Arc<Pool<T>>, held: Held<T>) -> Self {
        Self { pool, held }
    }

    /// Takes the object out of the guard: it will not return to the pool. The guard's `Arc`
    /// of the pool is dropped.
    ///
    /// An associated function (not a method) so that it never shadows a method of `T`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use gcpool::{OwnedPooled, Pool};
    /// let pool = Arc::new(Pool::new(String::new));
    /// let kept: String = OwnedPooled::into_inner(pool.get_owned());
    /// drop(kept);
    /// assert_eq!(pool.stats().puts, 0);
    /// assert_eq!(Arc::strong_count(&pool), 1);
    /// ```
    #[inline]
    pub fn into_inner(this: Self) -> T {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used again and its `Drop` is suppressed, so each field is
        // moved out exactly once: the value to the caller, the `Arc` to be dropped here.
        unsafe {
            drop(std::ptr::read(&this.pool));
            this.held.take()
        }
    }

    /// The pool this object returns to.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use gcpool::{OwnedPooled, Pool};
    /// let pool = Arc::new(Pool::new(String::new));
    /// let s = pool.get_owned();
    /// assert!(Arc::ptr_eq(OwnedPooled::pool(&s), &pool));
    /// ```
    #[inline]
    pub fn pool(this: &Self) -> &Arc<Pool<T>> {
        &this.pool
    }
}

impl<T: Send + 'static> Pool<T> {
    /// Like [`get`](Pool::get), but the guard holds a clone of the pool's `Arc` instead of a
    /// borrow: it is `'static` and can be moved into a spawned thread or task.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gcpool::{OwnedPooled, Pool};
    ///
    /// let pool = Arc::new(Pool::new(Vec::<u8>::new));
    /// let mut buf: OwnedPooled<Vec<u8>> = pool.get_owned();
    /// buf.extend_from_slice(b"sent away");
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// tx.send(buf).unwrap();                  // a `Pooled` could not be sent to a `'static` receiver
    /// std::thread::spawn(move || drop(rx.recv().unwrap())).join().unwrap();
    /// assert_eq!(pool.stats().puts, 1);
    /// ```
    #[inline]
    pub fn get_owned(self: &Arc<Self>) -> OwnedPooled<T> {
        OwnedPooled::new(Arc::clone(self), self.get_held())
    }

    /// Like [`try_get`](Pool::try_get), with an owned guard as [`get_owned`](Pool::get_owned)
    /// returns: never calls the factory, `None` if the pool looks empty.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use gcpool::Pool;
    /// let pool = Arc::new(Pool::new(|| 0u32));
    /// assert!(pool.try_get_owned().is_none());
    /// pool.put(7);
    /// assert_eq!(*pool.try_get_owned().unwrap(), 7);
    /// assert_eq!(pool.stats().created, 0);
    /// ```
    #[inline]
    pub fn try_get_owned(self: &Arc<Self>) -> Option<OwnedPooled<T>> {
        self.try_get_held()
            .map(|held| OwnedPooled::new(Arc::clone(self), held))
    }
}

/// What both guards share: the `Drop` that puts the object back, and the traits they pass
/// through to `T`. `$guard` is the guard type with its lifetime parameters, `$($lt)?` the
/// lifetime it takes (none for `OwnedPooled`).
macro_rules! guard_impls {
    ($($lt:lifetime)?; $guard:ty) => {
        // SAFETY: a guard owns its object, by value or in a leased cell that nothing else
        // reaches, and its pool handle is `Send` when `T: Send`: sending the guard sends the
        // object, as sending a `T` would.
        unsafe impl<$($lt,)? T: Send + 'static> Send for $guard {}
        // SAFETY: a shared guard gives out only `&T`.
        unsafe impl<$($lt,)? T: Send + Sync + 'static> Sync for $guard {}

        impl<$($lt,)? T: Send + 'static> Drop for $guard {
            #[inline(always)]
            fn drop(&mut self) {
                // SAFETY: `drop` runs once and the object is not used afterwards.
                unsafe { self.held.put_back(&self.pool) };
            }
        }

        impl<$($lt,)? T: Send + 'static> Deref for $guard {
            type Target = T;

            #[inline]
            fn deref(&self) -> &T {
                self.held.get()
            }
        }

        impl<$($lt,)? T: Send + 'static> DerefMut for $guard {
            #[inline]
            fn deref_mut(&mut self) -> &mut T {
                self.held.get_mut()
            }
        }

        impl<$($lt,)? T: Send + 'static> AsRef<T> for $guard {
            #[inline]
            fn as_ref(&self) -> &T {
                self
            }
        }

        impl<$($lt,)? T: Send + 'static> AsMut<T> for $guard {
            #[inline]
            fn as_mut(&mut self) -> &mut T {
                self
            }
        }

        // Sound alongside `Hash`/`Eq`/`Ord` below: those forward to `T`, so the guard and its
        // object hash and compare alike, as `Borrow` requires.
        impl<$($lt,)? T: Send + 'static> Borrow<T> for $guard {
            #[inline]
            fn borrow(&self) -> &T {
                self
            }
        }

        impl<$($lt,)? T: Send + 'static> BorrowMut<T> for $guard {
            #[inline]
            fn borrow_mut(&mut self) -> &mut T {
                self
            }
        }

        impl<$($lt,)? T: Send + 'static + fmt::Debug> fmt::Debug for $guard {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($lt,)? T: Send + 'static + fmt::Display> fmt::Display for $guard {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }

        impl<$($lt,)? T: Send + 'static + PartialEq> PartialEq for $guard {
            #[inline]
            fn eq(&self, other: &Self) -> bool {
                **self == **other
            }
        }

        impl<$($lt,)? T: Send + 'static + Eq> Eq for $guard {}

        impl<$($lt,)? T: Send + 'static + PartialOrd> PartialOrd for $guard {
            #[inline]
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                (**self).partial_cmp(&**other)
            }
        }

        impl<$($lt,)? T: Send + 'static + Ord> Ord for $guard {
            #[inline]
            fn cmp(&self, other: &Self) -> Ordering {
                (**self).cmp(&**other)
            }
        }

        impl<$($lt,)? T: Send + 'static + Hash> Hash for $guard {
            #[inline]
            fn hash<H: Hasher>(&self, state: &mut H) {
                (**self).hash(state)
            }
        }

        impl<$($lt,)? T: Send + 'static + io::Write> io::Write for $guard {
            #[inline]
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                (**self).write(buf)
            }
            #[inline]
            fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
                (**self).write_vectored(bufs)
            }
            #[inline]
            fn flush(&mut self) -> io::Result<()> {
                (**self).flush()
            }
            #[inline]
            fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
                (**self).write_all(buf)
            }
            #[inline]
            fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
                (**self).write_fmt(args)
            }
        }

        impl<$($lt,)? T: Send + 'static + io::Read> io::Read for $guard {
            #[inline]
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                (**self).read(buf)
            }
            #[inline]
            fn read_vectored(&mut self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
                (**self).read_vectored(bufs)
            }
            #[inline]
            fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
                (**self).read_to_end(buf)
            }
            #[inline]
            fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
                (**self).read_to_string(buf)
            }
            #[inline]
            fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
                (**self).read_exact(buf)
            }
        }

        impl<$($lt,)? T: Send + 'static + fmt::Write> fmt::Write for $guard {
            #[inline]
            fn write_str(&mut self, s: &str) -> fmt::Result {
                (**self).write_str(s)
            }
            #[inline]
            fn write_char(&mut self, c: char) -> fmt::Result {
                (**self).write_char(c)
            }
            #[inline]
            fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> fmt::Result {
                (**self).write_fmt(args)
            }
        }
    };
}

guard_impls!('a; Pooled<'a, T>);
guard_impls!(; OwnedPooled<T>);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::testing::Counted;
    use std::collections::hash_map::DefaultHasher;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    fn hash_of(x: &impl Hash) -> u64 {
        let mut h = DefaultHasher::new();
        x.hash(&mut h);
        h.finish()
    }

    #[test]
    fn guards_hash_and_compare_as_their_object() {
        let pool = Arc::new(Pool::new(String::new));
        let mut a = pool.get();
        a.push('x');
        let mut b = pool.get_owned();
        b.push('x');
        assert_eq!(hash_of(&a), hash_of(&String::from("x")));
        assert_eq!(hash_of(&b), hash_of(&String::from("x")));
        let borrowed: &String = a.borrow();
        assert_eq!(borrowed, "x");
        let mut c = pool.get_owned();
        c.push('y');
        assert_eq!(b.cmp(&c), Ordering::Less);
        assert_ne!(b, c);
    }

    #[test]
    fn owned_guard_returns_its_object_and_releases_the_arc() {
        let pool = Arc::new(Pool::new(|| vec![0u8; 16]));
        let g = pool.get_owned();
        assert_eq!(Arc::strong_count(&pool), 2);
        drop(g);
        assert_eq!(Arc::strong_count(&pool), 1);
        let stats = pool.stats();
        assert_eq!((stats.created, stats.puts, stats.retained), (1, 1, 1));
        let g = pool.try_get_owned().expect("the object just put");
        assert_eq!(pool.stats().hits, 1);
        let kept = OwnedPooled::into_inner(g);
        assert_eq!(kept.len(), 16);
        assert_eq!(Arc::strong_count(&pool), 1);
        assert_eq!(pool.stats().puts, 1);
    }

    #[test]
    fn owned_guard_keeps_the_pool_alive_and_the_last_drop_frees_everything() {
        static DROPPED: AtomicUsize = AtomicUsize::new(0);
        let pool = Arc::new(Pool::new(|| Counted(&DROPPED)));
        let guard = pool.get_owned();
        drop(pool);
        assert_eq!(DROPPED.load(Relaxed), 0, "the guard's object is alive");
        // The guard's drop puts the object into the pool and then drops the last `Arc`,
        // which drops the pool and everything in it.
        std::thread::spawn(move || drop(guard)).join().unwrap();
        assert_eq!(DROPPED.load(Relaxed), 1);
    }

    #[test]
    fn into_inner_of_a_borrowing_guard_puts_nothing() {
        static DROPPED: AtomicUsize = AtomicUsize::new(0);
        let pool = Pool::new(|| Counted(&DROPPED));
        let value = Pooled::into_inner(pool.get());
        assert_eq!(pool.stats().puts, 0);
        assert_eq!(DROPPED.load(Relaxed), 0);
        drop(value);
        assert_eq!(DROPPED.load(Relaxed), 1);
        assert!(pool.try_get().is_none());
    }
}
