//! A narrated run that shows the pool's insides after each operation: which thread's cache
//! holds objects (private slot and deque), what the primary and the victim generations hold,
//! and what each `collect()` moved and dropped. `docs/internals.md` explains every step.
//!
//! Two threads show stealing, a thread exit shows that an exited thread's objects stay
//! reachable, and a third thread shows that its slot (and the cache behind it) is reused.
//!
//! Run with `cargo run --example generations`.
//!
//! The picture comes from [`Pool::snapshot`], a diagnostic API: it is for teaching and
//! debugging, never for control flow. The exact objects each step gets are the current
//! implementation's order, not a promise (see `docs/guarantees.md`), and the example checks
//! them with `assert!` so that a change of order is noticed and the narration updated.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;
use std::thread;

use gcpool::{Pool, Snapshot};

/// A pooled object that announces its own drop, so the output shows exactly what each
/// `collect()` dropped and on which thread.
struct Obj {
    id: usize,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
static DROPPED: AtomicUsize = AtomicUsize::new(0);

impl Obj {
    /// The pool's factory.
    fn make() -> Obj {
        let id = NEXT_ID.fetch_add(1, SeqCst);
        println!("      factory: made #{id}");
        Obj { id }
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, SeqCst);
        let me = thread::current();
        println!(
            "      drop #{} (on thread {:?})",
            self.id,
            me.name().unwrap_or("?")
        );
    }
}

/// The pool under study. A `static`, so every thread can use it and `join` (which waits for
/// the thread's exit, including its slot release) orders everything.
static POOL: Pool<Obj> = Pool::new(Obj::make);

/// Which thread holds which slot, for the printout (slots are process-wide, Go's P ids).
static NAMES: Mutex<BTreeMap<usize, String>> = Mutex::new(BTreeMap::new());

/// Records the calling thread's slot under `name` (the snapshot marks it `current`).
fn remember_slot(name: &str) -> usize {
    let slot = POOL
        .snapshot()
        .caches
        .iter()
        .find(|c| c.current)
        .map(|c| c.slot)
        .expect("the calling thread has used the pool, so it has a cache");
    NAMES.lock().unwrap().insert(slot, name.to_string());
    slot
}

/// Relabels an exited thread's slot: the cache stays, only the thread is gone.
fn mark_exited(name: &str) {
    for owner in NAMES.lock().unwrap().values_mut() {
        if owner == name {
            owner.push_str(" (exited)");
        }
    }
}

fn show(title: &str) -> Snapshot {
    let snap = POOL.snapshot();
    let names = NAMES.lock().unwrap();
    println!("   state after {title}:");
    for c in &snap.caches {
        let owner = names
            .get(&c.slot)
            .map(String::as_str)
            .unwrap_or("(no thread yet)");
        let here = if c.current { "  <- calling thread" } else { "" };
        println!(
            "     slot {} {:<24} private [{}]  deque {}  stash {}{here}",
            c.slot,
            owner,
            if c.private { "x" } else { " " },
            c.shared,
            c.stashed
        );
    }
    let s = POOL.stats();
    println!(
        "     primary {} | victim {} || created {} hits {} (victim {}) puts {} collections {} collected {} retained {}",
        snap.primary,
        snap.victim,
        s.created,
        s.hits,
        s.victim_hits,
        s.puts,
        s.collections,
        s.collected,
        s.retained
    );
    snap
}

fn step(n: u32, what: &str) {
    println!("\n{n}. {what}");
}

/// `collect()`, reporting what it moved (primary -> victim) and what it dropped (the old victim).
fn collect() -> Snapshot {
    let before = POOL.snapshot();
    let dropped_before = DROPPED.load(SeqCst);
    POOL.collect();
    let after = POOL.snapshot();
    println!(
        "   collect() dropped {} object(s) (the old victim) and moved {} from the primary to the victim",
        DROPPED.load(SeqCst) - dropped_before,
        before.primary
    );
    after
}

fn take(who: &str) -> Obj {
    let victim_hits = POOL.stats().victim_hits;
    let obj = POOL.take();
    let from_victim = POOL.stats().victim_hits > victim_hits;
    println!(
        "   {who} took #{}{}",
        obj.id,
        if from_victim { " (a victim hit)" } else { "" }
    );
    obj
}

fn put(who: &str, obj: Obj) {
    println!("   {who} puts #{}", obj.id);
    POOL.put(obj);
}

fn main() {
    println!("Go's sync.Pool, step by step, in gcpool. Each thread has a cache: a one-object");
    println!(
        "private slot and a deque (Go's poolLocal.private and .shared). Objects are #1, #2, ..."
    );

    step(
        1,
        "main takes four objects from the empty pool: four misses, the factory runs",
    );
    let o1 = take("main");
    let o2 = take("main");
    let o3 = take("main");
    let o4 = take("main");
    remember_slot("main");
    show("four misses");

    step(
        2,
        "main puts #1, #2, #3: the first fills its private slot, the rest go to its deque (Go's Put)",
    );
    put("main", o1);
    put("main", o2);
    put("main", o3);
    let s = show("three puts");
    assert_eq!(s.primary, 3);

    step(
        3,
        "thread B (own cache empty) steals twice from main: each time a batch from the oldest end of main's deque",
    );
    println!("   (Go's getSlow steals one object from other Ps' `shared` tails; gcpool claims about half of");
    println!("   the deque, returns the oldest and keeps the rest in the thief's stash, which only the thief");
    println!(
        "   pops: nothing is left to keep here, since the deque is short. Like Go's, a thief never"
    );
    println!(
        "   steals a private object; only when every deque is empty does it raid private slots and"
    );
    println!("   stashes, behind one barrier: main keeps #1)");
    let b = thread::Builder::new()
        .name("B".into())
        .spawn(|| {
            let x = take("B");
            remember_slot("B");
            let y = take("B");
            assert_eq!(
                (x.id, y.id),
                (2, 3),
                "the steal order changed: update the narration"
            );
            show("B's two steals");
            println!("   B puts both back into its own cache, then exits");
            put("B", x);
            put("B", y);
            show("B's puts (B still running)");
        })
        .unwrap();
    b.join().unwrap();
    mark_exited("B");
    let s = show("B exited: its cache and the two objects in it stay in the pool");
    assert_eq!(s.primary, 3);

    step(
        4,
        "main puts #4: main's private slot still holds #1, so #4 goes to main's deque",
    );
    put("main", o4);
    let s = show("the put");
    assert_eq!((s.primary, s.victim), (4, 0));

    step(
        5,
        "collect(): the first cycle. Every cache's private object and deque become the victim",
    );
    println!(
        "   (Go: poolCleanup, world stopped, `victim = local; local = nil`; here one barrier lets it"
    );
    println!(
        "   take every private object and stash, and one short lock per cache moves each deque,"
    );
    println!("   while other threads could keep running)");
    let s = collect();
    show("the first collect");
    assert_eq!((s.primary, s.victim), (0, 4));

    step(
        6,
        "main takes: its cache, then every other cache, all empty; then the victim, whose first deque holds the private objects collect took (a victim hit)",
    );
    let o = take("main");
    assert_eq!(o.id, 1, "the victim order changed: update the narration");
    println!("   main puts it back: a put never writes the victim, so #1 returns to the primary");
    put("main", o);
    let s = show("the victim hit and the put");
    assert_eq!((s.primary, s.victim), (1, 3));

    step(
        7,
        "collect(): the second cycle drops the three objects nobody asked for, on this thread, before it returns",
    );
    let s = collect();
    show("the second collect");
    assert_eq!((s.primary, s.victim), (0, 1));
    assert_eq!(DROPPED.load(SeqCst), 3);

    step(
        8,
        "thread C starts: it gets the smallest free slot, the one B left, and with it B's old cache",
    );
    let c = thread::Builder::new()
        .name("C".into())
        .spawn(|| {
            // C's own cache is B's old one: the first collect took its private object and retired
            // its deque (C's first claim settles the slot, and its slow path drops the retired,
            // empty deque). Main's cache is empty too, so the take ends in the victim, where #1 is.
            let x = take("C");
            let slot = remember_slot("C");
            println!("   C runs on slot {slot}: its own cache and main's are empty, so #1 came from the victim");
            println!("   C puts #{} into its own cache and exits without taking it back", x.id);
            put("C", x);
            show("C's put");
        })
        .unwrap();
    c.join().unwrap();
    mark_exited("C");
    let s =
        show("C exited: #1 waits in its private slot, reachable by a thief's raid and by collect");
    assert_eq!((s.primary, s.victim), (1, 0));

    step(
        9,
        "two more collect()s with nobody asking: #1 ages into the victim, then is dropped",
    );
    collect();
    show("the third collect");
    collect();
    let s = show("the fourth collect");
    assert_eq!((s.primary, s.victim), (0, 0));

    let stats = POOL.stats();
    let created = NEXT_ID.load(SeqCst) - 1;
    println!(
        "\nEvery object made was dropped exactly once: created {created}, dropped {}, retained {}.",
        DROPPED.load(SeqCst),
        stats.retained
    );
    assert_eq!(DROPPED.load(SeqCst), created);
    assert_eq!(stats.retained, 0);
}
