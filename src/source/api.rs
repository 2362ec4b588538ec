//! The key-level IAM API: ListUsers, ListAccessKeys per user and
//! GetAccessKeyLastUsed per key.
//!
//! It knows access key ids and last use as of now (the credential report can be
//! four hours old), but not passwords, MFA or the root account. Calls per
//! refresh are exactly pages of users + users + keys; they run with bounded
//! concurrency per account.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::StatusType;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::debug;

use crate::aws::{ApiMetrics, CallError};
use crate::model::{AccessKey, LastUsed, User};

/// Users per ListUsers page: the API's maximum.
const PAGE_SIZE: i32 = 1000;

/// Lists every user with its keys and their last use.
pub async fn list_users(
    client: &Client,
    concurrency: usize,
    api: &ApiMetrics,
) -> Result<Vec<User>, CallError> {
    let mut pages = client
        .list_users()
        .into_paginator()
        .page_size(PAGE_SIZE)
        .send();
    let mut users = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            api.record_error("ListUsers", &e);
            CallError::from_sdk("iam:ListUsers", &e)
        })?;
        users.extend(page.users.into_iter().map(|u| User {
            created: Some(u.create_date.secs()),
            password_last_used: u.password_last_used.map(|t| t.secs()),
            name: u.user_name,
            arn: u.arn,
            // Not visible through ListUsers; the credential report has them.
            password_enabled: None,
            password_last_changed: None,
            mfa_active: None,
            keys: Vec::new(),
            signing_certificates: Vec::new(),
        }));
    }

    // One task per user, at most `concurrency` calls in flight for the account.
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (index, user) in users.iter().enumerate() {
        let (client, api, limit, name) = (
            client.clone(),
            api.clone(),
            Arc::clone(&limit),
            user.name.clone(),
        );
        tasks.spawn(async move { (index, user_keys(&client, &name, &limit, &api).await) });
    }
    while let Some(joined) = tasks.join_next().await {
        let (index, keys) = joined.expect("key listing task panicked");
        match keys {
            Ok(keys) => users[index].keys = keys,
            Err(e) => {
                tasks.abort_all();
                return Err(e);
            }
        }
    }
    Ok(users)
}

async fn user_keys(
    client: &Client,
    user: &str,
    limit: &Semaphore,
    api: &ApiMetrics,
) -> Result<Vec<AccessKey>, CallError> {
    let mut listed = Vec::new();
    {
        let mut pages = client
            .list_access_keys()
            .user_name(user)
            .into_paginator()
            .send();
        loop {
            let page = {
                let _permit = limit.acquire().await.expect("semaphore is never closed");
                pages.next().await
            };
            let Some(page) = page else { break };
            let page = page.map_err(|e| {
                api.record_error("ListAccessKeys", &e);
                CallError::from_sdk("iam:ListAccessKeys", &e)
            })?;
            listed.extend(page.access_key_metadata);
        }
    }
    // The credential report numbers keys in creation order; do the same.
    listed.sort_by_key(|k| k.create_date.map(|d| d.secs()));
    let mut keys = Vec::with_capacity(listed.len());
    for (slot, meta) in (1u8..).zip(listed) {
        let Some(id) = meta.access_key_id else {
            continue;
        };
        let used = {
            let _permit = limit.acquire().await.expect("semaphore is never closed");
            client
                .get_access_key_last_used()
                .access_key_id(&id)
                .send()
                .await
        }
        .map_err(|e| {
            api.record_error("GetAccessKeyLastUsed", &e);
            CallError::from_sdk("iam:GetAccessKeyLastUsed", &e)
        })?;
        let last_used = used.access_key_last_used.and_then(|u| {
            Some(LastUsed {
                at: u.last_used_date?.secs(),
                region: no_value_to_empty(u.region),
                service: no_value_to_empty(u.service_name),
            })
        });
        keys.push(AccessKey {
            slot,
            id,
            active: meta.status == Some(StatusType::Active),
            created: meta.create_date.map(|d| d.secs()),
            last_used,
            usage_unknown: false,
        });
    }
    Ok(keys)
}

fn no_value_to_empty(s: String) -> String {
    if crate::model::is_no_value(&s) {
        String::new()
    } else {
        s.trim().to_owned()
    }
}

/// Adds what the API knows to users from the credential report.
///
/// The report provides users, passwords, MFA and root; the API provides key
/// ids and fresher key state. A listed key belongs to the report slot whose
/// `last_rotated` equals its creation time. Where they disagree (a key created
/// or deleted since the report), the API wins. Users created since the report
/// are added from the API; users deleted since are dropped. Root never appears
/// in the API and is kept as reported.
pub fn merge(report: Vec<User>, api: Vec<User>) -> Vec<User> {
    let mut listed: HashMap<String, User> = api.into_iter().map(|u| (u.name.clone(), u)).collect();
    let mut merged = Vec::with_capacity(report.len().max(listed.len()));
    for mut user in report {
        if user.name == crate::model::ROOT_USER {
            merged.push(user);
            continue;
        }
        let Some(current) = listed.remove(&user.name) else {
            debug!(user = %user.name, "user in the credential report no longer listed by the API; dropped");
            continue;
        };
        user.keys = merge_keys(&user.name, std::mem::take(&mut user.keys), current.keys);
        if current.password_last_used > user.password_last_used {
            user.password_last_used = current.password_last_used;
        }
        merged.push(user);
    }
    let mut added: Vec<User> = listed.into_values().collect();
    added.sort_by(|a, b| a.name.cmp(&b.name));
    for user in &added {
        debug!(user = %user.name, "user listed by the API is not in the credential report yet");
    }
    merged.extend(added);
    merged
}

fn merge_keys(user: &str, reported: Vec<AccessKey>, listed: Vec<AccessKey>) -> Vec<AccessKey> {
    let mut free_slots: Vec<u8> = vec![1, 2];
    let mut keys: Vec<(Option<u8>, AccessKey)> = Vec::with_capacity(listed.len());
    for mut key in listed {
        let matched = reported
            .iter()
            .find(|r| r.created.is_some() && r.created == key.created);
        match matched {
            Some(r) => {
                free_slots.retain(|s| *s != r.slot);
                key.slot = r.slot;
                // Last use as of now from the API; the report's when the API
                // has none (it cannot be fresher, but keeps region and service).
                if key.last_used.is_none() {
                    key.last_used = r.last_used.clone();
                }
                keys.push((Some(r.slot), key));
            }
            None => {
                debug!(user, access_key_id = %key.id, "key not in the credential report (rotated since); using the API's view");
                keys.push((None, key));
            }
        }
    }
    for (slot, key) in &mut keys {
        if slot.is_none() {
            let next = if free_slots.is_empty() {
                key.slot
            } else {
                free_slots.remove(0)
            };
            *slot = Some(next);
            key.slot = next;
        }
    }
    let dropped = reported
        .iter()
        .filter(|r| !keys.iter().any(|(s, _)| *s == Some(r.slot)))
        .count();
    if dropped > 0 {
        debug!(
            user,
            dropped, "keys in the credential report no longer listed by the API"
        );
    }
    let mut keys: Vec<AccessKey> = keys.into_iter().map(|(_, k)| k).collect();
    keys.sort_by_key(|k| k.slot);
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(slot: u8, id: &str, created: i64, used: Option<i64>) -> AccessKey {
        AccessKey {
            slot,
            id: id.to_owned(),
            active: true,
            created: Some(created),
            last_used: used.map(|at| LastUsed {
                at,
                region: "us-east-1".into(),
                service: "s3".into(),
            }),
            usage_unknown: false,
        }
    }

    fn user(name: &str, keys: Vec<AccessKey>) -> User {
        User {
            name: name.into(),
            keys,
            mfa_active: Some(true),
            ..User::default()
        }
    }

    #[test]
    fn listed_keys_take_the_report_slot_with_the_same_creation_time() {
        let report = vec![user(
            "a",
            vec![key(1, "", 100, Some(500)), key(2, "", 200, None)],
        )];
        let api = vec![user(
            "a",
            vec![key(1, "AKIA2", 200, Some(900)), key(2, "AKIA1", 100, None)],
        )];
        let merged = merge(report, api);
        let keys = &merged[0].keys;
        assert_eq!(keys[0].slot, 1);
        assert_eq!(keys[0].id, "AKIA1");
        assert_eq!(
            keys[0].last_used.as_ref().unwrap().at,
            500,
            "report's use kept"
        );
        assert_eq!(keys[1].slot, 2);
        assert_eq!(keys[1].id, "AKIA2");
        assert_eq!(
            keys[1].last_used.as_ref().unwrap().at,
            900,
            "API's fresher use"
        );
        assert_eq!(merged[0].mfa_active, Some(true), "report's MFA kept");
    }

    #[test]
    fn a_key_rotated_since_the_report_replaces_the_old_one() {
        let report = vec![user("a", vec![key(1, "", 100, Some(500))])];
        let api = vec![user("a", vec![key(1, "AKIANEW", 300, None)])];
        let keys = &merge(report, api)[0].keys;
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].id, "AKIANEW");
        assert_eq!(keys[0].created, Some(300));
        assert_eq!(keys[0].slot, 1, "the deleted key's slot is free again");
    }

    #[test]
    fn users_follow_the_api_but_root_stays() {
        let report = vec![
            user(crate::model::ROOT_USER, vec![]),
            user("deleted", vec![]),
            user("kept", vec![]),
        ];
        let api = vec![user("kept", vec![]), user("new", vec![])];
        let names: Vec<_> = merge(report, api).into_iter().map(|u| u.name).collect();
        assert_eq!(names, [crate::model::ROOT_USER, "kept", "new"]);
    }
}
