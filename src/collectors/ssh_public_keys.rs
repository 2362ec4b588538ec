//! SSH public keys of IAM users (the keys AWS CodeCommit accepts over SSH):
//! `iam:ListUsers` (1 call per 1,000 users), then `iam:ListSSHPublicKeys`
//! once per user, at most the account's call concurrency at once.
//!
//! IAM has no account-wide listing of SSH keys, so this costs one call per
//! user and is off by default. A user holds at most 5 SSH keys, so one page
//! per user is the rule; further pages are followed all the same.
//!
//! `aws_iam_ssh_public_key_*`: one series per SSH public key of an IAM user
//! (`ssh-public-keys` collector).

use std::sync::Arc;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::StatusType;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::aws::{ApiMetrics, CallError};

use super::{About, Context};
use crate::exposition::{Family, Rows, Table, TableRender, Times, pairs, text::labels};


/// The collector's name, flag, default and API cost.
pub const ABOUT: About = about! {
    name: "ssh-public-keys",
    env: "IAM_EXPORTER_COLLECTOR_SSH_PUBLIC_KEYS",
    default: false,
    cost: "1 call per user, plus 1 per 1,000 users (iam:ListSSHPublicKeys, iam:ListUsers)",
    interval: "0s",
};

/// What the collector reads in one account.
pub type Data = SshPublicKeys;

/// Families rendered once per account refresh, in exposition order, with the
/// labels `account_id`, `user`, `ssh_public_key_id`.
const FAMILIES: [Family<SshPublicKey>; 2] = [
    Family {
        name: "aws_iam_ssh_public_key_active",
        help: "1 if the SSH public key is active, 0 if inactive",
        value: |k| Some(i64::from(k.active)),
    },
    Family {
        name: "aws_iam_ssh_public_key_uploaded_timestamp_seconds",
        help: "Time the SSH public key was uploaded, in Unix seconds",
        value: |k| Some(k.uploaded),
    },
];

/// Computed from "now" at every scrape.
const AGES: [Family<Times>; 1] = [Family {
    name: "aws_iam_ssh_public_key_age_seconds",
    help: "Seconds since the SSH public key was uploaded",
    value: |k| k.created,
}];

pub const TABLE: Table<Data> = Table {
    families: || pairs(&FAMILIES),
    ages: &AGES,
    render,
};

fn render(rows: &Rows<'_, Data>, out: &mut TableRender) {
    let account = rows.account_id;
    let collected = rows.data;
    let keys = &collected.keys;
    let sets: Vec<String> = keys
        .iter()
        .map(|key| {
            let mut set = String::new();
            labels(
                &mut set,
                &[
                    ("account_id", account),
                    ("user", &key.user),
                    ("ssh_public_key_id", &key.id),
                ],
            );
            set
        })
        .collect();
    let mut writer = out.writer(keys.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(&keys[index])),
            family.name,
        );
    }
    let label_at = out.extend(writer);
    out.times = keys
        .iter()
        .zip(label_at)
        .map(|(key, at)| Times {
            labels: at,
            created: Some(key.uploaded),
            last_used: None,
            usage_known: true,
        })
        .collect();
}

/// Users per ListUsers page: the API's maximum.
const USERS_PAGE: i32 = 1000;

/// The SSH public keys of every user of the account, sorted by user and key id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshPublicKeys {
    pub keys: Vec<SshPublicKey>,
}

/// One SSH public key, as `ListSSHPublicKeys` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshPublicKey {
    pub user: String,
    /// `APKA...`
    pub id: String,
    pub active: bool,
    /// When the key was uploaded, in Unix seconds.
    pub uploaded: i64,
}

/// Rewrites the key ids (`--metrics.access-key-id`), each user's keys
/// counted in upload order.
pub fn rewrite_ids(data: &mut Data, rewrite: &dyn Fn(&str, usize) -> String) {
    let keys = &mut data.keys;
    keys.sort_by(|a, b| (&a.user, a.uploaded, &a.id).cmp(&(&b.user, b.uploaded, &b.id)));
    for user in keys.chunk_by_mut(|a, b| a.user == b.user) {
        super::rewrite_ids(user.iter_mut().map(|k| &mut k.id), rewrite);
    }
    keys.sort_by(|a, b| (&a.user, &a.id).cmp(&(&b.user, &b.id)));
}

/// Lists every user, then every user's SSH public keys.
pub async fn collect(ctx: Context<'_>) -> Result<SshPublicKeys, CallError> {
    let users = list_user_names(ctx).await?;
    let limit = Arc::new(Semaphore::new(ctx.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for user in users {
        let (iam, api, limit) = (ctx.iam.clone(), ctx.api.clone(), Arc::clone(&limit));
        tasks.spawn(async move { user_keys(&iam, &api, &user, &limit).await });
    }
    let mut keys = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("SSH key listing task panicked") {
            Ok(listed) => keys.extend(listed),
            Err(e) => {
                // The first failure fails the collector; the calls still
                // queued are not worth making.
                tasks.abort_all();
                return Err(e);
            }
        }
    }
    keys.sort_by(|a, b| (&a.user, &a.id).cmp(&(&b.user, &b.id)));
    Ok(SshPublicKeys { keys })
}

async fn list_user_names(ctx: Context<'_>) -> Result<Vec<String>, CallError> {
    let mut pages = ctx
        .iam
        .list_users()
        .into_paginator()
        .page_size(USERS_PAGE)
        .send();
    let mut names = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            ctx.api.record_error("ListUsers", &e);
            CallError::from_sdk("iam:ListUsers", &e)
        })?;
        names.extend(page.users.into_iter().map(|u| u.user_name));
    }
    Ok(names)
}

/// One user's keys, every page. A user deleted since it was listed has none
/// (`NoSuchEntity`): that is the state of the account, not a failure.
async fn user_keys(
    iam: &Client,
    api: &ApiMetrics,
    user: &str,
    limit: &Semaphore,
) -> Result<Vec<SshPublicKey>, CallError> {
    let mut pages = iam
        .list_ssh_public_keys()
        .user_name(user)
        .into_paginator()
        .send();
    let mut keys = Vec::new();
    loop {
        let page = {
            let _permit = limit.acquire().await.expect("semaphore is never closed");
            pages.next().await
        };
        let Some(page) = page else { break };
        let page = match page {
            Ok(page) => page,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                tracing::debug!(user, "user deleted while its SSH keys were listed");
                return Ok(Vec::new());
            }
            Err(e) => {
                api.record_error("ListSSHPublicKeys", &e);
                return Err(CallError::from_sdk("iam:ListSSHPublicKeys", &e));
            }
        };
        keys.extend(
            page.ssh_public_keys
                .unwrap_or_default()
                .into_iter()
                .map(|k| SshPublicKey {
                    user: user.to_owned(),
                    id: k.ssh_public_key_id,
                    active: k.status == StatusType::Active,
                    uploaded: k.upload_date.secs(),
                }),
        );
    }
    Ok(keys)
}
