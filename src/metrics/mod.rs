//! Exposition of the current snapshot.
//!
//! Everything but ages is computed once per snapshot: the per-user and per-key
//! families are rendered to text the first time a snapshot is scraped and
//! reused until the next refresh. Ages ("seconds since") are computed at every
//! scrape from the snapshot and the clock, so they keep growing between
//! refreshes as they do in reality. Per-account health, build information and
//! the API counters go through a `prometheus-client` registry.

mod accounts;
mod keys;
pub mod settings;
mod text;
mod users;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::aws::ApiMetrics;
use crate::refresh::{Clock, Snapshot, Store};

/// What every collector reads at scrape time.
#[derive(Clone)]
pub(crate) struct Shared {
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

/// The per-user and per-key series of one snapshot, rendered once.
#[derive(Debug, Default)]
pub struct Prerendered {
    keys_text: String,
    keys: Vec<Ages>,
    users_text: String,
    users: Vec<Ages>,
}

/// A label set and the times that ages are computed from.
#[derive(Debug)]
struct Ages {
    labels: String,
    created: Option<i64>,
    last_used: Option<i64>,
}

/// Everything served on the telemetry path.
pub struct Exposition {
    /// Process-wide series (API calls) and those of an embedding program.
    registry: Registry,
    store: Arc<Store>,
    shared: Shared,
}

impl std::fmt::Debug for Exposition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exposition").finish_non_exhaustive()
    }
}

impl Exposition {
    pub fn new(store: Arc<Store>, clock: Clock, interval: Duration, api: &ApiMetrics) -> Self {
        let shared = Shared {
            clock,
            cached: format!(
                "Cached by the exporter, refreshed every {}s",
                interval.as_secs()
            )
            .into(),
        };
        let mut registry = Registry::default();
        api.register(&mut registry);
        Self {
            registry,
            store,
            shared,
        }
    }

    /// The snapshot a scrape renders: load it once and pass it to [`Self::render`].
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.store.load()
    }

    /// For collectors of an embedding program, or of tests.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Renders `snapshot`, and nothing else, in `format`: every per-account,
    /// per-user and per-key series of one response comes from one snapshot.
    pub fn render(
        &self,
        snapshot: &Arc<Snapshot>,
        format: format::Format,
    ) -> Result<String, std::fmt::Error> {
        let now = (self.shared.clock)();
        let pre = snapshot
            .prerendered
            .get_or_init(|| self.prerender(snapshot));
        // The account families read the snapshot they are given, so they go
        // through a registry made for this scrape (a collector is cheap).
        let mut scrape = Registry::default();
        scrape.register_collector(Box::new(accounts::AccountCollector {
            snapshot: Arc::clone(snapshot),
            shared: self.shared.clone(),
        }));
        let mut out = format::encode(&[&scrape, &self.registry], format)?;
        let eof = out.ends_with("# EOF\n");
        if eof {
            out.truncate(out.len() - "# EOF\n".len());
        }
        let ages = 48 * (pre.keys.len() + pre.users.len()) * 4;
        out.reserve(pre.keys_text.len() + pre.users_text.len() + ages + 16);
        let help = |text: &str| self.shared.help(text);
        out.push_str(&pre.keys_text);
        keys::write_ages(&mut out, &pre.keys, now, &help);
        out.push_str(&pre.users_text);
        users::write_ages(&mut out, &pre.users, now, &help);
        if eof {
            out.push_str("# EOF\n");
        }
        Ok(out)
    }

    fn prerender(&self, snapshot: &Snapshot) -> Prerendered {
        let help = |text: &str| self.shared.help(text);
        let mut pre = Prerendered::default();
        keys::prerender(snapshot, &help, &mut pre);
        users::prerender(snapshot, &help, &mut pre);
        pre
    }
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

    /// Encodes `registries` one after the other, as one exposition.
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
        if format == Format::OpenMetrics {
            text::encode_eof(&mut out)?;
        }
        Ok(out)
    }
}
