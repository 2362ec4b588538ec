//! Calendar arithmetic for the RFC 3339 times IAM reports and the logs print,
//! and the Go-style durations of the flags.
//!
//! A few lines of well-known algorithms (Howard Hinnant's civil date
//! conversions) instead of a date-time crate: the exporter only needs UTC,
//! whole seconds and the proleptic Gregorian calendar.

use std::sync::Arc;
use std::time::Duration;

/// Seconds since the Unix epoch; injected so tests can fix "now".
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    })
}

/// Parses an ISO 8601 / RFC 3339 date-time with `Z` or a `±HH:MM` offset into
/// Unix seconds; fractional seconds are dropped.
///
/// Works on bytes, never on string offsets, so any input (non-ASCII, too
/// short, full-width digits) is a clean `None`, never a panic.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (date, rest) = b.split_at_checked(19)?;
    if date[4] != b'-' || date[7] != b'-' || !matches!(date[10], b'T' | b't' | b' ') {
        return None;
    }
    if date[13] != b':' || date[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits(&date[r]);
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = rest;
    if let Some(frac) = rest.strip_prefix(b".") {
        let count = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if count == 0 {
            return None;
        }
        rest = &frac[count..];
    }
    let offset = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (hours, minutes) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let secs = hours * 3600 + minutes * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// The value of a run of ASCII digits (at most four here, so no overflow).
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian date of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time.
pub fn format_rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses Go-style durations: `90s`, `5m`, `1h30m`, `1d`, `500ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("expected a number at {rest:?} (e.g. 30s, 5m, 1h)"));
        }
        let value: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("number too large in {s:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            "" => return Err(format!("missing unit in {s:?} (use ms, s, m, h or d)")),
            other => {
                return Err(format!(
                    "unknown unit {other:?} in {s:?} (use ms, s, m, h or d)"
                ));
            }
        };
        rest = &rest[unit_len..];
        let part = u32::try_from(value)
            .ok()
            .and_then(|v| unit.checked_mul(v))
            .ok_or_else(|| format!("duration {s:?} is too large"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| format!("duration {s:?} is too large"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_with_offsets_and_fractions() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00+00:00"), Some(0));
        assert_eq!(
            parse_rfc3339("2025-03-14T09:21:07+00:00"),
            Some(1_741_944_067)
        );
        assert_eq!(
            parse_rfc3339("2025-03-14T11:21:07+02:00"),
            Some(1_741_944_067)
        );
        assert_eq!(
            parse_rfc3339("2025-03-14T04:21:07-05:00"),
            Some(1_741_944_067)
        );
        assert_eq!(
            parse_rfc3339("2025-03-14T09:21:07.123Z"),
            Some(1_741_944_067)
        );
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Some(1_709_164_800));
    }

    #[test]
    fn malformed_timestamps_are_rejected() {
        for bad in [
            "",
            "2025-03-14",
            "2025-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2025-03-14T24:00:00Z",
            "2025-03-14T09:21:07+0000",
            "2025-03-14T09:21:07.Z",
            "2025-03-14T09:21:07 UTC",
            "yyyy-mm-ddThh:mm:ssZ",
            "2025-03-14T09:21:07+٠٠:00",
            "2025-03-14T09:21:0é+00:00",
            "2025-03-14T09:21:07é",
            "é025-03-14T09:21:07Z",
            "２０２５-03-14T09:21:07Z",
            "2025-03-14T09:21:07.\u{0}Z",
            "2025-03-14\u{0}09:21:07Z",
            "0000-00-00T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formatting_round_trips_through_parsing() {
        for secs in [
            0,
            951_782_400,
            1_422_907_322,
            1_795_910_400,
            -86_401,
            4_102_444_800,
        ] {
            let text = format_rfc3339(secs);
            assert_eq!(parse_rfc3339(&text), Some(secs), "{text}");
        }
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
