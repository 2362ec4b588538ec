#!/usr/bin/env python3
"""What Grafana would draw: the dashboards' queries turned into data frames
the way Grafana's Prometheus data source does, then through each panel's
transformations with Grafana's semantics. Standard library only.

No Grafana server is needed; the model follows Grafana's source:
- pkg/promlib/converter/prom.go: a vector or matrix answer is one frame per
  series, fields `Time` and `Value`, the series' labels, `__name__`
  included, on the value field; pkg/promlib/querydata/response.go: an empty
  answer is one frame without fields.
- packages/grafana-prometheus/src/result_transformer.ts (transformDFToTable):
  the frames of a query in table format become one frame, `Time`, one string
  field per label (each frame's label names sorted, in order of first
  appearance; a missing label is ""), then `Value`, named `Value #<refId>`
  when more than one query of the panel is in table format.
- packages/grafana-data/src/transformations/transformers/merge.ts: the key
  of a row is the concatenation of the values of the fields present in every
  frame; a row joins each earlier row of the same key whose common, non-null
  values are all equal, else it is a new row. A field such as `__name__`
  that differs between queries therefore keeps the rows apart.
- organize.ts (filterByName include then exclude, order.ts with indexByName,
  rename.ts, which sets the display name and keeps the name), sortBy.ts.
- Panels: a table shows its first frame; stat and bar gauge reduce each
  frame to its last non-null value; value mappings before thresholds.
- Data links: `${__value.raw}`, `${__data.fields.<name or display name>}`,
  `${__url_time_range}`, `${datasource:queryparam}`.

Use as a module (tests/dashboards.rs, render.py) or from the command line:

    dashboards/grafana.py --prometheus http://127.0.0.1:9090 \\
        --dashboard dashboards/iam-account.json --var account=123456789012
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
import urllib.parse
import urllib.request
from pathlib import Path

RANGE_SECONDS = 120
RANGE_STEP = 15
RATE_INTERVAL = "1m"
TIME_RANGE = "from=now-7d&to=now"
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
            table = sort_frame(table, 0, False)
        out.append(table)
    return out


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


# ---------------------------------------------------------------------------
# Transformations
# ---------------------------------------------------------------------------

def display_name(f: dict) -> str:
    return (f["config"].get("displayName") or f.get("state", {}).get("displayName")
            or f["config"].get("displayNameFromDS") or f["name"])


def merge(frames: list[dict]) -> list[dict]:
    """merge.ts."""
    if len(frames) <= 1:
        return frames
    data = [f for f in frames if f["fields"]]
    if not data:
        return [frames[0]]
    names: list[str] = []
    types: dict[str, str] = {}
    index: dict[str, dict[int, int]] = {}
    key_names: list[str] = []
    for fi, f in enumerate(data):
        for xi, fld in enumerate(f["fields"]):
            if fld["name"] not in types:
                names.append(fld["name"])
                types[fld["name"]] = fld["type"]
            index.setdefault(fld["name"], {})[fi] = xi
            if fi == len(data) - 1 and len(index[fld["name"]]) == len(data):
                key_names.append(fld["name"])
    if not key_names:
        return frames
    by_key: dict[str, list[dict]] = {}
    order: list[tuple[str, int]] = []
    for fi, f in enumerate(data):
        for row in range(length(f)):
            key = "".join(js_string(f["fields"][index[n][fi]]["values"][row])
                          for n in key_names)
            value = {n: f["fields"][index[n][fi]]["values"][row]
                     for n in names if fi in index[n]}
            if key not in by_key:
                by_key[key] = [value]
                order.append((key, 0))
                continue
            merged = False
            for i, existing in enumerate(by_key[key]):
                if mergeable(existing, value):
                    by_key[key][i] = {**existing, **value}
                    merged = True
            if not merged:
                by_key[key].append(value)
                order.append((key, len(by_key[key]) - 1))
    rows = [by_key[k][i] for k, i in order]
    fields = [field(n, types[n], [r.get(n) for r in rows]) for n in names]
    return [frame(data[0]["refId"], fields)]


def js_string(v) -> str:
    """String concatenation of a value in JavaScript."""
    if v is None:
        return "null"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        if v == int(v) and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    return str(v)


def mergeable(existing: dict, value: dict) -> bool:
    for k, v in value.items():
        if k not in existing or existing[k] is None:
            continue
        if existing[k] != v:
            return False
    return True


def organize(frames: list[dict], options: dict) -> list[dict]:
    include = [n for n, on in (options.get("includeByName") or {}).items() if on]
    exclude = [n for n, on in (options.get("excludeByName") or {}).items() if on]
    index = options.get("indexByName") or {}
    rename = options.get("renameByName") or {}
    out = []
    for f in frames:
        fields = f["fields"]
        if include:
            fields = [x for x in fields if x["name"] in include or display_name(x) in include]
        fields = [x for x in fields if not (x["name"] in exclude or display_name(x) in exclude)]
        if index:
            fields = sorted(fields, key=lambda x: index.get(display_name(x), 2 ** 53))
        renamed = []
        for x in fields:
            to = rename.get(display_name(x))
            if isinstance(to, str) and to:
                x = {**x, "config": {**x["config"], "displayName": to}}
            renamed.append(x)
        out.append({**f, "fields": renamed})
    return out


def sort_frame(f: dict, column: int, desc: bool) -> dict:
    """sortDataFrame: a stable sort by one field, nulls last."""
    values = f["fields"][column]["values"]
    present = [i for i, v in enumerate(values) if v is not None]
    missing = [i for i, v in enumerate(values) if v is None]
    present.sort(key=lambda i: values[i], reverse=desc)
    order = present + missing
    return {**f, "fields": [{**x, "values": [x["values"][i] for i in order]}
                            for x in f["fields"]]}


def sort_by(frames: list[dict], options: dict) -> list[dict]:
    sort = (options.get("sort") or [None])[0]
    if not sort:
        return frames
    out = []
    for f in frames:
        names = [display_name(x) for x in f["fields"]]
        out.append(sort_frame(f, names.index(sort["field"]), bool(sort.get("desc")))
                   if sort["field"] in names else f)
    return out


TRANSFORMS = {"merge": lambda frames, _: merge(frames), "organize": organize,
              "sortBy": sort_by}


def transform(frames: list[dict], transformations: list[dict]) -> list[dict]:
    for t in transformations:
        if t.get("disabled"):
            continue
        if t["id"] not in TRANSFORMS:
            raise NotImplementedError(f"transformation {t['id']} is not modelled")
        frames = TRANSFORMS[t["id"]](frames, t.get("options", {}))
    return frames


# ---------------------------------------------------------------------------
# Display: overrides, mappings, thresholds, links
# ---------------------------------------------------------------------------

def field_config(panel: dict, name: str) -> dict:
    config = dict(panel.get("fieldConfig", {}).get("defaults", {}))
    for o in panel.get("fieldConfig", {}).get("overrides", []):
        if o["matcher"]["id"] == "byName" and o["matcher"]["options"] == name:
            for p in o["properties"]:
                config[p["id"]] = p["value"]
    return config


def mapped(value, mappings: list) -> dict | None:
    for m in mappings or []:
        if m.get("type") == "value" and value is not None:
            key = js_string(value) if isinstance(value, float) else str(value)
            if key in m["options"]:
                return m["options"][key]
    return None


def threshold_color(value, thresholds: dict | None) -> str | None:
    if not thresholds or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    chosen = None
    for step in thresholds.get("steps", []):
        if step["value"] is None or value >= step["value"]:
            chosen = step["color"]
    return chosen


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


def formatted(value, config: dict) -> str:
    if value is None:
        return ""
    if not isinstance(value, (int, float)):
        return str(value)
    unit = config.get("unit")
    if unit == "s" and abs(value) < 60:
        return f"{value * 1000:.0f} ms" if abs(value) < 1 else f"{value:.1f} s"
    if unit in ("dtdurations", "s"):
        return duration(value)
    if unit == "reqps":
        return f"{value:.3g} req/s"
    if value == int(value):
        return str(int(value))
    return f"{value:.3g}"


def cell(value, config: dict) -> dict:
    """Text and colour of one value: a value mapping wins over thresholds;
    a table cell is coloured only with a color-background cell type."""
    hit = mapped(value, config.get("mappings"))
    text = hit["text"] if hit and "text" in hit else formatted(value, config)
    color = hit.get("color") if hit else None
    if color is None and value is not None:
        color = threshold_color(value, config.get("thresholds"))
    return {"text": text, "color": color}


def link_url(template: str, f: dict, row: int, value) -> str:
    def sub(m: re.Match) -> str:
        token = m.group(1)
        if token == "__value.raw":
            return str(value)
        if token == "__url_time_range":
            return TIME_RANGE
        if token == "datasource:queryparam":
            return f"var-datasource={DATASOURCE_UID}"
        if token.startswith("__data.fields."):
            name = token[len("__data.fields."):].strip("[]\"")
            for x in f["fields"]:
                if x["name"] == name or display_name(x) == name:
                    return str(x["values"][row])
            raise KeyError(f"data link field {name} not in the frame")
        raise KeyError(f"data link variable {token} not modelled")

    return re.sub(r"\$\{([^}]+)\}", sub, template)


def table_view(panel: dict, frames: list[dict]) -> dict:
    """The first frame as the table panel shows it: columns by display name,
    each cell with its text, colour and link."""
    if not frames:
        return {"frames": 0, "columns": [], "rows": []}
    f = frames[0]
    columns = [display_name(x) for x in f["fields"]]
    configs = [field_config(panel, c) for c in columns]
    rows = []
    for r in range(length(f)):
        row = {}
        for x, name, config in zip(f["fields"], columns, configs):
            v = x["values"][r]
            c = cell(v, config)
            coloured = (config.get("custom.cellOptions") or {}).get("type") == "color-background"
            entry = {"value": v, "text": c["text"], "color": c["color"] if coloured else None}
            links = config.get("links") or []
            if links:
                entry["links"] = [link_url(link["url"], f, r, v) for link in links]
            row[name] = entry
        rows.append(row)
    return {"frames": len(frames), "columns": columns, "rows": rows}


def reduce_view(panel: dict, frames: list[dict]) -> dict:
    """Stat and bar gauge: each frame reduced to its last non-null value."""
    config = panel.get("fieldConfig", {}).get("defaults", {})
    values = []
    for f in frames:
        if len(f["fields"]) < 2:
            continue
        vf = f["fields"][1]
        last = next((v for v in reversed(vf["values"]) if v is not None and not math.isnan(v)),
                    None)
        name = display_name(vf)
        c = cell(last, field_config(panel, name))
        values.append({"name": name, "labels": vf["labels"], "value": last, **c})
    if not values:
        return {"values": [], "noValue": config.get("noValue", "No data")}
    return {"values": values}


def series_view(panel: dict, frames: list[dict]) -> dict:
    out = []
    for f in frames:
        if len(f["fields"]) < 2:
            continue
        out.append({"name": display_name(f["fields"][1]), "labels": f["fields"][1]["labels"],
                    "times": f["fields"][0]["values"], "values": f["fields"][1]["values"]})
    return {"series": out}


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
    for panel in panels_of(board):
        if panel["type"] == "row":
            continue
        frames = query_panel(prom, panel, values, at)
        frames = transform(frames, panel.get("transformations", []))
        view = {"title": panel["title"], "type": panel["type"]}
        if panel["type"] == "table":
            view.update(table_view(panel, frames))
        elif panel["type"] in ("stat", "bargauge"):
            view.update(reduce_view(panel, frames))
        elif panel["type"] == "timeseries":
            view.update(series_view(panel, frames))
        else:
            raise NotImplementedError(f"panel type {panel['type']}")
        out.append(view)
    return out


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
