//! Concurrent scrapes of the same snapshot in the same second share one
//! rendering instead of each building a copy of a possibly huge response.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use iam_credentials_exporter::http::{self, App, HEADER_READ_TIMEOUT};
use iam_credentials_exporter::metrics::Exposition;
use iam_credentials_exporter::refresh::{Snapshot, Store};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

/// Counts how often the registry is encoded, and is slow enough that
/// concurrent scrapes overlap.
#[derive(Debug)]
struct CountingCollector(Arc<AtomicUsize>);

impl Collector for CountingCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        self.0.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(100));
        encoder.encode_descriptor(
            "renders",
            "test",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_scrapes_share_one_rendering_per_second_and_snapshot() {
    let renders = Arc::new(AtomicUsize::new(0));
    let store = Arc::new(Store::default());
    let mut exposition = Exposition::new(
        Arc::clone(&store),
        iam_credentials_exporter::refresh::system_clock(),
        Duration::from_secs(300),
        &Default::default(),
    );
    exposition
        .registry_mut()
        .register_collector(Box::new(CountingCollector(Arc::clone(&renders))));
    let app = Arc::new(App {
        exposition,
        store: Arc::clone(&store),
        telemetry_path: "/metrics".into(),
        max_connections: 64,
        web: Default::default(),
        header_read_timeout: HEADER_READ_TIMEOUT,
        cache: Default::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, app, async {
        let _ = stopped.await;
    }));

    let scrape = move || common::http::get(addr, "/metrics");
    let scrapes: Vec<_> = (0..16)
        .map(|_| tokio::task::spawn_blocking(scrape))
        .collect();
    for s in scrapes {
        let resp = s.await.unwrap();
        assert_eq!(resp.status, 200);
        assert!(resp.body.contains("# TYPE renders gauge"));
    }
    // One rendering, or two if the scrapes straddled a second boundary.
    let shared = renders.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&shared),
        "{shared} renderings for 16 scrapes"
    );

    // A new snapshot is rendered anew, even within the same second.
    store.publish(Snapshot::default());
    let before = renders.load(Ordering::SeqCst);
    tokio::task::spawn_blocking(scrape).await.unwrap();
    assert_eq!(renders.load(Ordering::SeqCst), before + 1);

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
