//! What can be checked of the container image without building it (no
//! registry, so no base image, is reachable from CI):
//!
//! - the exporter binary asks for no newer glibc than the Debian release of
//!   the Dockerfile's runtime image has, and for no library that image lacks;
//!   the builder stage is the same Debian release;
//! - the binary serves the example report as the image and the Kubernetes
//!   manifests run it: as user 65532, from a directory it cannot write to,
//!   with nothing in its environment.
//!
//! The binary is the one cargo built for the tests, or
//! `$IAM_EXPORTER_IMAGE_BINARY` (e.g. target/release/iam-credentials-exporter,
//! what the Dockerfile builds). Needs `readelf` (binutils) and, when the test
//! runs as root, `setpriv` (util-linux).

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common;

use common::exporter::{example_report, repo};
use common::http;

/// The unprivileged user of the distroless image and of the manifests.
const NONROOT: &str = "65532";

/// glibc of each Debian release a base image may be built on.
const DEBIAN_GLIBC: [(&str, &str, (u32, u32)); 2] = [
    ("debian12", "bookworm", (2, 36)),
    ("debian13", "trixie", (2, 41)),
];

/// Libraries distroless `cc` images provide (glibc, libgcc, libstdc++).
const CC_LIBRARIES: [&str; 9] = [
    "libc.so.6",
    "libm.so.6",
    "libgcc_s.so.1",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libstdc++.so.6",
    "ld-linux-x86-64.so.2",
];

fn binary() -> PathBuf {
    std::env::var_os("IAM_EXPORTER_IMAGE_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(common::exporter::BIN))
}

/// (runtime image, builder image) of the Dockerfile.
fn dockerfile_images() -> (String, String) {
    let dockerfile = fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let froms: Vec<String> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("FROM "))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    assert!(froms.len() >= 2, "a builder and a runtime stage: {froms:?}");
    (froms.last().unwrap().clone(), froms[0].clone())
}

fn readelf(args: &[&str]) -> String {
    let out = Command::new("readelf")
        .args(args)
        .arg(binary())
        .output()
        .unwrap_or_else(|e| panic!("cannot run readelf: {e}; run scripts/install-test-deps.sh"));
    assert!(out.status.success(), "readelf {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn binary_needs_no_newer_glibc_than_the_runtime_image() {
    let (runtime, builder) = dockerfile_images();
    let &(_, codename, glibc) = DEBIAN_GLIBC
        .iter()
        .find(|(release, _, _)| runtime.contains(release))
        .unwrap_or_else(|| panic!("unknown Debian release of the runtime image {runtime}"));
    assert!(
        runtime.starts_with("gcr.io/distroless/cc-"),
        "the library list below is that of distroless cc images, not of {runtime}"
    );
    // Built on the same release, the binary links against the same glibc.
    assert!(
        builder.contains(codename),
        "builder {builder} and runtime {runtime} are different Debian releases"
    );

    let versions: BTreeSet<(u32, u32)> = readelf(&["--version-info", "--wide"])
        .split(|c: char| c.is_whitespace())
        .filter_map(|w| w.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let mut parts = v.split('.').map(|p| p.parse::<u32>());
            Some((parts.next()?.ok()?, parts.next()?.ok()?))
        })
        .collect();
    let newest = *versions
        .last()
        .expect("the binary uses versioned glibc symbols");
    assert!(
        newest <= glibc,
        "the binary needs GLIBC_{}.{}, the runtime image {runtime} has {}.{}",
        newest.0,
        newest.1,
        glibc.0,
        glibc.1
    );

    let dynamic = readelf(&["--dynamic", "--wide"]);
    let needed: Vec<&str> = dynamic
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next())
        .collect();
    assert!(!needed.is_empty(), "no NEEDED entries:\n{dynamic}");
    for library in &needed {
        assert!(
            CC_LIBRARIES.contains(library),
            "the binary needs {library}, which {runtime} does not have"
        );
    }
    let headers = readelf(&["--program-headers", "--wide"]);
    assert!(
        headers.contains("[Requesting program interpreter: /lib64/ld-linux-x86-64.so.2]"),
        "unexpected program interpreter:\n{headers}"
    );
    println!(
        "{}: newest glibc symbol version {}.{} (runtime image {runtime}: {}.{}), needs {needed:?}",
        binary().display(),
        newest.0,
        newest.1,
        glibc.0,
        glibc.1
    );
}

#[test]
fn serves_the_example_report_as_nonroot_from_a_read_only_directory() {
    // Laid out as in the image: the binary in a directory of its own, the
    // report mounted read-only (docker-compose.yml, a ConfigMap).
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = dir.path().join("bin");
    let data_dir = dir.path().join("data");
    fs::create_dir_all(&bin_dir).unwrap();
    fs::create_dir_all(&data_dir).unwrap();
    let bin = bin_dir.join("iam-credentials-exporter");
    fs::copy(binary(), &bin).unwrap();
    let report = data_dir.join("credential-report.csv");
    fs::copy(example_report(), &report).unwrap();
    for (path, mode) in [
        (&report, 0o444),
        (&data_dir, 0o555),
        (&bin, 0o555),
        (&bin_dir, 0o555),
        (&dir.path().to_path_buf(), 0o755),
    ] {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    let root = current_uid() == 0;
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={NONROOT}"),
            &format!("--regid={NONROOT}"),
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
        ])
        .arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    cmd.args([
        "--web.listen-address=127.0.0.1:0",
        "--log.format=json",
        &format!("--credential-report.file={}", report.display()),
    ])
    .env_clear()
    .current_dir(&data_dir)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the exporter: {e}"));
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut logs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("the exporter did not start: {logs:#?}")
            });
        if let Some(rest) = line.split(r#""address":""#).nth(1) {
            break rest.split('"').next().unwrap().parse().unwrap();
        }
        logs.push(line);
    };

    let status = fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    if root {
        // setpriv execs the exporter: the child's pid is the exporter's.
        assert_eq!(uid, NONROOT, "the exporter runs as {uid}");
    }
    let ready_deadline = Instant::now() + Duration::from_secs(30);
    while http::get(addr, "/-/ready").status != 200 {
        assert!(Instant::now() < ready_deadline, "not ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    let metrics = http::get(addr, "/metrics");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(metrics.status, 200);
    for series in [
        "aws_iam_user_info{",
        "aws_iam_access_key_active{",
        "aws_iam_exporter_source_info{source=\"file\"} 1",
        "aws_iam_exporter_account_refresh_success{account_id=\"123456789012\"} 1",
    ] {
        assert!(
            metrics.body.contains(series),
            "{series} missing from /metrics"
        );
    }
    let left: Vec<_> = fs::read_dir(&data_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "the exporter left files behind: {left:?}");
    println!("served the example report as uid {uid} from a read-only directory");
}

/// The real uid of this test process, from /proc (no libc dependency).
fn current_uid() -> u32 {
    fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}
