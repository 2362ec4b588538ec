//! What every fuzz target asserts beyond "does not panic": the invariants of
//! each parser's output, and for the credential report, that the account it
//! belongs to keeps its health series through both expositions.

use std::sync::Arc;
use std::time::Duration;

use iam_credentials_exporter::aws::ApiMetrics;
use iam_credentials_exporter::cli::parse_bytes;
use iam_credentials_exporter::time::parse_duration;
use iam_credentials_exporter::exposition::Format;
use iam_credentials_exporter::metrics::Exposition;
use iam_credentials_exporter::snapshot::{AccountState, Snapshot, Store};
use iam_credentials_exporter::report::parse_report;
use iam_credentials_exporter::time::{format_rfc3339, parse_rfc3339};
use iam_credentials_exporter::web_config::WebConfig;

/// The account a report without IAM ARNs is published under.
pub const ACCOUNT: &str = "123456789012";
const NOW: i64 = 1_750_000_000;

/// The credential report parser: no panic; skipped rows are counted; every
/// user kept has a name and at most one key and one signing certificate per
/// slot; and the exposition of the result, in both formats, still says the
/// account refreshed and has one `aws_iam_user_info` series per user.
pub fn check_report(bytes: &[u8]) {
    let Ok(parsed) = parse_report(bytes) else {
        return;
    };
    assert_eq!(parsed.data.rows_skipped, parsed.skipped.len() as u64);
    for user in &parsed.data.users {
        assert!(!user.name.is_empty(), "a user without a name was kept");
        assert!(
            user.keys.len() <= 2,
            "{} keys for {:?}",
            user.keys.len(),
            user.name
        );
        let mut slots: Vec<u8> = user.keys.iter().map(|k| k.slot).collect();
        slots.dedup();
        assert_eq!(slots.len(), user.keys.len(), "slots {slots:?}");
        assert!(slots.iter().all(|s| matches!(s, 1 | 2)), "slots {slots:?}");
        let certs: Vec<u8> = user.signing_certificates.iter().map(|c| c.slot).collect();
        assert!(
            certs.len() <= 2 && certs.windows(2).all(|w| w[0] < w[1]),
            "certificate slots {certs:?} of {:?}",
            user.name
        );
        assert!(certs.iter().all(|s| matches!(s, 1 | 2)), "slots {certs:?}");
        // A slot is kept only when it holds a certificate.
        for cert in &user.signing_certificates {
            assert!(cert.active || cert.created.is_some(), "{cert:?}");
        }
    }
    let users = parsed.data.users.len();
    let mut data = parsed.data;
    if data.account_id.is_empty() {
        data.account_id = ACCOUNT.to_owned();
    }
    let state = AccountState {
        key: String::from("fuzz"),
        account_id: data.account_id.clone(),
        data: Some(Arc::new(data)),
        success: true,
        last_success: Some(NOW),
        attempts: 1,
        ..AccountState::default()
    };
    let store = Arc::new(Store::default());
    store.publish(Snapshot::new(vec![state]));
    let exposition = Exposition::new(
        store,
        Arc::new(|| NOW),
        Duration::from_secs(300),
        &ApiMetrics::default(),
    );
    let snapshot = exposition.snapshot();
    for format in [Format::Text, Format::OpenMetrics] {
        let body = exposition
            .render(&snapshot, format)
            .expect("the exposition encodes");
        let health: Vec<&str> = body
            .lines()
            .filter(|l| l.starts_with("aws_iam_exporter_account_refresh_success{"))
            .collect();
        assert_eq!(health.len(), 1, "{format:?}: health series {health:?}");
        assert!(health[0].ends_with(" 1"), "{format:?}: {}", health[0]);
        let infos = body
            .lines()
            .filter(|l| l.starts_with("aws_iam_user_info{"))
            .count();
        assert_eq!(infos, users, "{format:?}: user_info series");
    }
}

/// The RFC 3339 parser: no panic, and a time it accepts formats back to a
/// string that parses to the same time (within the four-digit years the
/// formatter writes).
pub fn check_rfc3339(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Some(secs) = parse_rfc3339(text) {
        let formatted = format_rfc3339(secs);
        if formatted.len() == "YYYY-MM-DDTHH:MM:SSZ".len() && !formatted.starts_with('-') {
            assert_eq!(
                parse_rfc3339(&formatted),
                Some(secs),
                "{text:?} -> {formatted}"
            );
        }
    }
}

/// `--refresh.interval`/`--refresh.timeout`: no panic, and an accepted
/// duration is whole milliseconds that read back the same.
pub fn check_duration(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(duration) = parse_duration(text) {
        assert_eq!(duration.subsec_nanos() % 1_000_000, 0, "{text:?}");
        let millis = duration.as_millis();
        if let Ok(ms) = u32::try_from(millis) {
            assert_eq!(parse_duration(&format!("{ms}ms")), Ok(duration), "{text:?}");
        }
    }
}

/// `--credential-report.max-bytes`: no panic, and an accepted size is at
/// least one byte and reads back the same as a plain number.
pub fn check_bytes(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(size) = parse_bytes(text) {
        assert!(size >= 1, "{text:?}");
        assert_eq!(parse_bytes(&size.to_string()), Ok(size), "{text:?}");
    }
}

/// The web configuration file: no panic, whatever the YAML. Files it names
/// are looked up in a directory that does not exist, so only absolute paths
/// reach the file system.
pub fn check_web_config(bytes: &[u8]) {
    // The loader reads the file as UTF-8 and fails on anything else.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let dir = std::path::Path::new("/nonexistent/iam-credentials-exporter-fuzz");
    let _ = WebConfig::parse(text, dir);
}
