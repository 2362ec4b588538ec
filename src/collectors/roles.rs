//! The `roles` collector: every IAM role of an account with its creation and
//! its last use (`RoleLastUsed`: date and region).
//!
//! # Which calls
//!
//! `RoleLastUsed` comes back from `GetRole` and, in each `RoleDetail`, from
//! `GetAccountAuthorizationDetails`; `ListRoles` does not return it (AWS's
//! reference says so, and moto behaves alike). So there are two ways to read
//! every role's last use:
//!
//! - `GetAccountAuthorizationDetails` with `Filter=Role`, 1,000 roles a page:
//!   one call per 1,000 roles (AWS may return fewer per page);
//! - `ListRoles` (1,000 a page) and one `GetRole` per role: 1,001 calls for
//!   1,000 roles.
//!
//! Measured against moto for 1,000 roles, 50 ms a round trip and four calls
//! in flight (`bench/roles_api.py`, BENCHMARKS.md): 1 call, 0.5 to 2.0 MB
//! and 0.5 to 1.3 s against 1,001 calls, 1.2 MB and 16 to 17 s. The first
//! sends more bytes per role (it carries the role's trust policy, inline
//! policy documents, attached policies and instance profiles) but a
//! thousandth of the calls, and IAM's request quota is shared by everything
//! that calls IAM in the account. This collector uses it.
//!
//! The price is in the permission: `iam:GetAccountAuthorizationDetails`
//! cannot be limited to roles, so the exporter's identity may read every
//! IAM policy document of the account (`ListRoles` + `GetRole` reveal role
//! trust policies only). The exporter keeps none of it: a role's name, ARN,
//! path, creation, last use and chosen tags are all that leave this module.
//!
//! The collector is on by default: one call per 1,000 roles per refresh is
//! less than the credential report's two, and an identity without the
//! permission only sets the collector's success to 0.
//!
//! Where `authorization-details` reads in the same refresh, both use one
//! listing with the filters of both ([`authorization_details`] says how);
//! with `--metrics.role-tags`, each role's chosen tags come from it too
//! (`aws_iam_role_tags`).
//!
//! # What AWS tracks
//!
//! AWS reports a role's last use for the trailing 400 days (less in a Region
//! that started tracking within the last year). A role without
//! `LastUsedDate` was not used within that window, which is not the same as
//! never used: it may have been used before.
//!
//! `aws_iam_role_*`: one series per IAM role and family (`roles` collector).

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{EntityType, RoleDetail};

use crate::aws::{ApiMetrics, CallError};

use super::{About, Context, authorization_details};
use crate::exposition::tags::TagSelection;
use crate::exposition::{
    Family, Rows, Table, TableRender, Times, pairs,
    text::{labels, sample},
};


/// The collector's name, flag, default and API cost.
pub const ABOUT: About = about! {
    name: "roles",
    env: "IAM_EXPORTER_COLLECTOR_ROLES",
    default: true,
    cost: "1 call per 1,000 roles per account (iam:GetAccountAuthorizationDetails, roles only)",
    interval: "1h",
};

/// What the collector reads in one account.
pub type Data = Vec<Role>;

const INFO_NAME: &str = "aws_iam_role_info";
const CREATED: &str = "aws_iam_role_created_timestamp_seconds";
const LAST_USED: &str = "aws_iam_role_last_used_timestamp_seconds";
const LAST_USED_INFO: &str = "aws_iam_role_last_used_info";
const IDLE: &str = "aws_iam_role_idle_seconds";
const TAGS_NAME: &str = "aws_iam_role_tags";

/// `INFO_NAME` (labels `account_id`, `role`, `arn`, `path`): first.
const INFO: (&str, &str) = (
    INFO_NAME,
    "IAM role with its ARN and path (service-linked roles are under /aws-service-role/); value is always 1",
);

/// Families with the labels `account_id` and `role`, after [`INFO`].
const FAMILIES: [Family<Role>; 2] = [
    Family {
        name: CREATED,
        help: "Time the role was created, in Unix seconds",
        value: |r| r.created,
    },
    Family {
        name: LAST_USED,
        help: "Time the role was last used (assumed), in Unix seconds; absent if not used within the 400 days AWS tracks",
        value: |r| r.last_used.as_ref().map(|u| u.at),
    },
];

/// `LAST_USED_INFO` (labels `account_id`, `role`, `last_used_region`): last.
const LAST_USED_INFO_PAIR: (&str, &str) = (
    LAST_USED_INFO,
    "Region of the role's last use; value is always 1; absent if not used within the 400 days AWS tracks",
);

/// `TAGS_NAME` (labels `account_id`, `role` and the chosen tags): after
/// [`LAST_USED_INFO_PAIR`], with `--metrics.role-tags` only.
const TAGS: (&str, &str) = (
    TAGS_NAME,
    "IAM role with the tags chosen by --metrics.role-tags as tag_* labels, empty where the role has no such tag; value is always 1",
);

/// Computed from "now" at every scrape.
const AGES: [Family<Times>; 1] = [Family {
    name: IDLE,
    help: "Seconds since the role was last used, or since it was created if not used within the 400 days AWS tracks",
    value: Times::idle_since,
}];

pub const TABLE: Table<Data> = Table {
    families: || {
        let mut families = vec![INFO];
        families.extend(pairs(&FAMILIES));
        families.push(LAST_USED_INFO_PAIR);
        families.push(TAGS);
        families
    },
    ages: &AGES,
    render,
};

/// Renders the roles of one account, if the collector has read them: one
/// chunk for [`INFO`], one per family of [`FAMILIES`], one for the Region
/// of last use, and per role the [`Times`] of its idle time.
fn render(rows: &Rows<'_, Data>, out: &mut TableRender) {
    let account = rows.account_id;
    let roles = rows.data;
    let mut info = String::new();
    for role in roles {
        let mut set = String::new();
        labels(
            &mut set,
            &[
                ("account_id", account),
                ("role", &role.name),
                ("arn", &role.arn),
                ("path", &role.path),
            ],
        );
        sample(&mut info, INFO_NAME, &set, 1);
    }
    out.push(info);
    let sets: Vec<String> = roles
        .iter()
        .map(|role| {
            let mut set = String::new();
            labels(&mut set, &[("account_id", account), ("role", &role.name)]);
            set
        })
        .collect();
    let mut writer = out.writer(roles.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(&roles[index])),
            family.name,
        );
    }
    let label_at = out.extend(writer);
    out.times = roles
        .iter()
        .zip(label_at)
        .map(|(role, at)| Times {
            labels: at,
            created: role.created,
            last_used: role.last_used.as_ref().map(|u| u.at),
            usage_known: true,
        })
        .collect();
    let mut used = String::new();
    for role in roles {
        let Some(last) = &role.last_used else {
            continue;
        };
        let mut set = String::new();
        labels(
            &mut set,
            &[
                ("account_id", account),
                ("role", &role.name),
                ("last_used_region", &last.region),
            ],
        );
        sample(&mut used, LAST_USED_INFO, &set, 1);
    }
    out.push(used);
    let mut tags = String::new();
    for role in roles {
        let Some(chosen) = &role.tags else { continue };
        let mut pairs = vec![("account_id", account), ("role", role.name.as_str())];
        pairs.extend(chosen.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let mut set = String::new();
        labels(&mut set, &pairs);
        sample(&mut tags, TAGS_NAME, &set, 1);
    }
    out.push(tags);
}

/// One IAM role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub arn: String,
    /// `/` for most roles; service-linked roles live under `/aws-service-role/`.
    pub path: String,
    /// Unix seconds.
    pub created: Option<i64>,
    /// `None` when AWS reports no use within its tracking window.
    pub last_used: Option<RoleLastUse>,
    /// `(label name, value)` of the tags chosen by `--metrics.role-tags`;
    /// `None` when none is chosen.
    pub tags: Option<Vec<(String, String)>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleLastUse {
    /// Unix seconds.
    pub at: i64,
    /// Empty when AWS gives no Region.
    pub region: String,
}

/// Path prefix of service-linked roles, which AWS services create and manage.
pub const SERVICE_LINKED_PATH: &str = "/aws-service-role/";

impl Role {
    pub fn is_service_linked(&self) -> bool {
        self.path.starts_with(SERVICE_LINKED_PATH)
    }
}

/// Every role of the account, sorted by name, from this refresh's shared
/// listing where `authorization-details` reads too.
pub async fn collect(ctx: Context<'_>) -> Result<Vec<Role>, CallError> {
    let details = authorization_details::read(ctx, &[EntityType::Role]).await?;
    Ok(roles_of(&details.roles, &ctx.tags.roles))
}

/// Every role of the account behind `iam`, sorted by name (no tags).
pub async fn list_roles(iam: &Client, api: &ApiMetrics) -> Result<Vec<Role>, CallError> {
    let details = authorization_details::list(iam, api, &[EntityType::Role]).await?;
    Ok(roles_of(&details.roles, &TagSelection::None))
}

fn roles_of(details: &[RoleDetail], tags: &TagSelection) -> Vec<Role> {
    let mut roles: Vec<Role> = details.iter().filter_map(|d| role(d, tags)).collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    // A role that moved between pages while they were read appears twice.
    roles.dedup_by(|a, b| a.name == b.name);
    roles
}

/// The parts of a `RoleDetail` the exporter keeps; `None` without a name.
fn role(detail: &RoleDetail, tags: &TagSelection) -> Option<Role> {
    let last_used = detail.role_last_used.as_ref().and_then(|u| {
        Some(RoleLastUse {
            at: u.last_used_date?.secs(),
            region: u.region.as_deref().unwrap_or_default().trim().to_owned(),
        })
    });
    Some(Role {
        name: detail.role_name.clone()?,
        arn: detail.arn.clone().unwrap_or_default(),
        path: detail.path.clone().unwrap_or_else(|| "/".to_owned()),
        created: detail.create_date.map(|d| d.secs()),
        last_used,
        tags: tags.labels(
            detail
                .tags
                .iter()
                .flatten()
                .map(|t| (t.key.as_str(), t.value.as_str())),
        ),
    })
}
