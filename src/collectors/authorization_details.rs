//! The `authorization-details` collector: who holds which policies, from
//! one `iam:GetAccountAuthorizationDetails` listing of the account's users,
//! groups and roles (1,000 entities a page), and the listing itself, which
//! the `roles` collector shares.
//!
//! # What it exports
//!
//! - Per IAM user: its groups, its inline policies and the managed policies
//!   attached to it directly. CIS AWS Foundations v7.0.0 2.13 (Security Hub
//!   IAM.2) asks that users receive permissions only through groups: the
//!   last two are then 0.
//! - Per account, for the two AWS managed policies the CIS controls name,
//!   the users, groups and roles it is attached to: `AWSSupportAccess` to at
//!   least one role (2.15, a support role; IAM.18), `AWSCloudShellFullAccess`
//!   to nobody (2.20, IAM.27).
//! - With `--metrics.user-tags`, one info series per user with the chosen
//!   tags as labels ([`crate::exposition::tags`]).
//!
//! Nothing else leaves this module: no policy document, no policy name but
//! the two above.
//!
//! # One listing for two collectors
//!
//! `roles` reads the roles of the same call (`Filter=Role`), and this
//! collector needs them too (who holds the two policies). A listing takes
//! several filters at once, so where both collectors read in a refresh,
//! [`super::collect`] makes one [`Listing`] with the filters of every
//! collector that reads (`User`, `Group`, `Role`); the first collector to
//! ask reads it, the other waits for that read and uses the same pages. A
//! collector that reads alone (the other one off, or within its interval)
//! gets a listing of its own entities. Both have an interval of 1h by
//! default, so they read in the same refreshes. AWS pages the entities of
//! every filter together, 1,000 per page: the shared listing costs one call
//! per 1,000 users, groups and roles instead of one per 1,000 of each.

use std::borrow::Cow;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{AttachedPolicy, EntityType, GroupDetail, RoleDetail, UserDetail};
use tokio::sync::OnceCell;

use super::{About, Collector, Collectors, Context};
use crate::aws::{ApiMetrics, CallError};
use crate::exposition::text::{labels, sample};
use crate::exposition::{Family, Rows, Table, TableRender, pairs};

/// The collector's name, flag, default and API cost.
pub const ABOUT: About = about! {
    name: "authorization-details",
    env: "IAM_EXPORTER_COLLECTOR_AUTHORIZATION_DETAILS",
    default: true,
    cost: "1 call per 1,000 users, groups and roles per account (iam:GetAccountAuthorizationDetails, shared with roles)",
    interval: "1h",
};

/// What the collector reads in one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Data {
    /// Sorted by name.
    pub users: Vec<UserPolicies>,
    /// One per policy of [`WATCHED`], in that order.
    pub attachments: Vec<Attachments>,
}

/// One IAM user's groups and policies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPolicies {
    pub name: String,
    pub groups: usize,
    /// Inline policies embedded in the user.
    pub inline: usize,
    /// Managed policies attached to the user itself (not through a group).
    pub attached: usize,
    /// `(label name, value)` of the chosen tags; `None` when none is chosen.
    pub tags: Option<Vec<(String, String)>>,
}

/// Whom one AWS managed policy is attached to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attachments {
    pub policy: &'static str,
    pub users: usize,
    pub groups: usize,
    pub roles: usize,
}

/// The AWS managed policies whose attachments are counted: CIS v7.0.0 2.15
/// (a role holds `AWSSupportAccess`) and 2.20 (nobody holds
/// `AWSCloudShellFullAccess`).
pub const WATCHED: [&str; 2] = ["AWSCloudShellFullAccess", "AWSSupportAccess"];

const USER_TAGS: &str = "aws_iam_user_tags";
const ATTACHMENTS: &str = "aws_iam_policy_attachments";

/// `USER_TAGS` (labels `account_id`, `user` and the chosen tags): first.
const TAGS: (&str, &str) = (
    USER_TAGS,
    "IAM user with the tags chosen by --metrics.user-tags as tag_* labels, empty where the user has no such tag; value is always 1",
);

/// Families with the labels `account_id` and `user`, after [`TAGS`].
const FAMILIES: [Family<UserPolicies>; 3] = [
    Family {
        name: "aws_iam_user_groups",
        help: "IAM groups the user is a member of",
        value: |u| i64::try_from(u.groups).ok(),
    },
    Family {
        name: "aws_iam_user_inline_policies",
        help: "Inline policies embedded in the user; CIS 2.13 (IAM.2) wants permissions through groups only, so 0",
        value: |u| i64::try_from(u.inline).ok(),
    },
    Family {
        name: "aws_iam_user_attached_policies",
        help: "Managed policies attached to the user directly, not through a group; CIS 2.13 (IAM.2) wants 0",
        value: |u| i64::try_from(u.attached).ok(),
    },
];

/// `ATTACHMENTS` (labels `account_id`, `policy`, `kind`): last.
const ATTACHMENTS_PAIR: (&str, &str) = (
    ATTACHMENTS,
    "Users, groups or roles (kind) that the AWS managed policy is attached to: AWSSupportAccess to a role at least (CIS 2.15, IAM.18), AWSCloudShellFullAccess to none (CIS 2.20, IAM.27)",
);

pub const TABLE: Table<Data> = Table {
    families: || {
        let mut families = vec![TAGS];
        families.extend(pairs(&FAMILIES));
        families.push(ATTACHMENTS_PAIR);
        families
    },
    ages: &[],
    render,
};

fn render(rows: &Rows<'_, Data>, out: &mut TableRender) {
    let account = rows.account_id;
    let users = &rows.data.users;
    let mut tags = String::new();
    for user in users {
        let Some(chosen) = &user.tags else { continue };
        let mut pairs = vec![("account_id", account), ("user", user.name.as_str())];
        pairs.extend(chosen.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let mut set = String::new();
        labels(&mut set, &pairs);
        sample(&mut tags, USER_TAGS, &set, 1);
    }
    out.push(tags);
    let sets: Vec<String> = users
        .iter()
        .map(|user| {
            let mut set = String::new();
            labels(&mut set, &[("account_id", account), ("user", &user.name)]);
            set
        })
        .collect();
    let mut writer = out.writer(users.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(&users[index])),
            family.name,
        );
    }
    out.extend(writer);
    let mut attachments = String::new();
    for a in &rows.data.attachments {
        for (kind, n) in [("user", a.users), ("group", a.groups), ("role", a.roles)] {
            let mut set = String::new();
            labels(
                &mut set,
                &[("account_id", account), ("policy", a.policy), ("kind", kind)],
            );
            sample(
                &mut attachments,
                ATTACHMENTS,
                &set,
                i64::try_from(n).unwrap_or(i64::MAX),
            );
        }
    }
    out.push(attachments);
}

/// Every user's groups and policies, and whom the [`WATCHED`] policies are
/// attached to.
pub async fn collect(ctx: Context<'_>) -> Result<Data, CallError> {
    let details = read(ctx, &[EntityType::User, EntityType::Group, EntityType::Role]).await?;
    let mut users: Vec<UserPolicies> = details
        .users
        .iter()
        .filter_map(|u| {
            Some(UserPolicies {
                name: u.user_name.clone()?,
                groups: u.group_list.as_ref().map_or(0, Vec::len),
                inline: u.user_policy_list.as_ref().map_or(0, Vec::len),
                attached: u.attached_managed_policies.as_ref().map_or(0, Vec::len),
                tags: ctx.tags.users.labels(
                    u.tags
                        .iter()
                        .flatten()
                        .map(|t| (t.key.as_str(), t.value.as_str())),
                ),
            })
        })
        .collect();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    users.dedup_by(|a, b| a.name == b.name);
    let holds = |attached: &Option<Vec<AttachedPolicy>>, policy: &str| {
        attached
            .iter()
            .flatten()
            .any(|p| p.policy_arn.as_deref().is_some_and(|arn| is_aws_managed(arn, policy)))
    };
    let attachments = WATCHED
        .iter()
        .map(|&policy| Attachments {
            policy,
            users: distinct(&details.users, |u| &u.user_name, |u| {
                holds(&u.attached_managed_policies, policy)
            }),
            groups: distinct(&details.groups, |g| &g.group_name, |g| {
                holds(&g.attached_managed_policies, policy)
            }),
            roles: distinct(&details.roles, |r| &r.role_name, |r| {
                holds(&r.attached_managed_policies, policy)
            }),
        })
        .collect();
    Ok(Data { users, attachments })
}

/// Entities that pass `holds`, each name once (an entity that moved
/// between pages while they were read appears twice).
fn distinct<T>(
    all: &[T],
    name: impl Fn(&T) -> &Option<String>,
    holds: impl Fn(&T) -> bool,
) -> usize {
    let mut names: Vec<&str> = all
        .iter()
        .filter(|e| holds(e))
        .filter_map(|e| name(e).as_deref())
        .collect();
    names.sort_unstable();
    names.dedup();
    names.len()
}

/// Whether `arn` is the AWS managed policy `name` (`arn:PARTITION:iam::aws:policy/NAME`),
/// not a customer managed policy of the same name.
fn is_aws_managed(arn: &str, name: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    parts.next() == Some("arn")
        && parts.next().is_some()
        && parts.next() == Some("iam")
        && parts.next() == Some("")
        && parts.next() == Some("aws")
        && parts.next().and_then(|r| r.strip_prefix("policy/")) == Some(name)
}

/// Entities per `GetAccountAuthorizationDetails` page: the API's maximum.
const PAGE_SIZE: i32 = 1000;

/// What one listing returned, every page.
#[derive(Debug, Clone, Default)]
pub struct Details {
    pub users: Vec<UserDetail>,
    pub groups: Vec<GroupDetail>,
    pub roles: Vec<RoleDetail>,
}

/// One account refresh's listing, shared by the collectors that read in it.
#[derive(Debug)]
pub struct Listing {
    /// The entities of every collector that reads in this refresh.
    filters: Vec<EntityType>,
    read: OnceCell<Result<Details, CallError>>,
}

impl Listing {
    /// The listing of a refresh in which the collectors of `reading` read.
    pub fn new(reading: Collectors) -> Self {
        let filters = if reading.is_on(Collector::AuthorizationDetails) {
            vec![EntityType::User, EntityType::Group, EntityType::Role]
        } else if reading.is_on(Collector::Roles) {
            vec![EntityType::Role]
        } else {
            Vec::new()
        };
        Self {
            filters,
            read: OnceCell::new(),
        }
    }

    fn covers(&self, wanted: &[EntityType]) -> bool {
        wanted.iter().all(|w| self.filters.contains(w))
    }
}

/// The entities `wanted` of the account in `ctx`: from this refresh's
/// shared listing where it has them (read by its first caller), else
/// listed now.
pub async fn read<'a>(
    ctx: Context<'a>,
    wanted: &[EntityType],
) -> Result<Cow<'a, Details>, CallError> {
    match ctx.listing.filter(|l| l.covers(wanted)) {
        Some(listing) => {
            let read = listing
                .read
                .get_or_init(|| list(ctx.iam, ctx.api, &listing.filters))
                .await;
            match read {
                Ok(details) => Ok(Cow::Borrowed(details)),
                Err(e) => Err(copy(e)),
            }
        }
        None => list(ctx.iam, ctx.api, wanted).await.map(Cow::Owned),
    }
}

/// Every page of one listing with `filters`.
pub async fn list(
    iam: &Client,
    api: &ApiMetrics,
    filters: &[EntityType],
) -> Result<Details, CallError> {
    let mut pages = iam
        .get_account_authorization_details()
        .set_filter(Some(filters.to_vec()))
        .into_paginator()
        .page_size(PAGE_SIZE)
        .send();
    let mut details = Details::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            api.record_error("GetAccountAuthorizationDetails", &e);
            CallError::from_sdk("iam:GetAccountAuthorizationDetails", &e)
        })?;
        details.users.extend(page.user_detail_list.unwrap_or_default());
        details.groups.extend(page.group_detail_list.unwrap_or_default());
        details.roles.extend(page.role_detail_list.unwrap_or_default());
    }
    Ok(details)
}

/// The shared listing's failure, for each collector that waited for it.
fn copy(e: &CallError) -> CallError {
    match e {
        CallError::AccessDenied { action, message } => CallError::AccessDenied {
            action,
            message: message.clone(),
        },
        CallError::Aws {
            action,
            code,
            message,
        } => CallError::Aws {
            action,
            code: code.clone(),
            message: message.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_aws_managed_policy_of_that_name_counts() {
        let name = "AWSSupportAccess";
        assert!(is_aws_managed("arn:aws:iam::aws:policy/AWSSupportAccess", name));
        assert!(is_aws_managed("arn:aws-cn:iam::aws:policy/AWSSupportAccess", name));
        assert!(!is_aws_managed("arn:aws:iam::123456789012:policy/AWSSupportAccess", name));
        assert!(!is_aws_managed("arn:aws:iam::aws:policy/AWSSupportAccessX", name));
        assert!(!is_aws_managed("arn:aws:iam::aws:policy/job/AWSSupportAccess", name));
    }
}
