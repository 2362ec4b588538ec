//! A table: the families of one kind of row (access key, user, password
//! policy, ...) of an account, rendered once per account refresh.
//!
//! Each family of a table is one chunk of text per account; a response
//! concatenates, family by family, the chunks of every account. Age families
//! ("seconds since") are written at scrape time from the table's [`Times`].

use bytes::Bytes;

use super::text;
use crate::model::AccountData;

/// One gauge family of a table: its name, its help (without the freshness
/// note) and its value for an item; `None` leaves the item out.
pub struct Family<T: ?Sized> {
    pub name: &'static str,
    pub help: &'static str,
    pub value: fn(&T) -> Option<i64>,
}

/// `(name, help)` of each family, as [`Table::families`] lists them.
pub fn pairs<T: ?Sized>(families: &[Family<T>]) -> Vec<(&'static str, &'static str)> {
    families.iter().map(|f| (f.name, f.help)).collect()
}

/// Where the label set of a row is in its account's rendered text: chunk,
/// offset and length. Ages reuse it rather than keep a copy.
#[derive(Debug, Clone, Copy)]
pub struct LabelAt {
    pub(super) chunk: u16,
    pub(super) at: u32,
    pub(super) len: u32,
}

/// The times that a row's ages are computed from, and where its label set is.
#[derive(Debug)]
pub struct Times {
    pub labels: Option<LabelAt>,
    pub created: Option<i64>,
    pub last_used: Option<i64>,
    /// Whether the source says when the row was last used; where it does
    /// not, `last_used: None` does not mean "never", and no idle time is
    /// counted from creation.
    pub usage_known: bool,
}

impl Times {
    /// Since last use, or since creation if never used; `None` where use is
    /// unknown.
    pub fn idle_since(&self) -> Option<i64> {
        match self.usage_known {
            true => self.last_used.or(self.created),
            false => None,
        }
    }
}

/// What a table renders for one account: the account's id, its credential
/// report (users, keys, certificates) and the table's own data `D` (a
/// collector's last good data, or the report itself).
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a, D: ?Sized> {
    pub account_id: &'a str,
    pub report: &'a AccountData,
    pub data: &'a D,
}

/// The families of one kind of row, and how one account's rows are rendered.
pub struct Table<D: ?Sized> {
    /// `(name, help)` of the families rendered once per account refresh, in
    /// exposition order; `render` makes one chunk for each.
    pub families: fn() -> Vec<(&'static str, &'static str)>,
    /// Families computed from "now" and the rows' [`Times`] at every scrape.
    pub ages: &'static [Family<Times>],
    /// Renders the rows of one account. It may stop early (nothing to
    /// show): the chunks it did not make are empty.
    pub render: fn(rows: &Rows<'_, D>, out: &mut TableRender),
}

impl<D: ?Sized> Table<D> {
    /// Renders `rows`, one chunk per family (empty where nothing was written).
    pub fn render(&self, rows: &Rows<'_, D>) -> TableRender {
        let mut out = TableRender::default();
        (self.render)(rows, &mut out);
        self.complete(out)
    }

    /// The table of an account without its data (a collector that is off or
    /// has not yet read it): every chunk empty.
    pub fn render_nothing(&self) -> TableRender {
        self.complete(TableRender::default())
    }

    fn complete(&self, mut out: TableRender) -> TableRender {
        let families = (self.families)().len();
        debug_assert!(out.chunks.len() <= families, "one chunk per family");
        out.chunks.resize(families, Bytes::new());
        out
    }

    /// The families, without the data type.
    pub const fn names(&self) -> TableFamilies {
        TableFamilies {
            families: self.families,
            ages: self.ages,
        }
    }
}

/// A table's families, whatever its data: what the HELP and TYPE lines of a
/// response are made from.
#[derive(Clone, Copy)]
pub struct TableFamilies {
    pub families: fn() -> Vec<(&'static str, &'static str)>,
    pub ages: &'static [Family<Times>],
}

/// One table of one account state, rendered.
#[derive(Debug, Default)]
pub struct TableRender {
    /// One chunk per family, in the order of [`Table::families`].
    pub chunks: Vec<Bytes>,
    /// Per row, the times its ages are computed from and where its label set is.
    pub times: Vec<Times>,
}

impl TableRender {
    /// Appends a chunk of text made outside a [`Writer`].
    pub fn push(&mut self, mut text: String) {
        text.shrink_to_fit();
        self.chunks.push(Bytes::from(text));
    }

    /// A writer of the next families of `n` rows, chunk after chunk.
    pub fn writer(&self, n: usize) -> Writer {
        Writer {
            base: self.chunks.len(),
            chunks: Vec::new(),
            label_at: vec![None; n],
        }
    }

    /// Appends what `writer` wrote; where each row's label set first
    /// appeared, for the rows' [`Times`].
    pub fn extend(&mut self, writer: Writer) -> Vec<Option<LabelAt>> {
        self.chunks
            .extend(writer.chunks.into_iter().map(Bytes::from));
        writer.label_at
    }
}

/// The tables of one account state, rendered once, in the exposition's
/// table order.
#[derive(Debug, Default)]
pub struct Rendered {
    pub tables: Vec<TableRender>,
}

/// Writes the samples of one family for `n` rows into one chunk, and
/// records where each row's label set first appears.
pub struct Writer {
    base: usize,
    chunks: Vec<String>,
    label_at: Vec<Option<LabelAt>>,
}

impl Writer {
    /// One family: `row(index)` is the row's label set and its value
    /// (`None` leaves the row out).
    pub fn family<'a>(&mut self, row: impl Fn(usize) -> (&'a str, Option<i64>), name: &str) {
        let chunk = u16::try_from(self.base + self.chunks.len()).expect("few families");
        let mut out = String::new();
        for (index, label_at) in self.label_at.iter_mut().enumerate() {
            let (set, value) = row(index);
            let Some(value) = value else { continue };
            if label_at.is_none() {
                *label_at = Some(LabelAt {
                    chunk,
                    at: u32::try_from(out.len() + name.len()).expect("chunk under 4 GiB"),
                    len: u32::try_from(set.len()).expect("label set under 4 GiB"),
                });
            }
            text::sample(&mut out, name, set, value);
        }
        // Kept as long as the account state is served: without the spare
        // capacity of growing.
        out.shrink_to_fit();
        self.chunks.push(out);
    }
}
