#!/usr/bin/env python3
"""What Grafana would draw: the dashboards' queries run against a real
Prometheus, their answers turned into data frames the way Grafana's
Prometheus data source does, and each panel's transformations, field config
and reductions applied by Grafana's own @grafana/data (dashboards/draw.cjs,
Node 20; `npm ci` in dashboards/, which scripts/install-test-deps.sh runs).

The data source part is modelled here (Python, standard library), after
Grafana's source; it is the only part of Grafana this repository copies:
- pkg/promlib/converter/prom.go: a vector or matrix answer is one frame per
  series, fields `Time` and `Value`, the series' labels, `__name__`
  included, on the value field; pkg/promlib/querydata/response.go: an empty
  answer is one frame without fields, and the legend (getName).
- packages/grafana-prometheus/src/result_transformer.ts (transformDFToTable,
  the front end's processing of a query in table format): the frames of a
  query in table format become one frame, `Time`, one string field per label
  (each frame's label names sorted, in order of first appearance; a missing
  label is ""), then `Value`, named `Value #<refId>` when more than one query
  of the panel is in table format; time series frames come first, then the
  tables. That package is AGPL-licensed and is not used, only described.
- Dashboard variables as the data source interpolates them (a multi-value or
  All variable as an escaped regex alternation), and the options of a
  `label_values(selector, label)` query variable.

Use as a module (tests/dashboards.rs, render.py) or from the command line:

    .venv/bin/python dashboards/grafana.py --prometheus http://127.0.0.1:9090 \\
        --dashboard dashboards/iam-account.json --var account=123456789012
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
RANGE_SECONDS = 120
RANGE_STEP = 15
RATE_INTERVAL = "1m"
DATASOURCE_UID = "prometheus"


# ---------------------------------------------------------------------------
# Prometheus and the data source's frames
# ---------------------------------------------------------------------------

class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def get(self, path: str, **params) -> dict:
        q = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{q}", timeout=60) as resp:
            answer = json.load(resp)
        if answer.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {answer}")
        return answer["data"]

    def instant(self, expr: str, at: float) -> list:
        return self.get("/api/v1/query", query=expr, time=f"{at:.3f}")["result"]

    def range(self, expr: str, end: float) -> list:
        return self.get("/api/v1/query_range", query=expr, start=f"{end - RANGE_SECONDS:.3f}",
                        end=f"{end:.3f}", step=RANGE_STEP)["result"]


def field(name: str, type_: str, values: list, labels: dict | None = None,
          config: dict | None = None) -> dict:
    return {"name": name, "type": type_, "values": values, "labels": labels or {},
            "config": dict(config or {})}


def frame(ref: str, fields: list[dict], meta: dict | None = None) -> dict:
    return {"refId": ref, "fields": fields, "meta": meta or {}}


def length(f: dict) -> int:
    return len(f["fields"][0]["values"]) if f["fields"] else 0


def series_frames(ref: str, result: list) -> list[dict]:
    """Frames of one query as the backend returns them."""
    if not result:
        return [frame(ref, [])]
    out = []
    for s in result:
        points = s["values"] if "values" in s else [s["value"]]
        out.append(frame(ref, [
            field("Time", "time", [int(float(t) * 1000) for t, _ in points]),
            field("Value", "number", [parse_sample(v) for _, v in points],
                  labels=dict(s["metric"])),
        ]))
    return out


def parse_sample(v: str) -> float:
    return float(v)  # Python reads NaN, +Inf and -Inf as Prometheus writes them


def to_table(frames: list[dict]) -> list[dict]:
    """transformDFToTable."""
    if not frames or (len(frames) == 1 and length(frames[0]) == 0 and not frames[0]["fields"]):
        return frames
    by_ref: dict[str, list[dict]] = {}
    for f in frames:
        by_ref.setdefault(f["refId"], []).append(f)
    out = []
    for ref, group in by_ref.items():
        value_name = f"Value #{ref}" if len(by_ref) > 1 else "Value"
        labels: list[str] = []
        for f in group:
            promlabels = f["fields"][1]["labels"] if len(f["fields"]) > 1 else {}
            for name in sorted(promlabels):
                if name not in labels:
                    labels.append(name)
        times, values = [], []
        columns: dict[str, list] = {name: [] for name in labels}
        for f in group:
            if len(f["fields"]) < 2:
                continue
            times.extend(f["fields"][0]["values"])
            for v in f["fields"][1]["values"]:
                values.append(v)
                for name in labels:
                    columns[name].append(f["fields"][1]["labels"].get(name, ""))
        fields = [field("Time", "time", times)]
        fields += [field(name, "string", columns[name], config={"filterable": True})
                   for name in labels]
        fields.append(field(value_name, "number", values))
        table = frame(ref, fields, {"preferredVisualisationType": "rawPrometheus"})
        if any(b < a for a, b in zip(times, times[1:])):
            table = sorted_by_time(table)
        out.append(table)
    return out


def sorted_by_time(f: dict) -> dict:
    """sortDataFrame(frame, 0): a stable sort on the time field."""
    times = f["fields"][0]["values"]
    order = sorted(range(len(times)), key=lambda i: times[i])
    return {**f, "fields": [{**x, "values": [x["values"][i] for i in order]}
                            for x in f["fields"]]}


def query_panel(prom: Prometheus, panel: dict, variables: dict, at: float) -> list[dict]:
    """The frames of a panel's queries after the data source's own
    processing (transformV2): time series frames first, then tables."""
    series, tables = [], []
    for t in panel.get("targets", []):
        expr = interpolate(t["expr"], variables)
        if t.get("instant") and not t.get("range"):
            result = prom.instant(expr, at)
        else:
            result = prom.range(expr, at)
        frames = series_frames(t["refId"], result)
        if t.get("format") == "table":
            tables.extend(frames)
        else:
            for f in frames:
                if len(f["fields"]) > 1:
                    f["fields"][1]["config"]["displayNameFromDS"] = legend(
                        t.get("legendFormat", ""), f["fields"][1]["labels"], expr)
            series.extend(frames)
    return series + to_table(tables)


def legend(fmt: str, labels: dict, expr: str) -> str:
    """getName of pkg/promlib/querydata/response.go."""
    if fmt == "__auto" or not fmt:
        if labels:
            return ""
        return expr
    out = re.sub(r"\{\{\s*(.+?)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt)
    return expr if out == "{}" else out


def interpolate(expr: str, variables: dict) -> str:
    """Dashboard variables as the Prometheus data source formats them: a
    multi-value or All variable as an escaped regex alternation, a single
    value as it is."""
    values = {"__rate_interval": RATE_INTERVAL, "__interval": f"{RANGE_STEP}s",
              "__range": f"{RANGE_SECONDS}s"}
    for name, value in variables.items():
        if isinstance(value, list):
            if value == ["$__all"]:
                values[name] = ".*"
            else:
                escaped = [re.sub(r"([\\^$*+?.()|{}\[\]])", r"\\\\\1", v) for v in value]
                values[name] = escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
        else:
            values[name] = value

    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"variable ${name} has no value in {expr}")
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, expr)


def panels_of(board: dict) -> list[dict]:
    out = []
    for p in board["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def variable_options(prom: Prometheus, var: dict, values: dict, at: float) -> list[str]:
    """The options of a `label_values(selector, label)` query variable, as
    the data source asks for them (label values of the series that match the
    selector, around the dashboard's time), sorted as `sort: 1` does."""
    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", var["query"]["query"].strip())
    if not m:
        raise NotImplementedError(f"variable query {var['query']['query']}")
    selector = interpolate(m.group(1), values)
    options = prom.get(f"/api/v1/label/{m.group(2)}/values", **{
        "match[]": selector, "start": f"{at - 3600:.3f}", "end": f"{at:.3f}"})
    return sorted(options) if var.get("sort") == 1 else options


def draw(prom: Prometheus, board: dict, variables: dict, at: float | None = None) -> list[dict]:
    """Every panel of a dashboard as Grafana would draw it, preceded by a
    view of each query variable with its options."""
    at = at if at is not None else time.time()
    values = {"datasource": DATASOURCE_UID}
    for var in board.get("templating", {}).get("list", []):
        if var["type"] == "query":
            values[var["name"]] = variables.get(var["name"], ["$__all"] if var.get("multi")
                                                else None)
            if values[var["name"]] is None:
                raise KeyError(f"variable {var['name']} needs a value")
    out = []
    for var in board.get("templating", {}).get("list", []):
        if var["type"] == "query":
            out.append({"title": f"${var['name']}", "type": "variable",
                        "options": variable_options(prom, var, values, at)})
    panels = [{"panel": p, "frames": portable(query_panel(prom, p, values, at))}
              for p in panels_of(board) if p["type"] != "row"]
    return out + grafana_data(panels)


def portable(value):
    """Non-finite samples as strings, which JSON can carry."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if isinstance(value, list):
        return [portable(v) for v in value]
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    return value


def grafana_data(panels: list[dict]) -> list[dict]:
    """What each panel shows from its frames, computed by @grafana/data
    (dashboards/draw.cjs)."""
    if not (HERE / "node_modules" / "@grafana" / "data").is_dir():
        raise RuntimeError("dashboards/node_modules is missing: run scripts/install-test-deps.sh")
    done = subprocess.run(["node", str(HERE / "draw.cjs")], input=json.dumps(
        {"panels": panels}, allow_nan=False), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"dashboards/draw.cjs failed: {done.stderr}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--dashboard", required=True, type=Path, action="append")
    parser.add_argument("--var", action="append", default=[],
                        help="NAME=VALUE (repeat NAME for several values; VALUE $__all for All)")
    args = parser.parse_args()
    variables: dict[str, list[str] | str] = {}
    for item in args.var:
        name, value = item.split("=", 1)
        variables.setdefault(name, []).append(value)  # type: ignore[union-attr]
    prom = Prometheus(args.prometheus)
    at = time.time()
    out = {}
    for path in args.dashboard:
        board = json.loads(path.read_text())
        single = {v["name"] for v in board["templating"]["list"]
                  if v["type"] == "query" and not v.get("multi")}
        own = {k: (v[0] if k in single else v) for k, v in variables.items()}
        out[path.name] = draw(prom, board, own, at)
    print(json.dumps(out, indent=1, allow_nan=False, default=str))


if __name__ == "__main__":
    main()
