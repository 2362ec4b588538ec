//! Refreshing accounts: the credential report state machine and source (mock
//! client and moto), the key-level API source, faults of the IAM endpoint,
//! robustness, property tests of bad input, and load.
//!
//! One test binary (one link of the crate and the AWS SDK) for the area;
//! the harness is `tests/common`.

#[path = "../common/mod.rs"]
mod common;

mod api_source;
mod faults;
mod load;
mod moto_report;
mod properties;
mod report_fetch;
mod robustness;
