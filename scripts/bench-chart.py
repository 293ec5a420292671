#!/usr/bin/env python3
"""Turn Criterion's output into the tables and the chart of docs/benchmarks.md.

Reads every `target/criterion/**/new/estimates.json` (with the `benchmark.json` beside it) and
the side figures the benches write to `target/gcpool-bench/*.json`, then

  * writes `docs/img/benchmarks.svg`: one panel per (group, parameter), a horizontal bar per
    subject at its median, gcpool highlighted, baselines grey (SVG written by hand: python3's
    standard library only);
  * with `--markdown` (stdout) or `--update-doc docs/benchmarks.md` (between the
    `<!-- bench-tables:begin -->` / `<!-- bench-tables:end -->` markers), one markdown table per group: median per parameter and the ratio
    to the fastest baseline measured under the same parameter (baselines are the no-pool and
    free-list rows listed in BASELINES).

Usage: python3 scripts/bench-chart.py [--markdown] [--update-doc MD] [--root DIR] [--out FILE]
"""
import argparse
import glob
import html
import json
import os
import sys

BASELINES = {
    "std_tls_freelist",
    "std_tls_freelist_const",
    "thread_local_freelist",
    "fresh_vec_with_capacity",
    "fresh_vec_zeroed",
}
# Not pools: measurements of the machine itself (see benches/hot.rs), kept out of the floor.
CONTROLS = {"machine_control_alu"}
# The fastest shared queue; issue 5's `hot` and `producer_consumer` targets are stated against it.
REFERENCE_PEER = "crossbeam_arrayqueue"
GROUP_ORDER = ["hot", "overflow", "starvation", "producer_consumer", "collect", "expensive_new"]


def load(root, groups, window_s):
    """Criterion results of `groups`, without stale ones: Criterion never deletes a benchmark's
    directory, so a result more than `window_s` older than the newest of its group comes from an
    earlier run (or a renamed benchmark) and would break "measured in the same run"."""
    rows = []
    pattern = os.path.join(root, "target", "criterion", "**", "new", "estimates.json")
    for est_path in glob.glob(pattern, recursive=True):
        bench_path = os.path.join(os.path.dirname(est_path), "benchmark.json")
        if not os.path.exists(bench_path):
            continue
        with open(est_path) as f:
            est = json.load(f)
        with open(bench_path) as f:
            meta = json.load(f)
        med = est["median"]
        if meta["group_id"] not in groups:
            continue
        rows.append(
            {
                "group": meta["group_id"],
                "function": meta.get("function_id") or "",
                "value": meta.get("value_str") or "",
                "median": med["point_estimate"],
                "lo": med["confidence_interval"]["lower_bound"],
                "hi": med["confidence_interval"]["upper_bound"],
                "mtime": os.path.getmtime(est_path),
            }
        )
    newest = {}
    for r in rows:
        newest[r["group"]] = max(newest.get(r["group"], 0), r["mtime"])
    fresh = [r for r in rows if r["mtime"] >= newest[r["group"]] - window_s]
    for r in rows:
        if r not in fresh:
            print(f"skipping stale {r['group']}/{r['function']}/{r['value']}", file=sys.stderr)
    return fresh


def group_key(g):
    return (GROUP_ORDER.index(g) if g in GROUP_ORDER else len(GROUP_ORDER), g)


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e4:
        return f"{ns / 1e3:.1f} µs"
    if ns >= 100:
        return f"{ns:.0f} ns"
    return f"{ns:.1f} ns"


def kind(function, group=""):
    if function.startswith("gcpool") or group == "collect":
        return "gcpool"
    if function in BASELINES:
        return "baseline"
    if function in CONTROLS:
        return "control"
    return "peer"


def panels(rows):
    """{(group, value): [row, ...]} in display order."""
    out = {}
    for r in rows:
        out.setdefault((r["group"], r["value"]), []).append(r)
    return dict(sorted(out.items(), key=lambda kv: (group_key(kv[0][0]), kv[0][1])))


def markdown(rows, root):
    out = []
    print = lambda *a: out.append(" ".join(str(x) for x in a))  # noqa: E731 (collect lines)
    by_group = {}
    for r in rows:
        by_group.setdefault(r["group"], []).append(r)
    for group in sorted(by_group, key=group_key):
        rs = by_group[group]
        values = sorted({r["value"] for r in rs})
        floor = {}
        for v in values:
            base = [r["median"] for r in rs if r["value"] == v and kind(r["function"], group) == "baseline"]
            floor[v] = min(base) if base else None
        functions = sorted(
            {r["function"] for r in rs},
            key=lambda f: ({"gcpool": 0, "baseline": 1, "peer": 2, "control": 3}[kind(f, group)], f),
        )
        cell = {(r["function"], r["value"]): r for r in rs}
        ref = {v: cell[(REFERENCE_PEER, v)]["median"] for v in values if (REFERENCE_PEER, v) in cell}
        print(f"\n#### `{group}`\n")
        head = "| subject | kind |"
        sep = "|---|---|"
        for v in values:
            head += f" {v} median |" + (" × floor |" if floor[v] else "") + (" × AQ |" if v in ref else "")
            sep += "---:|" + ("---:|" if floor[v] else "") + ("---:|" if v in ref else "")
        print(head)
        print(sep)
        for fn in functions:
            line = f"| {fn} | {kind(fn, group)} |"
            for v in values:
                r = cell.get((fn, v))
                if r is None:
                    line += " – |" + (" – |" if floor[v] else "") + (" – |" if v in ref else "")
                    continue
                line += f" {fmt_time(r['median'])} |"
                if floor[v]:
                    line += f" {r['median'] / floor[v]:.2f} |"
                if v in ref:
                    line += f" {r['median'] / ref[v]:.2f} |"
            print(line)
        if group == "hot":
            scaling(print, functions, cell)
    side_dir = os.path.join(root, "target", "gcpool-bench")
    for group in sorted(by_group, key=group_key) + ["expensive_new"]:
        path = os.path.join(side_dir, f"{group}.json")
        if not os.path.exists(path) or (group == "expensive_new" and group in by_group):
            continue
        with open(path) as f:
            side = json.load(f)
        print(f"\n#### side figures: `{os.path.basename(path)[:-5]}`\n")
        print("| figure | value | unit |\n|---|---:|---|")
        for name, d in side.items():
            v = d["value"]
            print(f"| {name} | {'–' if v is None else f'{v:.4g}'} | {d['unit']} |")
    return "\n".join(out) + "\n"


def scaling(print, functions, cell):
    """Issue 5's 2-thread target: per-op CPU time with two threads over one thread, per subject
    (both clocks of the same run), next to the machine control's own ratio."""
    print("\n#### `hot` scaling: 2-thread CPU time per op over 1-thread\n")
    print("| subject | kind | 2t_cpu / 1t_cpu | 2t_cpu / 1t_spawned_cpu |")
    print("|---|---|---:|---:|")
    for fn in functions:
        two = cell.get((fn, "2t_cpu"))
        if two is None:
            continue
        ratios = []
        for one in ("1t_cpu", "1t_spawned_cpu"):
            r = cell.get((fn, one))
            ratios.append(f"{two['median'] / r['median']:.2f}" if r else "–")
        print(f"| {fn} | {kind(fn, 'hot')} | {ratios[0]} | {ratios[1]} |")


BEGIN, END = "<!-- bench-tables:begin -->", "<!-- bench-tables:end -->"


def update_doc(path, tables, begin=BEGIN, end=END):
    """Replaces the text between the `begin` and `end` markers of `path` with `tables`."""
    with open(path) as f:
        doc = f.read()
    if begin not in doc or end not in doc:
        sys.exit(f"{path}: markers {begin} / {end} not found")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + begin + "\n" + tables + end + tail)


COLORS = {"gcpool": "#d62728", "baseline": "#9e9e9e", "peer": "#1f77b4", "control": "#2ca02c"}


def svg(rows, out):
    ps = panels(rows)
    width, label_w, bar_w, row_h, top_pad = 900, 260, 520, 16, 28
    parts = []
    y = 40
    for (group, value), rs in ps.items():
        rs = sorted(rs, key=lambda r: r["median"])
        vmax = max(r["hi"] for r in rs) or 1.0
        parts.append(
            f'<text x="10" y="{y + 16}" font-size="14" font-weight="bold">'
            f"{html.escape(group)} / {html.escape(value)} (median per op, 95% CI)</text>"
        )
        y += top_pad
        for r in rs:
            w = max(1.0, bar_w * r["median"] / vmax)
            lo = label_w + bar_w * r["lo"] / vmax
            hi = label_w + bar_w * r["hi"] / vmax
            c = COLORS[kind(r["function"], group)]
            parts.append(
                f'<text x="{label_w - 6}" y="{y + 12}" font-size="11" text-anchor="end">'
                f'{html.escape(r["function"])}</text>'
            )
            parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row_h - 4}" fill="{c}"/>')
            parts.append(
                f'<line x1="{lo:.1f}" y1="{y + row_h / 2}" x2="{hi:.1f}" y2="{y + row_h / 2}" '
                f'stroke="black" stroke-width="1"/>'
            )
            parts.append(
                f'<text x="{max(label_w + w, hi) + 6:.1f}" y="{y + 12}" font-size="11">{fmt_time(r["median"])}</text>'
            )
            y += row_h
        y += 18
    legend = "".join(
        f'<rect x="{10 + i * 130}" y="10" width="12" height="12" fill="{c}"/>'
        f'<text x="{26 + i * 130}" y="21" font-size="12">{k}</text>'
        for i, (k, c) in enumerate(COLORS.items())
    )
    doc = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 10}" '
        f'font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n'
        + legend
        + "\n"
        + "\n".join(parts)
        + "\n</svg>\n"
    )
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(doc)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=os.path.dirname(here), help="crate root (holds target/)")
    ap.add_argument("--out", default=None, help="SVG path (default docs/img/benchmarks.svg)")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables to stdout")
    ap.add_argument("--update-doc", metavar="MD", help="rewrite the tables between the markers of MD")
    ap.add_argument(
        "--groups", default=",".join(GROUP_ORDER), help="comma-separated Criterion groups to include"
    )
    ap.add_argument(
        "--window", type=float, default=900, help="drop results older than the group's newest by this many seconds"
    )
    args = ap.parse_args()
    groups = set(args.groups.split(","))
    rows = load(args.root, groups, args.window)
    if not rows:
        sys.exit("no Criterion results under target/criterion: run `cargo bench -p gcpool-benches` first")
    out = args.out or os.path.join(args.root, "docs", "img", "benchmarks.svg")
    svg(rows, out)
    tables = markdown(rows, args.root)
    if args.markdown:
        sys.stdout.write(tables)
    if args.update_doc:
        update_doc(args.update_doc, tables)
    print(f"wrote {out} ({len(rows)} benchmarks)", file=sys.stderr)


if __name__ == "__main__":
    main()
