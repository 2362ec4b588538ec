//! What `/metrics` serves for a snapshot: the tables of the report
//! ([`crate::credentials`]) and of the collectors, rendered with the
//! exposition framework, and the exporter's own families.
//!
//! Everything but ages is rendered once per account refresh: the per-user
//! and per-key families of an account are rendered to text the first time a
//! snapshot holding that account state is scraped, and kept in the
//! exposition's rendering cache until the account is refreshed again. A
//! response is streamed: the cached text is sent as it is (shared, never
//! copied), and ages ("seconds since") are written chunk by chunk from "now",
//! the cached label sets and the times, so they keep growing between
//! refreshes as they do in reality. Per-account health, settings, the
//! organization's features, build information and the API counters have
//! counters and fractional values, and go through `prometheus-client`.

mod health;
pub mod settings;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::aws::ApiMetrics;
use crate::collectors;
use crate::credentials;
use crate::exposition::format::{self, Format};
use crate::exposition::{Body, Rendered, Rows, TableFamilies, pairs, text};
use crate::model::AccountData;
use crate::snapshot::{AccountState, Snapshot, Store};
use crate::time::Clock;

/// What the families of every table read at scrape time.
#[derive(Clone)]
pub(crate) struct Shared {
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

/// HELP and TYPE lines of the cached families of one table, made once.
#[derive(Debug)]
struct Headers {
    families: Vec<Bytes>,
    ages: Vec<Bytes>,
}

/// Every table of the exposition, in order: the report's, then the collectors'.
fn tables() -> impl Iterator<Item = TableFamilies> {
    credentials::TABLES
        .iter()
        .map(|t| t.names())
        .chain(collectors::TABLES.iter().copied())
}

impl Headers {
    fn all(shared: &Shared) -> Vec<Self> {
        let header = |(name, help): &(&str, &str)| {
            let mut out = String::new();
            text::header(&mut out, name, &shared.help(help));
            Bytes::from(out)
        };
        tables()
            .map(|table| Self {
                families: (table.families)().iter().map(header).collect(),
                ages: pairs(table.ages).iter().map(header).collect(),
            })
            .collect()
    }
}

/// Renderings of the account states being served, keyed by the address of
/// the state. The entry does not keep the state alive (a replaced state's
/// data is freed when no snapshot holds it); an entry whose state is gone is
/// dropped at the next scrape, and a reused address is told apart by
/// comparing the live state.
type Cache = HashMap<usize, (Weak<AccountState>, Arc<OnceLock<Arc<Rendered>>>)>;

/// Everything served on the telemetry path.
pub struct Exposition {
    /// Process-wide series (API calls) and those of an embedding program.
    registry: Registry,
    store: Arc<Store>,
    clock: Clock,
    shared: Shared,
    /// One per table, in [`tables`] order.
    headers: Vec<Headers>,
    /// Whether the derived age families are served.
    ages: bool,
    /// The rendering cache: one entry per account state being served.
    cache: Mutex<Cache>,
    /// Held while rendering: one account at a time, so scrapes of several
    /// new states (a refresh publishing account after account) do not build
    /// several renderings at once.
    rendering: Mutex<()>,
    /// Account renderings made since start.
    renders: AtomicU64,
    /// Responses whose tables were written, rather than shared, since start.
    written: AtomicU64,
    /// The tables of the last response, shared by the responses of the same
    /// snapshot and second while one of them is being sent; held while
    /// writing them.
    last: Mutex<Option<Written>>,
}

/// The tables of the responses of one snapshot and second, written out;
/// kept alive by the responses that send them, not by this.
struct Written {
    snapshot: Weak<Snapshot>,
    now: i64,
    tables: Weak<[Bytes]>,
}

impl std::fmt::Debug for Exposition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exposition")
            .field("ages", &self.ages)
            .finish_non_exhaustive()
    }
}

impl Exposition {
    pub fn new(store: Arc<Store>, clock: Clock, interval: Duration, api: &ApiMetrics) -> Self {
        let shared = Shared {
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
            clock,
            headers: Headers::all(&shared),
            shared,
            ages: true,
            cache: Mutex::default(),
            rendering: Mutex::default(),
            renders: AtomicU64::new(0),
            written: AtomicU64::new(0),
            last: Mutex::default(),
        }
    }

    /// Serves the derived age families (`*_age_seconds`, `*_idle_seconds`,
    /// `*_since_last_used_seconds`) or leaves them out (`false`); they are on
    /// by default.
    pub fn with_ages(mut self, ages: bool) -> Self {
        self.ages = ages;
        // The tables written so far are of the other setting.
        self.last = Mutex::default();
        self
    }

    /// The snapshot a scrape renders: load it once and pass it to [`Self::body`].
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.store.load()
    }

    /// For collectors of an embedding program, or of tests.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// How many account states have been rendered since start: a scrape
    /// renders only the accounts refreshed since the last one.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// How many responses had their tables written since start; the others
    /// of the same snapshot and second shared them.
    pub fn tables_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// The response for `snapshot`, and nothing else, in `format`: every
    /// per-account, per-user and per-key series of one response comes from
    /// one snapshot. Renders the accounts not yet in the cache and writes
    /// the ages (CPU work: call it off the threads that serve connections).
    ///
    /// The tables of a response depend only on the snapshot and the second
    /// it is made in, and are the same in both formats: the responses of one
    /// snapshot and second in flight at once share one writing of them, so
    /// that a burst of scrapers costs one rendering, and the memory of one,
    /// whatever their number; once sent, they are freed. The process-wide
    /// families at the head are encoded for each response.
    pub fn body(&self, snapshot: &Arc<Snapshot>, format: Format) -> Result<Body, std::fmt::Error> {
        let now = (self.clock)();
        // The account families read the snapshot they are given, so they go
        // through a registry made for this scrape (a collector is cheap).
        let mut scrape = Registry::default();
        scrape.register_collector(Box::new(health::AccountFamilies {
            snapshot: Arc::clone(snapshot),
            shared: self.shared.clone(),
        }));
        // After the process-wide families, as an embedding program's were.
        let mut organization = Registry::default();
        organization.register_collector(Box::new(health::OrganizationFamilies {
            snapshot: Arc::clone(snapshot),
        }));
        let head = format::encode(&[&scrape, &self.registry, &organization], format)?;
        let mut body = Body::new(now);
        body.bytes(Bytes::from(head));
        body.shared(self.tables_at(snapshot, now));
        body.bytes(Bytes::from_static(format.end().as_bytes()));
        Ok(body)
    }

    /// The tables of `snapshot` at `now`, written out: those of a response
    /// of the same snapshot and second still being sent, else written now.
    /// Written tables live as long as a response sends them, not longer:
    /// between bursts of scrapes, they take no memory.
    fn tables_at(&self, snapshot: &Arc<Snapshot>, now: i64) -> Arc<[Bytes]> {
        // One writer at a time: the scrapes of one second wait for the
        // first one's writing instead of each writing their own.
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = &*last
            && w.now == now
            && w.snapshot
                .upgrade()
                .is_some_and(|s| Arc::ptr_eq(&s, snapshot))
            && let Some(tables) = w.tables.upgrade()
        {
            return tables;
        }
        self.written.fetch_add(1, Ordering::Relaxed);
        let tables: Arc<[Bytes]> = self.tables(snapshot, now).collect();
        *last = Some(Written {
            snapshot: Arc::downgrade(snapshot),
            now,
            tables: Arc::downgrade(&tables),
        });
        tables
    }

    /// The tables of `snapshot`, family by family: the cached text as it
    /// is, the ages written from `now`.
    fn tables(&self, snapshot: &Snapshot, now: i64) -> Body {
        let rendered = self.rendered(snapshot);
        let mut body = Body::new(now);
        for (t, (table, headers)) in tables().zip(&self.headers).enumerate() {
            // A family without a sample in this response gets no HELP/TYPE:
            // collectors that are off add nothing to it.
            for (i, header) in headers.families.iter().enumerate() {
                if rendered.iter().all(|r| r.tables[t].chunks[i].is_empty()) {
                    continue;
                }
                body.bytes(header.clone());
                for r in &rendered {
                    body.bytes(r.tables[t].chunks[i].clone());
                }
            }
            if !self.ages {
                continue;
            }
            for (family, header) in table.ages.iter().zip(&headers.ages) {
                let any = rendered.iter().any(|r| {
                    r.tables[t]
                        .times
                        .iter()
                        .any(|row| row.labels.is_some() && (family.value)(row).is_some())
                });
                if !any {
                    continue;
                }
                body.bytes(header.clone());
                for r in &rendered {
                    body.ages(family, Arc::clone(r), t);
                }
            }
        }
        body
    }

    /// The whole response as one string (tests, fuzzing); the server streams
    /// [`Self::body`] instead.
    pub fn render(
        &self,
        snapshot: &Arc<Snapshot>,
        format: Format,
    ) -> Result<String, std::fmt::Error> {
        let body = self.body(snapshot, format)?;
        let mut out = Vec::with_capacity(usize::try_from(body.len()).unwrap_or(0));
        for chunk in body {
            out.extend_from_slice(&chunk);
        }
        String::from_utf8(out).map_err(|_| std::fmt::Error)
    }

    /// The renderings of the accounts of `snapshot` that have data, from the
    /// cache or made now; concurrent scrapes wait for one rendering of an
    /// account rather than each making their own.
    fn rendered(&self, snapshot: &Snapshot) -> Vec<Arc<Rendered>> {
        let with_data = || snapshot.accounts.iter().filter(|a| a.data.is_some());
        let cells: Vec<_> = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            // Keep what this snapshot and the current one serve; drop the
            // renderings of states that were replaced.
            let current = self.store.load();
            let live: std::collections::HashSet<usize> = with_data()
                .chain(current.accounts.iter())
                .map(|a| Arc::as_ptr(a) as usize)
                .collect();
            cache.retain(|key, (state, _)| live.contains(key) && state.strong_count() > 0);
            with_data()
                .map(|a| {
                    let key = Arc::as_ptr(a) as usize;
                    let entry = cache
                        .entry(key)
                        .or_insert_with(|| (Arc::downgrade(a), Arc::default()));
                    if !entry.0.upgrade().is_some_and(|e| Arc::ptr_eq(&e, a)) {
                        *entry = (Arc::downgrade(a), Arc::default());
                    }
                    (Arc::clone(a), Arc::clone(&entry.1))
                })
                .collect()
        };
        cells
            .into_iter()
            .map(|(account, cell)| {
                Arc::clone(cell.get_or_init(|| {
                    let _one = self.rendering.lock().unwrap_or_else(|e| e.into_inner());
                    self.renders.fetch_add(1, Ordering::Relaxed);
                    Arc::new(render_account(&account))
                }))
            })
            .collect()
    }
}

/// Every table of one account: the report's, then the collectors'.
fn render_account(account: &AccountState) -> Rendered {
    let empty = AccountData::default();
    let report = account.data.as_deref().unwrap_or(&empty);
    let account_id = account.account_id.as_str();
    let rows = Rows {
        account_id,
        report,
        data: report,
    };
    let mut tables: Vec<_> = credentials::TABLES
        .iter()
        .map(|t| t.render(&rows))
        .collect();
    tables.extend(account.collected.render(account_id, report));
    Rendered { tables }
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
