//! What ships: the binary on loopback, the container image, the Kubernetes
//! manifests and the IAM policies.
//!
//! One test binary (one link of the crate and the AWS SDK) for the area;
//! the harness is `tests/common`.

#[path = "../common/mod.rs"]
mod common;

mod binary;
mod image;
mod kubernetes;
mod policy;
