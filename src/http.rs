//! The HTTP server: metrics, landing page, health and readiness, with the
//! web configuration (TLS, basic auth, headers) and the protections against
//! slow or greedy clients: a deadline for the TLS handshake and the request
//! headers, a bound on the header size, and a cap on open connections.
//!
//! [`serve`] takes a bound listener and a shutdown future, so tests bind
//! `127.0.0.1:0` and stop the server when they are done.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{debug, error, info, warn};

use crate::exposition::{self, Format};
use crate::metrics::Exposition;
use crate::snapshot::Store;
use crate::web_config::WebConfig;

/// How long a client may take to finish the TLS handshake and to send its
/// request headers, unless [`App::header_read_timeout`] says otherwise.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line and headers) read into memory; a
/// larger one gets 431 and the connection is closed.
const MAX_REQUEST_HEAD: usize = 64 * 1024;
/// How long in-flight requests may take to finish after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub struct App {
    pub exposition: Exposition,
    pub store: Arc<Store>,
    pub telemetry_path: String,
    pub max_connections: usize,
    /// Turns to send a response on the telemetry path
    /// (`--web.max-scrapes-in-flight`).
    pub scrapes: Arc<Semaphore>,
    /// How long a response holds its turn at most ([`SCRAPE_TURN`]).
    pub scrape_turn: Duration,
    /// TLS, basic authentication and extra headers; the default is none of them.
    pub web: WebConfig,
    /// Deadline for the TLS handshake and for each request's headers.
    pub header_read_timeout: Duration,
}

/// Default `--web.max-connections`.
pub const MAX_CONNECTIONS: usize = 64;

/// Default `--web.max-scrapes-in-flight`.
pub const MAX_SCRAPES_IN_FLIGHT: usize = 4;

/// How long a response holds its turn at most: a client that reads slowly
/// keeps its connection, not the others waiting.
pub const SCRAPE_TURN: Duration = Duration::from_secs(10);

/// `n` turns to send a response on the telemetry path, taken in order.
pub fn scrape_turns(n: usize) -> Arc<Semaphore> {
    Arc::new(Semaphore::new(n.max(1)))
}

impl App {
    /// Serves `exposition` on `/metrics` and readiness from `store`, without
    /// TLS or authentication, with the default limits.
    pub fn new(exposition: Exposition, store: Arc<Store>) -> Self {
        Self {
            exposition,
            store,
            telemetry_path: String::from("/metrics"),
            max_connections: MAX_CONNECTIONS,
            scrapes: scrape_turns(MAX_SCRAPES_IN_FLIGHT),
            scrape_turn: SCRAPE_TURN,
            web: WebConfig::default(),
            header_read_timeout: HEADER_READ_TIMEOUT,
        }
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("telemetry_path", &self.telemetry_path)
            .field("max_connections", &self.max_connections)
            .field("web", &self.web)
            .field("header_read_timeout", &self.header_read_timeout)
            .finish_non_exhaustive()
    }
}

/// A small page in one piece, or a streamed exposition.
type Body = Either<Full<Bytes>, Stream>;

/// The exposition body, chunk by chunk as the connection takes them, with
/// the response's turn: given back when the body is sent (or dropped), or
/// after [`SCRAPE_TURN`].
pub struct Stream {
    body: exposition::Body,
    /// Gives the turn back when dropped (see [`hold`]).
    turn: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Holds `turn` until the returned sender is dropped or `limit` has passed,
/// whichever comes first: a response whose client stops reading is not
/// polled any more, so the limit runs on a timer of its own.
fn hold(turn: OwnedSemaphorePermit, limit: Duration) -> tokio::sync::oneshot::Sender<()> {
    let (done, finished) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = tokio::time::timeout(limit, finished).await;
        drop(turn);
    });
    done
}

impl hyper::body::Body for Stream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let chunk = this.body.next();
        if chunk.is_none() {
            this.turn = None;
        }
        std::task::Poll::Ready(chunk.map(|b| Ok(hyper::body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.body.len())
    }
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let tls = app.web.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    info!(
        tls = tls.is_some(),
        basic_auth = app.web.basic_auth.is_some(),
        max_connections = app.max_connections,
        "serving HTTP"
    );
    let slots = Arc::new(tokio::sync::Semaphore::new(app.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        // Wait for a free connection slot before accepting, so excess clients
        // queue in the kernel's backlog instead of costing memory here.
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = Arc::clone(&slots).acquire_owned() => permit.expect("semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Running out of file descriptors must not end the server.
                    warn!(cause = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let app = Arc::clone(&app);
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let deadline = app.header_read_timeout;
            let result = match tls {
                None => connection(app, stream, watcher).await,
                // The handshake runs here, not in the accept loop, and has the
                // same deadline as the request headers, so a client that
                // connects and stays silent only holds its own slot, briefly.
                Some(acceptor) => {
                    match tokio::time::timeout(deadline, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection(app, stream, watcher).await,
                        Ok(Err(e)) => {
                            debug!(%peer, cause = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            debug!(%peer, timeout = ?deadline, "TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            if let Err(e) = result {
                debug!(%peer, cause = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    info!("shutting down HTTP server");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        warn!(grace = ?SHUTDOWN_GRACE, "connections still open after the grace period; closing them");
    }
    Ok(())
}

/// Serves one HTTP/1.1 connection over plain TCP or TLS.
async fn connection<IO>(app: Arc<App>, io: IO, watcher: Watcher) -> hyper::Result<()>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let deadline = app.header_read_timeout;
    let service = hyper::service::service_fn(move |req| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(handle(&app, req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(deadline)
        // Both: the buffer limit alone is soft (one read may fill more than
        // it), the header-size limit is checked on the parsed head.
        .max_buf_size(MAX_REQUEST_HEAD)
        .max_header_size(MAX_REQUEST_HEAD)
        .serve_connection(TokioIo::new(io), service);
    watcher.watch(conn).await
}

/// Applies the web configuration (headers, then basic auth, on every path as
/// exporter-toolkit does) around [`route`].
async fn handle(app: &Arc<App>, req: Request<Incoming>) -> Response<Body> {
    let mut resp = match &app.web.basic_auth {
        Some(auth) if !auth.check(req.headers().get(AUTHORIZATION)).await => {
            debug!(path = req.uri().path(), "request without valid credentials");
            let mut resp = text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
            resp.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
            resp
        }
        _ => route(app, req).await,
    };
    for (name, value) in &app.web.headers {
        resp.headers_mut().insert(name.clone(), value.clone());
    }
    resp
}

async fn route(app: &Arc<App>, req: Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed\n");
        resp.headers_mut()
            .insert(hyper::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let path = req.uri().path();
    if path == app.telemetry_path {
        let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
        return metrics(app, Format::negotiate(accept)).await;
    }
    match path {
        "/" => landing(app),
        "/-/healthy" => text(StatusCode::OK, "Healthy\n"),
        "/-/ready" if app.store.is_ready() => text(StatusCode::OK, "Ready\n"),
        "/-/ready" => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready: waiting for the first successful refresh\n",
        ),
        _ => text(StatusCode::NOT_FOUND, "Not found\n"),
    }
}

async fn metrics(app: &Arc<App>, format: Format) -> Response<Body> {
    // Wait for a turn before choosing the snapshot: a waiting scrape keeps
    // nothing alive, and gets the data current when its turn comes.
    let turn = Arc::clone(&app.scrapes)
        .acquire_owned()
        .await
        .expect("the scrape semaphore is never closed");
    // The one load of this scrape: everything in the response comes from it.
    let snapshot = app.exposition.snapshot();
    // Rendering the accounts refreshed since the last scrape is CPU work
    // proportional to their keys; keep it off the threads that serve
    // connections. The body then streams the cached text.
    let encoder = Arc::clone(app);
    let body = match tokio::task::spawn_blocking(move || encoder.exposition.body(&snapshot, format))
        .await
    {
        Ok(Ok(body)) => body,
        Ok(Err(e)) => {
            error!(cause = %e, "encoding metrics failed");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Encoding metrics failed\n",
            );
        }
        Err(e) => {
            error!(cause = %e, "encoding task failed");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Encoding metrics failed\n",
            );
        }
    };
    let mut resp = Response::new(Either::Right(Stream {
        body,
        turn: Some(hold(turn, app.scrape_turn)),
    }));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    resp
}

fn landing(app: &App) -> Response<Body> {
    let path = html_escape(&app.telemetry_path);
    let body = format!(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>IAM Credentials Exporter</title></head>\n<body>\n<h1>IAM Credentials Exporter</h1>\n<p>Version {version}</p>\n<ul>\n<li><a href=\"{path}\">Metrics</a></li>\n<li><a href=\"/-/healthy\">Health</a></li>\n<li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n</body>\n</html>\n",
        version = env!("CARGO_PKG_VERSION"),
    );
    let mut resp = Response::new(Either::Left(Full::new(Bytes::from(body))));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut resp = Response::new(Either::Left(Full::new(Bytes::from_static(body.as_bytes()))));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
