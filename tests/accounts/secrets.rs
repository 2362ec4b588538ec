//! No log line, at any level, carries a secret access key or a session token:
//! neither the exporter's own from the environment nor those AssumeRole
//! returns for member accounts.

use crate::common;

use std::time::Duration;

use common::exporter::Exporter;
use common::moto::MotoServer;
use serde_json::json;

/// Distinctive values, so that a match cannot be a coincidence.
const SECRET: &str = "ZzSecretAccessKeyThatMustNeverBeLogged0123456789";
const TOKEN: &str = "ZzSessionTokenThatMustNeverBeLogged9876543210";

#[test]
fn logs_never_contain_secrets_at_trace_level() {
    let moto = MotoServer::start(&json!({
        "organization": {"feature_set": "ALL"},
        "accounts": [
            {"label": "mgmt", "name": "Management", "users": [{"name": "a", "keys": [{}]}]},
            {"label": "member", "id": "210987654321", "name": "Member",
             "users": [{"name": "b", "keys": [{}]}]}
        ]
    }));
    let mut env: Vec<(&str, String)> = moto.aws_env();
    for (key, value) in &mut env {
        if *key == "AWS_SECRET_ACCESS_KEY" {
            *value = SECRET.to_owned();
        }
    }
    env.push(("AWS_SESSION_TOKEN", TOKEN.to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    for format in ["logfmt", "json"] {
        let exporter = Exporter::start(
            &[
                "--log.level",
                "trace",
                "--log.format",
                format,
                "--source",
                "report,api",
                "--aws.organization.role-name",
                "OrganizationAccountAccessRole",
            ],
            &env,
        );
        exporter.wait_log("refresh finished", Duration::from_secs(60));
        let metrics = exporter.metrics();
        assert!(
            metrics.contains(
                r#"aws_iam_exporter_account_refresh_success{account_id="210987654321"} 1"#
            ),
            "the member account was reached through AssumeRole: {metrics}"
        );
        let logs = exporter.logs();
        assert!(logs.len() > 50, "trace logging is on: {} lines", logs.len());

        // The test does not see the credentials moto issues for the assumed
        // role, but all of moto's session tokens start with the same prefix.
        for line in &logs {
            assert!(!line.contains(SECRET), "secret access key logged: {line}");
            assert!(!line.contains(TOKEN), "session token logged: {line}");
            assert!(
                !line.contains("FQoGZXIvYXdzEBYaD"),
                "assumed-role session token logged: {line}"
            );
            assert!(
                !line.to_ascii_lowercase().contains("secretaccesskey"),
                "credentials document logged: {line}"
            );
        }
    }
}
