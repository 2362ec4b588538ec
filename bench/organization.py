#!/usr/bin/env python3
"""Organization scale: first and steady-state refresh of N member accounts.

For each organization size, a moto organization of N member accounts (plus
the management account), USERS users each, every moto response delayed by
--latency-ms (a round trip to AWS), and one exporter process with default
flags and --aws.organization.role-name. Measured:

- time to /-/ready (the first account's data served) and to the end of the
  first refresh (every account done);
- the second refresh (steady state: reports exist, credentials cached);
- API calls by operation in each refresh;
- resident memory after the first refresh, and its peak.

Usage: bench/organization.py [--accounts 100,1000] [--users 3] [--latency-ms 50]
                             [--bin target/release/iam-credentials-exporter] [-- EXTRA FLAGS]
Needs a release build (cargo build --release) and the test venv
(scripts/install-test-deps.sh). Prints a Markdown table per size.

moto answers from one Python process (threaded, so the added latency
overlaps); absolute times are moto's, call counts are exact.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
LAUNCHER = ROOT / "tests" / "harness" / "moto_launcher.py"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from refresh_cost import aws_env  # noqa: E402


def start_moto(seed: dict, latency_ms: float) -> tuple[subprocess.Popen, str]:
    seed_file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(seed, seed_file)
    seed_file.close()
    proc = subprocess.Popen(
        [str(PYTHON), str(LAUNCHER), "--seed", seed_file.name, "--port", "0", "--no-verify",
         "--max-seconds", "3600", "--latency-ms", str(latency_ms)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("moto launcher exited before READY")
        if line.startswith("ERROR"):
            raise SystemExit(line)
        if line.startswith("READY "):
            return proc, line.split()[1]


def organization(members: int, users: int) -> dict:
    def people(prefix: str) -> list[dict]:
        return [{"name": f"{prefix}-user-{u}", "created": "2024-01-01T00:00:00Z",
                 "keys": [{"created": "2024-01-02T00:00:00Z"}]} for u in range(users)]
    accounts = [{"label": "mgmt", "name": "Management", "users": people("mgmt")}]
    for i in range(members):
        accounts.append({"label": f"m{i}", "id": f"{200000000000 + i:012d}",
                         "name": f"Member {i}", "users": people(f"m{i}")})
    return {"organization": {"feature_set": "ALL"}, "accounts": accounts}


def calls(address: str) -> dict[str, int]:
    body = urllib.request.urlopen(f"http://{address}/metrics", timeout=120).read().decode()
    out = {}
    for line in body.splitlines():
        m = re.match(r'aws_iam_exporter_api_requests_total\{operation="(\w+)"\} (\S+)', line)
        if m:
            out[m.group(1)] = int(float(m.group(2)))
    return out


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def ready(address: str) -> bool:
    try:
        return urllib.request.urlopen(f"http://{address}/-/ready", timeout=5).status == 200
    except Exception:
        return False


def run(members: int, users: int, latency_ms: float, binary: str, extra: list[str]) -> dict:
    seeded = time.monotonic()
    moto, endpoint = start_moto(organization(members, users), latency_ms)
    seed_seconds = time.monotonic() - seeded
    proc = subprocess.Popen(
        [binary, "--web.listen-address", "127.0.0.1:0", "--refresh.interval", "1m",
         "--aws.organization.role-name", "OrganizationAccountAccessRole", *extra],
        env=aws_env(endpoint), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    finished: list[tuple[float, str]] = []
    address_box: list[str] = []
    lock = threading.Condition()

    def read_log() -> None:
        for line in proc.stderr:
            with lock:
                if "msg=listening" in line:
                    address_box.append(re.search(r"address=(\S+)", line).group(1))
                if 'msg="refresh finished"' in line:
                    finished.append((time.monotonic() - started, line.strip()))
                lock.notify_all()

    threading.Thread(target=read_log, daemon=True).start()
    result: dict = {"members": members, "users": users, "seed_seconds": seed_seconds}
    try:
        with lock:
            lock.wait_for(lambda: address_box, timeout=30)
        address = address_box[0]
        while not ready(address):
            time.sleep(0.05)
            if time.monotonic() - started > 3600:
                raise SystemExit("not ready after an hour")
        result["ready_seconds"] = time.monotonic() - started
        with lock:
            lock.wait_for(lambda: len(finished) >= 1, timeout=3600)
        result["first_seconds"] = finished[0][0]
        result["first_log"] = finished[0][1]
        first_calls = calls(address)
        result["first_calls"] = first_calls
        result["rss_after_first_kib"] = rss_kib(proc.pid, "VmRSS")
        with lock:
            lock.wait_for(lambda: len(finished) >= 2, timeout=3600)
        second_calls = calls(address)
        result["second_log"] = finished[1][1]
        m = re.search(r'duration=([0-9.]+)(ms|µs|s)\b', finished[1][1])
        result["second_seconds"] = float(m.group(1)) * {"s": 1, "ms": 1e-3, "µs": 1e-6}[m.group(2)]
        result["second_calls"] = {k: v - first_calls.get(k, 0) for k, v in second_calls.items()}
        result["rss_after_second_kib"] = rss_kib(proc.pid, "VmRSS")
        result["rss_peak_kib"] = rss_kib(proc.pid, "VmHWM")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        moto.terminate()
        moto.wait(timeout=30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", default="100,1000")
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--bin", default=str(ROOT / "target" / "release" / "iam-credentials-exporter"))
    parser.add_argument("--json", action="store_true", help="print raw results as JSON lines")
    parser.add_argument("extra", nargs="*", help="more exporter flags (after --)")
    args = parser.parse_args()
    for members in [int(n) for n in args.accounts.split(",")]:
        r = run(members, args.users, args.latency_ms, args.bin, args.extra)
        if args.json:
            print(json.dumps(r), flush=True)
            continue
        ops = sorted(set(r["first_calls"]) | set(r["second_calls"]))
        print(f"\n### {members} member accounts, {args.users} users each, "
              f"{args.latency_ms:g} ms per moto response")
        print(f"\nflags: default + --aws.organization.role-name {' '.join(args.extra)}".rstrip())
        print("\n| | first refresh | steady state |")
        print("|---|---|---|")
        print(f"| ready (first account served) | {r['ready_seconds']:.1f} s | |")
        print(f"| refresh duration | {r['first_seconds']:.1f} s | {r['second_seconds']:.1f} s |")
        for op in ops:
            print(f"| {op} | {r['first_calls'].get(op, 0)} | {r['second_calls'].get(op, 0)} |")
        print(f"| RSS after the refresh | {r['rss_after_first_kib'] / 1024:.1f} MiB "
              f"| {r['rss_after_second_kib'] / 1024:.1f} MiB (peak {r['rss_peak_kib'] / 1024:.1f}) |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
