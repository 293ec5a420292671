#!/usr/bin/env python3
"""Issue 16's scale targets, judged from JSON files written by `benches/scale.rs --json`.

    python3 scripts/scale-targets.py BEFORE.json AFTER.json [MORE_AFTER.json ...] [--update-doc MD]

BEFORE is a run of the old core, AFTER (and any further files, e.g. a 20-run livelock pass) runs
of the current one; a case found in several AFTER files is taken from the last. Prints a
markdown table (figure, target, before, after, ArrayQueue in the after run, met?) or writes it
into MD between the `<!-- scale-targets:begin -->` and `<!-- scale-targets:end -->` markers.
No figure is typed by hand.
"""
import argparse
import json
import re


def load(path):
    with open(path) as f:
        return json.load(f)


def index(files):
    """(scenario, kind, case, impl) -> result, later files winning."""
    out = {}
    for data in files:
        for r in data.get("results", []):
            out[(r["scenario"], r["kind"], r["case"], r["impl"])] = r
    return out


def med(ix, scenario, kind, case, impl, key):
    r = ix.get((scenario, kind, case, impl))
    if r is None or key not in r.get("median", {}):
        return None
    return r["median"][key]


def stuck(ix, scenario, kind, case, impl="gcpool"):
    r = ix.get((scenario, kind, case, impl))
    return None if r is None else (r["stuck"] + r["failed"], r["runs"])


def f(v, unit=""):
    if v is None:
        return "–"
    if isinstance(v, tuple):
        return f"{v[0]} of {v[1]}"
    if abs(v) >= 100 or v == int(v):
        return f"{v:,.0f}{unit}"
    return f"{v:.3g}{unit}"


def rows(before, after):
    b, a = index(before), index(after)
    out = []

    def add(label, target, get, ok, unit=""):
        vb, va = get(b, "gcpool"), get(a, "gcpool")
        aq = get(a, "arrayqueue")
        met = "–" if va is None else ("yes" if ok(va) else "no")
        out.append((label, target, f(vb, unit), f(va, unit), f(aq, unit), met))

    for case in ["1000 parked threads", "300 parked threads"]:
        add(f"herd, {case}: stuck runs", "0", lambda ix, i, c=case: stuck(ix, "herd", "herd", c, i),
            lambda v: v[0] == 0)
    for case in ["1000 threads × 1000 ops, loop 1 ms", "1000 threads × 1000 ops, Collector 1 ms"]:
        add(f"collector, {case}: stuck runs", "0",
            lambda ix, i, c=case: stuck(ix, "collector", "collector", c, i), lambda v: v[0] == 0)

    def miss_ratio(ix, i):
        m0 = med(ix, "miss", "miss", "0 idle threads", i, "try_take_ns")
        m1 = med(ix, "miss", "miss", "1000 idle threads", i, "try_take_ns")
        return None if m0 is None or m1 is None else m1 / m0

    add("miss (`try_take`, empty pool): 1,000 idle threads / none", "≤ 3", miss_ratio, lambda v: v <= 3, "×")
    add("miss with 1,000 idle threads", "–",
        lambda ix, i: med(ix, "miss", "miss", "1000 idle threads", i, "try_take_ns"), lambda v: True, " ns")
    for case in ["ring", "threadpool", "nested", "prodcons"]:
        add(f"barriers per 1,000 gets, {case}", "≤ 1",
            lambda ix, i, c=case: med(ix, "barriers", "barriers", c, i, "per_1000_gets"), lambda v: v <= 1)
    mem = "10000 pools × 64 threads"
    def mib(v):
        return None if v is None else v / 2**20

    add("memory, 10,000 pools × 64 threads, threads alive (MiB, objects' own bytes excluded)", "≤ 16",
        lambda ix, i: mib(med(ix, "memory", "memory-pools", mem, i, "pool_bytes_live")), lambda v: v <= 16)
    add("the same after the threads exit and two collections (MiB)", "objects' own (0)",
        lambda ix, i: mib(med(ix, "memory", "memory-pools", mem, i, "pool_bytes_collected")),
        lambda v: v <= 0.5)
    big = "4000000 puts, thread exits"
    add("4M puts by a thread that exits, then two collections (MiB)", "freed",
        lambda ix, i: mib(med(ix, "memory", "memory-bigput", big, i, "bytes_c2")), lambda v: v <= 0.5)
    for case, old in [("10000 pools, idle", "10000 pools"), ("10000 pools, one object each", None)]:
        def get(ix, i, key, c=case, o=old):
            v = med(ix, "collect", "collect-all", c, i, key)
            return v if v is not None or o is None else med(ix, "collect", "collect-all", o, i, key)
        add(f"`collect_all`, {case}: ms", "≤ 2", lambda ix, i, g=get: g(ix, i, "ms"), lambda v: v <= 2)
        add(f"`collect_all`, {case}: barriers per call", "≤ 1",
            lambda ix, i, g=get: g(ix, i, "barriers_per_call"), lambda v: v <= 1)
        add(f"`collect_all`, {case}: allocations per call", "0",
            lambda ix, i, g=get: g(ix, i, "allocs_per_call"), lambda v: v == 0)
    add("dropping 30,000 pools: ns per pool", "O(1) per pool",
        lambda ix, i: med(ix, "collect", "collect-drop", "30000 pools", i, "ns_per_pool"), lambda v: v < 1000, " ns")
    for mode in ["get", "takeput"]:
        add(f"T=1000 threads on one pool, {mode}: CPU ns per op", "–",
            lambda ix, i, m=mode: med(ix, "threads", "threads", f"T=1000 {m}", i, "cpu_ns_per_op"),
            lambda v: True)
    return out


def table(before, after, names):
    lines = [
        f"| figure | target | before ({names[0]}) | after ({names[1]}) | ArrayQueue (after run) | met |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in rows(before, after):
        lines.append("| " + " | ".join(r) + " |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after", nargs="+")
    ap.add_argument("--update-doc", metavar="MD")
    args = ap.parse_args()
    before = [load(args.before)]
    after = [load(p) for p in args.after]
    name = lambda d: d.get("machine", {}).get("core_commit") or d.get("machine", {}).get("commit", "?")
    text = table(before, after, (name(before[0]), name(after[0])))
    if not args.update_doc:
        print(text, end="")
        return
    doc = open(args.update_doc).read()
    pat = re.compile(r"(<!-- scale-targets:begin -->\n).*?(<!-- scale-targets:end -->)", re.S)
    if not pat.search(doc):
        raise SystemExit(f"scale-targets: no markers in {args.update_doc}")
    open(args.update_doc, "w").write(pat.sub(lambda m: m.group(1) + text + m.group(2), doc))


if __name__ == "__main__":
    main()
