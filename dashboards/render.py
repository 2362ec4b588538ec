#!/usr/bin/env python3
"""Draw pictures of the dashboards with matplotlib, from what Grafana's own
@grafana/data computes for each panel.

Each panel of each dashboard is drawn where its gridPos puts it, from the
panel views of dashboards/grafana.py (the same frames, and the texts and
colours that @grafana/data's transformations and display processor give,
that tests/dashboards.rs asserts): stats as numbers, bar gauges as bars,
time series as lines, tables as tables. The drawing itself is matplotlib's,
not Grafana's components, and every picture says so.

The pictures in docs/images/ come from the dashboard test's data:

    .venv/bin/pip install matplotlib
    IAM_EXPORTER_DASHBOARD_RENDER=docs/images cargo test --test dashboards

or by hand against any Prometheus that scrapes the exporter and loads the
recording rules:

    .venv/bin/python dashboards/render.py --prometheus http://127.0.0.1:9090 \
        --out docs/images --var user-dashboard=123456789012/alice
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import grafana  # noqa: E402

BOARDS = {
    "iam-organization.json": "organization.png",
    "iam-account.json": "account.png",
    "iam-user.json": "user.png",
    "iam-exporter-health.json": "exporter-health.png",
    "iam-compliance.json": "compliance.png",
}

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


def color(name: str | None) -> str:
    return COLORS.get(name or "", name or TEXT)


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


def cell_color(name: str | None) -> str | None:
    """A colour to paint, or None for Grafana's "transparent" and no colour."""
    if not name or name == "transparent":
        return None
    return color(name)


def draw_stat(fig, box, panel, view):
    ax = fig.add_axes(box)
    frame(ax, panel["title"])
    ax.set_xticks([])
    ax.set_yticks([])
    values = view["values"]
    if not values:
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        paint = cell_color(steps[0]["color"]) if view.get("noValue") == "0" else None
        ax.add_patch(Rectangle((0.01, 0.04), 0.98, 0.92, color=paint or PANEL, alpha=0.85,
                               transform=ax.transAxes))
        ax.text(0.5, 0.45, view.get("noValue", "No data"), ha="center", va="center",
                color="white", fontsize=22, fontweight="bold", transform=ax.transAxes)
        return
    n = len(values)
    for i, v in enumerate(values):
        x0 = i / n
        ax.add_patch(Rectangle((x0 + 0.01, 0.04), 1 / n - 0.02, 0.92,
                               color=cell_color(v["color"]) or PANEL, alpha=0.85,
                               transform=ax.transAxes))
        ax.text(x0 + 0.5 / n, 0.45, v["text"], ha="center", va="center", color="white",
                fontsize=22 if n == 1 and len(v["text"]) < 12 else 13, fontweight="bold",
                transform=ax.transAxes)
        if n > 1 and v["name"]:
            ax.text(x0 + 0.5 / n, 0.82, v["name"], ha="center", va="center", color="white",
                    fontsize=7, transform=ax.transAxes)


def fixed_colors(panel) -> dict:
    out = {}
    for o in panel["fieldConfig"]["overrides"]:
        for p in o["properties"]:
            if p["id"] == "color":
                out[o["matcher"]["options"]] = color(p["value"]["fixedColor"])
    return out


def draw_bargauge(fig, box, panel, view):
    ax = fig.add_axes(box)
    frame(ax, panel["title"])
    fixed = fixed_colors(panel)
    rows = [(v["name"], v["value"]) for v in view["values"]]
    names = [r[0] for r in rows][::-1]
    values = [r[1] for r in rows][::-1]
    ax.barh(range(len(names)), values, color=[fixed.get(n, color("green")) for n in names])
    for i, (n, v) in enumerate(zip(names, values)):
        ax.text(0, i + 0.42, f" {n}", va="bottom", color=TEXT, fontsize=8)
        ax.text(v, i, f" {int(v)}", va="center", color=TEXT, fontsize=9)
    ax.set_xlim(0, max(values + [1]) * 1.25)
    ax.set_ylim(-0.6, len(names) - 0.1)
    ax.set_yticks([])
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))


def draw_timeseries(fig, box, panel, view):
    # Room for the tick labels inside the panel.
    ax = fig.add_axes([box[0] + 0.025, box[1] + 0.012, box[2] - 0.03, box[3] - 0.014])
    frame(ax, panel["title"])
    fixed = fixed_colors(panel)
    pick = (lambda i, name: fixed.get(name, PALETTE[i % len(PALETTE)]))
    defaults = panel["fieldConfig"]["defaults"]
    unit = defaults.get("unit")
    stacked = defaults["custom"]["stacking"]["mode"] == "normal"
    now = time.time() * 1000
    lines = [(s["name"] or "value", [round((t - now) / 1000) for t in s["times"]],
              [float(v) for v in s["values"]]) for s in view["series"]]
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
            ax.plot(xs, [y / scale for y in ys], color=pick(i, name), linewidth=1.3,
                    label=name)
    steps = defaults.get("thresholds", {}).get("steps", [])
    if defaults["custom"]["thresholdsStyle"]["mode"] == "line" and len(steps) > 1:
        limit = steps[-1]["value"] / scale
        ax.axhline(limit, color=COLORS["red"], linestyle="--", linewidth=1)
        ax.text(0.01, limit, f" threshold {duration(steps[-1]['value'])}",
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


def duration(seconds: float) -> str:
    """A threshold as a label: whole days, else hours, else minutes."""
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def draw_table(fig, box, panel, view):
    """The table's first frame, in the order of the panel's sortBy option."""
    ax = fig.add_axes(box)
    frame(ax, panel["title"])
    ax.set_xticks([])
    ax.set_yticks([])
    names = view["columns"]
    rows = list(view["rows"])
    sort = (panel["options"].get("sortBy") or [{}])[0]
    if sort.get("displayName") in names:
        col = sort["displayName"]
        rows.sort(key=lambda r: (r[col]["value"] is not None, r[col]["value"] or 0),
                  reverse=bool(sort.get("desc")))
    fits = max(1, int(panel["gridPos"]["h"] * ROW_PX / 0.19) - 2)
    shown = rows[:fits]
    if not shown:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", color=DIM)
        return
    table = ax.table(cellText=[[r[c]["text"] for c in names] for r in shown], colLabels=names,
                     loc="upper center", cellLoc="left", colLoc="left",
                     bbox=[0, 1 - (len(shown) + 1) / (fits + 1), 1, (len(shown) + 1) / (fits + 1)])
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor(BORDER)
        cell.set_facecolor(PANEL if r else "#22252b")
        cell.get_text().set_color(TEXT if r else DIM)
        if r:
            paint = cell_color(shown[r - 1][names[c]]["color"])
            if paint:
                cell.set_facecolor(paint)
                cell.get_text().set_color("black")
    if len(rows) > len(shown):
        ax.text(0.99, 0.01, f"{len(rows) - len(shown)} more rows", ha="right", va="bottom",
                color=DIM, fontsize=7, transform=ax.transAxes)


def draw_row(fig, box, panel):
    fig.text(box[0] + 0.002, box[1] + box[3] / 2, panel["title"], color=TEXT, fontsize=11,
             fontweight="bold", va="center")


DRAW = {"stat": draw_stat, "bargauge": draw_bargauge, "timeseries": draw_timeseries,
        "table": draw_table}


def render(board_file: Path, out: Path, prom: grafana.Prometheus, variables: dict) -> None:
    board = json.loads(board_file.read_text())
    panels = board["panels"]
    views = iter(v for v in grafana.draw(prom, board, variables) if v["type"] != "variable")
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    fig = plt.figure(figsize=(24 * UNIT_PX, rows * ROW_PX + 1.1), facecolor=BG)
    chosen = ", ".join(f"{k} = {v if isinstance(v, str) else 'All'}"
                       for k, v in variables.items()) or "All accounts"
    fig.text(0.005, 1 - 0.35 / fig.get_size_inches()[1], board["title"], color=TEXT,
             fontsize=15, fontweight="bold", va="center")
    fig.text(0.995, 1 - 0.35 / fig.get_size_inches()[1],
             "Drawing by matplotlib (dashboards/render.py) of what @grafana/data computes "
             f"on the dashboard test's data; not a Grafana screenshot. {chosen}.",
             color=DIM, fontsize=8, ha="right", va="center")
    for panel in grafana.panels_of(board):
        box = panel_box(fig, panel["gridPos"], rows)
        if panel["type"] == "row":
            draw_row(fig, box, panel)
        else:
            view = next(views)
            assert view["title"] == panel["title"]
            DRAW[panel["type"]](fig, box, panel, view)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, facecolor=BG)
    plt.close(fig)
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", required=True, help="base URL of Prometheus")
    parser.add_argument("--out", required=True, type=Path, help="directory for the PNG files")
    parser.add_argument("--var", action="append", default=[],
                        help="user-dashboard=ACCOUNT/USER: the user the User dashboard shows")
    args = parser.parse_args()
    options = dict(v.split("=", 1) for v in args.var)
    account, _, user = options.get("user-dashboard", "/").partition("/")
    prom = grafana.Prometheus(args.prometheus)
    for board, picture in BOARDS.items():
        variables = {"account": account, "user": user} if board == "iam-user.json" else {}
        render(HERE / board, args.out / picture, prom, variables)


if __name__ == "__main__":
    main()
