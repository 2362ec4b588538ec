//! The shipped IAM policies grant exactly the calls the code makes, and only
//! read-only ones.

use crate::common::exporter::repo;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// Receivers in the source code and the IAM service prefix of their calls
/// (collectors call through `ctx.iam`).
const CLIENTS: [(&str, &str); 4] = [
    ("client", "iam"),
    ("iam", "iam"),
    ("org", "organizations"),
    ("sts", "sts"),
];

/// IAM calls made with the exporter's own credentials only (the management
/// account or the delegated administrator), never in member accounts.
const MANAGEMENT_CLIENTS: [(&str, &str); 1] = [("management_iam", "iam")];

/// IAM calls made in a root session (`sts:AssumeRoot`): the task policy
/// grants them, not a policy of ours.
const ROOT_SESSION_CLIENTS: [(&str, &str); 1] = [("root_iam", "iam")];

/// What the AWS-managed task policy `IAMAuditRootUserCredentials` allows.
const AUDIT_TASK_POLICY: [&str; 7] = [
    "iam:GetAccessKeyLastUsed",
    "iam:GetAccountSummary",
    "iam:GetLoginProfile",
    "iam:GetUser",
    "iam:ListAccessKeys",
    "iam:ListMFADevices",
    "iam:ListSigningCertificates",
];

/// IAM action names that the SDK's snake_case operation names do not spell
/// in PascalCase: `list_ssh_public_keys` is `iam:ListSSHPublicKeys`.
const ACRONYMS: [(&str, &str); 1] = [("Ssh", "SSH")];

/// Methods of an SDK client that send no request.
const NOT_CALLS: [&str; 2] = ["clone", "config"];

/// Calls that need no permission.
const UNPRIVILEGED: [&str; 1] = ["sts:GetCallerIdentity"];

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            // The SDK spells IAM's acronyms as words: list_virtual_mfa_devices
            // is iam:ListVirtualMFADevices.
            if w == "mfa" {
                return String::from("MFA");
            }
            let mut c = w.chars();
            let word = c
                .next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default();
            match ACRONYMS.iter().find(|(sdk, _)| *sdk == word) {
                Some((_, iam)) => (*iam).to_owned(),
                None => word,
            }
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// `service:Action` for every AWS call in `src/` with the exporter's own
/// or a member role's credentials.
fn actions_in_code() -> BTreeSet<String> {
    let mut actions = calls_of(&CLIENTS);
    actions.extend(calls_of(&MANAGEMENT_CLIENTS));
    actions
}

/// `service:Action` for every call in `src/` through one of `clients`.
fn calls_of(clients: &[(&str, &str)]) -> BTreeSet<String> {
    let mut sources = Vec::new();
    rust_files(&repo().join("src"), &mut sources);
    let mut actions = BTreeSet::new();
    for text in &sources {
        for &(receiver, service) in clients {
            let mut rest = text.as_str();
            while let Some(at) = rest.find(receiver) {
                let before_ok = rest[..at]
                    .chars()
                    .last()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                let after = rest[at + receiver.len()..].trim_start();
                rest = &rest[at + receiver.len()..];
                let Some(call) = after.strip_prefix('.') else {
                    continue;
                };
                let name: String = call
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if before_ok
                    && !name.is_empty()
                    && call[name.len()..].starts_with("()")
                    && !NOT_CALLS.contains(&name.as_str())
                {
                    actions.insert(format!("{service}:{}", pascal(&name)));
                }
            }
        }
    }
    actions
}

fn policy_actions(file: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    let policy: Value = serde_json::from_str(&text).unwrap();
    let mut actions = BTreeSet::new();
    for statement in policy["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow", "{file}");
        match &statement["Action"] {
            Value::String(a) => {
                actions.insert(a.clone());
            }
            Value::Array(list) => {
                actions.extend(list.iter().map(|a| a.as_str().unwrap().to_owned()));
            }
            other => panic!("{file}: unexpected Action {other}"),
        }
    }
    actions
}

fn read_only(action: &str) -> bool {
    let name = action.split(':').nth(1).unwrap_or_default();
    action == "sts:AssumeRole"
        // Limited to the audit task policy: checked below.
        || action == "sts:AssumeRoot"
        || name.starts_with("Describe")
        || name.starts_with("Get")
        || name.starts_with("List")
        || action == "iam:GenerateCredentialReport"
}

#[test]
fn the_code_calls_what_the_tests_expect() {
    // Guards the scanner itself: if it finds nothing, the next test is empty.
    let actions = actions_in_code();
    for expected in [
        "iam:GenerateCredentialReport",
        "iam:GetCredentialReport",
        "iam:ListUsers",
        "iam:ListAccessKeys",
        "iam:GetAccessKeyLastUsed",
        "iam:GetAccountPasswordPolicy",
        "iam:ListVirtualMFADevices",
        "iam:ListServerCertificates",
        "iam:ListSSHPublicKeys",
        "iam:ListServiceSpecificCredentials",
        "organizations:ListAccounts",
        "organizations:DescribeOrganization",
        "iam:ListOrganizationsFeatures",
        "sts:AssumeRole",
        "sts:AssumeRoot",
        "sts:GetCallerIdentity",
    ] {
        assert!(
            actions.contains(expected),
            "{expected} not found in {actions:?}"
        );
    }
}

#[test]
fn exporter_policy_grants_exactly_the_calls_in_the_code() {
    let needed: BTreeSet<String> = actions_in_code()
        .into_iter()
        .filter(|a| !UNPRIVILEGED.contains(&a.as_str()))
        .collect();
    let granted = policy_actions("deploy/aws/iam-policy.json");
    assert_eq!(granted, needed);
    for action in &granted {
        assert!(read_only(action), "{action} is not read-only");
    }
}

#[test]
fn member_role_grants_exactly_the_iam_calls_and_matches_the_stackset() {
    let iam: BTreeSet<String> = calls_of(&CLIENTS)
        .into_iter()
        .filter(|a| a.starts_with("iam:"))
        .collect();
    assert_eq!(policy_actions("deploy/aws/member-role-policy.json"), iam);
    let stackset =
        std::fs::read_to_string(repo().join("deploy/aws/member-role-stackset.yaml")).unwrap();
    let in_stackset: BTreeSet<String> = stackset
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- iam:"))
        .map(|a| format!("iam:{a}"))
        .collect();
    assert_eq!(in_stackset, iam);
}

/// The root session reads only what the audit task policy allows (each call
/// without a user name: the root user), and the exporter may open root
/// sessions with that task policy only.
#[test]
fn root_sessions_read_within_the_audit_task_policy_and_assume_root_is_limited_to_it() {
    let in_session = calls_of(&ROOT_SESSION_CLIENTS);
    assert_eq!(
        in_session.len(),
        4,
        "GetLoginProfile, ListAccessKeys, ListMFADevices, ListSigningCertificates: {in_session:?}"
    );
    for action in &in_session {
        assert!(
            AUDIT_TASK_POLICY
                .iter()
                .any(|a| a.eq_ignore_ascii_case(action)),
            "{action} is not in IAMAuditRootUserCredentials"
        );
    }
    let text = std::fs::read_to_string(repo().join("deploy/aws/iam-policy.json")).unwrap();
    let policy: Value = serde_json::from_str(&text).unwrap();
    let statements: Vec<&Value> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Action"].to_string().contains("sts:AssumeRoot"))
        .collect();
    assert_eq!(statements.len(), 1);
    let statement = statements[0];
    assert_eq!(statement["Action"], Value::from(vec!["sts:AssumeRoot"]));
    assert_eq!(statement["Resource"], "arn:aws:iam::*:root");
    assert_eq!(
        statement["Condition"]["ArnEquals"]["sts:TaskPolicyArn"],
        "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
    );
}
