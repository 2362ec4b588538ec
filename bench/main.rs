//! Tools for the benchmarks in `bench/run.sh`:
//!
//! * `report USERS KEYS_PER_USER PATH`: writes a synthetic credential report
//!   (the generator of the load test, `tests/common/synthetic.rs`);
//! * `serve FILE CONTENT_TYPE`: serves FILE's bytes on every request on
//!   127.0.0.1 (port printed on stdout), the floor a `/metrics` response of
//!   the same bytes cannot go below;
//! * `scrape ADDR PATH N [ACCEPT]`: N sequential GETs, one connection each,
//!   and prints `{"median_s":..,"p90_s":..,"min_s":..,"bytes":..}`.

#[path = "../tests/common/synthetic.rs"]
#[allow(dead_code)]
mod synthetic;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["report", users, keys, path] => {
            let spec = synthetic::Spec::new(users.parse().unwrap(), keys.parse().unwrap());
            std::fs::write(path, synthetic::credential_report(&spec)).unwrap();
        }
        ["serve", file, content_type] => serve(file, content_type),
        ["scrape", addr, path, n] => scrape(addr, path, n.parse().unwrap(), None),
        ["scrape", addr, path, n, accept] => scrape(addr, path, n.parse().unwrap(), Some(accept)),
        _ => {
            eprintln!(
                "usage: iam-exporter-bench report USERS KEYS_PER_USER PATH | serve FILE CONTENT_TYPE | scrape ADDR PATH N [ACCEPT]"
            );
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// Serves the same bytes to every request until stdin closes.
fn serve(file: &str, content_type: &str) {
    let body = std::fs::read(file).unwrap();
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    let response: Arc<[u8]> = response.into();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    println!("{}", listener.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    // Stop when the parent closes stdin, and after an hour in any case.
    thread::spawn(|| {
        let mut buf = [0u8; 256];
        while let Ok(1..) = std::io::stdin().read(&mut buf) {}
        std::process::exit(0);
    });
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(3600));
        std::process::exit(0);
    });
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let response = Arc::clone(&response);
        thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let mut reader = BufReader::new(stream);
            loop {
                // Read the request head; bodies are not expected.
                let mut line = String::new();
                let mut close = false;
                loop {
                    line.clear();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) if line == "\r\n" => break,
                        Ok(_) => {
                            close |= line.to_ascii_lowercase().starts_with("connection: close")
                        }
                    }
                }
                if reader.get_mut().write_all(&response).is_err() || close {
                    return;
                }
            }
        });
    }
}

/// Times `n` scrapes, each on a new connection, as Prometheus does when it
/// does not keep connections alive.
///
/// With `BENCH_COLD=1` each scrape starts in a new second: the exporter shares
/// one rendering between the scrapes of one second, and a Prometheus that
/// scrapes every 15 s or more never benefits from that, so cold scrapes are
/// the cost that matters.
fn scrape(addr: &str, path: &str, n: usize, accept: Option<&str>) {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(accept) = accept {
        request.push_str(&format!("Accept: {accept}\r\n"));
    }
    request.push_str("\r\n");
    let mut times = Vec::with_capacity(n);
    let mut bytes = 0;
    let mut buf = Vec::with_capacity(1 << 20);
    let cold = std::env::var_os("BENCH_COLD").is_some_and(|v| v == "1");
    for _ in 0..n {
        if cold {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            std::thread::sleep(Duration::from_nanos(
                1_000_000_000 - u64::from(now.subsec_nanos()) + 5_000_000,
            ));
        }
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        buf.clear();
        stream.read_to_end(&mut buf).unwrap();
        times.push(started.elapsed().as_secs_f64());
        let head = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("response head");
        let status = String::from_utf8_lossy(&buf[..head.min(64)]).into_owned();
        assert!(status.contains(" 200 "), "unexpected response: {status}");
        bytes = buf.len() - head - 4;
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{{\"n\":{n},\"median_s\":{},\"p90_s\":{},\"min_s\":{},\"bytes\":{bytes}}}",
        at(0.5),
        at(0.9),
        times[0]
    );
}
