//! `aws_iam_ssh_public_key_*`: one series per SSH public key of an IAM user
//! (`ssh-public-keys` collector).

use super::table::{Table, TableRender};
use super::text::labels;
use super::{Family, Times, Writer, pairs};
use crate::collectors::ssh_public_keys::SshPublicKey;
use crate::model::AccountData;

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

pub(super) const TABLE: Table = Table {
    families: || pairs(&FAMILIES),
    ages: &AGES,
    render,
};

fn render(account: &str, data: &AccountData, out: &mut TableRender) {
    let Some(collected) = data
        .collected
        .ssh_public_keys
        .as_ref()
        .and_then(|c| c.data.as_ref())
    else {
        return;
    };
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
    let mut writer = Writer::new(keys.len(), out.chunks.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(&keys[index])),
            family.name,
        );
    }
    let (chunks, label_at) = writer.finish();
    out.chunks.extend(chunks);
    out.times = keys
        .iter()
        .zip(label_at)
        .map(|(key, at)| Times {
            labels: at,
            created: Some(key.uploaded),
            last_used: None,
        })
        .collect();
}
