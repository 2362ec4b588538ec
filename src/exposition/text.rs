//! Writing gauge samples as text, for the per-user and per-key families.
//!
//! These families are most of a response (two or three hundred thousand
//! series for an organization with 50,000 users), so they are written here
//! directly rather than through `prometheus-client`'s generic encoder, which
//! escapes label values one character at a time. A gauge line is the same in
//! the Prometheus text format 0.0.4 and in OpenMetrics 1.0, and so are the
//! HELP and TYPE lines of these families (their HELP text has no character
//! that the two formats escape differently).

use std::fmt::Write as _;

/// `# HELP` and `# TYPE` of a gauge family.
pub fn header(out: &mut String, name: &str, help: &str) {
    debug_assert!(!help.contains(['\\', '\n', '"']), "{help}");
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    out.push_str(help);
    out.push_str("\n# TYPE ");
    out.push_str(name);
    out.push_str(" gauge\n");
}

/// `{k="v",...}` with values escaped as both formats require.
pub fn labels(out: &mut String, pairs: &[(&str, &str)]) {
    out.push('{');
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push_str("=\"");
        escape(out, value);
        out.push('"');
    }
    out.push('}');
}

fn escape(out: &mut String, value: &str) {
    let mut rest = value;
    while let Some(at) = rest.find(['\\', '"', '\n']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// One sample: `name{labels} value`.
pub fn sample(out: &mut String, name: &str, labels: &str, value: i64) {
    out.push_str(name);
    out.push_str(labels);
    out.push(' ');
    let _ = write!(out, "{value}");
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        labels(&mut out, &[("user", "a\"b\\c\nd"), ("slot", "1")]);
        assert_eq!(out, r#"{user="a\"b\\c\nd",slot="1"}"#);
    }
}
