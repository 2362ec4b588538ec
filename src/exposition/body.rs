//! A response body streamed in chunks: cached text as it is, ages written
//! as the connection takes them. Its length is known before the first byte,
//! so the response has a `Content-Length`.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::table::{Family, Rendered, Times};

/// Ages are written, and small parts gathered, into chunks of about this size.
pub const CHUNK: usize = 64 * 1024;

enum Part {
    Bytes(Bytes),
    /// Chunks shared with other responses, from `next` on; kept alive by
    /// this body until they are sent.
    Shared {
        chunks: Arc<[Bytes]>,
        next: usize,
    },
    Ages {
        family: &'static Family<Times>,
        render: Arc<Rendered>,
        /// Index of the table in [`Rendered::tables`].
        table: usize,
        next: usize,
    },
}

/// The body of one response; iterate it for its chunks.
pub struct Body {
    now: i64,
    len: u64,
    parts: VecDeque<Part>,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

fn times(render: &Rendered, table: usize) -> (&[Bytes], &[Times]) {
    let table = &render.tables[table];
    (&table.chunks, &table.times)
}

fn digits(value: i64) -> u64 {
    let sign = u64::from(value < 0);
    sign + u64::from(value.unsigned_abs().checked_ilog10().unwrap_or(0)) + 1
}

impl Body {
    pub fn new(now: i64) -> Self {
        Self {
            now,
            len: 0,
            parts: VecDeque::new(),
        }
    }

    /// Bytes the body will yield in all.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn bytes(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.len += bytes.len() as u64;
            self.parts.push_back(Part::Bytes(bytes));
        }
    }

    /// Appends `chunks` as they are, without copying them: other
    /// responses may send the same ones.
    pub fn shared(&mut self, chunks: Arc<[Bytes]>) {
        self.len += chunks.iter().map(|c| c.len() as u64).sum::<u64>();
        self.parts.push_back(Part::Shared { chunks, next: 0 });
    }

    pub fn ages(&mut self, family: &'static Family<Times>, render: Arc<Rendered>, table: usize) {
        let name = family.name.len() as u64;
        let (_, items) = times(&render, table);
        for item in items {
            if let (Some(since), Some(labels)) = ((family.value)(item), item.labels) {
                // name{labels} value\n
                self.len += name + u64::from(labels.len) + 1 + digits(self.now - since) + 1;
            }
        }
        self.parts.push_back(Part::Ages {
            family,
            render,
            table,
            next: 0,
        });
    }

    /// Writes age lines into `out` until it holds `CHUNK` bytes; the index
    /// of the next item, or `None` once the family is done.
    fn write_ages(&self, out: &mut BytesMut, part: &Part) -> Option<usize> {
        let Part::Ages {
            family,
            render,
            table,
            next,
        } = part
        else {
            return None;
        };
        let (chunks, items) = times(render, *table);
        let mut number = itoa_buffer();
        for (index, item) in items.iter().enumerate().skip(*next) {
            if out.len() >= CHUNK {
                return Some(index);
            }
            let (Some(since), Some(at)) = ((family.value)(item), item.labels) else {
                continue;
            };
            let start = at.at as usize;
            let labels = &chunks[usize::from(at.chunk)][start..start + at.len as usize];
            out.extend_from_slice(family.name.as_bytes());
            out.extend_from_slice(labels);
            out.extend_from_slice(b" ");
            out.extend_from_slice(format_i64(&mut number, self.now - since));
            out.extend_from_slice(b"\n");
        }
        None
    }
}

type Itoa = [u8; 20];

fn itoa_buffer() -> Itoa {
    [0; 20]
}

fn format_i64(buf: &mut Itoa, value: i64) -> &[u8] {
    let mut n = value.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

impl Iterator for Body {
    type Item = Bytes;

    /// The next chunk: a large cached part as it is, or small parts and age
    /// lines gathered into about [`CHUNK`] bytes.
    fn next(&mut self) -> Option<Bytes> {
        let mut out = BytesMut::new();
        while let Some(part) = self.parts.pop_front() {
            let part = match part {
                // One chunk at a time, the rest put back.
                Part::Shared { chunks, next } => match chunks.get(next).cloned() {
                    Some(chunk) => {
                        self.parts.push_front(Part::Shared {
                            chunks,
                            next: next + 1,
                        });
                        Part::Bytes(chunk)
                    }
                    None => continue,
                },
                part => part,
            };
            match part {
                Part::Bytes(bytes) if bytes.len() >= CHUNK => {
                    if out.is_empty() {
                        self.len -= bytes.len() as u64;
                        return Some(bytes);
                    }
                    self.parts.push_front(Part::Bytes(bytes));
                    break;
                }
                Part::Bytes(bytes) => {
                    if out.is_empty() {
                        out.reserve(CHUNK + 512);
                    }
                    out.extend_from_slice(&bytes);
                }
                ages => {
                    if out.is_empty() {
                        out.reserve(CHUNK + 512);
                    }
                    if let Some(next) = self.write_ages(&mut out, &ages) {
                        let Part::Ages {
                            family,
                            render,
                            table,
                            ..
                        } = ages
                        else {
                            unreachable!()
                        };
                        self.parts.push_front(Part::Ages {
                            family,
                            render,
                            table,
                            next,
                        });
                    }
                }
            }
            if out.len() >= CHUNK {
                break;
            }
        }
        if out.is_empty() {
            return None;
        }
        self.len -= out.len() as u64;
        Some(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_written_and_counted_alike() {
        for value in [
            0,
            7,
            9,
            10,
            99,
            100,
            -1,
            -10,
            1_700_000_000,
            i64::MAX,
            i64::MIN + 1,
        ] {
            let mut buf = itoa_buffer();
            let text = format_i64(&mut buf, value);
            assert_eq!(text, value.to_string().as_bytes());
            assert_eq!(digits(value), text.len() as u64, "{value}");
        }
    }
}
