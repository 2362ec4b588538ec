//! Structure-aware report fuzzing: a valid header in AWS's column order and
//! rows of arbitrary Unicode fields, written with proper CSV quoting, so that
//! every input reaches the field parsers instead of failing on the header.
#![no_main]

use arbitrary::Arbitrary;

/// Values that steer the fuzzer to every branch of the field parsers.
#[derive(Debug, Arbitrary)]
enum Field {
    Text(String),
    Placeholder(u8),
    Date {
        year: u16,
        month: u8,
        day: u8,
        time: (u8, u8, u8),
        suffix: String,
    },
    UserArn(String),
    Bool(bool, bool),
}

const HEADER: [&str; 22] = [
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

impl Field {
    fn render(&self) -> String {
        match self {
            Field::Text(s) => s.clone(),
            Field::Placeholder(n) => ["N/A", "not_supported", "no_information", "", "n/a", " N/A "]
                [*n as usize % 6]
                .to_owned(),
            Field::Date {
                year,
                month,
                day,
                time: (h, m, s),
                suffix,
            } => format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}{suffix}"),
            Field::UserArn(name) => format!("arn:aws:iam::123456789012:user/{name}"),
            Field::Bool(value, upper) => match (value, upper) {
                (true, false) => "true".into(),
                (true, true) => "TRUE".into(),
                (false, false) => "false".into(),
                (false, true) => "False".into(),
            },
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Report {
    /// Drop the header's last columns (AWS has added columns over time).
    columns: u8,
    rows: Vec<Vec<Field>>,
    crlf: bool,
    final_newline: bool,
}

libfuzzer_sys::fuzz_target!(|report: Report| {
    let width = HEADER.len() - usize::from(report.columns) % 5;
    let mut writer = csv::WriterBuilder::new()
        .terminator(if report.crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        .flexible(true)
        .from_writer(Vec::new());
    writer.write_record(&HEADER[..width]).unwrap();
    for row in &report.rows {
        writer.write_record(row.iter().map(Field::render)).unwrap();
    }
    let mut bytes = writer.into_inner().unwrap();
    if !report.final_newline {
        while bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
            bytes.pop();
        }
    }
    iam_credentials_exporter_fuzz::check_report(&bytes);
});
