//! Go's order on one thread: the very object Go's `sync.Pool` returns, get for get.
//!
//! Go's `Get` looks at, in order: its P's `private`, its P's `shared` chain from the head
//! (newest first), the other Ps' chains from the tail, then the victim's `private` of its P and
//! the victim chains from the tail (oldest first); `Put` fills `private` if empty, else pushes
//! at the head of `shared`; a GC moves the primary to the victim and drops the old victim.
//!
//! The expected results below are Go's own, from this program (go 1.19.8, GOMAXPROCS=1 so that
//! the one goroutine stays on one P; `runtime.GC()` stands for `collect`):
//!
//! ```go
//! func run(name string, ops string) {
//!     var p sync.Pool
//!     var out []string
//!     for _, op := range strings.Split(ops, ";") {
//!         op = strings.TrimSpace(op)
//!         switch {
//!         case op == "c":
//!             runtime.GC()
//!         case op == "g":
//!             if x := p.Get(); x != nil {
//!                 out = append(out, fmt.Sprint(*x.(*int)))
//!             } else {
//!                 out = append(out, "miss")
//!             }
//!         case strings.HasPrefix(op, "p "):
//!             var n int
//!             fmt.Sscan(op[2:], &n)
//!             v := n
//!             p.Put(&v)
//!         }
//!     }
//!     fmt.Printf("%s: %s -> %s\n", name, ops, strings.Join(out, ", "))
//! }
//! ```
//!
//! which printed:
//!
//! ```text
//! s1: p 1; c; p 2; p 3; g -> 2
//! s2: p 1; c; c; p 2; p 3; g; g; g -> 2, 3, miss
//! s3: p 1; p 2; p 3; p 4; g; g; g; g; g -> 1, 4, 3, 2, miss
//! s4: p 1; p 2; p 3; c; g; g; g; g -> 1, 2, 3, miss
//! s5: p 1; p 2; p 3; c; p 4; p 5; g; g; g; g; g; g -> 4, 5, 1, 2, 3, miss
//! s6: p 1; p 2; g; c; p 3; g; g; g -> 1, 3, 2, miss
//! s7: p 1; p 2; c; p 3; c; g; g -> 3, miss
//! s8: p 1; p 2; p 3; c; g; p 4; g; g; g; g -> 1, 4, 2, 3, miss
//! ```
//!
//! The test runs every sequence on one thread, which must own a private slot (Go's `private`);
//! it is this binary's only test and spawns nothing, so its thread is the first to take a slot.

use gcpool::Pool;

/// Runs `ops` (the Go program's notation) on a fresh pool; returns what each get gave (`None`
/// for a miss).
fn run(ops: &str) -> Vec<Option<u32>> {
    let pool = Pool::new(|| 0u32);
    let mut out = Vec::new();
    for op in ops.split(';').map(str::trim) {
        match op {
            "c" => pool.collect(),
            "g" => out.push(pool.try_take()),
            put => pool.put(put.strip_prefix("p ").expect("an op").parse().unwrap()),
        }
    }
    out
}

#[test]
fn one_thread_gets_what_go_gets() {
    let probe = Pool::new(|| 0u8);
    assert_eq!(probe.try_take(), None);
    if probe.snapshot().own_private.is_none() {
        eprintln!("skipped: this thread has no private slot, so Go's order does not apply");
        return;
    }
    const M: Option<u32> = None;
    let cases: [(&str, &[Option<u32>]); 8] = [
        ("p 1; c; p 2; p 3; g", &[Some(2)]),
        ("p 1; c; c; p 2; p 3; g; g; g", &[Some(2), Some(3), M]),
        (
            "p 1; p 2; p 3; p 4; g; g; g; g; g",
            &[Some(1), Some(4), Some(3), Some(2), M],
        ),
        (
            "p 1; p 2; p 3; c; g; g; g; g",
            &[Some(1), Some(2), Some(3), M],
        ),
        (
            "p 1; p 2; p 3; c; p 4; p 5; g; g; g; g; g; g",
            &[Some(4), Some(5), Some(1), Some(2), Some(3), M],
        ),
        (
            "p 1; p 2; g; c; p 3; g; g; g",
            &[Some(1), Some(3), Some(2), M],
        ),
        ("p 1; p 2; c; p 3; c; g; g", &[Some(3), M]),
        (
            "p 1; p 2; p 3; c; g; p 4; g; g; g; g",
            &[Some(1), Some(4), Some(2), Some(3), M],
        ),
    ];
    for (ops, go) in cases {
        assert_eq!(run(ops), go, "{ops}");
    }
}
