//! The exposition's rendering cache: each account state is rendered once,
//! however many scrapes (concurrent or not) serve it, and again only when
//! the account is refreshed; ages follow the injected clock between
//! renderings. The response is streamed with its exact length.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use iam_credentials_exporter::http::{self, App};
use iam_credentials_exporter::metrics::Exposition;
use iam_credentials_exporter::model::{AccessKey, AccountData, LastUsed, User};
use iam_credentials_exporter::snapshot::{AccountState, Progress, Snapshot, Store};

const CREATED: i64 = 1_700_000_000;

fn account(index: usize, users: usize) -> AccountState {
    let id = format!("1000000000{index:02}");
    AccountState {
        key: id.clone(),
        account_id: id.clone(),
        data: Some(Arc::new(AccountData {
            account_id: id,
            users: (0..users)
                .map(|u| User {
                    name: format!("user-{u}"),
                    arn: format!("arn:aws:iam::1000000000{index:02}:user/user-{u}"),
                    created: Some(CREATED),
                    keys: vec![AccessKey {
                        slot: 1,
                        id: format!("AKIA{index:02}{u:014}"),
                        active: true,
                        created: Some(CREATED),
                        last_used: (u % 2 == 0).then(|| LastUsed {
                            at: CREATED + 100,
                            region: "us-east-1".into(),
                            service: "s3".into(),
                        }),
                        usage_unknown: false,
                    }],
                    ..User::default()
                })
                .collect(),
            ..AccountData::default()
        })),
        success: true,
        attempts: 1,
        progress: Progress::Done,
        ..AccountState::default()
    }
}

/// The value of the first sample of `series` (name and labels) in `body`.
fn value(body: &str, series: &str) -> i64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_account_state_is_rendered_once_and_ages_follow_the_clock() {
    let store = Arc::new(Store::default());
    store.publish(Snapshot::new((0..3).map(|a| account(a, 200))));
    let now = Arc::new(AtomicI64::new(CREATED + 1_000));
    let clock = {
        let now = Arc::clone(&now);
        Arc::new(move || now.load(Ordering::SeqCst))
    };
    let exposition = Exposition::new(
        Arc::clone(&store),
        clock,
        Duration::from_secs(300),
        &Default::default(),
    );
    let app = Arc::new(App::new(exposition, Arc::clone(&store)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, Arc::clone(&app), async {
        let _ = stopped.await;
    }));
    let scrape = move || common::http::get(addr, "/metrics");

    let scrapes: Vec<_> = (0..16)
        .map(|_| tokio::task::spawn_blocking(scrape))
        .collect();
    let mut bodies = Vec::new();
    for s in scrapes {
        let resp = s.await.unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.header("content-length"),
            Some(resp.body.len().to_string().as_str()),
            "the length announced is the length sent"
        );
        bodies.push(resp.body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "same snapshot, same clock: same response"
    );
    assert_eq!(app.exposition.renders(), 3, "one rendering per account");
    let key = r#"{account_id="100000000000",user="user-0",slot="1",access_key_id="AKIA0000000000000000"}"#;
    let age = format!("aws_iam_access_key_age_seconds{key}");
    let since = format!("aws_iam_access_key_since_last_used_seconds{key}");
    assert_eq!(value(&bodies[0], &age), 1_000);
    assert_eq!(value(&bodies[0], &since), 900);

    // Time passes: ages grow, nothing is rendered again.
    now.fetch_add(60, Ordering::SeqCst);
    let later = tokio::task::spawn_blocking(scrape).await.unwrap().body;
    assert_eq!(value(&later, &age), 1_060);
    assert_eq!(value(&later, &since), 960);
    assert_eq!(app.exposition.renders(), 3);

    // One account is refreshed: only it is rendered again, and its new data
    // is served.
    store.update(1, account(1, 201));
    let refreshed = tokio::task::spawn_blocking(scrape).await.unwrap().body;
    assert_eq!(app.exposition.renders(), 4);
    assert!(refreshed.contains(r#"aws_iam_user_info{account_id="100000000001",user="user-200""#));
    assert_eq!(
        refreshed.matches("aws_iam_user_idle_seconds{").count(),
        601,
        "every user of every account has an idle time"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// With the derived age families left out, the response has no age series and
/// still every timestamp they are computed from.
#[test]
fn age_families_can_be_left_out() {
    let store = Arc::new(Store::default());
    store.publish(Snapshot::new([account(0, 10)]));
    let clock = Arc::new(|| CREATED + 1_000);
    let exposition = Exposition::new(
        Arc::clone(&store),
        clock,
        Duration::from_secs(300),
        &Default::default(),
    );
    let snapshot = exposition.snapshot();
    let with = exposition
        .render(
            &snapshot,
            iam_credentials_exporter::exposition::Format::Text,
        )
        .unwrap();
    let exposition = exposition.with_ages(false);
    let without = exposition
        .render(
            &snapshot,
            iam_credentials_exporter::exposition::Format::Text,
        )
        .unwrap();
    for family in [
        "aws_iam_access_key_age_seconds",
        "aws_iam_access_key_since_last_used_seconds",
        "aws_iam_access_key_idle_seconds",
        "aws_iam_user_idle_seconds",
    ] {
        assert!(with.contains(&format!("# TYPE {family} gauge")), "{family}");
        assert!(!without.contains(family), "{family}");
    }
    let dropped: Vec<&str> = with.lines().filter(|l| !without.contains(l)).collect();
    assert!(
        dropped.iter().all(|l| l.contains("_seconds")),
        "{dropped:?}"
    );
    for family in [
        "aws_iam_access_key_created_timestamp_seconds",
        "aws_iam_access_key_last_used_timestamp_seconds",
        "aws_iam_user_created_timestamp_seconds",
        "aws_iam_user_last_activity_timestamp_seconds",
    ] {
        assert_eq!(
            with.matches(&format!("\n{family}{{")).count(),
            without.matches(&format!("\n{family}{{")).count(),
            "{family}"
        );
    }
}

/// Scrapes of one snapshot within one second send the same tables: the
/// responses in flight share one writing of them (a burst of scrapers costs
/// one), in both formats; once no response sends them, they are freed, and
/// the next second, or a new snapshot, writes them anew with ages from the
/// new "now".
#[test]
fn scrapes_of_one_snapshot_in_one_second_share_one_writing_of_the_tables() {
    use iam_credentials_exporter::exposition::Format;

    let store = Arc::new(Store::default());
    store.publish(Snapshot::new([account(0, 10)]));
    let now = Arc::new(AtomicI64::new(CREATED + 1_000));
    let exposition = Exposition::new(
        Arc::clone(&store),
        {
            let now = Arc::clone(&now);
            Arc::new(move || now.load(Ordering::SeqCst))
        },
        Duration::from_secs(300),
        &Default::default(),
    );
    let snapshot = exposition.snapshot();
    let text = |body: iam_credentials_exporter::exposition::Body| {
        String::from_utf8(body.flat_map(|b| b.to_vec()).collect()).unwrap()
    };
    // Three responses in flight at once.
    let bodies = [Format::Text, Format::Text, Format::OpenMetrics]
        .map(|f| exposition.body(&snapshot, f).unwrap());
    assert_eq!(
        exposition.tables_written(),
        1,
        "one writing for three scrapes"
    );
    let [a, b, open] = bodies.map(text);
    assert_eq!(a, b);
    assert!(open.ends_with("# EOF\n") && !a.contains("# EOF"));
    assert_eq!(
        a.lines().filter(|l| !l.starts_with('#')).count(),
        open.lines().filter(|l| !l.starts_with('#')).count(),
    );

    // Sent: nothing keeps them, and the next scrape writes them again.
    let again = exposition.render(&snapshot, Format::Text).unwrap();
    assert_eq!(again, a);
    assert_eq!(exposition.tables_written(), 2);

    now.store(CREATED + 1_001, Ordering::SeqCst);
    let later = exposition.render(&snapshot, Format::Text).unwrap();
    assert_eq!(exposition.tables_written(), 3);
    assert_ne!(a, later, "ages follow the clock");

    store.publish(Snapshot::new([account(0, 11)]));
    let newer = exposition.snapshot();
    exposition.render(&newer, Format::Text).unwrap();
    assert_eq!(exposition.tables_written(), 4);
    assert_eq!(exposition.renders(), 2, "each account state rendered once");
}
