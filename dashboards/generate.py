#!/usr/bin/env python3
"""Generate the Grafana dashboards of iam-credentials-exporter.

The JSON files next to this script are its output and are what Grafana
imports; edit this script and run it again (standard library only):

    python3 dashboards/generate.py

Conventions shared by the three dashboards:
- title prefix "AWS IAM / ", tag "iam-credentials-exporter";
- the data source is the `datasource` variable (type datasource), so the files
  import as they are and also load through file provisioning;
- `account` (label_values(aws_iam_user_info, account_id)) and `user` are
  multi-value variables with "All" = `.*`, used as `=~"$account"` matchers;
- the job selector is the one of the alerts, job="iam-credentials-exporter";
- counts come from the recording rules of alerts/iam-credentials.recording.yml.

tests/e2e.rs runs every query of these files against a real Prometheus.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
TAG = "iam-credentials-exporter"
JOB = 'job="iam-credentials-exporter"'
DS = {"type": "prometheus", "uid": "${datasource}"}
ACC = 'account_id=~"$account"'
USR = 'user=~"$user"'
NOT_ROOT = 'user!="<root_account>"'
ROOT = 'user="<root_account>"'
DAY = 86400

# Thresholds of alerts/iam-credentials.rules.yml, in seconds.
ROTATION = 90 * DAY
UNUSED = 45 * DAY
INACTIVE = 90 * DAY
STALE_DATA = 1800
STALE_REPORT = 21600


def sel(*matchers: str) -> str:
    return "{" + ", ".join(matchers) + "}"


KEY = sel(JOB, ACC, USR)
USER = sel(JOB, ACC, USR)
ACCOUNT = sel(JOB, ACC)


class Layout:
    """Places panels left to right on a 24-column grid."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1

    def place(self, panel: dict, w: int, h: int) -> dict:
        if self.x + w > 24:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        panel["id"] = self.next_id
        self.next_id += 1
        self.x += w
        self.row_h = max(self.row_h, h)
        return panel

    def row(self, title: str) -> dict:
        if self.x:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0
        panel = {"type": "row", "title": title, "collapsed": False, "panels": []}
        self.place(panel, 24, 1)
        self.x = 0
        self.y += 1
        self.row_h = 0
        return panel


def target(expr: str, ref: str = "A", legend: str = "", instant: bool = False,
           table: bool = False) -> dict:
    t = {
        "datasource": DS,
        "refId": ref,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
    }
    if table:
        t["format"] = "table"
    return t


def thresholds(*steps: tuple[float | None, str]) -> dict:
    return {
        "mode": "absolute",
        "steps": [{"color": c, "value": v} for v, c in steps],
    }


def stat(title: str, expr: str, description: str, unit: str = "none",
         steps=((None, "green"), (1, "red")), legend: str = "",
         mappings: list | None = None) -> dict:
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": [target(expr, legend=legend, instant=True)],
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "decimals": 0,
                "color": {"mode": "thresholds"},
                "thresholds": thresholds(*steps),
                "mappings": mappings or [],
            },
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "justifyMode": "center",
            "textMode": "auto",
            "orientation": "auto",
        },
    }


def timeseries(title: str, targets: list[dict], description: str, unit: str = "none",
               stack: bool = False, bars: bool = False, threshold: float | None = None) -> dict:
    custom = {
        "drawStyle": "bars" if bars else "line",
        "lineWidth": 1,
        "fillOpacity": 80 if bars else 10,
        "showPoints": "never",
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        "thresholdsStyle": {"mode": "line" if threshold is not None else "off"},
    }
    steps = [(None, "green")] + ([(threshold, "red")] if threshold is not None else [])
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": 0,
                "color": {"mode": "palette-classic"},
                "custom": custom,
                "thresholds": thresholds(*steps),
            },
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                       "calcs": ["lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def override(column: str, **props) -> dict:
    properties = []
    for key, value in props.items():
        if key == "unit":
            properties.append({"id": "unit", "value": value})
        elif key == "steps":
            properties.append({"id": "thresholds", "value": thresholds(*value)})
            properties.append({"id": "custom.cellOptions",
                               "value": {"type": "color-background"}})
        elif key == "mappings":
            properties.append({"id": "mappings", "value": value})
        elif key == "width":
            properties.append({"id": "custom.width", "value": value})
    return {"matcher": {"id": "byName", "options": column}, "properties": properties}


def yes_no(yes_color: str, no_color: str) -> list:
    return [{
        "type": "value",
        "options": {
            "1": {"text": "yes", "color": yes_color, "index": 0},
            "0": {"text": "no", "color": no_color, "index": 1},
        },
    }]


def table(title: str, targets: list[dict], description: str, rename: dict,
          overrides: list, sort: str | None = None, merge: bool = True) -> dict:
    """An instant table; each target's value becomes a named column."""
    hidden = {"Time": True, "__name__": True, "job": True, "instance": True}
    transformations = []
    if merge and len(targets) > 1:
        transformations.append({"id": "merge", "options": {}})
    transformations.append({
        "id": "organize",
        "options": {"excludeByName": hidden, "renameByName": rename, "indexByName": {}},
    })
    panel = {
        "type": "table",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "transformations": transformations,
        "fieldConfig": {
            "defaults": {"custom": {"align": "auto", "filterable": True}},
            "overrides": overrides,
        },
        "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
    }
    if sort:
        panel["options"]["sortBy"] = [{"displayName": sort, "desc": True}]
    return panel


def variables(with_user: bool) -> list[dict]:
    out = [{
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "options": [],
    }, {
        "name": "account",
        "label": "Account",
        "type": "query",
        "datasource": DS,
        "definition": "label_values(aws_iam_user_info, account_id)",
        "query": {"query": "label_values(aws_iam_user_info, account_id)", "refId": "account"},
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "refresh": 2,
        "sort": 1,
        "hide": 0,
        "regex": "",
        "options": [],
    }]
    if with_user:
        q = 'label_values(aws_iam_user_info{account_id=~"$account"}, user)'
        out.append({
            "name": "user",
            "label": "User",
            "type": "query",
            "datasource": DS,
            "definition": q,
            "query": {"query": q, "refId": "user"},
            "multi": True,
            "includeAll": True,
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "refresh": 2,
            "sort": 1,
            "hide": 0,
            "regex": "",
            "options": [],
        })
    return out


def dashboard(uid: str, title: str, description: str, panels: list[dict],
              with_user: bool, time_from: str = "now-7d") -> dict:
    return {
        "uid": uid,
        "title": "AWS IAM / " + title,
        "description": description,
        "tags": [TAG],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": time_from, "to": "now"},
        "refresh": "5m",
        "timezone": "",
        "annotations": {"list": []},
        "links": [{
            "type": "dashboards",
            "title": "AWS IAM",
            "tags": [TAG],
            "asDropdown": True,
            "includeVars": True,
            "keepTime": True,
        }],
        "templating": {"list": variables(with_user)},
        "panels": panels,
    }


# ---------------------------------------------------------------------------
# Overview
# ---------------------------------------------------------------------------

def overview() -> dict:
    lay = Layout()
    p = []
    p.append(lay.row("Counts (IAM users; the root user is below)"))

    def count(title, record, description, bad=True):
        steps = ((None, "green"), (1, "orange")) if bad else ((None, "blue"),)
        return stat(title, f'sum(account_id:{record}{{{ACC}}})', description, steps=steps)

    stats = [
        count("IAM users", "aws_iam_users:count", "IAM users (root excluded).", bad=False),
        count("Active access keys", "aws_iam_access_keys_active:count",
              "Active access keys of IAM users.", bad=False),
        count("Keys not rotated > 90d", "aws_iam_access_keys_not_rotated:count",
              "Active keys older than 90 days (AwsIamAccessKeyNotRotated)."),
        count("Keys unused >= 45d", "aws_iam_access_keys_unused:count",
              "Active keys idle for 45 days or more; never-used keys count from "
              "creation (AwsIamAccessKeyUnused)."),
        count("Never-used keys", "aws_iam_access_keys_never_used:count",
              "Active keys that were never used."),
        count("Console users w/o MFA", "aws_iam_console_users_without_mfa:count",
              "Users with a console password and no MFA device (AwsIamConsoleUserWithoutMFA)."),
        count("Two active keys", "aws_iam_users_with_two_active_keys:count",
              "Users with both access keys active (AwsIamUserHasTwoActiveKeys)."),
        count("Inactive users >= 90d", "aws_iam_users_inactive:count",
              "Users with no password or key use for 90 days or more (AwsIamUserInactive)."),
    ]
    for s in stats:
        p.append(lay.place(s, 3, 4))

    p.append(lay.row("Access keys by age"))
    bucket_expr = (f'sum by (age_bucket) '
                   f'(account_id:aws_iam_access_keys_active:count_by_age_bucket{{{ACC}}})')
    bucket_colors = [
        {"matcher": {"id": "byName", "options": n},
         "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": c}}]}
        for n, c in [("<30d", "green"), ("30-90d", "yellow"), ("90-180d", "orange"),
                     (">180d", "red")]
    ]
    bars = {
        "type": "bargauge",
        "title": "Active access keys by age",
        "description": "Active keys of IAM users by age; keys older than 90 days must be "
                       "rotated. Recording rule "
                       "account_id:aws_iam_access_keys_active:count_by_age_bucket.",
        "datasource": DS,
        "targets": [target(bucket_expr, legend="{{age_bucket}}", instant=True)],
        "fieldConfig": {
            "defaults": {
                "unit": "none", "decimals": 0, "min": 0,
                "color": {"mode": "thresholds"},
                "thresholds": thresholds((None, "green")),
            },
            "overrides": bucket_colors,
        },
        "options": {
            "orientation": "horizontal",
            "displayMode": "basic",
            "showUnfilled": True,
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        },
    }
    p.append(lay.place(bars, 8, 8))
    over_time = timeseries(
        "Active access keys by age over time",
        [target(bucket_expr, legend="{{age_bucket}}")],
        "The same buckets over time: a growing > 90d band means rotation is falling behind.",
        stack=True)
    over_time["fieldConfig"]["overrides"] = bucket_colors
    p.append(lay.place(over_time, 16, 8))

    p.append(lay.row("Root user"))
    p.append(lay.place(stat(
        "Root active access keys",
        f'account_id:aws_iam_root_access_keys_active:count{{{ACC}}}',
        "Active access keys of the root user, per account; must be 0 "
        "(AwsIamRootAccessKeyActive).", legend="{{account_id}}"), 8, 5))
    p.append(lay.place(stat(
        "Root MFA",
        f'account_id:aws_iam_root_without_mfa:max{{{ACC}}}',
        "Whether the root user has an MFA device, per account (AwsIamRootWithoutMFA).",
        legend="{{account_id}}",
        mappings=[{"type": "value", "options": {
            "0": {"text": "MFA on", "color": "green", "index": 0},
            "1": {"text": "NO MFA", "color": "red", "index": 1}}}]), 8, 5))
    p.append(lay.place(stat(
        "Root last activity",
        f'time() - account_id:aws_iam_root_last_activity_timestamp_seconds:max{{{ACC}}}',
        "Time since the root user last signed in or used a key, per account; under a "
        "day fires AwsIamRootRecentlyUsed.",
        unit="dtdurations", legend="{{account_id}}",
        steps=((None, "red"), (DAY, "green"))), 8, 5))

    p.append(lay.row("Worst offenders"))
    active = f'aws_iam_access_key_active{sel(JOB, ACC, USR, NOT_ROOT)} == 1'
    key_cols = {"account_id": "Account", "user": "User", "slot": "Slot",
                "access_key_id": "Access key"}
    p.append(lay.place(table(
        "Oldest active access keys",
        [target(f'topk(10, aws_iam_access_key_age_seconds{sel(JOB, ACC, USR, NOT_ROOT)} '
                f'and {active})', instant=True, table=True)],
        "The ten oldest active keys of IAM users; over 90 days fires "
        "AwsIamAccessKeyNotRotated.",
        {**key_cols, "Value": "Age"},
        [override("Age", unit="dtdurations",
                  steps=((None, "green"), (ROTATION, "red")))],
        sort="Age"), 8, 9))
    p.append(lay.place(table(
        "Longest idle active access keys",
        [target(f'topk(10, aws_iam_access_key_idle_seconds{sel(JOB, ACC, USR, NOT_ROOT)} '
                f'and {active})', instant=True, table=True)],
        "The ten active keys unused for longest (never-used keys count from creation); "
        "45 days or more fires AwsIamAccessKeyUnused.",
        {**key_cols, "Value": "Idle"},
        [override("Idle", unit="dtdurations",
                  steps=((None, "green"), (UNUSED, "red")))],
        sort="Idle"), 8, 9))
    p.append(lay.place(table(
        "Longest idle users",
        [target(f'topk(10, aws_iam_user_idle_seconds{sel(JOB, ACC, USR, NOT_ROOT)})',
                instant=True, table=True)],
        "The ten users with no password or key use for longest (never-active users count "
        "from creation); 90 days or more fires AwsIamUserInactive.",
        {"account_id": "Account", "user": "User", "Value": "Idle"},
        [override("Idle", unit="dtdurations",
                  steps=((None, "green"), (INACTIVE, "red")))],
        sort="Idle"), 8, 9))

    return dashboard(
        "aws-iam-overview", "Overview",
        "IAM credential hygiene per AWS account: key age and use, MFA, root user.",
        p, with_user=True)


# ---------------------------------------------------------------------------
# Keys and users
# ---------------------------------------------------------------------------

def with_last_used(metric: str) -> str:
    """`metric` per key with the labels of its last use; never-used keys keep
    `metric` as is (the `or` arm), so every key has a row."""
    on = "on (job, instance, account_id, user, slot, access_key_id)"
    # `or on (...)`: a plain `or` would compare whole label sets, and the
    # joined series carry two labels more, so every key would come twice.
    return (f'{metric}{KEY} * {on} group_left (last_used_service, last_used_region) '
            f'aws_iam_access_key_last_used_info{KEY} or {on} {metric}{KEY}')


def keys_users() -> dict:
    lay = Layout()
    p = []
    p.append(lay.row("Access keys"))
    key_targets = [
        target(with_last_used("aws_iam_access_key_active"), "A", instant=True, table=True),
        target(with_last_used("aws_iam_access_key_age_seconds"), "B", instant=True, table=True),
        target(with_last_used("aws_iam_access_key_idle_seconds"), "C", instant=True, table=True),
        target(with_last_used("aws_iam_access_key_never_used"), "D", instant=True, table=True),
    ]
    p.append(lay.place(table(
        "Access keys",
        key_targets,
        "One row per access key slot. Idle counts from creation for a key that was never "
        "used. Last used service and region come from aws_iam_access_key_last_used_info "
        "(empty when never used, or where the source does not report them).",
        {"account_id": "Account", "user": "User", "slot": "Slot",
         "access_key_id": "Access key", "last_used_service": "Last used service",
         "last_used_region": "Last used region", "Value #A": "Active",
         "Value #B": "Age", "Value #C": "Idle", "Value #D": "Never used"},
        [override("Active", mappings=yes_no("green", "text"), width=80),
         override("Never used", mappings=yes_no("orange", "text"), width=100),
         override("Age", unit="dtdurations", steps=((None, "green"), (ROTATION, "red"))),
         override("Idle", unit="dtdurations", steps=((None, "green"), (UNUSED, "red")))],
        sort="Age"), 24, 12))

    p.append(lay.row("Users"))
    user_targets = [
        target(f'aws_iam_user_mfa_active{USER}', "A", instant=True, table=True),
        target(f'aws_iam_user_password_enabled{USER}', "B", instant=True, table=True),
        target(f'time() - aws_iam_user_password_last_used_timestamp_seconds{USER}', "C",
               instant=True, table=True),
        target(f'aws_iam_user_active_access_keys{USER}', "D", instant=True, table=True),
        target(f'aws_iam_user_idle_seconds{USER}', "E", instant=True, table=True),
    ]
    p.append(lay.place(table(
        "Users",
        user_targets,
        "One row per user (the root user is <root_account>). Password last used is empty "
        "when the password was never used or there is none; idle counts from creation for "
        "a user that was never active.",
        {"account_id": "Account", "user": "User", "Value #A": "MFA",
         "Value #B": "Password enabled", "Value #C": "Password last used",
         "Value #D": "Active keys", "Value #E": "Idle"},
        [override("MFA", mappings=yes_no("green", "red"), width=80),
         override("Password enabled", mappings=yes_no("text", "text"), width=140),
         override("Password last used", unit="dtdurations",
                  steps=((None, "green"), (UNUSED, "red"))),
         override("Active keys", steps=((None, "green"), (2, "orange")), width=110),
         override("Idle", unit="dtdurations", steps=((None, "green"), (INACTIVE, "red")))],
        sort="Idle"), 24, 12))

    p.append(lay.row("Selected users over time"))
    p.append(lay.place(timeseries(
        "Access key age",
        [target(f'aws_iam_access_key_age_seconds{KEY} and '
                f'aws_iam_access_key_active{KEY} == 1',
                legend="{{user}} slot {{slot}} ({{account_id}})")],
        "Age of the active keys of the selected users; the red line is the 90-day "
        "rotation threshold.", unit="s", threshold=ROTATION), 12, 8))
    p.append(lay.place(timeseries(
        "Access key idle time",
        [target(f'aws_iam_access_key_idle_seconds{KEY} and '
                f'aws_iam_access_key_active{KEY} == 1',
                legend="{{user}} slot {{slot}} ({{account_id}})")],
        "Time since the last use of the active keys of the selected users (from creation "
        "when never used); the red line is the 45-day threshold.",
        unit="s", threshold=UNUSED), 12, 8))

    return dashboard(
        "aws-iam-keys-users", "Keys and users",
        "Every access key and user with age, idle time, last use and MFA.",
        p, with_user=True)


# ---------------------------------------------------------------------------
# Exporter health
# ---------------------------------------------------------------------------

def health() -> dict:
    lay = Layout()
    p = []
    p.append(lay.row("Refresh"))
    ok_map = [{"type": "value", "options": {
        "1": {"text": "OK", "color": "green", "index": 0},
        "0": {"text": "FAILING", "color": "red", "index": 1}}}]
    p.append(lay.place(stat(
        "Last refresh per account",
        f'min by (account_id) (aws_iam_exporter_account_refresh_success{ACCOUNT})',
        "Whether the last refresh of each account succeeded (0 on any replica shows "
        "FAILING; AwsIamExporterRefreshFailing). An empty account id is a target whose "
        "account is not known yet because it never refreshed.",
        legend="{{account_id}}", steps=((None, "red"), (1, "green")), mappings=ok_map), 8, 6))
    p.append(lay.place(stat(
        "Scrape targets up",
        f'up{{{JOB}}}',
        "Whether Prometheus can scrape each exporter (AwsIamExporterDown).",
        legend="{{instance}}", steps=((None, "red"), (1, "green")),
        mappings=[{"type": "value", "options": {
            "1": {"text": "UP", "color": "green", "index": 0},
            "0": {"text": "DOWN", "color": "red", "index": 1}}}]), 8, 6))
    p.append(lay.place(table(
        "Build",
        [target(f'aws_iam_exporter_build_info{{{JOB}}}', instant=True, table=True)],
        "Version and revision of each exporter instance.",
        {"instance": "Instance", "version": "Version", "revision": "Revision"},
        [], merge=False) | {"transformations": [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "__name__": True, "job": True, "Value": True},
            "renameByName": {"instance": "Instance", "version": "Version",
                             "revision": "Revision"},
            "indexByName": {}}}]}, 8, 6))

    p.append(lay.place(timeseries(
        "Time since last successful refresh",
        [target(f'account_id:aws_iam_exporter_last_refresh_success_age_seconds:min{{{ACC}}}',
                legend="{{account_id}}")],
        "Age of the data served per account; above 30 minutes fires "
        "AwsIamExporterDataStale.", unit="s", threshold=STALE_DATA), 12, 8))
    p.append(lay.place(timeseries(
        "Refresh duration",
        [target(f'max by (account_id, instance) '
                f'(aws_iam_exporter_account_refresh_duration_seconds{ACCOUNT})',
                legend="{{account_id}} {{instance}}")],
        "Duration of the last refresh attempt per account and exporter.", unit="s"), 12, 8))
    p.append(lay.place(timeseries(
        "Credential report age",
        [target(f'account_id:aws_iam_credential_report_age_seconds:min{{{ACC}}}',
                legend="{{account_id}}")],
        "Time since AWS generated the credential report in use (AWS generates at most one "
        "every 4 hours); above 6 hours fires AwsIamCredentialReportStale.",
        unit="s", threshold=STALE_REPORT), 12, 8))
    p.append(lay.place(stat(
        "Credential report rows skipped",
        f'max by (account_id) (aws_iam_exporter_report_rows_skipped{ACCOUNT})',
        "Rows of the current credential report that could not be parsed (see the "
        "exporter's log); their users are missing from every panel.",
        legend="{{account_id}}", steps=((None, "green"), (1, "orange"))), 12, 8))

    p.append(lay.row("AWS API"))
    p.append(lay.place(timeseries(
        "API requests by operation",
        [target(f'sum by (operation) '
                f'(rate(aws_iam_exporter_api_requests_total{{{JOB}}}[$__rate_interval]))',
                legend="{{operation}}")],
        "AWS API requests per second, retries included. Every call costs quota.",
        unit="reqps"), 12, 8))
    p.append(lay.place(timeseries(
        "API errors by operation and code",
        [target(f'sum by (operation, code) '
                f'(rate(aws_iam_exporter_api_errors_total{{{JOB}}}[$__rate_interval]))',
                legend="{{operation}}: {{code}}")],
        "AWS API calls that failed after retries. AccessDenied names a missing "
        "permission (see docs/runbook.md); Throttling means too many calls.",
        unit="reqps"), 12, 8))

    return dashboard(
        "aws-iam-exporter-health", "Exporter health",
        "Is iam-credentials-exporter working: refreshes, data age, AWS API calls.",
        p, with_user=False, time_from="now-6h")


def main() -> None:
    for name, board in [("iam-overview.json", overview()),
                        ("iam-keys-users.json", keys_users()),
                        ("iam-exporter-health.json", health())]:
        (HERE / name).write_text(json.dumps(board, indent=2) + "\n")
        print(f"wrote dashboards/{name}")


if __name__ == "__main__":
    main()
