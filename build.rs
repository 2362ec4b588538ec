//! Records the git revision for `aws_iam_exporter_build_info`.

fn main() {
    let revision = std::env::var("IAM_EXPORTER_REVISION").ok().or_else(|| {
        let out = std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    });
    println!(
        "cargo:rustc-env=IAM_EXPORTER_REVISION={}",
        revision.as_deref().unwrap_or("unknown")
    );
    println!("cargo:rerun-if-env-changed=IAM_EXPORTER_REVISION");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
}
