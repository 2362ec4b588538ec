//! Many accounts and the key-level API source against moto: an organization
//! reached through AssumeRole, `--source api` and `report,api`, and shards.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::exporter::{Exporter, value};
use common::fixture::ts;
use common::moto::MotoServer;
use serde_json::json;

const MGMT: &str = "123456789012";
const PROD: &str = "210987654321";
const DEV: &str = "333344445555";
const SANDBOX: &str = "666677778888";
const PROD_NAME: &str = "Prod \"EU\" \\ Zürich";

fn org_seed() -> serde_json::Value {
    json!({
        "organization": {"feature_set": "ALL"},
        "accounts": [
            {"label": "mgmt", "name": "Management", "users": [
                {"name": "admin", "password": true, "mfa": true, "created": "2024-01-01T00:00:00Z",
                 "keys": [{"created": "2024-01-02T00:00:00Z"}]}
            ]},
            {"label": "prod", "id": PROD, "name": PROD_NAME, "users": [
                {"name": "deployer", "path": "/ci/", "created": "2024-05-01T00:00:00Z", "keys": [
                    {"created": "2024-05-02T00:00:00Z",
                     "last_used": {"date": "2026-11-01T00:00:00Z", "region": "eu-west-1", "service": "s3"}},
                    {"created": "2025-05-02T00:00:00Z", "status": "Inactive"}
                ]},
                {"name": "reader", "created": "2025-01-01T00:00:00Z"}
            ]},
            {"label": "dev", "id": DEV, "name": "Dev", "users": [
                {"name": "dev-bot", "created": "2025-02-01T00:00:00Z",
                 "keys": [{"created": "2025-02-02T00:00:00Z"}]}
            ]},
            {"label": "sandbox", "id": SANDBOX, "name": "Sandbox", "users": [
                {"name": "tester", "created": "2025-03-01T00:00:00Z", "password": true}
            ]}
        ]
    })
}

fn env(moto: &MotoServer) -> Vec<(&'static str, String)> {
    moto.aws_env()
}

fn start(moto: &MotoServer, args: &[&str]) -> Exporter {
    let env = env(moto);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let exporter = Exporter::start(args, &env);
    exporter.wait_ready(Duration::from_secs(60));
    exporter
}

/// Waits until every expected account reported a successful refresh.
fn metrics_when_refreshed(exporter: &Exporter, accounts: &[&str]) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let m = exporter.metrics();
        let done = accounts.iter().all(|a| {
            value(
                &m,
                &format!(r#"aws_iam_exporter_account_refresh_success{{account_id="{a}"}}"#),
            ) == Some(1.0)
        });
        if done {
            return m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "accounts not refreshed: {m}\n{:#?}",
            exporter.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn account_ids(m: &str) -> BTreeSet<String> {
    m.lines()
        .filter_map(|l| l.strip_prefix("aws_iam_account_info{account_id=\""))
        .filter_map(|l| l.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn organization_accounts_are_discovered_and_assumed() {
    let moto = MotoServer::start(&org_seed());
    assert_eq!(moto.account_id("prod"), PROD);
    let exporter = start(
        &moto,
        &[
            "--aws.organization.role-name",
            "OrganizationAccountAccessRole",
        ],
    );
    let m = metrics_when_refreshed(&exporter, &[MGMT, PROD, DEV, SANDBOX]);

    assert_eq!(
        account_ids(&m),
        BTreeSet::from([MGMT, PROD, DEV, SANDBOX].map(str::to_owned))
    );
    // Names are escaped in the exposition whatever characters they have.
    assert_eq!(
        value(
            &m,
            &format!(
                r#"aws_iam_account_info{{account_id="{PROD}",account_name="Prod \"EU\" \\ Zürich",partition="aws"}}"#
            )
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        value(
            &m,
            &format!(
                r#"aws_iam_account_info{{account_id="{MGMT}",account_name="Management",partition="aws"}}"#
            )
        ),
        Some(1.0)
    );

    // Each account's own users, and nothing of the others.
    let users = |account: &str| {
        m.matches(&format!("aws_iam_user_info{{account_id=\"{account}\""))
            .count()
    };
    assert_eq!(
        (users(MGMT), users(PROD), users(DEV), users(SANDBOX)),
        (1, 2, 1, 1)
    );
    assert_eq!(
        value(
            &m,
            &format!(
                r#"aws_iam_user_info{{account_id="{PROD}",user="deployer",arn="arn:aws:iam::{PROD}:user/ci/deployer"}}"#
            )
        ),
        Some(1.0)
    );
    let key = format!(r#"{{account_id="{PROD}",user="deployer",slot="1",access_key_id=""}}"#);
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_access_key_created_timestamp_seconds{key}")
        ),
        Some(ts("2024-05-02T00:00:00Z") as f64)
    );
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_access_key_last_used_timestamp_seconds{key}")
        ),
        Some(ts("2026-11-01T00:00:00Z") as f64)
    );
    assert_eq!(
        value(
            &m,
            &format!(
                r#"aws_iam_access_key_active{{account_id="{PROD}",user="deployer",slot="2",access_key_id=""}}"#
            )
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &m,
            &format!(r#"aws_iam_user_password_enabled{{account_id="{SANDBOX}",user="tester"}}"#)
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            &format!(r#"aws_iam_user_mfa_active{{account_id="{MGMT}",user="admin"}}"#)
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_api_requests_total{operation="ListAccounts"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn filters_and_shards_split_the_organization_exactly() {
    let moto = MotoServer::start(&org_seed());
    let all = BTreeSet::from([MGMT, PROD, DEV, SANDBOX].map(str::to_owned));
    let org = [
        "--aws.organization.role-name",
        "OrganizationAccountAccessRole",
    ];

    let mut seen = BTreeSet::new();
    for index in ["0", "1"] {
        let mut args = org.to_vec();
        args.extend(["--shard.count", "2", "--shard.index", index]);
        let exporter = start(&moto, &args);
        std::thread::sleep(Duration::from_millis(500));
        let m = exporter.metrics();
        // Each replica says which shard it is, so that an empty shard can
        // be told from a broken one.
        assert_eq!(value(&m, "aws_iam_exporter_shards"), Some(2.0), "{m}");
        assert_eq!(
            value(&m, "aws_iam_exporter_shard"),
            Some(index.parse().unwrap()),
            "{m}"
        );
        let ids = account_ids(&m);
        assert!(
            seen.is_disjoint(&ids),
            "an account is in two shards: {ids:?}"
        );
        for id in &ids {
            let shard = iam_credentials_exporter::accounts::shard_of(id, 2).to_string();
            assert_eq!(shard, index, "{id}");
        }
        seen.extend(ids);
    }
    assert_eq!(seen, all, "the union of the shards is the organization");

    let mut args = org.to_vec();
    args.extend(["--aws.exclude-account", DEV, "--aws.skip-own-account"]);
    let exporter = start(&moto, &args);
    let m = metrics_when_refreshed(&exporter, &[PROD, SANDBOX]);
    assert_eq!(
        account_ids(&m),
        BTreeSet::from([PROD, SANDBOX].map(str::to_owned))
    );
}

#[test]
fn explicit_roles_are_assumed_next_to_the_own_account() {
    let moto = MotoServer::start(&org_seed());
    let role = moto.role_arn("dev").expect("dev role").to_owned();
    let exporter = start(&moto, &["--aws.assume-role", &role]);
    let m = metrics_when_refreshed(&exporter, &[MGMT, DEV]);
    assert_eq!(
        account_ids(&m),
        BTreeSet::from([MGMT, DEV].map(str::to_owned))
    );
    // Not discovered through Organizations: the name is unknown.
    assert_eq!(
        value(
            &m,
            &format!(
                r#"aws_iam_account_info{{account_id="{DEV}",account_name="",partition="aws"}}"#
            )
        ),
        Some(1.0)
    );
}

fn api_seed() -> serde_json::Value {
    json!({"accounts": [{"users": [
        {"name": "alice", "created": "2024-01-15T08:00:00Z", "password": true, "mfa": true, "keys": [
            {"created": "2024-02-01T00:00:00Z", "use": {"region": "eu-west-1", "service": "s3"}},
            {"created": "2025-02-01T00:00:00Z", "status": "Inactive"}
        ]},
        {"name": "deploy-bot", "path": "/ci/", "created": "2025-01-01T00:00:00Z", "keys": [
            {"created": "2025-01-02T00:00:00Z", "use": {"region": "us-west-2", "service": "sts"},
             "last_used": {"date": "2026-10-10T10:10:10Z"}}
        ]},
        {"name": "idle", "created": "2025-06-01T00:00:00Z", "keys": [{"created": "2025-06-02T00:00:00Z"}]},
        {"name": "nokeys", "created": "2025-03-03T03:03:03Z"}
    ]}]})
}

/// Per-key values that both sources provide, keyed by (user, slot).
fn key_fields(m: &str) -> Vec<String> {
    let mut out: Vec<String> = m
        .lines()
        .filter(|l| {
            l.starts_with("aws_iam_access_key_active{")
                || l.starts_with("aws_iam_access_key_created_timestamp_seconds{")
                || l.starts_with("aws_iam_access_key_last_used_timestamp_seconds{")
                || l.starts_with("aws_iam_access_key_never_used{")
        })
        .map(|l| {
            // Drop the key id, which only the API source knows.
            let start = l.find(",access_key_id=").unwrap();
            let end = l[start..].find('}').unwrap() + start;
            format!("{}{}", &l[..start], &l[end..])
        })
        .collect();
    out.sort();
    out
}

#[test]
fn api_source_exports_key_ids_and_last_use_and_merges_with_the_report() {
    let moto = MotoServer::start(&api_seed());
    let api = start(&moto, &["--source", "api"]);
    let m = metrics_when_refreshed(&api, &[MGMT]);

    let alice = moto.key(MGMT, "alice", 1);
    let bot = moto.key(MGMT, "deploy-bot", 1);
    assert_eq!(
        value(
            &m,
            &format!(
                r#"aws_iam_access_key_last_used_info{{account_id="{MGMT}",user="alice",slot="1",access_key_id="{alice}",last_used_region="eu-west-1",last_used_service="s3"}}"#
            )
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        value(
            &m,
            &format!(
                r#"aws_iam_access_key_last_used_info{{account_id="{MGMT}",user="deploy-bot",slot="1",access_key_id="{bot}",last_used_region="us-west-2",last_used_service="sts"}}"#
            )
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            &format!(
                r#"aws_iam_access_key_last_used_timestamp_seconds{{account_id="{MGMT}",user="deploy-bot",slot="1",access_key_id="{bot}"}}"#
            )
        ),
        Some(ts("2026-10-10T10:10:10Z") as f64)
    );
    // The API cannot see MFA or passwords: those series are absent, not 0.
    assert!(!m.contains("aws_iam_user_mfa_active{"), "{m}");
    assert!(!m.contains("aws_iam_user_password_enabled{"));
    // Calls: 1 page of users + 4 users + 4 keys (plus the identity lookup).
    let calls = |op: &str| {
        value(
            &m,
            &format!(r#"aws_iam_exporter_api_requests_total{{operation="{op}"}}"#),
        )
    };
    assert_eq!(calls("ListUsers"), Some(1.0));
    assert_eq!(calls("ListAccessKeys"), Some(4.0));
    assert_eq!(calls("GetAccessKeyLastUsed"), Some(4.0));
    assert_eq!(calls("GetCredentialReport"), None);
    let api_fields = key_fields(&m);
    drop(api);

    let report = start(&moto, &["--source", "report"]);
    let report_fields = key_fields(&metrics_when_refreshed(&report, &[MGMT]));
    drop(report);

    let merged = start(&moto, &["--source", "report,api"]);
    let m = metrics_when_refreshed(&merged, &[MGMT]);
    assert_eq!(key_fields(&m), api_fields, "report,api agrees with api");
    assert_eq!(
        key_fields(&m),
        report_fields,
        "report,api agrees with report"
    );
    // And has what only one of them knows: key ids from the API, MFA from the report.
    assert_eq!(
        value(
            &m,
            &format!(
                r#"aws_iam_access_key_active{{account_id="{MGMT}",user="alice",slot="1",access_key_id="{alice}"}}"#
            )
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            &format!(r#"aws_iam_user_mfa_active{{account_id="{MGMT}",user="alice"}}"#)
        ),
        Some(1.0)
    );
}

/// `--metrics.access-key-id` applies to every credential id: access keys,
/// SSH public keys and service-specific credentials. Two ids that mask
/// alike get their ordinal, and omitted ids of keys without a slot are
/// their ordinal, so that no two series share a label set.
#[test]
fn masked_and_omitted_key_ids() {
    let mut seed = api_seed();
    seed["accounts"][0]["users"][0]["ssh_keys"] = json!([
        {"id": "APKAALICESSH00000001", "uploaded": "2025-01-01T00:00:00Z"},
        {"id": "APKAALICESSH10000001", "uploaded": "2025-02-01T00:00:00Z"},
        {"id": "APKAALICESSH2000ABCD", "uploaded": "2025-03-01T00:00:00Z"}
    ]);
    seed["accounts"][0]["users"][0]["service_specific_credentials"] = json!([
        {"service": "bedrock.amazonaws.com", "id": "ACCAALICEBEDROCK1234"}
    ]);
    let moto = MotoServer::start(&seed);
    let alice = moto.key(MGMT, "alice", 1).to_owned();
    let masked = format!(
        "{}{}",
        "*".repeat(alice.len() - 4),
        &alice[alice.len() - 4..]
    );
    let ids = [
        "APKAALICESSH00000001",
        "APKAALICESSH10000001",
        "APKAALICESSH2000ABCD",
        "ACCAALICEBEDROCK1234",
    ];
    let args = |mode| {
        [
            "--source",
            "api",
            "--collector.ssh-public-keys",
            "--metrics.access-key-id",
            mode,
        ]
    };

    let exporter = start(&moto, &args("masked"));
    let m = metrics_when_refreshed(&exporter, &[MGMT]);
    assert!(
        m.contains(&format!(
            r#"user="alice",slot="1",access_key_id="{masked}""#
        )),
        "{m}"
    );
    assert!(!m.contains(&alice));
    let stars = "*".repeat(16);
    for id in [
        format!("{stars}0001-1"),
        format!("{stars}0001-2"),
        format!("{stars}ABCD"),
    ] {
        assert!(
            m.contains(&format!(
                r#"aws_iam_ssh_public_key_active{{account_id="{MGMT}",user="alice",ssh_public_key_id="{id}"}}"#
            )),
            "{id}: {m}"
        );
    }
    assert!(
        m.contains(&format!(
            r#"service_name="bedrock.amazonaws.com",credential_id="{}1234""#,
            "*".repeat(16)
        )),
        "{m}"
    );
    for id in ids {
        assert!(!m.contains(id), "{id} in {m}");
    }
    drop(exporter);

    let exporter = start(&moto, &args("omit"));
    let m = metrics_when_refreshed(&exporter, &[MGMT]);
    assert!(m.contains(r#"user="alice",slot="1",access_key_id="""#));
    assert!(!m.contains(&alice));
    for ordinal in 1..=3 {
        assert!(
            m.contains(&format!(
                r#"aws_iam_ssh_public_key_uploaded_timestamp_seconds{{account_id="{MGMT}",user="alice",ssh_public_key_id="{ordinal}"}}"#
            )),
            "{m}"
        );
    }
    // In upload order.
    assert!(m.contains(&format!(
        r#"aws_iam_ssh_public_key_uploaded_timestamp_seconds{{account_id="{MGMT}",user="alice",ssh_public_key_id="1"}} {}"#,
        ts("2025-01-01T00:00:00Z")
    )));
    assert!(m.contains(r#"service_name="bedrock.amazonaws.com",credential_id="1""#));
    for id in ids {
        assert!(!m.contains(id), "{id} in {m}");
    }
}

/// Owners: user, role and Organizations account tags become labels of one
/// info series each (empty where an object lacks a chosen tag), read from
/// moto with one GetAccountAuthorizationDetails per account for both
/// collectors and one ListTagsForResource per member; users' groups and
/// policies, and whom the two AWS managed policies of the CIS controls are
/// attached to.
#[test]
fn owners_tags_groups_and_policies_from_an_organization() {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    let moto = MotoServer::start(&json!({
        "organization": {"feature_set": "ALL"},
        "accounts": [
            {"label": "mgmt", "name": "Management", "tags": {"team": "platform"},
             "groups": [{"name": "admins", "aws_managed_policies": ["AWSCloudShellFullAccess"]}],
             "users": [
                {"name": "alice", "tags": {"team": "payments", "Cost Center": "42"},
                 "groups": ["admins", "devs"], "inline_policies": {"read": policy},
                 "aws_managed_policies": ["AWSCloudShellFullAccess"]},
                {"name": "bob", "groups": ["devs"]}
             ],
             "roles": [{"name": "support", "tags": {"team": "ops"},
                        "aws_managed_policies": ["AWSSupportAccess"]}]},
            {"label": "prod", "id": PROD, "name": "Prod",
             "tags": {"team": "payments", "owner": "pay@example.com"},
             "users": [{"name": "carol", "tags": {"team": "payments"}}]},
            {"label": "dev", "id": DEV, "name": "Dev"}
        ]
    }));
    let exporter = start(
        &moto,
        &[
            "--aws.organization.role-name",
            "OrganizationAccountAccessRole",
            "--metrics.user-tags=team,Cost Center",
            "--metrics.role-tags",
            "team",
            "--metrics.account-tags=team,owner",
        ],
    );
    let m = metrics_when_refreshed(&exporter, &[MGMT, PROD, DEV]);
    let has = |series: &str, v: f64| {
        assert_eq!(value(&m, series), Some(v), "{series}\n{m}");
    };
    has(
        &format!(
            r#"aws_iam_user_tags{{account_id="{MGMT}",user="alice",tag_cost_center="42",tag_team="payments"}}"#
        ),
        1.0,
    );
    has(
        &format!(
            r#"aws_iam_user_tags{{account_id="{MGMT}",user="bob",tag_cost_center="",tag_team=""}}"#
        ),
        1.0,
    );
    has(
        &format!(
            r#"aws_iam_user_tags{{account_id="{PROD}",user="carol",tag_cost_center="",tag_team="payments"}}"#
        ),
        1.0,
    );
    has(
        &format!(r#"aws_iam_role_tags{{account_id="{MGMT}",role="support",tag_team="ops"}}"#),
        1.0,
    );
    // The member role the organization created, untagged.
    has(
        &format!(
            r#"aws_iam_role_tags{{account_id="{PROD}",role="OrganizationAccountAccessRole",tag_team=""}}"#
        ),
        1.0,
    );
    has(
        &format!(r#"aws_iam_account_tags{{account_id="{MGMT}",tag_owner="",tag_team="platform"}}"#),
        1.0,
    );
    has(
        &format!(
            r#"aws_iam_account_tags{{account_id="{PROD}",tag_owner="pay@example.com",tag_team="payments"}}"#
        ),
        1.0,
    );
    has(
        &format!(r#"aws_iam_account_tags{{account_id="{DEV}",tag_owner="",tag_team=""}}"#),
        1.0,
    );
    for (user, groups, inline, attached) in [("alice", 2.0, 1.0, 1.0), ("bob", 1.0, 0.0, 0.0)] {
        has(
            &format!(r#"aws_iam_user_groups{{account_id="{MGMT}",user="{user}"}}"#),
            groups,
        );
        has(
            &format!(r#"aws_iam_user_inline_policies{{account_id="{MGMT}",user="{user}"}}"#),
            inline,
        );
        has(
            &format!(r#"aws_iam_user_attached_policies{{account_id="{MGMT}",user="{user}"}}"#),
            attached,
        );
    }
    for (account, policy, kind, n) in [
        (MGMT, "AWSCloudShellFullAccess", "user", 1.0),
        (MGMT, "AWSCloudShellFullAccess", "group", 1.0),
        (MGMT, "AWSCloudShellFullAccess", "role", 0.0),
        (MGMT, "AWSSupportAccess", "role", 1.0),
        (PROD, "AWSSupportAccess", "role", 0.0),
    ] {
        has(
            &format!(
                r#"aws_iam_policy_attachments{{account_id="{account}",policy="{policy}",kind="{kind}"}}"#
            ),
            n,
        );
    }
    // One listing per account for roles and authorization-details; one tag
    // listing per account (the management account included: it is a member).
    has(
        r#"aws_iam_exporter_api_requests_total{operation="GetAccountAuthorizationDetails"}"#,
        3.0,
    );
    has(
        r#"aws_iam_exporter_api_requests_total{operation="ListTagsForResource"}"#,
        3.0,
    );
}

/// `refresh_success` series of one exposition: account id -> values.
fn refresh_outcomes(m: &str) -> std::collections::BTreeMap<String, Vec<f64>> {
    let mut out = std::collections::BTreeMap::<String, Vec<f64>>::new();
    for line in m.lines() {
        if let Some(rest) =
            line.strip_prefix("aws_iam_exporter_account_refresh_success{account_id=\"")
            && let Some((id, value)) = rest.split_once("\"} ")
        {
            out.entry(id.to_owned())
                .or_default()
                .push(value.parse().unwrap());
        }
    }
    out
}

/// While STS is unreachable the exporter cannot tell which account it runs
/// in. The filters and shards must still hold for every account, and the
/// management account must never be refreshed twice (as itself and through
/// a role); once STS answers, the shards' union is exactly the organization.
#[test]
fn sts_failing_then_recovering_keeps_the_account_set_exact() {
    use common::gate::Gate;

    let moto = MotoServer::start(&org_seed());
    let upstream = moto.aws_env()[0].1.trim_start_matches("http://").to_owned();
    let gate = Gate::closed(&upstream);
    let mut env = moto.aws_env();
    env.push(("AWS_ENDPOINT_URL_STS", gate.endpoint()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let shards: Vec<Exporter> = ["0", "1"]
        .iter()
        .map(|index| {
            Exporter::start(
                &[
                    "--aws.organization.role-name",
                    "OrganizationAccountAccessRole",
                    "--shard.count",
                    "2",
                    "--shard.index",
                    index,
                    "--refresh.interval",
                    "1s",
                    "--aws.max-attempts",
                    "1",
                ],
                &env,
            )
        })
        .collect();

    // STS down: the own account is held back, unnamed; every named account
    // is in its own shard, once.
    for shard in &shards {
        shard.wait_log("cannot tell which account", Duration::from_secs(30));
    }
    std::thread::sleep(Duration::from_secs(2));
    for (index, shard) in shards.iter().enumerate() {
        let m = shard.metrics();
        let outcomes = refresh_outcomes(&m);
        assert_eq!(outcomes.get(""), Some(&vec![0.0]), "own account: {m}");
        for (id, values) in &outcomes {
            assert_eq!(values.len(), 1, "{id} exported twice: {m}");
            if !id.is_empty() {
                assert_eq!(
                    iam_credentials_exporter::accounts::shard_of(id, 2) as usize,
                    index,
                    "{id} outside its shard"
                );
            }
        }
        assert!(
            !m.contains("aws_iam_user_info{"),
            "no data without STS: {m}"
        );
        assert!(!shard.is_ready_now(), "ready without data");
    }

    // STS back: exactly the organization, each account once, in its shard.
    gate.open();
    let all = BTreeSet::from([MGMT, PROD, DEV, SANDBOX].map(str::to_owned));
    let mut union = BTreeSet::new();
    for (index, shard) in shards.iter().enumerate() {
        let mine: Vec<&str> = [MGMT, PROD, DEV, SANDBOX]
            .into_iter()
            .filter(|id| iam_credentials_exporter::accounts::shard_of(id, 2) as usize == index)
            .collect();
        let expected: BTreeSet<String> = mine.iter().map(|s| (*s).to_owned()).collect();
        let settled = |m: &str| {
            let outcomes = refresh_outcomes(m);
            outcomes.keys().cloned().collect::<BTreeSet<_>>() == expected
                && outcomes.values().all(|v| v == &vec![1.0])
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut m = shard.metrics();
        while !settled(&m) {
            assert!(
                std::time::Instant::now() < deadline,
                "shard {index} expected {expected:?}: {m}"
            );
            std::thread::sleep(Duration::from_millis(200));
            m = shard.metrics();
        }
        let ids: BTreeSet<String> = refresh_outcomes(&m).into_keys().collect();
        assert!(union.is_disjoint(&ids));
        union.extend(ids);
    }
    assert_eq!(union, all);
}

/// `aws_iam_exporter_api_requests_total` of one operation.
fn requests(m: &str, operation: &str) -> f64 {
    value(
        m,
        &format!(r#"aws_iam_exporter_api_requests_total{{operation="{operation}"}}"#),
    )
    .unwrap_or(0.0)
}

/// More accounts than the SDK's shared credential cache holds (64): every
/// account assumes its role once, and later refreshes cost exactly one
/// GenerateCredentialReport and one GetCredentialReport per account.
#[test]
fn assumed_credentials_are_reused_across_refreshes_in_a_large_organization() {
    const MEMBERS: usize = 80;
    let mut accounts = vec![json!({"label": "mgmt", "name": "Management"})];
    for i in 0..MEMBERS {
        accounts.push(json!({
            "label": format!("m{i}"), "id": format!("{:012}", 300_000_000_000u64 + i as u64),
            "name": format!("Member {i}"),
            "users": [{"name": "bot", "created": "2025-01-01T00:00:00Z",
                       "keys": [{"created": "2025-01-02T00:00:00Z"}]}]
        }));
    }
    let moto =
        MotoServer::start(&json!({"organization": {"feature_set": "ALL"}, "accounts": accounts}));
    let exporter = start(
        &moto,
        &[
            "--aws.organization.role-name",
            "OrganizationAccountAccessRole",
            "--refresh.interval",
            "10s",
        ],
    );
    // The counters right after the n-th refresh. A refresh of these 81
    // accounts takes a few seconds, so the next one starts seconds later;
    // the scrape must see no pending account (a refresh publishes its
    // accounts as pending before its first call), else it would count part
    // of the next refresh.
    let refreshes = |n: usize| {
        exporter.wait_log_count("refresh finished", n, Duration::from_secs(120));
        let m = exporter.metrics();
        assert_eq!(
            value(&m, r#"aws_iam_exporter_accounts{state="pending"}"#),
            Some(0.0),
            "scraped during refresh {}: {m}",
            n + 1
        );
        m
    };
    let first = refreshes(1);
    let third = refreshes(3);
    let accounts = (MEMBERS + 1) as f64;
    assert_eq!(requests(&first, "AssumeRole"), MEMBERS as f64);
    assert_eq!(
        requests(&third, "AssumeRole"),
        MEMBERS as f64,
        "credentials assumed again"
    );
    // Two later refreshes, reports already built: two calls per account.
    for op in ["GenerateCredentialReport", "GetCredentialReport"] {
        assert_eq!(
            requests(&third, op) - requests(&first, op),
            2.0 * accounts,
            "{op}"
        );
    }
    assert_eq!(
        value(&third, r#"aws_iam_exporter_accounts{state="done"}"#),
        Some(accounts)
    );
}

/// The sharded deployment (deploy/kubernetes/overlays/sharded) in miniature:
/// three shards, processes of the real binary running side by side against
/// one organization of 13 accounts. After each shard's first refresh, every
/// account (its data, not just its name) is exported by exactly one shard,
/// with a successful refresh, and the union is the organization.
#[test]
fn three_shards_export_every_account_of_the_organization_exactly_once() {
    const SHARDS: u32 = 3;
    const PER_SHARD: usize = 4;
    let started = std::time::Instant::now();
    // Member ids chosen so that every shard owns accounts (the management
    // account, 123456789012, lands wherever the hash puts it).
    let mut members: Vec<String> = Vec::new();
    for shard in 0..SHARDS {
        members.extend(
            (0u64..)
                .map(|i| format!("{:012}", 400_000_000_000 + i))
                .filter(|id| iam_credentials_exporter::accounts::shard_of(id, SHARDS) == shard)
                .take(PER_SHARD),
        );
    }
    let mut accounts = vec![json!({"label": "mgmt", "name": "Management", "users": [
        {"name": format!("user-{MGMT}"), "created": "2025-01-01T00:00:00Z"}
    ]})];
    for (i, id) in members.iter().enumerate() {
        accounts.push(json!({
            "label": format!("m{i}"), "id": id, "name": format!("Member {i}"),
            "users": [{"name": format!("user-{id}"), "created": "2025-01-01T00:00:00Z",
                       "keys": [{"created": "2025-01-02T00:00:00Z"}]}]
        }));
    }
    let moto =
        MotoServer::start(&json!({"organization": {"feature_set": "ALL"}, "accounts": accounts}));
    let organization: BTreeSet<String> = members.iter().cloned().chain([MGMT.to_owned()]).collect();
    assert_eq!(organization.len(), 3 * PER_SHARD + 1);

    let env = env(&moto);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let count = SHARDS.to_string();
    let shards: Vec<Exporter> = (0..SHARDS)
        .map(|index| {
            let index = index.to_string();
            Exporter::start(
                &[
                    "--aws.organization.role-name",
                    "OrganizationAccountAccessRole",
                    "--shard.count",
                    &count,
                    "--shard.index",
                    &index,
                ],
                &env,
            )
        })
        .collect();

    let mut owner: std::collections::BTreeMap<String, usize> = Default::default();
    for (index, shard) in shards.iter().enumerate() {
        shard.wait_log_count("refresh finished", 1, Duration::from_secs(90));
        let m = shard.metrics();
        assert_eq!(
            value(&m, r#"aws_iam_exporter_accounts{state="failed"}"#),
            Some(0.0),
            "shard {index}: {m}"
        );
        let ids = account_ids(&m);
        assert!(!ids.is_empty(), "shard {index} owns no account: {m}");
        for id in &ids {
            assert_eq!(
                value(
                    &m,
                    &format!(r#"aws_iam_exporter_account_refresh_success{{account_id="{id}"}}"#)
                ),
                Some(1.0),
                "shard {index}, account {id}: {m}"
            );
            // The account's own data, from its own role.
            assert!(
                m.contains(&format!(
                    r#"aws_iam_user_info{{account_id="{id}",user="user-{id}""#
                )),
                "shard {index} has no data of {id}: {m}"
            );
            assert_eq!(
                iam_credentials_exporter::accounts::shard_of(id, SHARDS) as usize,
                index,
                "{id} outside its shard"
            );
            if let Some(other) = owner.insert(id.clone(), index) {
                panic!("account {id} exported by shards {other} and {index}");
            }
        }
    }
    let union: BTreeSet<String> = owner.keys().cloned().collect();
    assert_eq!(
        union, organization,
        "the union of the shards is the organization"
    );
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "three shards of 13 accounts took {:?}",
        started.elapsed()
    );
}
