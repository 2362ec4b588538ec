//! `iam-scale-lab`: an AWS-shaped HTTP endpoint on 127.0.0.1 that answers every
//! call the exporter makes for an organization of N member accounts, so that
//! organization-scale benchmarks measure the exporter and not the mock
//! (`bench/scale.py` drives it). Not a replacement for moto in the
//! correctness tests: it answers fixed data, and checks no signature.
//!
//! * IAM and STS are answered in the awsQuery protocol (form-encoded request,
//!   XML response), Organizations in awsJson1_1, as AWS does; errors in the
//!   same shapes (HTTP 400 `Throttling` for IAM and STS,
//!   `TooManyRequestsException` for Organizations).
//! * The account of a call is read from the access key id in the
//!   `Authorization` header's `Credential=` scope: `AssumeRole` into
//!   `arn:aws:iam::ID:role/...` returns the key id `ASIA` + ID + `LAB0`, and
//!   any other key id is the management account's (the exporter's own).
//! * Every call is answered after `--latency-ms`, slept asynchronously, with no
//!   bound on concurrent calls; `--throttle` (a fraction, also settable at run
//!   time) answers that share of calls with a throttling error instead.
//! * The first `GenerateCredentialReport` of an account answers `STARTED`,
//!   later ones `COMPLETE` once `--report-build-ms` have passed (as moto and,
//!   with a longer build, AWS do).
//! * `GET /stats` (no `Authorization` header) returns calls by operation, the
//!   least and most calls any account received, throttled calls and the most
//!   calls in flight at once, as JSON; `GET /stats/reset` returns the same and
//!   sets every counter to zero; `GET /control?latency_ms=..&throttle=..`
//!   changes the latency and the throttled share.
//!
//! Each account holds `--users` IAM users (user-0 with MFA and a password, every
//! user one access key), three roles, one assigned virtual MFA device, a
//! password policy, `--service-credentials` service-specific credentials (2:
//! a CodeCommit password of user-0 and a Keyspaces password of user-1) and an
//! account summary (`GetAccountSummary`) that counts them; no server
//! certificate or SSH key. `ListServiceSpecificCredentials` without
//! `ServiceName` lists every service's credentials, as IAM documents it;
//! `--require-service-name true` refuses that with `ValidationError`, to
//! measure the exporter's fallback to one listing per service.
//!
//! Usage: `iam-scale-lab --accounts N [--users 3] [--latency-ms 50]
//! [--throttle 0] [--report-build-ms 0] [--threads 1] [--port 0]
//! [--max-seconds 7200] [--service-credentials 2]
//! [--require-service-name false]`. Prints `READY 127.0.0.1:PORT` when it listens; stops
//! when stdin closes or after `--max-seconds`.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::io::Read as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The exporter's own account: the organization's management account.
const MANAGEMENT: u64 = 100_000_000_000;
/// Member `i` is account `FIRST_MEMBER + i`.
const FIRST_MEMBER: u64 = 200_000_000_000;
/// Organizations' largest `ListAccounts` page.
const ACCOUNTS_PAGE: usize = 20;
const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const CREATED: &str = "2024-01-01T00:00:00Z";

macro_rules! operations {
    ($($op:ident),* $(,)?) => {
        /// Operations the lab answers; `Unknown` counts the others.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(clippy::upper_case_acronyms)]
        enum Op { $($op,)* Unknown }

        const OPS: &[Op] = &[$(Op::$op,)* Op::Unknown];

        impl Op {
            fn parse(name: &str) -> Op {
                match name {
                    $(stringify!($op) => Op::$op,)*
                    _ => Op::Unknown,
                }
            }

            fn name(self) -> &'static str {
                match self {
                    $(Op::$op => stringify!($op),)*
                    Op::Unknown => "Unknown",
                }
            }
        }
    };
}

operations! {
    AssumeRole,
    GetCallerIdentity,
    ListAccounts,
    DescribeOrganization,
    GenerateCredentialReport,
    GetCredentialReport,
    ListServiceSpecificCredentials,
    GetAccountAuthorizationDetails,
    GetAccountPasswordPolicy,
    ListVirtualMFADevices,
    ListServerCertificates,
    ListUsers,
    ListAccessKeys,
    GetAccessKeyLastUsed,
    ListSSHPublicKeys,
    ListSigningCertificates,
    ListOrganizationsFeatures,
    GetAccountSummary,
}

#[derive(Debug, Clone)]
struct Options {
    accounts: usize,
    users: usize,
    latency_ms: u64,
    throttle: f64,
    report_build_ms: u64,
    threads: usize,
    port: u16,
    max_seconds: u64,
    /// Service-specific credentials per account (`--service-credentials`).
    service_credentials: usize,
    /// Refuse `ListServiceSpecificCredentials` without `ServiceName`
    /// (`--require-service-name`), as a partition that requires it would.
    require_service_name: bool,
}

/// Calls one account received, by operation, and its report's state.
struct Account {
    calls: Vec<AtomicU32>,
    /// 0: no report; else milliseconds since the lab started, plus one, of
    /// the first `GenerateCredentialReport`.
    report_started: AtomicU64,
}

struct Lab {
    options: Options,
    started: Instant,
    /// Members, then the management account.
    accounts: Vec<Account>,
    served: Vec<AtomicU64>,
    throttled: Vec<AtomicU64>,
    in_flight: AtomicU64,
    in_flight_max: AtomicU64,
    latency_ms: AtomicU64,
    /// The throttled share, in parts of `u32::MAX`.
    throttle: AtomicU64,
    sequence: AtomicU64,
}

fn counters(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

impl Lab {
    fn new(options: Options) -> Lab {
        let accounts = (0..=options.accounts)
            .map(|_| Account {
                calls: (0..OPS.len()).map(|_| AtomicU32::new(0)).collect(),
                report_started: AtomicU64::new(0),
            })
            .collect();
        Lab {
            latency_ms: AtomicU64::new(options.latency_ms),
            throttle: AtomicU64::new(share(options.throttle)),
            options,
            started: Instant::now(),
            accounts,
            served: counters(OPS.len()),
            throttled: counters(OPS.len()),
            in_flight: AtomicU64::new(0),
            in_flight_max: AtomicU64::new(0),
            sequence: AtomicU64::new(0),
        }
    }

    /// Index in `accounts` of an account id, if it is one of the lab's.
    fn index(&self, id: u64) -> Option<usize> {
        if id == MANAGEMENT {
            return Some(self.options.accounts);
        }
        let member = id.checked_sub(FIRST_MEMBER)? as usize;
        (member < self.options.accounts).then_some(member)
    }

    fn id(&self, index: usize) -> u64 {
        if index == self.options.accounts {
            MANAGEMENT
        } else {
            FIRST_MEMBER + index as u64
        }
    }

    /// Whether this call is answered with a throttling error.
    fn throttles(&self) -> bool {
        let share = self.throttle.load(Relaxed);
        if share == 0 {
            return false;
        }
        // splitmix64 of a sequence number: spread evenly, reproducible.
        let mut z = self
            .sequence
            .fetch_add(1, Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 32) < share
    }

    fn stats(&self, reset: bool) -> String {
        let take = |c: &AtomicU64| {
            if reset {
                c.swap(0, Relaxed)
            } else {
                c.load(Relaxed)
            }
        };
        let mut out = String::from("{");
        let _ = write!(
            out,
            "\"uptime_s\":{:.3},\"accounts\":{},\"users\":{},\"latency_ms\":{},\"in_flight_max\":{}",
            self.started.elapsed().as_secs_f64(),
            self.options.accounts,
            self.options.users,
            self.latency_ms.load(Relaxed),
            take(&self.in_flight_max)
        );
        for (name, list) in [("served", &self.served), ("throttled", &self.throttled)] {
            let _ = write!(out, ",\"{name}\":{{");
            let mut first = true;
            for (op, counter) in OPS.iter().zip(list) {
                let n = take(counter);
                if n > 0 {
                    let _ = write!(out, "{}\"{}\":{n}", if first { "" } else { "," }, op.name());
                    first = false;
                }
            }
            out.push('}');
        }
        // Per operation: how many accounts were called, and the least and
        // most calls one of them received (accounts never called included in
        // the least, so a missed account shows as 0).
        out.push_str(",\"per_account\":{");
        let mut first = true;
        for (i, op) in OPS.iter().enumerate() {
            let (mut min, mut max, mut called) = (u32::MAX, 0, 0);
            for account in &self.accounts[..self.options.accounts] {
                let n = if reset {
                    account.calls[i].swap(0, Relaxed)
                } else {
                    account.calls[i].load(Relaxed)
                };
                min = min.min(n);
                max = max.max(n);
                called += u32::from(n > 0);
            }
            let own = &self.accounts[self.options.accounts].calls[i];
            let own = if reset {
                own.swap(0, Relaxed)
            } else {
                own.load(Relaxed)
            };
            if max > 0 || own > 0 {
                let _ = write!(
                    out,
                    "{}\"{}\":{{\"members_called\":{called},\"member_min\":{},\"member_max\":{max},\"management\":{own}}}",
                    if first { "" } else { "," },
                    op.name(),
                    if self.options.accounts == 0 { 0 } else { min },
                );
                first = false;
            }
        }
        out.push_str("}}\n");
        out
    }
}

fn share(fraction: f64) -> u64 {
    (fraction.clamp(0.0, 1.0) * f64::from(u32::MAX)) as u64
}

/// Which service a signed request is for, and the account of its key.
struct Caller {
    service: String,
    key_id: String,
}

fn caller(request: &Request<Incoming>) -> Option<Caller> {
    let auth = request.headers().get("authorization")?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?.split([',', ' ']).next()?;
    let mut parts = scope.split('/');
    let key_id = parts.next()?.to_owned();
    let service = parts.nth(2)?.to_owned();
    Some(Caller { service, key_id })
}

/// The account an access key id stands for: `ASIA<id>LAB0` is an assumed
/// role's, anything else the exporter's own.
fn account_of_key(key_id: &str) -> u64 {
    key_id
        .strip_prefix("ASIA")
        .and_then(|rest| rest.strip_suffix("LAB0"))
        .and_then(|id| id.parse().ok())
        .unwrap_or(MANAGEMENT)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The parameters of a form-encoded (awsQuery) request.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Form {
        let body = String::from_utf8_lossy(body);
        Form(
            body.split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (percent_decode(k), percent_decode(v))
                })
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The string value of `"key"` in a flat JSON object (the only shape the
/// exporter's Organizations requests have).
fn json_string(body: &str, key: &str) -> Option<String> {
    let at = body.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = body[at..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

fn xml_response(op: Op, ns: &str, result: &str) -> String {
    let name = op.name();
    format!(
        "<{name}Response xmlns=\"{ns}\"><{name}Result>{result}</{name}Result>\
         <ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ResponseMetadata>\
         </{name}Response>"
    )
}

fn xml_error(ns: &str, code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{ns}\"><Error><Type>Sender</Type><Code>{code}</Code>\
         <Message>{message}</Message></Error>\
         <RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
    )
}

struct Answer {
    status: StatusCode,
    content_type: &'static str,
    body: String,
}

fn xml(status: StatusCode, body: String) -> Answer {
    Answer {
        status,
        content_type: "text/xml",
        body,
    }
}

fn json(status: StatusCode, body: String) -> Answer {
    Answer {
        status,
        content_type: "application/x-amz-json-1.1",
        body,
    }
}

fn iso(unix: u64) -> String {
    // Days to civil date (Howard Hinnant's algorithm).
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn user_name(u: usize) -> String {
    format!("user-{u}")
}

fn key_id(account: u64, u: usize) -> String {
    format!("AKIA{account:012}{u:04}")
}

/// The account's credential report: the root row and one row per user.
fn credential_report(account: u64, users: usize) -> String {
    let mut csv = String::from(
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n",
    );
    let _ = writeln!(
        csv,
        "<root_account>,arn:aws:iam::{account}:root,{CREATED},not_supported,2025-06-01T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
    );
    for u in 0..users {
        let (password, used, changed) = match u % 2 {
            0 => (
                "true",
                "2026-11-01T00:00:00+00:00",
                "2024-01-02T00:00:00+00:00",
            ),
            _ => ("false", "N/A", "N/A"),
        };
        let _ = writeln!(
            csv,
            "{name},arn:aws:iam::{account}:user/{name},{CREATED},{password},{used},{changed},N/A,{mfa},true,2024-01-02T00:00:00+00:00,2026-11-01T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            name = user_name(u),
            mfa = u == 0,
        );
    }
    csv
}

fn members_json(lab: &Lab, from: usize) -> String {
    // The management account first, then the members.
    let total = lab.options.accounts + 1;
    let end = (from + ACCOUNTS_PAGE).min(total);
    let mut out = String::from("{\"Accounts\":[");
    for i in from..end {
        let (id, name) = match i {
            0 => (MANAGEMENT, "Management".to_owned()),
            _ => (FIRST_MEMBER + (i - 1) as u64, format!("Member {}", i - 1)),
        };
        let _ = write!(
            out,
            "{}{{\"Arn\":\"arn:aws:organizations::{MANAGEMENT}:account/o-lab0000001/{id}\",\
             \"Email\":\"{id}@example.com\",\"Id\":\"{id}\",\"JoinedMethod\":\"CREATED\",\
             \"JoinedTimestamp\":1704067200,\"Name\":\"{name}\",\"State\":\"ACTIVE\",\"Status\":\"ACTIVE\"}}",
            if i == from { "" } else { "," }
        );
    }
    out.push(']');
    if end < total {
        let _ = write!(out, ",\"NextToken\":\"{end}\"");
    }
    out.push('}');
    out
}

fn organizations(lab: &Lab, op: Op, body: &str) -> Answer {
    match op {
        Op::ListAccounts => {
            let from = json_string(body, "NextToken")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            json(StatusCode::OK, members_json(lab, from))
        }
        Op::DescribeOrganization => json(
            StatusCode::OK,
            format!(
                "{{\"Organization\":{{\"Arn\":\"arn:aws:organizations::{MANAGEMENT}:organization/o-lab0000001\",\
                 \"FeatureSet\":\"ALL\",\"Id\":\"o-lab0000001\",\"MasterAccountId\":\"{MANAGEMENT}\",\
                 \"MasterAccountArn\":\"arn:aws:organizations::{MANAGEMENT}:account/o-lab0000001/{MANAGEMENT}\",\
                 \"MasterAccountEmail\":\"{MANAGEMENT}@example.com\"}}}}"
            ),
        ),
        _ => json(
            StatusCode::BAD_REQUEST,
            "{\"__type\":\"InvalidInputException\",\"Message\":\"operation not answered by the lab\"}"
                .to_owned(),
        ),
    }
}

fn sts(lab: &Lab, op: Op, form: &Form) -> (Answer, Option<usize>) {
    match op {
        Op::GetCallerIdentity => (
            xml(
                StatusCode::OK,
                xml_response(
                    op,
                    STS_NS,
                    &format!(
                        "<Arn>arn:aws:iam::{MANAGEMENT}:user/exporter</Arn>\
                         <UserId>AIDAEXPORTER000000000</UserId><Account>{MANAGEMENT}</Account>"
                    ),
                ),
            ),
            None,
        ),
        Op::AssumeRole => {
            let arn = form.get("RoleArn").unwrap_or_default();
            let account = arn.split(':').nth(4).and_then(|id| id.parse::<u64>().ok());
            let Some((id, index)) = account.and_then(|id| Some((id, lab.index(id)?))) else {
                let message = format!("not authorized to perform sts:AssumeRole on {arn}");
                return (
                    xml(
                        StatusCode::FORBIDDEN,
                        xml_error(STS_NS, "AccessDenied", &message),
                    ),
                    None,
                );
            };
            let seconds: u64 = form
                .get("DurationSeconds")
                .and_then(|d| d.parse().ok())
                .unwrap_or(3600);
            let role = arn.rsplit('/').next().unwrap_or("role");
            let session = form.get("RoleSessionName").unwrap_or("session");
            let result = format!(
                "<Credentials><AccessKeyId>ASIA{id:012}LAB0</AccessKeyId>\
                 <SecretAccessKey>lab/secret/{id:012}/0000000000000000000000</SecretAccessKey>\
                 <SessionToken>lab-session-{id:012}</SessionToken>\
                 <Expiration>{}</Expiration></Credentials>\
                 <AssumedRoleUser><AssumedRoleId>AROALAB{id:012}:{session}</AssumedRoleId>\
                 <Arn>arn:aws:sts::{id}:assumed-role/{role}/{session}</Arn></AssumedRoleUser>\
                 <PackedPolicySize>0</PackedPolicySize>",
                iso(now_unix() + seconds)
            );
            (
                xml(StatusCode::OK, xml_response(op, STS_NS, &result)),
                Some(index),
            )
        }
        _ => (
            xml(
                StatusCode::BAD_REQUEST,
                xml_error(STS_NS, "InvalidAction", "operation not answered by the lab"),
            ),
            None,
        ),
    }
}

fn iam(lab: &Lab, op: Op, form: &Form, index: usize) -> Answer {
    let account = lab.id(index);
    let users = lab.options.users;
    let ok = |result: String| xml(StatusCode::OK, xml_response(op, IAM_NS, &result));
    let empty_list = |list: &str| ok(format!("<{list}/><IsTruncated>false</IsTruncated>"));
    match op {
        Op::GenerateCredentialReport => {
            let state = &lab.accounts[index].report_started;
            let now = lab.started.elapsed().as_millis() as u64 + 1;
            let started = match state.compare_exchange(0, now, Relaxed, Relaxed) {
                Ok(_) => now,
                Err(at) => at,
            };
            let complete = started < now && now - started >= lab.options.report_build_ms;
            let (state, description) = match complete {
                true => ("COMPLETE", "Report is ready"),
                false => ("STARTED", "No report exists. Starting a new report generation task"),
            };
            ok(format!(
                "<State>{state}</State><Description>{description}</Description>"
            ))
        }
        Op::GetCredentialReport => {
            let started = lab.accounts[index].report_started.load(Relaxed);
            let now = lab.started.elapsed().as_millis() as u64 + 1;
            if started == 0 || now - started < lab.options.report_build_ms {
                let (code, message) = match started {
                    0 => ("ReportNotPresent", "Credential report not present"),
                    _ => ("ReportInProgress", "Credential report in progress"),
                };
                return xml(StatusCode::GONE, xml_error(IAM_NS, code, message));
            }
            let content = base64::engine::general_purpose::STANDARD
                .encode(credential_report(account, users));
            let generated = iso(now_unix() - (now - started) / 1000);
            ok(format!(
                "<Content>{content}</Content><ReportFormat>text/csv</ReportFormat>\
                 <GeneratedTime>{generated}</GeneratedTime>"
            ))
        }
        Op::GetAccountPasswordPolicy => ok("<PasswordPolicy>\
             <AllowUsersToChangePassword>true</AllowUsersToChangePassword>\
             <RequireLowercaseCharacters>true</RequireLowercaseCharacters>\
             <RequireUppercaseCharacters>true</RequireUppercaseCharacters>\
             <MinimumPasswordLength>14</MinimumPasswordLength>\
             <RequireNumbers>true</RequireNumbers><RequireSymbols>true</RequireSymbols>\
             <ExpirePasswords>false</ExpirePasswords><PasswordReusePrevention>24</PasswordReusePrevention>\
             </PasswordPolicy>"
            .to_owned()),
        Op::GetAccountAuthorizationDetails => {
            let mut roles = String::from("<RoleDetailList>");
            for (name, path, used) in [
                ("OrganizationAccountAccessRole", "/", true),
                (
                    "AWSServiceRoleForOrganizations",
                    "/aws-service-role/organizations.amazonaws.com/",
                    true,
                ),
                (
                    "AWSServiceRoleForSupport",
                    "/aws-service-role/support.amazonaws.com/",
                    false,
                ),
            ] {
                let last = match used {
                    true => "<RoleLastUsed><LastUsedDate>2026-11-01T00:00:00Z</LastUsedDate>\
                             <Region>us-east-1</Region></RoleLastUsed>",
                    false => "<RoleLastUsed/>",
                };
                let _ = write!(
                    roles,
                    "<member><Path>{path}</Path><RoleName>{name}</RoleName>\
                     <RoleId>AROA{account:012}{:04}</RoleId><Arn>arn:aws:iam::{account}:role{path}{name}</Arn>\
                     <CreateDate>{CREATED}</CreateDate>\
                     <AssumeRolePolicyDocument>%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D</AssumeRolePolicyDocument>\
                     <InstanceProfileList/><RolePolicyList/><AttachedManagedPolicies/><Tags/>{last}</member>",
                    name.len()
                );
            }
            roles.push_str("</RoleDetailList>");
            ok(format!(
                "{roles}<UserDetailList/><GroupDetailList/><Policies/><IsTruncated>false</IsTruncated>"
            ))
        }
        Op::ListVirtualMFADevices => {
            let device = match users {
                0 => String::new(),
                _ => format!(
                    "<member><SerialNumber>arn:aws:iam::{account}:mfa/user-0</SerialNumber>\
                     <User><Path>/</Path><UserName>user-0</UserName><UserId>AIDA{account:012}0000</UserId>\
                     <Arn>arn:aws:iam::{account}:user/user-0</Arn><CreateDate>{CREATED}</CreateDate></User>\
                     <EnableDate>2024-01-02T00:00:00Z</EnableDate></member>"
                ),
            };
            ok(format!(
                "<VirtualMFADevices>{device}</VirtualMFADevices><IsTruncated>false</IsTruncated>"
            ))
        }
        Op::ListServerCertificates => empty_list("ServerCertificateMetadataList"),
        Op::ListServiceSpecificCredentials => service_specific_credentials(lab, form, account),
        Op::GetAccountSummary => ok(account_summary(users)),
        Op::ListSSHPublicKeys => empty_list("SSHPublicKeys"),
        Op::ListSigningCertificates => empty_list("Certificates"),
        Op::ListUsers => {
            let from: usize = form.get("Marker").and_then(|m| m.parse().ok()).unwrap_or(0);
            let page: usize = form
                .get("MaxItems")
                .and_then(|m| m.parse().ok())
                .unwrap_or(100);
            let end = (from + page.max(1)).min(users);
            let mut out = String::from("<Users>");
            for u in from..end {
                let _ = write!(
                    out,
                    "<member><Path>/</Path><UserName>{n}</UserName><UserId>AIDA{account:012}{u:04}</UserId>\
                     <Arn>arn:aws:iam::{account}:user/{n}</Arn><CreateDate>{CREATED}</CreateDate></member>",
                    n = user_name(u)
                );
            }
            out.push_str("</Users>");
            match end < users {
                true => {
                    let _ = write!(out, "<IsTruncated>true</IsTruncated><Marker>{end}</Marker>");
                }
                false => out.push_str("<IsTruncated>false</IsTruncated>"),
            }
            ok(out)
        }
        Op::ListAccessKeys => {
            let user = form.get("UserName").unwrap_or_default();
            let keys = user
                .strip_prefix("user-")
                .and_then(|u| u.parse::<usize>().ok())
                .filter(|&u| u < users)
                .map(|u| {
                    format!(
                        "<member><UserName>{user}</UserName><AccessKeyId>{}</AccessKeyId>\
                         <Status>Active</Status><CreateDate>2024-01-02T00:00:00Z</CreateDate></member>",
                        key_id(account, u)
                    )
                })
                .unwrap_or_default();
            ok(format!(
                "<AccessKeyMetadata>{keys}</AccessKeyMetadata><IsTruncated>false</IsTruncated>"
            ))
        }
        Op::GetAccessKeyLastUsed => {
            let key = form.get("AccessKeyId").unwrap_or_default();
            let user = key
                .get(16..)
                .and_then(|u| u.parse::<usize>().ok())
                .map(user_name)
                .unwrap_or_default();
            ok(format!(
                "<UserName>{user}</UserName><AccessKeyLastUsed>\
                 <LastUsedDate>2026-11-01T00:00:00Z</LastUsedDate><ServiceName>s3</ServiceName>\
                 <Region>us-east-1</Region></AccessKeyLastUsed>"
            ))
        }
        Op::ListOrganizationsFeatures => ok(format!(
            "<OrganizationId>o-lab0000001</OrganizationId><EnabledFeatures/>\
             <!-- {MANAGEMENT} -->"
        )),
        _ => xml(
            StatusCode::BAD_REQUEST,
            xml_error(IAM_NS, "InvalidAction", "operation not answered by the lab"),
        ),
    }
}

/// The services IAM issues service-specific credentials for, as the
/// exporter lists them one by one where IAM requires `ServiceName`.
const SERVICES: [&str; 7] = [
    "codecommit.amazonaws.com",
    "cassandra.amazonaws.com",
    "bedrock.amazonaws.com",
    "aws-external-anthropic.amazonaws.com",
    "cloudwatch.amazonaws.com",
    "logs.amazonaws.com",
    "xray.amazonaws.com",
];

/// `ListServiceSpecificCredentials`: credential `k` of `--service-credentials`
/// belongs to user `k % users` and service `SERVICES[k % 7]`; Git and
/// Keyspaces passwords never expire, API keys do. `ServiceName` selects one
/// service (without it, every service's, as IAM documents), `UserName` one
/// user unless `AllUsers=true`; `MaxItems` and `Marker` page as IAM does.
/// With `--require-service-name`, a listing without `ServiceName` is refused
/// with `ValidationError`, as where IAM requires it.
fn service_specific_credentials(lab: &Lab, form: &Form, account: u64) -> Answer {
    let op = Op::ListServiceSpecificCredentials;
    let service = form.get("ServiceName").filter(|s| !s.is_empty());
    if service.is_none() && lab.options.require_service_name {
        return xml(
            StatusCode::BAD_REQUEST,
            xml_error(
                IAM_NS,
                "ValidationError",
                "1 validation error detected: Value null at 'serviceName' failed to satisfy constraint: Member must not be null",
            ),
        );
    }
    let users = lab.options.users;
    let all_users = form.get("AllUsers") == Some("true");
    let user = form.get("UserName");
    let matching: Vec<usize> = match users {
        0 => Vec::new(),
        _ => (0..lab.options.service_credentials)
            .filter(|k| service.is_none_or(|s| s == SERVICES[k % SERVICES.len()]))
            .filter(|k| all_users || user.is_none_or(|u| u == user_name(k % users)))
            .collect(),
    };
    let from: usize = form.get("Marker").and_then(|m| m.parse().ok()).unwrap_or(0);
    let page: usize = form
        .get("MaxItems")
        .and_then(|m| m.parse().ok())
        .unwrap_or(100);
    let end = (from + page.max(1)).min(matching.len());
    let mut out = String::from("<ServiceSpecificCredentials>");
    for &k in matching.get(from..end).unwrap_or_default() {
        let name = user_name(k % users);
        let service = SERVICES[k % SERVICES.len()];
        let password = k % SERVICES.len() < 2;
        let (service_user, expiry) = match password {
            true => (format!("{name}-at-{account}"), String::new()),
            false => (
                format!("APIKey-{account:012}{k:04}"),
                "<ExpirationDate>2027-01-02T00:00:00Z</ExpirationDate>".to_owned(),
            ),
        };
        let _ = write!(
            out,
            "<member><UserName>{name}</UserName><Status>Active</Status>\
             <ServiceUserName>{service_user}</ServiceUserName><CreateDate>2024-01-02T00:00:00Z</CreateDate>{expiry}\
             <ServiceSpecificCredentialId>ACCA{account:012}{k:04}</ServiceSpecificCredentialId>\
             <ServiceName>{service}</ServiceName></member>"
        );
    }
    out.push_str("</ServiceSpecificCredentials>");
    match end < matching.len() {
        true => {
            let _ = write!(out, "<Marker>{end}</Marker><IsTruncated>true</IsTruncated>");
        }
        false => out.push_str("<IsTruncated>false</IsTruncated>"),
    }
    xml(StatusCode::OK, xml_response(op, IAM_NS, &out))
}

/// `GetAccountSummary`'s `SummaryMap` for an account of `users` users (user-0
/// with an MFA device), the 3 roles, and a root user with a password and MFA
/// but no access key or signing certificate; quotas are IAM's defaults.
fn account_summary(users: usize) -> String {
    let mfa = usize::from(users > 0);
    let entries: [(&str, usize); 34] = [
        ("Users", users),
        ("UsersQuota", 5000),
        ("Groups", 0),
        ("GroupsQuota", 300),
        ("Roles", 3),
        ("RolesQuota", 1000),
        ("Policies", 0),
        ("PoliciesQuota", 1500),
        ("InstanceProfiles", 0),
        ("InstanceProfilesQuota", 1000),
        ("ServerCertificates", 0),
        ("ServerCertificatesQuota", 20),
        ("PolicyVersionsInUse", 0),
        ("PolicyVersionsInUseQuota", 10000),
        ("MFADevices", mfa),
        ("MFADevicesInUse", mfa),
        ("Providers", 0),
        ("AccountMFAEnabled", 1),
        ("AccountAccessKeysPresent", 0),
        ("AccountSigningCertificatesPresent", 0),
        ("AccountPasswordPresent", 1),
        ("AccessKeysPerUserQuota", 2),
        ("AssumeRolePolicySizeQuota", 2048),
        ("AttachedPoliciesPerGroupQuota", 10),
        ("AttachedPoliciesPerRoleQuota", 10),
        ("AttachedPoliciesPerUserQuota", 10),
        ("GlobalEndpointTokenVersion", 1),
        ("GroupPolicySizeQuota", 5120),
        ("GroupsPerUserQuota", 10),
        ("PolicySizeQuota", 6144),
        ("RolePolicySizeQuota", 10240),
        ("SigningCertificatesPerUserQuota", 2),
        ("UserPolicySizeQuota", 2048),
        ("VersionsPerPolicyQuota", 5),
    ];
    let mut out = String::from("<SummaryMap>");
    for (key, value) in entries {
        let _ = write!(out, "<entry><key>{key}</key><value>{value}</value></entry>");
    }
    out.push_str("</SummaryMap>");
    out
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("valid response")
}

/// Lab statistics and control, on requests without a signature.
fn admin(lab: &Lab, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    match request.uri().path() {
        "/stats" => text(StatusCode::OK, "application/json", lab.stats(false)),
        "/stats/reset" => text(StatusCode::OK, "application/json", lab.stats(true)),
        "/control" => {
            let form = Form::parse(request.uri().query().unwrap_or_default().as_bytes());
            if let Some(ms) = form.get("latency_ms").and_then(|v| v.parse().ok()) {
                lab.latency_ms.store(ms, Relaxed);
            }
            if let Some(f) = form.get("throttle").and_then(|v| v.parse().ok()) {
                lab.throttle.store(share(f), Relaxed);
            }
            text(StatusCode::OK, "application/json", lab.stats(false))
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "unsigned requests: /stats, /stats/reset, /control\n".to_owned(),
        ),
    }
}

async fn handle(
    lab: Arc<Lab>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let Some(caller) = caller(&request) else {
        return Ok(admin(&lab, &request));
    };
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .map(str::to_owned);
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let in_flight = lab.in_flight.fetch_add(1, Relaxed) + 1;
    lab.in_flight_max.fetch_max(in_flight, Relaxed);
    let latency = lab.latency_ms.load(Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let (op, form) = match &target {
        // awsJson1_1: X-Amz-Target: AWSOrganizationsV20161128.ListAccounts
        Some(target) => (
            Op::parse(target.rsplit('.').next().unwrap_or_default()),
            Form(Vec::new()),
        ),
        None => {
            let form = Form::parse(&body);
            (Op::parse(form.get("Action").unwrap_or_default()), form)
        }
    };
    let json_protocol = target.is_some();
    let ns = if caller.service == "sts" {
        STS_NS
    } else {
        IAM_NS
    };
    let own = lab.index(account_of_key(&caller.key_id));
    let answer = if lab.throttles() {
        lab.throttled[op as usize].fetch_add(1, Relaxed);
        let answer = match json_protocol {
            true => json(
                StatusCode::BAD_REQUEST,
                "{\"__type\":\"TooManyRequestsException\",\"Message\":\"Rate exceeded\"}"
                    .to_owned(),
            ),
            false => xml(
                StatusCode::BAD_REQUEST,
                xml_error(ns, "Throttling", "Rate exceeded"),
            ),
        };
        if let Some(index) = own {
            lab.accounts[index].calls[op as usize].fetch_add(1, Relaxed);
        }
        answer
    } else {
        let (answer, counted) = match caller.service.as_str() {
            "organizations" => (
                organizations(&lab, op, &String::from_utf8_lossy(&body)),
                own,
            ),
            "sts" => {
                let (answer, target) = sts(&lab, op, &form);
                // AssumeRole is counted for the account it opens.
                (answer, target.or(own))
            }
            _ => match own {
                Some(index) => (iam(&lab, op, &form, index), own),
                None => (
                    xml(
                        StatusCode::FORBIDDEN,
                        xml_error(
                            ns,
                            "InvalidClientTokenId",
                            "The security token included in the request is invalid",
                        ),
                    ),
                    None,
                ),
            },
        };
        if let Some(index) = counted {
            lab.accounts[index].calls[op as usize].fetch_add(1, Relaxed);
        }
        answer
    };
    lab.served[op as usize].fetch_add(1, Relaxed);
    lab.in_flight.fetch_sub(1, Relaxed);
    let mut response = text(answer.status, answer.content_type, answer.body);
    response.headers_mut().insert(
        "x-amzn-requestid",
        hyper::header::HeaderValue::from_static("00000000-0000-4000-8000-000000000000"),
    );
    Ok(response)
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        accounts: 0,
        users: 3,
        latency_ms: 50,
        throttle: 0.0,
        report_build_ms: 0,
        threads: 1,
        port: 0,
        max_seconds: 7200,
        service_credentials: 2,
        require_service_name: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |_| format!("bad value {value:?} for {flag}");
        match flag.as_str() {
            "--accounts" => options.accounts = value.parse().map_err(bad)?,
            "--users" => options.users = value.parse().map_err(bad)?,
            "--latency-ms" => options.latency_ms = value.parse().map_err(bad)?,
            "--throttle" => {
                options.throttle = value
                    .parse()
                    .map_err(|_| format!("bad value {value:?} for {flag}"))?
            }
            "--report-build-ms" => options.report_build_ms = value.parse().map_err(bad)?,
            "--threads" => options.threads = value.parse().map_err(bad)?,
            "--port" => options.port = value.parse().map_err(bad)?,
            "--max-seconds" => options.max_seconds = value.parse().map_err(bad)?,
            "--service-credentials" => options.service_credentials = value.parse().map_err(bad)?,
            "--require-service-name" => {
                options.require_service_name = value
                    .parse()
                    .map_err(|_| format!("bad value {value:?} for {flag}"))?
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if options.users > 9999 {
        return Err("--users is at most 9999".to_owned());
    }
    Ok(options)
}

fn main() -> std::process::ExitCode {
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("iam-scale-lab: {e}");
            eprintln!(
                "usage: iam-scale-lab --accounts N [--users 3] [--latency-ms 50] [--throttle 0] \
                 [--report-build-ms 0] [--threads 1] [--port 0] [--max-seconds 7200] \
                 [--service-credentials 2] [--require-service-name false]"
            );
            return std::process::ExitCode::from(2);
        }
    };
    let max = Duration::from_secs(options.max_seconds);
    // Stop when the parent closes stdin, and after --max-seconds in any case.
    std::thread::spawn(|| {
        let mut buf = [0u8; 256];
        while let Ok(1..) = std::io::stdin().read(&mut buf) {}
        std::process::exit(0);
    });
    std::thread::spawn(move || {
        std::thread::sleep(max);
        eprintln!("iam-scale-lab: --max-seconds reached, stopping");
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads.max(1))
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(serve(Arc::new(Lab::new(options))));
    std::process::ExitCode::SUCCESS
}

async fn serve(lab: Arc<Lab>) {
    let listener = TcpListener::bind(("127.0.0.1", lab.options.port))
        .await
        .expect("bind 127.0.0.1");
    println!("READY {}", listener.local_addr().expect("local address"));
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let lab = Arc::clone(&lab);
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&lab), request));
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_8601() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_704_067_200), "2024-01-01T00:00:00Z");
        assert_eq!(iso(1_793_491_200 + 3_661), "2026-11-01T01:01:01Z");
    }

    #[test]
    fn assumed_keys_name_their_account() {
        assert_eq!(account_of_key("ASIA200000000042LAB0"), 200_000_000_042);
        assert_eq!(account_of_key("AKIAIOSFODNN7EXAMPLE"), MANAGEMENT);
    }

    #[test]
    fn forms_and_json_are_read() {
        let form =
            Form::parse(b"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A2%3Arole%2FR&X=a+b");
        assert_eq!(form.get("RoleArn"), Some("arn:aws:iam::2:role/R"));
        assert_eq!(form.get("X"), Some("a b"));
        assert_eq!(
            json_string("{\"NextToken\": \"40\"}", "NextToken"),
            Some("40".into())
        );
    }

    #[test]
    fn account_pages_cover_the_organization_once() {
        let lab = Lab::new(Options {
            accounts: 45,
            users: 3,
            latency_ms: 0,
            throttle: 0.0,
            report_build_ms: 0,
            threads: 1,
            port: 0,
            max_seconds: 1,
            service_credentials: 2,
            require_service_name: false,
        });
        let mut from = Some(0);
        let mut ids = Vec::new();
        while let Some(at) = from {
            let page = members_json(&lab, at);
            ids.push(page.matches("\"Id\":\"").count());
            from = json_string(&page, "NextToken").and_then(|t| t.parse().ok());
        }
        assert_eq!(ids, vec![20, 20, 6]);
    }

    fn lab(service_credentials: usize, require_service_name: bool) -> Lab {
        Lab::new(Options {
            accounts: 2,
            users: 3,
            latency_ms: 0,
            throttle: 0.0,
            report_build_ms: 0,
            threads: 1,
            port: 0,
            max_seconds: 1,
            service_credentials,
            require_service_name,
        })
    }

    fn form(query: &str) -> Form {
        Form::parse(query.as_bytes())
    }

    /// The `<entry>` values of a `SummaryMap`, by key.
    fn summary_map(body: &str) -> Vec<(String, u64)> {
        let map = body
            .split("<SummaryMap>")
            .nth(1)
            .and_then(|m| m.split("</SummaryMap>").next())
            .expect("a SummaryMap");
        map.split("<entry>")
            .skip(1)
            .map(|entry| {
                let between = |open: &str, close: &str| {
                    entry
                        .split(open)
                        .nth(1)?
                        .split(close)
                        .next()
                        .map(str::to_owned)
                };
                let key = between("<key>", "</key>").expect("a key");
                let value = between("<value>", "</value>").expect("a value");
                (key, value.parse().expect("a number"))
            })
            .collect()
    }

    #[test]
    fn account_summary_is_an_awsquery_summary_map() {
        let lab = lab(2, false);
        let answer = iam(
            &lab,
            Op::GetAccountSummary,
            &form("Action=GetAccountSummary"),
            0,
        );
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.body.starts_with(
            "<GetAccountSummaryResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <GetAccountSummaryResult><SummaryMap><entry><key>Users</key><value>3</value></entry>"
        ));
        let map = summary_map(&answer.body);
        let get = |key: &str| map.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
        for (key, value) in [
            ("Users", 3),
            ("UsersQuota", 5000),
            ("Roles", 3),
            ("RolesQuota", 1000),
            ("Groups", 0),
            ("GroupsQuota", 300),
            ("Policies", 0),
            ("PoliciesQuota", 1500),
            ("AccountMFAEnabled", 1),
            ("AccountAccessKeysPresent", 0),
            ("AccountSigningCertificatesPresent", 0),
            ("AccountPasswordPresent", 1),
        ] {
            assert_eq!(get(key), Some(value), "{key}");
        }
        let mut keys: Vec<&str> = map.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), map.len(), "every key once");
    }

    /// Credential ids of a `ListServiceSpecificCredentials` answer, with the
    /// next marker if the page is truncated.
    fn credentials(answer: &Answer) -> (Vec<String>, Option<String>) {
        let ids = answer
            .body
            .split("<ServiceSpecificCredentialId>")
            .skip(1)
            .filter_map(|s| s.split('<').next())
            .map(str::to_owned)
            .collect();
        let marker = answer
            .body
            .contains("<IsTruncated>true</IsTruncated>")
            .then(|| tag_text(&answer.body, "Marker"));
        (ids, marker)
    }

    fn tag_text(body: &str, tag: &str) -> String {
        let open = format!("<{tag}>");
        body.split(&open)
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap()
            .to_owned()
    }

    #[test]
    fn service_credentials_without_a_service_name_are_every_service() {
        let lab = lab(9, false);
        let op = Op::ListServiceSpecificCredentials;
        let list = |query: &str| credentials(&iam(&lab, op, &form(query), 1));
        let member = FIRST_MEMBER + 1;
        let id = |k: usize| format!("ACCA{member:012}{k:04}");
        // Every service, every user: the 9 credentials (7 services, 2 twice).
        let (all, next) = list("Action=ListServiceSpecificCredentials&AllUsers=true");
        assert_eq!(all, (0..9).map(id).collect::<Vec<_>>());
        assert_eq!(next, None);
        // One service: codecommit has credentials 0 and 7.
        let (codecommit, _) = list(
            "Action=ListServiceSpecificCredentials&AllUsers=true&ServiceName=codecommit.amazonaws.com",
        );
        assert_eq!(codecommit, [id(0), id(7)]);
        // One user, every service: user-1 has credentials 1, 4 and 7.
        let (user1, _) = list("Action=ListServiceSpecificCredentials&UserName=user-1");
        assert_eq!(user1, [id(1), id(4), id(7)]);
        // Pages of 4: 4, 4, 1, each marker the next start.
        let mut pages = Vec::new();
        let mut marker = String::new();
        loop {
            let (page, next) = list(&format!(
                "Action=ListServiceSpecificCredentials&AllUsers=true&MaxItems=4{marker}"
            ));
            pages.push(page.len());
            match next {
                Some(m) => marker = format!("&Marker={m}"),
                None => break,
            }
        }
        assert_eq!(pages, [4, 4, 1]);
        // API keys expire, passwords do not.
        let body = iam(
            &lab,
            op,
            &form("Action=ListServiceSpecificCredentials&AllUsers=true"),
            1,
        )
        .body;
        assert_eq!(body.matches("<ExpirationDate>").count(), 5);
        assert!(body.contains("<ServiceUserName>user-0-at-200000000001</ServiceUserName>"));
    }

    #[test]
    fn a_service_name_can_be_required() {
        let lab = lab(2, true);
        let op = Op::ListServiceSpecificCredentials;
        let refused = iam(
            &lab,
            op,
            &form("Action=ListServiceSpecificCredentials&AllUsers=true"),
            0,
        );
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(refused.body.contains("<Code>ValidationError</Code>"));
        let one = iam(
            &lab,
            op,
            &form(
                "Action=ListServiceSpecificCredentials&AllUsers=true&ServiceName=cassandra.amazonaws.com",
            ),
            0,
        );
        assert_eq!(one.status, StatusCode::OK);
        assert_eq!(credentials(&one).0, [format!("ACCA{FIRST_MEMBER:012}0001")]);
    }
}
