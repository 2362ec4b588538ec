//! The `account-tags` collector: an organization member account's AWS
//! Organizations tags, chosen by `--metrics.account-tags`, as the labels of
//! one info series per account (`aws_iam_account_tags`).
//!
//! Organizations keeps account tags in the management account (or the
//! delegated administrator for Organizations): they are read there, with
//! the exporter's own credentials, by `organizations:ListTagsForResource`,
//! one call per member account, never with the member's role. Account
//! discovery gives each member found through Organizations its [`Member`];
//! an account found otherwise (`--aws.assume-role`, the exporter's own
//! account outside an organization) has no Organizations tags and gets its
//! series with every chosen label empty, without a call, so that a join on
//! `account_id` keeps its alerts.
//!
//! The collector runs only when `--metrics.account-tags` names tags (the
//! configuration turns it off otherwise). Tags change rarely: its interval
//! is 1h by default.

use aws_sdk_organizations::Client;

use super::{About, Context};
use crate::aws::CallError;
use crate::exposition::text::{labels, sample};
use crate::exposition::{Rows, Table, TableRender};

/// The collector's name, flag, default and API cost.
pub const ABOUT: About = about! {
    name: "account-tags",
    env: "IAM_EXPORTER_COLLECTOR_ACCOUNT_TAGS",
    default: true,
    cost: "with --metrics.account-tags only: 1 call per organization member account (organizations:ListTagsForResource, from the management account)",
    interval: "1h",
};

/// `(label name, value)` of the chosen tags; `None` when none is chosen.
pub type Data = Option<Vec<(String, String)>>;

/// A member account of the organization, as account discovery found it.
#[derive(Debug, Clone)]
pub struct Member {
    /// The exporter's own Organizations client (management account).
    pub organizations: Client,
    pub account_id: String,
}

const NAME: &str = "aws_iam_account_tags";

pub const TABLE: Table<Data> = Table {
    families: || {
        vec![(
            NAME,
            "AWS account with the Organizations tags chosen by --metrics.account-tags as tag_* labels, empty where the account has no such tag; value is always 1",
        )]
    },
    ages: &[],
    render,
};

fn render(rows: &Rows<'_, Data>, out: &mut TableRender) {
    let Some(chosen) = rows.data else { return };
    let mut pairs = vec![("account_id", rows.account_id)];
    pairs.extend(chosen.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let mut set = String::new();
    labels(&mut set, &pairs);
    let mut text = String::new();
    sample(&mut text, NAME, &set, 1);
    out.push(text);
}

/// The chosen tags of the account, every page.
pub async fn collect(ctx: Context<'_>) -> Result<Data, CallError> {
    let selection = &ctx.tags.accounts;
    let Some(member) = ctx.member else {
        return Ok(selection.labels([]));
    };
    let org = &member.organizations;
    let mut pages = org
        .list_tags_for_resource()
        .resource_id(&member.account_id)
        .into_paginator()
        .send();
    let mut tags = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            ctx.api.record_error("ListTagsForResource", &e);
            CallError::from_sdk("organizations:ListTagsForResource", &e)
        })?;
        tags.extend(page.tags.unwrap_or_default());
    }
    Ok(selection.labels(tags.iter().map(|t| (t.key.as_str(), t.value.as_str()))))
}
