//! The exposition framework: tables of gauge families rendered once per
//! account refresh ([`table`]), the text they are written in ([`text`]), the
//! streamed response body that sends them and writes ages from "now"
//! ([`body`]), the two formats ([`format`]), and the naming of objects' tags
//! as labels ([`tags`]).
//!
//! It knows rows, families and bytes, and nothing of where the data comes
//! from: no collector, source or snapshot is named here. The per-user and
//! per-key families are most of a response (two or three hundred thousand
//! series for an organization with 50,000 users), so they are written as
//! text directly; the few process-wide families with counters and fractional
//! values go through `prometheus-client` ([`format::encode`]), into the same
//! body.

pub mod body;
pub mod format;
pub mod table;
pub mod tags;
pub mod text;

pub use body::Body;
pub use format::Format;
pub use table::{
    Family, LabelAt, Rendered, Rows, Table, TableFamilies, TableRender, Times, Writer, pairs,
};
