//! The web configuration file (TLS, client certificates, basic auth, headers)
//! and the HTTP protections (header deadline, request size, connection cap).
//!
//! Servers run in-process on 127.0.0.1 through `http::serve`; certificates
//! are generated here with rcgen, so no private key lives in the repository.
//! The table of bad files runs the real binary and checks exit code 2.

use crate::common;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use iam_credentials_exporter::http::{self, App};
use iam_credentials_exporter::metrics::Exposition;
use iam_credentials_exporter::snapshot::Store;
use iam_credentials_exporter::web_config::WebConfig;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// Every test finishes within this, whatever the server does.
const TEST_DEADLINE: Duration = Duration::from_secs(60);

async fn bounded<F: Future<Output = ()>>(test: F) {
    tokio::time::timeout(TEST_DEADLINE, test)
        .await
        .expect("test exceeded its deadline");
}

// ---------------------------------------------------------------- server

struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

struct Options {
    web: WebConfig,
    max_connections: usize,
    header_read_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            web: WebConfig::default(),
            max_connections: 64,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

async fn start(options: Options) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let store = Arc::new(Store::default());
    let exposition = Exposition::new(
        Arc::clone(&store),
        iam_credentials_exporter::time::system_clock(),
        Duration::from_secs(300),
        &Default::default(),
    );
    let app = Arc::new(App {
        max_connections: options.max_connections,
        web: options.web,
        header_read_timeout: options.header_read_timeout,
        ..App::new(exposition, store)
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(http::serve(listener, app, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
    }
}

fn web(yaml: &str, dir: &Path) -> WebConfig {
    let path = dir.join("web.yml");
    std::fs::write(&path, yaml).unwrap();
    WebConfig::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------- client

#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends one GET over `stream` and reads the response until the server closes.
async fn get<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    path: &str,
    headers: &[(&str, &str)],
) -> io::Result<Response> {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw).await {
        Ok(_) => {}
        // A server that closes TCP without close_notify after a complete response.
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    let text = String::from_utf8_lossy(&raw);
    let head = text
        .split_once("\r\n\r\n")
        .map(|(h, _)| h.to_owned())
        .ok_or_else(|| io::Error::other(format!("no response head in {text:?}")))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no status in {head:?}")))?;
    Ok(Response { status, head })
}

async fn plain_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    let stream = TcpStream::connect(addr).await.unwrap();
    get(stream, path, headers).await.unwrap()
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

// ---------------------------------------------------------------- certificates

/// A CA, a server certificate for localhost/127.0.0.1 and a client
/// certificate, all generated for this test run and written to `dir`.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    client_chain: Vec<CertificateDer<'static>>,
    client_key: String,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A leaf certificate signed by `issuer`: (certificate PEM, key PEM).
fn leaf(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    fn write(dir: &Path) -> Pki {
        let ca = ca("iam-credentials-exporter test CA");
        let (server_pem, server_key) = leaf(
            &ca,
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_pem, client_key) =
            leaf(&ca, &["prometheus"], ExtendedKeyUsagePurpose::ClientAuth);
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("server.pem"), server_pem).unwrap();
        std::fs::write(dir.join("server-key.pem"), server_key).unwrap();
        Pki {
            client_chain: chain(&client_pem),
            client_key,
            ca,
        }
    }

    fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.der().clone()).unwrap();
        roots
    }
}

fn chain(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn client_config(
    roots: RootCertStore,
    versions: &[&'static rustls::SupportedProtocolVersion],
    identity: Option<(Vec<CertificateDer<'static>>, &str)>,
) -> ClientConfig {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    match identity {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => builder
            .with_client_auth_cert(
                chain,
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
    }
}

/// Handshakes with the server and GETs `path`; any TLS failure is the error.
async fn tls_get(addr: SocketAddr, config: ClientConfig, path: &str) -> io::Result<Response> {
    let tcp = TcpStream::connect(addr).await?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    get(tls, path, &[]).await
}

const ALL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

// ---------------------------------------------------------------- basic auth

async fn basic_auth_server(dir: &Path) -> Server {
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let yaml = format!("basic_auth_users:\n  prometheus: {hash}\n  other: {hash}\n");
    start(Options {
        web: web(&yaml, dir),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn requests_without_credentials_get_401_with_a_basic_challenge() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let server = basic_auth_server(dir.path()).await;
        let resp = plain_get(server.addr, "/metrics", &[]).await;
        assert_eq!(resp.status, 401, "{resp:?}");
        assert_eq!(resp.header("WWW-Authenticate"), Some("Basic"));
    })
    .await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_401() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let server = basic_auth_server(dir.path()).await;
        for auth in [
            basic("prometheus", "wrong"),
            basic("prometheus", ""),
            basic("nobody", "s3cret"),
            basic("Prometheus", "s3cret"),
            String::from("Bearer s3cret"),
        ] {
            let resp = plain_get(server.addr, "/metrics", &[("Authorization", &auth)]).await;
            assert_eq!(resp.status, 401, "{auth}: {resp:?}");
            assert_eq!(resp.header("WWW-Authenticate"), Some("Basic"));
        }
    })
    .await;
}

#[tokio::test]
async fn valid_credentials_get_200() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let server = basic_auth_server(dir.path()).await;
        let auth = basic("prometheus", "s3cret");
        // Twice: the second answer comes from the cache of verified passwords.
        for _ in 0..2 {
            let resp = plain_get(server.addr, "/metrics", &[("Authorization", &auth)]).await;
            assert_eq!(resp.status, 200, "{resp:?}");
            assert_eq!(resp.header("WWW-Authenticate"), None);
        }
        let resp = plain_get(
            server.addr,
            "/-/healthy",
            &[("Authorization", &basic("other", "s3cret"))],
        )
        .await;
        assert_eq!(resp.status, 200, "{resp:?}");
    })
    .await;
}

#[tokio::test]
async fn basic_auth_applies_to_every_path() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let server = basic_auth_server(dir.path()).await;
        for path in ["/", "/metrics", "/-/healthy", "/-/ready", "/no-such-page"] {
            let resp = plain_get(server.addr, path, &[]).await;
            assert_eq!(resp.status, 401, "{path}: {resp:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn configured_headers_are_on_every_response_including_401() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let yaml = format!(
            "basic_auth_users:\n  prometheus: {hash}\nhttp_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    Strict-Transport-Security: max-age=31536000\n    Content-Security-Policy: \"\"\n"
        );
        let server = start(Options {
            web: web(&yaml, dir.path()),
            ..Options::default()
        })
        .await;
        let denied = plain_get(server.addr, "/metrics", &[]).await;
        let auth = basic("prometheus", "s3cret");
        let allowed = plain_get(server.addr, "/metrics", &[("Authorization", &auth)]).await;
        assert_eq!((denied.status, allowed.status), (401, 200));
        for resp in [denied, allowed] {
            assert_eq!(resp.header("X-Frame-Options"), Some("deny"));
            assert_eq!(resp.header("X-Content-Type-Options"), Some("nosniff"));
            assert_eq!(
                resp.header("Strict-Transport-Security"),
                Some("max-age=31536000")
            );
            // Blank means unset, as in exporter-toolkit.
            assert_eq!(resp.header("Content-Security-Policy"), None);
        }
    })
    .await;
}

// ---------------------------------------------------------------- TLS

#[tokio::test]
async fn tls_handshake_with_a_generated_ca_serves_metrics() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::write(dir.path());
        // Relative paths are relative to the configuration file.
        let yaml = "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n";
        let server = start(Options {
            web: web(yaml, dir.path()),
            ..Options::default()
        })
        .await;
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let config = client_config(pki.roots(), &[version], None);
            let resp = tls_get(server.addr, config, "/metrics").await.unwrap();
            assert_eq!(resp.status, 200, "{version:?}: {resp:?}");
        }
        // A client that does not trust the CA refuses the server.
        let untrusted = ca("another CA");
        let mut roots = RootCertStore::empty();
        roots.add(untrusted.der().clone()).unwrap();
        let err = tls_get(server.addr, client_config(roots, ALL_VERSIONS, None), "/")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("UnknownIssuer"), "{err}");
        // Plain HTTP on the TLS port gets no HTTP answer.
        let stream = TcpStream::connect(server.addr).await.unwrap();
        assert!(get(stream, "/metrics", &[]).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn tls_with_inline_certificate_and_basic_auth() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::write(dir.path());
        let indent = |s: String| s.lines().map(|l| format!("    {l}\n")).collect::<String>();
        let cert = indent(std::fs::read_to_string(dir.path().join("server.pem")).unwrap());
        let key = indent(std::fs::read_to_string(dir.path().join("server-key.pem")).unwrap());
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let yaml = format!(
            "tls_server_config:\n  cert: |\n{cert}  key: |\n{key}basic_auth_users:\n  prometheus: {hash}\n"
        );
        let server = start(Options {
            web: web(&yaml, dir.path()),
            ..Options::default()
        })
        .await;
        let connect = || async {
            let tcp = TcpStream::connect(server.addr).await.unwrap();
            TlsConnector::from(Arc::new(client_config(pki.roots(), ALL_VERSIONS, None)))
                .connect(ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .unwrap()
        };
        let resp = get(connect().await, "/metrics", &[]).await.unwrap();
        assert_eq!(resp.status, 401);
        let auth = basic("prometheus", "s3cret");
        let resp = get(connect().await, "/metrics", &[("Authorization", &auth)])
            .await
            .unwrap();
        assert_eq!(resp.status, 200);
    })
    .await;
}

#[tokio::test]
async fn min_version_tls13_refuses_tls12_clients() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::write(dir.path());
        let yaml = "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n  min_version: TLS13\n";
        let server = start(Options {
            web: web(yaml, dir.path()),
            ..Options::default()
        })
        .await;
        let tls12 = client_config(pki.roots(), &[&rustls::version::TLS12], None);
        let err = tls_get(server.addr, tls12, "/").await.unwrap_err();
        assert!(err.to_string().contains("ProtocolVersion"), "{err}");
        let tls13 = client_config(pki.roots(), &[&rustls::version::TLS13], None);
        assert_eq!(tls_get(server.addr, tls13, "/").await.unwrap().status, 200);
    })
    .await;
}

#[tokio::test]
async fn required_client_certificate_must_be_signed_by_the_client_ca() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::write(dir.path());
        let yaml = "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n";
        let server = start(Options {
            web: web(yaml, dir.path()),
            ..Options::default()
        })
        .await;

        // TLS 1.3 clients learn of the refusal on their first read, TLS 1.2
        // ones during the handshake: either way no HTTP response arrives.
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let none = client_config(pki.roots(), &[version], None);
            let err = tls_get(server.addr, none, "/metrics").await.unwrap_err();
            assert!(
                err.to_string().contains("CertificateRequired")
                    || err.to_string().contains("HandshakeFailure"),
                "{version:?}: {err}"
            );

            let stranger = ca("stranger CA");
            let (pem, key) = leaf(&stranger, &["intruder"], ExtendedKeyUsagePurpose::ClientAuth);
            let foreign = client_config(pki.roots(), &[version], Some((chain(&pem), &key)));
            let err = tls_get(server.addr, foreign, "/metrics").await.unwrap_err();
            assert!(err.to_string().contains("UnknownCA"), "{version:?}: {err}");

            let good = client_config(
                pki.roots(),
                &[version],
                Some((pki.client_chain.clone(), &pki.client_key)),
            );
            let resp = tls_get(server.addr, good, "/metrics").await.unwrap();
            assert_eq!(resp.status, 200, "{version:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn verify_client_cert_if_given_accepts_no_certificate_but_not_a_bad_one() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::write(dir.path());
        let ca_pem = pki.ca.pem().lines().map(|l| format!("    {l}\n")).collect::<String>();
        let yaml = format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca: |\n{ca_pem}"
        );
        let server = start(Options {
            web: web(&yaml, dir.path()),
            ..Options::default()
        })
        .await;
        let none = client_config(pki.roots(), ALL_VERSIONS, None);
        assert_eq!(tls_get(server.addr, none, "/").await.unwrap().status, 200);
        let good = client_config(
            pki.roots(),
            ALL_VERSIONS,
            Some((pki.client_chain.clone(), &pki.client_key)),
        );
        assert_eq!(tls_get(server.addr, good, "/").await.unwrap().status, 200);
        let stranger = ca("stranger CA");
        let (pem, key) = leaf(&stranger, &["intruder"], ExtendedKeyUsagePurpose::ClientAuth);
        let foreign = client_config(pki.roots(), ALL_VERSIONS, Some((chain(&pem), &key)));
        let err = tls_get(server.addr, foreign, "/").await.unwrap_err();
        assert!(err.to_string().contains("UnknownCA"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn a_key_that_does_not_match_the_certificate_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let _pki = Pki::write(dir.path());
    std::fs::write(
        dir.path().join("other-key.pem"),
        KeyPair::generate().unwrap().serialize_pem(),
    )
    .unwrap();
    let path = dir.path().join("web.yml");
    std::fs::write(
        &path,
        "tls_server_config:\n  cert_file: server.pem\n  key_file: other-key.pem\n",
    )
    .unwrap();
    let err = WebConfig::load(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "invalid --web.config.file {path:?}: tls_server_config: the private key does not match the certificate"
        ),
    );
}

// ---------------------------------------------------------------- HTTP protections

/// Reads until the server closes the connection; returns what it sent and when it closed.
async fn wait_for_close(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, started.elapsed()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("connection still open after {limit:?}"),
        }
    }
}

#[tokio::test]
async fn a_client_sending_half_a_request_line_is_disconnected_after_the_header_deadline() {
    bounded(async {
        let deadline = Duration::from_millis(300);
        let server = start(Options {
            header_read_timeout: deadline,
            ..Options::default()
        })
        .await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(b"GET /metr").await.unwrap();
        let (_, after) = wait_for_close(&mut stream, Duration::from_secs(5)).await;
        assert!(
            after >= deadline - Duration::from_millis(50),
            "closed after {after:?}"
        );

        // A connection that sends nothing at all is not kept either.
        let mut silent = TcpStream::connect(server.addr).await.unwrap();
        let (got, _) = wait_for_close(&mut silent, Duration::from_secs(5)).await;
        assert!(
            got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
            "{got:?}"
        );

        // The server still answers well-behaved clients.
        assert_eq!(plain_get(server.addr, "/-/healthy", &[]).await.status, 200);
    })
    .await;
}

#[tokio::test]
async fn a_silent_client_on_the_tls_port_is_disconnected_after_the_deadline() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let _pki = Pki::write(dir.path());
        let yaml = "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n";
        let server = start(Options {
            web: web(yaml, dir.path()),
            header_read_timeout: Duration::from_millis(300),
            ..Options::default()
        })
        .await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let (got, after) = wait_for_close(&mut stream, Duration::from_secs(5)).await;
        assert!(got.is_empty(), "{got:?}");
        assert!(
            after >= Duration::from_millis(250),
            "closed after {after:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_request_with_100_kib_of_headers_is_refused() {
    bounded(async {
        let server = start(Options::default()).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let mut req = String::from("GET /metrics HTTP/1.1\r\nHost: localhost\r\n");
        // Few headers (hyper also caps their number at 100), but 100 KiB of them.
        let filler = "x".repeat(10 * 1024);
        for i in 0..10 {
            req.push_str(&format!("X-Filler-{i}: {filler}\r\n"));
        }
        req.push_str("\r\n");
        // The server may stop reading and close before the whole request is
        // sent; a write error is one of the acceptable outcomes.
        let _ = stream.write_all(req.as_bytes()).await;
        let (got, _) = wait_for_close(&mut stream, Duration::from_secs(5)).await;
        let text = String::from_utf8_lossy(&got);
        assert!(
            got.is_empty() || text.starts_with("HTTP/1.1 431"),
            "unexpected answer: {text}"
        );
    })
    .await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_a_slot_frees() {
    bounded(async {
        let server = start(Options {
            max_connections: 2,
            ..Options::default()
        })
        .await;
        let held_a = TcpStream::connect(server.addr).await.unwrap();
        let _held_b = TcpStream::connect(server.addr).await.unwrap();
        // Give the server time to accept both.
        tokio::time::sleep(Duration::from_millis(200)).await;

        let addr = server.addr;
        let third = tokio::spawn(async move { plain_get(addr, "/-/healthy", &[]).await });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            !third.is_finished(),
            "a third connection was served beyond the cap"
        );

        drop(held_a);
        let resp = tokio::time::timeout(Duration::from_secs(5), third)
            .await
            .expect("the waiting connection was not served after a slot freed")
            .unwrap();
        assert_eq!(resp.status, 200);
    })
    .await;
}

// ---------------------------------------------------------------- the binary

fn fixture(name: &str) -> PathBuf {
    common::exporter::repo()
        .join("tests/fixtures/web")
        .join(name)
}

/// Runs the binary with `--web.config.file path`; returns its exit code and stderr.
fn run_binary(path: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(common::exporter::BIN)
        .args([
            "--web.listen-address",
            "127.0.0.1:0",
            "--credential-report.file",
        ])
        .arg(common::exporter::example_report())
        .arg("--web.config.file")
        .arg(path)
        .env_remove("IAM_EXPORTER_WEB_CONFIG_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the exporter kept running with {}", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_web_config_files_exit_2_with_one_line_naming_the_problem() {
    let table: &[(&str, &str)] = &[
        (
            "unknown_top_level_key.yml",
            "unknown field `basic_auth_user`, expected one of `tls_server_config`, `http_server_config`, `basic_auth_users`, `rate_limit` at line 2 column 1",
        ),
        (
            "unknown_tls_key.yml",
            "tls_server_config: unknown field `client_ca_files`, expected one of `cert`, `key`, `client_ca`, `cert_file`, `key_file`, `client_auth_type`, `client_ca_file`, `client_allowed_sans`, `min_version`, `max_version`, `cipher_suites`, `prefer_server_cipher_suites`, `curve_preferences` at line 4 column 3",
        ),
        (
            "unknown_http_key.yml",
            "http_server_config: unknown field `http3`, expected `http2` or `headers` at line 2 column 3",
        ),
        (
            "not_yaml.yml",
            "found unexpected end of stream at line 3 column 1, while scanning a quoted scalar at line 2 column 15",
        ),
        (
            "wrong_type.yml",
            "basic_auth_users: invalid type: sequence, expected a mapping of strings to strings at line 2 column 3",
        ),
        (
            "duplicate_user.yml",
            "basic_auth_users: duplicate key \"prometheus\" at line 2 column 3",
        ),
        (
            "bad_bcrypt_hash.yml",
            "basic_auth_users.prometheus: not a bcrypt hash (Invalid hash: the hash format is malformed; expected 60 ASCII bytes)",
        ),
        (
            "bad_bcrypt_cost.yml",
            "basic_auth_users.prometheus: bcrypt cost 32 is outside 4 to 31, so no password can match",
        ),
        (
            "min_version_tls11.yml",
            "tls_server_config.min_version TLS11 is not supported (TLS12 and TLS13 are)",
        ),
        (
            "unknown_max_version.yml",
            "tls_server_config.max_version: unknown value \"TLS14\" (expected TLS12 or TLS13)",
        ),
        (
            "min_above_max.yml",
            "tls_server_config: min_version is greater than max_version",
        ),
        (
            "request_client_cert.yml",
            "tls_server_config.client_auth_type RequestClientCert is not supported: client certificates are only accepted when verified; use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file",
        ),
        (
            "unknown_client_auth_type.yml",
            "tls_server_config.client_auth_type: unknown value \"VerifyEverything\" (expected one of: NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)",
        ),
        (
            "client_auth_without_ca.yml",
            "tls_server_config.client_auth_type RequireAndVerifyClientCert needs client_ca_file or client_ca",
        ),
        (
            "ca_without_client_auth.yml",
            "tls_server_config: a client CA is configured but client_auth_type is NoClientCert; set client_auth_type to RequireAndVerifyClientCert",
        ),
        (
            "missing_key.yml",
            "tls_server_config: missing one of key or key_file",
        ),
        (
            "cert_twice.yml",
            "tls_server_config: cert and cert_file are mutually exclusive",
        ),
        (
            "cert_file_not_pem.yml",
            "tls_server_config: no PEM certificate found in cert/cert_file",
        ),
        (
            "cbc_cipher_suite.yml",
            "tls_server_config.cipher_suites: TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is not supported (only ECDHE suites with AES-GCM or ChaCha20-Poly1305 are)",
        ),
        (
            "unknown_cipher_suite.yml",
            "tls_server_config.cipher_suites: unknown cipher suite \"TLS_FANCY_NEW_CIPHER\"",
        ),
        (
            "curve_p521.yml",
            "tls_server_config.curve_preferences: CurveP521 is not supported (X25519, CurveP256 and CurveP384 are)",
        ),
        (
            "client_allowed_sans.yml",
            "tls_server_config.client_allowed_sans is not supported",
        ),
        (
            "rate_limit.yml",
            "rate_limit is not supported; use --web.max-connections to bound the load",
        ),
        (
            "header_not_allowed.yml",
            "http_server_config.headers: header \"Access-Control-Allow-Origin\" cannot be configured (allowed: Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection)",
        ),
        (
            "header_bad_value.yml",
            "http_server_config.headers.X-Frame-Options: invalid value \"allow\" (expected one of: deny, sameorigin)",
        ),
    ];
    let mut cases: Vec<(PathBuf, String)> = table
        .iter()
        .map(|(file, reason)| (fixture(file), reason.to_string()))
        .collect();
    let missing_cert = fixture("cert_file_missing.yml");
    cases.push((
        missing_cert.clone(),
        format!(
            "tls_server_config.cert_file: cannot read {}: No such file or directory (os error 2)",
            fixture("does-not-exist.pem").display()
        ),
    ));
    cases.push((
        fixture("no-such-web-config.yml"),
        String::from("cannot read: No such file or directory (os error 2)"),
    ));

    // Every fixture in the folder is in the table.
    let mut listed: Vec<PathBuf> = cases.iter().map(|(p, _)| p.clone()).collect();
    listed.sort();
    for entry in std::fs::read_dir(fixture("")).unwrap() {
        let path = entry.unwrap().path();
        assert!(
            listed.binary_search(&path).is_ok(),
            "{} has no expected error",
            path.display()
        );
    }

    let mut failures = Vec::new();
    for (path, reason) in &cases {
        let (code, stderr) = run_binary(path);
        let expected = format!(
            "iam-credentials-exporter: error: invalid --web.config.file {path:?}: {reason}"
        );
        let lines: Vec<&str> = stderr.lines().collect();
        if code != Some(2) || lines != [expected.as_str()] {
            failures.push(format!(
                "{}: exit {code:?}\n  expected: {expected}\n  stderr:   {stderr}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_binary_serves_metrics_only_with_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let path = dir.path().join("web.yml");
    std::fs::write(&path, format!("basic_auth_users:\n  prometheus: {hash}\n")).unwrap();
    let report = common::exporter::example_report();
    let exporter = common::exporter::Exporter::start(
        &[
            "--credential-report.file",
            report.to_str().unwrap(),
            "--web.config.file",
            path.to_str().unwrap(),
        ],
        &[],
    );
    let denied = common::http::get(exporter.addr, "/metrics");
    assert_eq!(denied.status, 401);
    assert_eq!(denied.header("WWW-Authenticate"), Some("Basic"));
    let auth = basic("prometheus", "s3cret");
    let allowed = common::http::get_with(exporter.addr, "/metrics", &[("Authorization", &auth)]);
    assert_eq!(allowed.status, 200);
    assert!(allowed.body.contains("# TYPE"), "{}", allowed.body);
    let status = exporter.terminate(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
}
