#!/usr/bin/env python3
"""Organization scale against the scale lab: first and steady refresh of N accounts.

For each organization size, the scale lab (bench/lab.rs, `iam-scale-lab`)
answers as an organization of N member accounts plus the management account,
USERS users each, every call after --latency-ms; the release exporter runs
against it with default flags, --aws.organization.role-name and
--refresh.interval 1m (the interval only sets when the second refresh starts).
Measured:

- ready: time from the exporter's start to /-/ready (the first account served);
- first refresh: time to the `refresh finished` log line (every account served);
- steady refresh: the second refresh's logged duration;
- calls by operation in each refresh, as the lab counted them (the least and
  most any member account received, so a missed or doubled account shows);
- exporter CPU-seconds (utime + stime from /proc/PID/stat) in each refresh,
  without the one /metrics scrape the script makes between the two;
- resident memory after each refresh (VmRSS) and its peak (VmHWM);
- the lab's own CPU-seconds, and the whole machine's busy CPU-seconds, so
  that the reader sees what else ran.

Usage: bench/scale.py [--accounts 1000,5000,10000] [--users 3] [--latency-ms 50]
                      [--throttle 0] [--report-build-ms 0] [--deadline 1800] [--json FILE]
                      [--bin target/release/iam-credentials-exporter]
                      [--lab target/bench/release/iam-scale-lab] [-- EXTRA EXPORTER FLAGS]

Needs the release exporter (cargo build --release) and the lab
(cargo build --release --manifest-path bench/Cargo.toml --target-dir target/bench).
Every run is bounded: a size that has not finished its second refresh within
--deadline seconds is stopped and reported as such. Prints a Markdown table per
size; --json appends the raw figures, one JSON object a size.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
DURATION = re.compile(r"duration=([0-9.]+)(ms|µs|s)\b")
UNITS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6}


def aws_env(endpoint: str) -> dict:
    env = dict(os.environ)
    env.update({
        "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    })
    return env


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> float:
    """Busy CPU-seconds of the whole machine since boot (every core)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICK


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def get(url: str, timeout: float = 300) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read()


def ready(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/-/ready", timeout=5) as resp:
            return resp.status == 200
    except Exception:
        return False


def exposition(body: str) -> dict:
    """The figures of one /metrics response the script checks."""
    out: dict = {"accounts": {}, "requests": {}, "collector_failing": 0, "refresh_failing": 0}
    for line in body.splitlines():
        if m := re.match(r'aws_iam_exporter_accounts\{state="(\w+)"\} (\S+)', line):
            out["accounts"][m.group(1)] = int(float(m.group(2)))
        elif m := re.match(r'aws_iam_exporter_api_requests_total\{operation="(\w+)"\} (\S+)', line):
            out["requests"][m.group(1)] = int(float(m.group(2)))
        elif line.startswith("aws_iam_exporter_collector_success{") and line.endswith(" 0"):
            out["collector_failing"] += 1
        elif line.startswith("aws_iam_exporter_account_refresh_success{") and line.endswith(" 0"):
            out["refresh_failing"] += 1
    out["user_series"] = sum(1 for line in body.splitlines() if line.startswith("aws_iam_user_info{"))
    return out


class Exporter:
    """The exporter's log, read as it comes: listening address, progress,
    refresh ends (with CPU sampled the moment each is read), problems."""

    def __init__(self, proc: subprocess.Popen, lab_pid: int, started: float):
        self.proc, self.lab_pid, self.started = proc, lab_pid, started
        self.address: str | None = None
        self.finished: list[dict] = []
        self.progress: list[tuple[float, int]] = []
        self.warnings: dict[str, int] = {}
        self.samples: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            now = time.monotonic() - self.started
            with self.cond:
                if self.address is None and "msg=listening" in line:
                    self.address = re.search(r"address=(\S+)", line).group(1)
                elif 'msg="refresh finished"' in line:
                    m = DURATION.search(line)
                    self.finished.append({
                        "at_s": now, "line": line.strip(),
                        "duration_s": float(m.group(1)) * UNITS[m.group(2)] if m else None,
                        "exporter_cpu_s": cpu_seconds(self.proc.pid),
                        "lab_cpu_s": cpu_seconds(self.lab_pid),
                        "machine_busy_s": machine_busy(),
                    })
                elif 'msg="refresh in progress"' in line:
                    done = re.search(r"\bdone=(\d+)", line)
                    if done:
                        self.progress.append((now, int(done.group(1))))
                level = re.search(r"\blevel=(\w+)", line)
                if level and level.group(1) in ("warn", "error", "WARN", "ERROR"):
                    msg = re.search(r'msg=("[^"]*"|\S+)', line)
                    key = f"{level.group(1)}: {msg.group(1) if msg else '?'}"
                    self.warnings[key] = self.warnings.get(key, 0) + 1
                    if len(self.samples) < 5:
                        self.samples.append(line.strip()[:400])
                self.cond.notify_all()

    def wait(self, predicate, deadline: float) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout=max(0.0, deadline - time.monotonic()))


def run(args, members: int, extra: list[str]) -> dict:
    lab = subprocess.Popen(
        [args.lab, "--accounts", str(members), "--users", str(args.users),
         "--latency-ms", str(args.latency_ms), "--throttle", str(args.throttle),
         "--report-build-ms", str(args.report_build_ms), "--threads", str(args.lab_threads),
         "--max-seconds", str(args.deadline + 120)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = lab.stdout.readline()
    if not line.startswith("READY "):
        raise SystemExit(f"scale lab did not start: {line!r}")
    lab_address = line.split()[1]
    endpoint = f"http://{lab_address}"
    flags = ["--web.listen-address", "127.0.0.1:0", "--refresh.interval", args.refresh_interval,
             "--aws.organization.role-name", "OrganizationAccountAccessRole", *extra]
    busy_before = machine_busy()
    started = time.monotonic()
    proc = subprocess.Popen([args.bin, *flags], env=aws_env(endpoint), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    exporter = Exporter(proc, lab.pid, started)
    deadline = started + args.deadline
    accounts = members + 1
    result: dict = {"members": members, "accounts": accounts, "users": args.users,
                    "latency_ms": args.latency_ms, "throttle": args.throttle,
                    "report_build_ms": args.report_build_ms,
                    "flags": flags, "complete": False}
    try:
        if not exporter.wait(lambda: exporter.address, started + 30):
            raise SystemExit("exporter did not listen within 30 s")
        address = exporter.address
        while not ready(address):
            if time.monotonic() > deadline:
                raise TimeoutError("not ready")
            time.sleep(0.05)
        result["ready_s"] = time.monotonic() - started
        if not exporter.wait(lambda: len(exporter.finished) >= 1, deadline):
            raise TimeoutError("first refresh")
        first = exporter.finished[0]
        result["first_calls"] = json.loads(get(f"{endpoint}/stats/reset"))
        result["first_s"] = first["at_s"]
        result["first_duration_s"] = first["duration_s"]
        result["first_cpu_s"] = first["exporter_cpu_s"]
        result["rss_after_first_kib"] = status_kib(proc.pid, "VmRSS")
        result["rss_peak_first_kib"] = status_kib(proc.pid, "VmHWM")
        # One scrape to check what the exporter serves; its CPU is left out
        # of the steady refresh's.
        before = cpu_seconds(proc.pid)
        t = time.monotonic()
        body = get(f"http://{address}/metrics")
        result["scrape_s"] = time.monotonic() - t
        result["rss_after_scrape_kib"] = status_kib(proc.pid, "VmRSS")
        result["rss_peak_after_scrape_kib"] = status_kib(proc.pid, "VmHWM")
        result["scrape_cpu_s"] = cpu_seconds(proc.pid) - before
        result["scrape_bytes"] = len(body)
        result["after_first"] = exposition(body.decode())
        after_scrape = cpu_seconds(proc.pid)
        if not exporter.wait(lambda: len(exporter.finished) >= 2, deadline):
            raise TimeoutError("second refresh")
        second = exporter.finished[1]
        result["steady_calls"] = json.loads(get(f"{endpoint}/stats/reset"))
        result["steady_s"] = second["duration_s"]
        # The steady refresh's CPU, with the idle wait before it (measured
        # separately below: a few milliseconds).
        result["steady_cpu_s"] = second["exporter_cpu_s"] - after_scrape
        result["rss_after_steady_kib"] = status_kib(proc.pid, "VmRSS")
        result["rss_peak_kib"] = status_kib(proc.pid, "VmHWM")
        idle_from = cpu_seconds(proc.pid)
        time.sleep(5)
        result["idle_cpu_s_per_5s"] = cpu_seconds(proc.pid) - idle_from
        body = get(f"http://{address}/metrics")
        result["after_steady"] = exposition(body.decode())
        result["lab_cpu_first_s"] = first["lab_cpu_s"]
        result["lab_cpu_steady_s"] = second["lab_cpu_s"] - first["lab_cpu_s"]
        result["machine_busy_first_s"] = first["machine_busy_s"] - busy_before
        result["machine_busy_steady_s"] = second["machine_busy_s"] - first["machine_busy_s"]
        result["steady_wall_s"] = second["at_s"] - first["at_s"]
        result["complete"] = True
    except TimeoutError as e:
        result["timed_out"] = f"{e} after {args.deadline} s"
    finally:
        result["progress"] = exporter.progress
        result["warnings"] = exporter.warnings
        result["warning_samples"] = exporter.samples
        result["exporter_cpu_total_s"] = cpu_seconds(proc.pid)
        result["lab_cpu_total_s"] = cpu_seconds(lab.pid)
        result["lab_stats_end"] = json.loads(get(f"{endpoint}/stats"))
        result["load_average"] = os.getloadavg()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        lab.stdin.close()
        try:
            lab.wait(timeout=10)
        except subprocess.TimeoutExpired:
            lab.kill()
            lab.wait()
    return result


def per_account(calls: dict, accounts: int) -> float:
    return sum(calls.get("served", {}).values()) / accounts


def markdown(r: dict) -> str:
    n = r["accounts"]
    out = [f"\n### {r['members']:,} member accounts + management, {r['users']} users each, "
           f"{r['latency_ms']:g} ms a call" + (f", {r['throttle']:g} throttled" if r["throttle"] else ""),
           "", f"flags: `{' '.join(r['flags'])}`", ""]
    if not r["complete"]:
        out.append(f"**Incomplete**: {r.get('timed_out')}; progress (s, accounts done): "
                   f"{r['progress'][-5:]}")
        return "\n".join(out)
    first, steady = r["first_calls"], r["steady_calls"]
    out += ["| | first refresh | steady refresh |", "|---|---:|---:|",
            f"| first account served (/-/ready) | {r['ready_s']:.1f} s | |",
            f"| every account served | {r['first_s']:.1f} s after start "
            f"(refresh {r['first_duration_s']:.1f} s) | {r['steady_s']:.1f} s |",
            f"| exporter CPU | {r['first_cpu_s']:.1f} s ({r['first_cpu_s'] / n * 1000:.1f} ms/account) "
            f"| {r['steady_cpu_s']:.1f} s ({r['steady_cpu_s'] / n * 1000:.2f} ms/account) |",
            f"| resident (VmRSS) after | {r['rss_after_first_kib'] / 1024:.1f} MiB "
            f"| {r['rss_after_steady_kib'] / 1024:.1f} MiB "
            f"({r['rss_after_steady_kib'] / n:.1f} KiB/account) |",
            f"| peak resident (VmHWM) | {r['rss_peak_first_kib'] / 1024:.1f} MiB "
            f"| {r['rss_peak_kib'] / 1024:.1f} MiB |",
            f"| resident after the one scrape between the refreshes | "
            f"{r['rss_after_scrape_kib'] / 1024:.1f} MiB | |",
            f"| calls | {sum(first['served'].values()):,} ({per_account(first, n):.1f}/account) "
            f"| {sum(steady['served'].values()):,} ({per_account(steady, n):.2f}/account) |",
            f"| most calls in flight at the lab | {first['in_flight_max']} | {steady['in_flight_max']} |",
            f"| lab CPU | {r['lab_cpu_first_s']:.1f} s | {r['lab_cpu_steady_s']:.1f} s |",
            f"| machine busy CPU (2 cores) | {r['machine_busy_first_s']:.1f} s "
            f"| {r['machine_busy_steady_s']:.1f} s (over {r['steady_wall_s']:.0f} s) |"]
    ops = sorted(set(first["served"]) | set(steady["served"]))
    for op in ops:
        cells = []
        for calls in (first, steady):
            served = calls["served"].get(op, 0)
            pa = calls["per_account"].get(op, {})
            spread = (f" (member min {pa['member_min']}, max {pa['member_max']})"
                      if pa.get("members_called") else "")
            cells.append(f"{served:,}{spread}")
        out.append(f"| {op} | {cells[0]} | {cells[1]} |")
    a = r["after_steady"]
    out += ["", f"Served after the steady refresh: accounts {a['accounts']}, "
            f"{a['user_series']:,} `aws_iam_user_info` series, "
            f"{a['refresh_failing']} accounts and {a['collector_failing']} collector series failing; "
            f"one scrape {r['scrape_bytes']:,} bytes in {r['scrape_s']:.2f} s "
            f"({r['scrape_cpu_s']:.2f} CPU-s). Idle CPU: {r['idle_cpu_s_per_5s']:.2f} s per 5 s. "
            f"Warnings: {r['warnings'] or 'none'}."]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", default="1000,5000,10000")
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--throttle", type=float, default=0.0)
    parser.add_argument("--refresh-interval", default="1m")
    parser.add_argument("--deadline", type=int, default=1800,
                        help="seconds per size before the run is stopped")
    parser.add_argument("--report-build-ms", type=int, default=0,
                        help="how long the lab takes to build an account's first report")
    parser.add_argument("--lab-threads", type=int, default=1)
    parser.add_argument("--bin", default=str(ROOT / "target/release/iam-credentials-exporter"))
    parser.add_argument("--lab", default=str(ROOT / "target/bench/release/iam-scale-lab"))
    parser.add_argument("--json", help="append raw results to this file")
    parser.add_argument("extra", nargs="*", help="more exporter flags (after --)")
    args = parser.parse_args()
    args.latency_ms = int(args.latency_ms)
    for path in (args.bin, args.lab):
        if not Path(path).exists():
            sys.exit(f"scale: {path} is missing (see the usage in {__file__})")
    for members in [int(n) for n in args.accounts.split(",")]:
        r = run(args, members, args.extra)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(r) + "\n")
        print(markdown(r), flush=True)


if __name__ == "__main__":
    main()
