//! A narrated run that shows the pool's insides after each step: each shard (the private
//! objects of the threads homed there, its primary list, its victim list), the calling thread's
//! private slot, and what each `collect()` moved and dropped. `docs/internals.md` Part II
//! explains every step.
//!
//! Run with `cargo run --example generations`.
//!
//! A pool has one shard per CPU (rounded up to a power of two), and a thread's home shard
//! depends on its slot and on that count. So which shard a thread lands on depends on the
//! machine: with one CPU every thread shares shard 0, with two or more main and thread B have
//! different homes. The narration asks [`Pool::snapshot`] where each thread's home is and says
//! what follows from that.
//!
//! The picture is the narration's own account of which object is where (`Expected`), checked
//! after every step against the counts that [`Pool::snapshot`] reports, and every object a
//! step takes or drops is checked with `assert!`. The order is Go's order on one thread
//! (`docs/guarantees.md` G5); with several threads it is the current implementation's, which
//! the asserts pin down so that a change is noticed and the narration updated. The snapshot is
//! a diagnostic API, for teaching and debugging, never for control flow.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;
use std::thread;

use gcpool::Pool;

/// A pooled object that announces its own drop, so the output shows what each `collect()`
/// dropped and on which thread.
struct Obj {
    id: usize,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
/// The ids dropped so far, in order.
static DROPPED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

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
        DROPPED.lock().unwrap().push(self.id);
        let me = thread::current();
        println!(
            "      drop #{} (on thread {})",
            self.id,
            me.name().unwrap_or("?")
        );
    }
}

/// The pool under study. A `static`, so every thread can use it; `join` waits for a thread's
/// exit, including the hand-over of its private object.
static POOL: Pool<Obj> = Pool::new(Obj::make);

/// One shard as the narration expects it.
#[derive(Default)]
struct Lists {
    /// The private objects of the threads homed at this shard, by thread.
    private: BTreeMap<&'static str, usize>,
    /// The primary list, oldest first (its back is the newest end).
    primary: VecDeque<usize>,
    /// The victim list, front first (a victim search takes from the front).
    victim: VecDeque<usize>,
}

/// Where the narration expects every object to be, and each named thread's home shard.
struct Expected {
    shards: BTreeMap<usize, Lists>,
    homes: BTreeMap<&'static str, usize>,
    /// The named threads that have exited.
    exited: Vec<&'static str>,
}

static EXPECTED: Mutex<Expected> = Mutex::new(Expected {
    shards: BTreeMap::new(),
    homes: BTreeMap::new(),
    exited: Vec::new(),
});

/// Runs `f` on the expected picture.
fn expect<R>(f: impl FnOnce(&mut Expected) -> R) -> R {
    f(&mut EXPECTED.lock().unwrap())
}

impl Expected {
    fn shard(&mut self, shard: usize) -> &mut Lists {
        self.shards.entry(shard).or_default()
    }

    fn home_of(&mut self, thread: &'static str) -> &mut Lists {
        let home = self.homes[thread];
        self.shard(home)
    }

    /// What `collect()` does to each shard: the private objects homed there go to the front of
    /// the new victim (the highest slot's first: only one is ever full here), the primary list
    /// becomes the victim, and the old victim is returned, to be dropped.
    fn collect(&mut self) -> Vec<usize> {
        let mut dying = Vec::new();
        for lists in self.shards.values_mut() {
            dying.extend(lists.victim.drain(..));
            lists.victim = std::mem::take(&mut lists.primary);
            for (_, id) in std::mem::take(&mut lists.private) {
                lists.victim.push_front(id);
            }
        }
        dying
    }
}

/// The calling thread's home shard, as the snapshot reports it; remembered under `name`.
fn learn_home(name: &'static str) -> usize {
    let snap = POOL.snapshot();
    let homes: Vec<usize> = snap
        .shards
        .iter()
        .filter(|s| s.home)
        .map(|s| s.shard)
        .collect();
    assert_eq!(homes.len(), 1, "a thread has exactly one home shard");
    assert!(
        snap.own_private.is_some(),
        "the first threads of a process own a private slot"
    );
    expect(|e| e.homes.insert(name, homes[0]));
    homes[0]
}

fn ids(list: impl IntoIterator<Item = usize>) -> String {
    let ids: Vec<String> = list.into_iter().map(|id| format!("#{id}")).collect();
    format!("[{}]", ids.join(" "))
}

/// Prints the expected picture, as seen from thread `me`, and checks it against the snapshot.
fn show(me: &'static str, title: &str) {
    let snap = POOL.snapshot();
    let e = EXPECTED.lock().unwrap();
    println!("   state after {title}:");
    let mut quiet = 0;
    for s in &snap.shards {
        let lists = e.shards.get(&s.shard);
        let homed: Vec<String> = e
            .homes
            .iter()
            .filter(|&(_, &h)| h == s.shard)
            .map(|(name, _)| match e.exited.contains(name) {
                true => format!("{name} (exited)"),
                false => name.to_string(),
            })
            .collect();
        let (private, primary, victim) = match lists {
            Some(l) => (
                l.private
                    .iter()
                    .map(|(t, id)| format!("{t}: #{id}"))
                    .collect(),
                l.primary.iter().copied().collect(),
                l.victim.iter().copied().collect(),
            ),
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        assert_eq!(
            (s.private, s.shared, s.victim),
            (private.len(), primary.len(), victim.len()),
            "shard {}: the pool does not hold what the narration says: update it",
            s.shard
        );
        if homed.is_empty() && private.is_empty() && primary.is_empty() && victim.is_empty() {
            quiet += 1;
            continue;
        }
        let home = if homed.is_empty() {
            String::new()
        } else {
            format!(" (home of {})", homed.join(", "))
        };
        println!(
            "     shard {}{home}: private {{{}}}  primary {} (oldest first)  victim {} (front first)",
            s.shard,
            private.join(", "),
            ids(primary),
            ids(victim),
        );
    }
    if quiet > 0 {
        println!("     ({quiet} other shard(s), all empty)");
    }
    let own = e
        .homes
        .get(me)
        .and_then(|h| e.shards.get(h)?.private.get(me));
    assert_eq!(snap.own_private, Some(own.is_some()), "{me}'s private slot");
    match own {
        Some(id) => println!("     {me}'s private slot: #{id}"),
        None => println!("     {me}'s private slot: empty"),
    }
    let s = POOL.stats();
    println!(
        "     primary {} | victim {} || created {} hits {} (victim {}) puts {} collections {} collected {} retained {}",
        snap.primary, snap.victim, s.created, s.hits, s.victim_hits, s.puts, s.collections,
        s.collected, s.retained
    );
}

fn step(n: u32, what: &str) {
    println!("\n{n}. {what}");
}

/// Takes an object and checks that it is `want` (`None`: a miss, so the factory runs).
fn take(who: &str, want: Option<usize>) -> Obj {
    let victim_hits = POOL.stats().victim_hits;
    let made = NEXT_ID.load(SeqCst);
    let obj = POOL.take();
    let from_victim = POOL.stats().victim_hits > victim_hits;
    println!(
        "   {who} took #{}{}",
        obj.id,
        if from_victim { " (a victim hit)" } else { "" }
    );
    match want {
        Some(id) => assert_eq!(
            obj.id, id,
            "{who} took another object: update the narration"
        ),
        None => assert_eq!(obj.id, made, "{who} expected a miss: update the narration"),
    }
    obj
}

fn put(who: &str, obj: Obj) {
    println!("   {who} puts #{}", obj.id);
    POOL.put(obj);
}

/// `collect()` on the calling thread, checking that it dropped exactly `want` (any order).
fn collect(want: &[usize]) {
    let expected_dying = expect(Expected::collect);
    let before = DROPPED.lock().unwrap().len();
    let primary = POOL.snapshot().primary;
    POOL.collect();
    let mut dropped = DROPPED.lock().unwrap()[before..].to_vec();
    println!(
        "   collect() dropped {} (the old victim) and moved {primary} object(s) from the primary to the victim",
        ids(dropped.iter().copied())
    );
    dropped.sort_unstable();
    let mut expected_dying = expected_dying;
    expected_dying.sort_unstable();
    assert_eq!(dropped, want, "the collect dropped other objects");
    assert_eq!(expected_dying, want, "the narration's picture disagrees");
}

fn main() {
    println!(
        "Go's sync.Pool, step by step, in gcpool. Each thread slot has a private slot per pool"
    );
    println!(
        "(Go's poolLocal.private); each CPU a shard: a primary and a victim list under a short"
    );
    println!("lock (Go's poolLocal.shared, of both generations). Objects are #1, #2, ...");

    step(
        1,
        "main takes four objects from the empty pool: four misses, the factory runs",
    );
    let o1 = take("main", None);
    let o2 = take("main", None);
    let o3 = take("main", None);
    let o4 = take("main", None);
    let main_home = learn_home("main");
    println!("   main's home shard is shard {main_home}");
    show("main", "four misses");

    step(2, "main puts #1, #2, #3: the first fills its private slot, the rest go to its home shard (Go's Put)");
    put("main", o1);
    put("main", o2);
    put("main", o3);
    expect(|e| {
        e.home_of("main").private.insert("main", 1);
        e.home_of("main").primary.extend([2, 3]);
    });
    show("main", "three puts");

    step(3, "thread B takes twice, then tries a third time while main still holds #1 in its private slot");
    let b = thread::Builder::new()
        .name("B".into())
        .spawn(move || {
            let b_home = learn_home("B");
            // B's private slot is empty; then its home shard, newest first; then the other
            // shards, one pass, oldest first (Go's popHead, then getSlow's popTail).
            let (x, y) = if b_home == main_home {
                println!("   B's home shard is main's (shard {b_home}: one shard on this machine), so B");
                println!("   takes from it as its owner does, newest first");
                (3, 2)
            } else {
                println!("   B's home shard is shard {b_home}, which is empty; B steals from main's shard");
                println!("   (shard {main_home}) from its oldest end, as Go's getSlow does (popTail)");
                (2, 3)
            };
            let x = take("B", Some(x));
            let y = take("B", Some(y));
            expect(|e| e.home_of("main").primary.clear());
            println!("   B tries again: the primary holds #1 only in main's private slot, which no other");
            println!("   thread ever takes (as in Go); the victim is empty; so try_take() finds nothing");
            assert!(POOL.try_take().is_none(), "B took main's private object");
            show("B", "B's takes");
            println!("   B puts both back: #{} into its private slot, #{} into its home shard", x.id, y.id);
            let (xid, yid) = (x.id, y.id);
            put("B", x);
            put("B", y);
            expect(|e| {
                e.home_of("B").private.insert("B", xid);
                e.home_of("B").primary.push_back(yid);
            });
            show("B", "B's puts");
            println!("   B exits: its exit hands #{xid} from its private slot to its home shard (newest end)");
            expect(|e| {
                e.home_of("B").private.remove("B");
                e.home_of("B").primary.push_back(xid);
            });
            (xid, yid)
        })
        .unwrap();
    let (bx, by) = b.join().unwrap();
    expect(|e| e.exited.push("B"));
    show(
        "main",
        "B exited: what it held is in its shard, where any thread finds it",
    );

    step(
        4,
        "main puts #4: its private slot still holds #1, so #4 goes to its home shard",
    );
    put("main", o4);
    expect(|e| e.home_of("main").primary.push_back(4));
    show("main", "the put");

    step(
        5,
        "collect(): the first cycle. Each shard's primary list becomes its victim list, and each",
    );
    println!("   private object that its owner has not claimed goes to the front of its home shard's victim");
    println!("   (Go: poolCleanup, world stopped, `victim = local`; here one barrier lets collect take every");
    println!(
        "   private object, and one short lock per shard swaps its lists, while other threads run)"
    );
    collect(&[]);
    show("main", "the first collect");

    step(6, "main takes: its private slot (the collect took #1: main's claim finds the slot retired and");
    println!("   settles under the collectors' lock), then every shard's primary, all empty; then the victim,");
    println!("   home shard first, whose front holds main's private object of the last generation");
    let o = take("main", Some(1));
    expect(|e| e.home_of("main").victim.pop_front());
    println!(
        "   main puts it back: a put never writes the victim, so #1 returns to the primary, into"
    );
    println!("   main's private slot, empty again");
    put("main", o);
    expect(|e| e.home_of("main").private.insert("main", 1));
    show("main", "the victim hit and the put");

    step(
        7,
        "collect(): the second cycle drops the three objects nobody asked for, on this thread,",
    );
    println!("   after releasing every lock and before it returns; #1 moves to the victim");
    let mut nobody = vec![4, bx, by];
    nobody.sort_unstable();
    collect(&nobody);
    show("main", "the second collect");

    step(8, "thread C starts: slots are reused smallest first, so it gets the slot B left, and B's home");
    let c = thread::Builder::new()
        .name("C".into())
        .spawn(move || {
            let c_home = learn_home("C");
            let b_home = expect(|e| e.homes["B"]);
            assert_eq!(c_home, b_home, "C did not reuse B's slot: update the narration");
            println!("   C's home shard is shard {c_home}. Its private slot and every primary list are empty,");
            println!("   so C finds #1 in the victim (home shard first, then the others)");
            let x = take("C", Some(1));
            expect(|e| e.home_of("main").victim.pop_front());
            println!("   C puts #1 into its private slot and exits without taking it back");
            put("C", x);
            expect(|e| e.home_of("C").private.insert("C", 1));
            show("C", "C's put");
            expect(|e| {
                e.home_of("C").private.remove("C");
                e.home_of("C").primary.push_back(1);
            });
        })
        .unwrap();
    c.join().unwrap();
    expect(|e| e.exited.push("C"));
    show("main", "C exited: its exit handed #1 to its home shard");

    step(
        9,
        "two more collect()s with nobody asking: #1 ages into the victim, then is dropped",
    );
    collect(&[]);
    show("main", "the third collect");
    collect(&[1]);
    show("main", "the fourth collect");

    let stats = POOL.stats();
    let created = NEXT_ID.load(SeqCst) - 1;
    let mut dropped = DROPPED.lock().unwrap().clone();
    println!(
        "\nEvery object made was dropped exactly once: created {created}, dropped {}, retained {}.",
        ids(dropped.iter().copied()),
        stats.retained
    );
    dropped.sort_unstable();
    assert_eq!(dropped, (1..=created).collect::<Vec<_>>());
    assert_eq!((created, stats.created, stats.retained), (4, 4, 0));
}
