#!/usr/bin/env python3
"""Generate the Grafana dashboards of iam-credentials-exporter.

The JSON files next to this script are its output and are what Grafana
imports; edit this script (or the mixin configuration) and run it again with
the test environment's Python (scripts/install-test-deps.sh puts the pinned
grafana-foundation-sdk in .venv):

    .venv/bin/python dashboards/generate.py           # rewrite the JSON files
    .venv/bin/python dashboards/generate.py --check   # fail if they are not up to date

Panels, queries, variables and links are built with grafana-foundation-sdk,
Grafana's typed builders generated from its schemas (the release for Grafana
11.6, pinned in tests/harness/requirements.txt), so that no field is one
Grafana does not know. The job selector, tags, title prefix and thresholds
are read from the mixin configuration, `mixin/config.libsonnet`, rendered
with `jsonnet` at every run, so that the alerts and the dashboards change
together.

Four dashboards, linked to each other:
- Organization: one row per account (name, id, users, what to fix, root
  user, data freshness), each linking to the account dashboard.
- Account: what to do this week in the selected accounts: keys and users that
  break a rule first, then every user; bounded tables.
- User: one user's keys and their age and idle time over time.
- Exporter health: every account the exporter knows, including those that
  never refreshed.

Rules every panel follows (tests/dashboards.rs checks what Grafana would
draw from them, see dashboards/grafana.py):
- every query of a table aggregates `by (...)` its row key, so no frame
  carries `__name__` or `instance` and the merge transformation joins the
  queries of one row (two replicas of one account give one row too);
- every query of a table is an instant query in table format, bounded by
  topk(TABLE_ROWS, ...) unless its row key is the account;
- no panel draws a time series per user unless one user is selected.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import bargauge as sdk_bargauge
from grafana_foundation_sdk.builders import common as sdk_common
from grafana_foundation_sdk.builders import dashboard as sdk
from grafana_foundation_sdk.builders import prometheus as sdk_prometheus
from grafana_foundation_sdk.builders import stat as sdk_stat
from grafana_foundation_sdk.builders import table as sdk_table
from grafana_foundation_sdk.builders import timeseries as sdk_timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DAY = 86400

# Dashboard-only settings with their defaults; the mixin configuration may
# set them too (every other setting comes from it alone).
DASHBOARD_DEFAULTS = {
    # Warn this long before a key reaches keyRotationThresholdSeconds.
    "dashboardRotationWarningSeconds": 7 * DAY,
    # Most rows a per-user or per-key table asks Prometheus for.
    "dashboardTableRows": 500,
    # The exporter's --refresh.interval, to draw the data-stale line.
    "dashboardRefreshIntervalSeconds": 300,
    # The windows of the Compliance dashboard's "failing in" columns, in days.
    "dashboardPostureWindowsDays": [30, 90],
}


def load_config() -> dict:
    """The mixin's `_config`, rendered by jsonnet, over the dashboard-only
    defaults."""
    if shutil.which("jsonnet") is None:
        sys.exit("dashboards/generate.py: mixin/config.libsonnet needs jsonnet "
                 "(scripts/install-test-deps.sh installs it)")
    out = subprocess.run(
        ["jsonnet", "-J", str(ROOT), "-e", '(import "mixin/config.libsonnet")._config'],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return {**DASHBOARD_DEFAULTS, **json.loads(out)}


C = load_config()
JOB = C["selector"]
TAGS = C["dashboardTags"]
PREFIX = C["dashboardTitlePrefix"]
ROOT_USER = C["rootUser"]
ROTATION = C["keyRotationThresholdSeconds"]
UNUSED = C["keyUnusedThresholdSeconds"]
PASSWORD_UNUSED = C["passwordUnusedThresholdSeconds"]
INACTIVE = C["userInactiveThresholdSeconds"]
WARNING = C["dashboardRotationWarningSeconds"]
STALE_DATA = (C["dataStaleRefreshIntervals"] * C["dashboardRefreshIntervalSeconds"]
              + C["dataStaleGraceSeconds"])
STALE_REPORT = C["reportStaleThresholdSeconds"]
TABLE_ROWS = C["dashboardTableRows"]
PASSWORD_LENGTH = C["passwordMinimumLength"]
PASSWORD_REUSE = C["passwordReusePrevention"]
CERT_EXPIRY = C["serverCertificateExpiryWarningSeconds"]
SIGNING_ROTATION = C["signingCertificateRotationThresholdSeconds"]
ROLE_UNUSED = C["roleUnusedThresholdSeconds"]
ROLE_EXCLUDED = C["roleUnusedExcludedPaths"]
CREDENTIAL_ROTATION = C["serviceCredentialRotationThresholdSeconds"]
CREDENTIAL_EXPIRY = C["serviceCredentialExpiryWarningSeconds"]
CONTROL = C["controlThresholds"]
WINDOWS = C["dashboardPostureWindowsDays"]

DS = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
KEY = "account_id, user, slot, access_key_id"
USER = "account_id, user"
ROLE = "account_id, role"
CREDENTIAL = "account_id, user, service_name, credential_id"
SSH_KEY = "account_id, user, ssh_public_key_id"
# The owner filter: the `team` variable lists the values of the mixin's first
# owner label (ownerLabels, tag_team by default) in aws_iam_user_tags. A
# matcher list holding TEAM hides the users whose info series names another
# team; users the exporter has no info series for (--metrics.user-tags off)
# stay, so that All (and an exporter without tags) hides nobody.
OWNER = (C["ownerLabels"] or [None])[0]
TEAM = "<team filter>"
UID = {
    "organization": "aws-iam-organization",
    "account": "aws-iam-account",
    "user": "aws-iam-user",
    "health": "aws-iam-exporter-health",
    "compliance": "aws-iam-compliance",
}
# Grafana's data link variables: the time range and the data source of the
# dashboard the link is clicked in.
KEEP = "${__url_time_range}&${datasource:queryparam}"


def days(seconds: int) -> str:
    return f"{seconds // DAY}d" if seconds % DAY == 0 else f"{seconds}s"


def sel(*matchers: str) -> str:
    return "{" + ", ".join((JOB,) + tuple(m for m in matchers if m != TEAM)) + "}"


def by_team(expr: str, m: tuple) -> str:
    """`expr` (with account_id and user labels) without the users of other
    teams than $team, where `m` holds TEAM."""
    if TEAM not in m or OWNER is None:
        return expr
    return (f"(({expr}) unless on ({USER}) "
            f"aws_iam_user_tags{sel(f'{OWNER}!~{chr(34)}$team{chr(34)}')})")


def by_account_team(expr: str) -> str:
    """`expr` (with an account_id label) without the accounts whose
    aws_iam_account_tags names another team than $team; accounts without
    one stay."""
    if OWNER is None:
        return expr
    return (f"(({expr}) unless on (account_id) "
            f"aws_iam_account_tags{sel(f'{OWNER}!~{chr(34)}$team{chr(34)}')})")


def variable_team(info: str = "aws_iam_user_tags") -> sdk.QueryVariable:
    return variable_query("team", "Team", f"label_values({info}{sel()}, {OWNER})", multi=True)


# ---------------------------------------------------------------------------
# Panels, with grafana-foundation-sdk
# ---------------------------------------------------------------------------

class Layout:
    """Places panels left to right on the 24-column grid, rows on a line of
    their own, and numbers them."""

    def __init__(self) -> None:
        self.x = self.y = self.row_h = 0
        self.next_id = 1

    def _grid(self, w: int, h: int) -> model.GridPos:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = model.GridPos(x=self.x, y=self.y, w=w, h=h)
        self.x += w
        self.row_h = max(self.row_h, h)
        self.next_id += 1
        return pos

    def place(self, panel, w: int, h: int):
        return panel.id(self.next_id).grid_pos(self._grid(w, h))

    def row(self, title: str) -> sdk.Row:
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        row = sdk.Row(title).id(self.next_id).grid_pos(self._grid(24, 1))
        self.x, self.y, self.row_h = 0, self.y + 1, 0
        return row


def target(expr: str, ref: str = "A", legend: str = "__auto", instant: bool = False,
           table: bool = False) -> sdk_prometheus.Dataquery:
    t = (sdk_prometheus.Dataquery().datasource(DS).ref_id(ref).expr(expr)
         .legend_format(legend))
    t = t.instant() if instant else t.range()
    if table:
        t = t.format(PromQueryFormat.TABLE)
    return t


def thresholds(*steps: tuple[float | None, str]) -> sdk.ThresholdsConfig:
    return (sdk.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE)
            .steps([model.Threshold(value=v, color=c) for v, c in steps]))


def mapping(*values: tuple[int, str, str]) -> list[model.ValueMap]:
    return [model.ValueMap(options={
        str(v): model.ValueMappingResult(text=text, color=color, index=i)
        for i, (v, text, color) in enumerate(values)})]


def fixed_color(name: str, color: str) -> sdk.DashboardFieldConfigSourceOverrides:
    return (sdk.DashboardFieldConfigSourceOverrides()
            .matcher(model.MatcherConfig(id_val="byName", options=name))
            .properties([model.DynamicConfigValue(id_val="color", value=model.FieldColor(
                mode=model.FieldColorModeId.FIXED, fixed_color=color))]))


def last_not_null() -> sdk_common.ReduceDataOptions:
    return sdk_common.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)


def stat(title: str, expr: str, description: str, unit: str = "none",
         steps=((None, "green"), (1, "red")), legend: str = "__auto",
         mappings: list | None = None, link=None) -> sdk_stat.Panel:
    panel = (sdk_stat.Panel().title(title).description(description).datasource(DS)
             .with_target(target(expr, legend=legend, instant=True))
             .unit(unit).decimals(0)
             .color_scheme(sdk.FieldColor().mode(model.FieldColorModeId.THRESHOLDS))
             .thresholds(thresholds(*steps)).mappings(mappings or [])
             .no_value("0" if unit == "none" and not mappings else "No data")
             .reduce_options(last_not_null())
             .color_mode(common.BigValueColorMode.BACKGROUND)
             .graph_mode(common.BigValueGraphMode.NONE)
             .justify_mode(common.BigValueJustifyMode.CENTER)
             .text_mode(common.BigValueTextMode.AUTO)
             .orientation(common.VizOrientation.AUTO))
    if link:
        panel = panel.links([link])
    return panel


def timeseries(title: str, targets: list, description: str, unit: str = "none",
               stack: bool = False, threshold: float | None = None,
               overrides: list | None = None) -> sdk_timeseries.Panel:
    steps = [(None, "green")] + ([(threshold, "red")] if threshold is not None else [])
    style = (common.GraphThresholdsStyleMode.LINE if threshold is not None
             else common.GraphThresholdsStyleMode.OFF)
    return (sdk_timeseries.Panel().title(title).description(description).datasource(DS)
            .targets(targets).unit(unit).min(0)
            .color_scheme(sdk.FieldColor().mode(model.FieldColorModeId.PALETTE_CLASSIC))
            .draw_style(common.GraphDrawStyle.LINE).line_width(1)
            .fill_opacity(60 if stack else 10).show_points(common.VisibilityMode.NEVER)
            .stacking(sdk_common.StackingConfig().group("A").mode(
                common.StackingMode.NORMAL if stack else common.StackingMode.NONE))
            .thresholds_style(sdk_common.GraphThresholdsStyleConfig().mode(style))
            .thresholds(thresholds(*steps)).overrides(overrides or [])
            .legend(sdk_common.VizLegendOptions().display_mode(common.LegendDisplayMode.TABLE)
                    .placement(common.LegendPlacement.RIGHT).show_legend(True)
                    .calcs(["lastNotNull"]))
            .tooltip(sdk_common.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI)
                     .sort(common.SortOrder.DESCENDING)))


def bargauge(title: str, targets: list, description: str,
             overrides: list) -> sdk_bargauge.Panel:
    return (sdk_bargauge.Panel().title(title).description(description).datasource(DS)
            .targets(targets).unit("none").decimals(0).min(0)
            .color_scheme(sdk.FieldColor().mode(model.FieldColorModeId.THRESHOLDS))
            .thresholds(thresholds((None, "green"))).overrides(overrides)
            .orientation(common.VizOrientation.HORIZONTAL)
            .display_mode(common.BarGaugeDisplayMode.BASIC).show_unfilled(True)
            .reduce_options(last_not_null()))


def column(name: str, unit: str | None = None, steps=None, mappings=None,
           width: int | None = None, link=None) -> sdk.DashboardFieldConfigSourceOverrides:
    """A field override of a table column (matched by its display name)."""
    props = []
    if unit:
        props.append(model.DynamicConfigValue(id_val="unit", value=unit))
    if steps:
        props.append(model.DynamicConfigValue(id_val="thresholds",
                                              value=thresholds(*steps).build()))
    if steps or mappings:
        # Grafana colours an empty cell with the base threshold colour;
        # empty means no data here, which is no colour.
        props.append(model.DynamicConfigValue(id_val="mappings", value=(mappings or []) + [
            model.SpecialValueMap(options=model.DashboardSpecialValueMapOptions(
                match=model.SpecialValueMatch.NULL,
                result=model.ValueMappingResult(text="", color="transparent",
                                                index=len(mappings or []))))]))
        props.append(model.DynamicConfigValue(id_val="custom.cellOptions",
                                              value=common.TableColoredBackgroundCellOptions()))
    if width:
        props.append(model.DynamicConfigValue(id_val="custom.width", value=width))
    if link:
        props.append(model.DynamicConfigValue(id_val="links", value=[link.build()]))
    return (sdk.DashboardFieldConfigSourceOverrides()
            .matcher(model.MatcherConfig(id_val="byName", options=name)).properties(props))


def table(title: str, columns: list[tuple[str, str]], description: str,
          targets: list, overrides: list, sort: tuple[str, bool] | None = None
          ) -> sdk_table.Panel:
    """An instant table whose queries are merged into one row per key.

    `columns` lists (field name in the frames, column title) in display
    order; every other field (Time, value columns of lookup queries) is
    hidden.
    """
    names = [name for name, _ in columns]
    values = (["Value"] if len(targets) == 1
              else [f"Value #{t.build().ref_id}" for t in targets])
    hidden = ["Time"] + [v for v in values if v not in names]
    panel = (sdk_table.Panel().title(title).description(description).datasource(DS)
             .targets(targets))
    if len(targets) > 1:
        panel = panel.with_transformation(model.DataTransformerConfig(id_val="merge",
                                                                      options={}))
    panel = (panel.with_transformation(model.DataTransformerConfig(id_val="organize", options={
                 # Grafana before 10.1 ignores includeByName: hide the rest by name.
                 "excludeByName": {name: True for name in hidden},
                 "includeByName": {name: True for name in names},
                 "indexByName": {name: i for i, name in enumerate(names)},
                 "renameByName": dict(columns),
             }))
             .align(common.FieldTextAlignment.AUTO).filterable(True)
             .cell_options(common.TableAutoCellOptions())
             .overrides(overrides).show_header(True).cell_height(common.TableCellHeight.SM)
             .footer(sdk_common.TableFooterOptions().show(False).reducer(["sum"])
                     .count_rows(False)))
    if sort:
        panel = panel.sort_by([sdk_common.TableSortByFieldState().display_name(sort[0])
                               .desc(sort[1])])
    return panel


def instant_tables(*exprs: str) -> list[sdk_prometheus.Dataquery]:
    return [target(e, chr(ord("A") + i), instant=True, table=True) for i, e in enumerate(exprs)]


def dashboard_link(uid: str, title: str, vars_: str = "") -> sdk.DashboardLink:
    return sdk.DashboardLink(title).type(model.DashboardLinkType.LINK).url(
        f"/d/{uid}/?{vars_}{KEEP}")


def variable_datasource() -> sdk.DatasourceVariable:
    return sdk.DatasourceVariable("datasource").label("Data source").type("prometheus")


def variable_query(name: str, label: str, query: str, multi: bool) -> sdk.QueryVariable:
    var = (sdk.QueryVariable(name).label(label).datasource(DS)
           .query({"query": query, "refId": name})
           .multi(multi).include_all(multi)
           .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
           .sort(model.VariableSort.ALPHABETICAL_ASC))
    if multi:
        var = var.all_value(".*").current(model.VariableOption(
            selected=True, text=["All"], value=["$__all"]))
    return var


def dashboard(key: str, title: str, description: str, panels: list,
              variables: list, time_from: str = "now-7d") -> sdk.Dashboard:
    board = (sdk.Dashboard(PREFIX + title).uid(UID[key]).description(description)
             .tags(TAGS).editable().tooltip(model.DashboardCursorSync.CROSSHAIR)
             .version(1).time(time_from, "now").refresh("5m").timezone("")
             .link(sdk.DashboardLink(PREFIX.strip(" /") or "Dashboards")
                   .type(model.DashboardLinkType.DASHBOARDS).tags(TAGS).as_dropdown(True)
                   .include_vars(False).keep_time(True).icon("external link")
                   .target_blank(False))
             .variables([variable_datasource()] + variables))
    for panel in panels:
        board = board.with_row(panel) if isinstance(panel, sdk.Row) else board.with_panel(panel)
    return board


# ---------------------------------------------------------------------------
# PromQL shared by the dashboards
# ---------------------------------------------------------------------------

def per_key(metric: str, *matchers: str) -> str:
    return by_team(f"max by ({KEY}) ({metric}{sel(*matchers)})", matchers)


def per_user(metric: str, *matchers: str) -> str:
    return by_team(f"max by ({USER}) ({metric}{sel(*matchers)})", matchers)


# Ages from the timestamp families, as the exporter computes its derived age
# families (`*_age_seconds`, `*_idle_seconds`), so that every panel also
# works with --metrics.ages=false. Each is `time() - <when>`; a series absent
# where the exporter leaves its age out.

def key_age(*m: str) -> str:
    """aws_iam_access_key_age_seconds: since the key was created."""
    return f"(time() - aws_iam_access_key_created_timestamp_seconds{sel(*m)})"


def key_idle(*m: str) -> str:
    """aws_iam_access_key_idle_seconds: since the last use, or since creation
    for a key never used; absent where the source cannot tell whether it was
    used (the 2015 report format has no never_used)."""
    return (f"(time() - (aws_iam_access_key_last_used_timestamp_seconds{sel(*m)} "
            f"or aws_iam_access_key_created_timestamp_seconds{sel(*m)} "
            f"and aws_iam_access_key_never_used{sel(*m)} == 1))")


def user_idle(*m: str) -> str:
    """aws_iam_user_idle_seconds: since the user's last sign of life, the
    latest of its last password or key use and the upload of each of its
    active signing certificates (AWS records no use of those), else since its
    creation; absent where the use of an active key is unknown (the 2015
    report format)."""
    signs = (f"max by ({USER}) (aws_iam_user_last_activity_timestamp_seconds{sel(*m)} "
             f"or aws_iam_signing_certificate_created_timestamp_seconds{sel(*m)} "
             f"and aws_iam_signing_certificate_active{sel(*m)} == 1)")
    unknown = (f"aws_iam_access_key_active{sel(*m)} == 1 "
               f"unless aws_iam_access_key_never_used{sel(*m)}")
    return (f"(time() - ({signs} or max by ({USER}) "
            f"(aws_iam_user_created_timestamp_seconds{sel(*m)})) "
            f"unless on ({USER}) ({unknown}))")


# Ranks: action * RANK + age (keys) or idle time (users), so that one topk
# picks the most urgent rows, floor(rank / RANK) is the action and
# rank % RANK the age or idle time. RANK exceeds any age in seconds (317
# years) and the sum stays exact in a double. Each action is a filter
# (`and on`) followed by one aggregation of the few rows it keeps, and the
# actions are joined by `or`, which keeps the first: that reads each input
# series a few times, where arithmetic on 0/1 vectors of every key would
# match every key's vectors a dozen times (see BENCHMARKS.md, Dashboards).
RANK = 10_000_000_000


def key_rank(*m: str) -> str:
    """Active keys of IAM users that break a rule: action 3 rotate (older than
    ROTATION), 2 deactivate (idle UNUSED or more, never used: since
    creation), 1 rotate soon (older than ROTATION - WARNING)."""
    age = key_age(*m)
    idle = key_idle(*m)
    on = f"and on ({KEY})"
    active = f"{on} aws_iam_access_key_active{sel(*m)} == 1"
    rotate = f"max by ({KEY}) ({age} > {ROTATION} {active}) + {3 * RANK}"
    unused = f"max by ({KEY}) ({age} {on} {idle} >= {UNUSED} {active}) + {2 * RANK}"
    due = f"max by ({KEY}) ({age} > {ROTATION - WARNING} {active}) + {RANK}"
    return by_team(f"({rotate} or {unused} or {due})", m)


def user_rank(*m: str) -> str:
    """IAM users that break a rule: action 3 console password without MFA, 2
    password unused for PASSWORD_UNUSED (never used: since it was set, else
    since creation), 1 inactive for INACTIVE."""
    idle = user_idle(*m)
    on = f"and on ({USER})"
    password = f"{on} aws_iam_user_password_enabled{sel(*m)} == 1"
    no_mfa = f"{on} aws_iam_user_mfa_active{sel(*m)} == 0"
    since = (f"time() - (aws_iam_user_password_last_used_timestamp_seconds{sel(*m)} "
             f"or aws_iam_user_password_last_changed_timestamp_seconds{sel(*m)} "
             f"or aws_iam_user_created_timestamp_seconds{sel(*m)})")
    console = f"max by ({USER}) ({idle} {password} {no_mfa}) + {3 * RANK}"
    unused = f"max by ({USER}) ({idle} {on} ({since} >= {PASSWORD_UNUSED}) {password}) + {2 * RANK}"
    inactive = f"max by ({USER}) ({idle} >= {INACTIVE}) + {RANK}"
    return by_team(f"({console} or {unused} or {inactive})", m)


def mfa_state(*m: str) -> str:
    """2 MFA on; 1 no MFA and no console password (programmatic user); 0 no
    MFA with a console password."""
    mfa = per_user("aws_iam_user_mfa_active", *m)
    password = per_user("aws_iam_user_password_enabled", *m)
    return f"(2 * {mfa} + (1 - {mfa}) * (1 - {password}))"


def top(expr_rank: str) -> str:
    return f"topk({TABLE_ROWS}, {expr_rank})"


KEY_ACTIONS = mapping((3, "rotate: older than " + days(ROTATION), "red"),
                      (2, "deactivate: unused " + days(UNUSED), "orange"),
                      (1, f"rotate within {days(WARNING)}", "yellow"))
USER_ACTIONS = mapping((3, "console password without MFA", "red"),
                       (2, "remove password: unused " + days(PASSWORD_UNUSED), "orange"),
                       (1, "remove user: inactive " + days(INACTIVE), "yellow"),
                       (0, "", "transparent"))
MFA_STATES = mapping((2, "yes", "green"), (1, "no (no console password)", "transparent"),
                     (0, "NO (console password)", "red"))
YES_NO = mapping((1, "yes", "transparent"), (0, "no", "transparent"))
ROOT_STATES = mapping((0, "OK", "green"), (1, "no MFA", "red"), (2, "active keys", "red"),
                      (3, "active keys, no MFA", "red"))
REFRESH_STATES = mapping((1, "OK", "green"), (0, "FAILING", "red"))
AGE_STEPS = ((None, "green"), (ROTATION - WARNING, "yellow"), (ROTATION + 1, "red"))
IDLE_STEPS = ((None, "green"), (UNUSED, "red"))
ZERO_GOOD = ((None, "green"), (1, "red"))


def user_link(account: str = "${__data.fields.account_id}") -> sdk.DashboardLink:
    return dashboard_link(UID["user"], "Open user",
                          f"var-account={account}&var-user=${{__value.raw}}&")


def age_buckets(acc: str) -> list[tuple[str, str, str]]:
    """(legend, expression, colour) of the active-key age buckets, in order."""
    rule = "account_id:aws_iam_access_keys_active:count_by_age_bucket"
    return [(b, f'sum({rule}{{{acc}age_bucket="{b}"}})', c)
            for b, c in [("<30d", "green"), ("30-90d", "yellow"), ("90-180d", "orange"),
                         (">180d", "red")]]


def bucket_targets(acc: str, instant: bool) -> list[sdk_prometheus.Dataquery]:
    return [target(e, chr(ord("A") + i), legend=b, instant=instant)
            for i, (b, e, _) in enumerate(age_buckets(acc))]


def bucket_colors(acc: str) -> list[sdk.DashboardFieldConfigSourceOverrides]:
    return [fixed_color(b, c) for b, _, c in age_buckets(acc)]


def credentials_table(*m: str, owner: bool) -> sdk_table.Panel:
    """Service-specific credentials of the selection, oldest first; with the
    account and user columns when `owner`."""
    age = by_team(f"time() - max by ({CREDENTIAL}) "
                  f"(aws_iam_service_specific_credential_created_timestamp_seconds{sel(*m)})", m)
    rows = f"topk({TABLE_ROWS}, {age})"
    who = [("account_id", "Account"), ("user", "User")] if owner else []
    return table(
        "Service-specific credentials",
        who + [("service_name", "Service"), ("credential_id", "Credential"),
               ("status", "Status"), ("Value #B", "Age"), ("Value #C", "Expires in")],
        "Git credentials for CodeCommit, Amazon Keyspaces passwords and long-term API keys "
        "(Bedrock, CloudWatch, CloudWatch Logs, ...), oldest first (at most "
        f"{TABLE_ROWS}). Age is red past {days(CREDENTIAL_ROTATION)} "
        "(AwsIamServiceCredentialNotRotated); Expires in is empty for a credential that never "
        f"expires and red within {days(CREDENTIAL_EXPIRY)} "
        "(AwsIamServiceCredentialExpiringSoon). From the service-specific-credentials collector.",
        instant_tables(
            f"max by ({CREDENTIAL}, status) "
            f"(aws_iam_service_specific_credential_status_info{sel(*m)}) "
            f"and on ({CREDENTIAL}) {rows}",
            rows,
            f"max by ({CREDENTIAL}) "
            f"(aws_iam_service_specific_credential_expiration_timestamp_seconds{sel(*m)}) "
            f"- time() and on ({CREDENTIAL}) {rows}",
        ),
        ([column("User", link=user_link())] if owner else []) + [
            column("Age", unit="dtdurations",
                   steps=((None, "transparent"), (CREDENTIAL_ROTATION + 1, "red"))),
            column("Expires in", unit="dtdurations",
                   steps=((None, "red"), (CREDENTIAL_EXPIRY, "transparent")))],
        sort=("Age", True))


def ssh_keys_table(*m: str, owner: bool) -> sdk_table.Panel:
    """SSH public keys of the selection, oldest first."""
    age = by_team(f"time() - max by ({SSH_KEY}) "
                  f"(aws_iam_ssh_public_key_uploaded_timestamp_seconds{sel(*m)})", m)
    rows = f"topk({TABLE_ROWS}, {age})"
    who = [("account_id", "Account"), ("user", "User")] if owner else []
    return table(
        "SSH public keys",
        who + [("ssh_public_key_id", "SSH key"), ("Value #A", "Active"), ("Value #B", "Age")],
        "SSH public keys of IAM users (used with CodeCommit), oldest first (at most "
        f"{TABLE_ROWS}). Empty unless the exporter runs with --collector.ssh-public-keys, "
        "which costs one call per user.",
        instant_tables(
            f"max by ({SSH_KEY}) (aws_iam_ssh_public_key_active{sel(*m)}) "
            f"and on ({SSH_KEY}) {rows}",
            rows,
        ),
        ([column("User", link=user_link())] if owner else []) + [
            column("Active", mappings=YES_NO, width=110), column("Age", unit="dtdurations")],
        sort=("Age", True))


# ---------------------------------------------------------------------------
# Organization
# ---------------------------------------------------------------------------

def organization() -> sdk.Dashboard:
    lay = Layout()
    p = []
    p.append(lay.row("Organization"))

    def total(title, rule, description, steps=ZERO_GOOD):
        return lay.place(stat(title, f"sum({by_account_team(rule)})", description,
                              steps=steps), 4, 4)

    p.append(lay.place(stat("Accounts known", f"count(group by (account_id) "
                                        f"(aws_iam_exporter_account_refresh_success{sel()}))",
                            "Accounts the exporter knows, with or without data.",
                            steps=((None, "blue"),)), 4, 4))
    p.append(total("IAM users", "account_id:aws_iam_users:count",
                   "IAM users in every account (root excluded).", steps=((None, "blue"),)))
    p.append(total("Keys to rotate", "account_id:aws_iam_access_keys_not_rotated:count",
                   f"Active keys older than {days(ROTATION)} (AwsIamAccessKeyNotRotated)."))
    p.append(total("Unused keys", "account_id:aws_iam_access_keys_unused:count",
                   f"Active keys unused for {days(UNUSED)} or more (AwsIamAccessKeyUnused)."))
    p.append(total("Console users without MFA",
                   "account_id:aws_iam_console_users_without_mfa:count",
                   "Users with a console password and no MFA device."))
    p.append(lay.place(stat(
        "Accounts failing", f"count(min by (account_id) "
                            f"(aws_iam_exporter_account_refresh_success{sel()}) == 0)",
        "Accounts whose last refresh failed (AwsIamExporterRefreshFailing); see Exporter "
        "health.", link=dashboard_link(UID["health"], "Exporter health")), 4, 4))

    acc = "account_id"
    # Recording rules keep only account_id: no job selector.
    rule = lambda name: by_account_team(f"max by ({acc}) ({name})")  # noqa: E731
    root = (f"2 * clamp_max({rule('account_id:aws_iam_root_access_keys_active:count')}, 1)"
            f" + {rule('account_id:aws_iam_root_without_mfa:max')}")
    not_root = f"user!={json.dumps(ROOT_USER)}"
    due = by_account_team(f"count by ({acc}) (max by ({KEY}) ("
           f"{key_age(not_root)} > {ROTATION - WARNING} <= {ROTATION}"
           f" and on ({KEY}) aws_iam_access_key_active{sel(not_root)} == 1))"
           f" or 0 * {rule('account_id:aws_iam_users:count')}")
    columns = [("account_name", "Name"), ("account_id", "Account"), ("Value #C", "Users"),
               ("Value #D", "Console users without MFA"), ("Value #E", "Keys to rotate"),
               ("Value #F", f"Keys due in {days(WARNING)}"), ("Value #G", "Unused keys"),
               ("Value #H", "Root user"), ("Value #B", "Refresh"), ("Value #I", "Data age")]
    account_link = dashboard_link(UID["account"], "Open account",
                                  "var-account=${__data.fields.account_id}&")
    p.append(lay.row("Accounts"))
    p.append(lay.place(table(
        "Accounts",
        columns,
        "One row per account the exporter knows, worst first. Click an account to open "
        "what to fix in it. Root user: whether the root user has access keys or no MFA "
        "(OK without MFA where a recent root-credentials audit found no root credential; "
        "empty where the source has no root row, e.g. --source api or the China "
        "partitions). Data age: time "
        "since the account's last successful refresh (empty: never refreshed).",
        instant_tables(
            by_account_team(f"max by ({acc}, account_name) (aws_iam_account_info{sel()})"),
            by_account_team(f"min by ({acc}) (aws_iam_exporter_account_refresh_success{sel()})"),
            rule("account_id:aws_iam_users:count"),
            rule("account_id:aws_iam_console_users_without_mfa:count"),
            rule("account_id:aws_iam_access_keys_not_rotated:count"),
            due,
            rule("account_id:aws_iam_access_keys_unused:count"),
            root,
            by_account_team(f"time() - max by ({acc}) "
                            f"(aws_iam_exporter_account_last_refresh_success_timestamp_seconds"
                            f"{sel()})"),
        ),
        [column("Name", link=account_link), column("Account", link=account_link),
         column("Console users without MFA", steps=ZERO_GOOD),
         column("Keys to rotate", steps=ZERO_GOOD),
         column(f"Keys due in {days(WARNING)}", steps=((None, "green"), (1, "yellow"))),
         column("Unused keys", steps=((None, "green"), (1, "orange"))),
         column("Root user", mappings=ROOT_STATES),
         column("Refresh", mappings=REFRESH_STATES, width=90),
         column("Data age", unit="dtdurations",
                steps=((None, "green"), (STALE_DATA, "red")))],
        sort=("Keys to rotate", True)), 24, 16))

    p.append(lay.row("Password policy"))
    policy = lambda name: by_account_team(  # noqa: E731
        f"max by ({acc}) (aws_iam_password_policy_{name}{sel()})")
    p.append(lay.place(table(
        "Password policies",
        [("account_name", "Name"), ("account_id", "Account"), ("Value #B", "Policy"),
         ("Value #C", "Minimum length"), ("Value #D", "Passwords remembered"),
         ("Value #E", "Expire after (days)"), ("Value #F", "Hard expiry")],
        f"The account password policy (password-policy collector), for CIS 1.8 (at least "
        f"{PASSWORD_LENGTH} characters) and 1.9 (at least {PASSWORD_REUSE} previous passwords "
        "remembered). Policy none: IAM's defaults apply. Empty: not read (collector off, a "
        "report file, or the account never refreshed). Expire after is empty when passwords "
        "do not expire.",
        instant_tables(
            by_account_team(f"max by ({acc}, account_name) (aws_iam_account_info{sel()})"),
            policy("present"),
            policy("minimum_length"),
            policy("reuse_prevention"),
            f"{policy('max_age_seconds')} / {DAY}",
            policy("hard_expiry"),
        ),
        [column("Name", link=account_link), column("Account", link=account_link),
         column("Policy", mappings=mapping((0, "none", "red"), (1, "set", "green"))),
         column("Minimum length", steps=((None, "red"), (PASSWORD_LENGTH, "green"))),
         column("Passwords remembered", steps=((None, "red"), (PASSWORD_REUSE, "green"))),
         column("Hard expiry", mappings=mapping((0, "no", "text"), (1, "yes", "text")))],
        sort=("Policy", False)), 24, 7))

    p.append(lay.row("Root MFA and server certificates"))
    root_user = f"user={json.dumps(ROOT_USER)}"
    p.append(lay.place(table(
        "Root MFA type",
        [("account_name", "Name"), ("account_id", "Account"), ("Value #B", "Root MFA")],
        "The kind of the root user's MFA (virtual-mfa collector), for CIS 1.6 (hardware MFA "
        "for root; AwsIamRootMFAVirtual). virtual: an authenticator app, alone or next to a "
        "hardware device; hardware: a hardware token or security key only. Empty: root has "
        "no MFA (see Accounts), the source has no root row, or the collector did not run.",
        instant_tables(
            by_account_team(f"max by ({acc}, account_name) (aws_iam_account_info{sel()})"),
            by_account_team(f"max by ({acc}) (aws_iam_user_mfa_virtual{sel(root_user)})"),
        ),
        [column("Name", link=account_link), column("Account", link=account_link),
         column("Root MFA", mappings=mapping((1, "virtual", "red"),
                                             (0, "hardware", "green")))],
        sort=("Root MFA", True)), 8, 8))
    p.append(lay.place(table(
        "Server certificates",
        [("account_id", "Account"), ("name", "Certificate"), ("id", "Id"),
         ("Value", "Expires in")],
        f"Server certificates stored in IAM (server-certificates collector), the "
        f"{TABLE_ROWS} closest to expiry first. Red: expired, to delete (CIS 1.19, "
        f"AwsIamServerCertificateExpired); orange: expires within {days(CERT_EXPIRY)} "
        f"(AwsIamServerCertificateExpiringSoon).",
        [target(f"bottomk({TABLE_ROWS}, " + by_account_team(
                f"max by ({acc}, name, id) "
                f"(aws_iam_server_certificate_expiration_timestamp_seconds{sel()}) - time()")
                + ")",
                instant=True, table=True)],
        [column("Account", link=account_link),
         column("Expires in", unit="s",
                steps=((None, "red"), (0, "orange"), (CERT_EXPIRY, "green")))],
        sort=("Expires in", False)), 16, 8))

    p.append(lay.row("Access keys by age"))
    bars = bargauge(
        "Active access keys by age", bucket_targets("", instant=True),
        f"Active keys of IAM users in every account by age; keys older than "
        f"{days(ROTATION)} must be rotated.", bucket_colors(""))
    p.append(lay.place(bars, 8, 7))
    p.append(lay.place(timeseries(
        "Active access keys by age over time", bucket_targets("", instant=False),
        "The same buckets over time: a growing > 90d band means rotation is falling behind.",
        stack=True, overrides=bucket_colors("")), 16, 7))

    return dashboard("organization", "Organization",
                     "Every AWS account at a glance: what to fix, the root user, data age. "
                     "Team: the accounts of the chosen teams (the team tag of the account, "
                     "--metrics.account-tags) and those without one.",
                     p, [variable_team("aws_iam_account_tags")] if OWNER else [])


# ---------------------------------------------------------------------------
# Account: what to do this week
# ---------------------------------------------------------------------------

def account() -> sdk.Dashboard:
    lay = Layout()
    p = []
    acc = 'account_id=~"$account"'
    not_root = f"user!={json.dumps(ROOT_USER)}"
    p.append(lay.row("This week"))

    def count_rule(title, rule, description, steps=ZERO_GOOD):
        return lay.place(stat(title, f"sum({rule}{{{acc}}})", description, steps=steps), 4, 4)

    keys = key_rank(acc, not_root, TEAM)
    users = user_rank(acc, not_root, TEAM)
    p.append(count_rule("Keys to rotate", "account_id:aws_iam_access_keys_not_rotated:count",
                        f"Active keys older than {days(ROTATION)} (AwsIamAccessKeyNotRotated)."))
    p.append(count_rule("Unused keys", "account_id:aws_iam_access_keys_unused:count",
                        f"Active keys unused for {days(UNUSED)} or more, never-used keys "
                        f"counted from creation (AwsIamAccessKeyUnused)."))
    p.append(lay.place(stat(
        f"Keys reaching {days(ROTATION)} within {days(WARNING)}",
        f"count({keys} < {2 * RANK})",
        f"Active keys that will be older than {days(ROTATION)} within {days(WARNING)}: "
        "rotate them now.", steps=((None, "green"), (1, "yellow"))), 4, 4))
    p.append(count_rule("Console users without MFA",
                        "account_id:aws_iam_console_users_without_mfa:count",
                        "Users with a console password and no MFA device "
                        "(AwsIamConsoleUserWithoutMFA)."))
    p.append(lay.place(stat(
        "Unused passwords", f"count({users} >= {2 * RANK} < {3 * RANK})",
        f"Console passwords unused for {days(PASSWORD_UNUSED)} or more, on users with MFA "
        "(AwsIamPasswordUnused); users without MFA are counted above.",
        steps=((None, "green"), (1, "orange"))), 4, 4))
    p.append(lay.place(stat(
        "Root user",
        f"2 * clamp_max(sum(account_id:aws_iam_root_access_keys_active:count{{{acc}}}), 1) "
        f"+ max(account_id:aws_iam_root_without_mfa:max{{{acc}}})",
        "Whether a root user of the selected accounts has access keys "
        "(AwsIamRootAccessKeyActive) or no MFA (AwsIamRootWithoutMFA; not where a recent "
        "root-credentials audit found no password, key or certificate).",
        mappings=ROOT_STATES), 4, 4))

    chosen = top(keys)
    p.append(lay.row("Access keys to act on"))
    p.append(lay.place(table(
        "Access keys to act on",
        [("account_id", "Account"), ("user", "User"), ("slot", "Slot"),
         ("access_key_id", "Access key"), ("Value #A", "Action"), ("Value #B", "Age"),
         ("Value #C", "Idle"), ("last_used_service", "Last used service"),
         ("last_used_region", "Last used region")],
        f"Active keys of IAM users that break a rule, most urgent first: older than "
        f"{days(ROTATION)}, unused for {days(UNUSED)} (never used: since creation), or "
        f"reaching {days(ROTATION)} within {days(WARNING)}. At most {TABLE_ROWS} rows. "
        "Click a user to see all of their keys.",
        instant_tables(
            f"floor({chosen} / {RANK})",
            f"{chosen} % {RANK}",
            f"{by_team(f'max by ({KEY}) {key_idle(acc, not_root)}', (acc, not_root, TEAM))} "
            f"and {chosen}",
            f"max by ({KEY}, last_used_service, last_used_region) "
            f"(aws_iam_access_key_last_used_info{sel(acc, not_root, TEAM)}) and on ({KEY}) {chosen}",
        ),
        [column("User", link=user_link()), column("Action", mappings=KEY_ACTIONS, width=190),
         column("Age", unit="dtdurations", steps=AGE_STEPS),
         column("Idle", unit="dtdurations", steps=IDLE_STEPS)],
        sort=("Action", True)), 24, 10))

    user_columns = [("account_id", "Account"), ("user", "User"), ("Value #A", "Action"),
                    ("Value #B", "MFA"), ("Value #C", "Console password"),
                    ("Value #D", "Password last used"), ("Value #E", "Idle"),
                    ("Value #F", "Active keys")]

    def user_queries(rows: str) -> list[dict]:
        return instant_tables(
            f"floor({rows} / {RANK})",
            f"{mfa_state(acc, not_root, TEAM)} and {rows}",
            f"{per_user('aws_iam_user_password_enabled', acc, not_root, TEAM)} and {rows}",
            f"time() - {per_user('aws_iam_user_password_last_used_timestamp_seconds', acc, not_root, TEAM)}"
            f" and {rows}",
            f"{rows} % {RANK}",
            f"{per_user('aws_iam_user_active_access_keys', acc, not_root, TEAM)} and {rows}",
        )

    user_overrides = [
        column("User", link=user_link()), column("Action", mappings=USER_ACTIONS, width=250),
        column("MFA", mappings=MFA_STATES, width=190),
        column("Console password", mappings=YES_NO, width=140),
        column("Password last used", unit="dtdurations",
               steps=((None, "transparent"), (PASSWORD_UNUSED, "orange"))),
        column("Idle", unit="dtdurations", steps=((None, "transparent"), (INACTIVE, "yellow"))),
        column("Active keys", steps=((None, "transparent"), (2, "orange")), width=110)]
    p.append(lay.row("Users to act on"))
    p.append(lay.place(table(
        "Users to act on", user_columns,
        f"IAM users that break a rule, most urgent first: a console password without MFA, "
        f"a password unused for {days(PASSWORD_UNUSED)} (never used: since it was set), no "
        f"activity for {days(INACTIVE)}. At most {TABLE_ROWS} rows. Password last used is "
        "empty when there is no password or it was never used.",
        user_queries(top(users)),
        user_overrides, sort=("Action", True)), 24, 10))

    p.append(lay.row("Every user"))
    p.append(lay.place(table(
        "Users", user_columns,
        f"Every IAM user of the selected accounts, those to act on first, then the longest "
        f"idle (at most "
        f"{TABLE_ROWS}; filter a column or select fewer accounts to see others). The "
        "root user is on the Organization dashboard.",
        user_queries(top(f"{users} or "
                         f"{by_team(f'max by ({USER}) {user_idle(acc, not_root)}', (acc, not_root, TEAM))}")),
        user_overrides, sort=("Idle", True)), 24, 10))

    p.append(lay.row("Signing certificates"))
    # Age from the upload time, so that it also works with --metrics.ages=false.
    cert = "account_id, user, slot"
    certs = top(f"max by ({cert}) (time() - aws_iam_signing_certificate_created_timestamp_seconds"
                f"{sel(acc)})")
    p.append(lay.place(table(
        "Signing certificates",
        [("account_id", "Account"), ("user", "User"), ("slot", "Slot"), ("Value #A", "Age"),
         ("Value #B", "State")],
        f"X.509 signing certificates of the selected accounts (the credential report's "
        f"cert_1 and cert_2 columns), the oldest first; the root user's included. AWS records "
        f"no use of them. Active and older than {days(SIGNING_ROTATION)}: "
        f"AwsIamSigningCertificateNotRotated (an inactive one that old is red too: delete it). "
        f"At most {TABLE_ROWS} rows.",
        instant_tables(
            certs,
            f"max by ({cert}) (aws_iam_signing_certificate_active{sel(acc)}) "
            f"and on ({cert}) {certs}",
        ),
        [column("User", link=user_link()),
         column("Age", unit="dtdurations",
                steps=((None, "transparent"), (SIGNING_ROTATION, "red"))),
         column("State", mappings=mapping((1, "active", "text"), (0, "inactive", "transparent")))],
        sort=("Age", True)), 24, 7))

    p.append(lay.row("IAM roles"))
    # Idle from the timestamps, so that the table also works with
    # --metrics.ages=false; the roles the unused-role alert leaves out
    # (service-linked by default) are left out here too.
    role_ts = lambda name: f"aws_iam_role_{name}_timestamp_seconds{sel(acc)}"  # noqa: E731
    idle = f"max by ({ROLE}) (time() - ({role_ts('last_used')} or {role_ts('created')}))"
    if ROLE_EXCLUDED:
        idle += (f" unless on ({ROLE}) "
                 f"aws_iam_role_info{sel(acc, f'path=~{json.dumps(ROLE_EXCLUDED)}')}")
    roles = top(idle)
    p.append(lay.place(table(
        "Idle roles",
        [("account_id", "Account"), ("role", "Role"), ("path", "Path"), ("Value #A", "Idle"),
         ("Value #C", "Since last use"), ("Value #D", "Age"),
         ("last_used_region", "Last used region")],
        f"IAM roles of the selected accounts (roles collector), the longest idle first: time "
        f"since the last use, or since creation when AWS reports none (it tracks 400 days, so "
        f"an empty Since last use means not used within 400 days, or never). Idle for "
        f"{days(ROLE_UNUSED)} or more raises AwsIamRoleUnused. Roles whose path matches "
        f"{ROLE_EXCLUDED or 'nothing'} (service-linked) are left out. At most {TABLE_ROWS} "
        "rows.",
        instant_tables(
            roles,
            f"max by ({ROLE}, path) (aws_iam_role_info{sel(acc)}) and on ({ROLE}) {roles}",
            f"time() - max by ({ROLE}) ({role_ts('last_used')}) and on ({ROLE}) {roles}",
            f"time() - max by ({ROLE}) ({role_ts('created')}) and on ({ROLE}) {roles}",
            f"max by ({ROLE}, last_used_region) (aws_iam_role_last_used_info{sel(acc)})"
            f" and on ({ROLE}) {roles}",
        ),
        [column("Idle", unit="dtdurations",
                steps=((None, "transparent"), (ROLE_UNUSED, "yellow"))),
         column("Since last use", unit="dtdurations"), column("Age", unit="dtdurations")],
        sort=("Idle", True)), 24, 10))

    p.append(lay.row("Access keys by age"))
    p.append(lay.place(bargauge(
        "Active access keys by age", bucket_targets(acc + ", ", instant=True),
        f"Active keys of IAM users by age; keys older than {days(ROTATION)} must be rotated.",
        bucket_colors(acc + ", ")), 8, 7))
    p.append(lay.place(timeseries(
        "Active access keys by age over time", bucket_targets(acc + ", ", instant=False),
        "The same buckets over time.", stack=True,
        overrides=bucket_colors(acc + ", ")), 16, 7))

    p.append(lay.row("Other credentials"))
    p.append(lay.place(credentials_table(acc, TEAM, owner=True), 24, 8))
    p.append(lay.place(ssh_keys_table(acc, TEAM, owner=True), 24, 7))

    return dashboard(
        "account", "Account",
        "What to do this week in the selected accounts: keys to rotate or deactivate, "
        "console users without MFA, unused passwords, inactive users, idle roles, "
        "service-specific credentials and SSH keys.",
        p, [variable_query("account", "Account",
                           "label_values(aws_iam_user_info, account_id)", multi=True)]
        + ([variable_team()] if OWNER else []))


# ---------------------------------------------------------------------------
# User
# ---------------------------------------------------------------------------

def user() -> sdk.Dashboard:
    lay = Layout()
    p = []
    one = ('account_id="$account"', 'user="$user"')
    p.append(lay.row("User"))
    p.append(lay.place(table(
        "User",
        [("user", "User"), ("arn", "ARN"), ("Value #B", "MFA"),
         ("Value #C", "Console password"), ("Value #D", "Password last used"),
         ("Value #E", "Idle"), ("Value #F", "Created")],
        "The selected user. Idle: time since the last password or key use (since creation "
        "when never active).",
        instant_tables(
            f"max by ({USER}, arn) (aws_iam_user_info{sel(*one)})",
            mfa_state(*one),
            per_user("aws_iam_user_password_enabled", *one),
            f"time() - {per_user('aws_iam_user_password_last_used_timestamp_seconds', *one)}",
            f"max by ({USER}) {user_idle(*one)}",
            f"time() - {per_user('aws_iam_user_created_timestamp_seconds', *one)}",
        ),
        [column("MFA", mappings=MFA_STATES, width=190),
         column("Console password", mappings=YES_NO, width=140),
         column("Password last used", unit="dtdurations",
                steps=((None, "transparent"), (PASSWORD_UNUSED, "orange"))),
         column("Idle", unit="dtdurations",
                steps=((None, "transparent"), (INACTIVE, "yellow"))),
         column("Created", unit="dtdurations")]), 24, 4))

    active = per_key("aws_iam_access_key_active", *one)
    state = f"floor({key_rank(*one)} / {RANK}) or ({active} - 1)"
    p.append(lay.place(table(
        "Access keys",
        [("slot", "Slot"), ("access_key_id", "Access key"), ("Value #A", "State"),
         ("Value #B", "Age"), ("Value #C", "Idle"), ("last_used_service", "Last used service"),
         ("last_used_region", "Last used region")],
        "Both key slots of the user. State: inactive, OK, or the action due. Idle counts "
        "from creation for a key that was never used.",
        instant_tables(
            state,
            f"max by ({KEY}) {key_age(*one)}",
            f"max by ({KEY}) {key_idle(*one)}",
            f"max by ({KEY}, last_used_service, last_used_region) "
            f"(aws_iam_access_key_last_used_info{sel(*one)})",
        ),
        [column("State", mappings=mapping(
            (3, "rotate: older than " + days(ROTATION), "red"),
            (2, "deactivate: unused " + days(UNUSED), "orange"),
            (1, f"rotate within {days(WARNING)}", "yellow"),
            (0, "OK", "green"), (-1, "inactive", "transparent")), width=190),
         column("Age", unit="dtdurations"), column("Idle", unit="dtdurations")]), 24, 5))

    p.append(lay.place(credentials_table(*one, owner=False), 12, 6))
    p.append(lay.place(ssh_keys_table(*one, owner=False), 12, 6))

    p.append(lay.row("Over time"))
    legend = "slot {{slot}} {{access_key_id}}"
    active = f"{per_key('aws_iam_access_key_active', *one)} == 1"
    p.append(lay.place(timeseries(
        "Access key age",
        [target(f"max by ({KEY}) {key_age(*one)} and {active}",
                legend=legend)],
        f"Age of the user's active keys; the red line is the {days(ROTATION)} rotation "
        "threshold.", unit="s", threshold=ROTATION), 12, 8))
    p.append(lay.place(timeseries(
        "Access key idle time",
        [target(f"max by ({KEY}) {key_idle(*one)} and {active}",
                legend=legend)],
        f"Time since the last use of the user's active keys (from creation when never "
        f"used); the red line is the {days(UNUSED)} threshold.", unit="s",
        threshold=UNUSED), 12, 8))

    return dashboard(
        "user", "User", "One IAM user: keys, MFA, password, service-specific credentials, SSH "
        "keys, and key age over time.", p,
        [variable_query("account", "Account", "label_values(aws_iam_user_info, account_id)",
                        multi=False),
         variable_query("user", "User",
                        'label_values(aws_iam_user_info{account_id="$account"}, user)',
                        multi=False)])


# ---------------------------------------------------------------------------
# Exporter health
# ---------------------------------------------------------------------------

def health() -> sdk.Dashboard:
    lay = Layout()
    p = []
    acc = 'account_id=~"$account"'
    p.append(lay.row("Refresh"))
    p.append(lay.place(stat(
        "Accounts failing",
        f"count(min by (account_id) (aws_iam_exporter_account_refresh_success{sel(acc)}) == 0)",
        "Accounts whose last refresh failed (AwsIamExporterRefreshFailing), including those "
        "that never refreshed."), 6, 4))
    p.append(lay.place(stat(
        "Accounts never refreshed",
        f"count(min by (account_id) (aws_iam_exporter_account_refresh_success{sel(acc)}) "
        f"unless on (account_id) "
        f"aws_iam_exporter_account_last_refresh_success_timestamp_seconds{sel(acc)})",
        "Accounts with no successful refresh since the exporter started: typically a "
        "missing role or permission in a new account.",
        steps=ZERO_GOOD), 6, 4))
    p.append(lay.place(stat(
        "Exporters down", f"count(up{{{JOB}}} == 0)",
        "Exporter instances Prometheus cannot scrape (AwsIamExporterDown).",
        steps=ZERO_GOOD), 6, 4))
    p.append(lay.place(stat(
        "Oldest data", f"max(account_id:aws_iam_exporter_last_refresh_success_age_seconds:min"
                       f"{{{acc}}})",
        f"Age of the oldest data served; red from {STALE_DATA // 60} minutes, when "
        "AwsIamExporterDataStale fires with the default refresh interval.", unit="dtdurations",
        steps=((None, "green"), (STALE_DATA, "red"))), 6, 4))

    p.append(lay.place(table(
        "Accounts",
        [("account_id", "Account"), ("account_name", "Name"), ("Value #A", "Last refresh"),
         ("Value #C", "Data age"), ("Value #D", "Refresh duration"),
         ("Value #E", "Credential report age"), ("Value #F", "Rows skipped")],
        "Every account the exporter knows, failing ones first, from the per-account health "
        "series that exist from the first attempt on. An empty account is a target whose "
        "account id is not known yet (its first call failed). Data age is empty for an "
        "account that never refreshed.",
        instant_tables(
            f"min by (account_id) (aws_iam_exporter_account_refresh_success{sel(acc)})",
            f"max by (account_id, account_name) (aws_iam_account_info{sel(acc)})",
            f"time() - max by (account_id) "
            f"(aws_iam_exporter_account_last_refresh_success_timestamp_seconds{sel(acc)})",
            f"max by (account_id) (aws_iam_exporter_account_refresh_duration_seconds{sel(acc)})",
            f"time() - max by (account_id) "
            f"(aws_iam_credential_report_generated_timestamp_seconds{sel(acc)})",
            f"max by (account_id) (aws_iam_exporter_report_rows_skipped{sel(acc)})",
        ),
        [column("Last refresh", mappings=REFRESH_STATES, width=110),
         column("Data age", unit="dtdurations", steps=((None, "green"), (STALE_DATA, "red"))),
         column("Refresh duration", unit="s"),
         column("Credential report age", unit="dtdurations",
                steps=((None, "green"), (STALE_REPORT, "orange"))),
         column("Rows skipped", steps=((None, "green"), (1, "orange")))],
        sort=("Last refresh", False)), 24, 10))

    p.append(lay.place(table(
        "Collectors",
        [("account_id", "Account"), ("collector", "Collector"), ("Value #A", "Last attempt"),
         ("Value #B", "Data age"), ("Value #C", "Duration")],
        "Every collector (--collector.NAME) of every account it ran for, failing ones first "
        "(AwsIamExporterCollectorFailing). A failing collector's series are from its last "
        "success; Data age is the time since then (empty: it never succeeded).",
        instant_tables(
            f"min by (account_id, collector) (aws_iam_exporter_collector_success{sel(acc)})",
            f"time() - max by (account_id, collector) "
            f"(aws_iam_exporter_collector_last_success_timestamp_seconds{sel(acc)})",
            f"max by (account_id, collector) "
            f"(aws_iam_exporter_collector_duration_seconds{sel(acc)})",
        ),
        [column("Last attempt", mappings=REFRESH_STATES, width=110),
         column("Data age", unit="dtdurations", steps=((None, "green"), (STALE_DATA, "red"))),
         column("Duration", unit="s")],
        sort=("Last attempt", False)), 24, 8))

    p.append(lay.row("Over time"))
    p.append(lay.place(timeseries(
        "Data age",
        [target(f"max(account_id:aws_iam_exporter_last_refresh_success_age_seconds:min"
                f"{{{acc}}})", "A", legend="oldest"),
         target(f"quantile(0.5, account_id:aws_iam_exporter_last_refresh_success_age_seconds"
                f":min{{{acc}}})", "B", legend="median")],
        f"Age of the data served, oldest and median account (one line each, whatever the "
        f"number of accounts); the line is at {STALE_DATA // 60} minutes, when "
        "AwsIamExporterDataStale fires with the default refresh interval.", unit="s",
        threshold=STALE_DATA), 12, 8))
    p.append(lay.place(timeseries(
        "Accounts by last refresh",
        [target(f"count(min by (account_id) (aws_iam_exporter_account_refresh_success"
                f"{sel(acc)}) == 1)", "A", legend="OK"),
         target(f"count(min by (account_id) (aws_iam_exporter_account_refresh_success"
                f"{sel(acc)}) == 0)", "B", legend="failing")],
        "Accounts whose last refresh succeeded or failed.", stack=True,
        overrides=[fixed_color("OK", "green"), fixed_color("failing", "red")]), 12, 8))

    p.append(lay.row("AWS API"))
    p.append(lay.place(timeseries(
        "API requests by operation",
        [target(f"sum by (operation) "
                f"(rate(aws_iam_exporter_api_requests_total{{{JOB}}}[$__rate_interval]))",
                legend="{{operation}}")],
        "AWS API requests per second, retries included. Every call costs quota.",
        unit="reqps"), 12, 8))
    p.append(lay.place(timeseries(
        "API errors by operation and code",
        [target(f"sum by (operation, code) "
                f"(rate(aws_iam_exporter_api_errors_total{{{JOB}}}[$__rate_interval]))",
                legend="{{operation}}: {{code}}")],
        "AWS API calls that failed after retries. AccessDenied names a missing "
        "permission (see docs/runbook.md); Throttling means too many calls.",
        unit="reqps"), 12, 8))
    p.append(lay.place(table(
        "Exporters",
        [("instance", "Instance"), ("version", "Version"), ("revision", "Revision"),
         ("Value #B", "Up")],
        "Each exporter instance Prometheus scrapes, its version and whether it is up.",
        instant_tables(
            f"max by (instance, version, revision) (aws_iam_exporter_build_info{{{JOB}}})",
            f"max by (instance) (up{{{JOB}}})",
        ),
        [column("Up", mappings=mapping((1, "UP", "green"), (0, "DOWN", "red")), width=80)]),
        24, 5))

    return dashboard(
        "health", "Exporter health",
        "Is iam-credentials-exporter working: every account's refresh, data age, AWS API "
        "calls.", p,
        [variable_query("account", "Account",
                        "label_values(aws_iam_exporter_account_refresh_success, account_id)",
                        multi=True)], time_from="now-6h")


# ---------------------------------------------------------------------------
# Compliance
# ---------------------------------------------------------------------------

# The controls the posture recording rules measure (mixin/rules.libsonnet),
# by benchmark label, with what each checks at the benchmark's threshold.
CONTROLS = {
    "cis": [
        ("2.4", "No root user access key"),
        ("2.5", "MFA for the root user"),
        ("2.6", "Hardware MFA for the root user"),
        ("2.7", "No root user for daily tasks"),
        ("2.8", f"Password policy: length {CONTROL['passwordMinimumLengthCis']} or more"),
        ("2.9", f"Password policy prevents reuse ({CONTROL['passwordReusePrevention']})"),
        ("2.10", "MFA for every console user"),
        ("2.11", f"Credentials unused for {days(CONTROL['credentialUnusedCisSeconds'])} disabled"),
        ("2.12", f"Access keys rotated every {days(CONTROL['keyRotationSeconds'])}"),
        ("2.17", "Expired server certificates removed"),
    ],
    "fsbp": [
        ("IAM.3", f"Access keys rotated every {days(CONTROL['keyRotationSeconds'])}"),
        ("IAM.4", "No root user access key"),
        ("IAM.5", "MFA for users with a console password"),
        ("IAM.6", "Hardware MFA for the root user"),
        ("IAM.7", f"Password policy: four classes, length {CONTROL['passwordMinimumLengthFsbp']}"),
        ("IAM.8", f"Credentials unused for {days(CONTROL['credentialUnusedFsbpSeconds'])} removed"),
        ("IAM.9", "MFA for the root user"),
        ("IAM.11", "Password policy requires an uppercase letter"),
        ("IAM.12", "Password policy requires a lowercase letter"),
        ("IAM.13", "Password policy requires a symbol"),
        ("IAM.14", "Password policy requires a number"),
        ("IAM.15", f"Password length {CONTROL['passwordMinimumLengthCis']} or more"),
        ("IAM.16", f"Password policy prevents reuse ({CONTROL['passwordReusePrevention']})"),
        ("IAM.17", f"Passwords expire within {days(CONTROL['passwordMaxAgeSeconds'])}"),
        ("IAM.19", "MFA for every IAM user"),
        ("IAM.22", f"Credentials unused for {days(CONTROL['credentialUnusedCisSeconds'])} removed"),
        ("IAM.26", "Expired server certificates removed"),
    ],
}
BENCHMARKS = {"cis": "CIS AWS Foundations v7.0.0", "fsbp": "Security Hub FSBP"}
FAILING = "account_id:aws_iam_control_failing:bool"


def control_column(bench: str) -> sdk.DashboardFieldConfigSourceOverrides:
    """The Control column: the control's label value shown with what it
    checks, uncoloured."""
    names = model.ValueMap(options={
        code: model.ValueMappingResult(text=f"{code} {title}", index=i)
        for i, (code, title) in enumerate(CONTROLS[bench])})
    return (sdk.DashboardFieldConfigSourceOverrides()
            .matcher(model.MatcherConfig(id_val="byName", options="Control"))
            .properties([model.DynamicConfigValue(id_val="mappings", value=[names]),
                         model.DynamicConfigValue(id_val="custom.width", value=330)]))


def compliance_panels(lay: Layout, bench: str) -> list:
    """Stats, the table of controls, failing accounts over time and the
    failing accounts of each control, for one benchmark label."""
    name = BENCHMARKS[bench]
    acc = 'account_id=~"$account"'
    failing = f'{FAILING}{{{bench}!="", {acc}}}'
    by = f"{bench}"
    row = f"account_id, {bench}"
    short, long_ = WINDOWS
    p = [lay.row(name)]
    # The rules aggregate by account_id: one series per account and control,
    # replicas included, and no job label to select.
    per_account = f"max by (account_id) ({failing})"
    p.append(lay.place(stat(
        "Controls failing", f"count(sum by ({by}) ({failing}) > 0)",
        f"{name} controls that at least one selected account fails now."), 6, 4))
    p.append(lay.place(stat(
        "Accounts failing a control", f"count({per_account} == 1)",
        f"Selected accounts that fail at least one {name} control now."), 6, 4))
    p.append(lay.place(stat(
        "Accounts passing every control", f"count({per_account} == 0)",
        f"Selected accounts that pass every {name} control measured in them now.",
        steps=((None, "green"),)), 6, 4))
    p.append(lay.place(stat(
        f"Accounts failing in {short}d",
        f"count(max by (account_id) (max_over_time({failing}[{short}d])) == 1)",
        f"Selected accounts that failed at least one {name} control at some time in the "
        f"last {short} days.", steps=((None, "green"), (1, "orange"))), 6, 4))

    windows = [f"max_over_time({failing}[{w}d])" for w in WINDOWS]
    shares = [f"avg_over_time({failing}[{w}d])" for w in WINDOWS]
    p.append(lay.place(table(
        f"{name} controls",
        [(bench, "Control"), ("Value #A", "Accounts checked"), ("Value #B", "Passing"),
         ("Value #C", "Failing"), ("Value #D", f"Failing in {short}d"),
         ("Value #E", f"Failing in {long_}d"), ("Value #F", f"Time failing {short}d"),
         ("Value #G", f"Time failing {long_}d"), ("Value #H", "Resources failing")],
        f"One row per {name} control the posture recording rules measure "
        "(account_id:aws_iam_control_*), failing ones first. Accounts checked: accounts "
        "where the exporter has the data the control needs (an account without it is not "
        "measured, never counted as passing). Passing and Failing: those accounts now. "
        f"Failing in {short}d and {long_}d: accounts that failed at some time in the window. "
        "Time failing: the share of the window the accounts failed, averaged over the "
        "accounts (from the rules' evaluations; an account counts from when it was first "
        "measured). Resources failing: keys, users, certificates or account settings that "
        "fail now, at the benchmark's threshold.",
        instant_tables(
            f"count by ({by}) ({failing})",
            f"sum by ({by}) (1 - {failing})",
            f"sum by ({by}) ({failing})",
            f"sum by ({by}) ({windows[0]})",
            f"sum by ({by}) ({windows[1]})",
            f"avg by ({by}) ({shares[0]})",
            f"avg by ({by}) ({shares[1]})",
            f'sum by ({by}) (account_id:aws_iam_control_failing:count{{{bench}!="", {acc}}})',
        ),
        [control_column(bench),
         column("Failing", steps=ZERO_GOOD),
         column(f"Failing in {short}d", steps=((None, "green"), (1, "orange"))),
         column(f"Failing in {long_}d", steps=((None, "green"), (1, "yellow"))),
         column(f"Time failing {short}d", unit="percentunit"),
         column(f"Time failing {long_}d", unit="percentunit")],
        sort=("Failing", True)), 24, 4 + (len(CONTROLS[bench]) + 1) // 2))

    p.append(lay.place(timeseries(
        f"Failing accounts by {name} control",
        [target(f"sum by ({by}) ({failing})", legend=f"{{{{{bench}}}}}")],
        f"Selected accounts failing each {name} control over time, one line per control.",
        stack=False), 24, 8))

    rank = (f"2 * max by ({row}) ({failing}) "
            f"+ max by ({row}) (avg_over_time({failing}[{short}d])) > 0")
    rows = f"topk({TABLE_ROWS}, {rank})"
    account_link = dashboard_link(UID["account"], "Open account",
                                  "var-account=${__data.fields.account_id}&")
    p.append(lay.place(table(
        f"Failing accounts by {name} control",
        [(bench, "Control"), ("account_id", "Account"), ("account_name", "Name"),
         ("Value #A", "Now"), ("Value #B", "Resources failing"), ("Value #C", "Checked"),
         ("Value #D", f"Time failing {short}d")],
        f"Each selected account that fails a {name} control now or failed it at some time "
        f"in the last {short} days, those failing now first (at most {TABLE_ROWS} rows). "
        "Resources failing and Checked: the keys, users, certificates or settings the "
        "control checked in the account and those that fail now. Click an account to open "
        "what to fix in it.",
        instant_tables(
            f"max by ({row}) ({failing}) and on ({row}) {rows}",
            f'max by ({row}) (account_id:aws_iam_control_failing:count{{{bench}!="", {acc}}})'
            f" and on ({row}) {rows}",
            f'max by ({row}) (account_id:aws_iam_control_checked:count{{{bench}!="", {acc}}})'
            f" and on ({row}) {rows}",
            f"max by ({row}) (avg_over_time({failing}[{short}d])) and on ({row}) {rows}",
            f"max by ({row}, account_name) ({rows} * on (account_id) group_left (account_name)"
            f" group by (account_id, account_name) (aws_iam_account_info{sel()}))",
        ),
        [control_column(bench),
         column("Account", link=account_link), column("Name", link=account_link),
         column("Now", mappings=mapping((1, "failing", "red"), (0, "passing", "green")),
                width=100),
         column(f"Time failing {short}d", unit="percentunit")],
        sort=("Now", True)), 24, 8))
    return p


def compliance() -> sdk.Dashboard:
    lay = Layout()
    p = []
    for bench in BENCHMARKS:
        p.extend(compliance_panels(lay, bench))
    short, long_ = WINDOWS
    return dashboard(
        "compliance", "Compliance",
        f"Each CIS AWS Foundations v7.0.0 and Security Hub FSBP control the exporter measures: "
        f"accounts passing and failing it now and over the last {short} and {long_} days, "
        "and the accounts that fail it. From the posture recording rules.",
        p, [variable_query("account", "Account",
                           "label_values(account_id:aws_iam_control_checked:count, account_id)",
                           multi=True)], time_from=f"now-{short}d")


BOARDS = {
    "iam-organization.json": organization,
    "iam-account.json": account,
    "iam-user.json": user,
    "iam-exporter-health.json": health,
    "iam-compliance.json": compliance,
}


def render() -> dict[str, str]:
    return {name: json.dumps(build().build(), cls=JSONEncoder, indent=2) + "\n"
            for name, build in BOARDS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="fail if a committed JSON file differs from the generated one")
    args = parser.parse_args()
    stale = []
    for name, text in render().items():
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
            print(f"wrote dashboards/{name}")
    if stale:
        sys.exit("dashboards out of date (run python3 dashboards/generate.py): "
                 + ", ".join(stale))


if __name__ == "__main__":
    main()
