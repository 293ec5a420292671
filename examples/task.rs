//! The seed article's first Go snippet in Rust: a pool of `Task`s, reset before they go back.
//!
//! ```go
//! var pool sync.Pool
//! pool.New = func() interface{} { return &Task{} }
//! task := pool.Get().(*Task)
//! task.ID = 1; task.Name = "Example"
//! fmt.Printf("Task ID: %d, Name: %s\n", task.ID, task.Name)
//! task.ID = 0; task.Name = ""   // cleanup before put back
//! pool.Put(task)
//! ```
//!
//! Run with `cargo run --example task`.

use gcpool::Pool;

/// The article's `Task`. `Default` plays the role of `pool.New = func() any { return &Task{} }`.
#[derive(Debug, Default)]
struct Task {
    id: u32,
    name: String,
}

impl Task {
    /// "Cleanup before put back": clear the fields. `String::clear` keeps the allocation, so the
    /// next user of this `Task` writes its name without allocating.
    fn reset(&mut self) {
        self.id = 0;
        self.name.clear();
    }
}

/// `Pool::new` is a `const fn`, so the pool can be a `static`, like a package-level Go variable.
static POOL: Pool<Task> = Pool::new(Task::default);

fn main() {
    // 1. Go's shape, one for one: Get, use, reset, Put.
    //    `take` is `pool.Get()`: a pooled Task if there is one, else the factory (`New`).
    let mut task = POOL.take();
    task.id = 1;
    task.name.push_str("Example");
    println!("Task ID: {}, Name: {}", task.id, task.name);
    task.reset();
    POOL.put(task);

    // 2. The same with the guard: `get` returns a `Pooled` that puts the Task back when it is
    //    dropped, like `defer pool.Put(task)`. Resetting is still the caller's job.
    {
        let mut task = POOL.get();
        println!(
            "second get: reused Task, fields after the reset: id={}, name={:?}, name capacity={}",
            task.id,
            task.name,
            task.name.capacity()
        );
        task.id = 2;
        task.name.push_str("Second");
        println!("Task ID: {}, Name: {}", task.id, task.name);
        task.reset();
    } // <- back into the pool here

    // 3. Why the reset matters: a Task put back dirty is handed out dirty. The pool never
    //    resets objects itself (Go's doesn't either).
    let mut task = POOL.take();
    task.id = 3;
    task.name.push_str("secret");
    POOL.put(task); // forgot task.reset()
    let leaked = POOL.take();
    println!(
        "without the reset, the next user sees the previous data: id={}, name={:?}",
        leaked.id, leaked.name
    );
    POOL.put(leaked);

    let stats = POOL.stats();
    println!(
        "stats: created={} hits={} puts={} retained={}",
        stats.created, stats.hits, stats.puts, stats.retained
    );
    // One Task served the whole run: the factory ran once, every later get was a hit.
    assert_eq!(stats.created, 1);
    assert_eq!(stats.hits, 3);
}
