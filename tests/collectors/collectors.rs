//! The collector framework: flags, failure isolation, last good data, health
//! series; and the password-policy collector against moto and the SDK's mock
//! client.

use crate::common;

use common::mock::{aws_error, render, report_rules};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::operation::get_account_password_policy::GetAccountPasswordPolicyOutput;
use aws_sdk_iam::types::PasswordPolicy;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use common::exporter::{Exporter, value};
use common::moto::MotoServer;
use iam_credentials_exporter::accounts::Accounts;
use iam_credentials_exporter::accounts::Target;
use iam_credentials_exporter::aws::ApiMetrics;
use iam_credentials_exporter::collectors::{Collector, Collectors};
use iam_credentials_exporter::refresh::Refresher;
use iam_credentials_exporter::report::fetch::PollPolicy;
use iam_credentials_exporter::snapshot::Store;
use iam_credentials_exporter::source::{Source, SourceKinds};
use serde_json::json;

const ACCOUNT: &str = "111122223333";
const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
alice,arn:aws:iam::111122223333:user/alice,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2024-01-02T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";

fn strict_policy() -> GetAccountPasswordPolicyOutput {
    GetAccountPasswordPolicyOutput::builder()
        .password_policy(
            PasswordPolicy::builder()
                .minimum_password_length(14)
                .require_symbols(true)
                .require_numbers(true)
                .require_uppercase_characters(true)
                .require_lowercase_characters(false)
                .allow_users_to_change_password(true)
                .expire_passwords(true)
                .max_password_age(90)
                .password_reuse_prevention(24)
                .hard_expiry(false)
                .build(),
        )
        .build()
}

/// A collector's failure is its own: the account's report is published,
/// the collector's last good data stays, and its health series tell; an
/// account without a policy is an answer (present 0), not an error.
#[tokio::test(start_paused = true)]
async fn a_failing_collector_keeps_its_last_good_data_and_not_the_account() {
    let [generate, get] = report_rules(REPORT, Some(1_764_000_000));
    let policy = mock!(Client::get_account_password_policy)
        .sequence()
        .output(strict_policy)
        .http_response(|| aws_error(403, "AccessDenied"))
        .http_response(|| aws_error(404, "NoSuchEntity"))
        .build();
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get, &policy]);
    let now = Arc::new(AtomicI64::new(1_800_000_000));
    let store = Arc::new(Store::default());
    let api = ApiMetrics::default();
    let refresher = common::mock::one_account(
        client,
        ACCOUNT,
        Collectors::NONE.with(Collector::PasswordPolicy, true),
        Arc::clone(&store),
        api.clone(),
        {
            let now = Arc::clone(&now);
            Arc::new(move || now.load(Ordering::SeqCst))
        },
    )
    .with_timeout(Duration::from_secs(60));
    let series = |name: &str| format!("{name}{{account_id=\"{ACCOUNT}\"}}");
    let health =
        |name: &str| format!("{name}{{account_id=\"{ACCOUNT}\",collector=\"password-policy\"}}");

    refresher.refresh_once().await;
    let m = render(&store, 1_800_000_000, &api, true);
    for (name, expected) in [
        ("aws_iam_password_policy_present", 1.0),
        ("aws_iam_password_policy_minimum_length", 14.0),
        ("aws_iam_password_policy_reuse_prevention", 24.0),
        ("aws_iam_password_policy_max_age_seconds", 90.0 * 86_400.0),
        ("aws_iam_password_policy_require_symbols", 1.0),
        ("aws_iam_password_policy_require_numbers", 1.0),
        ("aws_iam_password_policy_require_uppercase_characters", 1.0),
        ("aws_iam_password_policy_require_lowercase_characters", 0.0),
        (
            "aws_iam_password_policy_allow_users_to_change_password",
            1.0,
        ),
        ("aws_iam_password_policy_expire_passwords", 1.0),
        ("aws_iam_password_policy_hard_expiry", 0.0),
    ] {
        assert_eq!(value(&m, &series(name)), Some(expected), "{name}\n{m}");
    }
    assert_eq!(
        value(&m, &health("aws_iam_exporter_collector_success")),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            &health("aws_iam_exporter_collector_last_success_timestamp_seconds")
        ),
        Some(1_800_000_000.0)
    );
    assert!(m.contains(&health("aws_iam_exporter_collector_duration_seconds")));

    // The policy call is refused: the account still refreshes, the policy
    // read at the first refresh is still served, and says it is old.
    now.store(1_800_000_300, Ordering::SeqCst);
    refresher.refresh_once().await;
    let m = render(&store, 1_800_000_300, &api, true);
    assert_eq!(
        value(&m, &series("aws_iam_exporter_account_refresh_success")),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            &series("aws_iam_exporter_account_last_refresh_success_timestamp_seconds")
        ),
        Some(1_800_000_300.0)
    );
    assert_eq!(
        value(&m, &health("aws_iam_exporter_collector_success")),
        Some(0.0)
    );
    assert_eq!(
        value(
            &m,
            &health("aws_iam_exporter_collector_last_success_timestamp_seconds")
        ),
        Some(1_800_000_000.0)
    );
    assert_eq!(
        value(&m, &series("aws_iam_password_policy_minimum_length")),
        Some(14.0),
        "last good data kept"
    );
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_api_errors_total{operation="GetAccountPasswordPolicy",code="AccessDenied"}"#
        ),
        Some(1.0)
    );

    // No policy any more: present 0, the settings are gone, and NoSuchEntity
    // is not an API error.
    now.store(1_800_000_600, Ordering::SeqCst);
    refresher.refresh_once().await;
    let m = render(&store, 1_800_000_600, &api, true);
    assert_eq!(
        value(&m, &series("aws_iam_password_policy_present")),
        Some(0.0)
    );
    assert!(!m.contains("aws_iam_password_policy_minimum_length"), "{m}");
    assert_eq!(
        value(&m, &health("aws_iam_exporter_collector_success")),
        Some(1.0)
    );
    assert!(!m.contains("code=\"NoSuchEntity\""), "{m}");
    assert_eq!(policy.num_calls(), 3);
}

/// A collector that is off makes no call and adds no series, not even the
/// HELP of its families.
#[tokio::test(start_paused = true)]
async fn a_collector_that_is_off_makes_no_call_and_no_series() {
    let [generate, get] = report_rules(REPORT, None);
    let policy = mock!(Client::get_account_password_policy).then_output(strict_policy);
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get, &policy]);
    let store = Arc::new(Store::default());
    let api = ApiMetrics::default();
    let refresher = Refresher::new(
        Accounts::Static(vec![Arc::new(
            Target::new(
                ACCOUNT,
                Source::Aws {
                    client,
                    kinds: SourceKinds::REPORT,
                    poll: PollPolicy::default(),
                    concurrency: 1,
                },
            )
            .with_account_id(ACCOUNT),
        )]),
        Arc::clone(&store),
        api.clone(),
        Arc::new(|| 1_800_000_000),
    )
    .with_timeout(Duration::from_secs(60));
    refresher.refresh_once().await;
    let m = render(&store, 1_800_000_000, &api, true);
    assert_eq!(policy.num_calls(), 0);
    assert!(m.contains("aws_iam_user_info{"), "{m}");
    assert!(!m.contains("aws_iam_password_policy"), "{m}");
    assert!(!m.contains("aws_iam_exporter_collector_success{"), "{m}");
}

/// The password policy as moto stores it, through the exporter binary with
/// its default collectors; and the flag that turns it off.
#[test]
fn password_policy_from_iam_and_the_flag_that_turns_it_off() {
    let moto = MotoServer::start(&json!({"accounts": [{
        "users": [{"name": "alice", "created": "2024-01-15T08:00:00Z"}],
        "password_policy": {
            "MinimumPasswordLength": 12,
            "RequireSymbols": true,
            "RequireNumbers": false,
            "RequireUppercaseCharacters": true,
            "RequireLowercaseCharacters": true,
            "AllowUsersToChangePassword": false,
            "PasswordReusePrevention": 5,
            "HardExpiry": true
        }
    }]}));
    let env = moto.aws_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let account = moto.account_id("123456789012").to_owned();
    let series = |name: &str| format!("{name}{{account_id=\"{account}\"}}");

    let exporter = Exporter::start(&[], &env);
    exporter.wait_ready(Duration::from_secs(30));
    let m = exporter.metrics();
    for (name, expected) in [
        ("aws_iam_password_policy_present", 1.0),
        ("aws_iam_password_policy_minimum_length", 12.0),
        ("aws_iam_password_policy_reuse_prevention", 5.0),
        ("aws_iam_password_policy_require_symbols", 1.0),
        ("aws_iam_password_policy_require_numbers", 0.0),
        ("aws_iam_password_policy_require_uppercase_characters", 1.0),
        ("aws_iam_password_policy_require_lowercase_characters", 1.0),
        (
            "aws_iam_password_policy_allow_users_to_change_password",
            0.0,
        ),
        ("aws_iam_password_policy_expire_passwords", 0.0),
        ("aws_iam_password_policy_hard_expiry", 1.0),
    ] {
        assert_eq!(value(&m, &series(name)), Some(expected), "{name}\n{m}");
    }
    assert!(
        !m.contains("aws_iam_password_policy_max_age_seconds"),
        "passwords do not expire: {m}"
    );
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_api_requests_total{operation="GetAccountPasswordPolicy"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_collector_enabled{collector="password-policy"}"#
        ),
        Some(1.0)
    );
    drop(exporter);

    let exporter = Exporter::start(&["--no-collector.password-policy"], &env);
    exporter.wait_ready(Duration::from_secs(30));
    let m = exporter.metrics();
    assert!(!m.contains("aws_iam_password_policy"), "{m}");
    assert!(!m.contains("operation=\"GetAccountPasswordPolicy\""), "{m}");
    assert_eq!(
        value(
            &m,
            r#"aws_iam_exporter_collector_enabled{collector="password-policy"}"#
        ),
        Some(0.0)
    );
}

/// A collector with an interval (`--collector.NAME.interval`) reads an
/// account at most once per interval: refreshes in between serve its last
/// read, whose timestamp says how old it is, with no call; a failed read is
/// retried at the next refresh.
#[tokio::test(start_paused = true)]
async fn a_collector_reads_at_most_once_per_interval_and_its_timestamp_says_how_old() {
    use iam_credentials_exporter::collectors::Schedule;

    let [generate, get] = report_rules(REPORT, Some(1_764_000_000));
    let policy = mock!(Client::get_account_password_policy)
        .sequence()
        .output(strict_policy)
        .http_response(|| aws_error(403, "AccessDenied"))
        .output(strict_policy)
        .build();
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get, &policy]);
    let now = Arc::new(AtomicI64::new(1_800_000_000));
    let store = Arc::new(Store::default());
    let api = ApiMetrics::default();
    let refresher = common::mock::one_account(
        client,
        ACCOUNT,
        Collectors::NONE.with(Collector::PasswordPolicy, true),
        Arc::clone(&store),
        api.clone(),
        {
            let now = Arc::clone(&now);
            Arc::new(move || now.load(Ordering::SeqCst))
        },
    )
    .with_schedule(
        Schedule::every_refresh().with(Collector::PasswordPolicy, Duration::from_secs(3600)),
    );
    let health =
        |name: &str| format!("{name}{{account_id=\"{ACCOUNT}\",collector=\"password-policy\"}}");
    let last = health("aws_iam_exporter_collector_last_success_timestamp_seconds");
    let success = health("aws_iam_exporter_collector_success");
    let at = |t: i64| {
        now.store(t, Ordering::SeqCst);
        render(&store, t, &api, true)
    };

    refresher.refresh_once().await;
    let m = at(1_800_000_000);
    assert_eq!(value(&m, &last), Some(1_800_000_000.0));
    assert_eq!(policy.num_calls(), 1);

    // 59 minutes later: no call, the first read is served and says its age.
    now.store(1_800_003_540, Ordering::SeqCst);
    refresher.refresh_once().await;
    let m = at(1_800_003_540);
    assert_eq!(policy.num_calls(), 1, "read within the interval");
    assert_eq!(value(&m, &success), Some(1.0));
    assert_eq!(value(&m, &last), Some(1_800_000_000.0), "{m}");
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_password_policy_minimum_length{{account_id=\"{ACCOUNT}\"}}")
        ),
        Some(14.0)
    );

    // An hour on: read again, refused; the next refresh retries at once.
    now.store(1_800_003_600, Ordering::SeqCst);
    refresher.refresh_once().await;
    let m = at(1_800_003_600);
    assert_eq!(policy.num_calls(), 2);
    assert_eq!(value(&m, &success), Some(0.0));
    assert_eq!(value(&m, &last), Some(1_800_000_000.0));
    now.store(1_800_003_660, Ordering::SeqCst);
    refresher.refresh_once().await;
    let m = at(1_800_003_660);
    assert_eq!(
        policy.num_calls(),
        3,
        "a failed read is not kept for an hour"
    );
    assert_eq!(value(&m, &success), Some(1.0));
    assert_eq!(value(&m, &last), Some(1_800_003_660.0));
}
