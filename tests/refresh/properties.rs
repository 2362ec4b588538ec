//! Property tests of bad input: the credential report parser never panics on
//! arbitrary bytes, and any user name or label value survives the trip from
//! the CSV through the exposition and back through the Python reference
//! parsers (`prometheus_client`), in both the text and OpenMetrics formats.
//!
//! Generated reports put arbitrary Unicode (not only ASCII) in every field:
//! user names, ARNs, dates, booleans, regions, services and the columns the
//! exporter does not read. Good rows must be kept with exactly the values
//! written; a row with one bad field (not a date, not a boolean, not UTF-8,
//! a blank name, another account) must be skipped and counted under the
//! column at fault, and the account must keep its health series.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::exporter::python;
use common::synthetic::HEADER;
use iam_credentials_exporter::aws::ApiMetrics;
use iam_credentials_exporter::exposition::Format;
use iam_credentials_exporter::metrics;
use iam_credentials_exporter::model::{AccessKey, AccountData, LastUsed, SigningCertificate, User};
use iam_credentials_exporter::report::parse::RowError;
use iam_credentials_exporter::report::{ReportParseError, parse_report};
use iam_credentials_exporter::snapshot::{AccountState, Snapshot, Store};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::Value;

const ACCOUNT: &str = "123456789012";

/// `cases` cases, with the seeds of past failures read from and written to
/// `properties.proptest-regressions` next to this file. (proptest's default
/// would use `tests/proptest-regressions/properties.txt`, since this
/// directory holds a `main.rs`.)
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::with_cases(cases)
    }
}

proptest! {
    #![proptest_config(config(256))]

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
    #![proptest_config(config(10))]

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
    exposed_values(accounts, format)
        .into_iter()
        .map(|(name, labels, _)| (name, labels))
        .collect()
}

/// Like [`exposed`], with each sample's value.
fn exposed_values(
    accounts: Vec<AccountState>,
    format: Format,
) -> Vec<(String, BTreeMap<String, String>, f64)> {
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
            (
                s[0].as_str().unwrap().to_owned(),
                labels,
                s[2].as_f64().unwrap(),
            )
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
        samples = [[s.name, s.labels, s.value] for f in parse(doc) for s in f.samples]
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

// ---------------------------------------------------------------------------
// Generated reports: arbitrary Unicode in every field.
//
// A report is generated as rows of known content, each either good or with
// exactly one bad field. The parser must keep every good row with exactly the
// values written, skip and count every bad row (naming the bad column), and
// the kept users must come out of both expositions as written.
// ---------------------------------------------------------------------------

/// Another account, for rows that do not belong in the report.
const OTHER_ACCOUNT: &str = "210987654321";

/// The columns of a credential report, in AWS's order.
const COLUMNS: [&str; 22] = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

fn column(name: &str) -> usize {
    COLUMNS.iter().position(|c| *c == name).unwrap()
}

/// Whitespace that `str::trim` removes, ASCII and not.
const SPACES: [char; 8] = [
    ' ', '\t', '\u{a0}', '\u{85}', '\u{2028}', '\u{3000}', '\u{200a}', '\u{b}',
];

/// Up to two characters of Unicode whitespace.
fn padding() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(SPACES.to_vec()), 0..3).prop_map(String::from_iter)
}

/// Any text: weighted toward non-ASCII, whitespace and the metacharacters of
/// CSV and of both expositions, and sometimes empty.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => name(),
        1 => Just(String::new()),
        1 => prop::collection::vec(prop::sample::select(SPACES.to_vec()), 1..4).prop_map(String::from_iter),
    ]
}

/// How AWS (or someone) says "nothing here", as the parser must recognise it.
fn placeholder() -> impl Strategy<Value = String> {
    (
        padding(),
        prop::sample::select(vec![
            "N/A",
            "n/a",
            "not_supported",
            "Not_Supported",
            "no_information",
            "",
        ]),
        padding(),
    )
        .prop_map(|(a, p, b)| format!("{a}{p}{b}"))
}

/// True when `value` is, once trimmed, one of the report's "no value" words.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.is_empty()
        || ["n/a", "not_supported", "no_information"]
            .iter()
            .any(|p| v.to_ascii_lowercase() == *p)
}

/// A valid date-time: its text (any offset, fraction and case, padded with
/// Unicode whitespace) and the Unix time it stands for.
fn date() -> impl Strategy<Value = (String, i64)> {
    (
        0i64..4_102_444_800,
        -1439i64..=1439,
        prop::sample::select(vec!['T', 't', ' ']),
        prop::sample::select(vec!["", ".0", ".123", ".999999999"]),
        0..4u8,
        padding(),
        padding(),
    )
        .prop_map(|(secs, offset, sep, fraction, zone, before, after)| {
            let utc = |t: i64| iam_credentials_exporter::time::format_rfc3339(t);
            let (local, suffix) = match zone {
                0 => (secs, String::from("Z")),
                1 => (secs, String::from("z")),
                2 => (secs, String::new()),
                _ => {
                    let (sign, abs) = if offset < 0 {
                        ('-', -offset)
                    } else {
                        ('+', offset)
                    };
                    (
                        secs + offset * 60,
                        format!("{sign}{:02}:{:02}", abs / 60, abs % 60),
                    )
                }
            };
            let text = utc(local);
            let text = format!(
                "{before}{}{sep}{}{fraction}{suffix}{after}",
                &text[..10],
                &text[11..19]
            );
            (text, secs)
        })
}

/// Text that is not a date-time: a valid one with a character replaced by
/// non-ASCII, impossible values, or any text with a character no date has.
fn bad_date() -> impl Strategy<Value = String> {
    let not_ascii = any::<char>().prop_filter("non-ASCII, not whitespace", |c| {
        !c.is_ascii() && !c.is_whitespace()
    });
    prop_oneof![
        (date(), any::<prop::sample::Index>(), not_ascii).prop_map(|((text, _), at, c)| {
            let mut chars: Vec<char> = text.trim().chars().collect();
            let at = at.index(chars.len());
            chars[at] = c;
            String::from_iter(chars)
        }),
        prop::sample::select(vec![
            "2025-13-01T00:00:00Z",
            "2025-02-29T00:00:00+00:00",
            "2025-04-31T00:00:00Z",
            "2025-03-14T24:00:00Z",
            "2025-03-14T09:60:00Z",
            "2025-03-14T09:21:07+24:00",
            "2025-03-14T09:21:07+0000",
            "2025-03-14T09:21:07.Z",
            "2025-03-14",
            "２０２５-03-14T09:21:07Z",
            "2025-03-14T09:21:0é+00:00",
            "2025-03-14T09:21:07+٠٠:00",
            "yesterday",
        ])
        .prop_map(str::to_owned),
        any::<String>().prop_filter("has a character no date has", |s| {
            let t = s.trim();
            !is_placeholder(t)
                && t.chars()
                    .any(|c| !c.is_ascii_digit() && !"-:+.TtZz ".contains(c))
        }),
    ]
}

/// A valid boolean in any ASCII case, padded.
fn boolean() -> impl Strategy<Value = (String, bool)> {
    (any::<bool>(), any::<[bool; 5]>(), padding(), padding()).prop_map(|(value, upper, a, b)| {
        let word: String = (if value { "true" } else { "false" })
            .chars()
            .zip(upper)
            .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
            .collect();
        (format!("{a}{word}{b}"), value)
    })
}

/// Text that is not a boolean: look-alikes and any other text.
fn bad_boolean() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "yes",
            "1",
            "0",
            "truе",
            "ｔｒｕｅ",
            "fałse",
            "TRUE!",
            "t",
            "tru e",
        ])
        .prop_map(str::to_owned),
        any::<String>().prop_filter("not a boolean or a placeholder", |s| {
            let t = s.trim().to_ascii_lowercase();
            !is_placeholder(&t) && t != "true" && t != "false"
        }),
    ]
}

/// One access key slot as written.
#[derive(Debug, Clone)]
struct KeyCells {
    active: (String, bool),
    rotated: Option<(String, i64)>,
    used: Option<(String, i64)>,
    region: String,
    service: String,
    /// Placeholders written where a date is absent.
    no_rotated: String,
    no_used: String,
}

impl KeyCells {
    /// The report holds a key in this slot unless it is inactive and was never rotated.
    fn present(&self) -> bool {
        self.active.1 || self.rotated.is_some()
    }
}

fn key_cells() -> impl Strategy<Value = KeyCells> {
    (
        boolean(),
        prop::option::of(date()),
        prop::option::of(date()),
        prop_oneof![any_text(), placeholder()],
        prop_oneof![any_text(), placeholder()],
        placeholder(),
        placeholder(),
    )
        .prop_map(
            |(active, rotated, used, region, service, no_rotated, no_used)| KeyCells {
                active,
                rotated,
                used,
                region,
                service,
                no_rotated,
                no_used,
            },
        )
}

/// A signing certificate slot as written.
#[derive(Debug, Clone)]
struct CertCells {
    active: (String, bool),
    rotated: Option<(String, i64)>,
    no_rotated: String,
}

impl CertCells {
    /// The same rule as for a key slot.
    fn present(&self) -> bool {
        self.active.1 || self.rotated.is_some()
    }
}

fn cert_cells() -> impl Strategy<Value = CertCells> {
    (boolean(), prop::option::of(date()), placeholder()).prop_map(
        |(active, rotated, no_rotated)| CertCells {
            active,
            rotated,
            no_rotated,
        },
    )
}

/// One good row as written, cell by cell.
#[derive(Debug, Clone)]
struct RowCells {
    name: String,
    /// The part of the ARN after `user/`: any path and name.
    arn_tail: String,
    created: (String, i64),
    password_enabled: Option<(String, bool)>,
    password_last_used: Option<(String, i64)>,
    password_last_changed: Option<(String, i64)>,
    mfa_active: Option<(String, bool)>,
    keys: [KeyCells; 2],
    certs: [CertCells; 2],
    /// The column the exporter does not read (`password_next_rotation`):
    /// anything goes in it.
    unread: String,
    /// Placeholders written where a value is absent.
    none: [String; 5],
}

fn row_cells() -> impl Strategy<Value = RowCells> {
    (
        (name(), any_text(), date()),
        (
            prop::option::of(boolean()),
            prop::option::of(date()),
            prop::option::of(date()),
            prop::option::of(boolean()),
        ),
        ([key_cells(), key_cells()], [cert_cells(), cert_cells()]),
        any_text(),
        prop::array::uniform5(placeholder()),
    )
        .prop_map(
            |(
                (name, arn_tail, created),
                (enabled, used, changed, mfa),
                (keys, certs),
                unread,
                none,
            )| {
                RowCells {
                    name,
                    arn_tail,
                    created,
                    password_enabled: enabled,
                    password_last_used: used,
                    password_last_changed: changed,
                    mfa_active: mfa,
                    keys,
                    certs,
                    unread,
                    none,
                }
            },
        )
}

impl RowCells {
    fn arn(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:user/{}", self.arn_tail)
    }

    /// The row's cells as bytes, in [`COLUMNS`] order.
    fn cells(&self) -> Vec<Vec<u8>> {
        fn opt<T>(v: &Option<(String, T)>, none: &str) -> String {
            v.as_ref()
                .map_or_else(|| none.to_owned(), |(t, _)| t.clone())
        }
        let mut cells = vec![
            self.name.clone(),
            self.arn(ACCOUNT),
            self.created.0.clone(),
            opt(&self.password_enabled, &self.none[0]),
            opt(&self.password_last_used, &self.none[1]),
            opt(&self.password_last_changed, &self.none[2]),
            self.unread.clone(),
            opt(&self.mfa_active, &self.none[3]),
        ];
        for key in &self.keys {
            cells.extend([
                key.active.0.clone(),
                opt(&key.rotated, &key.no_rotated),
                opt(&key.used, &key.no_used),
                key.region.clone(),
                key.service.clone(),
            ]);
        }
        for cert in &self.certs {
            cells.extend([cert.active.0.clone(), opt(&cert.rotated, &cert.no_rotated)]);
        }
        cells.into_iter().map(String::into_bytes).collect()
    }

    /// The user the parser must make of this row.
    fn user(&self) -> User {
        let keys = self
            .keys
            .iter()
            .zip(1u8..)
            .filter(|(k, _)| k.present())
            .map(|(k, slot)| AccessKey {
                slot,
                id: String::new(),
                active: k.active.1,
                created: k.rotated.as_ref().map(|(_, t)| *t),
                last_used: k.used.as_ref().map(|(_, at)| LastUsed {
                    at: *at,
                    region: value_of(&k.region),
                    service: value_of(&k.service),
                }),
                usage_unknown: false,
            })
            .collect();
        User {
            name: self.name.trim().to_owned(),
            arn: self.arn(ACCOUNT).trim().to_owned(),
            created: Some(self.created.1),
            password_enabled: self.password_enabled.as_ref().map(|(_, v)| *v),
            password_last_used: self.password_last_used.as_ref().map(|(_, t)| *t),
            password_last_changed: self.password_last_changed.as_ref().map(|(_, t)| *t),
            mfa_active: self.mfa_active.as_ref().map(|(_, v)| *v),
            keys,
            signing_certificates: self
                .certs
                .iter()
                .zip(1u8..)
                .filter(|(c, _)| c.present())
                .map(|(c, slot)| SigningCertificate {
                    slot,
                    active: c.active.1,
                    created: c.rotated.as_ref().map(|(_, t)| *t),
                })
                .collect(),
        }
    }

    /// The columns the parser reads for this row, where a bad value must
    /// skip the row. Dates of last use, regions and services are only read
    /// for a key that is there, and regions and services only when it was used.
    fn read_columns(&self) -> Vec<&'static str> {
        let mut read = vec![
            "user",
            "arn",
            "user_creation_time",
            "password_enabled",
            "password_last_used",
            "password_last_changed",
            "mfa_active",
        ];
        let slots: [[&'static str; 5]; 2] = [
            [
                "access_key_1_active",
                "access_key_1_last_rotated",
                "access_key_1_last_used_date",
                "access_key_1_last_used_region",
                "access_key_1_last_used_service",
            ],
            [
                "access_key_2_active",
                "access_key_2_last_rotated",
                "access_key_2_last_used_date",
                "access_key_2_last_used_region",
                "access_key_2_last_used_service",
            ],
        ];
        for (key, names) in self.keys.iter().zip(slots) {
            read.extend(&names[..2]);
            if key.present() {
                read.push(names[2]);
                if key.used.is_some() {
                    read.extend(&names[3..]);
                }
            }
        }
        read.extend([
            "cert_1_active",
            "cert_1_last_rotated",
            "cert_2_active",
            "cert_2_last_rotated",
        ]);
        read
    }
}

/// What the parser keeps of a free-text cell.
fn value_of(cell: &str) -> String {
    if is_placeholder(cell) {
        String::new()
    } else {
        cell.trim().to_owned()
    }
}

/// The one thing wrong with a bad row.
#[derive(Debug, Clone)]
enum Fault {
    /// A date column that is not a date.
    Date(prop::sample::Index, String),
    /// A boolean column that is not a boolean.
    Boolean(prop::sample::Index, String),
    /// Any column the parser reads, with bytes that are not UTF-8.
    NotUtf8(prop::sample::Index, Vec<u8>, prop::sample::Index),
    /// A user name that is only whitespace.
    NoName(String),
    /// A user of another account.
    ForeignAccount,
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        (any::<prop::sample::Index>(), bad_date()).prop_map(|(i, v)| Fault::Date(i, v)),
        (any::<prop::sample::Index>(), bad_boolean()).prop_map(|(i, v)| Fault::Boolean(i, v)),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 0..8),
            any::<prop::sample::Index>()
        )
            .prop_map(|(i, b, at)| Fault::NotUtf8(i, b, at)),
        padding().prop_map(Fault::NoName),
        Just(Fault::ForeignAccount),
    ]
}

/// Why the parser must skip a row.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Skip {
    Column(String),
    ForeignAccount,
}

impl Fault {
    /// Writes the fault into `cells` and says which skip it must cause.
    fn apply(&self, row: &RowCells, cells: &mut [Vec<u8>]) -> Skip {
        let read = row.read_columns();
        let pick = |names: &[&'static str], i: &prop::sample::Index| {
            let names: Vec<_> = names.iter().filter(|n| read.contains(n)).copied().collect();
            names[i.index(names.len())]
        };
        match self {
            Fault::Date(i, value) => {
                let name = pick(
                    &[
                        "user_creation_time",
                        "password_last_used",
                        "password_last_changed",
                        "access_key_1_last_rotated",
                        "access_key_1_last_used_date",
                        "access_key_2_last_rotated",
                        "access_key_2_last_used_date",
                        "cert_1_last_rotated",
                        "cert_2_last_rotated",
                    ],
                    i,
                );
                cells[column(name)] = value.clone().into_bytes();
                Skip::Column(name.into())
            }
            Fault::Boolean(i, value) => {
                let name = pick(
                    &[
                        "password_enabled",
                        "mfa_active",
                        "access_key_1_active",
                        "access_key_2_active",
                        "cert_1_active",
                        "cert_2_active",
                    ],
                    i,
                );
                cells[column(name)] = value.clone().into_bytes();
                Skip::Column(name.into())
            }
            Fault::NotUtf8(i, bytes, at) => {
                let name = read[i.index(read.len())];
                let cell = &mut cells[column(name)];
                // A lone continuation byte, or a lead byte cut short, is never UTF-8.
                let mut bad = bytes.clone();
                bad.insert(at.index(bad.len() + 1), 0x80);
                bad.push(0xE2);
                let at = cell.len() / 2;
                cell.splice(at..at, bad);
                Skip::Column(name.into())
            }
            Fault::NoName(space) => {
                cells[column("user")] = space.clone().into_bytes();
                Skip::Column("user".into())
            }
            Fault::ForeignAccount => {
                cells[column("arn")] = row.arn(OTHER_ACCOUNT).into_bytes();
                Skip::ForeignAccount
            }
        }
    }
}

/// A generated report: rows, each good or with one fault.
#[derive(Debug, Clone)]
struct GeneratedReport {
    rows: Vec<(RowCells, Option<Fault>)>,
    quote_always: bool,
    crlf: bool,
    final_newline: bool,
    bom: bool,
}

fn generated_report() -> impl Strategy<Value = GeneratedReport> {
    (
        prop::collection::vec((row_cells(), prop::option::weighted(0.35, fault())), 0..10),
        any::<[bool; 4]>(),
    )
        .prop_map(|(mut rows, [quote_always, crlf, final_newline, bom])| {
            // IAM user names are unique, and never blank.
            let mut seen = BTreeSet::new();
            for (i, (row, _)) in rows.iter_mut().enumerate() {
                if row.name.trim().is_empty() {
                    row.name.push_str(&format!("u{i}"));
                }
                if !seen.insert(row.name.trim().to_owned()) {
                    row.name = format!("{}#{i}", row.name);
                    seen.insert(row.name.trim().to_owned());
                }
            }
            // The report's account is that of its first good row: another
            // account's row before it would make every later row foreign.
            let first_good = rows.iter().position(|(_, f)| f.is_none());
            for (i, (_, fault)) in rows.iter_mut().enumerate() {
                if matches!(fault, Some(Fault::ForeignAccount)) && first_good.is_none_or(|g| i < g)
                {
                    *fault = Some(Fault::NoName(String::new()));
                }
            }
            GeneratedReport {
                rows,
                quote_always,
                crlf,
                final_newline,
                bom,
            }
        })
}

impl GeneratedReport {
    /// The CSV bytes, and per row the skip it must cause (`None`: kept).
    fn write(&self) -> (Vec<u8>, Vec<Option<Skip>>) {
        let mut writer = csv::WriterBuilder::new()
            .quote_style(if self.quote_always {
                csv::QuoteStyle::Always
            } else {
                csv::QuoteStyle::Necessary
            })
            .terminator(if self.crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .from_writer(Vec::new());
        writer.write_record(COLUMNS).unwrap();
        let mut skips = Vec::new();
        for (row, fault) in &self.rows {
            let mut cells = row.cells();
            skips.push(fault.as_ref().map(|f| f.apply(row, &mut cells)));
            writer.write_record(&cells).unwrap();
        }
        let mut bytes = writer.into_inner().unwrap();
        if !self.final_newline {
            while bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
                bytes.pop();
            }
        }
        if self.bom {
            bytes.splice(0..0, *b"\xEF\xBB\xBF");
        }
        (bytes, skips)
    }
}

proptest! {
    // Each case parses one report and has both expositions read back by the
    // reference parsers; 96 cases take a few seconds in a debug build.
    #![proptest_config(config(96))]

    /// Every good row is kept with exactly the values written, every bad row
    /// is skipped and counted under the column at fault, and the kept users,
    /// their ARNs, regions and services, their signing certificates and the
    /// account's health come out of both expositions as written.
    #[test]
    fn generated_reports_keep_good_rows_and_count_bad_ones(report in generated_report()) {
        let (bytes, skips) = report.write();
        let expected: Vec<User> = report
            .rows
            .iter()
            .zip(&skips)
            .filter(|(_, skip)| skip.is_none())
            .map(|((row, _), _)| row.user())
            .collect();
        let want_skips: Vec<Skip> = skips.iter().flatten().cloned().collect();

        let parsed = match parse_report(&bytes) {
            Ok(parsed) => parsed,
            Err(ReportParseError::NoUsableRows(n)) => {
                prop_assert!(expected.is_empty(), "rejected a report with good rows");
                prop_assert_eq!(n, want_skips.len());
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("report rejected: {e}"))),
        };
        prop_assert_eq!(&parsed.data.users, &expected);
        prop_assert_eq!(parsed.data.rows_skipped, want_skips.len() as u64);
        let got_skips: Vec<Skip> = parsed
            .skipped
            .iter()
            .map(|(_, e)| match e {
                RowError::Field { column, .. } => Skip::Column(column.clone()),
                RowError::ForeignAccount { .. } => Skip::ForeignAccount,
                other => Skip::Column(format!("unexpected: {other}")),
            })
            .collect();
        prop_assert_eq!(&got_skips, &want_skips);
        let account = if expected.is_empty() { "" } else { ACCOUNT };
        prop_assert_eq!(parsed.data.account_id.as_str(), account);

        let state = AccountState {
            key: ACCOUNT.into(),
            account_id: ACCOUNT.into(),
            data: Some(Arc::new(parsed.data)),
            success: true,
            last_success: Some(1_700_000_000),
            attempts: 1,
            ..AccountState::default()
        };
        let want_users: BTreeSet<(String, String)> =
            expected.iter().map(|u| (u.name.clone(), u.arn.clone())).collect();
        let want_used: BTreeSet<(String, String, String, String)> = expected
            .iter()
            .flat_map(|u| {
                u.keys.iter().filter_map(|k| {
                    let used = k.last_used.as_ref()?;
                    Some((u.name.clone(), k.slot.to_string(), used.region.clone(), used.service.clone()))
                })
            })
            .collect();
        let want_certs: BTreeSet<(String, String, u64)> = expected
            .iter()
            .flat_map(|u| {
                u.signing_certificates
                    .iter()
                    .map(|c| (u.name.clone(), c.slot.to_string(), u64::from(c.active)))
            })
            .collect();
        for format in [Format::Text, Format::OpenMetrics] {
            let samples = exposed_values(vec![state.clone()], format);
            let of = |name: &'static str| samples.iter().filter(move |(n, _, _)| n == name);
            let users: BTreeSet<(String, String)> = of("aws_iam_user_info")
                .map(|(_, l, _)| (l["user"].clone(), l["arn"].clone()))
                .collect();
            prop_assert_eq!(&users, &want_users, "{:?}", format);
            let used: BTreeSet<(String, String, String, String)> = of("aws_iam_access_key_last_used_info")
                .map(|(_, l, _)| (
                    l["user"].clone(),
                    l["slot"].clone(),
                    l["last_used_region"].clone(),
                    l["last_used_service"].clone(),
                ))
                .collect();
            prop_assert_eq!(&used, &want_used, "{:?}", format);
            let certs: BTreeSet<(String, String, u64)> = of("aws_iam_signing_certificate_active")
                .map(|(_, l, v)| (l["user"].clone(), l["slot"].clone(), *v as u64))
                .collect();
            prop_assert_eq!(&certs, &want_certs, "{:?}", format);
            let health: Vec<(String, f64)> = of("aws_iam_exporter_account_refresh_success")
                .map(|(_, l, v)| (l["account_id"].clone(), *v))
                .collect();
            prop_assert_eq!(&health, &vec![(ACCOUNT.to_owned(), 1.0)], "{:?}", format);
            let skipped: Vec<f64> = of("aws_iam_exporter_report_rows_skipped").map(|(_, _, v)| *v).collect();
            prop_assert_eq!(&skipped, &vec![want_skips.len() as f64], "{:?}", format);
        }
    }
}
