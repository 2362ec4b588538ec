//! A seeded moto server for integration tests.
//!
//! [`MotoServer::start`] writes the seed (schema: the docstring of
//! `tests/harness/moto_launcher.py`) to a temporary file and runs
//! `<python> tests/harness/moto_launcher.py --seed FILE --port 0`, where
//! `<python>` is `$IAM_EXPORTER_TEST_PYTHON` or `<crate>/.venv/bin/python`
//! (created by `scripts/install-test-deps.sh`). It waits for the launcher's
//! `READY` line and parses the `ACCOUNTS` and `KEYS` lines before it.
//!
//! The server listens on 127.0.0.1 only. It stops when this value is dropped
//! (the child is killed), when the test process dies (the launcher stops when
//! its stdin closes), and in any case after `max_seconds`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Environment variable naming the Python interpreter of the test venv.
pub const PYTHON_ENV: &str = "IAM_EXPORTER_TEST_PYTHON";

/// Dummy credentials for clients of the mock. They belong to no seeded user,
/// so moto maps them to the default account 123456789012 and records no
/// "last used" for any seeded key.
pub const DUMMY_ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
pub const DUMMY_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// How to run the launcher.
#[derive(Clone, Debug)]
pub struct MotoOptions {
    /// The launcher stops by itself after this many seconds.
    pub max_seconds: u64,
    /// How long to wait for `READY` (seeding included).
    pub ready_timeout: Duration,
    /// Read the seeded state back through the API before `READY` (slower
    /// for very large seeds).
    pub verify: bool,
    /// After seeding, delay every request by this much (a slow endpoint).
    pub latency: Duration,
}

impl Default for MotoOptions {
    fn default() -> Self {
        MotoOptions {
            max_seconds: 600,
            ready_timeout: Duration::from_secs(60),
            verify: true,
            latency: Duration::ZERO,
        }
    }
}

/// A running, seeded moto server.
pub struct MotoServer {
    child: Child,
    // Kept open: the launcher stops when its stdin closes.
    _stdin: Option<ChildStdin>,
    endpoint: String,
    keys: BTreeMap<String, String>,
    accounts: Value,
    dir: PathBuf,
    stderr_path: PathBuf,
}

impl MotoServer {
    /// Starts moto with `seed` and the default options; panics on failure.
    pub fn start(seed: &Value) -> MotoServer {
        Self::start_with(seed, &MotoOptions::default())
    }

    /// Starts moto with `seed`; panics with the launcher's error and the
    /// tail of its log on failure.
    pub fn start_with(seed: &Value, options: &MotoOptions) -> MotoServer {
        Self::launch(seed, options, 0)
    }

    /// Starts moto with `seed` on a fixed loopback `port`, for instance the
    /// port of a server stopped earlier, so that a client configured with the
    /// old endpoint sees the same server come back.
    pub fn start_on_port(seed: &Value, port: u16, options: &MotoOptions) -> MotoServer {
        Self::launch(seed, options, port)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.address()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("endpoint has a port")
    }

    fn launch(seed: &Value, options: &MotoOptions, port: u16) -> MotoServer {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let python = python_path(root);
        let launcher = root.join("tests/harness/moto_launcher.py");
        assert!(
            launcher.is_file(),
            "moto test harness: {} is missing",
            launcher.display()
        );

        let dir = unique_temp_dir();
        let seed_path = dir.join("seed.json");
        fs::write(
            &seed_path,
            serde_json::to_vec_pretty(seed).expect("serialize the moto seed"),
        )
        .expect("write the moto seed file");
        let stderr_path = dir.join("launcher.log");
        let stderr = File::create(&stderr_path).expect("create the moto launcher log");

        let mut cmd = Command::new(&python);
        cmd.arg(&launcher)
            .arg("--seed")
            .arg(&seed_path)
            .arg("--port")
            .arg(port.to_string())
            .arg("--max-seconds")
            .arg(options.max_seconds.to_string())
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("MOTO_ACCOUNT_ID");
        if !options.verify {
            cmd.arg("--no-verify");
        }
        if !options.latency.is_zero() {
            cmd.arg("--latency-ms")
                .arg(options.latency.as_millis().to_string());
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "moto test harness: cannot run {}: {e}; run scripts/install-test-deps.sh",
                python.display()
            )
        });
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("launcher stdout is piped");

        // Read the protocol lines on a thread so that the wait is bounded.
        let (tx, rx) = mpsc::channel::<String>();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let last = line.starts_with("READY ") || line.starts_with("ERROR ");
                if tx.send(line).is_err() || last {
                    break;
                }
            }
        });

        let mut server = MotoServer {
            child,
            _stdin: stdin,
            endpoint: String::new(),
            keys: BTreeMap::new(),
            accounts: Value::Null,
            dir,
            stderr_path,
        };

        let deadline = Instant::now() + options.ready_timeout;
        let mut keys_line = None;
        let mut accounts_line = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    server.fail(&format!("no READY within {:?}", options.ready_timeout))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = server.wait_exit(Duration::from_secs(5));
                    server.fail(&format!("the launcher exited ({status}) before READY"))
                }
            };
            let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            match word {
                "ACCOUNTS" => accounts_line = Some(rest.to_owned()),
                "KEYS" => keys_line = Some(rest.to_owned()),
                "READY" => {
                    server.endpoint = rest.to_owned();
                    break;
                }
                "ERROR" => server.fail(&format!("the launcher failed: {rest}")),
                _ => server.fail(&format!(
                    "unexpected line on the launcher's stdout: {line:?}"
                )),
            }
        }

        let Some(accounts_line) = accounts_line else {
            server.fail("no ACCOUNTS line before READY")
        };
        let Some(keys_line) = keys_line else {
            server.fail("no KEYS line before READY")
        };
        server.accounts = serde_json::from_str(&accounts_line)
            .unwrap_or_else(|e| server.fail(&format!("bad ACCOUNTS line: {e}")));
        server.keys = serde_json::from_str(&keys_line)
            .unwrap_or_else(|e| server.fail(&format!("bad KEYS line: {e}")));
        if !server.endpoint.starts_with("http://127.0.0.1:") {
            let endpoint = server.endpoint.clone();
            server.fail(&format!("unexpected endpoint {endpoint:?}"));
        }
        server
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `127.0.0.1:PORT`, for a raw TCP connection.
    pub fn address(&self) -> &str {
        self.endpoint.trim_start_matches("http://")
    }

    /// The access key ids the seed created: `"<label>/<user>/<slot>"` ->
    /// `AKIA...` (slot "1" or "2"; label as in the seed, by default the
    /// account id).
    pub fn keys(&self) -> &BTreeMap<String, String> {
        &self.keys
    }

    /// The access key id of one seeded key; panics when there is none.
    pub fn key(&self, label: &str, user: &str, slot: u8) -> &str {
        let name = format!("{label}/{user}/{slot}");
        self.keys
            .get(&name)
            .unwrap_or_else(|| panic!("no seeded key {name}; seeded: {:?}", self.keys.keys()))
    }

    /// The `ACCOUNTS` object: label -> {id, name, email, role_arn,
    /// organization_id, organization_member, status, index}.
    pub fn accounts(&self) -> &Value {
        &self.accounts
    }

    /// The account id of a seeded account label; panics when unknown.
    pub fn account_id(&self, label: &str) -> &str {
        self.account(label)["id"]
            .as_str()
            .unwrap_or_else(|| panic!("account {label} has no id"))
    }

    /// The role to assume into a member account (None for the first account).
    pub fn role_arn(&self, label: &str) -> Option<&str> {
        self.account(label)["role_arn"].as_str()
    }

    fn account(&self, label: &str) -> &Value {
        self.accounts
            .get(label)
            .unwrap_or_else(|| panic!("no seeded account {label}; seeded: {}", self.accounts))
    }

    /// Environment for a process (the exporter) that should talk to this
    /// mock: endpoint, region, dummy credentials, no IMDS and no shared
    /// config or credentials files.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", DUMMY_ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET_ACCESS_KEY.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
        ]
    }

    /// The launcher's log (stderr) so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    fn wait_exit(&mut self, limit: Duration) -> String {
        let until = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.to_string(),
                Ok(None) if Instant::now() < until => thread::sleep(Duration::from_millis(50)),
                Ok(None) => return "still running".to_owned(),
                Err(e) => return format!("unknown: {e}"),
            }
        }
    }

    fn fail(&mut self, what: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!(
            "moto test harness: {what}\n--- launcher log (tail) ---\n{}",
            tail(&self.stderr_path, 6000)
        );
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn python_path(root: &Path) -> PathBuf {
    let python = match std::env::var_os(PYTHON_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => root.join(".venv/bin/python"),
    };
    assert!(
        python.exists(),
        "moto test harness: Python interpreter {} not found; run scripts/install-test-deps.sh \
         (or set {PYTHON_ENV})",
        python.display()
    );
    python
}

fn unique_temp_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "iam-exporter-moto-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&dir).expect("create a temporary directory for moto");
    dir
}

fn tail(path: &Path, max: u64) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut buf = Vec::new();
    let _ = file.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}
