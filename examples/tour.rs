//! A short tour of gcpool: a miss, hits, stealing, a victim hit, a drop after two collections,
//! the background collector, and the counters.
//!
//! Run it with `cargo run --release --example tour`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gcpool::{Collector, Pool};

/// A pooled object that says when it is made and when it is dropped.
struct Buffer {
    id: usize,
    data: Vec<u8>,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

fn new_buffer() -> Buffer {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    println!("    factory: made buffer #{id}");
    Buffer {
        id,
        data: Vec::with_capacity(4096),
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        println!("    drop: buffer #{} released", self.id);
    }
}

/// A pool can be a `static`, as Go's pools usually are.
static POOL: Pool<Buffer> = Pool::new(new_buffer);

fn show(what: &str) {
    let s = POOL.snapshot();
    println!(
        "  [{what}] primary: {} object(s), victim: {} object(s)",
        s.primary, s.victim
    );
}

fn main() {
    println!("1. The first get misses: the pool is empty, so the factory runs.");
    let mut buf = POOL.get();
    buf.data.extend_from_slice(b"hello");
    println!("    got #{} and wrote {} bytes", buf.id, buf.data.len());
    buf.data.clear(); // reset before it goes back
    drop(buf); // the guard puts it back into this thread's private slot
    show("after put");

    println!("\n2. The next gets hit: the same object comes back, no allocation.");
    for _ in 0..3 {
        let buf = POOL.get();
        println!("    got #{}", buf.id);
    }

    println!("\n3. Another thread's get steals what this thread put in its shard, never its private object.");
    let (a, b) = (POOL.take(), POOL.take()); // a hit (#1), then a miss
    POOL.put(a); // into this thread's private slot
    POOL.put(b); // the private slot is full: this one goes to this thread's shard
    std::thread::scope(|s| {
        s.spawn(|| {
            let stolen = POOL.try_take().expect("an object to steal");
            println!("    other thread stole #{}", stolen.id);
            assert_ne!(stolen.id, 1, "a thief took a live thread's private object");
            // Into the other thread's private slot; when it exits, it hands it to its shard.
            POOL.put(stolen);
        });
    });
    show("after the other thread exited");

    println!("\n4. collect() turns the primary into the victim; a get is served from it.");
    POOL.collect();
    show("after collect #1");
    let buf = POOL.try_take().expect("a victim object");
    println!("    victim hit: #{}", buf.id);
    POOL.put(buf); // back into the primary
    show("after putting it back");

    println!("\n5. Two collections without use drop everything that was not taken.");
    POOL.collect();
    show("after collect #2");
    POOL.collect();
    show("after collect #3");

    println!("\n6. A background Collector does the same on a timer (Go's GC, made explicit).");
    drop(POOL.get()); // the pool is empty: a new object, put back at once
    let collector = Collector::start(Duration::from_millis(20));
    let start = Instant::now();
    while POOL.stats().retained > 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    println!("    idle object released after {:?}", start.elapsed());
    drop(collector); // stops and joins the collector thread

    println!("\n7. The counters (exact now that nothing is in flight):");
    let s = POOL.stats();
    for line in format!("{s:#?}").lines() {
        println!("    {line}");
    }
    assert_eq!(s.retained, 0);
    assert_eq!(
        s.created, s.collected,
        "every object made was released by a collection"
    );
}
