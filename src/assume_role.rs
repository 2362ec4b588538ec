//! Credentials for another account through `sts:AssumeRole`, with the
//! exporter's own STS client so that the calls are counted like every other
//! AWS call. The IAM client's identity cache keeps the credentials until
//! shortly before they expire.

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, error::CredentialsError};
use aws_sdk_iam::error::ProvideErrorMetadata;

use crate::aws::{ApiMetrics, error_code};

#[derive(Debug)]
pub struct AssumeRole {
    pub sts: aws_sdk_sts::Client,
    pub api: ApiMetrics,
    pub role_arn: String,
    pub session_name: String,
    pub external_id: Option<String>,
}

/// Long enough for the slowest refresh, short enough to limit exposure.
const SESSION: Duration = Duration::from_secs(3600);

impl AssumeRole {
    async fn assume(&self) -> provider::Result {
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(&self.session_name)
            .set_external_id(self.external_id.clone())
            .duration_seconds(SESSION.as_secs() as i32)
            .send()
            .await
            .map_err(|e| {
                self.api.record_error("AssumeRole", &e);
                let code = error_code(&e).to_owned();
                let message = e
                    .as_service_error()
                    .and_then(|s| s.message())
                    .map(str::to_owned)
                    .unwrap_or_else(|| aws_sdk_iam::error::DisplayErrorContext(&e).to_string());
                CredentialsError::provider_error(format!(
                    "cannot assume role {}: {code}: {message}",
                    self.role_arn
                ))
            })?;
        let creds = out.credentials.ok_or_else(|| {
            CredentialsError::provider_error(format!(
                "AssumeRole into {} returned no credentials",
                self.role_arn
            ))
        })?;
        let expiry = UNIX_EPOCH + Duration::from_secs(creds.expiration.secs().max(0) as u64);
        Ok(Credentials::new(
            creds.access_key_id,
            creds.secret_access_key,
            Some(creds.session_token),
            Some(expiry),
            "AssumeRole",
        ))
    }
}

impl ProvideCredentials for AssumeRole {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(self.assume())
    }
}
