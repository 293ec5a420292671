//! The seed article's second Go snippet in Rust: a pool of byte buffers, and the capacity trap.
//!
//! ```go
//! var bufferPool = sync.Pool{New: func() interface{} { return new(bytes.Buffer) }}
//!
//! func processRequest(data string) {
//!     buf := bufferPool.Get().(*bytes.Buffer)
//!     defer bufferPool.Put(buf)
//!     buf.WriteString(data)
//!     fmt.Println(buf.String())
//!     buf.Reset()
//! }
//! ```
//!
//! The article then shows that `Reset` clears the data but keeps the capacity: a new buffer has
//! capacity 0, writing `"long message"` (12 bytes) grows it to 64, and after `Reset` it is still
//! 64. A pooled buffer keeps whatever it grew to. This example prints the same sequence, then
//! the article's three remedies written as plain user code. The pool's built-in policies for
//! them come with the capacity work (`examples/capacity.rs`, `docs/capacity.md`).
//!
//! Run with `cargo run --example buffer`.

use gcpool::Pool;

/// Go's `bytes.Buffer` grows differently from `Vec<u8>`. Its first allocation for a small write
/// is at least `smallBufferSize = 64` bytes (`bytes/buffer.go`, `grow`: `if b.buf == nil && n <=
/// smallBufferSize { b.buf = make([]byte, n, smallBufferSize) }`), while `Vec` allocates about
/// what is asked for. This wrapper copies Go's rule so that the numbers match the article.
#[derive(Debug, Default)]
struct Buffer {
    buf: Vec<u8>,
}

/// `smallBufferSize` in Go's `bytes/buffer.go`.
const SMALL_BUFFER_SIZE: usize = 64;

impl Buffer {
    /// `new(bytes.Buffer)`: empty, capacity 0, no allocation.
    const fn new() -> Self {
        Buffer { buf: Vec::new() }
    }

    /// `bytes.NewBuffer(make([]byte, 0, n))`.
    fn with_capacity(n: usize) -> Self {
        Buffer {
            buf: Vec::with_capacity(n),
        }
    }

    /// `WriteString`.
    fn write_str(&mut self, s: &str) {
        if self.buf.capacity() == 0 && s.len() <= SMALL_BUFFER_SIZE {
            self.buf.reserve_exact(SMALL_BUFFER_SIZE);
        }
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// `String`.
    fn as_str(&self) -> &str {
        // Only `write_str` writes, and it writes whole `&str`s, so the bytes are UTF-8.
        std::str::from_utf8(&self.buf).expect("only whole &str are written")
    }

    /// `Reset`: the length goes to 0, the allocation stays.
    fn clear(&mut self) {
        self.buf.clear();
    }

    fn len(&self) -> usize {
        self.buf.len()
    }

    fn cap(&self) -> usize {
        self.buf.capacity()
    }
}

/// `var bufferPool = sync.Pool{New: func() interface{} { return new(bytes.Buffer) }}`.
static BUFFER_POOL: Pool<Buffer> = Pool::new(Buffer::new);

/// The article's `processRequest`. The `Pooled` guard is the `defer bufferPool.Put(buf)`: the
/// buffer goes back when `buf` is dropped at the end of the function, after the `clear`.
fn process_request(data: &str) {
    let mut buf = BUFFER_POOL.get();
    buf.write_str(data);
    println!("{}", buf.as_str());
    buf.clear();
}

fn main() {
    println!("== the article's processRequest ==");
    process_request("Hello, World!");
    process_request("long message");

    println!("\n== len and cap, as in the article (b := new(bytes.Buffer)) ==");
    let mut b = Buffer::new();
    println!("{} {}", b.len(), b.cap()); // 0 0
    b.write_str("long message");
    println!("{} {}", b.len(), b.cap()); // 12 64
    b.clear();
    println!("{} {}", b.len(), b.cap()); // 0 64
    assert_eq!((b.len(), b.cap()), (0, SMALL_BUFFER_SIZE));
    // For comparison, a plain `Vec<u8>` grows to about what the write needs (the exact
    // amortised-growth figure is std's choice, not a promise), and `clear` keeps it too.
    let mut v: Vec<u8> = Vec::new();
    let before = v.capacity();
    v.extend_from_slice(b"long message");
    let grown = v.capacity();
    v.clear();
    println!(
        "plain Vec<u8>: cap {} -> {} after the same write, {} after clear()",
        before,
        grown,
        v.capacity()
    );

    println!("\n== the pooled buffer keeps its capacity ==");
    // process_request grew the one pooled buffer to 64 and cleared it; the next user gets it
    // back empty but still holding 64 bytes.
    let buf = BUFFER_POOL.take();
    println!(
        "pooled buffer after two requests: len={} cap={}",
        buf.len(),
        buf.cap()
    );
    assert_eq!((buf.len(), buf.cap()), (0, SMALL_BUFFER_SIZE));
    BUFFER_POOL.put(buf);

    // The trap: one big request grows a buffer, and the pool keeps the big allocation for every
    // later small request, until two collections drop it.
    {
        let mut big = BUFFER_POOL.get();
        big.write_str(&"x".repeat(1 << 20));
        big.clear();
    }
    let buf = BUFFER_POOL.take();
    println!(
        "after one 1 MiB request, the next small request gets: len={} cap={}",
        buf.len(),
        buf.cap()
    );
    BUFFER_POOL.put(buf);
    BUFFER_POOL.collect(); // primary -> victim: still retained
    BUFFER_POOL.collect(); // victim dropped
    println!(
        "after two collect(): retained objects = {}",
        BUFFER_POOL.stats().retained
    );
    assert_eq!(BUFFER_POOL.stats().retained, 0);

    println!("\n== the article's remedies, as user code ==");
    // 1. Initialise with the expected capacity: `bytes.NewBuffer(make([]byte, 0, 1024))`.
    let sized: Pool<Buffer> = Pool::with_factory(|| Buffer::with_capacity(1024));
    let mut b = sized.take();
    let before = b.cap();
    b.write_str("long message");
    println!(
        "pre-sized: cap {} -> {} after a 12-byte write (no growth)",
        before,
        b.cap()
    );
    b.clear();
    sized.put(b);

    // 2. Don't return large objects: `if buf.Cap() <= 512 { bufferPool.Put(buf) }`.
    let put_if_small = |pool: &Pool<Buffer>, buf: Buffer| {
        if buf.cap() <= 512 {
            pool.put(buf);
        } // else: dropped here, its memory goes back to the allocator
    };
    let mut big = Buffer::new();
    big.write_str(&"x".repeat(4096));
    big.clear();
    let retained_before = sized.stats().retained;
    put_if_small(&sized, big);
    println!(
        "cap-limited put of a 4 KiB buffer: retained {} -> {} (dropped)",
        retained_before,
        sized.stats().retained
    );

    // 3. Compress the capacity: `if buf.Cap() > 3*buf.Len()`, copy into a right-sized buffer.
    let mut b = Buffer::new();
    b.write_str(&"x".repeat(4096));
    b.buf.truncate(100); // only 100 bytes are in use now
    let before = b.cap();
    if b.cap() > 3 * b.len() {
        let mut small = Buffer::with_capacity(b.len());
        small.buf.extend_from_slice(&b.buf);
        b = small;
    }
    println!(
        "compressed: cap {} -> {} for {} bytes in use",
        before,
        b.cap(),
        b.len()
    );
    sized.put(b);
}
