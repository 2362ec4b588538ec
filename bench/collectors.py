#!/usr/bin/env python3
"""Calls and time of every collector for one account of 1,000 users and
1,000 roles (moto).

One moto account: --users users, each with one access key, one SSH public
key and, one user in ten, a service-specific credential (when the moto
launcher can seed them), one user in five with a virtual MFA device, a
password policy, and --roles roles (one in three used, one in five with an
inline policy). Every moto response is delayed by --latency-ms (a round trip
to AWS). The exporter binary runs once per configuration, until its first
refresh ends:

- the core alone (`--collector.disable-defaults`, credential report source);
- each collector alone (`--collector.disable-defaults --collector.NAME`),
  for every collector the binary's `--help` lists;
- the defaults (no collector flag).

From /metrics: `aws_iam_exporter_api_requests_total` by operation, and
`aws_iam_exporter_collector_duration_seconds` and `..._success` per
collector. A collector's calls are its run's calls minus the core's.
A collector without health series in its run did not apply to the account
(root-credentials needs an organization member with centralized root
access), and is listed as such.

With --tags, every user and every role has three tags (team, owner,
cost-center) and every user is in one of ten groups; runs in which the
authorization-details or roles collector is on then choose those tags
(`--metrics.user-tags`, `--metrics.role-tags`), where the binary has the
flags. A binary with authorization-details is also run with it and roles
together, the pair that shares one listing.

Usage: bench/collectors.py [--users 1000] [--roles 1000] [--latency-ms 50]
                           [--tags] [--bin target/release/iam-credentials-exporter]
Needs a build of the exporter and the test venv (scripts/install-test-deps.sh).
Prints a Markdown table. moto answers from one Python process; the round
trips overlap (threaded server), so the times are those of --latency-ms per
call at the exporter's concurrency plus moto's own time. Call counts are
exact.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / "tests" / "harness" / "moto_launcher.py"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from refresh_cost import DURATION, aws_env, start_moto  # noqa: E402

SERVICES = ["codecommit.amazonaws.com", "bedrock.amazonaws.com", "logs.amazonaws.com"]
INLINE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
     "Resource": ["arn:aws:s3:::example-app", "arn:aws:s3:::example-app/*"]}]}


def launcher_fields() -> set[str]:
    """USER fields the moto launcher accepts (SSH keys and service-specific
    credentials arrived after roles)."""
    text = LAUNCHER.read_text()
    m = re.search(r"def normalize_user.*?check_fields\(\s*user,\s*\{(.*?)\}", text, re.S)
    return set(re.findall(r'"(\w+)"', m.group(1))) if m else set()


TAG_KEYS = "team,owner,cost-center"


def tags(i: int) -> dict[str, str]:
    return {"team": f"team-{i % 20}", "owner": f"owner-{i % 100}@example.com",
            "cost-center": str(4000 + i % 50)}


def seed(users: int, roles: int, tagged: bool = False) -> tuple[dict, list[str]]:
    fields = launcher_fields()
    seeded = ["access keys", "MFA"]
    if tagged:
        seeded.append("3 tags and 1 group each")
    people = []
    for i in range(users):
        user: dict = {"name": f"user-{i:05d}", "created": "2024-01-01T00:00:00Z",
                      "mfa": i % 5 == 0,
                      "keys": [{"created": "2024-02-01T00:00:00Z"}]}
        if tagged:
            user["tags"] = tags(i)
            user["groups"] = [f"group-{i % 10}"]
        if "ssh_keys" in fields:
            user["ssh_keys"] = [{"uploaded": "2025-01-01T00:00:00Z"}]
        if "service_specific_credentials" in fields and i % 10 == 0:
            user["service_specific_credentials"] = [
                {"service": SERVICES[(i // 10) % len(SERVICES)], "created": "2025-06-01T00:00:00Z"}]
        people.append(user)
    if "ssh_keys" in fields:
        seeded.append("SSH keys")
    if "service_specific_credentials" in fields:
        seeded.append("service-specific credentials")
    role_list = []
    for i in range(roles):
        role: dict = {"name": f"role-{i:05d}", "created": "2024-01-01T00:00:00Z"}
        if i % 3 == 0:
            role["last_used"] = {"date": "2026-11-01T00:00:00Z", "region": "eu-west-1"}
        if i % 5 == 0:
            role["inline_policies"] = {"app": INLINE}
        if tagged:
            role["tags"] = tags(i)
        role_list.append(role)
    account = {"users": people, "roles": role_list,
               "password_policy": {"MinimumPasswordLength": 14, "PasswordReusePrevention": 24}}
    return {"accounts": [account]}, seeded


def collectors(binary: str) -> list[tuple[str, bool]]:
    """(name, on by default) of every collector, from --help."""
    text = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    found = []
    for m in re.finditer(r"--collector\.([a-z0-9-]+)\[=<BOOL>\]\s+Enable the \S+ collector "
                         r"\((on|off) by default\)", text):
        found.append((m.group(1), m.group(2) == "on"))
    return found


def tag_flags(binary: str, args: list[str], names: list[tuple[str, bool]]) -> list[str]:
    """The tag flags for a run with `args`: each where its collector is on."""
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True,
                               check=True).stdout
    on = {name for name, default in names
          if f"--collector.{name}" in args
          or (default and "--collector.disable-defaults" not in args)}
    out = []
    for flag, collector in (("--metrics.user-tags", "authorization-details"),
                            ("--metrics.role-tags", "roles")):
        if flag in help_text and collector in on:
            out.append(f"{flag}={TAG_KEYS}")
    return out


def first_refresh(binary: str, endpoint: str, args: list[str]) -> dict:
    """Runs the exporter until its first refresh ends; what /metrics says then."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [binary, "--web.listen-address", "127.0.0.1:0", "--refresh.interval", "1h",
         "--refresh.timeout", "20m", *args],
        env=aws_env(endpoint), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    address = None
    refresh = None
    try:
        for line in proc.stderr:
            if "msg=listening" in line:
                address = re.search(r"address=(\S+)", line).group(1)
            if 'msg="refresh finished"' in line:
                value, unit = DURATION.search(line).groups()
                refresh = float(value) * {"s": 1, "ms": 1e-3, "µs": 1e-6}[unit]
                if re.search(r"accounts_failed=(\d+)", line).group(1) != "0":
                    raise SystemExit(f"refresh had failures: {line}")
                break
        body = urllib.request.urlopen(f"http://{address}/metrics", timeout=60).read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    out: dict = {"refresh": refresh, "wall": time.monotonic() - started, "calls": {},
                 "duration": {}, "success": {}}
    for line in body.splitlines():
        m = re.match(r'aws_iam_exporter_api_requests_total\{operation="(\w+)"\} (\S+)', line)
        if m:
            out["calls"][m.group(1)] = int(float(m.group(2)))
        m = re.match(r'aws_iam_exporter_collector_(duration_seconds|success)'
                     r'\{account_id="\d+",collector="([a-z0-9-]+)"\} (\S+)', line)
        if m:
            key = "duration" if m.group(1) == "duration_seconds" else "success"
            out[key][m.group(2)] = float(m.group(3))
    return out


def minus(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: v - b.get(k, 0) for k, v in a.items() if v - b.get(k, 0)}


def ops(calls: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(calls.items())) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--bin", default=str(ROOT / "target/release/iam-credentials-exporter"))
    parser.add_argument("--tags", action="store_true",
                        help="tags on every user and role, chosen as labels where possible")
    args = parser.parse_args()
    if not Path(args.bin).exists():
        raise SystemExit(f"{args.bin} is missing: cargo build --release")

    names = collectors(args.bin)
    seed_doc, seeded = seed(args.users, args.roles, args.tags)

    def run(flags: list[str]) -> dict:
        extra = tag_flags(args.bin, flags, names) if args.tags else []
        return first_refresh(args.bin, endpoint, flags + extra)

    began = time.monotonic()
    moto, endpoint, _ = start_moto(seed_doc, args.latency_ms)
    seeding = time.monotonic() - began
    try:
        # moto answers STARTED to the first GenerateCredentialReport (one poll
        # more); every run below finds the report ready, as AWS's steady state.
        run(["--collector.disable-defaults"])
        core = run(["--collector.disable-defaults"])
        runs = [(name, default, run(["--collector.disable-defaults", f"--collector.{name}"]))
                for name, default in names]
        pair = None
        if "authorization-details" in dict(names):
            pair = run(["--collector.disable-defaults", "--collector.roles",
                        "--collector.authorization-details"])
        defaults = run([])
    finally:
        moto.stdin.close()
        moto.terminate()
        moto.wait(timeout=30)

    print(f"One account, {args.users:,} users ({', '.join(seeded)}), {args.roles:,} roles; "
          f"{args.latency_ms:g} ms added to every moto response; seeded in {seeding:.0f} s; "
          f"`{Path(args.bin).name}` with `--aws.max-concurrency 4` (default).\n")
    print("| configuration | default | API calls of the collector | by operation | "
          "collector duration | first refresh |")
    print("|---|---|---:|---|---:|---:|")
    print(f"| core only (`--collector.disable-defaults`, `--source report`) | | "
          f"{sum(core['calls'].values()):,} (core) | {ops(core['calls'])} | | "
          f"{core['refresh']:.2f} s |")
    not_applicable = []
    for name, default, run in runs:
        on = "on" if default else "off"
        if name not in run["success"]:
            not_applicable.append(name)
            print(f"| `{name}` alone | {on} | not applicable to this account | "
                  f"{ops(minus(run['calls'], core['calls']))} | | {run['refresh']:.2f} s |")
            continue
        extra = minus(run["calls"], core["calls"])
        ok = "" if run["success"][name] == 1 else " (failed)"
        print(f"| `{name}` alone | {on} | {sum(extra.values()):,} | {ops(extra)} | "
              f"{run['duration'][name]:.2f} s{ok} | {run['refresh']:.2f} s |")
    if pair is not None:
        extra = minus(pair["calls"], core["calls"])
        slowest = max(pair["duration"].values())
        print(f"| `roles` and `authorization-details` together | | {sum(extra.values()):,} | "
              f"{ops(extra)} | {slowest:.2f} s (the slower) | {pair['refresh']:.2f} s |")
    extra = minus(defaults["calls"], core["calls"])
    slowest = max(defaults["duration"].items(), key=lambda kv: kv[1], default=("-", 0.0))
    print(f"| defaults (no collector flag) | | {sum(extra.values()):,} | {ops(extra)} | "
          f"slowest: {slowest[0]} {slowest[1]:.2f} s | {defaults['refresh']:.2f} s |")
    if not_applicable:
        print(f"\nNot applicable here (no health series): {', '.join(not_applicable)}.")


if __name__ == "__main__":
    main()
