//! Log set-up: logfmt (the Prometheus ecosystem's default) or JSON.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::{LogFormat, LogLevel};

pub fn init(level: LogLevel, format: LogFormat) {
    let level = match level {
        LogLevel::Error => tracing::Level::ERROR,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Trace => tracing::Level::TRACE,
    };
    // The SDK logs request details at debug and trace; keep its noise one level down.
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(level)
        .with_target("aws_smithy_runtime", level.min(tracing::Level::INFO))
        .with_target("aws_config", level.min(tracing::Level::INFO))
        .with_target("hyper", level.min(tracing::Level::INFO));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .finish()
            .with(filter)
            .try_init_global(),
        LogFormat::Logfmt => builder
            .event_format(Logfmt)
            .finish()
            .with(filter)
            .try_init_global(),
    };
    // Only fails when a subscriber is already set (tests); keep that one.
    let _ = result;
}

use tracing_subscriber::layer::SubscriberExt as _;

trait TryInitGlobal {
    fn try_init_global(self) -> Result<(), tracing::subscriber::SetGlobalDefaultError>;
}

impl<S: Subscriber + Send + Sync + 'static> TryInitGlobal for S {
    fn try_init_global(self) -> Result<(), tracing::subscriber::SetGlobalDefaultError> {
        tracing::subscriber::set_global_default(self)
    }
}

/// `ts=2026-01-02T03:04:05.678Z level=info target=... msg="..." key=value`.
struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        write!(
            writer,
            "ts={} level={} target={}",
            format_rfc3339_millis(now),
            meta.level().as_str().to_ascii_lowercase(),
            meta.target()
        )?;
        let mut visitor = LogfmtVisitor { out: String::new() };
        event.record(&mut visitor);
        writeln!(writer, "{}", visitor.out)
    }
}

struct LogfmtVisitor {
    out: String,
}

impl LogfmtVisitor {
    fn push(&mut self, key: &str, value: &str) {
        let key = if key == "message" { "msg" } else { key };
        let _ = write!(self.out, " {key}=");
        let needs_quotes = value.is_empty()
            || value
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '=' || c == '\\' || c.is_control());
        if needs_quotes {
            self.out.push('"');
            for c in value.chars() {
                match c {
                    '"' => self.out.push_str("\\\""),
                    '\\' => self.out.push_str("\\\\"),
                    '\n' => self.out.push_str("\\n"),
                    '\r' => self.out.push_str("\\r"),
                    '\t' => self.out.push_str("\\t"),
                    c if c.is_control() => {
                        let _ = write!(self.out, "\\u{{{:x}}}", c as u32);
                    }
                    c => self.out.push(c),
                }
            }
            self.out.push('"');
        } else {
            self.out.push_str(value);
        }
    }
}

impl Visit for LogfmtVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field.name(), value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field.name(), &format!("{value:?}"));
    }
}

fn format_rfc3339_millis(since_epoch: std::time::Duration) -> String {
    let seconds = crate::time::format_rfc3339(since_epoch.as_secs() as i64);
    // `...:SSZ` becomes `...:SS.mmmZ`.
    format!(
        "{}.{:03}Z",
        seconds.trim_end_matches('Z'),
        since_epoch.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_in_utc() {
        assert_eq!(
            format_rfc3339_millis(std::time::Duration::from_millis(1_741_944_067_123)),
            "2025-03-14T09:21:07.123Z"
        );
        assert_eq!(
            format_rfc3339_millis(std::time::Duration::ZERO),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn logfmt_values_are_quoted_when_needed() {
        let mut v = LogfmtVisitor { out: String::new() };
        v.push("message", "refresh failed");
        v.push("account", "123456789012");
        v.push("cause", "say \"hi\"\n");
        assert_eq!(
            v.out,
            " msg=\"refresh failed\" account=123456789012 cause=\"say \\\"hi\\\"\\n\""
        );
    }
}
