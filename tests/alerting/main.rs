//! Alerting: the rules and their unit tests, and end to end with the real
//! binary, Prometheus and Alertmanager.
//!
//! One test binary (one link of the crate and the AWS SDK) for the area;
//! the harness is `tests/common`.

#[path = "../common/mod.rs"]
mod common;

mod alerts_e2e;
mod e2e;
mod rules;
