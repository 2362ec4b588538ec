//! AWS SDK set-up shared by every source: configuration loading, retries,
//! and counting of the calls the exporter makes.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig};
use aws_sdk_iam::config::retry::RetryPartition;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// IAM is a global service; its endpoint for the `aws` partition lives in us-east-1.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Settings for the AWS clients, from the command line.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// Overrides the region from the environment or profile.
    pub region: Option<String>,
    /// Attempts per call, including the first, under the adaptive retry mode.
    pub max_attempts: u32,
    /// Deadline of one call, retries included.
    pub operation_timeout: Duration,
    /// Largest IAM response (and credential report file) accepted.
    pub max_response_bytes: u64,
}

/// 64 MiB: a credential report of 5,000 users (the IAM user quota) is
/// about 1.5 MB, and about 2 MB once base64-encoded in its XML response.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 << 20;

impl Default for AwsOptions {
    fn default() -> Self {
        Self {
            region: None,
            max_attempts: 5,
            operation_timeout: Duration::from_secs(60),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Loads the standard credential and region chain (environment, profile, SSO,
/// web identity, ECS, IMDS). `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_IAM` are
/// honoured by the chain itself.
pub async fn load_config(options: &AwsOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(shared_http_client())
        .retry_config(RetryConfig::adaptive().with_max_attempts(options.max_attempts))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(options.operation_timeout)
                .connect_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let config = loader.load().await;
    if config.region().is_some() {
        config
    } else {
        config
            .into_builder()
            .region(Region::from_static(DEFAULT_REGION))
            .build()
    }
}

/// The HTTP client of every SDK client the exporter builds, the SDK's default
/// stack (hyper 1, rustls with aws-lc, proxy from the environment) made once.
///
/// Without it, each SDK client made from the shared configuration builds its
/// own HTTP client, with its own connection pool and TLS trust store: in an
/// organization, one per account (about 130 KiB each, measured at 1,000
/// accounts).
fn shared_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = aws_smithy_http_client::ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// Builds an IAM client that counts its calls in `api` and refuses responses
/// larger than `max_response_bytes` before reading them.
///
/// Each IAM client caches its own credentials. The cache that clients share
/// by default holds 64 credential sets and evicts at random beyond that, so
/// in an organization of more than 64 accounts most accounts assumed their
/// role again at every refresh (74 of 100 accounts, measured against moto).
pub fn iam_client(
    config: &SdkConfig,
    api: &ApiMetrics,
    max_response_bytes: u64,
) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(iam_config(config, api, max_response_bytes).build())
}

/// Builds the IAM client of one account, as [`iam_client`] does, with a
/// retry partition of its own, named after `key` (the account's role ARN).
///
/// The adaptive retry mode keeps one client-side rate limiter and one retry
/// token bucket per retry partition, and the SDK's default partition is the
/// service's name: every IAM client of the process shares it. IAM's request
/// quotas are per account, so a throttling answer to one account must slow
/// that account's calls only; with one shared limiter, 1 % of calls
/// throttled made the first refresh of 1,000 accounts take 339 s instead of
/// 18 s (scale lab, 50 ms a call). The SDK keeps a partition's limiter and
/// bucket for the life of the process (a few hundred bytes, one per account
/// ever refreshed) and shares them between clients of the same partition, so
/// an account keeps what its limiter learnt when its client is rebuilt.
pub fn account_iam_client(
    config: &SdkConfig,
    api: &ApiMetrics,
    max_response_bytes: u64,
    key: &str,
) -> aws_sdk_iam::Client {
    let conf = iam_config(config, api, max_response_bytes)
        .retry_partition(RetryPartition::new(format!("iam/{key}")))
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

fn iam_config(
    config: &SdkConfig,
    api: &ApiMetrics,
    max_response_bytes: u64,
) -> aws_sdk_iam::config::Builder {
    aws_sdk_iam::config::Builder::from(config)
        .identity_cache(aws_sdk_iam::config::IdentityCache::lazy().build())
        .interceptor(CallCounter(api.clone()))
        .interceptor(ResponseLimit(max_response_bytes))
}

/// Builds an STS client that counts its calls in `api`.
pub fn sts_client(config: &SdkConfig, api: &ApiMetrics) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::config::Builder::from(config)
        .interceptor(CallCounter(api.clone()))
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

/// Builds an AWS Organizations client that counts its calls in `api`.
pub fn organizations_client(config: &SdkConfig, api: &ApiMetrics) -> aws_sdk_organizations::Client {
    let conf = aws_sdk_organizations::config::Builder::from(config)
        .interceptor(CallCounter(api.clone()))
        .build();
    aws_sdk_organizations::Client::from_conf(conf)
}

type OperationLabels = [(&'static str, String); 1];
type ErrorLabels = [(&'static str, String); 2];

/// `aws_iam_exporter_api_requests_total` and `aws_iam_exporter_api_errors_total`.
#[derive(Debug, Clone, Default)]
pub struct ApiMetrics {
    pub requests: Family<OperationLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
}

impl ApiMetrics {
    pub fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        registry.register(
            "aws_iam_exporter_api_requests",
            "AWS API requests sent, retries included, by operation",
            self.requests.clone(),
        );
        registry.register(
            "aws_iam_exporter_api_errors",
            "AWS API calls that failed after retries, by operation and error code",
            self.errors.clone(),
        );
    }

    pub fn record_error<E: ProvideErrorMetadata>(&self, operation: &str, err: &SdkError<E>) {
        self.errors
            .get_or_create(&[
                ("operation", operation.to_owned()),
                ("code", error_code(err).to_owned()),
            ])
            .inc();
    }
}

/// The interceptor that counts every request in `api`, for clients built
/// elsewhere (the SDK's mock clients in tests).
pub fn call_counter(api: &ApiMetrics) -> impl Intercept + 'static {
    CallCounter(api.clone())
}

/// Counts every request the SDK transmits, so retries show up too.
#[derive(Debug)]
struct CallCounter(ApiMetrics);

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("unknown", Metadata::name);
        self.0
            .requests
            .get_or_create(&[("operation", operation.to_owned())])
            .inc();
        Ok(())
    }
}

/// Refuses a response whose announced length exceeds the limit, before its
/// body is buffered: the credential report arrives as one XML document, and a
/// broken or hostile endpoint must not make the exporter allocate without bound.
#[derive(Debug)]
struct ResponseLimit(u64);

impl Intercept for ResponseLimit {
    fn name(&self) -> &'static str {
        "ResponseLimit"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let length = context
            .response()
            .headers()
            .get("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        match length {
            Some(n) if n > self.0 => Err(format!(
                "response of {n} bytes exceeds the limit of {} bytes (--credential-report.max-bytes)",
                self.0
            )
            .into()),
            _ => Ok(()),
        }
    }
}

/// The error code AWS returned, or the kind of failure when there was no answer.
pub fn error_code<E: ProvideErrorMetadata>(err: &SdkError<E>) -> &str {
    match err {
        SdkError::ServiceError(e) => e.err().code().unwrap_or("Unknown"),
        SdkError::TimeoutError(_) => "Timeout",
        SdkError::DispatchFailure(_) => "DispatchFailure",
        SdkError::ResponseError(_) => "ResponseError",
        SdkError::ConstructionFailure(_) => "ConstructionFailure",
        _ => "Unknown",
    }
}

/// A failed AWS call, as the exporter reports it.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(
        "access denied calling {action}; grant {action} to the exporter's identity ({message})"
    )]
    AccessDenied {
        action: &'static str,
        message: String,
    },
    #[error("{action} failed: {code}: {message}")]
    Aws {
        action: &'static str,
        code: String,
        message: String,
    },
}

impl CallError {
    /// `action` is the IAM action name, e.g. `iam:ListUsers`.
    pub fn from_sdk<E>(action: &'static str, err: &SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let code = error_code(err).to_owned();
        // The service's own message when there is one; otherwise the chain of
        // causes (a timeout, a refused connection, an oversized response).
        let message = match err.as_service_error().and_then(|e| e.message()) {
            Some(m) => m.to_owned(),
            None => aws_sdk_iam::error::DisplayErrorContext(err).to_string(),
        };
        match classify(&code) {
            ErrorClass::AccessDenied => CallError::AccessDenied { action, message },
            _ => CallError::Aws {
                action,
                code,
                message,
            },
        }
    }

    pub fn is_throttled(&self) -> bool {
        matches!(self, CallError::Aws { code, .. } if classify(code) == ErrorClass::Throttled)
    }
}

/// How the exporter reacts to an AWS error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    AccessDenied,
    Throttled,
    Other,
}

pub fn classify(code: &str) -> ErrorClass {
    match code {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredToken" => ErrorClass::AccessDenied,
        "Throttling"
        | "ThrottlingException"
        | "LimitExceeded"
        | "LimitExceededException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled" => ErrorClass::Throttled,
        _ => ErrorClass::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_classified() {
        assert_eq!(classify("AccessDenied"), ErrorClass::AccessDenied);
        assert_eq!(classify("Throttling"), ErrorClass::Throttled);
        assert_eq!(classify("LimitExceeded"), ErrorClass::Throttled);
        assert_eq!(classify("ServiceFailure"), ErrorClass::Other);
    }
}
