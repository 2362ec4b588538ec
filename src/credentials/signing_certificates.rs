//! `aws_iam_signing_certificate_*`: one series per X.509 signing certificate
//! slot in use, from the credential report's `cert_1_*` and `cert_2_*`
//! columns. AWS records no use of a signing certificate, so there is no
//! last-used family: only whether it is active and when it was uploaded.

use crate::exposition::{Family, Rows, Table, TableRender, Times, pairs, text::labels};
use crate::model::{AccountData, SigningCertificate, User};

const ACTIVE: &str = "aws_iam_signing_certificate_active";
const CREATED: &str = "aws_iam_signing_certificate_created_timestamp_seconds";
const AGE: &str = "aws_iam_signing_certificate_age_seconds";

/// Families rendered once per account refresh, in exposition order, with the
/// labels `account_id`, `user`, `slot`.
const FAMILIES: [Family<SigningCertificate>; 2] = [
    Family {
        name: ACTIVE,
        help: "1 if the X.509 signing certificate is active, 0 if inactive",
        value: |c| Some(i64::from(c.active)),
    },
    Family {
        name: CREATED,
        help: "Time the signing certificate was uploaded (last rotated), in Unix seconds",
        value: |c| c.created,
    },
];

/// Computed from "now" at every scrape; `time() -` [`CREATED`] gives the
/// same value.
const AGES: [Family<Times>; 1] = [Family {
    name: AGE,
    help: "Seconds since the signing certificate was uploaded",
    value: |c| c.created,
}];

pub const TABLE: Table<AccountData> = Table {
    families: || pairs(&FAMILIES),
    ages: &AGES,
    render,
};

fn slot(cert: &SigningCertificate) -> &'static str {
    if cert.slot == 1 { "1" } else { "2" }
}

/// Renders the certificate families of one account: one chunk per family of
/// [`FAMILIES`], and per certificate the [`Times`] of its age.
fn render(rows: &Rows<'_, AccountData>, out: &mut TableRender) {
    let (account, data) = (rows.account_id, rows.report);
    let certs: Vec<(&User, &SigningCertificate)> = data
        .users
        .iter()
        .flat_map(|u| u.signing_certificates.iter().map(move |c| (u, c)))
        .collect();
    let sets: Vec<String> = certs
        .iter()
        .map(|(user, cert)| {
            let mut set = String::new();
            labels(
                &mut set,
                &[
                    ("account_id", account),
                    ("user", &user.name),
                    ("slot", slot(cert)),
                ],
            );
            set
        })
        .collect();
    let mut writer = out.writer(certs.len());
    for family in &FAMILIES {
        writer.family(
            |index| (sets[index].as_str(), (family.value)(certs[index].1)),
            family.name,
        );
    }
    let label_at = out.extend(writer);
    out.times = certs
        .iter()
        .zip(label_at)
        .map(|((_, cert), at)| Times {
            labels: at,
            created: cert.created,
            last_used: None,
            usage_known: true,
        })
        .collect();
}
