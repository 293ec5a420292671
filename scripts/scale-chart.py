#!/usr/bin/env python3
"""Turn one or two JSON files of `benches/scale.rs` (issue 16) into an SVG chart for docs/.

    python3 scripts/scale-chart.py BEFORE.json [AFTER.json] [--out docs/img/scale.svg] [--cpu]

Four panels, gcpool against the ArrayQueue baseline of the same run:
  * miss: median ns of `try_take` on an empty pool against idle registered threads (log scale);
  * threads: ns per get/drop against T threads on one pool (log-log; `--cpu` plots CPU ns per
    op instead of wall ns, steadier on a shared machine); a run with no successful repetition is
    marked "stuck" at the top;
  * barriers: membarrier calls per 1,000 gets in each pattern (bars);
  * livelock: stuck runs out of runs, `herd` and `collector` (bars).
With two files the first is drawn dashed/light ("before") and the second solid ("after").
The SVG is written by hand: python3's standard library only.
"""
import argparse
import html
import json
import math
import os
import sys

GC = "#d9480f"
AQ = "#495057"
W, H = 1000, 760
PANEL_W, PANEL_H = 500, 380
MARGIN = dict(left=70, right=20, top=50, bottom=70)


def load(path):
    with open(path) as f:
        data = json.load(f)
    m = data.get("machine", {})
    label = m.get("core_commit") or m.get("commit") or os.path.basename(path)
    return label, data


def results(data, scenario, kind=None):
    return [
        r
        for r in data.get("results", [])
        if r.get("scenario") == scenario and (kind is None or r.get("kind") == kind)
    ]


def esc(s):
    return html.escape(str(s), quote=True)


class Panel:
    """One chart area at (x0, y0) of the page; collects SVG elements."""

    def __init__(self, x0, y0, title, ylabel):
        self.x0, self.y0 = x0, y0
        self.out = []
        self.l = x0 + MARGIN["left"]
        self.r = x0 + PANEL_W - MARGIN["right"]
        self.t = y0 + MARGIN["top"]
        self.b = y0 + PANEL_H - MARGIN["bottom"]
        self.out.append(
            f'<text x="{x0 + PANEL_W / 2}" y="{y0 + 28}" text-anchor="middle" '
            f'font-weight="bold" font-size="14">{esc(title)}</text>'
        )
        self.out.append(
            f'<text transform="translate({x0 + 16},{(self.t + self.b) / 2}) rotate(-90)" '
            f'text-anchor="middle" font-size="12">{esc(ylabel)}</text>'
        )
        self.out.append(
            f'<rect x="{self.l}" y="{self.t}" width="{self.r - self.l}" '
            f'height="{self.b - self.t}" fill="none" stroke="#ced4da"/>'
        )

    def log_y(self, lo, hi):
        """A log y scale covering [lo, hi] in whole decades, with grid lines."""
        a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        if a == b:
            b += 1
        self.ymap = lambda v: self.b - (math.log10(v) - a) / (b - a) * (self.b - self.t)
        for d in range(a, b + 1):
            y = self.ymap(10**d)
            self.out.append(f'<line x1="{self.l}" x2="{self.r}" y1="{y}" y2="{y}" stroke="#f1f3f5"/>')
            self.out.append(
                f'<text x="{self.l - 6}" y="{y + 4}" text-anchor="end" font-size="11">{fmt(10**d)}</text>'
            )

    def lin_y(self, hi, ticks=5, fmt_tick=None):
        hi = nice_ceil(hi or 1)
        self.ymap = lambda v: self.b - v / hi * (self.b - self.t)
        for i in range(ticks + 1):
            v = hi * i / ticks
            y = self.ymap(v)
            self.out.append(f'<line x1="{self.l}" x2="{self.r}" y1="{y}" y2="{y}" stroke="#f1f3f5"/>')
            label = fmt_tick(v) if fmt_tick else fmt(v)
            self.out.append(
                f'<text x="{self.l - 6}" y="{y + 4}" text-anchor="end" font-size="11">{label}</text>'
            )

    def cat_x(self, cats, xlabel):
        n = len(cats)
        step = (self.r - self.l) / n
        self.xmap = {c: self.l + step * (i + 0.5) for i, c in enumerate(cats)}
        self.step = step
        for c in cats:
            self.out.append(
                f'<text x="{self.xmap[c]}" y="{self.b + 16}" text-anchor="middle" font-size="11">{esc(c)}</text>'
            )
        self.out.append(
            f'<text x="{(self.l + self.r) / 2}" y="{self.b + 36}" text-anchor="middle" font-size="12">{esc(xlabel)}</text>'
        )

    def line(self, pts, color, dashed, label_pos=None, label=None):
        pts = [(x, y) for x, y in pts if y is not None]
        if not pts:
            return
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        dash = ' stroke-dasharray="6,4" opacity="0.7"' if dashed else ""
        self.out.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for x, y in pts:
            self.out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')

    def text(self, x, y, s, color="#212529", anchor="middle", size=10):
        self.out.append(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{color}">{esc(s)}</text>'
        )

    def bar(self, x, w, v, color, dashed):
        y = self.ymap(v)
        style = f'fill="{color}" opacity="0.45"' if dashed else f'fill="{color}"'
        self.out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{self.b - y:.1f}" {style}/>')


def nice_ceil(v):
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 5 × 10^k that is ≥ v (so ticks at fifths/quarters are round)."""
    k = 10 ** math.floor(math.log10(v))
    return next(m * k for m in (1, 1.2, 1.5, 2, 2.5, 5, 10) if m * k >= v)


def fmt(v):
    if v is None:
        return "–"
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1e3:
        return f"{v / 1e3:.3g}k"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 1:
        return f"{v:.3g}"
    return f"{v:.2g}"


def series(files):
    """(label, data, dashed) per file, the first dashed when there are two."""
    return [(label, data, len(files) == 2 and i == 0) for i, (label, data) in enumerate(files)]


def panel_miss(files, x0, y0):
    p = Panel(x0, y0, "Miss: try_take on an empty pool", "ns per call (log)")
    cats, vals = [], []
    for _, data, _ in series(files):
        for r in results(data, "miss"):
            k = int(r["params"]["idle"])
            if k not in cats:
                cats.append(k)
            v = r["median"].get("try_take_ns")
            if v:
                vals.append(v)
    if not vals:
        p.text((p.l + p.r) / 2, (p.t + p.b) / 2, "no data")
        return p
    cats.sort()
    p.cat_x([str(c) for c in cats], "idle registered threads")
    p.log_y(min(vals), max(vals))
    for label, data, dashed in series(files):
        for imp, color in (("gcpool", GC), ("arrayqueue", AQ)):
            pts = []
            for c in cats:
                r = next((r for r in results(data, "miss") if r["impl"] == imp and int(r["params"]["idle"]) == c), None)
                v = r and r["median"].get("try_take_ns")
                pts.append((p.xmap[str(c)], p.ymap(v) if v else None))
            p.line(pts, color, dashed)
            last = [pt for pt in pts if pt[1] is not None]
            if last and imp == "gcpool":
                p.text(last[-1][0] - 6, last[-1][1] - 8, label, color, "end")
    return p


def panel_threads(files, x0, y0, cpu):
    key = "cpu_ns_per_op" if cpu else "ns_per_op"
    p = Panel(x0, y0, "T threads on one pool: get/drop", ("CPU " if cpu else "wall ") + "ns per op (log)")
    rows = [(l, d, dash, r) for l, d, dash in series(files) for r in results(d, "threads") if r["params"].get("mode") == "get"]
    cats = sorted({int(r["params"]["T"]) for *_, r in rows})
    vals = [r["median"].get(key) for *_, r in rows if r["median"].get(key)]
    if not vals:
        p.text((p.l + p.r) / 2, (p.t + p.b) / 2, "no data")
        return p
    p.cat_x([str(c) for c in cats], "threads T")
    p.log_y(min(vals), max(vals))
    for label, data, dashed in series(files):
        for imp, color in (("gcpool", GC), ("arrayqueue", AQ)):
            pts = []
            for c in cats:
                r = next(
                    (r for r in results(data, "threads") if r["impl"] == imp and r["params"].get("mode") == "get" and int(r["params"]["T"]) == c),
                    None,
                )
                v = r and r["median"].get(key)
                pts.append((p.xmap[str(c)], p.ymap(v) if v else None))
                if r and not v:
                    p.text(p.xmap[str(c)], p.t + 12, f"{label} {imp}: stuck {r['stuck']}/{r['runs']}", color)
                elif r and r.get("stuck"):
                    p.text(p.xmap[str(c)], p.ymap(v) - 8, f"{r['stuck']}/{r['runs']} stuck", color)
            p.line(pts, color, dashed)
    return p


def grouped_bars(p, groups, files, value):
    """Bars per group: for each file, gcpool then arrayqueue. `value(data, group, imp)`."""
    p.cat_x(groups, "")
    per = len(files) * 2
    w = p.step * 0.8 / per
    for gi, g in enumerate(groups):
        x = p.xmap[g] - p.step * 0.4
        for label, data, dashed in series(files):
            for imp, color in (("gcpool", GC), ("arrayqueue", AQ)):
                v = value(data, g, imp)
                if v is not None:
                    p.bar(x, w * 0.9, v[0], color, dashed)
                    p.text(x + w * 0.45, p.ymap(v[0]) - 3, v[1], color, size=9)
                x += w


def panel_barriers(files, x0, y0):
    p = Panel(x0, y0, "membarrier calls per 1,000 gets", "calls per 1,000 gets")
    groups = []
    for _, data, _ in series(files):
        for r in results(data, "barriers"):
            if r["case"] not in groups:
                groups.append(r["case"])

    def value(data, g, imp):
        r = next((r for r in results(data, "barriers") if r["case"] == g and r["impl"] == imp), None)
        v = r and r["median"].get("per_1000_gets")
        return None if v is None else (v, fmt(round(v, 1)))

    vals = [v[0] for _, d, _ in series(files) for g in groups for i in ("gcpool", "arrayqueue") if (v := value(d, g, i))]
    if not vals:
        p.text((p.l + p.r) / 2, (p.t + p.b) / 2, "no data")
        return p
    p.lin_y(max(max(vals), 1) * 1.1)
    grouped_bars(p, groups, files, value)
    return p


def short(r):
    """A livelock case's axis label: `herd 1000`, `collect_all loop`, `Collector`."""
    if r["scenario"] == "herd":
        return f"herd {int(r['params']['threads'])}"
    v = r["params"].get("variant", "")
    return "collect_all loop" if v == "loop" else v


def panel_livelock(files, x0, y0):
    p = Panel(x0, y0, "Livelock: stuck runs (time limit hit)", "stuck / runs")
    rows = []
    for _, data, _ in series(files):
        for r in results(data, "herd") + results(data, "collector"):
            if short(r) not in rows:
                rows.append(short(r))

    def value(data, g, imp):
        for r in results(data, "herd") + results(data, "collector"):
            if short(r) == g and r["impl"] == imp and r["runs"]:
                return (r["stuck"] / r["runs"], f"{r['stuck']}/{r['runs']}")
        return None

    if not rows:
        p.text((p.l + p.r) / 2, (p.t + p.b) / 2, "no data")
        return p
    p.lin_y(1.0, 4, lambda v: f"{v:.0%}")
    p.text((p.l + p.r) / 2, p.b + 50, "herd: limit 10 s; collector (1,000 threads, every 1 ms): limit 20 s", size=10)
    grouped_bars(p, rows, files, value)
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="one or two JSON files written by --json")
    ap.add_argument("--out", default="docs/img/scale.svg")
    ap.add_argument("--cpu", action="store_true", help="plot CPU ns/op in the threads panel")
    a = ap.parse_args()
    if len(a.files) > 2:
        sys.exit("scale-chart: one or two files")
    files = [load(f) for f in a.files]
    panels = [
        panel_miss(files, 0, 30),
        panel_threads(files, PANEL_W, 30, a.cpu),
        panel_barriers(files, 0, 30 + PANEL_H),
        panel_livelock(files, PANEL_W, 30 + PANEL_H),
    ]
    legend = []
    x = 20
    for i, (label, data, dashed) in enumerate(series(files)):
        when = ("before: " if i == 0 else "after: ") if len(files) == 2 else ""
        for imp, color in (("gcpool", GC), ("ArrayQueue", AQ)):
            dash = ' stroke-dasharray="6,4" opacity="0.7"' if dashed else ""
            legend.append(f'<line x1="{x}" x2="{x + 24}" y1="18" y2="18" stroke="{color}" stroke-width="3"{dash}/>')
            legend.append(f'<text x="{x + 30}" y="22" font-size="12">{esc(when + imp)} @ {esc(label)}</text>')
            x += 230
    for i, (label, data, _) in enumerate(series(files)):
        m = data.get("machine", {})
        legend.append(
            f'<text x="{W - 10}" y="{H + 30 + 14 * i}" text-anchor="end" font-size="11" fill="#868e96">'
            f'{esc(label)}: {esc(m.get("cpu", ""))}, {esc(m.get("nproc", ""))} CPUs, {esc(m.get("date", ""))}, '
            f'runs {esc(data.get("settings", {}).get("runs", ""))}</text>'
        )
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H + 60}" '
        f'viewBox="0 0 {W} {H + 60}" font-family="sans-serif">',
        '<rect width="100%" height="100%" fill="white"/>',
        *legend,
    ]
    for p in panels:
        svg.extend(p.out)
    svg.append("</svg>")
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        f.write("\n".join(svg) + "\n")
    print(f"scale-chart: wrote {a.out}")


if __name__ == "__main__":
    main()
