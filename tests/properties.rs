//! Property tests of bad input: the credential report parser never panics on
//! arbitrary bytes, and any user name or label value survives the trip from
//! the CSV through the exposition and back through the Python reference
//! parsers (`prometheus_client`), in both the text and OpenMetrics formats.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::exporter::python;
use common::synthetic::HEADER;
use iam_credentials_exporter::aws::ApiMetrics;
use iam_credentials_exporter::metrics::{self, format::Format};
use iam_credentials_exporter::model::{AccessKey, AccountData, LastUsed, User};
use iam_credentials_exporter::refresh::{AccountState, Snapshot, Store};
use iam_credentials_exporter::report::parse_report;
use proptest::prelude::*;
use serde_json::Value;

const ACCOUNT: &str = "123456789012";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_invariants(&bytes);
    }

    #[test]
    fn arbitrary_rows_under_a_valid_header_never_panic_the_parser(
        rows in prop::collection::vec(prop::collection::vec(field(), 0..26), 0..8),
        separators in prop::collection::vec(prop::sample::select(vec!["\n", "\r\n", "\r", ""]), 12),
    ) {
        let mut report = format!("{HEADER}\n");
        for (row, sep) in rows.iter().zip(&separators) {
            report.push_str(&row.join(","));
            report.push_str(sep);
        }
        check_invariants(report.as_bytes());
    }
}

/// Field values that reach every branch of the row parser: valid and broken
/// dates, booleans, AWS's placeholders, quotes, and arbitrary text.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "true",
            "FALSE",
            "N/A",
            "not_supported",
            "no_information",
            "2025-03-14T09:21:07+00:00",
            "2024-02-29T23:59:60Z",
            "2025-02-29T00:00:00Z",
            "9999-12-31T23:59:59-23:59",
            "0000-01-01T00:00:00+23:59",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::210987654321:user/y",
            "\"",
            "\"a,b\"",
            "",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,12}",
        any::<String>(),
    ]
}

fn check_invariants(bytes: &[u8]) {
    let Ok(parsed) = parse_report(bytes) else {
        return;
    };
    assert_eq!(parsed.data.rows_skipped, parsed.skipped.len() as u64);
    for user in &parsed.data.users {
        assert!(!user.name.is_empty());
        assert!(user.keys.len() <= 2);
        let slots: BTreeSet<u8> = user.keys.iter().map(|k| k.slot).collect();
        assert_eq!(slots.len(), user.keys.len());
        assert!(slots.iter().all(|s| matches!(s, 1 | 2)));
    }
}

/// Names built to hurt: the escapes of both formats, CSV quoting, line
/// breaks of every kind, and arbitrary Unicode.
fn name() -> impl Strategy<Value = String> {
    let nasty = prop::sample::select(vec![
        '\\', '"', '\n', '\r', '\t', ',', '=', '{', '}', '#', ' ', 'a', 'Z', '0', '.', '@', '+',
        'é', '😀', '\u{0}', '\u{7f}', '\u{85}', '\u{feff}', '\u{2028}', '\u{1c}', '\u{b}',
    ]);
    prop_oneof![
        "[A-Za-z0-9+=,.@_-]{1,64}",
        prop::collection::vec(nasty, 1..16).prop_map(String::from_iter),
        prop::collection::vec(any::<char>(), 1..24).prop_map(String::from_iter),
    ]
}

proptest! {
    // Each case is 256 names (or up to 8 x 48 series) and two Python parses.
    #![proptest_config(ProptestConfig::with_cases(10))]

    /// 256 names a case: written as AWS would quote them, parsed, exposed,
    /// and read back by the reference parsers.
    #[test]
    fn user_names_round_trip_through_csv_and_both_expositions(
        names in prop::collection::vec(name(), 256),
    ) {
        // IAM user names are unique; so are they here, once trimmed.
        let mut seen = BTreeSet::new();
        let names: Vec<String> = names.into_iter().filter(|n| seen.insert(n.trim().to_owned())).collect();
        let report = csv_report(&names);
        let parsed = parse_report(report.as_bytes()).expect("a valid report");
        // The parser trims values, and a row without a name is skipped.
        let expected: BTreeSet<String> = names
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect();
        let got: BTreeSet<String> = parsed.data.users.iter().map(|u| u.name.clone()).collect();
        prop_assert_eq!(&got, &expected);

        let state = AccountState {
            key: ACCOUNT.into(),
            account_id: ACCOUNT.into(),
            data: Some(Arc::new(parsed.data)),
            success: true,
            last_success: Some(1_700_000_000),
            attempts: 1,
            ..AccountState::default()
        };
        for format in [Format::Text, Format::OpenMetrics] {
            let samples = exposed(vec![state.clone()], format);
            let users: BTreeSet<String> = samples
                .iter()
                .filter(|(name, _)| name == "aws_iam_user_info")
                .map(|(_, labels)| labels["user"].clone())
                .collect();
            prop_assert_eq!(&users, &expected, "{:?}", format);
            for (name, labels) in &samples {
                if name == "aws_iam_user_info" {
                    prop_assert_eq!(
                        &labels["arn"],
                        &format!("arn:aws:iam::{ACCOUNT}:user/{}", labels["user"])
                    );
                    prop_assert_eq!(&labels["account_id"], ACCOUNT);
                }
            }
        }
    }

    /// Every label the exporter writes takes any string: account ids and
    /// account names (from AWS Organizations), users, regions and services
    /// of last use.
    #[test]
    fn any_label_value_round_trips_through_both_expositions(
        accounts in prop::collection::btree_map(name(), name(), 1..8),
        users in prop::collection::btree_map(name(), (name(), name()), 1..48),
    ) {
        let states: Vec<AccountState> = accounts
            .iter()
            .map(|(account, account_name)| AccountState {
                key: account.clone(),
                account_id: account.clone(),
                name: account_name.clone(),
                data: Some(Arc::new(AccountData {
                    account_id: account.clone(),
                    users: users.iter().map(|(name, (region, service))| user(name, region, service)).collect(),
                    ..AccountData::default()
                })),
                success: true,
                attempts: 1,
                ..AccountState::default()
            })
            .collect();
        let mut expected = BTreeSet::new();
        for account in accounts.keys() {
            for (name, (region, service)) in &users {
                expected.insert(vec![account.clone(), name.clone(), region.clone(), service.clone()]);
            }
        }
        for format in [Format::Text, Format::OpenMetrics] {
            let samples = exposed(states.clone(), format);
            let got: BTreeSet<Vec<String>> = samples
                .iter()
                .filter(|(name, _)| name == "aws_iam_access_key_last_used_info")
                .map(|(_, l)| {
                    ["account_id", "user", "last_used_region", "last_used_service"]
                        .iter()
                        .map(|k| l[*k].clone())
                        .collect()
                })
                .collect();
            prop_assert_eq!(&got, &expected, "{:?}", format);
            let successes: BTreeSet<String> = samples
                .iter()
                .filter(|(name, _)| name == "aws_iam_exporter_account_refresh_success")
                .map(|(_, l)| l["account_id"].clone())
                .collect();
            let ids: BTreeSet<String> = accounts.keys().cloned().collect();
            prop_assert_eq!(&successes, &ids);
            let names: BTreeMap<String, String> = samples
                .iter()
                .filter(|(name, _)| name == "aws_iam_account_info")
                .map(|(_, l)| (l["account_id"].clone(), l["account_name"].clone()))
                .collect();
            prop_assert_eq!(&names, &accounts);
        }
    }
}

fn user(name: &str, region: &str, service: &str) -> User {
    User {
        name: name.to_owned(),
        arn: format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
        created: Some(1_600_000_000),
        keys: vec![AccessKey {
            slot: 1,
            active: true,
            created: Some(1_600_000_000),
            last_used: Some(LastUsed {
                at: 1_650_000_000,
                region: region.to_owned(),
                service: service.to_owned(),
            }),
            ..AccessKey::default()
        }],
        ..User::default()
    }
}

/// A credential report with one row per name, every field quoted.
fn csv_report(names: &[String]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new());
    writer.write_record(HEADER.split(',')).unwrap();
    for name in names {
        let arn = format!("arn:aws:iam::{ACCOUNT}:user/{}", name.trim());
        let mut row = vec![
            name.as_str(),
            &arn,
            "2024-01-15T08:00:00+00:00",
            "false",
            "N/A",
            "N/A",
            "N/A",
            "false",
        ];
        row.extend(["true", "2024-02-01T00:00:00+00:00", "N/A", "N/A", "N/A"]);
        row.extend(["false", "N/A", "N/A", "N/A", "N/A"]);
        row.extend(["false", "N/A", "false", "N/A"]);
        writer.write_record(&row).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// Encodes `accounts` as the exporter would serve them and returns the
/// samples the reference parser reads back: (sample name, labels).
fn exposed(accounts: Vec<AccountState>, format: Format) -> Vec<(String, BTreeMap<String, String>)> {
    let store = Arc::new(Store::default());
    store.publish(Snapshot::new(accounts));
    let exposition = metrics::Exposition::new(
        store,
        Arc::new(|| 1_700_000_000),
        Duration::from_secs(300),
        &ApiMetrics::default(),
    );
    let body = exposition
        .render(&exposition.snapshot(), format)
        .expect("encode");
    let parsed = reference_parser().lock().unwrap().parse(format, &body);
    let samples = match parsed {
        Ok(samples) => samples,
        Err(e) => panic!("reference parser rejected the {format:?} exposition: {e}\n{body}"),
    };
    samples
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let labels = s[1]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            (s[0].as_str().unwrap().to_owned(), labels)
        })
        .collect()
}

/// One Python process for the whole test binary: starting `prometheus_client`
/// costs far more than parsing a document.
fn reference_parser() -> &'static Mutex<ReferenceParser> {
    static PARSER: OnceLock<Mutex<ReferenceParser>> = OnceLock::new();
    PARSER.get_or_init(|| Mutex::new(ReferenceParser::start()))
}

const PARSER_SCRIPT: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families as text
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
src, out = sys.stdin.buffer, sys.stdout
while True:
    line = src.readline()
    if not line:
        break
    fmt, size = line.split()
    doc = src.read(int(size)).decode("utf-8")
    try:
        parse = openmetrics if fmt == b"openmetrics" else text
        samples = [[s.name, s.labels] for f in parse(doc) for s in f.samples]
        out.write(json.dumps({"samples": samples}) + "\n")
    except Exception as e:
        out.write(json.dumps({"error": repr(e)}) + "\n")
    out.flush()
"#;

/// The Python reference parsers behind a pipe. The process ends when the
/// test binary does (its stdin closes).
struct ReferenceParser {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl ReferenceParser {
    fn start() -> ReferenceParser {
        let mut child = Command::new(python())
            .args(["-c", PARSER_SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the Python reference parser; run scripts/install-test-deps.sh");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        ReferenceParser {
            _child: child,
            stdin,
            stdout,
        }
    }

    fn parse(&mut self, format: Format, body: &str) -> Result<Value, String> {
        let name = match format {
            Format::Text => "text",
            Format::OpenMetrics => "openmetrics",
        };
        write!(self.stdin, "{name} {}\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let mut answer: Value = serde_json::from_str(&line).expect("parser answer");
        match answer.get("error") {
            Some(e) => Err(e.to_string()),
            None => Ok(answer["samples"].take()),
        }
    }
}
