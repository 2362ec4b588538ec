#!/usr/bin/env python3
"""Scrape cost, memory and the reference comparison (see bench/run.sh).

For each size (users with two access keys each, synthetic report):
  * the exporter (release build) serves the report from a file;
  * scrape cost: median time and bytes of one /metrics response, text and
    OpenMetrics, against the floor: a server that sends the same bytes
    pre-rendered (iam-exporter-bench serve);
  * memory: the exporter's RSS once ready, and after 1,000 scrapes;
  * reference: the Python prometheus_client exposing the same series
    (bench/reference_exporter.py), measured in the same run.

Writes the "Scrape cost", "Memory" and "Reference" sections of BENCHMARKS.md
and leaves the others as they are. Raw figures go to target/bench/results.json.
"""

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPORTER = Path(os.environ.get("BENCH_EXPORTER", ROOT / "target/release/iam-credentials-exporter"))
TOOL = Path(os.environ.get("BENCH_TOOL", ROOT / "target/bench/release/iam-exporter-bench"))
PYTHON = ROOT / ".venv/bin/python"
REFERENCE = ROOT / "bench/reference_exporter.py"
OUT = ROOT / "target/bench/results.json"
DOC = ROOT / "BENCHMARKS.md"

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "500,5000,50000").split(",")]
MEMORY_SCRAPES = int(os.environ.get("BENCH_MEMORY_SCRAPES", "1000"))
# BENCH_REFERENCE=0 leaves out the Python reference (minutes at 50,000 users),
# e.g. to compare two builds of the exporter (BENCH_EXPORTER) side by side.
REFERENCE_RUN = os.environ.get("BENCH_REFERENCE", "1") != "0"
OUT = Path(os.environ.get("BENCH_OUT", OUT)).resolve()
TEXT = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
ACCEPT = {"text": None, "openmetrics": "application/openmetrics-text;version=1.0.0"}
CONTENT_TYPE = {"text": TEXT, "openmetrics": OPENMETRICS}


def timed_scrapes(users):
    """Scrapes per measurement: enough for a stable median in reasonable time."""
    return 31 if users <= 500 else 21 if users <= 5000 else 15


def reference_scrapes(users):
    return 21 if users <= 500 else 7 if users <= 5000 else 3


def log(*args):
    print("bench:", *args, file=sys.stderr, flush=True)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def scrape(addr, n, fmt, cold=False):
    """Times n scrapes; cold ones each start in a new second, so that the
    exporter renders every one (it shares renderings within a second)."""
    args = [str(TOOL), "scrape", addr, "/metrics", str(n)]
    if ACCEPT[fmt]:
        args.append(ACCEPT[fmt])
    env = dict(os.environ, BENCH_COLD="1" if cold else "0")
    return json.loads(
        subprocess.run(args, check=True, capture_output=True, text=True, env=env).stdout)


def fetch(addr, fmt):
    req = urllib.request.Request(f"http://{addr}/metrics")
    if ACCEPT[fmt]:
        req.add_header("Accept", ACCEPT[fmt])
    with urllib.request.urlopen(req, timeout=300) as resp:
        return resp.read()


def start_line(args, pattern, timeout=120, **kw):
    """Starts a process and waits for a line on stdout/stderr matching pattern."""
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(pattern, line)
        if m:
            return proc, m.group(1)
    proc.kill()
    raise RuntimeError(f"{args[0]} did not start")


def stop(proc):
    proc.stdin.close()
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_ready(addr, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://{addr}/-/ready", timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("exporter not ready")


def measure(users, tmp):
    report = tmp / f"report-{users}.csv"
    subprocess.run([str(TOOL), "report", str(users), "2", str(report)], check=True)
    result = {"users": users, "keys": users * 2, "report_bytes": report.stat().st_size}

    exporter, addr = start_line(
        [str(EXPORTER), "--web.listen-address", "127.0.0.1:0", "--credential-report.file",
         str(report), "--refresh.interval", "1h"],
        r"msg=listening address=(\S+)")
    # Drain the logs so that the exporter never blocks on a full pipe.
    subprocess.Popen(["cat"], stdin=exporter.stdout, stdout=subprocess.DEVNULL)
    try:
        wait_ready(addr)
        time.sleep(1)
        result["rss_idle_kib"] = rss_kib(exporter.pid)
        done = 0
        for fmt in ("text", "openmetrics"):
            body = fetch(addr, fmt)
            (tmp / f"body-{users}.{fmt}").write_bytes(body)
            n = timed_scrapes(users)
            result[f"exporter_{fmt}"] = scrape(addr, n, fmt, cold=True)
            done += n + 1
            log(users, fmt, "exporter", result[f"exporter_{fmt}"])
        # Growth is measured from a warm state: the first scrapes leave the
        # allocator holding one response buffer, which later scrapes reuse.
        warm = 10
        scrape(addr, warm, "text")
        result["rss_warm_kib"] = rss_kib(exporter.pid)
        done += warm
        if MEMORY_SCRAPES > done:
            scrape(addr, MEMORY_SCRAPES - done, "text")
        result["rss_after_kib"] = rss_kib(exporter.pid)
        log(users, "rss", result["rss_idle_kib"], result["rss_warm_kib"], result["rss_after_kib"])
    finally:
        stop(exporter)

    for fmt in ("text", "openmetrics"):
        floor, faddr = start_line(
            [str(TOOL), "serve", str(tmp / f"body-{users}.{fmt}"), CONTENT_TYPE[fmt]],
            r"^(127\.0\.0\.1:\d+)")
        try:
            result[f"floor_{fmt}"] = scrape(faddr, timed_scrapes(users), fmt)
            log(users, fmt, "floor", result[f"floor_{fmt}"])
        finally:
            stop(floor)

    if not REFERENCE_RUN:
        return result
    ref, raddr = start_line([str(PYTHON), str(REFERENCE), str(report)], r"^(127\.0\.0\.1:\d+)",
                            timeout=600)
    try:
        time.sleep(1)
        result["reference_rss_kib"] = rss_kib(ref.pid)
        for fmt in ("text", "openmetrics"):
            result[f"reference_{fmt}"] = scrape(raddr, reference_scrapes(users), fmt)
            log(users, fmt, "reference", result[f"reference_{fmt}"])
    finally:
        stop(ref)
    return result


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}, {rustc}, Python {platform.python_version()}"


def ms(seconds):
    return f"{seconds * 1000:.2f} ms" if seconds < 10 else f"{seconds:.1f} s"


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def sections(results, env):
    rows = []
    for r in results:
        for fmt in ("text", "openmetrics"):
            e, f = r[f"exporter_{fmt}"], r[f"floor_{fmt}"]
            rows.append(f"| {r['users']:,} | {r['keys']:,} | {fmt} | {e['bytes']:,} | "
                        f"{ms(e['median_s'])} | {ms(f['median_s'])} | "
                        f"{e['median_s'] / f['median_s']:.2f}x |")
    goal = ""
    big = [r for r in results if r["users"] == 50000]
    if big:
        ratios = [big[0][f"exporter_{f}"]["median_s"] / big[0][f"floor_{f}"]["median_s"]
                  for f in ("text", "openmetrics")]
        verdict = "met" if max(ratios) <= 2 else "not met"
        goal = (f"\nGoal, within 2x of the floor at 50,000 users: {verdict} "
                f"({ratios[0]:.1f}x text, {ratios[1]:.1f}x OpenMetrics).\n")
    scrape_md = (
        "Time of one `/metrics` response (connect, request, whole body read; median of 31, 21\n"
        "and 15 scrapes for the three sizes, each started in a new second so that the exporter\n"
        "renders every one), against the floor: a minimal server that sends\n"
        "the same bytes pre-rendered. Synthetic report, two access keys per user, no root row.\n\n"
        "| Users | Keys | Format | Bytes | Exporter | Floor (pre-rendered) | Ratio |\n"
        "|------:|-----:|--------|------:|---------:|---------------------:|------:|\n"
        + "\n".join(rows) + "\n" + goal)
    rows = []
    for r in results:
        growth = r["rss_after_kib"] - r["rss_warm_kib"]
        rows.append(f"| {r['users']:,} | {r['report_bytes']:,} | {mib(r['rss_idle_kib'])} | "
                    f"{mib(r['rss_warm_kib'])} | {mib(r['rss_after_kib'])} | "
                    f"{growth / 1024:+.1f} MiB ({growth / r['rss_warm_kib'] * 100:+.1f}%) |")
    memory_md = (
        "Resident memory (VmRSS) of the exporter once ready (one refresh done, no scrape\n"
        "yet), after the first scrapes (text and OpenMetrics, then 10 more), and after\n"
        f"{MEMORY_SCRAPES:,} scrapes in all, one at a time. The step from idle to warm is the\n"
        "allocator keeping one response buffer for reuse (about the size of one response);\n"
        "growth is counted from the warm state.\n\n"
        "| Users | Report bytes | RSS idle | RSS warm | RSS after 1,000 scrapes | Growth from warm |\n"
        "|------:|-------------:|---------:|---------:|------------------------:|-----------------:|\n"
        + "\n".join(rows) + "\n")
    head = f"Measured on {env}.\n\n"
    if not all("reference_text" in r for r in results):
        return {"Scrape cost": head + scrape_md, "Memory": head + memory_md}
    rows = []
    for r in results:
        for fmt in ("text", "openmetrics"):
            e, p = r[f"exporter_{fmt}"], r[f"reference_{fmt}"]
            rows.append(f"| {r['users']:,} | {fmt} | {ms(e['median_s'])} | {ms(p['median_s'])} | "
                        f"{p['median_s'] / e['median_s']:.1f}x | {p['bytes']:,} |")
    ref_rows = "\n".join(
        f"| {r['users']:,} | {mib(r['rss_idle_kib'])} | {mib(r['reference_rss_kib'])} |"
        for r in results)
    reference_md = (
        "The same series exposed by the Python `prometheus_client` (a custom collector\n"
        "building metric families at scrape time, `start_http_server`;\n"
        "`bench/reference_exporter.py`), measured in the same run (median of 21, 7 and 3\n"
        "scrapes). Ratio: reference time / exporter time.\n\n"
        "| Users | Format | Exporter | prometheus_client | Ratio | Reference bytes |\n"
        "|------:|--------|---------:|------------------:|------:|----------------:|\n"
        + "\n".join(rows) + "\n\n"
        "| Users | Exporter RSS idle | prometheus_client RSS idle |\n"
        "|------:|------------------:|---------------------------:|\n"
        + ref_rows + "\n")
    return {
        "Scrape cost": head + scrape_md,
        "Memory": head + memory_md,
        "Reference": head + reference_md,
    }


INTRO = """# Benchmarks

Figures of the exporter's cost, with the commands that reproduce them. Run
`bench/run.sh` (release build; about 20 minutes on 2 CPUs) to measure scrape
cost, memory and the reference comparison again: it rewrites the "Scrape
cost", "Memory" and "Reference" sections and keeps the others. Raw figures:
`target/bench/results.json`; `bench/run.py --render` rewrites the sections
from them.
"""

ORDER = ["Scrape cost", "Refresh cost", "Memory", "Reference"]
PLACEHOLDER = {"Refresh cost": "Not measured yet.\n"}


def update_doc(new):
    text = DOC.read_text() if DOC.exists() else INTRO
    parts = re.split(r"(?m)^## (.+)\n", text)
    intro, found = parts[0], dict(zip(parts[1::2], parts[2::2]))
    for name, body in new.items():
        found[name] = "\n" + body + "\n"
    for name in ORDER:
        found.setdefault(name, "\n" + PLACEHOLDER.get(name, "") + "\n")
    names = ORDER + [n for n in found if n not in ORDER]
    out = intro.rstrip("\n") + "\n\n" + "".join(
        f"## {n}\n\n{found[n].strip(chr(10))}\n\n" for n in names)
    DOC.write_text(out.rstrip("\n") + "\n")


def main():
    if sys.argv[1:] == ["--render"]:
        # Rewrite BENCHMARKS.md from the last run's raw figures.
        saved = json.loads(OUT.read_text())
        update_doc(sections(saved["results"], saved["machine"]))
        return
    for path in (EXPORTER, TOOL, PYTHON):
        if not path.exists():
            sys.exit(f"bench: {path} is missing; run bench/run.sh")
    load = os.getloadavg()[0]
    env = machine()
    results = []
    with tempfile.TemporaryDirectory(prefix="iam-exporter-bench-") as tmp:
        for users in SIZES:
            results.append(measure(users, Path(tmp)))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    env += f"; load average {load:.1f} before the run, {os.getloadavg()[0]:.1f} after"
    OUT.write_text(json.dumps({"machine": env, "results": results}, indent=2))
    if os.environ.get("BENCH_DOC", "1") != "0":
        update_doc(sections(results, env))
    log("wrote", DOC.relative_to(ROOT), "and", OUT.relative_to(ROOT))


if __name__ == "__main__":
    main()
