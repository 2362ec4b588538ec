//! Times of fixtures: dates relative to the test's start, RFC 3339 both ways.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const DAY: u64 = 86_400;
pub const HOUR: u64 = 3_600;

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// What is left of `deadline` (zero once it has passed).
pub fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// Unix seconds of an RFC 3339 time (`2026-11-20T10:00:00Z`).
pub fn ts(rfc3339: &str) -> i64 {
    iam_credentials_exporter::time::parse_rfc3339(rfc3339)
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {rfc3339}"))
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time.
pub fn iso8601(t: u64) -> String {
    iam_credentials_exporter::time::format_rfc3339(t as i64)
}

/// `template` with every `@-<N>d` / `@-<N>h` replaced by the ISO 8601 time N
/// days or hours before `now` (the format of `tests/fixtures/e2e/`).
pub fn relative_dates(template: &str, now: u64) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(at) = rest.find("@-") {
        out.push_str(&rest[..at]);
        let token = &rest[at + 2..];
        let digits = token.chars().take_while(char::is_ascii_digit).count();
        let n: u64 = token[..digits].parse().expect("number after @-");
        let unit = match token.as_bytes()[digits] {
            b'd' => DAY,
            b'h' => HOUR,
            other => panic!("unknown unit {:?} in a fixture", other as char),
        };
        out.push_str(&iso8601(now - n * unit));
        rest = &token[digits + 1..];
    }
    out.push_str(rest);
    out
}
