//! The credential report parser against the fixtures in
//! `tests/fixtures/reports/`, whose expected outcomes live in `expected.json`.

use std::path::Path;

use iam_credentials_exporter::model::{AccessKey, LastUsed, SigningCertificate, User};
use iam_credentials_exporter::report::{ReportParseError, parse_report};
use pretty_assertions::assert_eq;
use serde_json::Value;

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/reports"
    ))
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("valid JSON")
}

/// A time of `expected.json`: Unix seconds, or null.
fn seconds(v: &Value) -> Option<i64> {
    v.as_i64()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn user_from(row: &Value) -> User {
    User {
        name: text(&row["user"]),
        arn: text(&row["arn"]),
        created: seconds(&row["user_creation_time"]),
        password_enabled: row["password_enabled"].as_bool(),
        password_last_used: seconds(&row["password_last_used"]),
        password_last_changed: seconds(&row["password_last_changed"]),
        mfa_active: row["mfa_active"].as_bool(),
        keys: row["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| AccessKey {
                slot: k["slot"].as_u64().expect("slot") as u8,
                id: String::new(),
                active: k["active"].as_bool().expect("active"),
                created: seconds(&k["last_rotated"]),
                last_used: seconds(&k["last_used_date"]).map(|at| LastUsed {
                    at,
                    region: text(&k["last_used_region"]),
                    service: text(&k["last_used_service"]),
                }),
                usage_unknown: false,
            })
            .collect(),
        // Only fixtures with a certificate list them.
        signing_certificates: row["signing_certificates"]
            .as_array()
            .map(|certs| {
                certs
                    .iter()
                    .map(|c| SigningCertificate {
                        slot: c["slot"].as_u64().expect("slot") as u8,
                        active: c["active"].as_bool().expect("active"),
                        created: seconds(&c["last_rotated"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

#[test]
fn every_fixture_parses_to_its_expected_outcome() {
    let expected = expected();
    let cases = expected["fixtures"].as_object().expect("fixtures");
    assert!(cases.len() >= 8, "fixtures are missing from expected.json");
    for (file, case) in cases {
        let bytes = std::fs::read(fixtures().join(file)).expect(file);
        let result = parse_report(&bytes);
        match case["outcome"].as_str() {
            Some("ok") => {
                let parsed = result.unwrap_or_else(|e| panic!("{file}: {e}"));
                let want: Vec<User> = case["rows"]
                    .as_array()
                    .expect("rows")
                    .iter()
                    .map(user_from)
                    .collect();
                assert_eq!(parsed.data.users, want, "{file}");
                let skipped = case["skipped"].as_u64().expect("skipped");
                assert_eq!(parsed.data.rows_skipped, skipped, "{file}");
                assert_eq!(parsed.skipped.len() as u64, skipped, "{file}");
                if let Some(first) = want.first() {
                    let arn_account = first.arn.split(':').nth(4).unwrap();
                    assert_eq!(parsed.data.account_id, arn_account, "{file}");
                }
            }
            Some("error") => assert!(result.is_err(), "{file} must not parse"),
            other => panic!("{file}: unknown outcome {other:?}"),
        }
    }
}

#[test]
fn header_only_report_leaves_the_account_to_the_caller() {
    // moto's report of an account without users has no rows (and no root
    // row); the refresher names such an account from its target.
    let bytes = std::fs::read(fixtures().join("header_only.csv")).unwrap();
    let parsed = parse_report(&bytes).unwrap();
    assert!(parsed.data.users.is_empty());
    assert_eq!(parsed.data.account_id, "");
}

#[test]
fn skipped_rows_say_why() {
    let bytes = std::fs::read(fixtures().join("truncated_row.csv")).unwrap();
    let parsed = parse_report(&bytes).unwrap();
    let reasons: Vec<String> = parsed
        .skipped
        .iter()
        .map(|(line, e)| format!("line {line}: {e}"))
        .collect();
    assert_eq!(
        reasons,
        [
            "line 3: row has 9 fields, header has 22",
            "line 5: row has 24 fields, header has 22"
        ]
    );
}

#[test]
fn garbage_is_rejected_with_a_clear_error() {
    let bytes = std::fs::read(fixtures().join("garbage.txt")).unwrap();
    let err = parse_report(&bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "credential report header lacks required column \"user\""
    );
    assert_eq!(parse_report(b"").unwrap_err(), ReportParseError::Empty);
    assert_eq!(
        parse_report(b"\xEF\xBB\xBF\r\n").unwrap_err(),
        ReportParseError::Empty
    );
}

#[test]
fn shipped_example_parses_without_skipping_rows() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/credential-report.csv"
    );
    let parsed = parse_report(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(parsed.data.account_id, "123456789012");
    assert_eq!(parsed.data.users.len(), 22);
    assert_eq!(parsed.data.rows_skipped, 0);
    assert_eq!(parsed.data.users[0].name, "<root_account>");
    let keys: Vec<_> = parsed.data.users.iter().flat_map(|u| &u.keys).collect();
    assert_eq!(keys.len(), 18);
    assert_eq!(keys.iter().filter(|k| k.active).count(), 14);
}
