//! The virtual-mfa and server-certificates collectors and the signing
//! certificate columns: against moto (seeded by the launcher, which fills in
//! what moto lacks: the root row, per-certificate dates) and against the
//! SDK's mock client for pagination and failures.

use crate::common;

use common::mock::{aws_error, render, report_rules};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::operation::list_server_certificates::ListServerCertificatesOutput;
use aws_sdk_iam::operation::list_virtual_mfa_devices::ListVirtualMfaDevicesOutput;
use aws_sdk_iam::primitives::DateTime;
use aws_sdk_iam::types::{AssignmentStatusType, ServerCertificateMetadata, User, VirtualMfaDevice};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use common::exporter::{Exporter, value};
use common::moto::MotoServer;
use iam_credentials_exporter::aws::ApiMetrics;
use iam_credentials_exporter::collectors::server_certificates;
use iam_credentials_exporter::collectors::virtual_mfa;
use iam_credentials_exporter::collectors::{Collector, Collectors};
use iam_credentials_exporter::snapshot::Store;
use serde_json::json;

const ACCOUNT: &str = "111122223333";

/// root and alice have a virtual device, bob a hardware one, carol none.
const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,N/A,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::111122223333:user/alice,2024-01-01T00:00:00+00:00,true,N/A,2024-01-01T00:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
bob,arn:aws:iam::111122223333:user/ops/bob,2024-01-01T00:00:00+00:00,true,N/A,2024-01-01T00:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
carol,arn:aws:iam::111122223333:user/carol,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,true,2025-06-01T00:00:00+00:00,false,N/A
";

fn device(serial: &str, arn: &str, name: &str) -> VirtualMfaDevice {
    VirtualMfaDevice::builder()
        .serial_number(serial)
        .user(
            User::builder()
                .path("/")
                .user_name(name)
                .user_id("AIDAEXAMPLE")
                .arn(arn)
                .create_date(DateTime::from_secs(1_700_000_000))
                .build()
                .unwrap(),
        )
        .enable_date(DateTime::from_secs(1_700_000_000))
        .build()
        .unwrap()
}

fn certificate(name: &str, id: &str, uploaded: i64, expiration: i64) -> ServerCertificateMetadata {
    ServerCertificateMetadata::builder()
        .path("/")
        .server_certificate_name(name)
        .server_certificate_id(id)
        .arn(format!("arn:aws:iam::{ACCOUNT}:server-certificate/{name}"))
        .upload_date(DateTime::from_secs(uploaded))
        .expiration(DateTime::from_secs(expiration))
        .build()
        .unwrap()
}

/// Every page is read, each asked for the largest page size and, for
/// virtual devices, only assigned ones; the root user's device (an ARN
/// ending in `:root`) is the root row's.
#[tokio::test]
async fn virtual_devices_and_server_certificates_are_read_across_pages() {
    let first = mock!(Client::list_virtual_mfa_devices)
        .match_requests(|r| {
            r.marker().is_none()
                && r.max_items() == Some(1000)
                && r.assignment_status() == Some(&AssignmentStatusType::Assigned)
        })
        .then_output(|| {
            ListVirtualMfaDevicesOutput::builder()
                .virtual_mfa_devices(device(
                    "arn:aws:iam::111122223333:mfa/root-account-mfa-device",
                    "arn:aws:iam::111122223333:root",
                    "",
                ))
                .is_truncated(true)
                .marker("page-2")
                .build()
                .unwrap()
        });
    let second = mock!(Client::list_virtual_mfa_devices)
        .match_requests(|r| {
            r.marker() == Some("page-2")
                && r.assignment_status() == Some(&AssignmentStatusType::Assigned)
        })
        .then_output(|| {
            ListVirtualMfaDevicesOutput::builder()
                .virtual_mfa_devices(device(
                    "arn:aws:iam::111122223333:mfa/alice-phone",
                    "arn:aws:iam::111122223333:user/alice",
                    "alice",
                ))
                // A second device of the same user counts once.
                .virtual_mfa_devices(device(
                    "arn:aws:iam::111122223333:mfa/alice-laptop",
                    "arn:aws:iam::111122223333:user/alice",
                    "alice",
                ))
                .is_truncated(false)
                .build()
                .unwrap()
        });
    let certs_1 = mock!(Client::list_server_certificates)
        .match_requests(|r| r.marker().is_none() && r.max_items() == Some(1000))
        .then_output(|| {
            ListServerCertificatesOutput::builder()
                .server_certificate_metadata_list(certificate(
                    "web",
                    "ASCAWEB",
                    1_700_000_000,
                    1_800_000_000,
                ))
                .is_truncated(true)
                .marker("c2")
                .build()
                .unwrap()
        });
    let certs_2 = mock!(Client::list_server_certificates)
        .match_requests(|r| r.marker() == Some("c2"))
        .then_output(|| {
            ListServerCertificatesOutput::builder()
                .server_certificate_metadata_list(certificate(
                    "api",
                    "ASCAAPI",
                    1_600_000_000,
                    1_650_000_000,
                ))
                .build()
                .unwrap()
        });
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&first, &second, &certs_1, &certs_2]
    );
    let api = ApiMetrics::default();

    let users = virtual_mfa::list(&client, &api).await.unwrap();
    let names: Vec<&str> = users.users.iter().map(String::as_str).collect();
    assert!(users.root, "the device whose user ARN ends in :root");
    assert_eq!(names, ["alice"]);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));

    let certs = server_certificates::list(&client, &api).await.unwrap();
    let got: Vec<(&str, &str, Option<i64>, Option<i64>)> = certs
        .iter()
        .map(|c| (c.name.as_str(), c.id.as_str(), c.uploaded, c.expiration))
        .collect();
    assert_eq!(
        got,
        [
            ("web", "ASCAWEB", Some(1_700_000_000), Some(1_800_000_000)),
            ("api", "ASCAAPI", Some(1_600_000_000), Some(1_650_000_000)),
        ]
    );
    assert_eq!((certs_1.num_calls(), certs_2.num_calls()), (1, 1));
}

/// One collector failing leaves the account, the report and the other
/// collector alone: its health series say it failed, and its last good data
/// (if any) is still served.
#[tokio::test(start_paused = true)]
async fn one_failing_collector_leaves_the_other_and_the_report_alone() {
    let [generate, get] = report_rules(REPORT, Some(1_764_000_000));
    // Refresh 1: devices listed, certificates refused. Refresh 2: the other
    // way round.
    let devices = mock!(Client::list_virtual_mfa_devices)
        .sequence()
        .output(|| {
            ListVirtualMfaDevicesOutput::builder()
                .virtual_mfa_devices(device(
                    "arn:aws:iam::111122223333:mfa/root-account-mfa-device",
                    "arn:aws:iam::111122223333:root",
                    "",
                ))
                .virtual_mfa_devices(device(
                    "arn:aws:iam::111122223333:mfa/alice",
                    "arn:aws:iam::111122223333:user/alice",
                    "alice",
                ))
                .build()
                .unwrap()
        })
        .http_response(|| aws_error(403, "AccessDenied"))
        .build();
    let certs = mock!(Client::list_server_certificates)
        .sequence()
        .http_response(|| aws_error(403, "AccessDenied"))
        .output(|| {
            ListServerCertificatesOutput::builder()
                .server_certificate_metadata_list(certificate(
                    "web",
                    "ASCAWEB",
                    1_700_000_000,
                    1_800_000_000,
                ))
                .build()
                .unwrap()
        })
        .build();
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&generate, &get, &devices, &certs]
    );
    let now = Arc::new(AtomicI64::new(1_790_000_000));
    let store = Arc::new(Store::default());
    let api = ApiMetrics::default();
    let refresher = common::mock::one_account(
        client,
        ACCOUNT,
        Collectors::NONE
            .with(Collector::VirtualMfa, true)
            .with(Collector::ServerCertificates, true),
        Arc::clone(&store),
        api.clone(),
        {
            let now = Arc::clone(&now);
            Arc::new(move || now.load(Ordering::SeqCst))
        },
    )
    .with_timeout(Duration::from_secs(60));
    let user = |name: &str| format!("{{account_id=\"{ACCOUNT}\",user=\"{name}\"}}");
    let health = |name: &str, collector: &str| {
        format!("{name}{{account_id=\"{ACCOUNT}\",collector=\"{collector}\"}}")
    };
    let web = format!(
        "aws_iam_server_certificate_expiration_timestamp_seconds{{account_id=\"{ACCOUNT}\",name=\"web\",id=\"ASCAWEB\"}}"
    );
    let success = "aws_iam_exporter_collector_success";
    let last = "aws_iam_exporter_collector_last_success_timestamp_seconds";

    refresher.refresh_once().await;
    let m = render(&store, 1_790_000_000, &api, true);
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_exporter_account_refresh_success{{account_id=\"{ACCOUNT}\"}}")
        ),
        Some(1.0)
    );
    // Hand-worked: root and alice listed (1); bob has MFA, none listed (0);
    // carol has no MFA (absent).
    for (name, expected) in [
        ("<root_account>", Some(1.0)),
        ("alice", Some(1.0)),
        ("bob", Some(0.0)),
        ("carol", None),
    ] {
        assert_eq!(
            value(&m, &format!("aws_iam_user_mfa_virtual{}", user(name))),
            expected,
            "{name}\n{m}"
        );
    }
    assert_eq!(value(&m, &health(success, "virtual-mfa")), Some(1.0));
    assert_eq!(
        value(&m, &health(success, "server-certificates")),
        Some(0.0)
    );
    assert_eq!(value(&m, &health(last, "server-certificates")), None);
    assert!(
        !m.contains("aws_iam_server_certificate_"),
        "nothing read yet: {m}"
    );
    // The report's own data is there: carol's signing certificate.
    assert_eq!(
        value(
            &m,
            &format!(
                "aws_iam_signing_certificate_created_timestamp_seconds{{account_id=\"{ACCOUNT}\",user=\"carol\",slot=\"1\"}}"
            )
        ),
        Some(1_748_736_000.0)
    );

    now.store(1_790_000_300, Ordering::SeqCst);
    refresher.refresh_once().await;
    let m = render(&store, 1_790_000_300, &api, true);
    assert_eq!(value(&m, &health(success, "virtual-mfa")), Some(0.0));
    assert_eq!(
        value(&m, &health(last, "virtual-mfa")),
        Some(1_790_000_000.0)
    );
    assert_eq!(
        value(
            &m,
            &format!("aws_iam_user_mfa_virtual{}", user("<root_account>"))
        ),
        Some(1.0),
        "last good data kept"
    );
    assert_eq!(
        value(&m, &health(success, "server-certificates")),
        Some(1.0)
    );
    assert_eq!(value(&m, &web), Some(1_800_000_000.0));
    for operation in ["ListVirtualMFADevices", "ListServerCertificates"] {
        assert_eq!(
            value(
                &m,
                &format!(
                    "aws_iam_exporter_api_errors_total{{operation=\"{operation}\",code=\"AccessDenied\"}}"
                )
            ),
            Some(1.0),
            "{operation}"
        );
    }
}

/// Against moto, through the binary: the launcher adds the root row and
/// root's virtual device, per-certificate dates and the report's
/// cert_N_last_rotated that moto leaves out. Every value is worked out from
/// the seed by hand.
#[test]
fn mfa_kinds_server_and_signing_certificates_from_moto() {
    let moto = MotoServer::start(&json!({"accounts": [{
        "root": {"created": "2020-01-01T00:00:00Z", "mfa": "virtual"},
        "unassigned_virtual_mfa_devices": 2,
        "server_certificates": [
            {"name": "web-2026", "id": "ASCAWEB2026EXAMPLE01",
             "uploaded": "2025-12-01T00:00:00Z", "expiration": "2026-12-10T00:00:00Z"},
            {"name": "old", "path": "/cloudfront/", "id": "ASCAOLDEXAMPLE000001",
             "uploaded": "2024-01-01T00:00:00Z", "expiration": "2025-01-01T00:00:00Z"}
        ],
        "users": [
            {"name": "vera", "created": "2024-01-01T00:00:00Z", "mfa": "virtual"},
            {"name": "hank", "created": "2024-01-01T00:00:00Z", "mfa": "hardware"},
            {"name": "bo", "created": "2024-01-01T00:00:00Z", "mfa": "both",
             "signing_certificates": [
                {"status": "Active", "uploaded": "2025-02-01T00:00:00Z"},
                {"status": "Inactive", "uploaded": "2024-02-01T00:00:00Z"}
             ]},
            {"name": "nomfa", "created": "2024-01-01T00:00:00Z"}
        ]
    }]}));
    let env = moto.aws_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let account = moto.account_id("123456789012").to_owned();
    let user = |name: &str| format!("{{account_id=\"{account}\",user=\"{name}\"}}");

    let exporter = Exporter::start(&[], &env);
    exporter.wait_ready(Duration::from_secs(30));
    let m = exporter.metrics();
    for (name, expected) in [
        ("<root_account>", Some(1.0)),
        ("vera", Some(1.0)),
        ("hank", Some(0.0)),
        // A virtual device next to a hardware one: virtual (CIS 1.6).
        ("bo", Some(1.0)),
        ("nomfa", None),
    ] {
        assert_eq!(
            value(&m, &format!("aws_iam_user_mfa_virtual{}", user(name))),
            expected,
            "{name}\n{m}"
        );
    }
    let cert = |family: &str, name: &str, id: &str| {
        format!("{family}{{account_id=\"{account}\",name=\"{name}\",id=\"{id}\"}}")
    };
    for (name, id, uploaded, expiration) in [
        (
            "web-2026",
            "ASCAWEB2026EXAMPLE01",
            1_764_547_200.0,
            1_796_860_800.0,
        ),
        (
            "old",
            "ASCAOLDEXAMPLE000001",
            1_704_067_200.0,
            1_735_689_600.0,
        ),
    ] {
        assert_eq!(
            value(
                &m,
                &cert(
                    "aws_iam_server_certificate_expiration_timestamp_seconds",
                    name,
                    id
                )
            ),
            Some(expiration),
            "{name}\n{m}"
        );
        assert_eq!(
            value(
                &m,
                &cert(
                    "aws_iam_server_certificate_uploaded_timestamp_seconds",
                    name,
                    id
                )
            ),
            Some(uploaded),
            "{name}"
        );
    }
    let slot = |n: u8| format!("{{account_id=\"{account}\",user=\"bo\",slot=\"{n}\"}}");
    for (family, n, expected) in [
        ("aws_iam_signing_certificate_active", 1, 1.0),
        (
            "aws_iam_signing_certificate_created_timestamp_seconds",
            1,
            1_738_368_000.0,
        ),
        ("aws_iam_signing_certificate_active", 2, 0.0),
        (
            "aws_iam_signing_certificate_created_timestamp_seconds",
            2,
            1_706_745_600.0,
        ),
    ] {
        assert_eq!(
            value(&m, &format!("{family}{}", slot(n))),
            Some(expected),
            "{family} slot {n}"
        );
    }
    for (operation, calls) in [
        ("ListVirtualMFADevices", 1.0),
        ("ListServerCertificates", 1.0),
    ] {
        assert_eq!(
            value(
                &m,
                &format!("aws_iam_exporter_api_requests_total{{operation=\"{operation}\"}}")
            ),
            Some(calls),
            "{operation}"
        );
    }
    for collector in ["virtual-mfa", "server-certificates"] {
        assert_eq!(
            value(
                &m,
                &format!(
                    "aws_iam_exporter_collector_success{{account_id=\"{account}\",collector=\"{collector}\"}}"
                )
            ),
            Some(1.0),
            "{collector}"
        );
    }
    drop(exporter);

    // Both off: no call, no series, not even their HELP.
    let exporter = Exporter::start(
        &[
            "--no-collector.virtual-mfa",
            "--no-collector.server-certificates",
        ],
        &env,
    );
    exporter.wait_ready(Duration::from_secs(30));
    let m = exporter.metrics();
    assert!(!m.contains("aws_iam_user_mfa_virtual"), "{m}");
    assert!(!m.contains("aws_iam_server_certificate"), "{m}");
    assert!(!m.contains("ListVirtualMFADevices"), "{m}");
    assert!(!m.contains("ListServerCertificates"), "{m}");
}

/// `account-summary` reads root's password, MFA, keys and certificates and
/// the account's entities against their quotas in one call; a key IAM does
/// not send (moto has no `AccountPasswordPresent`) leaves its series out
/// rather than claim 0; a failure keeps the last good summary.
#[tokio::test(start_paused = true)]
async fn the_account_summary_says_what_root_holds_and_how_full_the_quotas_are() {
    use aws_sdk_iam::operation::get_account_summary::GetAccountSummaryOutput;
    use aws_sdk_iam::types::SummaryKeyType as Key;

    let [generate, get] = report_rules(REPORT, Some(1_789_990_000));
    let summary = mock!(Client::get_account_summary)
        .sequence()
        .output(|| {
            GetAccountSummaryOutput::builder()
                .summary_map(Key::AccountPasswordPresent, 1)
                .summary_map(Key::AccountMfaEnabled, 0)
                .summary_map(Key::AccountAccessKeysPresent, 1)
                .summary_map(Key::AccountSigningCertificatesPresent, 0)
                .summary_map(Key::Roles, 995)
                .summary_map(Key::RolesQuota, 1000)
                .summary_map(Key::Users, 4)
                .summary_map(Key::UsersQuota, 5000)
                .summary_map(Key::MfaDevicesInUse, 2)
                .build()
        })
        .http_response(|| aws_error(403, "AccessDenied"))
        .output(|| {
            GetAccountSummaryOutput::builder()
                .summary_map(Key::AccountMfaEnabled, 1)
                .summary_map(Key::Groups, 3)
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get, &summary]);
    let store = Arc::new(Store::default());
    let api = ApiMetrics::default();
    let refresher = common::mock::one_account(
        client,
        ACCOUNT,
        Collectors::NONE.with(Collector::AccountSummary, true),
        Arc::clone(&store),
        api.clone(),
        Arc::new(|| 1_790_000_000),
    );
    let account = |name: &str| format!("{name}{{account_id=\"{ACCOUNT}\"}}");
    let resource =
        |name: &str, kind: &str| format!("{name}{{account_id=\"{ACCOUNT}\",resource=\"{kind}\"}}");
    let success = format!(
        "aws_iam_exporter_collector_success{{account_id=\"{ACCOUNT}\",collector=\"account-summary\"}}"
    );

    refresher.refresh_once().await;
    let m = render(&store, 1_790_000_000, &api, true);
    for (name, expected) in [
        ("aws_iam_account_root_password_present", 1.0),
        ("aws_iam_account_root_mfa_enabled", 0.0),
        ("aws_iam_account_root_access_keys_present", 1.0),
        ("aws_iam_account_root_signing_certificates_present", 0.0),
    ] {
        assert_eq!(value(&m, &account(name)), Some(expected), "{name}\n{m}");
    }
    assert_eq!(
        value(&m, &resource("aws_iam_account_resources", "roles")),
        Some(995.0)
    );
    assert_eq!(
        value(&m, &resource("aws_iam_account_resources_quota", "roles")),
        Some(1000.0)
    );
    assert_eq!(
        value(&m, &resource("aws_iam_account_resources", "users")),
        Some(4.0)
    );
    assert!(!m.contains("resource=\"groups\""), "{m}");
    assert_eq!(value(&m, &success), Some(1.0));

    // Denied: the last good summary stays, and says so.
    refresher.refresh_once().await;
    let m = render(&store, 1_790_000_000, &api, true);
    assert_eq!(value(&m, &success), Some(0.0));
    assert_eq!(
        value(&m, &account("aws_iam_account_root_password_present")),
        Some(1.0)
    );

    // A summary without AccountPasswordPresent claims nothing about it.
    refresher.refresh_once().await;
    let m = render(&store, 1_790_000_000, &api, true);
    assert_eq!(value(&m, &success), Some(1.0));
    assert!(!m.contains("aws_iam_account_root_password_present{"), "{m}");
    assert_eq!(
        value(&m, &account("aws_iam_account_root_mfa_enabled")),
        Some(1.0)
    );
    assert_eq!(
        value(&m, &resource("aws_iam_account_resources", "groups")),
        Some(3.0)
    );
    assert!(!m.contains("aws_iam_account_resources_quota{"), "{m}");
}
