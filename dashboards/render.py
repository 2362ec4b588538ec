#!/usr/bin/env python3
"""Draw pictures of the dashboards from a live Prometheus (no Grafana needed).

Each panel of each dashboard JSON file is drawn where its gridPos puts it,
from the result of its own queries (variables set to "All"): stats as
numbers, bar gauges as bars, time series as lines, tables as tables, with the
panel's units, value mappings and thresholds applied. It is a rendering of
the dashboards' queries, not a Grafana screenshot, and every picture says so.

The pictures in docs/images/ come from the end-to-end test's data:

    .venv/bin/pip install matplotlib
    IAM_EXPORTER_E2E_RENDER=docs/images cargo test --test e2e

or by hand against any Prometheus that scrapes the exporter:

    .venv/bin/python dashboards/render.py --prometheus http://127.0.0.1:9090 --out docs/images
"""

from __future__ import annotations

import argparse
import json
import re
import time
import urllib.parse
import urllib.request
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

HERE = Path(__file__).resolve().parent
BOARDS = {
    "iam-overview.json": "overview.png",
    "iam-keys-users.json": "keys-users.png",
    "iam-exporter-health.json": "exporter-health.png",
}
VARIABLES = {"$account": ".*", "$user": ".*", "$__rate_interval": "1m", "$__interval": "15s"}
RANGE_SECONDS = 120

BG = "#111217"
PANEL = "#181b1f"
BORDER = "#2c3235"
TEXT = "#ccccdc"
DIM = "#8e8e9a"
COLORS = {
    "green": "#73bf69", "red": "#f2495c", "orange": "#ff9830", "yellow": "#fade2a",
    "blue": "#5794f2", "text": TEXT, "purple": "#b877d9",
}
PALETTE = ["#73bf69", "#fade2a", "#5794f2", "#ff9830", "#f2495c", "#b877d9", "#8ab8ff"]
UNIT_PX = 0.62  # inches per grid column
ROW_PX = 0.42  # inches per grid row


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def get(self, path: str, **params) -> list:
        q = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{q}", timeout=30) as resp:
            answer = json.load(resp)
        if answer.get("status") != "success":
            raise RuntimeError(f"{params}: {answer}")
        return answer["data"]["result"]

    def instant(self, expr: str) -> list:
        return self.get("/api/v1/query", query=expr)

    def range(self, expr: str, end: float) -> list:
        end = float(int(end))
        return self.get("/api/v1/query_range", query=expr, start=end - RANGE_SECONDS,
                        end=end, step=2)


def substitute(expr: str) -> str:
    for k, v in VARIABLES.items():
        expr = expr.replace(k, v)
    return expr


def color(name: str | None) -> str:
    return COLORS.get(name or "", name or TEXT)


def duration(seconds: float) -> str:
    s = int(abs(seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m}m"
    if m:
        return f"{m}m {s % 60}s"
    return f"{s}s"


def fmt(value: float, unit: str | None, mappings: list) -> tuple[str, str | None]:
    """Display text and mapped color of a value."""
    for m in mappings or []:
        if m.get("type") == "value":
            key = str(int(value)) if value == int(value) else str(value)
            hit = m["options"].get(key)
            if hit:
                return hit["text"], hit.get("color")
    if unit == "dtdurations":
        return duration(value), None
    if unit == "s":
        return duration(value), None
    if unit == "reqps":
        return f"{value:.3g} req/s", None
    if value == int(value):
        return str(int(value)), None
    return f"{value:.3g}", None


def threshold_color(value: float, thresholds: dict | None) -> str | None:
    if not thresholds:
        return None
    chosen = None
    for step in thresholds.get("steps", []):
        if step["value"] is None or value >= step["value"]:
            chosen = step["color"]
    return chosen


def legend(fmt_: str, labels: dict) -> str:
    if not fmt_ or fmt_ == "__auto":
        return ", ".join(f"{k}={v}" for k, v in labels.items() if k != "__name__") or "value"
    # Like Grafana, a label the series does not have renders as nothing.
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt_).strip()


def panel_box(fig, grid: dict, total_rows: int):
    w_in, h_in = fig.get_size_inches()
    left = grid["x"] * UNIT_PX / w_in
    width = grid["w"] * UNIT_PX / w_in
    top = 1 - (grid["y"] * ROW_PX + 0.9) / h_in
    height = grid["h"] * ROW_PX / h_in
    return [left + 0.002, top - height + 0.004, width - 0.004, height - 0.008]


def frame(ax, title: str) -> None:
    ax.set_facecolor(PANEL)
    for spine in ax.spines.values():
        spine.set_color(BORDER)
    ax.set_title(title, loc="left", color=TEXT, fontsize=8, fontweight="bold", pad=4)
    ax.tick_params(colors=DIM, labelsize=7)


def draw_stat(fig, box, panel, prom):
    ax = fig.add_axes(box)
    frame(ax, panel["title"])
    ax.set_xticks([])
    ax.set_yticks([])
    defaults = panel["fieldConfig"]["defaults"]
    target = panel["targets"][0]
    series = prom.instant(substitute(target["expr"]))
    if not series:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", color=DIM)
        return
    n = len(series)
    for i, s in enumerate(series):
        value = float(s["value"][1])
        text, mapped = fmt(value, defaults.get("unit"), defaults.get("mappings"))
        c = color(mapped or threshold_color(value, defaults.get("thresholds")))
        x0 = i / n
        ax.add_patch(Rectangle((x0 + 0.01, 0.04), 1 / n - 0.02, 0.92, color=c, alpha=0.85,
                               transform=ax.transAxes))
        size = 22 if n == 1 else 15
        ax.text(x0 + 0.5 / n, 0.45, text, ha="center", va="center", color="white",
                fontsize=size, fontweight="bold", transform=ax.transAxes)
        if n > 1 or target.get("legendFormat", "__auto") != "__auto":
            ax.text(x0 + 0.5 / n, 0.82, legend(target["legendFormat"], s["metric"]),
                    ha="center", va="center", color="white", fontsize=7,
                    transform=ax.transAxes)


def draw_bargauge(fig, box, panel, prom):
    ax = fig.add_axes(box)
    frame(ax, panel["title"])
    target = panel["targets"][0]
    series = prom.instant(substitute(target["expr"]))
    colors = {o["matcher"]["options"]: o["properties"][0]["value"]["fixedColor"]
              for o in panel["fieldConfig"]["overrides"]}
    order = list(colors)
    rows = sorted(((legend(target["legendFormat"], s["metric"]), float(s["value"][1]))
                   for s in series), key=lambda r: order.index(r[0]) if r[0] in order else 99)
    names = [r[0] for r in rows][::-1]
    values = [r[1] for r in rows][::-1]
    ax.barh(range(len(names)), values, color=[color(colors.get(n, "green")) for n in names])
    for i, (n, v) in enumerate(zip(names, values)):
        ax.text(0, i + 0.42, f" {n}", va="bottom", color=TEXT, fontsize=8)
        ax.text(v, i, f" {int(v)}", va="center", color=TEXT, fontsize=9)
    ax.set_xlim(0, max(values + [1]) * 1.25)
    ax.set_ylim(-0.6, len(names) - 0.1)
    ax.set_yticks([])
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))


def fixed_colors(panel) -> dict:
    out = {}
    for o in panel["fieldConfig"]["overrides"]:
        for p in o["properties"]:
            if p["id"] == "color":
                out[o["matcher"]["options"]] = color(p["value"]["fixedColor"])
    return out


def draw_timeseries(fig, box, panel, prom):
    # Room for the tick labels inside the panel.
    ax = fig.add_axes([box[0] + 0.025, box[1] + 0.012, box[2] - 0.03, box[3] - 0.014])
    frame(ax, panel["title"])
    fixed = fixed_colors(panel)
    pick = (lambda i, name: fixed.get(name, PALETTE[i % len(PALETTE)]))
    defaults = panel["fieldConfig"]["defaults"]
    unit = defaults.get("unit")
    stacked = defaults["custom"]["stacking"]["mode"] == "normal"
    lines = []
    now = time.time()
    for target in panel["targets"]:
        for s in prom.range(substitute(target["expr"]), now):
            xs = [round(float(t) - now) for t, _ in s["values"]]
            ys = [float(v) for _, v in s["values"]]
            lines.append((legend(target.get("legendFormat", ""), s["metric"]), xs, ys))
    if not lines:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", color=DIM,
                transform=ax.transAxes)
        return
    scale, suffix = 1.0, ""
    if unit == "s":
        peak = max(max(y) for _, _, y in lines)
        scale, suffix = ((86400.0, " d") if peak >= 2 * 86400 else
                         (3600.0, " h") if peak >= 7200 else (1.0, " s"))
    if stacked:
        grid = sorted({x for _, xs, _ in lines for x in xs})
        base = [0.0] * len(grid)
        for i, (name, xs, ys) in enumerate(lines):
            point = dict(zip(xs, ys))
            top = [b + point.get(x, 0.0) for b, x in zip(base, grid)]
            ax.fill_between(grid, base, top, color=pick(i, name), alpha=0.8,
                            label=name, step="post")
            base = top
    else:
        for i, (name, xs, ys) in enumerate(lines):
            ax.plot(xs, [y / scale for y in ys], color=pick(i, name),
                    linewidth=1.3, label=name)
    steps = defaults.get("thresholds", {}).get("steps", [])
    if defaults["custom"]["thresholdsStyle"]["mode"] == "line" and len(steps) > 1:
        limit = steps[-1]["value"] / scale
        ax.axhline(limit, color=COLORS["red"], linestyle="--", linewidth=1)
        ax.text(0.01, limit, f" threshold {fmt(steps[-1]['value'], 's', [])[0]}",
                color=COLORS["red"], fontsize=7, va="bottom",
                transform=ax.get_yaxis_transform())
    ax.set_ylim(bottom=0)
    ax.set_xlabel("seconds ago", color=DIM, fontsize=7)
    if suffix or unit == "reqps":
        ax.set_ylabel(suffix.strip() or "req/s", color=DIM, fontsize=7)
    ax.grid(color=BORDER, linewidth=0.5)
    ax.set_ylim(top=ax.get_ylim()[1] * 1.15)
    leg = ax.legend(loc="upper left", fontsize=6.5, ncol=2 if len(lines) > 4 else 1,
                    facecolor=PANEL, edgecolor=BORDER, framealpha=0.85)
    for t in leg.get_texts():
        t.set_color(TEXT)


def table_rows(panel, prom) -> tuple[list[str], list[list[tuple[str, str | None]]]]:
    """Merged rows of a table panel as (columns, cells with colors)."""
    organize = next(t for t in panel["transformations"] if t["id"] == "organize")["options"]
    hidden = {k for k, v in organize["excludeByName"].items() if v}
    rename = organize["renameByName"]
    overrides = {o["matcher"]["options"]: {p["id"]: p["value"] for p in o["properties"]}
                 for o in panel["fieldConfig"]["overrides"]}
    multi = len(panel["targets"]) > 1
    rows: dict[tuple, dict] = {}
    label_cols: list[str] = []
    value_cols: list[str] = []
    for target in panel["targets"]:
        value_col = f"Value #{target['refId']}" if multi else "Value"
        if value_col not in value_cols:
            value_cols.append(value_col)
        for s in prom.instant(substitute(target["expr"])):
            labels = {k: v for k, v in s["metric"].items() if k != "__name__"}
            for k in labels:
                if k not in label_cols:
                    label_cols.append(k)
            row = rows.setdefault(tuple(sorted(labels.items())), dict(labels))
            row[value_col] = float(s["value"][1])
    columns = [c for c in label_cols + value_cols if c not in hidden]
    names = [rename.get(c, c) for c in columns]
    sort = (panel["options"].get("sortBy") or [{}])[0].get("displayName")
    out = []
    for row in rows.values():
        cells = []
        for c, name in zip(columns, names):
            v = row.get(c)
            if isinstance(v, float):
                o = overrides.get(name, {})
                text, mapped = fmt(v, o.get("unit"), o.get("mappings"))
                cells.append((text, mapped or threshold_color(v, o.get("thresholds"))))
            else:
                cells.append((v or "", None))
        out.append((row, cells))
    if sort and sort in names:
        col = columns[names.index(sort)]
        out.sort(key=lambda r: r[0].get(col, -1) if isinstance(r[0].get(col), float) else -1,
                 reverse=True)
    return names, [cells for _, cells in out]


def draw_table(fig, box, panel, prom):
    ax = fig.add_axes(box)
    frame(ax, panel["title"])
    ax.set_xticks([])
    ax.set_yticks([])
    names, rows = table_rows(panel, prom)
    fits = max(1, int(panel["gridPos"]["h"] * ROW_PX / 0.19) - 2)
    shown = rows[:fits]
    if not shown:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", color=DIM)
        return
    table = ax.table(cellText=[[c[0] for c in r] for r in shown], colLabels=names,
                     loc="upper center", cellLoc="left", colLoc="left",
                     bbox=[0, 1 - (len(shown) + 1) / (fits + 1), 1, (len(shown) + 1) / (fits + 1)])
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor(BORDER)
        cell.set_facecolor(PANEL if r else "#22252b")
        cell.get_text().set_color(TEXT if r else DIM)
        if r and shown[r - 1][c][1]:
            mapped = color(shown[r - 1][c][1])
            cell.set_facecolor(mapped if mapped != TEXT else PANEL)
            if mapped != TEXT:
                cell.get_text().set_color("black")
    if len(rows) > len(shown):
        ax.text(0.99, 0.01, f"{len(rows) - len(shown)} more rows", ha="right", va="bottom",
                color=DIM, fontsize=7, transform=ax.transAxes)


def draw_row(fig, box, panel):
    fig.text(box[0] + 0.002, box[1] + box[3] / 2, panel["title"], color=TEXT, fontsize=11,
             fontweight="bold", va="center")


DRAW = {"stat": draw_stat, "bargauge": draw_bargauge, "timeseries": draw_timeseries,
        "table": draw_table}


def render(board_file: Path, out: Path, prom: Prometheus) -> None:
    board = json.loads(board_file.read_text())
    panels = board["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    fig = plt.figure(figsize=(24 * UNIT_PX, rows * ROW_PX + 1.1), facecolor=BG)
    fig.text(0.005, 1 - 0.35 / fig.get_size_inches()[1], board["title"], color=TEXT,
             fontsize=15, fontweight="bold", va="center")
    fig.text(0.995, 1 - 0.35 / fig.get_size_inches()[1],
             "Rendering of this dashboard's queries on the end-to-end test data "
             "(dashboards/render.py; not a Grafana screenshot). Account = All, User = All.",
             color=DIM, fontsize=8, ha="right", va="center")
    for panel in panels:
        box = panel_box(fig, panel["gridPos"], rows)
        if panel["type"] == "row":
            draw_row(fig, box, panel)
        else:
            DRAW[panel["type"]](fig, box, panel, prom)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, facecolor=BG)
    plt.close(fig)
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", required=True, help="base URL of Prometheus")
    parser.add_argument("--out", required=True, type=Path, help="directory for the PNG files")
    args = parser.parse_args()
    prom = Prometheus(args.prometheus)
    for board, picture in BOARDS.items():
        render(HERE / board, args.out / picture, prom)


if __name__ == "__main__":
    main()
