//! The collectors of IAM data beyond the credential report: the framework
//! (flags, failure isolation, health) and each collector, against moto and
//! the SDK's mock client.
//!
//! One test binary (one link of the crate and the AWS SDK) for the area;
//! the harness is `tests/common`.

#[path = "../common/mod.rs"]
mod common;

mod cis_collectors;
mod collectors;
mod credential_collectors;
mod owners;
mod roles;
