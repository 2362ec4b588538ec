//! The credential report source against a real (moto) IAM endpoint, with
//! historic dates set in moto's backend and keys used by signed requests.

use crate::common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::exporter::{Exporter, value};
use common::fixture::ts;
use common::moto::MotoServer;
use serde_json::json;

const ACCOUNT: &str = "123456789012";
/// moto's fixed credential report GeneratedTime, 2015-02-02T20:02:02Z.
const MOTO_REPORT_GENERATED: f64 = 1_422_907_322.0;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64
}

fn key(user: &str, slot: u8) -> String {
    format!(r#"{{account_id="{ACCOUNT}",user="{user}",slot="{slot}",access_key_id=""}}"#)
}

fn user(name: &str) -> String {
    format!(r#"{{account_id="{ACCOUNT}",user="{name}"}}"#)
}

fn seed() -> serde_json::Value {
    json!({"accounts": [{"users": [
        {"name": "alice", "created": "2024-01-15T08:00:00Z", "password": true,
         "password_last_used": "2026-11-20T10:00:00Z", "mfa": true,
         "keys": [
            {"status": "Active", "created": "2024-02-01T00:00:00Z",
             "last_used": {"date": "2026-11-01T12:00:00Z", "region": "eu-west-1", "service": "s3"}},
            {"status": "Inactive", "created": "2025-05-05T05:05:05Z"}
         ]},
        {"name": "deploy-bot", "path": "/ci/", "created": "2025-01-01T00:00:00Z",
         "keys": [{"status": "Active", "created": "2025-01-02T00:00:00Z",
                   "use": {"region": "us-west-2", "service": "sts"}}]},
        {"name": "build", "path": "/ci/", "created": "2025-06-01T00:00:00Z",
         "keys": [{"created": "2025-06-01T00:00:01Z"}, {"created": "2026-10-01T00:00:00Z"}]},
        {"name": "nokeys", "created": "2025-03-03T03:03:03Z"}
    ]}]})
}

#[test]
fn report_source_exports_exact_values_from_iam() {
    let moto = MotoServer::start(&seed());
    let env = moto.aws_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let started = now();
    let exporter = Exporter::start(&[], &env);
    exporter.wait_ready(Duration::from_secs(30));
    let m = exporter.metrics();
    let finished = now();

    let account = format!(r#"{{account_id="{ACCOUNT}"}}"#);
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_exporter_account_refresh_success{account}")
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_credential_report_generated_timestamp_seconds{account}")
        ),
        Some(MOTO_REPORT_GENERATED)
    );
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_exporter_report_rows_skipped{account}")
        ),
        Some(0.0)
    );
    // moto answers STARTED to the first GenerateCredentialReport: the exporter polls.
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_api_requests_total{operation="GenerateCredentialReport"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_api_requests_total{operation="GetCredentialReport"}"#
        ),
        Some(1.0)
    );

    // Users, paths in ARNs, password and MFA state.
    assert_eq!(
        value(
            &m,
            &format!(
                r#"aws_iam_user_info{{account_id="{ACCOUNT}",user="deploy-bot",arn="arn:aws:iam::{ACCOUNT}:user/ci/deploy-bot"}}"#
            )
        ),
        Some(1.0)
    );
    assert_eq!(
        m.matches("aws_iam_user_info{").count(),
        4,
        "moto has no root row"
    );
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_user_created_timestamp_seconds{}", user("alice"))
        ),
        Some(ts("2024-01-15T08:00:00Z") as f64)
    );
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_user_password_enabled{}", user("alice"))
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_user_password_enabled{}", user("deploy-bot"))
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &m,
            &format!(
                "aws_iam_user_password_last_used_timestamp_seconds{}",
                user("alice")
            )
        ),
        Some(ts("2026-11-20T10:00:00Z") as f64)
    );
    assert_eq!(
        value(&m, &format!("aws_iam_user_mfa_active{}", user("alice"))),
        Some(1.0)
    );
    assert_eq!(
        value(&m, &format!("aws_iam_user_mfa_active{}", user("build"))),
        Some(0.0)
    );
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_user_active_access_keys{}", user("alice"))
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_user_active_access_keys{}", user("build"))
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_user_active_access_keys{}", user("nokeys"))
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &m,
            &format!(
                "aws_iam_user_last_activity_timestamp_seconds{}",
                user("alice")
            )
        ),
        Some(ts("2026-11-20T10:00:00Z") as f64)
    );
    assert_eq!(
        value(
            &m,
            &format!(
                "aws_iam_user_last_activity_timestamp_seconds{}",
                user("nokeys")
            )
        ),
        None
    );
    let idle = value(&m, &format!("aws_iam_user_idle_seconds{}", user("nokeys"))).unwrap();
    let created = ts("2025-03-03T03:03:03Z") as f64;
    assert!(
        (started - created..=finished - created + 1.0).contains(&idle),
        "{idle}"
    );

    // An old, used key with a historic last use.
    assert_eq!(
        value(&m, &format!("aws_iam_access_key_active{}", key("alice", 1))),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            &format!(
                "aws_iam_access_key_created_timestamp_seconds{}",
                key("alice", 1)
            )
        ),
        Some(ts("2024-02-01T00:00:00Z") as f64)
    );
    assert_eq!(
        value(
            &m,
            &format!(
                "aws_iam_access_key_last_used_timestamp_seconds{}",
                key("alice", 1)
            )
        ),
        Some(ts("2026-11-01T12:00:00Z") as f64)
    );
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_access_key_never_used{}", key("alice", 1))
        ),
        Some(0.0)
    );
    // moto's report says not_supported for region and service: empty labels.
    assert_eq!(
        value(
            &m,
            &format!(
                r#"aws_iam_access_key_last_used_info{{account_id="{ACCOUNT}",user="alice",slot="1",access_key_id="",last_used_region="",last_used_service=""}}"#
            )
        ),
        Some(1.0)
    );
    let age = value(
        &m,
        &format!("aws_iam_access_key_age_seconds{}", key("alice", 1)),
    )
    .unwrap();
    let created = ts("2024-02-01T00:00:00Z") as f64;
    assert!(
        (started - created..=finished - created + 1.0).contains(&age),
        "{age}"
    );

    // An inactive key is exported as such.
    assert_eq!(
        value(&m, &format!("aws_iam_access_key_active{}", key("alice", 2))),
        Some(0.0)
    );
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_access_key_never_used{}", key("alice", 2))
        ),
        Some(1.0)
    );

    // A key used through a real signed request during seeding.
    let used = value(
        &m,
        &format!(
            "aws_iam_access_key_last_used_timestamp_seconds{}",
            key("deploy-bot", 1)
        ),
    )
    .unwrap();
    assert!(used >= started - 120.0 && used <= finished, "{used}");
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_access_key_never_used{}", key("deploy-bot", 1))
        ),
        Some(0.0)
    );

    // Two never-used active keys: idle counts from creation.
    for slot in [1, 2] {
        assert_eq!(
            value(
                &m,
                &format!("aws_iam_access_key_never_used{}", key("build", slot))
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &m,
                &format!(
                    "aws_iam_access_key_last_used_timestamp_seconds{}",
                    key("build", slot)
                )
            ),
            None
        );
        let age = value(
            &m,
            &format!("aws_iam_access_key_age_seconds{}", key("build", slot)),
        )
        .unwrap();
        let idle = value(
            &m,
            &format!("aws_iam_access_key_idle_seconds{}", key("build", slot)),
        )
        .unwrap();
        assert_eq!(age, idle);
    }
    assert_eq!(
        value(
            &m,
            &format!(
                "aws_iam_access_key_created_timestamp_seconds{}",
                key("build", 2)
            )
        ),
        Some(ts("2026-10-01T00:00:00Z") as f64)
    );
    // nokeys has no key series at all.
    assert!(!m.contains(r#"user="nokeys",slot="#));
}

#[test]
fn unreachable_endpoint_is_reported_and_not_ready() {
    // A port that was free a moment ago: connection refused, fast.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let exporter = Exporter::start(
        &["--aws.max-attempts", "1", "--refresh.timeout", "5s"],
        &[
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", common::moto::DUMMY_ACCESS_KEY_ID),
            (
                "AWS_SECRET_ACCESS_KEY",
                common::moto::DUMMY_SECRET_ACCESS_KEY,
            ),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ],
    );
    exporter.wait_log("account refresh failed", Duration::from_secs(30));
    assert_eq!(common::http::get(exporter.addr, "/-/ready").status, 503);
    let m = exporter.metrics();
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_account_refresh_success{account_id=""}"#
        ),
        Some(0.0)
    );
    assert!(
        m.contains(r#"aws_iam_exporter_api_errors_total{operation="GenerateCredentialReport",code="DispatchFailure"}"#),
        "{m}"
    );
}
