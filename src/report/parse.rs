//! Parsing of the IAM credential report CSV.
//!
//! Columns are found by header name, never by position: AWS has added columns
//! over the years and may again. A row that cannot be understood is logged,
//! counted and skipped; only a report with no usable header fails as a whole,
//! so that one odd row never blanks an account.

use crate::model::{
    AccessKey, AccountData, LastUsed, SigningCertificate, User, account_from_arn, is_no_value,
    partition_from_arn,
};
use crate::time::parse_rfc3339;

/// Why a whole report could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportParseError {
    #[error("credential report is empty")]
    Empty,
    #[error("credential report header lacks required column {0:?}")]
    MissingColumn(&'static str),
    #[error("credential report is not valid CSV: {0}")]
    Csv(String),
    #[error("credential report is truncated: its last row has {found} of {expected} fields")]
    Truncated { expected: usize, found: usize },
    #[error("credential report has {0} rows and none could be parsed")]
    NoUsableRows(usize),
}

/// Why one row was skipped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RowError {
    #[error("row has {found} fields, header has {expected}")]
    FieldCount { expected: usize, found: usize },
    #[error("column {column}: {reason}")]
    Field { column: String, reason: String },
    #[error("user {user:?} belongs to account {found}, report is for {expected}")]
    ForeignAccount {
        user: String,
        expected: String,
        found: String,
    },
    /// IAM user names are unique in an account; a second row of the same
    /// name would export every series of that user twice.
    #[error("user {user:?} already appears on line {first_line}")]
    DuplicateUser { user: String, first_line: u64 },
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ParsedReport {
    pub data: AccountData,
    /// (1-based line number, reason) of each skipped row.
    pub skipped: Vec<(u64, RowError)>,
}

/// Parses a credential report as AWS returns it (base64-decoded).
///
/// The account id comes from the rows' ARNs; it stays empty for a report
/// without rows, and the caller then names the account.
pub fn parse_report(bytes: &[u8]) -> Result<ParsedReport, ReportParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ReportParseError::Empty);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = reader
        .byte_headers()
        .map_err(|e| ReportParseError::Csv(e.to_string()))?;
    let columns = Columns::find(header)?;
    let width = header.len();

    let mut rows = Rows::default();
    let mut record = csv::ByteRecord::new();
    let mut last_len = width;
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // A CSV-level error (bad quoting) leaves the reader able to go on.
                rows.skip(
                    line,
                    RowError::Field {
                        column: String::from("*"),
                        reason: e.to_string(),
                    },
                );
                continue;
            }
        }
        last_len = record.len();
        let row = match record.len() == width {
            true => columns.user(&record),
            false => Err(RowError::FieldCount {
                expected: width,
                found: record.len(),
            }),
        };
        if let Err(e) = row.and_then(|user| rows.accept(line, user)) {
            rows.skip(line, e);
        }
    }
    // A report cut off in transit ends in the middle of a row. AWS ends the
    // report without a final newline, so a short last row is the tell; a
    // short row elsewhere is only a malformed row.
    if last_len < width && !bytes.ends_with(b"\n") {
        return Err(ReportParseError::Truncated {
            expected: width,
            found: last_len,
        });
    }
    rows.finish()
}

/// The rows of one report as they are read: the users accepted, and the
/// rows left out with why.
#[derive(Default)]
struct Rows {
    parsed: ParsedReport,
    /// User name -> line of its row.
    seen: std::collections::HashMap<String, u64>,
}

impl Rows {
    /// Takes `user`, read at `line`, unless it belongs to another account
    /// than the rows before it, or repeats a user.
    fn accept(&mut self, line: u64, user: User) -> Result<(), RowError> {
        let data = &mut self.parsed.data;
        if let Some(account) = account_from_arn(&user.arn) {
            if data.account_id.is_empty() {
                data.account_id = account.to_owned();
                data.partition = partition_from_arn(&user.arn).unwrap_or_default().to_owned();
            } else if data.account_id != account {
                return Err(RowError::ForeignAccount {
                    user: user.name,
                    expected: data.account_id.clone(),
                    found: account.to_owned(),
                });
            }
        }
        if let Some(&first_line) = self.seen.get(&user.name) {
            return Err(RowError::DuplicateUser {
                user: user.name,
                first_line,
            });
        }
        self.seen.insert(user.name.clone(), line);
        data.users.push(user);
        Ok(())
    }

    fn skip(&mut self, line: u64, cause: RowError) {
        self.parsed.skipped.push((line, cause));
    }

    /// The report; an error when every row was left out.
    fn finish(mut self) -> Result<ParsedReport, ReportParseError> {
        if self.parsed.data.users.is_empty() && !self.parsed.skipped.is_empty() {
            return Err(ReportParseError::NoUsableRows(self.parsed.skipped.len()));
        }
        self.parsed.data.rows_skipped = self.parsed.skipped.len() as u64;
        Ok(self.parsed)
    }
}

/// Positions of the columns this exporter reads.
struct Columns {
    user: usize,
    arn: usize,
    user_creation_time: usize,
    password_enabled: Option<usize>,
    password_last_used: Option<usize>,
    password_last_changed: Option<usize>,
    mfa_active: Option<usize>,
    slots: [SlotColumns; 2],
    /// `cert_N_active`, `cert_N_last_rotated`: absent from old reports.
    certs: [(Option<usize>, Option<usize>); 2],
}

struct SlotColumns {
    active: Option<usize>,
    last_rotated: Option<usize>,
    last_used_date: Option<usize>,
    last_used_region: Option<usize>,
    last_used_service: Option<usize>,
}

impl Columns {
    fn find(header: &csv::ByteRecord) -> Result<Self, ReportParseError> {
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
        };
        let require = |name: &'static str| find(name).ok_or(ReportParseError::MissingColumn(name));
        let slot = |n: u8| SlotColumns {
            active: find(&format!("access_key_{n}_active")),
            last_rotated: find(&format!("access_key_{n}_last_rotated")),
            last_used_date: find(&format!("access_key_{n}_last_used_date")),
            last_used_region: find(&format!("access_key_{n}_last_used_region")),
            last_used_service: find(&format!("access_key_{n}_last_used_service")),
        };
        Ok(Self {
            user: require("user")?,
            arn: require("arn")?,
            user_creation_time: require("user_creation_time")?,
            password_enabled: find("password_enabled"),
            password_last_used: find("password_last_used"),
            password_last_changed: find("password_last_changed"),
            mfa_active: find("mfa_active"),
            slots: [slot(1), slot(2)],
            certs: [1, 2].map(|n| {
                (
                    find(&format!("cert_{n}_active")),
                    find(&format!("cert_{n}_last_rotated")),
                )
            }),
        })
    }

    fn user(&self, record: &csv::ByteRecord) -> Result<User, RowError> {
        let row = Row { record };
        let name = row.text(self.user, "user")?;
        if name.is_empty() {
            return Err(RowError::Field {
                column: "user".into(),
                reason: "empty user name".into(),
            });
        }
        let arn = row.text(self.arn, "arn")?;
        let mut keys = Vec::new();
        for (slot, cols) in (1u8..).zip(&self.slots) {
            if let Some(key) = row.key(slot, cols)? {
                keys.push(key);
            }
        }
        let mut signing_certificates = Vec::new();
        for (slot, &(active, last_rotated)) in (1u8..).zip(&self.certs) {
            if let Some(cert) = row.signing_certificate(slot, active, last_rotated)? {
                signing_certificates.push(cert);
            }
        }
        Ok(User {
            created: row.timestamp(Some(self.user_creation_time), "user_creation_time")?,
            password_enabled: row.boolean(self.password_enabled, "password_enabled")?,
            password_last_used: row.timestamp(self.password_last_used, "password_last_used")?,
            password_last_changed: row
                .timestamp(self.password_last_changed, "password_last_changed")?,
            mfa_active: row.boolean(self.mfa_active, "mfa_active")?,
            keys,
            signing_certificates,
            name,
            arn,
        })
    }
}

struct Row<'a> {
    record: &'a csv::ByteRecord,
}

impl Row<'_> {
    fn raw(&self, index: Option<usize>, column: &str) -> Result<Option<&str>, RowError> {
        let Some(index) = index else { return Ok(None) };
        let bytes = self.record.get(index).unwrap_or_default();
        let value = std::str::from_utf8(bytes)
            .map_err(|_| field_error(column, "not valid UTF-8"))?
            .trim();
        Ok(Some(value).filter(|v| !is_no_value(v)))
    }

    fn text(&self, index: usize, column: &str) -> Result<String, RowError> {
        let bytes = self.record.get(index).unwrap_or_default();
        std::str::from_utf8(bytes)
            .map(|s| s.trim().to_owned())
            .map_err(|_| field_error(column, "not valid UTF-8"))
    }

    fn boolean(&self, index: Option<usize>, column: &str) -> Result<Option<bool>, RowError> {
        self.raw(index, column)?
            .map(|v| {
                parse_bool(v).ok_or_else(|| field_error(column, &format!("{v:?} is not a boolean")))
            })
            .transpose()
    }

    fn timestamp(&self, index: Option<usize>, column: &str) -> Result<Option<i64>, RowError> {
        self.raw(index, column)?
            .map(|v| {
                parse_rfc3339(v)
                    .ok_or_else(|| field_error(column, &format!("{v:?} is not an ISO 8601 time")))
            })
            .transpose()
    }

    fn key(&self, slot: u8, cols: &SlotColumns) -> Result<Option<AccessKey>, RowError> {
        let column = |suffix: &str| format!("access_key_{slot}_{suffix}");
        let active = self.boolean(cols.active, &column("active"))?;
        let created = self.timestamp(cols.last_rotated, &column("last_rotated"))?;
        // An inactive slot that was never rotated holds no key.
        if !active.unwrap_or(false) && created.is_none() {
            return Ok(None);
        }
        let last_used = self
            .timestamp(cols.last_used_date, &column("last_used_date"))?
            .map(|at| -> Result<LastUsed, RowError> {
                Ok(LastUsed {
                    at,
                    region: self
                        .raw(cols.last_used_region, &column("last_used_region"))?
                        .unwrap_or_default()
                        .to_owned(),
                    service: self
                        .raw(cols.last_used_service, &column("last_used_service"))?
                        .unwrap_or_default()
                        .to_owned(),
                })
            })
            .transpose()?;
        Ok(Some(AccessKey {
            slot,
            id: String::new(),
            active: active.unwrap_or(false),
            created,
            last_used,
            usage_unknown: cols.last_used_date.is_none(),
        }))
    }
}

impl Row<'_> {
    /// The same rule as for an access key slot: an inactive slot that was
    /// never rotated holds no certificate (AWS writes `false` and `N/A`).
    fn signing_certificate(
        &self,
        slot: u8,
        active: Option<usize>,
        last_rotated: Option<usize>,
    ) -> Result<Option<SigningCertificate>, RowError> {
        let active = self.boolean(active, &format!("cert_{slot}_active"))?;
        let created = self.timestamp(last_rotated, &format!("cert_{slot}_last_rotated"))?;
        if !active.unwrap_or(false) && created.is_none() {
            return Ok(None);
        }
        Ok(Some(SigningCertificate {
            slot,
            active: active.unwrap_or(false),
            created,
        }))
    }
}

fn field_error(column: &str, reason: &str) -> RowError {
    RowError::Field {
        column: column.to_owned(),
        reason: reason.to_owned(),
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,mfa_active\n";

    #[test]
    fn a_report_cut_in_the_middle_of_its_last_row_is_rejected() {
        let cut = format!(
            "{HEADER}a,arn:aws:iam::111122223333:user/a,2025-01-01T00:00:00+00:00,true\nb,arn:aws:iam::111122223333:user/b"
        );
        assert_eq!(
            parse_report(cut.as_bytes()).unwrap_err(),
            ReportParseError::Truncated {
                expected: 4,
                found: 2
            }
        );
        // The same short row followed by a newline is one malformed row.
        let parsed = parse_report(format!("{cut}\n").as_bytes()).unwrap();
        assert_eq!((parsed.data.users.len(), parsed.data.rows_skipped), (1, 1));
    }

    #[test]
    fn a_report_whose_rows_all_fail_is_rejected() {
        let bad = format!("{HEADER}a,arn:aws:iam::111122223333:user/a,yesterday,true\n");
        assert_eq!(
            parse_report(bad.as_bytes()).unwrap_err(),
            ReportParseError::NoUsableRows(1)
        );
    }

    #[test]
    fn a_second_row_of_the_same_user_is_skipped() {
        let report = format!(
            "{HEADER}a,arn:aws:iam::111122223333:user/a,2025-01-01T00:00:00+00:00,true\n\
             a,arn:aws:iam::111122223333:user/a,2025-02-01T00:00:00+00:00,false\n\
             b,arn:aws:iam::111122223333:user/b,2025-01-01T00:00:00+00:00,true\n"
        );
        let parsed = parse_report(report.as_bytes()).unwrap();
        let names: Vec<&str> = parsed.data.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            parsed.data.users[0].mfa_active,
            Some(true),
            "the first row wins"
        );
        assert_eq!(
            parsed.skipped,
            [(
                3,
                RowError::DuplicateUser {
                    user: "a".into(),
                    first_line: 2
                }
            )]
        );
    }

    #[test]
    fn signing_certificate_slots_follow_the_access_key_rules() {
        let header = "user,arn,user_creation_time,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n";
        let row = |name: &str, certs: &str| {
            format!(
                "{name},arn:aws:iam::111122223333:user/{name},2025-01-01T00:00:00+00:00,{certs}\n"
            )
        };
        let report = [
            header.to_owned(),
            row("none", "false,N/A,false,N/A"),
            row("one", "true,2025-02-01T00:00:00+00:00,false,N/A"),
            row(
                "both",
                "false,2025-03-01T00:00:00Z,TRUE,2025-04-01T00:00:00+00:00",
            ),
            row("bad", "yes,N/A,false,N/A"),
            row("baddate", "true,last week,false,N/A"),
        ]
        .concat();
        let parsed = parse_report(report.as_bytes()).unwrap();
        type Slots = Vec<(u8, bool, Option<i64>)>;
        let certs: Vec<(&str, Slots)> = parsed
            .data
            .users
            .iter()
            .map(|u| {
                (
                    u.name.as_str(),
                    u.signing_certificates
                        .iter()
                        .map(|c| (c.slot, c.active, c.created))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            certs,
            [
                ("none", vec![]),
                ("one", vec![(1, true, Some(1_738_368_000))]),
                (
                    "both",
                    vec![
                        (1, false, Some(1_740_787_200)),
                        (2, true, Some(1_743_465_600))
                    ]
                ),
            ]
        );
        let columns: Vec<_> = parsed
            .skipped
            .iter()
            .map(|(line, e)| match e {
                RowError::Field { column, .. } => (*line, column.as_str()),
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(columns, [(5, "cert_1_active"), (6, "cert_1_last_rotated")]);
    }

    #[test]
    fn a_report_without_certificate_columns_has_no_certificates() {
        let report =
            format!("{HEADER}a,arn:aws:iam::111122223333:user/a,2025-01-01T00:00:00+00:00,true\n");
        let parsed = parse_report(report.as_bytes()).unwrap();
        assert_eq!(parsed.data.users[0].signing_certificates, []);
        assert_eq!(parsed.data.rows_skipped, 0);
    }

    #[test]
    fn booleans_in_any_case() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("False"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}
