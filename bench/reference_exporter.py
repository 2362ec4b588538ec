#!/usr/bin/env python3
"""The reference for the scrape benchmark: the same series as the exporter's
credential report source, exposed by the Python `prometheus_client` the usual
way (a custom collector that builds metric families at scrape time, served by
`start_http_server`, text or OpenMetrics by the Accept header).

Usage: reference_exporter.py REPORT.csv
Prints the listening address (127.0.0.1:PORT) on stdout, then serves until
stdin closes.
"""

import csv
import re
import sys
import threading
import time
from datetime import datetime

from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

NO_VALUE = {"", "n/a", "no_information", "not_supported"}
ARN_ACCOUNT = re.compile(r"^arn:[^:]*:iam::(\d{12}):")
CACHED = "Cached by the exporter, refreshed every 300s"


def ts(v):
    return None if v.strip().lower() in NO_VALUE else int(datetime.fromisoformat(v).timestamp())


def boolean(v):
    v = v.strip().lower()
    return None if v in NO_VALUE else v == "true"


def load(path):
    users = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            keys = []
            for slot in ("1", "2"):
                p = f"access_key_{slot}_"
                active, created = boolean(row[p + "active"]) or False, ts(row[p + "last_rotated"])
                if not active and created is None:
                    continue
                used = ts(row[p + "last_used_date"])
                region, service = row[p + "last_used_region"], row[p + "last_used_service"]
                keys.append({
                    "slot": slot, "active": active, "created": created, "used": used,
                    "region": "" if region.lower() in NO_VALUE else region,
                    "service": "" if service.lower() in NO_VALUE else service,
                })
            m = ARN_ACCOUNT.match(row["arn"])
            users.append({
                "account": m.group(1) if m else "", "name": row["user"], "arn": row["arn"],
                "created": ts(row["user_creation_time"]),
                "password": boolean(row["password_enabled"]),
                "password_used": ts(row["password_last_used"]),
                "password_changed": ts(row["password_last_changed"]),
                "mfa": boolean(row["mfa_active"]) or False,
                "keys": keys,
            })
    return users


class CredentialCollector(Collector):
    def __init__(self, users):
        self.users = users
        self.refreshed = int(time.time())

    def collect(self):
        now = int(time.time())
        help_ = lambda text: f"{text}. {CACHED}"
        k = ["account_id", "user", "slot", "access_key_id"]
        key_families = {
            name: GaugeMetricFamily(name, help_(text), labels=k)
            for name, text in [
                ("aws_iam_access_key_active", "1 if the access key is active, 0 if inactive"),
                ("aws_iam_access_key_created_timestamp_seconds", "Time the access key was created (last rotated), in Unix seconds"),
                ("aws_iam_access_key_age_seconds", "Seconds since the access key was created"),
                ("aws_iam_access_key_last_used_timestamp_seconds", "Time the access key was last used, in Unix seconds; absent if never used"),
                ("aws_iam_access_key_since_last_used_seconds", "Seconds since the access key was last used; absent if never used"),
                ("aws_iam_access_key_idle_seconds", "Seconds since the access key was last used, or since it was created if never used"),
                ("aws_iam_access_key_never_used", "1 if the access key has never been used, 0 otherwise"),
            ]
        }
        info = GaugeMetricFamily(
            "aws_iam_access_key_last_used_info",
            help_("Region and service of the access key's last use; value is always 1"),
            labels=k + ["last_used_region", "last_used_service"])
        u = ["account_id", "user"]
        user_families = {
            name: GaugeMetricFamily(name, help_(text), labels=u)
            for name, text in [
                ("aws_iam_user_created_timestamp_seconds", "Time the user was created, in Unix seconds"),
                ("aws_iam_user_password_enabled", "1 if the user has a console password, 0 if not"),
                ("aws_iam_user_password_last_used_timestamp_seconds", "Time the console password was last used, in Unix seconds"),
                ("aws_iam_user_password_last_changed_timestamp_seconds", "Time the console password was last changed, in Unix seconds"),
                ("aws_iam_user_mfa_active", "1 if the user has an MFA device enabled, 0 if not"),
                ("aws_iam_user_active_access_keys", "Number of active access keys of the user (0 to 2)"),
                ("aws_iam_user_last_activity_timestamp_seconds", "Latest use of the user's password or access keys, in Unix seconds"),
                ("aws_iam_user_idle_seconds", "Seconds since the user's last activity, or since its creation if none"),
            ]
        }
        user_info = GaugeMetricFamily(
            "aws_iam_user_info", help_("IAM user (or <root_account>) and its ARN; value is always 1"),
            labels=u + ["arn"])
        f = key_families
        g = user_families
        for user in self.users:
            acc, name = user["account"], user["name"]
            for key in user["keys"]:
                lv = [acc, name, key["slot"], ""]
                f["aws_iam_access_key_active"].add_metric(lv, int(key["active"]))
                created, used = key["created"], key["used"]
                if created is not None:
                    f["aws_iam_access_key_created_timestamp_seconds"].add_metric(lv, created)
                    f["aws_iam_access_key_age_seconds"].add_metric(lv, now - created)
                if used is not None:
                    f["aws_iam_access_key_last_used_timestamp_seconds"].add_metric(lv, used)
                    f["aws_iam_access_key_since_last_used_seconds"].add_metric(lv, now - used)
                idle = used if used is not None else created
                if idle is not None:
                    f["aws_iam_access_key_idle_seconds"].add_metric(lv, now - idle)
                f["aws_iam_access_key_never_used"].add_metric(lv, int(used is None))
                if used is not None:
                    info.add_metric(lv + [key["region"], key["service"]], 1)
            lv = [acc, name]
            user_info.add_metric(lv + [user["arn"]], 1)
            if user["created"] is not None:
                g["aws_iam_user_created_timestamp_seconds"].add_metric(lv, user["created"])
            if user["password"] is not None:
                g["aws_iam_user_password_enabled"].add_metric(lv, int(user["password"]))
            if user["password_used"] is not None:
                g["aws_iam_user_password_last_used_timestamp_seconds"].add_metric(lv, user["password_used"])
            if user["password_changed"] is not None:
                g["aws_iam_user_password_last_changed_timestamp_seconds"].add_metric(lv, user["password_changed"])
            g["aws_iam_user_mfa_active"].add_metric(lv, int(user["mfa"]))
            g["aws_iam_user_active_access_keys"].add_metric(lv, sum(k["active"] for k in user["keys"]))
            uses = [k["used"] for k in user["keys"] if k["used"] is not None]
            if user["password_used"] is not None:
                uses.append(user["password_used"])
            last = max(uses) if uses else None
            if last is not None:
                g["aws_iam_user_last_activity_timestamp_seconds"].add_metric(lv, last)
            since = last if last is not None else user["created"]
            if since is not None:
                g["aws_iam_user_idle_seconds"].add_metric(lv, now - since)
        yield from f.values()
        yield info
        yield user_info
        yield from g.values()
        accounts = sorted({u["account"] for u in self.users})
        success = GaugeMetricFamily(
            "aws_iam_exporter_account_refresh_success",
            "1 if the last refresh of the account succeeded, 0 if it failed", labels=["account_id"])
        last_ok = GaugeMetricFamily(
            "aws_iam_exporter_account_last_refresh_success_timestamp_seconds",
            "Time of the account's last successful refresh, in Unix seconds", labels=["account_id"])
        for acc in accounts:
            success.add_metric([acc], 1)
            last_ok.add_metric([acc], self.refreshed)
        yield success
        yield last_ok


def main():
    REGISTRY.register(CredentialCollector(load(sys.argv[1])))
    server, thread = start_http_server(0, addr="127.0.0.1")
    print(f"127.0.0.1:{server.server_port}", flush=True)
    sys.stdin.read()  # serve until the parent closes stdin
    server.shutdown()


if __name__ == "__main__":
    main()
