//! Exposition: collectors that encode the current snapshot at scrape time.
//!
//! Everything but ages was computed at refresh; ages ("seconds since") are
//! computed here from the snapshot and the clock, so they keep growing between
//! refreshes as they do in reality.

mod accounts;
mod keys;
mod users;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::aws::ApiMetrics;
use crate::refresh::{Clock, Store};

/// What every collector reads at scrape time.
#[derive(Clone)]
pub(crate) struct Shared {
    store: Arc<Store>,
    clock: Clock,
    /// Appended to the HELP of cached series: how fresh the data is.
    cached: Arc<str>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    fn help(&self, text: &str) -> String {
        format!("{text}. {}", self.cached)
    }
}

/// Builds the registry served on the telemetry path.
pub fn registry(store: Arc<Store>, clock: Clock, interval: Duration, api: &ApiMetrics) -> Registry {
    let shared = Shared {
        store,
        clock,
        cached: format!(
            "Cached by the exporter, refreshed every {}s",
            interval.as_secs()
        )
        .into(),
    };
    let mut registry = Registry::default();
    registry.register_collector(Box::new(keys::KeyCollector(shared.clone())));
    registry.register_collector(Box::new(users::UserCollector(shared.clone())));
    registry.register_collector(Box::new(accounts::AccountCollector(shared)));
    api.register(&mut registry);
    registry
}

/// Encodes one gauge family from `(labels, value)` pairs.
fn gauge<L, I>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: I,
) -> std::fmt::Result
where
    L: EncodeLabelSet,
    I: IntoIterator<Item = (L, i64)>,
{
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in series {
        family.encode_family(&labels)?.encode_gauge(&value)?;
    }
    Ok(())
}

/// Text and OpenMetrics encodings of a registry.
pub mod format {
    pub const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
    pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

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
    }

    pub fn encode(
        registry: &prometheus_client::registry::Registry,
        format: Format,
    ) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(64 * 1024);
        match format {
            Format::Text => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, registry)?
            }
            Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, registry)?,
        }
        Ok(out)
    }
}
