#!/usr/bin/env python3
"""Which IAM calls give every role's creation and last use most cheaply.

RoleLastUsed comes back from GetRole and from GetAccountAuthorizationDetails
(RoleDetail), not from ListRoles (AWS's ListRoles reference: "This operation
does not return ... RoleLastUsed"). So the two ways to read it for every role
of an account are:

  A. GetAccountAuthorizationDetails with Filter=Role, MaxItems=1000, paginated;
  B. ListRoles (MaxItems=1000, paginated) and one GetRole per role, GetRole
     calls N at a time (the exporter's --aws.max-concurrency, default 4).

For one moto account of --roles roles, each round trip delayed by
--latency-ms, this prints calls, response bytes and wall time of each. Two
role shapes: "bare" (a trust policy only) and "typical" (a trust policy, an
inline policy of about 500 bytes, two customer managed policies attached,
one role in five in an instance profile), because
GetAccountAuthorizationDetails returns a role's inline policy documents,
attached policies and instance profiles, and GetRole does not.

Usage: bench/roles_api.py [--roles 1000] [--latency-ms 50] [--concurrency 4]
Needs the test venv (scripts/install-test-deps.sh). Prints a Markdown table.

moto ignores MaxItems of GetAccountAuthorizationDetails (one page for any
number of roles); AWS returns at most 1,000 items per page and "might return
fewer", so on AWS A takes ceil(roles / 1000) pages or more. Times are a
Python client's against moto; the call counts and bytes are exact for moto's
responses, which carry the same elements as AWS's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
LAUNCHER = ROOT / "tests" / "harness" / "moto_launcher.py"

INLINE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ReadAppBucket", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetObjectVersion"],
         "Resource": ["arn:aws:s3:::example-app-data", "arn:aws:s3:::example-app-data/*"]},
        {"Sid": "Queue", "Effect": "Allow",
         "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
         "Resource": "arn:aws:sqs:eu-west-1:123456789012:example-app-queue"},
        {"Sid": "Logs", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "arn:aws:logs:eu-west-1:123456789012:log-group:/example/app:*"},
    ],
}
MANAGED = {
    f"shared-{i}": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [f"ssm:GetParameter{i}"], "Resource": "*"}]}
    for i in range(5)
}


def roles(n: int, shape: str) -> list[dict]:
    out = []
    for i in range(n):
        role: dict = {"name": f"role-{i:04d}", "created": "2024-01-01T00:00:00Z"}
        if i % 3 == 0:
            role["last_used"] = {"date": "2026-11-01T00:00:00Z", "region": "eu-west-1"}
        if shape == "typical":
            role["path"] = "/app/"
            role["inline_policies"] = {"app": INLINE}
            role["managed_policies"] = {
                name: MANAGED[name] for name in (f"shared-{i % 5}", f"shared-{(i + 1) % 5}")
            }
            role["instance_profile"] = i % 5 == 0
        out.append(role)
    return out


def start_moto(seed: dict, latency_ms: float) -> tuple[subprocess.Popen, str]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(seed, f)
    proc = subprocess.Popen(
        [str(PYTHON), str(LAUNCHER), "--seed", f.name, "--port", "0", "--no-verify",
         "--max-seconds", "1800", "--latency-ms", str(latency_ms)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        while True:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit("moto launcher exited before READY")
            if line.startswith("ERROR"):
                raise SystemExit(line)
            if line.startswith("READY "):
                return proc, line.split()[1]
    finally:
        Path(f.name).unlink()


class Counted:
    """An IAM client that counts calls and response body bytes."""

    def __init__(self, endpoint: str, concurrency: int):
        import boto3
        from botocore.config import Config

        self.client = boto3.session.Session().client(
            "iam", region_name="us-east-1", endpoint_url=endpoint,
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            config=Config(max_pool_connections=concurrency + 2,
                          retries={"max_attempts": 1}))
        self.calls = 0
        self.bytes = 0
        self.client.meta.events.register("after-call.iam", self._count)

    def _count(self, http_response, **_kwargs) -> None:  # type: ignore[no-untyped-def]
        self.calls += 1
        self.bytes += len(http_response.content)


def authorization_details(c: Counted) -> dict[str, tuple]:
    out = {}
    pages = c.client.get_paginator("get_account_authorization_details").paginate(
        Filter=["Role"], PaginationConfig={"PageSize": 1000})
    for page in pages:
        for r in page["RoleDetailList"]:
            last = r.get("RoleLastUsed", {})
            out[r["RoleName"]] = (r["CreateDate"], last.get("LastUsedDate"), last.get("Region"))
    return out


def list_and_get(c: Counted, concurrency: int) -> dict[str, tuple]:
    names = [r["RoleName"]
             for page in c.client.get_paginator("list_roles").paginate(
                 PaginationConfig={"PageSize": 1000})
             for r in page["Roles"]]

    def get(name: str) -> tuple[str, tuple]:
        r = c.client.get_role(RoleName=name)["Role"]
        last = r.get("RoleLastUsed", {})
        return name, (r["CreateDate"], last.get("LastUsedDate"), last.get("Region"))

    with ThreadPoolExecutor(concurrency) as pool:
        return dict(pool.map(get, names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    print(f"{args.roles} roles, {args.latency_ms:g} ms per round trip, "
          f"GetRole {args.concurrency} at a time\n")
    print("| roles | calls | API calls | response bytes | time (s) |")
    print("|---|---|---|---:|---:|")
    for shape in ("bare", "typical"):
        moto, endpoint = start_moto({"accounts": [{"roles": roles(args.roles, shape)}]},
                                    args.latency_ms)
        try:
            results = {}
            for name, run in (
                ("GetAccountAuthorizationDetails (Filter=Role)", authorization_details),
                ("ListRoles + GetRole per role",
                 lambda c: list_and_get(c, args.concurrency)),
            ):
                c = Counted(endpoint, args.concurrency)
                started = time.monotonic()
                results[name] = run(c)
                seconds = time.monotonic() - started
                print(f"| {shape} | {name} | {c.calls:,} | {c.bytes:,} | {seconds:.2f} |")
            a, b = results.values()
            if a != b or len(a) != args.roles:
                raise SystemExit(f"the two ways disagree or miss roles ({len(a)}, {len(b)})")
        finally:
            moto.terminate()
            moto.wait(30)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
