#!/usr/bin/env python3
"""Query cost of the dashboards at 50,000 users (see BENCHMARKS.md, "Dashboards").

A synthetic credential report of USERS users with two keys each is served by
the exporter; a real Prometheus scrapes it once a minute with the shipped
recording rules. Once the recording rules have values, every query of every
dashboard is run as Grafana would run it (variables at their defaults: All
accounts; the User dashboard on one user), three times (once if it takes
more than 2 s), and the median time,
the number of series returned and Prometheus's own sample counts
(`stats=all`: peak samples held, total samples read) are printed as a
Markdown table. Instant queries run at one time; range queries span the
data there is (RANGE_MINUTES, step 15 s).

    cargo build --release --manifest-path bench/Cargo.toml --target-dir target/bench
    python3 bench/dashboards.py [USERS]           # default 50000
    BENCH_RANGE_MINUTES=1 python3 bench/dashboards.py 500   # a quick check

Uses target/release/iam-credentials-exporter if built, else target/debug
(the exporter's speed is not what is measured). Needs `prometheus`.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "dashboards"))
import grafana  # noqa: E402

TOOL = ROOT / "target/bench/release/iam-exporter-bench"
RANGE_MINUTES = int(os.environ.get("BENCH_RANGE_MINUTES", "5"))
ACCOUNT = "123456789012"
TABLE_LIMIT = 500


def exporter_binary() -> Path:
    for build in ("release", "debug"):
        path = ROOT / "target" / build / "iam-credentials-exporter"
        if path.exists():
            return path
    sys.exit("build the exporter first (cargo build --release)")


def get(url: str, timeout: float = 120) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.load(resp)


def wait(what: str, check, timeout: float) -> None:
    until = time.time() + timeout
    while time.time() < until:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(1)
    sys.exit(f"timed out waiting for {what}")


BOARDS = ["iam-organization.json", "iam-account.json", "iam-user.json",
          "iam-exporter-health.json"]


def measure(base: str, boards: list[str], variables: dict, per_board: dict, at: float,
            range_minutes: int = RANGE_MINUTES) -> int:
    """Runs every query of `boards` against Prometheus at `base` and prints a
    Markdown row per query; returns the most series a table query returned."""
    print("| Dashboard | Panel | Query | Kind | Series | Peak samples | "
          "Samples read | Time (median of 3; 1 run if over 2 s) |")
    print("|---|---|---|---|---:|---:|---:|---:|")
    biggest_table = 0
    for name in boards:
        board = json.loads((ROOT / "dashboards" / name).read_text())
        values = {"datasource": "prometheus", **variables, **per_board.get(name, {})}
        for panel in grafana.panels_of(board):
            for t in panel.get("targets", []):
                expr = grafana.interpolate(t["expr"], values)
                instant = t.get("instant") and not t.get("range")
                params = {"query": expr, "stats": "all"}
                if instant:
                    path, params["time"] = "query", f"{at:.3f}"
                else:
                    path = "query_range"
                    params.update(start=f"{at - range_minutes * 60:.3f}",
                                  end=f"{at:.3f}", step="15")
                times, answer = [], None
                # Three runs, one for a query slower than 2 s.
                while len(times) < 3 and (not times or times[0] < 2):
                    t0 = time.perf_counter()
                    answer = get(f"{base}/api/v1/{path}?{urllib.parse.urlencode(params)}")
                    times.append(time.perf_counter() - t0)
                data = answer["data"]
                stats = data.get("stats", {}).get("samples", {})
                n = len(data["result"])
                if t.get("format") == "table":
                    biggest_table = max(biggest_table, n)
                print(f"| {name.removesuffix('.json').removeprefix('iam-')} | "
                      f"{panel['title']} | {t['refId']} | "
                      f"{'instant' if instant else 'range'}"
                      f"{' table' if t.get('format') == 'table' else ''} | {n:,} | "
                      f"{stats.get('peakSamples', 0):,} | "
                      f"{stats.get('totalQueryableSamples', 0):,} | "
                      f"{statistics.median(times) * 1000:.0f} ms |", flush=True)
    return biggest_table


def main() -> None:
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
    tmp = Path(tempfile.mkdtemp(prefix="dashboards-bench-"))
    procs = []
    try:
        report = tmp / "report.csv"
        subprocess.run([str(TOOL), "report", str(users), "2", str(report)], check=True)
        exporter = subprocess.Popen(
            [str(exporter_binary()), "--web.listen-address", "127.0.0.1:19824",
             "--credential-report.file", str(report), "--refresh.interval", "1h",
             "--log.level", "warn"], stdin=subprocess.DEVNULL)
        procs.append(exporter)
        wait("the exporter", lambda: urllib.request.urlopen(
            "http://127.0.0.1:19824/-/ready", timeout=5).status == 200, 300)

        rules = tmp / "rules"
        rules.mkdir()
        shutil.copy(ROOT / "alerts/iam-credentials.recording.yml", rules)
        (tmp / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 60s\n  scrape_timeout: 55s\n"
            "  evaluation_interval: 15s\n"
            f"rule_files:\n  - {rules}/*.yml\n"
            "scrape_configs:\n  - job_name: iam-credentials-exporter\n"
            "    static_configs:\n      - targets: ['127.0.0.1:19824']\n")
        prom = subprocess.Popen(
            ["timeout", "3600", "prometheus", f"--config.file={tmp / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp / 'tsdb'}", "--web.listen-address=127.0.0.1:19090",
             "--log.level=warn"], stdin=subprocess.DEVNULL)
        procs.append(prom)
        base = "http://127.0.0.1:19090"

        def query(expr: str) -> list:
            q = urllib.parse.urlencode({"query": expr})
            return get(f"{base}/api/v1/query?{q}")["data"]["result"]

        wait("Prometheus", lambda: urllib.request.urlopen(f"{base}/-/ready").status == 200, 120)
        started = time.time()
        wait("the recording rules", lambda: query("account_id:aws_iam_users:count"), 600)
        print(f"bench: first scrape and rules after {time.time() - started:.0f} s; "
              f"gathering {RANGE_MINUTES} min of data", file=sys.stderr)
        time.sleep(RANGE_MINUTES * 60)
        at = time.time()
        series = int(query("count({__name__=~'.+'})")[0]["value"][1])
        head = get(f"{base}/api/v1/status/tsdb")["data"]["headStats"]["numSeries"]
        load = open("/proc/loadavg").read().split()[:3]
        print(f"Users: {users:,}; series scraped: {series:,} (head: {head:,}); "
              f"range queries: last {RANGE_MINUTES} min, step 15 s; "
              f"load average before the queries: {' '.join(load)}.\n")
        biggest_table = measure(base, BOARDS, {"account": ".*", "user": "user-000001"},
                                {"iam-user.json": {"account": ACCOUNT}}, at)
        load = open("/proc/loadavg").read().split()[:3]
        print(f"\nLargest table query: {biggest_table:,} series (limit {TABLE_LIMIT}); "
              f"load average after: {' '.join(load)}.")
        if biggest_table > TABLE_LIMIT:
            sys.exit("a table query returned more rows than a table can show")
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
