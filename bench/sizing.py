#!/usr/bin/env python3
"""Memory sizing: peak resident memory of the exporter by number of users.

    cargo build --release --locked
    cargo build --release --manifest-path bench/Cargo.toml --target-dir target/bench
    python3 bench/sizing.py            # BENCH_SIZING_USERS=1000,5000 for fewer sizes

For each size, a synthetic report (two access keys per user, iam-exporter-bench
report) is served from a file with --refresh.interval SIZING_REFRESH, so that
the file is re-read and a new snapshot built while the previous one is still
served; SIZING_SCRAPERS scrapers ask for text and OpenMetrics in turn, each
scrape in a new second (so the exporter renders every one) and SIZING_PAUSE
seconds after the previous one, for SIZING_SECONDS. VmHWM (the peak resident
set, what an OOM kill is decided on) and VmRSS at the end are printed as a
Markdown table row per size. Standard library only.

    typical: SIZING_REFRESH=15s SIZING_SCRAPERS=2 SIZING_PAUSE=5 (an HA pair
             of Prometheus servers; refreshes far more often than the 5m default)
    stress:  SIZING_REFRESH=2s SIZING_SCRAPERS=4 SIZING_PAUSE=0
"""

import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPORTER = Path(os.environ.get("BENCH_EXPORTER", ROOT / "target/release/iam-credentials-exporter"))
TOOL = Path(os.environ.get("BENCH_TOOL", ROOT / "target/bench/release/iam-exporter-bench"))
USERS = [int(u) for u in os.environ.get("BENCH_SIZING_USERS", "1000,5000,10000,20000,50000").split(",")]
SECONDS = float(os.environ.get("SIZING_SECONDS", "45"))
SCRAPERS = int(os.environ.get("SIZING_SCRAPERS", "2"))
REFRESH = os.environ.get("SIZING_REFRESH", "15s")
PAUSE = float(os.environ.get("SIZING_PAUSE", "5"))


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def scraper(addr, stop, counts):
    accept = [None, "application/openmetrics-text;version=1.0.0"]
    i = 0
    while not stop.is_set():
        req = urllib.request.Request(f"http://{addr}/metrics")
        if accept[i % 2]:
            req.add_header("Accept", accept[i % 2])
        with urllib.request.urlopen(req, timeout=300) as resp:
            resp.read()
        counts.append(1)
        i += 1
        # The next scrape in a new second: no shared rendering.
        time.sleep(PAUSE + 1.0 - time.time() % 1.0 + 0.01)


def measure(users, tmp):
    report = tmp / f"report-{users}.csv"
    subprocess.run([str(TOOL), "report", str(users), "2", str(report)], check=True)
    proc = subprocess.Popen(
        [str(EXPORTER), "--web.listen-address", "127.0.0.1:0", "--credential-report.file",
         str(report), "--refresh.interval", REFRESH],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    addr = None
    for line in proc.stderr:
        if "msg=listening" in line:
            addr = line.split("address=")[1].split()[0]
            break
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    try:
        started = time.time()
        while True:
            try:
                with urllib.request.urlopen(f"http://{addr}/-/ready", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        ready = time.time() - started
        stop, counts = threading.Event(), []
        threads = [threading.Thread(target=scraper, args=(addr, stop, counts))
                   for _ in range(SCRAPERS)]
        for t in threads:
            t.start()
        time.sleep(SECONDS)
        stop.set()
        for t in threads:
            t.join()
        return {
            "users": users,
            "report_bytes": report.stat().st_size,
            "ready_s": ready,
            "scrapes": len(counts),
            "hwm_kib": status_kib(proc.pid, "VmHWM"),
            "rss_kib": status_kib(proc.pid, "VmRSS"),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main():
    print("| Users | Report bytes | Peak RSS (VmHWM) | RSS at the end | Scrapes |")
    print("|------:|-------------:|-----------------:|---------------:|--------:|")
    with tempfile.TemporaryDirectory() as tmp:
        for users in USERS:
            r = measure(users, Path(tmp))
            print(f"| {users:,} | {r['report_bytes']:,} | {r['hwm_kib'] / 1024:.1f} MiB "
                  f"| {r['rss_kib'] / 1024:.1f} MiB | {r['scrapes']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
