#!/usr/bin/env python3
"""Response bytes and time of one GetAccountAuthorizationDetails listing per
filter set, for the account of bench/collectors.py --tags (1,000 users with
three tags and a group each, 10 groups, 1,000 roles with three tags each).

The roles collector alone lists Filter=Role; authorization-details lists
Filter=User,Group,Role, the one listing both collectors share; Filter=User,Group
would be its listing if it did not count roles' policies. Every moto response
is delayed by --latency-ms. moto answers in one page whatever MaxItems says;
AWS pages the entities of every filter together, at most 1,000 a page, so the
pages AWS would need are ceil(entities / 1,000) or more.

Usage: bench/listing_bytes.py [--users 1000] [--roles 1000] [--latency-ms 50]
Needs the test venv (scripts/install-test-deps.sh). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collectors import seed  # noqa: E402
from refresh_cost import start_moto  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()

    import boto3

    seed_doc, _ = seed(args.users, args.roles, tagged=True)
    moto, endpoint, _ = start_moto(seed_doc, args.latency_ms)
    try:
        iam = boto3.session.Session().client(
            "iam", region_name="us-east-1", endpoint_url=endpoint,
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x")
        sizes: list[int] = []
        iam.meta.events.register(
            "after-call.iam.GetAccountAuthorizationDetails",
            lambda http_response, **_: sizes.append(len(http_response.content)))
        print(f"{args.users:,} users (3 tags, 1 group each), 10 groups, {args.roles:,} roles "
              f"(3 tags each); {args.latency_ms:g} ms added to every moto response.\n")
        print("| filter | entities | moto calls | pages on AWS (1,000 a page) | response bytes "
              "| time |")
        print("|---|---:|---:|---:|---:|---:|")
        for filters in (["Role"], ["User", "Group"], ["User", "Group", "Role"]):
            sizes.clear()
            began = time.monotonic()
            entities, calls = 0, 0
            for page in iam.get_paginator("get_account_authorization_details").paginate(
                    Filter=filters, PaginationConfig={"PageSize": 1000}):
                calls += 1
                entities += sum(len(page.get(k, [])) for k in
                                ("UserDetailList", "GroupDetailList", "RoleDetailList"))
            elapsed = time.monotonic() - began
            print(f"| `{','.join(filters)}` | {entities:,} | {calls} | "
                  f"{math.ceil(entities / 1000)} | {sum(sizes):,} | {elapsed:.2f} s |")
    finally:
        moto.stdin.close()
        moto.terminate()
        moto.wait(timeout=30)


if __name__ == "__main__":
    main()
