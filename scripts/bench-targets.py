#!/usr/bin/env python3
"""Issue 5's targets, judged over several benchmark runs rather than one.

The host is shared and noisy, so one `cargo bench` decides nothing: a target is judged by the
median, over runs, of a ratio taken *within* each run (both sides measured minutes apart at
most). This script keeps each run's Criterion medians and side figures in a small JSON file and
computes every target from those files, so the Targets table of docs/benchmarks.md is generated
from committed data, not typed.

  # after a `cargo bench -p gcpool-benches` of some or all of the six groups:
  python3 scripts/bench-targets.py --archive docs/bench-runs/NAME.json [--groups hot,...]
  # the Targets table from every archived run (stdout, or between the markers of the doc):
  python3 scripts/bench-targets.py --targets docs/bench-runs/*.json [--update-doc docs/benchmarks.md]

`--archive` takes the results that `scripts/bench-chart.py` would tabulate (the same staleness
window), with the commit and the time. `--targets` skips a target in a run that lacks its
group.
"""
import argparse
import datetime
import importlib.util
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
_spec = importlib.util.spec_from_file_location("bench_chart", os.path.join(HERE, "bench-chart.py"))
chart = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chart)

BEGIN, END = "<!-- bench-targets:begin -->", "<!-- bench-targets:end -->"
HOT_CLOCKS = ("1t", "1t_cpu", "1t_spawned_cpu")


def archive(path, groups, window):
    rows = chart.load(ROOT, groups, window)
    if not rows:
        sys.exit("no Criterion results under target/criterion: run `cargo bench -p gcpool-benches` first")
    side = {}
    for group in sorted({r["group"] for r in rows} | ({"expensive_new"} & groups)):
        p = os.path.join(ROOT, "target", "gcpool-bench", f"{group}.json")
        if os.path.exists(p):
            with open(p) as f:
                side[group] = json.load(f)
    commit = subprocess.run(
        ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    newest = max(r["mtime"] for r in rows)
    run = {
        "commit": commit,
        "finished": datetime.datetime.fromtimestamp(newest, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "medians_ns": {f"{r['group']}/{r['function']}/{r['value']}": r["median"] for r in rows},
        "side": side,
    }
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(run, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {path}: {len(rows)} medians, side figures of {sorted(side)}", file=sys.stderr)


def peers(run, group, value):
    """Medians of the peers (not gcpool, not a baseline, not a control) under `value`."""
    out = {}
    for key, ns in run["medians_ns"].items():
        g, fn, v = key.split("/", 2)
        if g == group and v == value and chart.kind(fn, g) == "peer":
            out[fn] = ns
    return out


def m(run, key):
    return run["medians_ns"].get(key)


def side(run, group, name):
    d = run["side"].get(group, {}).get(name)
    return None if d is None else d["value"]


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


# Each target: (name, threshold text, list of (label, function(run) -> value or None, ok(value))).
def best_peer_over(run, subject, value, group="hot"):
    p = peers(run, group, value)
    return ratio(min(p.values()), m(run, f"{group}/{subject}/{value}")) if p else None


TARGETS = [
    (
        "`hot` 1 thread: faster than every peer",
        "fastest peer / gcpool > 1",
        [
            (f"`get()`, {c}", lambda r, c=c: best_peer_over(r, "gcpool_get", c), lambda x: x > 1)
            for c in HOT_CLOCKS
        ]
        + [
            (f"`take`/`put`, {c}", lambda r, c=c: best_peer_over(r, "gcpool_take_put", c), lambda x: x > 1)
            for c in HOT_CLOCKS
        ],
    ),
    (
        "`hot` 2 threads: per-op CPU time within 1.2× of 1 thread",
        "2-thread / 1-thread ≤ 1.2",
        [
            (
                "`get()`, the slower thread's CPU time per op",
                lambda r: ratio(m(r, "hot/gcpool_get/2t_cpu"), m(r, "hot/gcpool_get/1t_cpu")),
                lambda x: x <= 1.2,
            ),
            (
                "`take`/`put`, the slower thread's",
                lambda r: ratio(m(r, "hot/gcpool_take_put/2t_cpu"), m(r, "hot/gcpool_take_put/1t_cpu")),
                lambda x: x <= 1.2,
            ),
            (
                "`get()`, CPU time per op over both threads (`2t_cpu_mean / 1t_cpu`)",
                lambda r: ratio(m(r, "hot/gcpool_get/2t_cpu_mean"), m(r, "hot/gcpool_get/1t_cpu")),
                lambda x: x <= 1.2,
            ),
            (
                "`take`/`put`, CPU time per op over both threads",
                lambda r: ratio(m(r, "hot/gcpool_take_put/2t_cpu_mean"), m(r, "hot/gcpool_take_put/1t_cpu")),
                lambda x: x <= 1.2,
            ),
            (
                "`get()` over the machine control's own ratio (what gcpool adds to the host's effect)",
                lambda r: ratio(
                    ratio(m(r, "hot/gcpool_get/2t_cpu"), m(r, "hot/gcpool_get/1t_cpu")),
                    ratio(m(r, "hot/machine_control_alu/2t_cpu"), m(r, "hot/machine_control_alu/1t_cpu")),
                ),
                lambda x: x <= 1.2,
            ),
            (
                "machine control (not a target: what the host does to any code)",
                lambda r: ratio(m(r, "hot/machine_control_alu/2t_cpu"), m(r, "hot/machine_control_alu/1t_cpu")),
                None,
            ),
        ],
    ),
    (
        "`hot` 2 threads: faster than every peer",
        "fastest peer / gcpool > 1",
        [
            (f"`get()`, {c}", lambda r, c=c: best_peer_over(r, "gcpool_get", c), lambda x: x > 1)
            for c in ("2t_cpu", "2t_wall")
        ],
    ),
    (
        "≥ 5× faster than a fresh 4 KiB `Vec`",
        "`Vec::with_capacity(4096)` / `get()` ≥ 5",
        [
            (
                f"{c}",
                lambda r, c=c: ratio(m(r, f"hot/fresh_vec_with_capacity/{c}"), m(r, f"hot/gcpool_get/{c}")),
                lambda x: x >= 5,
            )
            for c in HOT_CLOCKS + ("2t_cpu",)
        ],
    ),
    (
        "`producer_consumer`: at least as fast as `ArrayQueue`",
        "gcpool / `ArrayQueue` ≤ 1",
        [
            (
                f"{label}, {c}",
                lambda r, s=s, c=c: ratio(
                    m(r, f"producer_consumer/{s}/{c}"), m(r, f"producer_consumer/crossbeam_arrayqueue/{c}")
                ),
                lambda x: x <= 1,
            )
            for s, label in (("gcpool_take_put", "`take`/`put`"), ("gcpool_get", "`get()`"))
            for c in ("2t_cpu_pool", "2t_wall")
        ],
    ),
    (
        "`collect`: the visible part independent of the object count",
        "100k / 1k ≤ 2",
        [
            (
                "cold cache (the control)",
                lambda r: ratio(m(r, "collect/visible_cold_cache/100k"), m(r, "collect/visible_cold_cache/1k")),
                lambda x: x <= 2,
            ),
            (
                "raw",
                lambda r: ratio(m(r, "collect/visible/100k"), m(r, "collect/visible/1k")),
                lambda x: x <= 2,
            ),
        ],
    ),
    (
        "`collect`: no get/put waits on a drop",
        "round trip beside 100k-object collections / idle ≤ 1.2; ops over 100 µs no more than idle + 2",
        [
            (
                "CPU time per round trip",
                lambda r: ratio(m(r, "collect/get_put_during_cpu/100k"), m(r, "collect/get_put_during_cpu/idle")),
                lambda x: x <= 1.2,
            ),
            (
                "ops over 100 µs beside collections, minus idle",
                lambda r: (
                    None
                    if side(r, "collect", "get_put_during/100k: ops over 100 µs") is None
                    else side(r, "collect", "get_put_during/100k: ops over 100 µs")
                    - side(r, "collect", "get_put_during/idle: ops over 100 µs")
                ),
                lambda x: x <= 2,
            ),
        ],
    ),
    (
        "`expensive_new`: factory calls ≤ 10% of a pool without a victim",
        "victim / no-victim factory calls ≤ 0.1",
        [
            (
                f"{k}",
                lambda r, k=k: side(r, "expensive_new", f"{k}: victim / no-victim factory calls"),
                lambda x: x <= 0.1,
            )
            for k in ("every 10 rounds", "every 50 rounds", "every 10 ms")
        ],
    ),
]


def fmt(x):
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) >= 1):
        return f"{x:.0f}"
    return f"{x:.2f}" if abs(x) >= 0.1 else f"{x:.3f}"


def targets(paths):
    runs = []
    for p in sorted(paths):
        with open(p) as f:
            runs.append(json.load(f))
    commits = sorted({r["commit"] for r in runs})
    out = [
        f"Computed by `scripts/bench-targets.py --targets` from {len(runs)} archived run{'s' if len(runs) > 1 else ''} "
        f"(`docs/bench-runs/`, commits {', '.join(f'`{c}`' for c in commits)}, "
        f"{min(r['finished'] for r in runs)} to {max(r['finished'] for r in runs)}). "
        "Each value is a ratio taken within one run; the median is over the runs that measured it.\n",
        "| target | measure | per run | median | runs meeting it | verdict |",
        "|---|---|---|---:|---:|---|",
    ]
    for name, threshold, measures in TARGETS:
        first = True
        for label, f, ok in measures:
            vals = [v for v in (f(r) for r in runs) if v is not None]
            if not vals:
                continue
            med = statistics.median(vals)
            if ok is None:
                met, verdict = "–", "control"
            else:
                met = f"{sum(1 for v in vals if ok(v))} of {len(vals)}"
                verdict = "**met**" if ok(med) else "**missed**"
            head = f"{name} ({threshold})" if first else ""
            first = False
            out.append(f"| {head} | {label} | {', '.join(fmt(v) for v in vals)} | {fmt(med)} | {met} | {verdict} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archive", metavar="JSON", help="save the current Criterion results as one run")
    ap.add_argument("--groups", default=",".join(chart.GROUP_ORDER), help="groups to archive")
    ap.add_argument("--window", type=float, default=900, help="as in bench-chart.py")
    ap.add_argument("--targets", nargs="+", metavar="JSON", help="archived runs to judge the targets over")
    ap.add_argument("--update-doc", metavar="MD", help="write the table between the bench-targets markers")
    args = ap.parse_args()
    if args.archive:
        archive(args.archive, set(args.groups.split(",")), args.window)
    if args.targets:
        table = targets(args.targets)
        if args.update_doc:
            chart.update_doc(args.update_doc, table, BEGIN, END)
        else:
            sys.stdout.write(table)


if __name__ == "__main__":
    main()
