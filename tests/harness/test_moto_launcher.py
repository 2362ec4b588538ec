"""Self-test of moto_launcher.py, checked from the outside with boto3.

Run with the test venv:

    .venv/bin/python -m unittest discover -s tests/harness -v

Each test starts the launcher as a subprocess, exactly like the Rust
integration tests do, and reads the seeded state back through the public
API with an independent client.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "moto_launcher.py"

MEMBER_NAME = 'Prod "EU" \\ Zürich – ünïcode'

SEED: dict[str, Any] = {
    "organization": {"feature_set": "ALL"},
    "accounts": [
        {
            "label": "mgmt",
            "name": "Management",
            "users": [
                {
                    "name": "alice",
                    "created": "2024-01-15T08:00:00Z",
                    "password": True,
                    "password_last_used": "2026-11-20T10:00:00+01:00",
                    "mfa": True,
                    "keys": [
                        {
                            "created": "2024-02-01T00:00:00Z",
                            "use": {"region": "eu-west-1", "service": "s3"},
                            "last_used": {"date": "2026-11-28T12:00:00Z"},
                        },
                        {"status": "Inactive", "created": "2025-02-01T00:00:00Z"},
                    ],
                },
                {
                    "name": "deploy-bot",
                    "path": "/ci/",
                    "created": "2023-05-05T05:05:05Z",
                    "keys": [
                        {
                            "created": "2023-05-05T05:06:00Z",
                            "use": {"region": "us-west-2", "service": "lambda"},
                        },
                        {
                            "created": "2025-05-05T05:06:00Z",
                            "last_used": {
                                "date": "2025-06-01T00:00:00Z",
                                "region": "ap-south-1",
                                "service": "ec2",
                            },
                        },
                    ],
                },
                {
                    "name": "console.only+x=y.z@corp",
                    "password": True,
                    "ssh_keys": [
                        {"id": "APKACONSOLE000000001", "uploaded": "2025-03-03T03:03:03Z"},
                        {"status": "Inactive"},
                    ],
                    "service_specific_credentials": [
                        {"service": "bedrock.amazonaws.com", "id": "ACCABEDROCK000000001",
                         "created": "2026-01-01T00:00:00Z",
                         "expires": "2026-12-01T00:00:00Z"},
                        {"service": "bedrock.amazonaws.com", "status": "Expired",
                         "created": "2025-01-01T00:00:00Z",
                         "expires": "2025-02-01T00:00:00Z"},
                        {"service": "codecommit.amazonaws.com", "status": "Inactive",
                         "created": "2024-04-04T04:04:04Z"},
                    ],
                },
                {"name": "comma,user", "keys": [{"created": "2025-07-07T07:07:07Z"}]},
            ],
            "roles": [
                {
                    "name": "deployer",
                    "path": "/ci/",
                    "created": "2024-03-01T00:00:00Z",
                    "last_used": {"date": "2026-10-01T12:00:00+02:00", "region": "eu-west-1"},
                    "inline_policies": {"read": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}},
                    "managed_policies": {"audit": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]}},
                    "instance_profile": True,
                },
                {"name": "never-used", "created": "2026-11-01T00:00:00Z"},
                {"name": "AWSServiceRoleForAutoScaling",
                 "service_linked": "autoscaling.amazonaws.com"},
            ],
        },
        {
            "label": "prod",
            "id": "210987654321",
            "name": MEMBER_NAME,
            "users": [
                {
                    "name": "svc",
                    "created": "2025-01-01T00:00:00Z",
                    "keys": [{"created": "2025-01-02T00:00:00Z"}],
                    "service_specific_credentials": [
                        {"service": "bedrock.amazonaws.com", "id": "ACCAPRODBEDROCK00001",
                         "created": "2025-05-05T00:00:00Z"},
                    ],
                }
            ],
            "roles": [
                {"name": "app", "last_used": {"date": "2026-11-29T00:00:00Z",
                                              "region": "us-east-2"}},
            ],
        },
        {"label": "closed", "name": "closed", "status": "SUSPENDED"},
        {
            "label": "solo",
            "organization_member": False,
            "role_name": "ExporterRole",
            "external_id": "ext-123",
            "users": [
                {"name": "x", "keys": [{"use": {"region": "eu-central-1", "service": "sts"}}]}
            ],
        },
    ],
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


class Launcher:
    """Starts moto_launcher.py and parses its stdout protocol."""

    def __init__(self, seed: dict[str, Any], *extra: str, max_seconds: int = 120):
        self.tmp = tempfile.TemporaryDirectory()
        seed_path = Path(self.tmp.name) / "seed.json"
        seed_path.write_text(json.dumps(seed), encoding="utf-8")
        self.stderr = open(Path(self.tmp.name) / "stderr.log", "w+", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "--seed", str(seed_path),
             "--max-seconds", str(max_seconds), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            encoding="utf-8",
        )
        self.lines: dict[str, str] = {}
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            word, _, rest = line.rstrip("\n").partition(" ")
            self.lines[word] = rest
            if word in ("READY", "ERROR"):
                break

    @property
    def endpoint(self) -> str:
        return self.lines["READY"]

    def accounts(self) -> dict[str, Any]:
        return json.loads(self.lines["ACCOUNTS"])

    def keys(self) -> dict[str, str]:
        return json.loads(self.lines["KEYS"])

    def client(self, service: str, creds: dict[str, str] | None = None) -> Any:
        creds = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        return boto3.session.Session().client(
            service, region_name="us-east-1", endpoint_url=self.endpoint, **creds
        )

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self.stderr.close()
        self.tmp.cleanup()


OWNERS_SEED: dict[str, Any] = {
    "organization": {"feature_set": "ALL"},
    "accounts": [
        {"label": "mgmt", "name": "Management", "tags": {"team": "platform"},
         "groups": [{"name": "admins", "aws_managed_policies": ["AWSCloudShellFullAccess"]}],
         "users": [
             {"name": "alice", "tags": {"team": "payments", "cost-center": "42"},
              "groups": ["admins", "devs"],
              "inline_policies": {"read": {"Version": "2012-10-17", "Statement": [
                  {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}},
              "aws_managed_policies": ["AWSCloudShellFullAccess"]},
             {"name": "bob"},
         ],
         "roles": [{"name": "support", "tags": {"team": "ops"},
                    "aws_managed_policies": ["AWSSupportAccess"]}]},
        {"label": "prod", "id": "210987654321", "name": "Prod",
         "tags": {"team": "payments", "owner": "pay@example.com"}},
    ],
}


class OwnersSeedTest(unittest.TestCase):
    """Tags, groups and policies, as GetAccountAuthorizationDetails and
    Organizations' ListTagsForResource return them."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.launcher = Launcher(OWNERS_SEED)
        if "READY" not in cls.launcher.lines:
            cls.launcher.stderr.seek(0)
            raise AssertionError(
                f"launcher did not get ready: {cls.launcher.lines}\n{cls.launcher.stderr.read()}"
            )

    @classmethod
    def tearDownClass(cls) -> None:
        cls.launcher.close()

    def test_users_groups_and_roles_with_tags_and_policies(self) -> None:
        iam = self.launcher.client("iam")
        d = iam.get_account_authorization_details(Filter=["User", "Group", "Role"])
        users = {u["UserName"]: u for u in d["UserDetailList"]}
        alice = users["alice"]
        self.assertEqual(alice["Tags"], [{"Key": "team", "Value": "payments"},
                                         {"Key": "cost-center", "Value": "42"}])
        self.assertEqual(sorted(alice["GroupList"]), ["admins", "devs"])
        self.assertEqual([p["PolicyName"] for p in alice["UserPolicyList"]], ["read"])
        cloudshell = "arn:aws:iam::aws:policy/AWSCloudShellFullAccess"
        self.assertEqual([p["PolicyArn"] for p in alice["AttachedManagedPolicies"]],
                         [cloudshell])
        self.assertEqual(users["bob"].get("Tags", []), [])
        groups = {g["GroupName"]: g for g in d["GroupDetailList"]}
        self.assertEqual([p["PolicyArn"] for p in groups["admins"]["AttachedManagedPolicies"]],
                         [cloudshell])
        self.assertEqual(groups["devs"]["AttachedManagedPolicies"], [])
        support = {r["RoleName"]: r for r in d["RoleDetailList"]}["support"]
        self.assertEqual(support["Tags"], [{"Key": "team", "Value": "ops"}])
        self.assertEqual([p["PolicyArn"] for p in support["AttachedManagedPolicies"]],
                         ["arn:aws:iam::aws:policy/AWSSupportAccess"])

    def test_account_tags(self) -> None:
        org = self.launcher.client("organizations")
        tags = {a: org.list_tags_for_resource(ResourceId=a)["Tags"]
                for a in ("123456789012", "210987654321")}
        self.assertEqual(tags["123456789012"], [{"Key": "team", "Value": "platform"}])
        self.assertEqual(tags["210987654321"], [{"Key": "team", "Value": "payments"},
                                                {"Key": "owner", "Value": "pay@example.com"}])

    def test_unknown_aws_managed_policy_is_a_seed_error(self) -> None:
        seed = {"accounts": [{"users": [{"name": "x", "aws_managed_policies": ["NoSuchPolicy"]}]}]}
        launcher = Launcher(seed)
        try:
            self.assertIn("ERROR", launcher.lines)
            self.assertIn("NoSuchPolicy", launcher.lines["ERROR"])
        finally:
            launcher.close()


class SeededStateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.launcher = Launcher(SEED)
        if "READY" not in cls.launcher.lines:
            cls.launcher.stderr.seek(0)
            raise AssertionError(
                f"launcher did not get ready: {cls.launcher.lines}\n{cls.launcher.stderr.read()}"
            )

    @classmethod
    def tearDownClass(cls) -> None:
        cls.launcher.close()

    def assume(self, label: str) -> dict[str, str]:
        role_arn = self.launcher.accounts()[label]["role_arn"]
        c = self.launcher.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName="self-test"
        )["Credentials"]
        return {
            "aws_access_key_id": c["AccessKeyId"],
            "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"],
        }

    def test_protocol_lines(self) -> None:
        self.assertRegex(self.launcher.endpoint, r"^http://127\.0\.0\.1:\d+$")
        keys = self.launcher.keys()
        self.assertEqual(
            sorted(keys),
            ["mgmt/alice/1", "mgmt/alice/2", "mgmt/comma,user/1", "mgmt/deploy-bot/1",
             "mgmt/deploy-bot/2", "prod/svc/1", "solo/x/1"],
        )
        for key_id in keys.values():
            self.assertRegex(key_id, r"^AKIA[A-Z0-9]{16}$")
        accounts = self.launcher.accounts()
        self.assertEqual(accounts["mgmt"]["id"], "123456789012")
        self.assertIsNone(accounts["mgmt"]["role_arn"])
        self.assertEqual(accounts["prod"]["id"], "210987654321")
        self.assertEqual(accounts["prod"]["name"], MEMBER_NAME)
        self.assertEqual(
            accounts["prod"]["role_arn"],
            "arn:aws:iam::210987654321:role/OrganizationAccountAccessRole",
        )
        self.assertEqual(accounts["closed"]["status"], "SUSPENDED")
        self.assertFalse(accounts["solo"]["organization_member"])
        self.assertIsNone(accounts["solo"]["organization_id"])
        self.assertTrue(accounts["solo"]["role_arn"].endswith(":role/ExporterRole"))
        self.assertEqual(accounts["prod"]["organization_id"], accounts["mgmt"]["organization_id"])

    def test_list_users_and_keys(self) -> None:
        iam = self.launcher.client("iam")
        users = {u["UserName"]: u for u in iam.list_users()["Users"]}
        self.assertEqual(set(users), {"alice", "deploy-bot", "console.only+x=y.z@corp", "comma,user"})
        self.assertEqual(users["alice"]["CreateDate"], utc("2024-01-15T08:00:00Z"))
        self.assertEqual(users["alice"]["PasswordLastUsed"], utc("2026-11-20T09:00:00Z"))
        self.assertNotIn("PasswordLastUsed", users["deploy-bot"])
        self.assertEqual(
            users["deploy-bot"]["Arn"], "arn:aws:iam::123456789012:user/ci/deploy-bot"
        )
        # A date left to moto is cut to whole seconds.
        self.assertEqual(users["console.only+x=y.z@corp"]["CreateDate"].microsecond, 0)

        keys = self.launcher.keys()
        listed = iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
        self.assertEqual(
            [(k["AccessKeyId"], k["Status"], k["CreateDate"]) for k in listed],
            [
                (keys["mgmt/alice/1"], "Active", utc("2024-02-01T00:00:00Z")),
                (keys["mgmt/alice/2"], "Inactive", utc("2025-02-01T00:00:00Z")),
            ],
        )

    def test_roles(self) -> None:
        iam = self.launcher.client("iam")
        details = {
            r["RoleName"]: r
            for r in iam.get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
        }
        self.assertEqual(
            set(details), {"deployer", "never-used", "AWSServiceRoleForAutoScaling"}
        )
        for source in (details, {n: iam.get_role(RoleName=n)["Role"] for n in details}):
            deployer = source["deployer"]
            self.assertEqual(deployer["Arn"], "arn:aws:iam::123456789012:role/ci/deployer")
            self.assertEqual(deployer["CreateDate"], utc("2024-03-01T00:00:00Z"))
            self.assertEqual(
                deployer["RoleLastUsed"],
                {"LastUsedDate": utc("2026-10-01T10:00:00Z"), "Region": "eu-west-1"},
            )
            self.assertEqual(source["never-used"]["RoleLastUsed"], {})
            linked = source["AWSServiceRoleForAutoScaling"]
            self.assertEqual(linked["Path"], "/aws-service-role/autoscaling.amazonaws.com/")
            # A date left to moto is cut to whole seconds.
            self.assertEqual(linked["CreateDate"].microsecond, 0)
        deployer = details["deployer"]
        self.assertEqual([p["PolicyName"] for p in deployer["RolePolicyList"]], ["read"])
        self.assertEqual(
            [p["PolicyArn"] for p in deployer["AttachedManagedPolicies"]],
            ["arn:aws:iam::123456789012:policy/audit"],
        )
        self.assertEqual(
            [p["InstanceProfileName"] for p in deployer["InstanceProfileList"]], ["deployer"]
        )
        # ListRoles has no RoleLastUsed, as on AWS.
        listed = iam.list_roles()["Roles"]
        self.assertEqual(len(listed), 3)
        self.assertTrue(all("RoleLastUsed" not in r for r in listed))

        member = self.launcher.client("iam", self.assume("prod"))
        app = member.get_role(RoleName="app")["Role"]
        self.assertEqual(app["Arn"], "arn:aws:iam::210987654321:role/app")
        self.assertEqual(app["RoleLastUsed"]["Region"], "us-east-2")

    def test_ssh_public_keys(self) -> None:
        iam = self.launcher.client("iam")
        listed = iam.list_ssh_public_keys(UserName="console.only+x=y.z@corp")["SSHPublicKeys"]
        self.assertEqual(
            [(k["SSHPublicKeyId"], k["Status"]) for k in listed][0],
            ("APKACONSOLE000000001", "Active"),
        )
        self.assertEqual(listed[0]["UploadDate"], utc("2025-03-03T03:03:03Z"))
        self.assertEqual(listed[1]["Status"], "Inactive")
        self.assertRegex(listed[1]["SSHPublicKeyId"], r"^APKA[A-Z0-9]{16}$")
        self.assertEqual(listed[1]["UploadDate"].microsecond, 0)
        self.assertEqual(iam.list_ssh_public_keys(UserName="alice")["SSHPublicKeys"], [])

    def test_service_specific_credentials(self) -> None:
        iam = self.launcher.client("iam")
        user = "console.only+x=y.z@corp"

        def listing(**kwargs: Any) -> list[tuple[str, str, str, Any, Any]]:
            out = []
            while True:
                page = iam.list_service_specific_credentials(**kwargs)
                out += [(c["UserName"], c["ServiceName"], c["Status"], c["CreateDate"],
                         c.get("ExpirationDate")) for c in page["ServiceSpecificCredentials"]]
                if not page["IsTruncated"]:
                    return out
                kwargs["Marker"] = page["Marker"]

        bedrock = [
            (user, "bedrock.amazonaws.com", "Active", utc("2026-01-01T00:00:00Z"),
             utc("2026-12-01T00:00:00Z")),
            (user, "bedrock.amazonaws.com", "Expired", utc("2025-01-01T00:00:00Z"),
             utc("2025-02-01T00:00:00Z")),
        ]
        git = (user, "codecommit.amazonaws.com", "Inactive", utc("2024-04-04T04:04:04Z"), None)
        self.assertEqual(listing(UserName=user), bedrock + [git])
        self.assertEqual(listing(AllUsers=True, ServiceName="bedrock.amazonaws.com"), bedrock)
        # One item per page: the same credentials, over pages.
        self.assertEqual(
            listing(AllUsers=True, ServiceName="bedrock.amazonaws.com", MaxItems=1), bedrock
        )
        self.assertEqual(listing(AllUsers=True, ServiceName="logs.amazonaws.com"), [])
        # Without UserName or AllUsers: the caller's own, and the caller is no IAM user.
        self.assertEqual(listing(), [])
        first = iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]
        self.assertEqual(first[0]["ServiceSpecificCredentialId"], "ACCABEDROCK000000001")
        self.assertRegex(first[1]["ServiceSpecificCredentialId"], r"^ACCA[A-Z2-7]{16}$")
        with self.assertRaises(iam.exceptions.NoSuchEntityException):
            iam.list_service_specific_credentials(UserName="nobody")
        # Another account's credentials are its own.
        prod = self.launcher.client("iam", self.assume("prod"))
        self.assertEqual(
            [c["ServiceSpecificCredentialId"] for c in prod.list_service_specific_credentials(
                AllUsers=True, ServiceName="bedrock.amazonaws.com")["ServiceSpecificCredentials"]],
            ["ACCAPRODBEDROCK00001"],
        )

    def test_access_key_last_used(self) -> None:
        iam = self.launcher.client("iam")
        keys = self.launcher.keys()

        def last_used(slot: str) -> tuple[Any, str, str]:
            lu = iam.get_access_key_last_used(AccessKeyId=keys[slot])["AccessKeyLastUsed"]
            return lu.get("LastUsedDate"), lu["Region"], lu["ServiceName"]

        # Really used through S3 in eu-west-1, then backdated.
        self.assertEqual(
            last_used("mgmt/alice/1"), (utc("2026-11-28T12:00:00Z"), "eu-west-1", "s3")
        )
        self.assertEqual(last_used("mgmt/alice/2"), (None, "N/A", "N/A"))
        # Really used through Lambda: moto's "awslambda" is stored as "lambda".
        date, region, service = last_used("mgmt/deploy-bot/1")
        self.assertEqual((region, service), ("us-west-2", "lambda"))
        self.assertLess(abs(time.time() - date.timestamp()), 300)
        self.assertEqual(date.microsecond, 0)
        self.assertEqual(
            last_used("mgmt/deploy-bot/2"), (utc("2025-06-01T00:00:00Z"), "ap-south-1", "ec2")
        )
        self.assertEqual(last_used("solo/x/1")[1:], ("eu-central-1", "sts"))

    def test_credential_report(self) -> None:
        iam = self.launcher.client("iam")
        # The launcher leaves the report "never generated".
        self.assertEqual(iam.generate_credential_report()["State"], "STARTED")
        self.assertEqual(iam.generate_credential_report()["State"], "COMPLETE")
        report = iam.get_credential_report()
        self.assertEqual(report["GeneratedTime"], utc("2015-02-02T20:02:02Z"))
        rows = {r["user"]: r for r in csv.DictReader(io.StringIO(report["Content"].decode()))}
        self.assertNotIn("<root_account>", rows)
        alice = rows["alice"]
        self.assertEqual(alice["user_creation_time"], "2024-01-15T08:00:00+00:00")
        self.assertEqual(alice["password_enabled"], "true")
        self.assertEqual(alice["password_last_used"], "2026-11-20T09:00:00+00:00")
        self.assertEqual(alice["mfa_active"], "true")
        self.assertEqual(alice["access_key_1_active"], "true")
        self.assertEqual(alice["access_key_1_last_rotated"], "2024-02-01T00:00:00+00:00")
        self.assertEqual(alice["access_key_1_last_used_date"], "2026-11-28T12:00:00+00:00")
        self.assertEqual(alice["access_key_1_last_used_region"], "not_supported")
        self.assertEqual(alice["access_key_1_last_used_service"], "not_supported")
        self.assertEqual(alice["access_key_2_active"], "false")
        self.assertEqual(alice["access_key_2_last_rotated"], "2025-02-01T00:00:00+00:00")
        self.assertEqual(alice["access_key_2_last_used_date"], "N/A")
        bot = rows["deploy-bot"]
        self.assertEqual(bot["arn"], "arn:aws:iam::123456789012:user/ci/deploy-bot")
        self.assertEqual(bot["password_enabled"], "false")
        self.assertEqual(bot["mfa_active"], "false")
        self.assertEqual(bot["access_key_2_last_used_date"], "2025-06-01T00:00:00+00:00")
        console = rows["console.only+x=y.z@corp"]
        self.assertEqual(console["password_last_used"], "no_information")
        self.assertEqual(console["access_key_1_active"], "false")
        self.assertEqual(console["access_key_1_last_rotated"], "N/A")
        # moto does not quote fields: a name with a comma (in the user and the
        # arn column) gives a row of 24 fields instead of 22.
        raw = [line for line in report["Content"].decode().splitlines()
               if line.startswith("comma,user,")]
        self.assertEqual(len(raw), 1)
        self.assertEqual(len(raw[0].split(",")), 24)

    def test_organization_and_member_accounts(self) -> None:
        org = self.launcher.client("organizations")
        accounts = {a["Id"]: a for a in org.list_accounts()["Accounts"]}
        ids = {label: a["id"] for label, a in self.launcher.accounts().items()}
        self.assertEqual(set(accounts), {ids["mgmt"], ids["prod"], ids["closed"]})
        self.assertEqual(accounts[ids["mgmt"]]["Name"], "Management")
        self.assertEqual(accounts[ids["prod"]]["Name"], MEMBER_NAME)
        self.assertEqual(accounts[ids["prod"]]["Status"], "ACTIVE")
        self.assertEqual(accounts[ids["closed"]]["Status"], "SUSPENDED")

        for label, user in (("prod", "svc"), ("solo", "x")):
            creds = self.assume(label)
            ident = self.launcher.client("sts", creds).get_caller_identity()
            self.assertEqual(ident["Account"], ids[label])
            iam = self.launcher.client("iam", creds)
            users = iam.list_users()["Users"]
            self.assertEqual([u["UserName"] for u in users], [user])
            self.assertEqual(users[0]["Arn"], f"arn:aws:iam::{ids[label]}:user/{user}")
            listed = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
            self.assertEqual(
                [k["AccessKeyId"] for k in listed], [self.launcher.keys()[f"{label}/{user}/1"]]
            )
        prod_iam = self.launcher.client("iam", self.assume("prod"))
        self.assertEqual(
            prod_iam.list_users()["Users"][0]["CreateDate"], utc("2025-01-01T00:00:00Z")
        )
        solo_role = self.launcher.client("iam", self.assume("solo")).get_role(
            RoleName="ExporterRole"
        )["Role"]
        statement = solo_role["AssumeRolePolicyDocument"]["Statement"][0]
        self.assertEqual(
            statement["Condition"], {"StringEquals": {"sts:ExternalId": "ext-123"}}
        )


class MfaAndCertificatesTest(unittest.TestCase):
    """What the launcher adds to moto: the root row and root's virtual MFA
    device, hardware MFA, signing certificate dates in the report, and each
    server certificate's own id and dates."""

    SEED = {"accounts": [{
        "root": {"created": "2020-01-01T00:00:00Z", "mfa": "virtual"},
        "unassigned_virtual_mfa_devices": 1,
        "server_certificates": [
            {"name": "web", "id": "ASCAWEBEXAMPLE000001", "uploaded": "2025-12-01T00:00:00Z",
             "expiration": "2026-12-10T00:00:00Z"},
        ],
        "users": [
            {"name": "vera", "mfa": "virtual"},
            {"name": "hank", "mfa": "hardware",
             "signing_certificates": [{"uploaded": "2025-02-01T00:00:00Z"},
                                      {"status": "Inactive", "uploaded": "2024-02-01T00:00:00Z"}]},
        ],
    }]}

    def test_seeded_mfa_and_certificates(self) -> None:
        launcher = Launcher(self.SEED)
        try:
            self.assertIn("READY", launcher.lines, launcher.lines)
            iam = launcher.client("iam")
            assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")
            users = sorted(d["User"]["Arn"] for d in assigned["VirtualMFADevices"])
            self.assertEqual(users, ["arn:aws:iam::123456789012:root",
                                     "arn:aws:iam::123456789012:user/vera"])
            everything = iam.list_virtual_mfa_devices()["VirtualMFADevices"]
            self.assertEqual(len(everything), 3, "one unassigned device too")
            cert = iam.list_server_certificates()["ServerCertificateMetadataList"][0]
            self.assertEqual(cert["ServerCertificateId"], "ASCAWEBEXAMPLE000001")
            self.assertEqual(cert["Expiration"], utc("2026-12-10T00:00:00Z"))
            self.assertEqual(cert["UploadDate"], utc("2025-12-01T00:00:00Z"))
            iam.generate_credential_report()
            content = iam.get_credential_report()["Content"].decode()
            rows = {r["user"]: r for r in csv.DictReader(io.StringIO(content))}
            self.assertEqual(rows["<root_account>"]["arn"], "arn:aws:iam::123456789012:root")
            self.assertEqual(rows["<root_account>"]["mfa_active"], "true")
            self.assertEqual(rows["hank"]["mfa_active"], "true")
            self.assertEqual(
                [rows["hank"][c] for c in ("cert_1_active", "cert_1_last_rotated",
                                           "cert_2_active", "cert_2_last_rotated")],
                ["true", "2025-02-01T00:00:00+00:00", "false", "2024-02-01T00:00:00+00:00"])
        finally:
            launcher.close()


class LifecycleTest(unittest.TestCase):
    MINIMAL = {"accounts": [{"users": [{"name": "a"}]}]}

    def test_invalid_seed_reports_error(self) -> None:
        launcher = Launcher({"accounts": [{"users": [{"name": "a", "keys": [{}, {}, {}]}]}]})
        try:
            self.assertIn("ERROR", launcher.lines)
            self.assertIn("at most 2 keys", launcher.lines["ERROR"])
            self.assertEqual(launcher.proc.wait(30), 1)
        finally:
            launcher.close()

    def test_service_linked_role_keeps_the_name_aws_gives_it(self) -> None:
        launcher = Launcher({"accounts": [{"roles": [
            {"name": "MyName", "service_linked": "autoscaling.amazonaws.com"}]}]})
        try:
            self.assertIn("ERROR", launcher.lines)
            self.assertIn("AWSServiceRoleForAutoScaling", launcher.lines["ERROR"])
        finally:
            launcher.close()

    def test_stops_when_stdin_closes(self) -> None:
        launcher = Launcher(self.MINIMAL)
        try:
            self.assertIn("READY", launcher.lines)
            assert launcher.proc.stdin is not None
            launcher.proc.stdin.close()
            self.assertEqual(launcher.proc.wait(15), 0)
        finally:
            launcher.close()

    def test_stops_on_sigterm(self) -> None:
        launcher = Launcher(self.MINIMAL)
        try:
            self.assertIn("READY", launcher.lines)
            launcher.proc.send_signal(signal.SIGTERM)
            self.assertEqual(launcher.proc.wait(15), 0)
        finally:
            launcher.close()

    def test_stops_after_max_seconds(self) -> None:
        started = time.monotonic()
        launcher = Launcher(self.MINIMAL, max_seconds=4)
        try:
            self.assertIn("READY", launcher.lines)
            self.assertEqual(launcher.proc.wait(30), 0)
            self.assertLess(time.monotonic() - started, 20)
            # Nothing after READY on stdout.
            assert launcher.proc.stdout is not None
            self.assertEqual(launcher.proc.stdout.read(), "")
        finally:
            launcher.close()


if __name__ == "__main__":
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    unittest.main()
