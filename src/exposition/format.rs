//! The two exposition formats, and the encoding of `prometheus-client`
//! registries in them.

pub const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The end of an OpenMetrics exposition.
pub const EOF: &str = "# EOF\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    OpenMetrics,
}

impl Format {
    /// Picks OpenMetrics only when the client asks for it.
    pub fn negotiate(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => TEXT,
            Format::OpenMetrics => OPENMETRICS,
        }
    }

    /// What ends a response: `# EOF` in OpenMetrics, nothing in text.
    pub fn end(self) -> &'static str {
        match self {
            Format::Text => "",
            Format::OpenMetrics => EOF,
        }
    }
}

/// Encodes the families of `registries`, one after the other, without the
/// end of the exposition ([`Format::end`]): more families follow them.
pub fn encode(
    registries: &[&prometheus_client::registry::Registry],
    format: Format,
) -> Result<String, std::fmt::Error> {
    use prometheus_client::encoding::{prometheus_text, text};
    let mut out = String::with_capacity(64 * 1024);
    for registry in registries {
        match format {
            Format::Text => prometheus_text::encode(&mut out, registry)?,
            Format::OpenMetrics => text::encode_registry(&mut out, registry)?,
        }
    }
    Ok(out)
}
