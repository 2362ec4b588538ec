#!/usr/bin/env python3
"""Refresh cost against moto: API calls per refresh and wall time.

1. One account of 1,000 users and 2,000 keys: the first refresh with
   --source report, api and report,api.
2. 50 accounts reached through AssumeRole (an organization in moto, discovered
   with --aws.organization.role-name): total refresh time at two settings of
   --aws.max-accounts-parallel.

Each figure is the first refresh of a fresh exporter process against a moto
whose credential reports already exist (the steady state: AWS keeps a report
for 4 hours), so it includes one sts:GetCallerIdentity per process.

Usage: bench/refresh_cost.py [--users 1000] [--accounts 50] [--parallel 1,8] [--latency-ms 50]
Needs a release build (cargo build --release) and the test venv
(scripts/install-test-deps.sh). Prints Markdown tables.

moto answers in microseconds from one Python process; real IAM, STS and
Organizations calls take tens of milliseconds. The many-accounts run adds a
round trip (--latency-ms) to every moto response, so that refreshing accounts
in parallel shows what it saves against a remote endpoint.

moto answers from one Python process, so absolute times are moto's, not
AWS's; the call counts are exact and the ratios between settings hold.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "iam-credentials-exporter"
PYTHON = ROOT / ".venv" / "bin" / "python"
LAUNCHER = ROOT / "tests" / "harness" / "moto_launcher.py"


def start_moto(seed: dict, latency_ms: float = 0) -> tuple[subprocess.Popen, str, dict]:
    seed_file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(seed, seed_file)
    seed_file.close()
    proc = subprocess.Popen(
        [str(PYTHON), str(LAUNCHER), "--seed", seed_file.name, "--port", "0",
         "--no-verify", "--max-seconds", "1800", "--latency-ms", str(latency_ms)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    accounts = {}
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("moto launcher exited before READY")
        if line.startswith("ACCOUNTS "):
            accounts = json.loads(line[len("ACCOUNTS "):])
        if line.startswith("ERROR"):
            raise SystemExit(line)
        if line.startswith("READY "):
            return proc, line.split()[1], accounts


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


DURATION = re.compile(r'duration=([0-9.]+)(ms|µs|s)\b')


def first_refresh(endpoint: str, args: list[str]) -> tuple[float, dict]:
    """Runs the exporter until its first refresh ends; returns (seconds, calls)."""
    proc = subprocess.Popen(
        [str(BIN), "--web.listen-address", "127.0.0.1:0", "--refresh.interval", "1h",
         "--refresh.timeout", "20m", *args],
        env=aws_env(endpoint), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    address = None
    try:
        for line in proc.stderr:
            if "msg=listening" in line:
                address = re.search(r"address=(\S+)", line).group(1)
            if 'msg="refresh finished"' in line:
                value, unit = DURATION.search(line).groups()
                seconds = float(value) * {"s": 1, "ms": 1e-3, "µs": 1e-6}[unit]
                failed = re.search(r"accounts_failed=(\d+)", line).group(1)
                if failed != "0":
                    raise SystemExit(f"refresh had failures: {line}")
                break
        body = urllib.request.urlopen(f"http://{address}/metrics", timeout=60).read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    calls = {}
    for line in body.splitlines():
        m = re.match(r'aws_iam_exporter_api_requests_total\{operation="(\w+)"\} (\S+)', line)
        if m:
            calls[m.group(1)] = int(float(m.group(2)))
    return seconds, calls


def one_account(users: int) -> list[tuple[str, float, dict]]:
    seed_users = []
    for i in range(users):
        seed_users.append({
            "name": f"user-{i:05d}", "created": "2024-01-01T00:00:00Z",
            "password": i % 3 == 0, "mfa": i % 2 == 0,
            "keys": [
                {"created": "2024-02-01T00:00:00Z",
                 "last_used": {"date": "2026-11-01T00:00:00Z", "region": "eu-west-1", "service": "s3"}},
                {"created": "2025-02-01T00:00:00Z", "status": "Inactive" if i % 4 == 0 else "Active"},
            ],
        })
    moto, endpoint, _ = start_moto({"accounts": [{"users": seed_users}]})
    try:
        # moto answers STARTED to the very first GenerateCredentialReport, which
        # costs one poll and a 1 s backoff; measure the steady state after it.
        first_refresh(endpoint, ["--source", "report"])
        rows = []
        for source in ["report", "api", "report,api"]:
            seconds, calls = first_refresh(endpoint, ["--source", source])
            rows.append((source, seconds, calls))
        return rows
    finally:
        moto.stdin.close()
        moto.terminate()
        moto.wait(timeout=30)


def many_accounts(count: int, parallel: list[int], latency_ms: float) -> list[tuple[int, float, dict]]:
    accounts = [{"label": "mgmt", "name": "Management"}]
    for i in range(1, count):
        accounts.append({
            "label": f"a{i}", "id": f"{500000000000 + i:012d}", "name": f"Member {i}",
            "users": [{"name": f"u{j}", "created": "2025-01-01T00:00:00Z",
                       "keys": [{"created": "2025-01-02T00:00:00Z"}]} for j in range(10)],
        })
    moto, endpoint, _ = start_moto(
        {"organization": {"feature_set": "ALL"}, "accounts": accounts}, latency_ms)
    try:
        # Warm-up: every member account's first report costs a poll (see above).
        first_refresh(endpoint, [
            "--aws.organization.role-name", "OrganizationAccountAccessRole",
            "--aws.max-accounts-parallel", str(max(parallel))])
        rows = []
        for p in parallel:
            seconds, calls = first_refresh(endpoint, [
                "--aws.organization.role-name", "OrganizationAccountAccessRole",
                "--aws.max-accounts-parallel", str(p)])
            rows.append((p, seconds, calls))
        return rows
    finally:
        moto.stdin.close()
        moto.terminate()
        moto.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--parallel", default="1,8")
    parser.add_argument("--latency-ms", type=float, default=50.0,
                        help="round trip added to every moto response in the many-accounts run")
    args = parser.parse_args()
    if not BIN.exists():
        raise SystemExit("build first: cargo build --release")

    single = one_account(args.users)
    many = many_accounts(args.accounts, [int(p) for p in args.parallel.split(",")],
                         args.latency_ms)

    keys = args.users * 2
    print(f"### One account: {args.users} users, {keys} keys (moto)\n")
    print("| --source | API calls in the first refresh | by operation | wall time |")
    print("|---|---|---|---|")
    for source, seconds, calls in single:
        ops = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
        print(f"| `{source}` | {sum(calls.values())} | {ops} | {seconds:.2f} s |")
    print(f"\n### {args.accounts} accounts through AssumeRole (moto organization, 10 users each, "
          f"{args.latency_ms:g} ms added to every response)\n")
    print("| --aws.max-accounts-parallel | total refresh time | API calls |")
    print("|---|---|---|")
    for p, seconds, calls in many:
        print(f"| {p} | {seconds:.2f} s | {sum(calls.values())} |")
    if len(many) == 2:
        print(f"\nSpeed-up from {many[0][0]} to {many[1][0]} accounts in parallel: "
              f"{many[0][1] / many[1][1]:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
