//! Synthetic credential reports in AWS's CSV format, for load tests and
//! benchmarks: any number of users, deterministic for a given size and seed.
//!
//! Standard library only, so that the benchmark driver in `bench/` can
//! include this file as it is.

use std::fmt::Write as _;

/// The columns of the credential report, in AWS's order.
pub const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

pub const ACCOUNT: &str = "123456789012";

const REGIONS: [&str; 6] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "sa-east-1",
];
const SERVICES: [&str; 7] = ["s3", "sts", "ec2", "iam", "dynamodb", "lambda", "ecr"];
const TEAMS: [&str; 5] = ["platform", "data", "ci", "payments", "support"];

/// 2018-01-01T00:00:00Z: the earliest creation time generated.
const EPOCH: i64 = 1_514_764_800;
/// 2026-11-01T00:00:00Z: no date generated is later.
const LATEST: i64 = 1_793_491_200;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// IAM users (rows); the report has no root row.
    pub users: usize,
    /// Access keys of every user, 0 to 2.
    pub keys_per_user: u8,
    pub seed: u64,
}

impl Spec {
    pub fn new(users: usize, keys_per_user: u8) -> Spec {
        Spec {
            users,
            keys_per_user: keys_per_user.min(2),
            seed: 42,
        }
    }

    pub fn keys(&self) -> usize {
        self.users * usize::from(self.keys_per_user)
    }
}

/// The name of user `i` of a synthetic report.
pub fn user_name(i: usize) -> String {
    format!("user-{i:06}")
}

/// A complete credential report (header and one row per user) as AWS
/// returns it after base64 decoding. The same spec gives the same bytes.
pub fn credential_report(spec: &Spec) -> String {
    let mut out = String::with_capacity(64 + spec.users * 420);
    out.push_str(HEADER);
    out.push('\n');
    let mut rng = Rng(spec.seed);
    for i in 0..spec.users {
        row(&mut out, &mut rng, i, spec.keys_per_user);
    }
    out
}

fn row(out: &mut String, rng: &mut Rng, i: usize, keys: u8) {
    let name = user_name(i);
    let team = TEAMS[i % TEAMS.len()];
    let created = EPOCH + rng.below((LATEST - EPOCH - 86_400 * 30) as u64) as i64;
    let password = rng.below(3) == 0;
    let (pw_used, pw_changed) = if password {
        (
            date_or_na(rng, created, 4),
            aws_time(created + rng.below(86_400 * 30) as i64),
        )
    } else {
        ("N/A".to_owned(), "N/A".to_owned())
    };
    let mfa = password && rng.below(2) == 0;
    let _ = write!(
        out,
        "{name},arn:aws:iam::{ACCOUNT}:user/{team}/{name},{},{password},{pw_used},{pw_changed},N/A,{mfa}",
        aws_time(created)
    );
    for slot in 1..=2u8 {
        if slot <= keys {
            // The second key of a user is inactive a quarter of the time.
            let active = slot == 1 || rng.below(4) != 0;
            let rotated = created + rng.below((LATEST - created) as u64) as i64;
            let used = date_or_na(rng, rotated, 5);
            let (region, service) = if used == "N/A" {
                ("N/A", "N/A")
            } else {
                (
                    REGIONS[rng.below(REGIONS.len() as u64) as usize],
                    SERVICES[rng.below(SERVICES.len() as u64) as usize],
                )
            };
            let _ = write!(
                out,
                ",{active},{},{used},{region},{service}",
                aws_time(rotated)
            );
        } else {
            out.push_str(",false,N/A,N/A,N/A,N/A");
        }
    }
    out.push_str(",false,N/A,false,N/A\n");
}

/// A time after `after` or, one time in `never`, `N/A`.
fn date_or_na(rng: &mut Rng, after: i64, never: u64) -> String {
    if rng.below(never) == 0 {
        "N/A".to_owned()
    } else {
        aws_time(after + rng.below((LATEST - after).max(1) as u64) as i64)
    }
}

/// Unix seconds as AWS writes them: `2025-03-14T09:21:07+00:00`.
pub fn aws_time(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's algorithm). A copy of `iam_credentials_exporter::time`'s, on
/// purpose: the benchmark tool includes this file without the exporter crate.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// splitmix64: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
