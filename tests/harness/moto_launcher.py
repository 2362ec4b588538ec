#!/usr/bin/env python3
"""Run moto in-process with a seeded IAM / STS / Organizations state.

Used by the integration tests (tests/common/moto.rs) and by the benchmarks.
moto runs in THIS process (moto.server.ThreadedMotoServer) so that, after the
state has been created through the real AWS API (boto3 against the server
itself), the launcher can reach into moto's backend objects and set the
historic dates that the API cannot set (creation and last-use times).

Usage
-----
    moto_launcher.py --seed SEED.json [--port 0] [--max-seconds 600]
                     [--no-verify] [--ignore-stdin] [--verbose]

Protocol on stdout (everything else, including logs, goes to stderr):

    ACCOUNTS {"<label>": {...}, ...}      one line, JSON, see "Output" below
    KEYS {"<label>/<user>/<slot>": "AKIA...", ...}
    READY http://127.0.0.1:<port>

Nothing is printed to stdout after READY. If seeding fails the launcher prints
`ERROR <message>` on stdout (details on stderr) and exits with status 1.

The server stops by itself when stdin reaches end-of-file (the parent closed
its end of the pipe or died; disable with --ignore-stdin), on SIGTERM or
SIGINT, or after --max-seconds (default 600) at the latest.

Seed file (JSON)
----------------
Unknown fields are rejected, so that a typo cannot silently seed something
else. Timestamps are ISO 8601 with an offset or `Z`, whole seconds
(`2025-03-14T09:21:07Z`, `2025-03-14T10:21:07+01:00`); they are stored in UTC.

    {
      "partition": "aws",          # optional: aws (default) | aws-cn | aws-us-gov
      "organization": {            # optional: the first account creates an
        "feature_set": "ALL",      #   organization (ALL | CONSOLIDATED_BILLING)
        "root_access_features": [  # optional: served by iam:ListOrganizationsFeatures
          "RootSessions"           #   (moto has none); absent: the call fails as in
        ]                          #   moto (RootCredentialsManagement | RootSessions)
      },
      "accounts": [ACCOUNT, ...]   # required, at least one
    }

ACCOUNT:

    {
      "label": "mgmt",             # optional handle used in the ACCOUNTS and KEYS
                                   #   output; default: the "id" when given,
                                   #   else "account<N>" (N = index in the list)
      "id": "123456789012",        # the first account is always moto's default
                                   #   account 123456789012 (may be omitted).
                                   #   Other accounts: optional fixed 12-digit id
                                   #   (also for organization members); random
                                   #   when omitted.
      "name": "Prod \\"EU\\"",     # Organizations account name. Required for an
                                   #   organization member; on the first account
                                   #   it renames moto's management account
                                   #   (moto calls it "master").
      "email": "a@example.com",    # optional, organization members only
      "organization_member": true, # default: true when "organization" is set;
                                   #   false makes a stand-alone account that is
                                   #   only reachable through AssumeRole.
                                   #   Ignored for the first account.
      "role_name": "OrganizationAccountAccessRole",
                                   # role created in this account (not for the
                                   #   first account); the launcher seeds the
                                   #   account through AssumeRole into it, and
                                   #   so can the exporter. Default
                                   #   OrganizationAccountAccessRole.
      "external_id": "x-123",      # optional: written into the role's trust
                                   #   policy (moto does not enforce it)
      "status": "ACTIVE",          # or "SUSPENDED": CloseAccount after seeding
                                   #   (organization members only)
      "alias": "prod-eu",          # optional IAM account alias
      "users": [USER, ...],        # optional
      "roles": [ROLE, ...],        # optional
      "groups": [GROUP, ...],      # optional; groups a user names are created
                                   #   anyway, without policies
      "tags": {"team": "payments"},
                                   # optional: Organizations tags of the
                                   #   account (TagResource from the management
                                   #   account); organization accounts only
      "root": {                    # optional: a `<root_account>` report row
        "created": "2020-01-01T00:00:00Z",  #   (moto writes none), created then;
        "mfa": "virtual"           #   none (default) | virtual | hardware |
      },                           #   both. virtual: an assigned virtual MFA
                                   #   device whose User is the root ARN
      "unassigned_virtual_mfa_devices": 2,
                                   # optional: virtual devices nobody uses
      "server_certificates": [SERVER_CERT, ...]
                                   # optional
    }

SERVER_CERT (uploaded with a self-signed certificate whose notAfter is
"expiration"; ListServerCertificates then returns these values):

    {
      "name": "web-2026",          # required, unique in the account
      "path": "/cloudfront/",      # optional, default "/"
      "id": "ASCAEXAMPLE123",      # optional ServerCertificateId (default random)
      "uploaded": "2025-01-01T00:00:00Z",  # optional, default: seeding time
      "expiration": "2026-01-01T00:00:00Z" # required
    }

GROUP:

    {
      "name": "admins",            # required; IAM group name
      "aws_managed_policies": ["AWSCloudShellFullAccess"]
                                   # optional: AWS managed policies attached
                                   #   (see AWS_MANAGED below)
    }

USER:

    {
      "name": "alice",             # required; IAM user name
      "path": "/ci/",              # optional, default "/"
      "tags": {"team": "payments"},        # optional IAM tags
      "groups": ["admins"],        # optional: AddUserToGroup
      "inline_policies": {"name": {POLICY DOCUMENT}, ...},
                                   # optional: PutUserPolicy for each
      "aws_managed_policies": ["AWSSupportAccess"],
                                   # optional: AttachUserPolicy (AWS_MANAGED)
      "created": "2024-01-15T08:00:00Z",   # optional, default: seeding time
      "password": true,            # console password (login profile); default false
      "password_last_used": "2026-11-20T10:00:00Z" | null,
                                   # only with "password": true; null/absent = never
      "mfa": false,                # false (default) | true (= "virtual") |
                                   #   "virtual" | "hardware" | "both": enabled
                                   #   MFA devices (hardware: a token serial)
      "signing_certificates": [CERT, CERT],
                                   # 0 to 2 X.509 signing certificates, each
                                   #   {"status": "Active" | "Inactive",
                                   #    "uploaded": "2025-01-01T00:00:00Z"}
      "keys": [KEY, KEY],          # 0 to 2 access keys; the list index + 1 is
                                   #   the slot in the credential report
      "ssh_keys": [SSH_KEY, ...],  # 0 to 5 SSH public keys (IAM's limit)
      "service_specific_credentials": [SSC, ...]
                                   # at most 2 per service (IAM's limit)
    }

SSH_KEY:

    {
      "id": "APKAEXAMPLE1",        # optional: the SSHPublicKeyId (default: moto's)
      "status": "Active",          # Active (default) | Inactive
      "uploaded": "2025-01-01T00:00:00Z"   # optional, default: seeding time
    }

SSC (a service-specific credential; moto has none, the launcher serves
ListServiceSpecificCredentials itself, see serve_service_specific_credentials):

    {
      "service": "bedrock.amazonaws.com",  # required: the ServiceName
      "id": "ACCAEXAMPLE1",        # optional: ServiceSpecificCredentialId
                                   #   (default: ACCA + 16 random characters)
      "status": "Active",          # Active (default) | Inactive | Expired
      "created": "2025-01-01T00:00:00Z",   # optional, default: seeding time
      "expires": "2026-01-01T00:00:00Z"    # optional; absent = never expires
    }

KEY:

    {
      "status": "Active",          # Active (default) | Inactive
      "created": "2025-01-01T00:00:00Z",   # optional, default: seeding time
      "use": {"region": "eu-west-1", "service": "s3"},
                                   # optional: sign one REAL request with this key
                                   #   so that moto records the use itself.
                                   #   service: one of SERVICE_CALLS below.
      "last_used": {"date": "...", "region": "...", "service": "..."} | null
                                   # optional: set the last use directly in the
                                   #   backend. With "use", "region"/"service"
                                   #   default to what moto recorded and "date"
                                   #   backdates that use; without "use" all
                                   #   three are required. null/absent and no
                                   #   "use" = never used.
    }

ROLE:

    {
      "name": "deploy",            # required; IAM role name
      "path": "/ci/",              # optional, default "/"
      "service_linked": "autoscaling.amazonaws.com",
                                   # optional: create the role with
                                   #   CreateServiceLinkedRole for this service
                                   #   principal instead of CreateRole. AWS
                                   #   names it and puts it under
                                   #   /aws-service-role/<service>/; "name" must
                                   #   be that name (checked), "path" not given.
      "created": "2024-01-15T08:00:00Z",   # optional, default: seeding time
      "inline_policies": {"name": {POLICY DOCUMENT}, ...},
                                   # optional: PutRolePolicy for each
      "managed_policies": {"name": {POLICY DOCUMENT}, ...},
                                   # optional: a customer managed policy of
                                   #   each name (CreatePolicy once per account;
                                   #   the first document given wins), attached
                                   #   with AttachRolePolicy
      "tags": {"team": "payments"},        # optional IAM tags (not with
                                   #   service_linked)
      "aws_managed_policies": ["AWSSupportAccess"],
                                   # optional: AttachRolePolicy (AWS_MANAGED)
      "instance_profile": true,    # optional: an instance profile of the same
                                   #   name holding the role; default false
      "last_used": {"date": "...", "region": "eu-west-1"} | null
                                   # optional: RoleLastUsed, set in the backend
                                   #   (moto records no use of a role by
                                   #   itself). null/absent = never used (or not
                                   #   within AWS's 400-day tracking window).
    }

AWS_MANAGED: moto loads no AWS managed policy unless told to for the whole
process (MOTO_IAM_LOAD_MANAGED_POLICIES, about a thousand policies per account
backend); the launcher installs only those a seed names, from moto's own copy
of their definitions, into the account's backend before attaching them, so
their ARN is arn:PARTITION:iam::aws:policy/NAME as in AWS.

Output
------
ACCOUNTS maps each label to
    {"id": "210987654321", "name": "...", "email": "...",
     "role_arn": "arn:aws:iam::210987654321:role/OrganizationAccountAccessRole"
                 (null for the first account),
     "organization_id": "o-..." (null when not in the organization),
     "organization_member": true, "status": "ACTIVE", "index": 1}
KEYS maps "<label>/<user name>/<slot>" (slot "1" or "2") to the access key id.

What moto reflects (moto 5.2.5; see the notes at the edits below)
------------------------------------------------------------------
After the edits, these APIs return the seeded values:
  * ListUsers / GetUser: CreateDate = "created", PasswordLastUsed =
    "password_last_used" (absent when never used), Path, Arn.
  * ListAccessKeys: AccessKeyId, Status, CreateDate = key "created".
  * GetAccessKeyLastUsed: LastUsedDate, Region, ServiceName; for a never-used
    key LastUsedDate is absent and Region/ServiceName are "N/A".
  * GetRole and GetAccountAuthorizationDetails (Filter=Role): Path, Arn,
    CreateDate = role "created", RoleLastUsed = role "last_used" (empty
    element when never used, as AWS answers). ListRoles returns no
    RoleLastUsed (neither does AWS).
  * ListSSHPublicKeys: SSHPublicKeyId = "id", Status, UploadDate = "uploaded".
  * GetAccountAuthorizationDetails (Filter=User, Group, Role, any of them):
    users' Tags, GroupList, UserPolicyList and AttachedManagedPolicies,
    groups' AttachedManagedPolicies, roles' Tags and AttachedManagedPolicies.
  * Organizations ListTagsForResource: an account's seeded "tags".
  * ListServiceSpecificCredentials (served by the launcher): UserName,
    ServiceName and AllUsers filters as AWS documents them, MaxItems (default
    100) and Marker paginate.
  * GenerateCredentialReport + GetCredentialReport: user_creation_time,
    password_enabled, password_last_used, mfa_active, access_key_N_active,
    access_key_N_last_rotated (= key "created"), access_key_N_last_used_date.
Gaps of moto's credential report (the launcher does not paper over them,
except where noted):
  * no `<root_account>` row (the launcher adds one for an account with "root");
  * access_key_N_last_used_region / _service are always "not_supported",
    even for keys that were used;
  * password_last_changed is the user's creation time; password_next_rotation
    is always "not_supported";
  * for a user without password, password_last_used is "not_supported"
    (AWS writes "N/A"), and for a password never used "no_information";
  * cert_N_last_rotated is always "N/A" (the launcher writes the upload date
    of the user's Nth signing certificate, as AWS does);
  * ListServerCertificates returns one fixed id, upload date and expiration
    for every certificate (the launcher serves the seeded ones);
  * fields are joined with "," and never quoted: the row of a user whose name
    contains a comma (IAM allows it) has extra fields;
  * GeneratedTime is always 2015-02-02T20:02:02Z;
  * the report is built when GetCredentialReport is called (always current);
    GenerateCredentialReport answers STARTED the first time and COMPLETE
    afterwards, never INPROGRESS; a report is never expired.
Other moto behaviour worth knowing:
  * ListUsers and ListAccessKeys ignore Marker/MaxItems (one page);
    GetAccountAuthorizationDetails does too (one page, IsTruncated false);
    ListRoles does paginate (MaxItems, default 100);
  * every request signed with a seeded access key overwrites that key's last
    use (moto marks the key as used by the service and region of the request),
    so the exporter under test must use other credentials (any dummy key);
  * moto records the use of an AWS Lambda request as service "awslambda"; the
    launcher stores "lambda" (what AWS reports) in that case;
  * GetAccessKeyLastUsed finds a key in any account, not only the caller's;
  * trust policies and external ids are not enforced by AssumeRole;
  * Organizations ListAccounts also returns SUSPENDED accounts (with that
    status); it does paginate (MaxResults / NextToken);
  * GetAccessKeyLastUsed scans every key of every account, so an `api`
    refresh against moto costs O(keys^2) server time (about 50 s of seeding
    plus verification for 1,000 users with 2,000 keys; 24 s with
    --no-verify).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import random
import re
import signal
import sys
import threading
import traceback
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
HOST = "127.0.0.1"

# Region used for the launcher's own API calls, per partition.
PARTITION_REGION = {
    "aws": "us-east-1",
    "aws-cn": "cn-north-1",
    "aws-us-gov": "us-gov-west-1",
}

# How a key's "use" is performed: boto3 service name -> (client, operation,
# kwargs, service name that moto records).
SERVICE_CALLS: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "s3": ("s3", "list_buckets", {}, "s3"),
    "sts": ("sts", "get_caller_identity", {}, "sts"),
    "ec2": ("ec2", "describe_vpcs", {}, "ec2"),
    "iam": ("iam", "list_account_aliases", {}, "iam"),
    "lambda": ("lambda", "list_functions", {}, "awslambda"),
    "dynamodb": ("dynamodb", "list_tables", {}, "dynamodb"),
    "sqs": ("sqs", "list_queues", {}, "sqs"),
    "sns": ("sns", "list_topics", {}, "sns"),
    "logs": ("logs", "describe_log_groups", {}, "logs"),
    "kms": ("kms", "list_keys", {}, "kms"),
    "secretsmanager": ("secretsmanager", "list_secrets", {}, "secretsmanager"),
    "ssm": ("ssm", "describe_parameters", {}, "ssm"),
}

# Dummy credentials of the launcher's own (admin) calls. They are unknown to
# moto's IAM, so moto maps them to the default account and records no use.
ADMIN_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
ADMIN_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

log = logging.getLogger("moto_launcher")


class SeedError(Exception):
    """The seed file is invalid or the seeded state could not be verified."""


# ---------------------------------------------------------------------------
# Seed parsing and validation
# ---------------------------------------------------------------------------

_TS_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$"
)


def parse_ts(value: Any, where: str) -> datetime:
    """ISO 8601, whole seconds, with offset -> naive UTC (what moto stores)."""
    if not isinstance(value, str) or not _TS_RE.match(value):
        raise SeedError(
            f"{where}: expected an ISO 8601 timestamp with whole seconds and an "
            f"offset, like 2025-03-14T09:21:07Z, got {value!r}"
        )
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt.astimezone(timezone.utc).replace(tzinfo=None)


def check_fields(obj: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise SeedError(f"{where}: expected an object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise SeedError(
            f"{where}: unknown field(s) {unknown}; allowed: {sorted(allowed)}"
        )
    return obj


def opt_bool(obj: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise SeedError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def opt_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise SeedError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def normalize_seed(seed: Any) -> dict[str, Any]:
    """Validate the seed and fill in defaults. Returns a new structure."""
    seed = check_fields(seed, {"partition", "organization", "accounts"}, "seed")
    partition = seed.get("partition", "aws")
    if partition not in PARTITION_REGION:
        raise SeedError(
            f"seed.partition: expected one of {sorted(PARTITION_REGION)}, got {partition!r}"
        )
    org = seed.get("organization")
    if org is not None:
        org = check_fields(
            org, {"feature_set", "root_access_features"}, "seed.organization"
        )
        feature_set = org.get("feature_set", "ALL")
        if feature_set not in ("ALL", "CONSOLIDATED_BILLING"):
            raise SeedError(
                "seed.organization.feature_set: expected ALL or CONSOLIDATED_BILLING"
            )
        features = org.get("root_access_features")
        if features is not None and (
            not isinstance(features, list)
            or any(f not in ("RootCredentialsManagement", "RootSessions") for f in features)
        ):
            raise SeedError(
                "seed.organization.root_access_features: expected a list of "
                "RootCredentialsManagement and RootSessions"
            )
        org = {"feature_set": feature_set, "root_access_features": features}

    accounts_in = seed.get("accounts")
    if not isinstance(accounts_in, list) or not accounts_in:
        raise SeedError("seed.accounts: expected a non-empty list")

    accounts: list[dict[str, Any]] = []
    labels: set[str] = set()
    ids: set[str] = set()
    for index, acc in enumerate(accounts_in):
        where = f"seed.accounts[{index}]"
        acc = check_fields(
            acc,
            {
                "label", "id", "name", "email", "organization_member",
                "role_name", "external_id", "status", "alias", "users",
                "password_policy",
                "roles", "groups", "tags",
                "root", "unassigned_virtual_mfa_devices", "server_certificates",
            },
            where,
        )
        first = index == 0
        acc_id = opt_str(acc, "id", where)
        if acc_id is not None and not re.fullmatch(r"\d{12}", acc_id):
            raise SeedError(f"{where}.id: expected 12 digits, got {acc_id!r}")
        if first:
            if acc_id not in (None, DEFAULT_ACCOUNT_ID):
                raise SeedError(
                    f"{where}.id: the first account is moto's default account "
                    f"{DEFAULT_ACCOUNT_ID}"
                )
            acc_id = DEFAULT_ACCOUNT_ID
        if acc_id is not None:
            if acc_id in ids:
                raise SeedError(f"{where}.id: duplicate account id {acc_id}")
            ids.add(acc_id)

        label = opt_str(acc, "label", where)
        if label is None:
            label = acc_id if acc_id is not None else f"account{index}"
        if not label or "/" in label:
            raise SeedError(f"{where}.label: must be non-empty and contain no '/'")
        if label in labels:
            raise SeedError(f"{where}.label: duplicate label {label!r}")
        labels.add(label)

        member = False
        if not first:
            member = opt_bool(acc, "organization_member", org is not None, where)
            if member and org is None:
                raise SeedError(
                    f"{where}.organization_member: true needs seed.organization"
                )
        name = opt_str(acc, "name", where)
        if member and not name:
            raise SeedError(f"{where}.name: required for an organization member")
        email = opt_str(acc, "email", where)
        if email is not None and not member:
            raise SeedError(f"{where}.email: only for organization members")

        role_name = opt_str(acc, "role_name", where)
        external_id = opt_str(acc, "external_id", where)
        if first and (role_name is not None or external_id is not None):
            raise SeedError(
                f"{where}: role_name/external_id are for member accounts; the "
                "first account is reached with the caller's own credentials"
            )
        status = acc.get("status", "ACTIVE")
        if status not in ("ACTIVE", "SUSPENDED"):
            raise SeedError(f"{where}.status: expected ACTIVE or SUSPENDED")
        if status == "SUSPENDED" and not member:
            raise SeedError(f"{where}.status: SUSPENDED needs an organization member")

        users_in = acc.get("users", [])
        if not isinstance(users_in, list):
            raise SeedError(f"{where}.users: expected a list")
        users = []
        names: set[str] = set()
        for u_index, user in enumerate(users_in):
            u = normalize_user(user, f"{where}.users[{u_index}]")
            if u["name"] in names:
                raise SeedError(f"{where}.users[{u_index}]: duplicate user {u['name']!r}")
            names.add(u["name"])
            users.append(u)

        unassigned = acc.get("unassigned_virtual_mfa_devices", 0)
        if not isinstance(unassigned, int) or isinstance(unassigned, bool) or unassigned < 0:
            raise SeedError(f"{where}.unassigned_virtual_mfa_devices: expected a count")

        password_policy = acc.get("password_policy")
        if password_policy is not None:
            password_policy = check_fields(password_policy, PASSWORD_POLICY_FIELDS,
                                           f"{where}.password_policy")
        roles_in = acc.get("roles", [])
        if not isinstance(roles_in, list):
            raise SeedError(f"{where}.roles: expected a list")
        roles = []
        role_names: set[str] = set()
        if not first:
            role_names.add(role_name or DEFAULT_ROLE_NAME)
        for r_index, role in enumerate(roles_in):
            r = normalize_role(role, f"{where}.roles[{r_index}]")
            if r["name"] in role_names:
                raise SeedError(f"{where}.roles[{r_index}]: duplicate role {r['name']!r}")
            role_names.add(r["name"])
            roles.append(r)

        groups_in = acc.get("groups", [])
        if not isinstance(groups_in, list):
            raise SeedError(f"{where}.groups: expected a list")
        groups = [normalize_group(g, f"{where}.groups[{i}]") for i, g in enumerate(groups_in)]
        account_tags = normalize_tags(acc.get("tags"), f"{where}.tags")
        if account_tags and not (member or (first and org is not None)):
            raise SeedError(f"{where}.tags: Organizations tags need an organization account")

        accounts.append(
            {
                "groups": groups,
                "tags": account_tags,
                "index": index,
                "label": label,
                "id": acc_id,
                "name": name,
                "email": email,
                "member": member,
                "role_name": None if first else (role_name or DEFAULT_ROLE_NAME),
                "external_id": external_id,
                "status": status,
                "alias": opt_str(acc, "alias", where),
                "users": users,
                "password_policy": password_policy,
                "roles": roles,
                "root": normalize_root(acc.get("root"), f"{where}.root"),
                "unassigned_virtual_mfa_devices": unassigned,
                "server_certificates": normalize_server_certificates(
                    acc.get("server_certificates", []), f"{where}.server_certificates"),
            }
        )
    return {"partition": partition, "organization": org, "accounts": accounts}


# Parameters of iam:UpdateAccountPasswordPolicy, passed as they are.
PASSWORD_POLICY_FIELDS = {
    "MinimumPasswordLength", "RequireSymbols", "RequireNumbers",
    "RequireUppercaseCharacters", "RequireLowercaseCharacters",
    "AllowUsersToChangePassword", "MaxPasswordAge", "PasswordReusePrevention",
    "HardExpiry",
}

MFA_KINDS = {False: [], True: ["virtual"], "virtual": ["virtual"],
             "hardware": ["hardware"], "both": ["virtual", "hardware"]}


def normalize_mfa(value: Any, where: str) -> list[str]:
    if isinstance(value, (bool, str)) and value in MFA_KINDS:
        return MFA_KINDS[value]
    raise SeedError(f"{where}: expected false, true, virtual, hardware or both")


def normalize_root(root: Any, where: str) -> dict[str, Any] | None:
    if root is None:
        return None
    root = check_fields(root, {"created", "mfa"}, where)
    created = root.get("created")
    mfa = root.get("mfa", "none")
    return {
        "created": parse_ts(created, f"{where}.created") if created is not None else None,
        "mfa": normalize_mfa(False if mfa == "none" else mfa, f"{where}.mfa"),
    }


def normalize_server_certificates(certs: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(certs, list):
        raise SeedError(f"{where}: expected a list")
    out = []
    for i, cert in enumerate(certs):
        w = f"{where}[{i}]"
        cert = check_fields(cert, {"name", "path", "id", "uploaded", "expiration"}, w)
        name = opt_str(cert, "name", w)
        if not name:
            raise SeedError(f"{w}.name: required")
        uploaded = cert.get("uploaded")
        out.append({
            "name": name,
            "path": opt_str(cert, "path", w) or "/",
            "id": opt_str(cert, "id", w),
            "uploaded": parse_ts(uploaded, f"{w}.uploaded") if uploaded is not None else None,
            "expiration": parse_ts(cert.get("expiration"), f"{w}.expiration"),
        })
    if len({c["name"] for c in out}) != len(out):
        raise SeedError(f"{where}: duplicate certificate name")
    return out


def normalize_signing_certificates(certs: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(certs, list) or len(certs) > 2:
        raise SeedError(f"{where}: expected a list of at most 2 (IAM's limit)")
    out = []
    for i, cert in enumerate(certs):
        w = f"{where}[{i}]"
        cert = check_fields(cert, {"status", "uploaded"}, w)
        status = cert.get("status", "Active")
        if status not in ("Active", "Inactive"):
            raise SeedError(f"{w}.status: expected Active or Inactive, got {status!r}")
        uploaded = cert.get("uploaded")
        out.append({
            "status": status,
            "uploaded": parse_ts(uploaded, f"{w}.uploaded") if uploaded is not None else None,
        })
    return out


_USER_NAME_RE = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")


def normalize_user(user: Any, where: str) -> dict[str, Any]:
    user = check_fields(
        user,
        {"name", "path", "created", "password", "password_last_used", "mfa", "keys",
         "signing_certificates", "ssh_keys", "service_specific_credentials",
         "tags", "groups", "inline_policies", "aws_managed_policies"},
        where,
    )
    name = opt_str(user, "name", where)
    if not name or not _USER_NAME_RE.match(name):
        raise SeedError(
            f"{where}.name: IAM user names are 1-64 characters of letters, "
            f"digits and +=,.@_- ; got {name!r}"
        )
    path = opt_str(user, "path", where) or "/"
    if not (path.startswith("/") and path.endswith("/")):
        raise SeedError(f"{where}.path: must start and end with '/', got {path!r}")
    created = user.get("created")
    created = parse_ts(created, f"{where}.created") if created is not None else None
    password = opt_bool(user, "password", False, where)
    plu = user.get("password_last_used")
    if plu is not None:
        if not password:
            raise SeedError(f"{where}.password_last_used: needs \"password\": true")
        plu = parse_ts(plu, f"{where}.password_last_used")
    keys_in = user.get("keys", [])
    if not isinstance(keys_in, list) or len(keys_in) > 2:
        raise SeedError(f"{where}.keys: expected a list of at most 2 keys (IAM's limit)")
    keys = [normalize_key(k, f"{where}.keys[{i}]") for i, k in enumerate(keys_in)]
    ssh_in = user.get("ssh_keys", [])
    if not isinstance(ssh_in, list) or len(ssh_in) > 5:
        raise SeedError(f"{where}.ssh_keys: expected a list of at most 5 keys (IAM's limit)")
    ssh_keys = [normalize_ssh_key(k, f"{where}.ssh_keys[{i}]") for i, k in enumerate(ssh_in)]
    ssc_in = user.get("service_specific_credentials", [])
    if not isinstance(ssc_in, list):
        raise SeedError(f"{where}.service_specific_credentials: expected a list")
    sscs = [normalize_ssc(c, f"{where}.service_specific_credentials[{i}]")
            for i, c in enumerate(ssc_in)]
    for service in {c["service"] for c in sscs}:
        if sum(c["service"] == service for c in sscs) > 2:
            raise SeedError(f"{where}.service_specific_credentials: more than 2 for "
                            f"{service} (IAM's limit)")
    groups = user.get("groups", [])
    if not isinstance(groups, list) or not all(
            isinstance(g, str) and _ROLE_NAME_RE.match(g) for g in groups):
        raise SeedError(f"{where}.groups: expected a list of group names")
    return {
        "tags": normalize_tags(user.get("tags"), f"{where}.tags"),
        "groups": groups,
        "inline_policies": normalize_documents(
            user.get("inline_policies", {}), f"{where}.inline_policies"),
        "aws_managed_policies": normalize_aws_managed(
            user.get("aws_managed_policies"), f"{where}.aws_managed_policies"),
        "ssh_keys": ssh_keys,
        "service_specific_credentials": sscs,
        "name": name,
        "path": path,
        "created": created,
        "password": password,
        "password_last_used": plu,
        "mfa": bool(normalize_mfa(user.get("mfa", False), f"{where}.mfa")),
        "mfa_kinds": normalize_mfa(user.get("mfa", False), f"{where}.mfa"),
        "keys": keys,
        "signing_certificates": normalize_signing_certificates(
            user.get("signing_certificates", []), f"{where}.signing_certificates"),
    }


_ROLE_NAME_RE = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")


def normalize_tags(tags: Any, where: str) -> dict[str, str]:
    """Tags as AWS takes them: at most 50, keys of 1-128 and values of at
    most 256 characters."""
    if tags is None:
        return {}
    if not isinstance(tags, dict) or len(tags) > 50 or not all(
            isinstance(k, str) and 0 < len(k) <= 128 and isinstance(v, str) and len(v) <= 256
            for k, v in tags.items()):
        raise SeedError(f"{where}: expected an object of at most 50 tags (key: value)")
    return dict(tags)


def normalize_documents(docs: Any, where: str) -> dict[str, Any]:
    if not isinstance(docs, dict) or not all(isinstance(d, dict) for d in docs.values()):
        raise SeedError(f"{where}: expected an object of policy documents")
    return docs


_AWS_MANAGED: dict[str, Any] | None = None


def aws_managed_data() -> dict[str, Any]:
    """moto's definitions of the AWS managed policies, parsed once."""
    global _AWS_MANAGED
    if _AWS_MANAGED is None:
        from moto.iam.aws_managed_policies import aws_managed_policies_data

        _AWS_MANAGED = json.loads(aws_managed_policies_data)
    return _AWS_MANAGED


def normalize_aws_managed(names: Any, where: str) -> list[str]:
    if names is None:
        return []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SeedError(f"{where}: expected a list of AWS managed policy names")
    unknown = [n for n in names if n not in aws_managed_data()]
    if unknown:
        raise SeedError(f"{where}: not AWS managed policies moto knows: {unknown}")
    return names


def normalize_group(group: Any, where: str) -> dict[str, Any]:
    group = check_fields(group, {"name", "aws_managed_policies"}, where)
    name = opt_str(group, "name", where)
    if not name or not _ROLE_NAME_RE.match(name):
        raise SeedError(f"{where}.name: expected an IAM group name, got {name!r}")
    return {
        "name": name,
        "aws_managed_policies": normalize_aws_managed(
            group.get("aws_managed_policies"), f"{where}.aws_managed_policies"),
    }


def normalize_role(role: Any, where: str) -> dict[str, Any]:
    role = check_fields(
        role,
        {"name", "path", "service_linked", "created", "last_used", "inline_policies",
         "managed_policies", "instance_profile", "tags", "aws_managed_policies"},
        where,
    )
    inline = role.get("inline_policies", {})
    if not isinstance(inline, dict) or not all(isinstance(d, dict) for d in inline.values()):
        raise SeedError(f"{where}.inline_policies: expected an object of policy documents")
    managed = role.get("managed_policies", {})
    if not isinstance(managed, dict) or not all(isinstance(d, dict) for d in managed.values()):
        raise SeedError(f"{where}.managed_policies: expected an object of policy documents")
    name = opt_str(role, "name", where)
    if not name or not _ROLE_NAME_RE.match(name):
        raise SeedError(
            f"{where}.name: IAM role names are 1-64 characters of letters, "
            f"digits and +=,.@_- ; got {name!r}"
        )
    service = opt_str(role, "service_linked", where)
    path = opt_str(role, "path", where)
    if service is not None:
        if path is not None:
            raise SeedError(f"{where}.path: a service-linked role's path is set by AWS")
        if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com", service):
            raise SeedError(
                f"{where}.service_linked: expected a service principal like "
                f"autoscaling.amazonaws.com, got {service!r}"
            )
    path = path or "/"
    if not (path.startswith("/") and path.endswith("/")):
        raise SeedError(f"{where}.path: must start and end with '/', got {path!r}")
    tags = normalize_tags(role.get("tags"), f"{where}.tags")
    if tags and service is not None:
        raise SeedError(f"{where}.tags: not for a service-linked role")
    created = role.get("created")
    created = parse_ts(created, f"{where}.created") if created is not None else None
    last_used = role.get("last_used")
    if last_used is not None:
        last_used = check_fields(last_used, {"date", "region"}, f"{where}.last_used")
        region = opt_str(last_used, "region", f"{where}.last_used")
        if not region:
            raise SeedError(f"{where}.last_used.region: required")
        last_used = {
            "date": parse_ts(last_used.get("date"), f"{where}.last_used.date"),
            "region": region,
        }
    return {
        "name": name,
        "path": path,
        "service_linked": service,
        "created": created,
        "last_used": last_used,
        "inline_policies": inline,
        "managed_policies": managed,
        "instance_profile": opt_bool(role, "instance_profile", False, where),
        "tags": tags,
        "aws_managed_policies": normalize_aws_managed(
            role.get("aws_managed_policies"), f"{where}.aws_managed_policies"),
    }


def opt_ts(obj: dict[str, Any], key: str, where: str) -> datetime | None:
    value = obj.get(key)
    return parse_ts(value, f"{where}.{key}") if value is not None else None


def normalize_ssh_key(key: Any, where: str) -> dict[str, Any]:
    key = check_fields(key, {"id", "status", "uploaded"}, where)
    status = key.get("status", "Active")
    if status not in ("Active", "Inactive"):
        raise SeedError(f"{where}.status: expected Active or Inactive, got {status!r}")
    key_id = opt_str(key, "id", where)
    if key_id is not None and not re.fullmatch(r"[A-Z0-9]{20,128}", key_id):
        raise SeedError(f"{where}.id: 20 to 128 upper-case letters or digits, got {key_id!r}")
    return {"id": key_id, "status": status, "uploaded": opt_ts(key, "uploaded", where)}


def normalize_ssc(cred: Any, where: str) -> dict[str, Any]:
    cred = check_fields(cred, {"service", "id", "status", "created", "expires"}, where)
    service = opt_str(cred, "service", where)
    if not service:
        raise SeedError(f"{where}.service: required, e.g. bedrock.amazonaws.com")
    status = cred.get("status", "Active")
    if status not in ("Active", "Inactive", "Expired"):
        raise SeedError(f"{where}.status: expected Active, Inactive or Expired, got {status!r}")
    cred_id = opt_str(cred, "id", where)
    if cred_id is not None and not re.fullmatch(r"\w{20,128}", cred_id):
        raise SeedError(f"{where}.id: 20 to 128 word characters, got {cred_id!r}")
    return {
        "service": service,
        "id": cred_id,
        "status": status,
        "created": opt_ts(cred, "created", where),
        "expires": opt_ts(cred, "expires", where),
    }


def normalize_key(key: Any, where: str) -> dict[str, Any]:
    key = check_fields(key, {"status", "created", "use", "last_used"}, where)
    status = key.get("status", "Active")
    if status not in ("Active", "Inactive"):
        raise SeedError(f"{where}.status: expected Active or Inactive, got {status!r}")
    created = key.get("created")
    created = parse_ts(created, f"{where}.created") if created is not None else None

    use = key.get("use")
    if use is not None:
        use = check_fields(use, {"region", "service"}, f"{where}.use")
        region = opt_str(use, "region", f"{where}.use")
        service = opt_str(use, "service", f"{where}.use")
        if not region:
            raise SeedError(f"{where}.use.region: required")
        if service not in SERVICE_CALLS:
            raise SeedError(
                f"{where}.use.service: expected one of {sorted(SERVICE_CALLS)}, got {service!r}"
            )
        use = {"region": region, "service": service}

    last_used = key.get("last_used")
    if last_used is not None:
        last_used = check_fields(last_used, {"date", "region", "service"}, f"{where}.last_used")
        lu = {
            "date": parse_ts(last_used.get("date"), f"{where}.last_used.date"),
            "region": opt_str(last_used, "region", f"{where}.last_used"),
            "service": opt_str(last_used, "service", f"{where}.last_used"),
        }
        if use is None and (not lu["region"] or not lu["service"]):
            raise SeedError(
                f"{where}.last_used: region and service are required without \"use\""
            )
        last_used = lu
    return {"status": status, "created": created, "use": use, "last_used": last_used}


# ---------------------------------------------------------------------------
# Seeding
# ---------------------------------------------------------------------------


class Seeder:
    def __init__(self, endpoint: str, seed: dict[str, Any]):
        import boto3
        from botocore.config import Config

        self.boto3 = boto3
        self.config = Config(retries={"max_attempts": 2, "mode": "standard"})
        self.endpoint = endpoint
        self.seed = seed
        self._session: Any = None
        self.partition = seed["partition"]
        self.region = PARTITION_REGION[self.partition]
        # label -> output record; (label, user, slot) -> key id
        self.accounts_out: dict[str, dict[str, Any]] = {}
        self.keys_out: dict[str, str] = {}
        self.org_id: str | None = None
        # (account id, user name) -> list of created key ids, in slot order
        self.created_keys: dict[tuple[str, str], list[str]] = {}
        # (account id, policy name) -> ARN of a customer managed policy
        self.managed_policies: dict[tuple[str, str], str] = {}
        self.signing_certs: dict[tuple[str, str], list[str]] = {}
        # account id -> groups created
        self.groups: dict[str, set[str]] = {}

    def client(self, service: str, creds: dict[str, str] | None = None,
               region: str | None = None) -> Any:
        creds = creds or {
            "aws_access_key_id": ADMIN_KEY_ID,
            "aws_secret_access_key": ADMIN_SECRET,
        }
        # One session for every client: a session loads each service model
        # once, and a new session per client made seeding an organization of
        # hundreds of accounts take minutes. Credentials are per client.
        if self._session is None:
            self._session = self.boto3.session.Session()
        return self._session.client(
            service,
            region_name=region or self.region,
            endpoint_url=self.endpoint,
            config=self.config,
            **creds,
        )

    def arn(self, account_id: str, resource: str) -> str:
        return f"arn:{self.partition}:iam::{account_id}:{resource}"

    # -- accounts -----------------------------------------------------------

    def run(self) -> None:
        accounts = self.seed["accounts"]
        org_client = None
        if self.seed["organization"] is not None:
            org_client = self.client("organizations")
            org = org_client.create_organization(
                FeatureSet=self.seed["organization"]["feature_set"]
            )["Organization"]
            self.org_id = org["Id"]
            log.info("created organization %s", self.org_id)
            features = self.seed["organization"]["root_access_features"]
            if features is not None:
                ORGANIZATION_FEATURES.update(
                    {"OrganizationId": self.org_id, "EnabledFeatures": list(features)}
                )

        for acc in accounts:
            if acc["index"] == 0:
                acc["id"] = DEFAULT_ACCOUNT_ID
                if org_client is not None and acc["name"]:
                    self.rename_management_account(acc["name"])
            elif acc["member"]:
                acc["id"] = self.create_org_account(org_client, acc)
            elif acc["id"] is None:
                acc["id"] = self.random_account_id()

        for acc in accounts:
            creds = None
            if acc["index"] != 0:
                creds = self.assume(acc)
                if not acc["member"]:
                    self.create_member_role(acc, creds)
            iam = self.client("iam", creds)
            if acc["alias"]:
                iam.create_account_alias(AccountAlias=acc["alias"])
            if acc["password_policy"] is not None:
                iam.update_account_password_policy(**acc["password_policy"])
            for group in acc["groups"]:
                self.create_group(iam, acc, group["name"])
                for name in group["aws_managed_policies"]:
                    iam.attach_group_policy(GroupName=group["name"],
                                            PolicyArn=self.aws_managed(acc, name))
            for user in acc["users"]:
                self.create_user(iam, acc, user)
            for role in acc["roles"]:
                self.create_role(iam, acc, role)
            for n in range(acc["unassigned_virtual_mfa_devices"]):
                iam.create_virtual_mfa_device(VirtualMFADeviceName=f"unassigned-{n}")
            for cert in acc["server_certificates"]:
                self.upload_server_certificate(iam, cert)
            if acc["root"] is not None:
                self.seed_root(iam, acc)

            self.accounts_out[acc["label"]] = {
                "id": acc["id"],
                "name": acc["name"],
                "email": acc["email"],
                "role_arn": (
                    self.arn(acc["id"], f"role/{acc['role_name']}")
                    if acc["role_name"] else None
                ),
                "organization_id": (
                    self.org_id if (acc["member"] or (acc["index"] == 0 and self.org_id))
                    else None
                ),
                "organization_member": bool(
                    acc["member"] or (acc["index"] == 0 and self.org_id)
                ),
                "status": acc["status"],
                "index": acc["index"],
            }

        # Historic dates can only be set in the backend, after all API calls
        # that could overwrite them (a key's use, for instance).
        for acc in accounts:
            self.apply_dates(acc)

        for acc in accounts:
            if acc["tags"]:
                org_client.tag_resource(ResourceId=acc["id"], Tags=[
                    {"Key": k, "Value": v} for k, v in acc["tags"].items()])

        for acc in accounts:
            if acc["status"] == "SUSPENDED":
                org_client.close_account(AccountId=acc["id"])

    def random_account_id(self) -> str:
        taken = {a["id"] for a in self.seed["accounts"] if a["id"]}
        while True:
            candidate = "".join(random.choice("0123456789") for _ in range(12))
            if candidate not in taken and candidate[0] != "0":
                return candidate

    def rename_management_account(self, name: str) -> None:
        # moto names the management account "master" and offers no API to
        # rename it: edit the backend object.
        from moto.organizations.models import organizations_backends

        backend = organizations_backends[DEFAULT_ACCOUNT_ID][self.partition]
        backend.get_account_by_id(DEFAULT_ACCOUNT_ID).name = name

    def create_org_account(self, org_client: Any, acc: dict[str, Any]) -> str:
        from moto.organizations import utils as org_utils

        email = acc["email"] or f"aws+{acc['label']}@example.com"
        kwargs = {
            "AccountName": acc["name"],
            "Email": email,
            "RoleName": acc["role_name"],
        }
        acc["email"] = email
        if acc["id"] is None:
            status = org_client.create_account(**kwargs)["CreateAccountStatus"]
        else:
            # moto draws member account ids at random
            # (moto.organizations.utils.make_random_account_id); swap that
            # function while this one account is created to get a fixed id.
            # The role in the new account is created under that id too.
            original = org_utils.make_random_account_id
            fixed = acc["id"]
            org_utils.make_random_account_id = lambda: fixed
            try:
                status = org_client.create_account(**kwargs)["CreateAccountStatus"]
            finally:
                org_utils.make_random_account_id = original
        if status.get("State") != "SUCCEEDED":
            raise SeedError(f"CreateAccount for {acc['label']!r} returned {status}")
        log.info("created organization account %s (%s)", status["AccountId"], acc["label"])
        return status["AccountId"]

    def assume(self, acc: dict[str, Any]) -> dict[str, str]:
        kwargs: dict[str, Any] = {
            "RoleArn": self.arn(acc["id"], f"role/{acc['role_name']}"),
            "RoleSessionName": "iam-exporter-test-seed",
        }
        if acc["external_id"]:
            kwargs["ExternalId"] = acc["external_id"]
        c = self.client("sts").assume_role(**kwargs)["Credentials"]
        return {
            "aws_access_key_id": c["AccessKeyId"],
            "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"],
        }

    def create_member_role(self, acc: dict[str, Any], creds: dict[str, str]) -> None:
        # moto lets AssumeRole into a role that does not exist yet, which is
        # how the role itself gets created inside the stand-alone account.
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"AWS": self.arn(DEFAULT_ACCOUNT_ID, "root")},
            "Action": "sts:AssumeRole",
        }
        if acc["external_id"]:
            statement["Condition"] = {
                "StringEquals": {"sts:ExternalId": acc["external_id"]}
            }
        iam = self.client("iam", creds)
        iam.create_role(
            RoleName=acc["role_name"],
            AssumeRolePolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [statement]}
            ),
        )

    # -- users and keys -----------------------------------------------------

    def aws_managed(self, acc: dict[str, Any], name: str) -> str:
        """The ARN of the AWS managed policy `name` in the account's backend,
        installed there from moto's definitions the first time."""
        from moto.iam.models import AWSManagedPolicy, iam_backends

        backend = iam_backends[acc["id"]][self.partition]
        policy = AWSManagedPolicy.from_data(
            name, acc["id"], backend.region_name, aws_managed_data()[name])
        backend.managed_policies.setdefault(policy.arn, policy)
        return policy.arn

    def create_group(self, iam: Any, acc: dict[str, Any], name: str) -> None:
        made = self.groups.setdefault(acc["id"], set())
        if name not in made:
            iam.create_group(GroupName=name)
            made.add(name)

    def create_user(self, iam: Any, acc: dict[str, Any], user: dict[str, Any]) -> None:
        name = user["name"]
        tags = [{"Key": k, "Value": v} for k, v in user["tags"].items()]
        iam.create_user(UserName=name, Path=user["path"], **({"Tags": tags} if tags else {}))
        for group in user["groups"]:
            self.create_group(iam, acc, group)
            iam.add_user_to_group(GroupName=group, UserName=name)
        for policy, document in user["inline_policies"].items():
            iam.put_user_policy(UserName=name, PolicyName=policy,
                                PolicyDocument=json.dumps(document))
        for policy in user["aws_managed_policies"]:
            iam.attach_user_policy(UserName=name, PolicyArn=self.aws_managed(acc, policy))
        if user["password"]:
            iam.create_login_profile(UserName=name, Password="Seeded-Passw0rd!")
        for kind in user["mfa_kinds"]:
            if kind == "virtual":
                serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)[
                    "VirtualMFADevice"
                ]["SerialNumber"]
            else:
                # A hardware TOTP token's serial is not an ARN.
                serial = "GAHT" + "".join(random.choice("0123456789") for _ in range(8))
            iam.enable_mfa_device(
                UserName=name,
                SerialNumber=serial,
                AuthenticationCode1="123456",
                AuthenticationCode2="654321",
            )
        cert_ids = []
        for n, cert in enumerate(user["signing_certificates"]):
            body, _ = self_signed_pem(f"{name}-{n}", datetime(2030, 1, 1))
            cert_id = iam.upload_signing_certificate(UserName=name, CertificateBody=body)[
                "Certificate"]["CertificateId"]
            if cert["status"] != "Active":
                iam.update_signing_certificate(
                    UserName=name, CertificateId=cert_id, Status=cert["status"])
            cert_ids.append(cert_id)
        self.signing_certs[(acc["id"], name)] = cert_ids
        key_ids = []
        for slot, key in enumerate(user["keys"], start=1):
            created = iam.create_access_key(UserName=name)["AccessKey"]
            key_id = created["AccessKeyId"]
            key_ids.append(key_id)
            self.keys_out[f"{acc['label']}/{name}/{slot}"] = key_id
            if key["use"] is not None:
                self.use_key(created, key["use"])
            if key["status"] != "Active":
                iam.update_access_key(
                    UserName=name, AccessKeyId=key_id, Status=key["status"]
                )
        self.created_keys[(acc["id"], name)] = key_ids
        for number, ssh in enumerate(user["ssh_keys"]):
            # Any body will do: moto keeps it and fingerprints it, IAM would
            # check that it is an ssh-rsa key.
            body = f"ssh-rsa AAAAB3NzaC1yc2E{number}{name} {name}@seed"
            uploaded = iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=body)
            ssh["moto_id"] = uploaded["SSHPublicKey"]["SSHPublicKeyId"]
            if ssh["status"] != "Active":
                iam.update_ssh_public_key(UserName=name, SSHPublicKeyId=ssh["moto_id"],
                                          Status=ssh["status"])
        store = SERVICE_CREDENTIALS.setdefault((acc["id"], self.partition), [])
        for cred in user["service_specific_credentials"]:
            store.append({
                "UserName": name,
                "Status": cred["status"],
                "ServiceUserName": f"{name}-at-{acc['id']}",
                "CreateDate": cred["created"] or whole_seconds(datetime.now(timezone.utc)
                                                               .replace(tzinfo=None)),
                "ExpirationDate": cred["expires"],
                "ServiceSpecificCredentialId": cred["id"] or "ACCA" + "".join(
                    random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)),
                "ServiceName": cred["service"],
            })

    def upload_server_certificate(self, iam: Any, cert: dict[str, Any]) -> None:
        body, key = self_signed_pem(cert["name"], cert["expiration"])
        iam.upload_server_certificate(
            ServerCertificateName=cert["name"], Path=cert["path"],
            CertificateBody=body, PrivateKey=key)

    def seed_root(self, iam: Any, acc: dict[str, Any]) -> None:
        """The `<root_account>` row moto's report lacks, and root's virtual
        MFA device (root's own API calls cannot be made against moto)."""
        from moto.iam.models import iam_backends

        backend = iam_backends[acc["id"]][self.partition]
        root = acc["root"]
        created = root["created"] or whole_seconds(datetime.now(timezone.utc).replace(tzinfo=None))
        arn = f"arn:{self.partition}:iam::{acc['id']}:root"
        if "virtual" in root["mfa"]:
            serial = iam.create_virtual_mfa_device(
                VirtualMFADeviceName="root-account-mfa-device")["VirtualMFADevice"]["SerialNumber"]
            device = backend.virtual_mfa_devices[serial]
            device.enable_date = created
            # IAM gives the root user no user name: only its ARN and the
            # account id as user id.
            device.user = SimpleNamespace(path="/", id=acc["id"], arn=arn, create_date=created)
        backend.seeded_root_row = ",".join([
            "<root_account>", arn, fmt_report(created), "not_supported", "no_information",
            "not_supported", "not_supported", "true" if root["mfa"] else "false",
            "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "N/A", "N/A", "N/A",
            "false", "N/A", "false", "N/A",
        ]) + "\n"

    def use_key(self, created: dict[str, Any], use: dict[str, str]) -> None:
        client_name, operation, kwargs, _ = SERVICE_CALLS[use["service"]]
        client = self.client(
            client_name,
            {
                "aws_access_key_id": created["AccessKeyId"],
                "aws_secret_access_key": created["SecretAccessKey"],
            },
            region=use["region"],
        )
        getattr(client, operation)(**kwargs)

    # -- roles --------------------------------------------------------------

    def create_role(self, iam: Any, acc: dict[str, Any], role: dict[str, Any]) -> None:
        if role["service_linked"] is not None:
            created = iam.create_service_linked_role(
                AWSServiceName=role["service_linked"]
            )["Role"]
            if created["RoleName"] != role["name"]:
                raise SeedError(
                    f"the service-linked role of {role['service_linked']} is named "
                    f"{created['RoleName']!r}, not {role['name']!r}"
                )
            role["path"] = created["Path"]
            return
        trust = {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }],
        }
        tags = [{"Key": k, "Value": v} for k, v in role["tags"].items()]
        iam.create_role(
            RoleName=role["name"], Path=role["path"],
            AssumeRolePolicyDocument=json.dumps(trust),
            **({"Tags": tags} if tags else {}),
        )
        for policy in role["aws_managed_policies"]:
            iam.attach_role_policy(RoleName=role["name"],
                                   PolicyArn=self.aws_managed(acc, policy))
        for name, document in role["inline_policies"].items():
            iam.put_role_policy(
                RoleName=role["name"], PolicyName=name, PolicyDocument=json.dumps(document)
            )
        for name, document in role["managed_policies"].items():
            arn = self.managed_policies.get((acc["id"], name))
            if arn is None:
                arn = iam.create_policy(
                    PolicyName=name, PolicyDocument=json.dumps(document)
                )["Policy"]["Arn"]
                self.managed_policies[(acc["id"], name)] = arn
            iam.attach_role_policy(RoleName=role["name"], PolicyArn=arn)
        if role["instance_profile"]:
            iam.create_instance_profile(InstanceProfileName=role["name"], Path=role["path"])
            iam.add_role_to_instance_profile(
                InstanceProfileName=role["name"], RoleName=role["name"]
            )

    # -- backend edits ------------------------------------------------------

    def apply_dates(self, acc: dict[str, Any]) -> None:
        """Set historic dates on moto's IAM objects.

        Where moto keeps the values (moto/iam/models.py):
          * User.create_date (naive UTC datetime): ListUsers/GetUser CreateDate,
            report user_creation_time and password_last_changed;
          * User.password_last_used (datetime or None): ListUsers/GetUser
            PasswordLastUsed, report password_last_used;
          * AccessKey.create_date: ListAccessKeys CreateDate, report
            access_key_N_last_rotated;
          * AccessKey.last_used (AccessKeyLastUsed(timestamp, service, region)
            or None): GetAccessKeyLastUsed, report access_key_N_last_used_date.
            moto sets it in mark_account_as_visited() on every request signed
            with the key.
        The same AccessKey object is referenced from User.access_keys and
        IAMBackend.access_keys, so one edit reaches every API.
        """
        from moto.iam.models import AccessKeyLastUsed, iam_backends

        backend = iam_backends[acc["id"]][self.partition]
        # Role.create_date: GetRole, ListRoles and GetAccountAuthorizationDetails
        # CreateDate. Role.last_used / last_used_region: RoleLastUsed of GetRole
        # and GetAccountAuthorizationDetails (moto sets last_used itself only
        # for requests signed with credentials of the role, and never the
        # region).
        for role in acc["roles"]:
            r = backend.get_role(role["name"])
            r.create_date = role["created"] or whole_seconds(r.create_date)
            if role["last_used"] is not None:
                r.last_used = role["last_used"]["date"]
                r.last_used_region = role["last_used"]["region"]
            else:
                r.last_used = None
                r.last_used_region = None
        for user in acc["users"]:
            u = backend.get_user(user["name"])
            # Dates not given in the seed keep moto's "now", cut to whole
            # seconds like AWS's, so that the API (which would show the
            # microseconds) and the report (which drops them) agree.
            u.create_date = user["created"] or whole_seconds(u.create_date)
            u.password_last_used = user["password_last_used"]
            for ssh in user["ssh_keys"]:
                k = u.get_ssh_public_key(ssh["moto_id"])
                k.upload_date = ssh["uploaded"] or whole_seconds(k.upload_date)
                if ssh["id"] is not None:
                    k.ssh_public_key_id = ssh["id"]
            key_ids = self.created_keys[(acc["id"], user["name"])]
            for key_id, key in zip(key_ids, user["keys"]):
                k = u.get_access_key_by_id(key_id)
                k.create_date = key["created"] or whole_seconds(k.create_date)
                recorded = k.last_used
                if key["use"] is not None:
                    expected_service = SERVICE_CALLS[key["use"]["service"]][3]
                    if recorded is None:
                        raise SeedError(
                            f"moto recorded no use of {key_id} after a signed "
                            f"{key['use']['service']} request in {key['use']['region']}"
                        )
                    if (recorded.service, recorded.region) != (
                        expected_service, key["use"]["region"],
                    ):
                        raise SeedError(
                            f"moto recorded the use of {key_id} as "
                            f"{recorded.service}/{recorded.region}, expected "
                            f"{expected_service}/{key['use']['region']}"
                        )
                    # moto names Lambda "awslambda"; AWS reports "lambda".
                    service = key["use"]["service"]
                    k.last_used = AccessKeyLastUsed(
                        timestamp=whole_seconds(recorded.timestamp), service=service,
                        region=recorded.region,
                    )
                lu = key["last_used"]
                if lu is not None:
                    current = k.last_used
                    k.last_used = AccessKeyLastUsed(
                        timestamp=lu["date"],
                        service=lu["service"] or current.service,
                        region=lu["region"] or current.region,
                    )
            cert_ids = self.signing_certs[(acc["id"], user["name"])]
            for cert_id, cert in zip(cert_ids, user["signing_certificates"]):
                c = u.signing_certificates[cert_id]
                c.upload_date = cert["uploaded"] or whole_seconds(c.upload_date)
        for cert in acc["server_certificates"]:
            c = backend.get_server_certificate(cert["name"])
            c.seeded_id = cert["id"] or "ASCA" + "".join(
                random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(17))
            c.seeded_uploaded = cert["uploaded"] or whole_seconds(
                datetime.now(timezone.utc).replace(tzinfo=None))
            c.seeded_expiration = cert["expiration"]

    # -- verification through the public API -------------------------------

    def verify(self) -> None:
        """Read every seeded value back through the API and compare."""
        from moto.iam.models import iam_backends

        for acc in self.seed["accounts"]:
            if acc["roles"]:
                creds = self.assume(acc) if acc["index"] != 0 else None
                self.verify_roles(self.client("iam", creds), acc)
            if not acc["users"]:
                continue
            creds = self.assume(acc) if acc["index"] != 0 else None
            iam = self.client("iam", creds)
            backend = iam_backends[acc["id"]][self.partition]
            listed = {
                u["UserName"]: u
                for page in iam.get_paginator("list_users").paginate()
                for u in page["Users"]
            }
            iam.generate_credential_report()
            content = iam.get_credential_report()["Content"].decode()
            report = {row["user"]: row for row in csv.DictReader(io.StringIO(content))}

            for user in acc["users"]:
                self.verify_user(iam, backend, acc, user, listed, content, report)
            self.verify_account(iam, acc, report)
            # Leave the account as if no report had ever been requested, so
            # that the exporter's first GenerateCredentialReport sees STARTED.
            backend.credential_report = None
        log.info("verified the seeded state through the API")

    def verify_roles(self, iam: Any, acc: dict[str, Any]) -> None:
        details = {
            r["RoleName"]: r
            for page in iam.get_paginator("get_account_authorization_details").paginate(
                Filter=["Role"]
            )
            for r in page["RoleDetailList"]
        }
        for role in acc["roles"]:
            where = f"account {acc['label']} role {role['name']}"
            arn = self.arn(acc["id"], f"role{role['path']}{role['name']}")
            got = iam.get_role(RoleName=role["name"])["Role"]
            detail = details.get(role["name"])
            if detail is None:
                raise SeedError(f"{where}: missing from GetAccountAuthorizationDetails")
            for source, r in (("GetRole", got), ("GetAccountAuthorizationDetails", detail)):
                expect(where, f"{source} Arn", r["Arn"], arn)
                expect(where, f"{source} Path", r["Path"], role["path"])
                if role["created"] is not None:
                    expect(where, f"{source} CreateDate", naive(r["CreateDate"]), role["created"])
                last = r.get("RoleLastUsed", {})
                wanted = role["last_used"]
                expect(where, f"{source} RoleLastUsed",
                       (naive(last.get("LastUsedDate")), last.get("Region")),
                       (wanted["date"], wanted["region"]) if wanted else (None, None))


    def verify_account(self, iam: Any, acc: dict[str, Any],
                       report: dict[str, dict[str, str]]) -> None:
        where = f"account {acc['label']}"
        virtual = sorted(
            d["User"]["Arn"]
            for page in iam.get_paginator("list_virtual_mfa_devices").paginate(
                AssignmentStatus="Assigned")
            for d in page["VirtualMFADevices"]
        )
        wanted = sorted(
            [self.arn(acc["id"], f"user{u['path']}{u['name']}")
             for u in acc["users"] if "virtual" in u["mfa_kinds"]]
            + ([f"arn:{self.partition}:iam::{acc['id']}:root"]
               if acc["root"] and "virtual" in acc["root"]["mfa"] else [])
        )
        expect(where, "assigned virtual MFA devices", virtual, wanted)
        certs = {c["ServerCertificateName"]: c for c in
                 iam.list_server_certificates()["ServerCertificateMetadataList"]}
        for cert in acc["server_certificates"]:
            got = certs.get(cert["name"])
            if got is None:
                raise SeedError(f"{where}: server certificate {cert['name']} not listed")
            expect(where, f"server certificate {cert['name']} Expiration",
                   naive(got["Expiration"]), cert["expiration"])
            if cert["id"]:
                expect(where, f"server certificate {cert['name']} id",
                       got["ServerCertificateId"], cert["id"])
        if acc["root"] is not None:
            row = report.get("<root_account>")
            if row is None:
                raise SeedError(f"{where}: no <root_account> row in the report")
            expect(where, "root mfa_active", row["mfa_active"],
                   "true" if acc["root"]["mfa"] else "false")
        for user in acc["users"]:
            row = report.get(user["name"])
            if row is None:
                continue
            for slot in (1, 2):
                certs_in = user["signing_certificates"]
                cert = certs_in[slot - 1] if slot <= len(certs_in) else None
                expect(where, f"{user['name']} cert_{slot}_active", row[f"cert_{slot}_active"],
                       "true" if cert and cert["status"] == "Active" else "false")
                if cert and cert["uploaded"]:
                    expect(where, f"{user['name']} cert_{slot}_last_rotated",
                           row[f"cert_{slot}_last_rotated"], fmt_report(cert["uploaded"]))

    def verify_user(self, iam: Any, backend: Any, acc: dict[str, Any],
                    user: dict[str, Any], listed: dict[str, Any], content: str,
                    report: dict[str, dict[str, str]]) -> None:
        name = user["name"]
        where = f"account {acc['label']} user {name}"
        arn = self.arn(acc["id"], f"user{user['path']}{name}")
        u = backend.get_user(name)
        api_user = listed.get(name)
        if api_user is None:
            raise SeedError(f"{where}: missing from ListUsers")
        expect(where, "ListUsers Arn", api_user["Arn"], arn)
        expect(where, "ListUsers CreateDate", naive(api_user["CreateDate"]), u.create_date)
        expect(where, "ListUsers PasswordLastUsed",
               naive(api_user.get("PasswordLastUsed")), user["password_last_used"])

        row: dict[str, str] | None = None
        if "," in name:
            # moto joins the report fields with "," and quotes nothing, so
            # this row has extra fields: only check that it is there.
            if not any(line.startswith(f"{name},{arn},") for line in content.splitlines()):
                raise SeedError(f"{where}: missing from the credential report")
        else:
            row = report.get(name)
            if row is None:
                raise SeedError(f"{where}: missing from the credential report")
            expect(where, "report user_creation_time", row["user_creation_time"],
                   fmt_report(u.create_date))
            expect(where, "report password_enabled", row["password_enabled"],
                   "true" if user["password"] else "false")
            expect(where, "report password_last_used", row["password_last_used"],
                   fmt_report(user["password_last_used"]) if user["password_last_used"]
                   else ("no_information" if user["password"] else "not_supported"))
            expect(where, "report mfa_active", row["mfa_active"],
                   "true" if user["mfa"] else "false")

        ssh_listed = iam.list_ssh_public_keys(UserName=name)["SSHPublicKeys"]
        expect(where, "ListSSHPublicKeys",
               [(k["SSHPublicKeyId"], k["Status"], naive(k["UploadDate"])) for k in ssh_listed],
               [(k.ssh_public_key_id, k.status, k.upload_date)
                for k in u.get_all_ssh_public_keys()])
        for ssh, listed in zip(user["ssh_keys"], ssh_listed):
            if ssh["uploaded"] is not None:
                expect(where, "SSH key uploaded", naive(listed["UploadDate"]), ssh["uploaded"])
            if ssh["id"] is not None:
                expect(where, "SSH key id", listed["SSHPublicKeyId"], ssh["id"])
        creds = iam.list_service_specific_credentials(UserName=name)["ServiceSpecificCredentials"]
        expect(where, "ListServiceSpecificCredentials",
               [(c["ServiceName"], c["Status"], naive(c["CreateDate"]),
                 naive(c.get("ExpirationDate"))) for c in creds],
               [(c["service"], c["status"], c["created"] or naive(listed["CreateDate"]),
                 c["expires"])
                for c, listed in zip(user["service_specific_credentials"], creds)])
        for cred, listed in zip(user["service_specific_credentials"], creds):
            if cred["id"] is not None:
                expect(where, "service-specific credential id",
                       listed["ServiceSpecificCredentialId"], cred["id"])

        api_keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        key_ids = self.created_keys[(acc["id"], name)]
        expect(where, "ListAccessKeys ids", [k["AccessKeyId"] for k in api_keys], key_ids)
        for slot in (1, 2):
            col = f"access_key_{slot}_"
            if slot > len(user["keys"]):
                if row is not None:
                    expect(where, f"report {col}active", row[col + "active"], "false")
                    expect(where, f"report {col}last_rotated", row[col + "last_rotated"], "N/A")
                continue
            key = user["keys"][slot - 1]
            k = u.get_access_key_by_id(key_ids[slot - 1])
            api_key = api_keys[slot - 1]
            kw = f"{where} key {slot} ({k.access_key_id})"
            expect(kw, "ListAccessKeys Status", api_key["Status"], key["status"])
            expect(kw, "ListAccessKeys CreateDate", naive(api_key["CreateDate"]), k.create_date)
            if key["created"] is not None:
                expect(kw, "key created", k.create_date, key["created"])
            last = iam.get_access_key_last_used(AccessKeyId=k.access_key_id)["AccessKeyLastUsed"]
            if k.last_used is None:
                expect(kw, "GetAccessKeyLastUsed",
                       (last.get("LastUsedDate"), last["Region"], last["ServiceName"]),
                       (None, "N/A", "N/A"))
            else:
                expect(kw, "GetAccessKeyLastUsed",
                       (naive(last.get("LastUsedDate")), last["Region"], last["ServiceName"]),
                       (k.last_used.timestamp, k.last_used.region, k.last_used.service))
                if key["last_used"] is not None:
                    expect(kw, "last used date", k.last_used.timestamp, key["last_used"]["date"])
            if row is not None:
                expect(kw, f"report {col}active", row[col + "active"],
                       "true" if key["status"] == "Active" else "false")
                expect(kw, f"report {col}last_rotated", row[col + "last_rotated"],
                       fmt_report(k.create_date))
                expect(kw, f"report {col}last_used_date", row[col + "last_used_date"],
                       fmt_report(k.last_used.timestamp) if k.last_used else "N/A")

def self_signed_pem(common_name: str, not_after: datetime) -> tuple[str, str]:
    """A self-signed certificate (and its key) valid until `not_after`:
    moto checks that a signing certificate parses."""
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - timedelta(days=400))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode(),
    )


def iso_z(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def patch_moto() -> None:
    """Where moto's answers are fixed or missing, serve what the seed says,
    as AWS would: the report's cert_N_last_rotated and `<root_account>` row,
    and each server certificate's own id, upload date and expiration."""
    from moto.iam import models, responses

    report_row = models.User.to_csv

    def to_csv(self: Any) -> str:
        fields = report_row(self).rstrip("\n").split(",")
        # The last four fields are cert_1_active, cert_1_last_rotated,
        # cert_2_active, cert_2_last_rotated (counted from the end: moto does
        # not quote a user name with a comma).
        for slot, cert in enumerate(list(self.signing_certificates.values())[:2]):
            fields[len(fields) - 3 + 2 * slot] = fmt_report(cert.upload_date)
        return ",".join(fields) + "\n"

    models.User.to_csv = to_csv

    report = models.IAMBackend.get_credential_report

    def get_credential_report(self: Any) -> str:
        text = report(self)
        root = getattr(self, "seeded_root_row", None)
        if root is None:
            return text
        header, _, rows = text.partition("\n")
        return header + "\n" + root + rows

    models.IAMBackend.get_credential_report = get_credential_report

    def list_server_certificates(self: Any) -> Any:
        certs = self.backend.list_server_certificates()
        return responses.ActionResult({
            "ServerCertificateMetadataList": [
                {
                    "ServerCertificateName": cert.cert_name,
                    "Path": cert.path,
                    "Arn": cert.arn,
                    "UploadDate": iso_z(cert.seeded_uploaded),
                    "ServerCertificateId": cert.seeded_id,
                    "Expiration": iso_z(cert.seeded_expiration),
                }
                for cert in certs
            ],
            "IsTruncated": False,
        })

    responses.IamResponse.list_server_certificates = list_server_certificates


def whole_seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def naive(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def fmt_report(value: datetime | None) -> str:
    assert value is not None
    return value.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def expect(where: str, what: str, actual: Any, wanted: Any) -> None:
    if actual != wanted:
        raise SeedError(f"{where}: {what} is {actual!r}, expected {wanted!r}")


# ---------------------------------------------------------------------------
# Process lifetime
# ---------------------------------------------------------------------------


# (account id, partition) -> ServiceSpecificCredentialMetadata dicts, in
# creation order. Filled by the Seeder, read by the patched response below.
SERVICE_CREDENTIALS: dict[tuple[str, str], list[dict[str, Any]]] = {}


# What iam:ListOrganizationsFeatures answers; empty (the call fails, as in
# moto) unless the seed names root_access_features.
ORGANIZATION_FEATURES: dict[str, Any] = {}


def serve_organizations_features() -> None:
    """moto 5.2.5 has no ListOrganizationsFeatures (centralized root access).
    Serve ORGANIZATION_FEATURES as IAM documents it when the seed set them;
    otherwise fail as IAM does where trusted access is not enabled."""
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import IAMException
    from moto.iam.responses import IamResponse

    class ServiceAccessNotEnabled(IAMException):
        code = "ServiceAccessNotEnabledException"

    def list_organizations_features(self: Any) -> Any:
        if not ORGANIZATION_FEATURES:
            raise ServiceAccessNotEnabled(
                "trusted access for IAM is not enabled in this organization (seed it)"
            )
        return ActionResult(dict(ORGANIZATION_FEATURES))

    IamResponse.list_organizations_features = list_organizations_features


def serve_service_specific_credentials() -> None:
    """moto 5.2.5 has no service-specific credentials. Serve
    ListServiceSpecificCredentials from SERVICE_CREDENTIALS as IAM documents it:
    without UserName the caller's own (none: the launcher's callers are not
    IAM users); with AllUsers=true every user's; ServiceName filters; MaxItems
    (default 100) and Marker paginate, the Marker being an opaque offset."""
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import ValidationError
    from moto.iam.responses import IamResponse

    def list_service_specific_credentials(self: Any) -> Any:
        user_name = self._get_param("UserName")
        service = self._get_param("ServiceName")
        all_users = str(self._get_param("AllUsers", "false")).lower() == "true"
        if all_users and user_name:
            raise ValidationError("AllUsers cannot be specified together with UserName")
        if user_name:
            self.backend.get_user(user_name)  # NoSuchEntity for an unknown user
        creds = [
            c for c in SERVICE_CREDENTIALS.get((self.current_account, self.partition), [])
            if (all_users or c["UserName"] == user_name)
            and (service is None or c["ServiceName"] == service)
        ]
        start = int(self._get_param("Marker") or 0)
        size = int(self._get_param("MaxItems") or 100)
        page = creds[start:start + size]
        result: dict[str, Any] = {
            "ServiceSpecificCredentials": [
                {k: v for k, v in c.items() if v is not None} for c in page
            ],
            "IsTruncated": start + size < len(creds),
        }
        if result["IsTruncated"]:
            result["Marker"] = str(start + size)
        return ActionResult(result)

    IamResponse.list_service_specific_credentials = list_service_specific_credentials


def add_latency(seconds: float) -> None:
    """Delays every request by `seconds`. The server is threaded, so delays of
    concurrent requests overlap as a remote endpoint's round trips do."""
    import time

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    serve = DomainDispatcherApplication.__call__

    def delayed(self, environ, start_response):  # type: ignore[no-untyped-def]
        time.sleep(seconds)
        return serve(self, environ, start_response)

    DomainDispatcherApplication.__call__ = delayed  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run moto in-process with a seeded IAM state (see the module docstring)."
    )
    parser.add_argument("--seed", required=True, help="seed JSON file")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--max-seconds", type=float, default=600.0,
                        help="stop after this many seconds at the latest (default 600)")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip reading the seeded state back through the API")
    parser.add_argument("--ignore-stdin", action="store_true",
                        help="do not stop when stdin reaches end-of-file")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="after seeding, delay every response by this much, "
                             "like a real endpoint's round trip (benchmarks)")
    args = parser.parse_args(argv)

    # The protocol lines go to the original stdout; everything else that
    # might print (moto, werkzeug, boto3) is pointed at stderr.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="moto_launcher %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.WARNING)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    # moto would take every request to this account; the seed decides.
    if os.environ.pop("MOTO_ACCOUNT_ID", None) is not None:
        log.warning("ignoring MOTO_ACCOUNT_ID from the environment")
    # Keep the launcher's own boto3 clients independent of the caller's AWS
    # configuration (profiles, endpoints, credentials).
    for var in list(os.environ):
        if var.startswith("AWS_"):
            del os.environ[var]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received signal %d, stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    # Fatal bound on the whole lifetime, seeding included.
    deadline = threading.Timer(args.max_seconds, lambda: (log.info(
        "--max-seconds %s elapsed, stopping", args.max_seconds), stop.set()))
    deadline.daemon = True
    deadline.start()

    try:
        with open(args.seed, encoding="utf-8") as f:
            seed = normalize_seed(json.load(f))
        from moto.server import ThreadedMotoServer

        patch_moto()
        serve_service_specific_credentials()
        serve_organizations_features()
        server = ThreadedMotoServer(ip_address=HOST, port=args.port, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        log.info("moto listening on %s", endpoint)
        seeder = Seeder(endpoint, seed)
        seeder.run()
        if not args.no_verify:
            seeder.verify()
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        traceback.print_exc(file=sys.stderr)
        message = str(exc).replace("\n", " ") or type(exc).__name__
        proto.write(f"ERROR {type(exc).__name__}: {message}\n")
        proto.flush()
        os._exit(1)

    if args.latency_ms > 0:
        add_latency(args.latency_ms / 1000.0)

    proto.write("ACCOUNTS " + json.dumps(seeder.accounts_out, ensure_ascii=False,
                                         sort_keys=True) + "\n")
    proto.write("KEYS " + json.dumps(seeder.keys_out, sort_keys=True) + "\n")
    proto.write(f"READY {endpoint}\n")
    proto.flush()
    proto.close()

    if not args.ignore_stdin:
        def watch_stdin() -> None:
            try:
                while sys.stdin.buffer.read1(65536):
                    pass
            except (OSError, ValueError):
                pass
            log.info("stdin closed, stopping")
            stop.set()

        threading.Thread(target=watch_stdin, daemon=True).start()

    while not stop.wait(1.0):
        pass

    # Shut down, but never hang on a stuck request.
    stopper = threading.Thread(target=server.stop, daemon=True)
    stopper.start()
    stopper.join(5.0)
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
