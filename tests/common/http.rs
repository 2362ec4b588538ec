//! A minimal HTTP/1.1 client and server for tests, on loopback: enough to
//! GET a page from the exporter, Prometheus or Alertmanager and to stand in
//! for an endpoint, without pulling an HTTP library into the build.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn get(addr: SocketAddr, path: &str) -> Response {
    get_with(addr, path, &[])
}

pub fn get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    request(addr, "GET", path, headers)
}

/// One request on its own connection; panics if the server does not answer.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    parse(&raw).expect("response head")
}

/// GET that tolerates a server that is not up yet (`None`), and decodes a
/// chunked body.
pub fn try_get(addr: SocketAddr, path: &str) -> Option<Response> {
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    let mut resp = get(addr, path);
    if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        resp.body = dechunk(&resp.body);
    }
    Some(resp)
}

/// POSTs `body` as JSON; the status, or 0 if nothing answers.
pub fn post_json(addr: SocketAddr, path: &str, body: &serde_json::Value) -> u16 {
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = || {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.write_all(request.as_bytes()).ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).ok()?;
        parse(&raw)
    };
    answer().map_or(0, |r| r.status)
}

fn parse(raw: &[u8]) -> Option<Response> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Response {
        status,
        headers,
        body: body.to_owned(),
    })
}

fn dechunk(body: &str) -> String {
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(eol) = bytes[pos..].windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&bytes[pos..pos + eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size {size_text:?}"));
        pos += eol + 2;
        if size == 0 {
            break;
        }
        out.extend_from_slice(&bytes[pos..pos + size]);
        pos += size + 2;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A loopback address nothing listens on (yet).
pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// One request an [`HttpSink`] received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub body: String,
    pub at: Instant,
}

/// A loopback HTTP server that records every request and answers with
/// `respond(body)`: an endpoint that denies everything, a webhook receiver.
/// Its thread lives as long as the test process.
pub struct HttpSink {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl HttpSink {
    pub fn start(respond: fn(&str) -> (u16, String)) -> HttpSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let sink = Arc::clone(&sink);
                thread::spawn(move || {
                    let _ = serve(stream, &sink, respond);
                });
            }
        });
        HttpSink { addr, received }
    }

    /// Every request so far, in order of arrival.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn bodies(&self) -> Vec<String> {
        self.received().into_iter().map(|r| r.body).collect()
    }
}

/// Serves the requests of one (possibly kept-alive) connection.
fn serve(
    stream: TcpStream,
    sink: &Mutex<Vec<Received>>,
    respond: fn(&str) -> (u16, String),
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split(' ').nth(1).unwrap_or("").to_owned();
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let body = String::from_utf8_lossy(&body).into_owned();
        let (status, answer) = respond(&body);
        sink.lock().unwrap().push(Received {
            path,
            body,
            at: Instant::now(),
        });
        write!(
            writer,
            "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        )?;
        writer.flush()?;
    }
}
