//! What `/metrics` serves: the golden expositions (every family, in both
//! formats), the rendering cache, and the credential report parser.
//!
//! One test binary (one link of the crate and the AWS SDK) for the area;
//! the harness is `tests/common`.

#[path = "../common/mod.rs"]
mod common;

mod exposition;
mod render_cache;
mod report_parse;
