//! The IAM credential report: fetching it from AWS and parsing its CSV.

pub mod fetch;
pub mod parse;

pub use fetch::{FetchedReport, ReportError, fetch_report};
pub use parse::{ParsedReport, ReportParseError, parse_report};
