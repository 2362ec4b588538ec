//! Accounts: organizations and assumed roles against moto, the
//! root-credentials audit, the moto harness itself, and secrets kept out of
//! the logs.
//!
//! One test binary (one link of the crate and the AWS SDK) for the area;
//! the harness is `tests/common`.

#[path = "../common/mod.rs"]
mod common;

mod moto_accounts;
mod moto_harness;
mod root_credentials;
mod secrets;
