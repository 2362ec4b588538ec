//! The web configuration file (`--web.config.file`): TLS, client certificates,
//! basic authentication and extra response headers, in the format of
//! Prometheus's exporter-toolkit.
//!
//! The file is read and validated once, at startup; an invalid file is a
//! configuration error. Unlike exporter-toolkit it is not re-read on every
//! connection: rotating a certificate or a password takes a restart.
//!
//! TLS uses rustls with the aws-lc-rs provider, the same stack the AWS SDK
//! uses for its own calls. Everything rustls cannot do (TLS 1.0 and 1.1, CBC
//! cipher suites, P-521, accepting client certificates without verifying them)
//! is rejected with an error naming the key, rather than silently weakened.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::hmac;
use base64::Engine as _;
use hyper::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::crypto::aws_lc_rs as provider;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::server::danger::ClientCertVerifier;
use tokio_rustls::rustls::{
    self, RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion,
};

/// The headers exporter-toolkit lets a web configuration file set, with the
/// values it accepts (`None`: any value).
const ALLOWED_HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("Content-Security-Policy", None),
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
];

/// How many successful verifications the basic-auth cache remembers before it
/// starts over. Only correct passwords enter it, so it stays tiny in practice.
const AUTH_CACHE_CAPACITY: usize = 256;

/// A validated web configuration.
#[derive(Default)]
pub struct WebConfig {
    /// Present when the server speaks TLS.
    pub tls: Option<Arc<ServerConfig>>,
    /// Present when requests need basic authentication.
    pub basic_auth: Option<BasicAuth>,
    /// Added to every response, including 401s.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("basic_auth", &self.basic_auth.is_some())
            .field("headers", &self.headers)
            .finish()
    }
}

/// The web configuration file cannot be used; the exporter must not start.
#[derive(Debug, thiserror::Error)]
#[error("invalid --web.config.file {path:?}: {reason}")]
pub struct WebConfigError {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
struct RawFile {
    tls_server_config: Option<RawTls>,
    http_server_config: Option<RawHttp>,
    basic_auth_users: Option<UniqueMap>,
    rate_limit: Option<serde_norway::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
struct RawTls {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
struct RawHttp {
    /// Accepted for compatibility; the exporter serves HTTP/1.1 only and
    /// does not offer h2 in ALPN, so clients fall back to HTTP/1.1.
    #[allow(dead_code)]
    http2: Option<bool>,
    headers: Option<UniqueMap>,
}

/// A string-to-string mapping that refuses duplicate keys: a user listed
/// twice is a mistake, and silently keeping one of the hashes hides it.
#[derive(Debug, Default)]
struct UniqueMap(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for UniqueMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UniqueMap;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a mapping of strings to strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<UniqueMap, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!("duplicate key {k:?}")));
                    }
                    out.insert(k, v);
                }
                Ok(UniqueMap(out))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

impl WebConfig {
    /// Reads and validates the file at `path`, including the certificate,
    /// key and CA files it names (relative paths are relative to the file).
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let fail = |reason: String| WebConfigError {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        WebConfig::parse(&text, dir).map_err(fail)
    }

    /// Validates the configuration in `text`; file names are relative to `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<WebConfig, String> {
        let raw: RawFile = if text.trim().is_empty() {
            RawFile::default()
        } else {
            serde_norway::from_str::<Option<RawFile>>(text)
                .map_err(|e| one_line(&e.to_string()))?
                .unwrap_or_default()
        };
        if raw.rate_limit.is_some() {
            return Err(String::from(
                "rate_limit is not supported; use --web.max-connections to bound the load",
            ));
        }
        let headers = headers(
            raw.http_server_config
                .and_then(|h| h.headers)
                .unwrap_or_default()
                .0,
        )?;
        let basic_auth = match raw.basic_auth_users {
            Some(UniqueMap(users)) if !users.is_empty() => Some(BasicAuth::new(users)?),
            _ => None,
        };
        let tls = match raw.tls_server_config {
            Some(tls) => tls_config(tls, dir)?.map(Arc::new),
            None => None,
        };
        Ok(WebConfig {
            tls,
            basic_auth,
            headers,
        })
    }
}

/// YAML errors can span lines (they quote the input); the exit message is one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn headers(raw: BTreeMap<String, String>) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut out = Vec::new();
    for (name, value) in raw {
        let Some((_, allowed)) = ALLOWED_HEADERS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<_> = ALLOWED_HEADERS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "http_server_config.headers: header {name:?} cannot be configured (allowed: {})",
                names.join(", ")
            ));
        };
        // exporter-toolkit: a blank value leaves the header unset.
        if value.is_empty() {
            continue;
        }
        if let Some(allowed) = allowed
            && !allowed.contains(&value.as_str())
        {
            return Err(format!(
                "http_server_config.headers.{name}: invalid value {value:?} (expected one of: {})",
                allowed.join(", ")
            ));
        }
        let header_value = HeaderValue::from_str(&value).map_err(|_| {
            format!(
                "http_server_config.headers.{name}: value {value:?} is not a valid header value"
            )
        })?;
        out.push((HeaderName::from_static(static_name(&name)), header_value));
    }
    Ok(out)
}

/// The lower-case `'static` name hyper wants for a header from [`ALLOWED_HEADERS`].
fn static_name(name: &str) -> &'static str {
    match name {
        "Content-Security-Policy" => "content-security-policy",
        "Strict-Transport-Security" => "strict-transport-security",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-Frame-Options" => "x-frame-options",
        _ => "x-xss-protection",
    }
}

/// Empty strings mean "unset", as in exporter-toolkit (Go's zero value).
fn set(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    None,
    VerifyIfGiven,
    Require,
}

fn tls_config(raw: RawTls, dir: &Path) -> Result<Option<ServerConfig>, String> {
    let tls = match Tls::from_raw(raw) {
        None => return Ok(None),
        Some(tls) => tls?,
    };
    tls.check_sources()?;
    let versions = tls.protocol_versions()?;
    let client_auth = tls.client_auth()?;
    let crypto = Arc::new(tls.crypto_provider()?);
    // Files are read only once the structure is known to be valid, so a
    // structural mistake is reported as such even when files are missing.
    let (chain, private_key) = tls.certificate_and_key(dir)?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&crypto))
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let builder = match client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        _ => builder.with_client_cert_verifier(tls.client_verifier(client_auth, crypto, dir)?),
    };
    let mut config = builder
        .with_single_cert(chain, private_key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                String::from("tls_server_config: the private key does not match the certificate")
            }
            e => format!("tls_server_config: certificate and key cannot be used: {e}"),
        })?;
    // exporter-toolkit's default: the server's order of cipher suites wins.
    config.ignore_client_order = tls.prefer_server_cipher_suites.unwrap_or(true);
    Ok(Some(config))
}

/// `tls_server_config` with empty values as unset.
struct Tls {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    client_ca_file: Option<String>,
    client_auth_type: Option<String>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    curve_preferences: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
}

impl Tls {
    /// `None` when nothing of TLS is set (plain HTTP); an error for
    /// `client_allowed_sans`, which is not supported.
    fn from_raw(raw: RawTls) -> Option<Result<Self, String>> {
        let tls = Self {
            cert: set(raw.cert),
            key: set(raw.key),
            client_ca: set(raw.client_ca),
            cert_file: set(raw.cert_file),
            key_file: set(raw.key_file),
            client_ca_file: set(raw.client_ca_file),
            client_auth_type: set(raw.client_auth_type),
            min_version: set(raw.min_version),
            max_version: set(raw.max_version),
            cipher_suites: raw.cipher_suites,
            curve_preferences: raw.curve_preferences,
            prefer_server_cipher_suites: raw.prefer_server_cipher_suites,
        };
        let anything_set = tls.cert.is_some()
            || tls.key.is_some()
            || tls.client_ca.is_some()
            || tls.cert_file.is_some()
            || tls.key_file.is_some()
            || tls.client_ca_file.is_some()
            || tls.client_auth_type.is_some()
            || tls.min_version.is_some()
            || tls.max_version.is_some()
            || raw.client_allowed_sans.is_some()
            || tls.cipher_suites.is_some()
            || tls.curve_preferences.is_some()
            || tls.prefer_server_cipher_suites.is_some();
        if !anything_set {
            return None;
        }
        if raw.client_allowed_sans.is_some() {
            return Some(Err(String::from(
                "tls_server_config.client_allowed_sans is not supported",
            )));
        }
        Some(Ok(tls))
    }

    /// Each of the certificate, the key and the client CA is given inline or
    /// as a file, not both; the certificate and the key are required.
    fn check_sources(&self) -> Result<(), String> {
        if self.cert.is_some() && self.cert_file.is_some() {
            return Err(String::from(
                "tls_server_config: cert and cert_file are mutually exclusive",
            ));
        }
        if self.key.is_some() && self.key_file.is_some() {
            return Err(String::from(
                "tls_server_config: key and key_file are mutually exclusive",
            ));
        }
        if self.client_ca.is_some() && self.client_ca_file.is_some() {
            return Err(String::from(
                "tls_server_config: client_ca and client_ca_file are mutually exclusive",
            ));
        }
        if self.cert.is_none() && self.cert_file.is_none() {
            return Err(String::from(
                "tls_server_config: missing one of cert or cert_file",
            ));
        }
        if self.key.is_none() && self.key_file.is_none() {
            return Err(String::from(
                "tls_server_config: missing one of key or key_file",
            ));
        }
        Ok(())
    }

    /// The TLS versions from `min_version` to `max_version` (TLS 1.2 and
    /// 1.3 by default).
    fn protocol_versions(&self) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
        let min = tls_version(
            "min_version",
            self.min_version.as_deref().unwrap_or("TLS12"),
        )?;
        let max = tls_version(
            "max_version",
            self.max_version.as_deref().unwrap_or("TLS13"),
        )?;
        if min > max {
            return Err(String::from(
                "tls_server_config: min_version is greater than max_version",
            ));
        }
        Ok(
            [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
                .into_iter()
                .filter(|(v, _)| (min..=max).contains(v))
                .map(|(_, v)| v)
                .collect(),
        )
    }

    /// `client_auth_type`, which must agree with whether a client CA is set.
    fn client_auth(&self) -> Result<ClientAuth, String> {
        let client_auth = match self.client_auth_type.as_deref().unwrap_or("NoClientCert") {
            "NoClientCert" => ClientAuth::None,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::Require,
            v @ ("RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert") => {
                return Err(format!(
                    "tls_server_config.client_auth_type {v} is not supported: client certificates are only accepted when verified; use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file"
                ));
            }
            other => {
                return Err(format!(
                    "tls_server_config.client_auth_type: unknown value {other:?} (expected one of: NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"
                ));
            }
        };
        let has_ca = self.client_ca.is_some() || self.client_ca_file.is_some();
        match (client_auth, has_ca) {
            (ClientAuth::None, true) => Err(String::from(
                "tls_server_config: a client CA is configured but client_auth_type is NoClientCert; set client_auth_type to RequireAndVerifyClientCert",
            )),
            (ClientAuth::VerifyIfGiven | ClientAuth::Require, false) => Err(format!(
                "tls_server_config.client_auth_type {} needs client_ca_file or client_ca",
                self.client_auth_type.as_deref().unwrap_or_default()
            )),
            _ => Ok(client_auth),
        }
    }

    /// The aws-lc-rs provider with `cipher_suites` and `curve_preferences`.
    fn crypto_provider(&self) -> Result<CryptoProvider, String> {
        let mut crypto = provider::default_provider();
        if let Some(names) = self.cipher_suites.as_ref().filter(|n| !n.is_empty()) {
            crypto.cipher_suites = cipher_suites(names)?;
        }
        if let Some(names) = self.curve_preferences.as_ref().filter(|n| !n.is_empty()) {
            crypto.kx_groups = names.iter().map(|n| curve(n)).collect::<Result<_, _>>()?;
        }
        Ok(crypto)
    }

    /// The certificate chain and the private key, inline or read from
    /// their files.
    fn certificate_and_key(
        &self,
        dir: &Path,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
        let cert_pem = pem_source(
            "cert",
            self.cert.clone(),
            "cert_file",
            self.cert_file.as_deref(),
            dir,
        )?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("tls_server_config: cannot parse the certificate: {e}"))?;
        if chain.is_empty() {
            return Err(String::from(
                "tls_server_config: no PEM certificate found in cert/cert_file",
            ));
        }
        let key_pem = pem_source(
            "key",
            self.key.clone(),
            "key_file",
            self.key_file.as_deref(),
            dir,
        )?;
        let private_key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| format!("tls_server_config: cannot parse the private key: {e}"))?;
        Ok((chain, private_key))
    }

    /// What verifies client certificates against the client CA.
    fn client_verifier(
        &self,
        client_auth: ClientAuth,
        crypto: Arc<CryptoProvider>,
        dir: &Path,
    ) -> Result<Arc<dyn ClientCertVerifier>, String> {
        let ca_pem = pem_source(
            "client_ca",
            self.client_ca.clone(),
            "client_ca_file",
            self.client_ca_file.as_deref(),
            dir,
        )?;
        let mut roots = RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(&ca_pem) {
            let ca = ca.map_err(|e| {
                format!("tls_server_config: cannot parse the client CA certificate: {e}")
            })?;
            roots
                .add(ca)
                .map_err(|e| format!("tls_server_config: unusable client CA certificate: {e}"))?;
        }
        if roots.is_empty() {
            return Err(String::from(
                "tls_server_config: no PEM certificate found in client_ca/client_ca_file",
            ));
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), crypto);
        let verifier = if client_auth == ClientAuth::VerifyIfGiven {
            verifier.allow_unauthenticated()
        } else {
            verifier
        };
        verifier
            .build()
            .map_err(|e| format!("tls_server_config: client certificate verifier: {e}"))
    }
}

fn pem_source(
    inline_key: &str,
    inline: Option<String>,
    file_key: &str,
    file: Option<&str>,
    dir: &Path,
) -> Result<Vec<u8>, String> {
    match (inline, file) {
        (Some(text), _) => Ok(text.into_bytes()),
        (None, Some(file)) => {
            let path = dir.join(file);
            std::fs::read(&path).map_err(|e| {
                format!(
                    "tls_server_config.{file_key}: cannot read {}: {e}",
                    path.display()
                )
            })
        }
        (None, None) => Err(format!(
            "tls_server_config: missing one of {inline_key} or {file_key}"
        )),
    }
}

fn tls_version(key: &str, value: &str) -> Result<u8, String> {
    match value {
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        "TLS10" | "TLS11" => Err(format!(
            "tls_server_config.{key} {value} is not supported (TLS12 and TLS13 are)"
        )),
        other => Err(format!(
            "tls_server_config.{key}: unknown value {other:?} (expected TLS12 or TLS13)"
        )),
    }
}

/// Maps Go's cipher suite names to rustls's. Go ignores TLS 1.3 suites in this
/// list (they are not configurable) and so does the exporter: the TLS 1.3
/// suites stay the provider's defaults and the list orders the TLS 1.2 ones.
fn cipher_suites(names: &[String]) -> Result<Vec<SupportedCipherSuite>, String> {
    use provider::cipher_suite as cs;
    let mut suites: Vec<SupportedCipherSuite> = vec![
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
    ];
    for name in names {
        let suite = match name.as_str() {
            "TLS_AES_128_GCM_SHA256"
            | "TLS_AES_256_GCM_SHA384"
            | "TLS_CHACHA20_POLY1305_SHA256" => {
                continue;
            }
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => {
                cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            }
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => {
                cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
            }
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
            | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
                cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
            }
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"
            | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
                cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
            }
            other
                if other.starts_with("TLS_")
                    && (other.contains("_CBC_") || other.starts_with("TLS_RSA_")) =>
            {
                return Err(format!(
                    "tls_server_config.cipher_suites: {other} is not supported (only ECDHE suites with AES-GCM or ChaCha20-Poly1305 are)"
                ));
            }
            other => {
                return Err(format!(
                    "tls_server_config.cipher_suites: unknown cipher suite {other:?}"
                ));
            }
        };
        if !suites.contains(&suite) {
            suites.push(suite);
        }
    }
    Ok(suites)
}

fn curve(name: &str) -> Result<&'static dyn rustls::crypto::SupportedKxGroup, String> {
    use provider::kx_group;
    match name {
        "X25519" => Ok(kx_group::X25519),
        "CurveP256" => Ok(kx_group::SECP256R1),
        "CurveP384" => Ok(kx_group::SECP384R1),
        "CurveP521" => Err(String::from(
            "tls_server_config.curve_preferences: CurveP521 is not supported (X25519, CurveP256 and CurveP384 are)",
        )),
        other => Err(format!(
            "tls_server_config.curve_preferences: unknown curve {other:?}"
        )),
    }
}

/// Basic authentication against bcrypt hashes, with a cache of successful
/// verifications so that a scrape does not pay for bcrypt every time.
pub struct BasicAuth {
    /// User names as HMAC tags (compared in constant time) and their bcrypt hashes.
    users: Vec<([u8; 32], String)>,
    /// Per-process key: cache entries and user tags mean nothing outside this process.
    key: hmac::Key,
    /// Tags of (user, password) pairs that bcrypt accepted.
    verified: Mutex<HashSet<[u8; 32]>>,
    /// bcrypt is CPU-bound by design; one verification at a time keeps a
    /// flood of wrong passwords from taking more than one core.
    bcrypt_slot: tokio::sync::Semaphore,
    bcrypt_runs: AtomicU64,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

impl BasicAuth {
    fn new(users: BTreeMap<String, String>) -> Result<BasicAuth, String> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| String::from("cannot generate a random key"))?;
        let mut tagged = Vec::with_capacity(users.len());
        for (user, hash) in users {
            let parts = hash
                .parse::<bcrypt::HashParts>()
                .map_err(|e| format!("basic_auth_users.{user}: not a bcrypt hash ({e})"))?;
            // bcrypt (here and in Go) refuses any other cost when verifying:
            // such a hash would lock every request out.
            let cost = parts.get_cost();
            if !(4..=31).contains(&cost) {
                return Err(format!(
                    "basic_auth_users.{user}: bcrypt cost {cost} is outside 4 to 31, so no password can match"
                ));
            }
            tagged.push((tag(&key, b"user", &[user.as_bytes()]), hash));
        }
        Ok(BasicAuth {
            users: tagged,
            key,
            verified: Mutex::new(HashSet::new()),
            bcrypt_slot: tokio::sync::Semaphore::new(1),
            bcrypt_runs: AtomicU64::new(0),
        })
    }

    /// Whether the `Authorization` header carries a configured user and its password.
    pub async fn check(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        let user_tag = tag(&self.key, b"user", &[&user]);
        // Look at every user, without stopping at a match, so the time taken
        // does not tell which names exist.
        let mut found: Option<&str> = None;
        for (candidate, hash) in &self.users {
            if bool::from(candidate.ct_eq(&user_tag)) {
                found = Some(hash);
            }
        }
        let cache_key = tag(&self.key, b"pass", &[&user, &password]);
        if found.is_some() && self.verified.lock().expect("poisoned").contains(&cache_key) {
            return true;
        }
        let Ok(_slot) = self.bcrypt_slot.acquire().await else {
            return false;
        };
        if found.is_some() && self.verified.lock().expect("poisoned").contains(&cache_key) {
            return true;
        }
        // An unknown user still costs one bcrypt run, like a known one.
        let hash = found.unwrap_or(&self.users[0].1).to_owned();
        self.bcrypt_runs.fetch_add(1, Ordering::Relaxed);
        // Passwords over bcrypt's 72-byte limit are refused, not truncated
        // (as Go's bcrypt does); they still cost a run, like any other.
        let too_long = password.len() > 72;
        let ok = tokio::task::spawn_blocking(move || {
            bcrypt::verify(&password, &hash).unwrap_or(false) && !too_long
        })
        .await
        .unwrap_or(false);
        if ok && found.is_some() {
            let mut verified = self.verified.lock().expect("poisoned");
            if verified.len() >= AUTH_CACHE_CAPACITY {
                verified.clear();
            }
            verified.insert(cache_key);
            return true;
        }
        false
    }

    /// How many times bcrypt ran (cache misses), for tests and debugging.
    pub fn bcrypt_runs(&self) -> u64 {
        self.bcrypt_runs.load(Ordering::Relaxed)
    }
}

fn tag(key: &hmac::Key, domain: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(domain);
    for part in parts {
        // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// Splits `Basic base64(user:password)` into its parts.
fn parse_basic(value: &HeaderValue) -> Option<(Vec<u8>, Vec<u8>)> {
    let value = value.to_str().ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(user: &str, password: &str) -> HeaderValue {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    fn users(pairs: &[(&str, &str)]) -> BasicAuth {
        let map = pairs
            .iter()
            .map(|(u, p)| (u.to_string(), bcrypt::hash(p, 4).unwrap()))
            .collect();
        BasicAuth::new(map).unwrap()
    }

    #[tokio::test]
    async fn successful_verifications_are_cached_and_failures_are_not() {
        let auth_ = users(&[("prometheus", "s3cret"), ("other", "pw")]);
        for _ in 0..5 {
            assert!(auth_.check(Some(&auth("prometheus", "s3cret"))).await);
        }
        assert_eq!(auth_.bcrypt_runs(), 1);
        assert!(!auth_.check(Some(&auth("prometheus", "wrong"))).await);
        assert!(!auth_.check(Some(&auth("prometheus", "wrong"))).await);
        assert_eq!(auth_.bcrypt_runs(), 3);
        // The cache is per user: another user's password is not accepted for this one.
        assert!(!auth_.check(Some(&auth("other", "s3cret"))).await);
        assert!(auth_.check(Some(&auth("other", "pw"))).await);
    }

    #[tokio::test]
    async fn unknown_users_are_refused_after_a_bcrypt_run() {
        let auth_ = users(&[("prometheus", "s3cret")]);
        assert!(!auth_.check(Some(&auth("nobody", "s3cret"))).await);
        assert!(!auth_.check(Some(&auth("nobody", "s3cret"))).await);
        assert_eq!(auth_.bcrypt_runs(), 2);
    }

    #[tokio::test]
    async fn malformed_authorization_headers_are_refused() {
        let auth_ = users(&[("prometheus", "s3cret")]);
        for bad in [
            "Bearer abc",
            "Basic",
            "Basic !!!",
            "Basic cHJvbWV0aGV1cw==", // no colon
        ] {
            assert!(
                !auth_.check(Some(&HeaderValue::from_static(bad))).await,
                "{bad}"
            );
        }
        assert!(!auth_.check(None).await);
        assert!(
            auth_
                .check(Some(
                    &HeaderValue::from_str(&format!(
                        "basic {}",
                        base64::engine::general_purpose::STANDARD.encode("prometheus:s3cret")
                    ))
                    .unwrap()
                ))
                .await
        );
    }

    #[tokio::test]
    async fn passwords_longer_than_72_bytes_are_not_truncated() {
        let long = "a".repeat(72);
        let map = BTreeMap::from([(String::from("u"), bcrypt::hash(&long, 4).unwrap())]);
        let auth_ = BasicAuth::new(map).unwrap();
        assert!(auth_.check(Some(&auth("u", &long))).await);
        assert!(!auth_.check(Some(&auth("u", &format!("{long}b")))).await);
    }

    #[test]
    fn bcrypt_hashes_with_a_cost_bcrypt_refuses_are_rejected() {
        let hash = bcrypt::hash("pw", 4).unwrap();
        for cost in ["03", "32", "99"] {
            let bad = format!("{}{cost}{}", &hash[..4], &hash[6..]);
            let err = WebConfig::parse(&format!("basic_auth_users:\n  u: {bad}\n"), Path::new("."))
                .unwrap_err();
            assert!(err.contains("outside 4 to 31"), "{cost}: {err}");
            // bcrypt itself would refuse this hash at every request.
            assert!(bcrypt::verify("pw", &bad).is_err(), "{cost}");
        }
        let ok = WebConfig::parse(&format!("basic_auth_users:\n  u: {hash}\n"), Path::new("."));
        assert!(ok.unwrap().basic_auth.is_some());
    }

    #[test]
    fn an_empty_file_configures_nothing() {
        let config = WebConfig::parse("", Path::new(".")).unwrap();
        assert!(config.tls.is_none() && config.basic_auth.is_none() && config.headers.is_empty());
        let config = WebConfig::parse("basic_auth_users: {}\n", Path::new(".")).unwrap();
        assert!(config.basic_auth.is_none());
    }
}
