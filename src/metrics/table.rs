//! A table: the families of one kind of row (access key, user, password
//! policy, ...) of an account, rendered once per account refresh.
//!
//! Each family of a table is one chunk of text per account; a response
//! concatenates, family by family, the chunks of every account. Age families
//! ("seconds since") are written at scrape time from the table's [`Times`].

use bytes::Bytes;

use super::{Family, Times};
use crate::model::AccountData;

pub(super) struct Table {
    /// `(name, help)` of the families rendered once per account refresh, in
    /// exposition order; `render` makes one chunk for each.
    pub families: fn() -> Vec<(&'static str, &'static str)>,
    /// Families computed from "now" and the rows' [`Times`] at every scrape.
    pub ages: &'static [Family<Times>],
    /// Renders the rows of one account. It may stop early (no data, a
    /// collector that is off): the chunks it did not make are empty.
    pub render: fn(account_id: &str, data: &AccountData, out: &mut TableRender),
}

/// One table of one account state, rendered.
#[derive(Debug, Default)]
pub(super) struct TableRender {
    /// One chunk per family, in the order of [`Table::families`].
    pub chunks: Vec<Bytes>,
    /// Per row, the times its ages are computed from and where its label set is.
    pub times: Vec<Times>,
}

impl TableRender {
    /// Appends a chunk of text made outside a [`super::Writer`].
    pub fn push(&mut self, mut text: String) {
        text.shrink_to_fit();
        self.chunks.push(Bytes::from(text));
    }
}

impl Table {
    pub(super) fn render_account(&self, account_id: &str, data: &AccountData) -> TableRender {
        let mut out = TableRender::default();
        (self.render)(account_id, data, &mut out);
        let families = (self.families)().len();
        debug_assert!(out.chunks.len() <= families, "one chunk per family");
        out.chunks.resize(families, Bytes::new());
        out
    }
}
