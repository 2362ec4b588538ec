#!/usr/bin/env python3
"""Memory and latency under concurrent scrapers, for one exporter binary.

    bench/load.py USERS [USERS...]

For each size: a synthetic report (two keys per user), the exporter serving
it from a file with a refresh every --refresh.interval (BENCH_REFRESH,
default 1s), then:
  * RSS once ready, and "idle after the first scrape" (2 s after one scrape);
  * wrk with BENCH_CONNECTIONS (64) connections for BENCH_SECONDS (30 s):
    requests, latency percentiles and maximum, timeouts;
  * peak RSS over the whole run (VmHWM).

The binary is BENCH_EXPORTER (default target/release/iam-credentials-exporter),
so two builds can be measured side by side in one run. Prints one JSON object
per size. Needs wrk and the benchmark tool (bench/run.sh builds both binaries).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (shared helpers of bench/run.py)

REFRESH = os.environ.get("BENCH_REFRESH", "1s")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "64")
SECONDS = os.environ.get("BENCH_SECONDS", "30")


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def seconds(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    number, unit = float(m.group(1)), m.group(2)
    return number * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk(addr):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "20s", "--latency",
         f"http://{addr}/metrics"], check=True, capture_output=True, text=True).stdout
    result = {"requests": int(re.search(r"(\d+) requests in", out).group(1))}
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    result["max_s"] = seconds(latency.group(3))
    for p in ("50", "90", "99"):
        result[f"p{p}_s"] = seconds(re.search(rf"^\s+{p}%\s+(\S+)", out, re.M).group(1))
    timeouts = re.search(r"timeout (\d+)", out)
    result["timeouts"] = int(timeouts.group(1)) if timeouts else 0
    result["non_2xx"] = "Non-2xx" in out
    return result


def measure(users, tmp):
    report = tmp / f"report-{users}.csv"
    subprocess.run([str(run.TOOL), "report", str(users), "2", str(report)], check=True)
    exporter, addr = run.start_line(
        [str(run.EXPORTER), "--web.listen-address", "127.0.0.1:0", "--credential-report.file",
         str(report), "--refresh.interval", REFRESH],
        r"msg=listening address=(\S+)")
    subprocess.Popen(["cat"], stdin=exporter.stdout, stdout=subprocess.DEVNULL)
    try:
        run.wait_ready(addr)
        time.sleep(1)
        result = {"users": users, "rss_ready_kib": status_kib(exporter.pid, "VmRSS")}
        with urllib.request.urlopen(f"http://{addr}/metrics", timeout=300) as resp:
            result["bytes"] = len(resp.read())
        time.sleep(2)
        result["rss_after_first_scrape_kib"] = status_kib(exporter.pid, "VmRSS")
        result["wrk"] = wrk(addr)
        result["rss_peak_kib"] = status_kib(exporter.pid, "VmHWM")
        result["rss_end_kib"] = status_kib(exporter.pid, "VmRSS")
    finally:
        run.stop(exporter)
    return result


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [5000]
    with tempfile.TemporaryDirectory(prefix="iam-exporter-load-") as tmp:
        for users in sizes:
            print(json.dumps({"exporter": str(run.EXPORTER), **measure(users, Path(tmp))}),
                  flush=True)


if __name__ == "__main__":
    main()
