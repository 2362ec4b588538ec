//! HTTP: the web configuration (TLS, basic auth, limits) and the whole
//! exporter run in-process.
//!
//! One test binary (one link of the crate and the AWS SDK) for the area;
//! the harness is `tests/common`.

#[path = "../common/mod.rs"]
mod common;

mod run;
mod web_config;
