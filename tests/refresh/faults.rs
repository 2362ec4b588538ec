//! Faults of the IAM endpoint, against the real binary and the credential
//! report source: the endpoint going away and coming back, answering too
//! slowly, and answering garbage. In every case the exporter keeps serving
//! its last good data, says so in `aws_iam_exporter_account_refresh_success`,
//! and recovers by itself.
//!
//! Faults are injected by [`FaultProxy`], a loopback HTTP proxy in front of
//! moto that forwards real moto responses and delays or corrupts them on
//! demand.

use crate::common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use common::exclusive;
use common::exporter::{Exporter, status_kib, value};
use common::http::get;
use common::moto::{MotoOptions, MotoServer};
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";

fn seed(users: &[&str]) -> Value {
    let users: Vec<Value> = users
        .iter()
        .map(|name| {
            json!({"name": name, "created": "2024-01-15T08:00:00Z",
                   "keys": [{"created": "2024-02-01T00:00:00Z"}]})
        })
        .collect();
    json!({"accounts": [{"users": users}]})
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn account_series(name: &str) -> String {
    format!(r#"{name}{{account_id="{ACCOUNT}"}}"#)
}

fn success(metrics: &str) -> Option<f64> {
    value(
        metrics,
        &account_series("aws_iam_exporter_account_refresh_success"),
    )
}

fn last_success(metrics: &str) -> f64 {
    value(
        metrics,
        &account_series("aws_iam_exporter_account_last_refresh_success_timestamp_seconds"),
    )
    .unwrap_or_else(|| panic!("no last success timestamp in\n{metrics}"))
}

fn users(metrics: &str) -> usize {
    metrics.matches("aws_iam_user_info{").count()
}

/// Scrapes until `cond` holds for the metrics; panics with the logs after `timeout`.
fn wait_metrics(
    exporter: &Exporter,
    timeout: Duration,
    what: &str,
    cond: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let m = exporter.metrics();
        if cond(&m) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "{what} not seen after {timeout:?}\n--- metrics ---\n{m}\n--- logs ---\n{:#?}",
            exporter.logs()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until a log line after the first `skip` lines contains `needle`; returns it.
fn wait_new_log(exporter: &Exporter, skip: usize, needle: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(line) = exporter
            .logs()
            .into_iter()
            .skip(skip)
            .find(|l| l.contains(needle))
        {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "no new log line with {needle:?} after {timeout:?}: {:#?}",
            exporter.logs()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Environment pointing the exporter at `endpoint` with moto's dummy credentials.
fn aws_env(moto: &MotoServer, endpoint: &str) -> Vec<(&'static str, String)> {
    let mut env = moto.aws_env();
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", endpoint.to_owned()));
    env
}

fn start_exporter(env: &[(&'static str, String)], extra: &[&str]) -> Exporter {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut args = vec!["--refresh.interval", "1s", "--refresh.timeout", "3s"];
    args.extend_from_slice(extra);
    let exporter = Exporter::start(&args, &env);
    exporter.wait_ready(Duration::from_secs(30));
    exporter
}

#[test]
fn iam_going_away_keeps_last_good_data_and_recovery_needs_no_restart() {
    let first = seed(&["alice", "bob", "carol"]);
    let moto = MotoServer::start(&first);
    let port = moto.port();
    let env = aws_env(&moto, moto.endpoint());
    let exporter = start_exporter(&env, &[]);

    let before = wait_metrics(&exporter, Duration::from_secs(10), "success", |m| {
        success(m) == Some(1.0)
    });
    assert_eq!(users(&before), 3);

    drop(moto);
    let stopped = now();
    let down = wait_metrics(
        &exporter,
        Duration::from_secs(20),
        "a failed refresh",
        |m| success(m) == Some(0.0),
    );
    let first_stale = now() - last_success(&down);
    assert!(
        last_success(&down) <= stopped + 1.0,
        "no success after the endpoint went away"
    );
    assert_eq!(users(&down), 3, "last good data is still served:\n{down}");
    assert!(down.contains("aws_iam_access_key_age_seconds{"));
    assert!(
        exporter
            .logs()
            .iter()
            .any(|l| l.contains("account refresh failed; keeping last good data")),
        "{:#?}",
        exporter.logs()
    );

    thread::sleep(Duration::from_secs(3));
    let later = exporter.metrics();
    assert_eq!(success(&later), Some(0.0));
    assert_eq!(last_success(&later), last_success(&down));
    let later_stale = now() - last_success(&later);
    assert!(
        later_stale >= first_stale + 2.0,
        "staleness grows: {first_stale} then {later_stale}"
    );
    assert_eq!(users(&later), 3);

    // The same endpoint comes back, with one more user.
    let second = seed(&["alice", "bob", "carol", "dave"]);
    let moto = MotoServer::start_on_port(&second, port, &MotoOptions::default());
    let back = wait_metrics(&exporter, Duration::from_secs(30), "recovery", |m| {
        success(m) == Some(1.0)
    });
    assert!(last_success(&back) > last_success(&later));
    assert!(now() - last_success(&back) < 5.0);
    assert_eq!(
        users(&back),
        4,
        "data after recovery is the new data:\n{back}"
    );
    drop(moto);
}

#[test]
fn slow_iam_times_out_the_refresh_while_scrapes_stay_fast() {
    let _guard = exclusive();
    let moto = MotoServer::start(&seed(&["alice", "bob", "carol"]));
    let proxy = FaultProxy::start(moto.address());
    let env = aws_env(&moto, &proxy.endpoint());
    let exporter = start_exporter(&env, &[]);
    wait_metrics(&exporter, Duration::from_secs(10), "success", |m| {
        success(m) == Some(1.0)
    });

    let delay = Duration::from_secs(8);
    let skip = exporter.logs().len();
    proxy.set(Fault::Delay(delay));
    let window = Instant::now();
    let mut latencies = Vec::new();
    while window.elapsed() < Duration::from_secs(7) {
        let started = Instant::now();
        let resp = get(exporter.addr, "/metrics");
        latencies.push(started.elapsed());
        assert_eq!(resp.status, 200);
        assert_eq!(users(&resp.body), 3, "last good data is still served");
        thread::sleep(Duration::from_millis(20));
    }
    let line = wait_new_log(
        &exporter,
        skip,
        "refresh timed out after 3s",
        Duration::from_secs(5),
    );
    assert!(line.contains("keeping last good data"), "{line}");
    let slow = exporter.metrics();
    assert_eq!(success(&slow), Some(0.0));
    let duration = value(
        &slow,
        &account_series("aws_iam_exporter_account_refresh_duration_seconds"),
    )
    .unwrap();
    assert!(
        (2.9..5.0).contains(&duration),
        "the refresh stopped at its deadline, not at the endpoint's delay: {duration}"
    );

    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let (p50, p99, max) = (p(0.5), p(0.99), *latencies.last().unwrap());
    eprintln!(
        "scrapes during a slow refresh: n={} p50={p50:?} p99={p99:?} max={max:?}",
        latencies.len()
    );
    assert!(
        latencies.len() >= 20,
        "too few scrapes: {}",
        latencies.len()
    );
    assert!(p99 < Duration::from_millis(500), "p99 {p99:?}");
    assert!(max < Duration::from_secs(3), "max {max:?}");

    proxy.set(Fault::None);
    let back = wait_metrics(&exporter, Duration::from_secs(20), "recovery", |m| {
        success(m) == Some(1.0)
    });
    assert_eq!(users(&back), 3);
}

#[test]
fn garbage_responses_are_rejected_and_the_previous_snapshot_kept() {
    let moto = MotoServer::start(&seed(&["alice", "bob", "carol"]));
    let proxy = FaultProxy::start(moto.address());
    let env = aws_env(&moto, &proxy.endpoint());
    let exporter = start_exporter(&env, &["--aws.max-attempts", "1"]);
    wait_metrics(&exporter, Duration::from_secs(10), "success", |m| {
        success(m) == Some(1.0)
    });

    let cases = [
        // The connection drops halfway through the report.
        (Fault::CutReport, "GetCredentialReport"),
        // Well-formed XML whose report is not CSV at all.
        (
            Fault::ReportContent(Arc::new(random_bytes(64 * 1024, 7))),
            "credential report",
        ),
        // CSV, but not a credential report.
        (
            Fault::ReportContent(Arc::new(b"a,b,c\n1,2,3\n".to_vec())),
            "lacks required column",
        ),
    ];
    for (fault, needle) in cases {
        expect_rejected(&exporter, &proxy, fault, needle);
    }
}

/// A response whose XML stops in the middle of the report, with a
/// Content-Length that matches (a broken server or middlebox rather than a
/// broken connection), must not replace the account's data with what
/// little of the report arrived.
#[test]
fn truncated_xml_is_rejected_and_the_previous_snapshot_kept() {
    let moto = MotoServer::start(&seed(&["alice", "bob", "carol"]));
    let proxy = FaultProxy::start(moto.address());
    let env = aws_env(&moto, &proxy.endpoint());
    let exporter = start_exporter(&env, &["--aws.max-attempts", "1"]);
    wait_metrics(&exporter, Duration::from_secs(10), "success", |m| {
        success(m) == Some(1.0)
    });
    expect_rejected(
        &exporter,
        &proxy,
        Fault::TruncateReport,
        "credential report",
    );
}

/// Serves `fault` until a refresh fails with a log line containing `needle`,
/// checks that the previous data is still served, then lets the exporter recover.
fn expect_rejected(exporter: &Exporter, proxy: &FaultProxy, fault: Fault, needle: &str) {
    let name = fault.name();
    let skip = exporter.logs().len();
    let served = proxy.faulty_responses();
    proxy.set(fault);
    let deadline = Instant::now() + Duration::from_secs(15);
    let line = loop {
        let m = exporter.metrics();
        assert_eq!(
            users(&m),
            3,
            "{name}: previous snapshot kept:\n{m}\n{:#?}",
            exporter.logs()
        );
        if let Some(line) = exporter
            .logs()
            .into_iter()
            .skip(skip)
            .find(|l| l.contains("account refresh failed"))
        {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: no failed refresh: {:#?}",
            exporter.logs()
        );
        thread::sleep(Duration::from_millis(100));
    };
    eprintln!("{name}: {line}");
    assert!(
        proxy.faulty_responses() > served,
        "{name}: fault not served"
    );
    assert!(line.contains(needle), "{name}: unclear error: {line}");
    assert!(line.contains("keeping last good data"), "{line}");
    let bad = exporter.metrics();
    assert_eq!(success(&bad), Some(0.0), "{name}");
    assert_eq!(users(&bad), 3, "{name}: previous snapshot kept");
    proxy.set(Fault::None);
    wait_metrics(exporter, Duration::from_secs(15), "recovery", |m| {
        success(m) == Some(1.0)
    });
}

/// A report far larger than any real one (AWS caps an account at 5,000
/// users, about 2 MB of report) must not take the exporter down: the refresh
/// fails with a clear error, the previous snapshot stays, and the memory the
/// download took is given back.
#[test]
fn huge_report_fails_cleanly_with_bounded_memory() {
    let _guard = exclusive();
    const HUGE: usize = 48 << 20;
    let moto = MotoServer::start(&seed(&["alice", "bob", "carol"]));
    let proxy = FaultProxy::start(moto.address());
    let env = aws_env(&moto, &proxy.endpoint());
    let exporter = start_exporter(
        &env,
        &[
            "--aws.max-attempts",
            "1",
            "--credential-report.max-bytes",
            "16MiB",
        ],
    );
    wait_metrics(&exporter, Duration::from_secs(10), "success", |m| {
        success(m) == Some(1.0)
    });
    let pid = exporter.pid();
    let idle = status_kib(pid, "VmRSS");

    let skip = exporter.logs().len();
    let served = proxy.faulty_responses();
    proxy.set(Fault::ReportContent(Arc::new(random_bytes(HUGE, 11))));
    let line = wait_new_log(
        &exporter,
        skip,
        "account refresh failed",
        Duration::from_secs(50),
    );
    assert!(proxy.faulty_responses() > served);
    proxy.set(Fault::None);
    assert!(
        line.contains("exceeds the limit of 16777216 bytes"),
        "unclear error: {line}"
    );
    let bad = exporter.metrics();
    assert_eq!(success(&bad), Some(0.0));
    assert_eq!(users(&bad), 3, "previous snapshot kept");

    wait_metrics(&exporter, Duration::from_secs(20), "recovery", |m| {
        success(m) == Some(1.0)
    });
    thread::sleep(Duration::from_millis(500));
    let (peak, after) = (status_kib(pid, "VmHWM"), status_kib(pid, "VmRSS"));
    let encoded_mib = (HUGE.div_ceil(3) * 4) >> 20;
    eprintln!(
        "report of {} MiB ({encoded_mib} MiB base64): RSS idle {} MiB, peak {} MiB, after {} MiB",
        HUGE >> 20,
        idle >> 10,
        peak >> 10,
        after >> 10
    );
    // The response is refused from its Content-Length, before its body is
    // read: memory does not grow with the report.
    assert!(
        peak < idle + (16 << 10),
        "peak RSS {peak} KiB for a {HUGE}-byte report, {idle} KiB before"
    );
    // The buffers are returned once the refresh is over.
    assert!(
        after < idle + (HUGE as u64 >> 10) / 2,
        "RSS {after} KiB after the refresh, {idle} KiB before"
    );
}

/// Deterministic pseudo-random bytes (splitmix64).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// What the proxy does to the responses it forwards.
#[derive(Clone)]
enum Fault {
    None,
    /// Holds every response this long before forwarding it.
    Delay(Duration),
    /// Cuts the GetCredentialReport response body in half, with a
    /// Content-Length to match.
    TruncateReport,
    /// Announces the whole GetCredentialReport response, sends half of it
    /// and closes the connection.
    CutReport,
    /// Replaces the report in the GetCredentialReport response (base64-encoded
    /// into moto's own XML envelope).
    ReportContent(Arc<Vec<u8>>),
}

impl Fault {
    fn name(&self) -> String {
        match self {
            Fault::None => "none".into(),
            Fault::Delay(d) => format!("delay {d:?}"),
            Fault::TruncateReport => "truncated XML".into(),
            Fault::CutReport => "connection cut".into(),
            Fault::ReportContent(c) => format!("report of {} bytes", c.len()),
        }
    }
}

/// A loopback HTTP/1.1 proxy in front of moto. Each request is forwarded to
/// moto on a new connection (moto closes every connection); the response is
/// then passed on, delayed or corrupted according to the current [`Fault`].
/// Stops when dropped.
struct FaultProxy {
    addr: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    faulty: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let upstream: SocketAddr = upstream.parse().unwrap();
        let fault = Arc::new(Mutex::new(Fault::None));
        let faulty = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let shared = (Arc::clone(&fault), Arc::clone(&faulty), Arc::clone(&stop));
        let acceptor = thread::spawn(move || {
            let (fault, faulty, stop) = shared;
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let conn = Connection {
                            upstream,
                            fault: Arc::clone(&fault),
                            faulty: Arc::clone(&faulty),
                            stop: Arc::clone(&stop),
                        };
                        thread::spawn(move || conn.serve(client));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(10));
                    }
                    Err(e) => panic!("proxy accept: {e}"),
                }
            }
        });
        FaultProxy {
            addr,
            fault,
            faulty,
            stop,
            acceptor: Some(acceptor),
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// Responses altered so far.
    fn faulty_responses(&self) -> usize {
        self.faulty.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

struct Connection {
    upstream: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    faulty: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Connection {
    fn serve(self, mut client: TcpStream) {
        let _ = client.set_nonblocking(false);
        let _ = client.set_read_timeout(Some(Duration::from_millis(100)));
        let mut buf = Vec::new();
        while let Some((head, body)) = self.read_request(&mut client, &mut buf) {
            let Some(response) = self.forward(&head, &body) else {
                return;
            };
            let fault = self.fault.lock().unwrap().clone();
            let Some((response, close)) = self.apply(fault, &body, response) else {
                return;
            };
            if client.write_all(&response).is_err() || close {
                return;
            }
        }
    }

    /// Reads one request (head and Content-Length body); None when the
    /// client closed the connection or the proxy stops.
    fn read_request(&self, client: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, Vec<u8>)> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(end) = find(buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                let length: usize = header(&head, "content-length")
                    .map(|v| v.parse().expect("Content-Length"))
                    .unwrap_or(0);
                assert!(
                    header(&head, "transfer-encoding").is_none(),
                    "chunked requests are not supported: {head}"
                );
                if buf.len() >= end + 4 + length {
                    let body = buf[end + 4..end + 4 + length].to_vec();
                    buf.drain(..end + 4 + length);
                    return Some((head, body));
                }
            }
            if self.stop.load(Ordering::Relaxed) {
                return None;
            }
            match client.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return None,
            }
        }
    }

    /// Sends the request to moto and returns its whole response.
    fn forward(&self, head: &str, body: &[u8]) -> Option<Vec<u8>> {
        let mut upstream =
            TcpStream::connect_timeout(&self.upstream, Duration::from_secs(5)).ok()?;
        upstream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        let mut request: String = head
            .split("\r\n")
            .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
            .map(|l| format!("{l}\r\n"))
            .collect();
        request.push_str("Connection: close\r\n\r\n");
        upstream.write_all(request.as_bytes()).ok()?;
        upstream.write_all(body).ok()?;
        let mut response = Vec::new();
        upstream.read_to_end(&mut response).ok()?;
        Some(response)
    }

    /// The response to send to the client under `fault`, and whether to
    /// close the connection after it; None to hang up.
    fn apply(&self, fault: Fault, request: &[u8], response: Vec<u8>) -> Option<(Vec<u8>, bool)> {
        let end = find(&response, b"\r\n\r\n").expect("response head");
        let head = String::from_utf8_lossy(&response[..end]).into_owned();
        assert!(header(&head, "transfer-encoding").is_none(), "{head}");
        let mut body = response[end + 4..].to_vec();
        let is_report = find(request, b"Action=GetCredentialReport").is_some();
        match fault {
            Fault::None => {}
            Fault::Delay(delay) => {
                self.faulty.fetch_add(1, Ordering::SeqCst);
                let until = Instant::now() + delay;
                while Instant::now() < until {
                    if self.stop.load(Ordering::Relaxed) {
                        return None;
                    }
                    thread::sleep(Duration::from_millis(50));
                }
            }
            Fault::TruncateReport if is_report => {
                self.faulty.fetch_add(1, Ordering::SeqCst);
                body.truncate(body.len() / 2);
            }
            Fault::ReportContent(content) if is_report => {
                self.faulty.fetch_add(1, Ordering::SeqCst);
                let text = String::from_utf8(body).expect("moto XML");
                let start = text.find("<Content>").expect("<Content>") + "<Content>".len();
                let stop = text.find("</Content>").expect("</Content>");
                let encoded = base64::engine::general_purpose::STANDARD.encode(content.as_slice());
                body = format!("{}{encoded}{}", &text[..start], &text[stop..]).into_bytes();
            }
            Fault::CutReport if is_report => {
                self.faulty.fetch_add(1, Ordering::SeqCst);
                let mut out = response[..end + 4].to_vec();
                out.extend_from_slice(&body[..body.len() / 2]);
                return Some((out, true));
            }
            Fault::TruncateReport | Fault::CutReport | Fault::ReportContent(_) => {}
        }
        let mut out: String = head
            .split("\r\n")
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                !l.starts_with("content-length:") && !l.starts_with("connection:")
            })
            .map(|l| format!("{l}\r\n"))
            .collect();
        out.push_str(&format!(
            "Content-Length: {}\r\nConnection: keep-alive\r\n\r\n",
            body.len()
        ));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&body);
        Some((bytes, false))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}
