//! `version.json` as the seed updater wrote it, `{"version":…,"ref":…,"commit":…}`,
//! made from a tree header: what the agent and the application present.

use crate::layout::{TreeHeader, VERSION_JSON_MAX};

/// Writes the JSON of `header` (empty strings for no tree) into `buf`;
/// returns its length. Every field at its longest, fully escaped, fits.
pub fn write(header: Option<&TreeHeader>, buf: &mut [u8; VERSION_JSON_MAX]) -> usize {
    let fields = match header {
        Some(h) => [h.version.as_str(), h.git_ref.as_str(), h.commit.as_str()],
        None => ["", "", ""],
    };
    write_fields(fields, buf)
}

/// [`write`] from the three texts (version, ref, commit) as they are.
pub fn write_fields([v, r, c]: [&str; 3], buf: &mut [u8; VERSION_JSON_MAX]) -> usize {
    let mut w = JsonWriter { buf, len: 0 };
    w.raw("{\"version\":");
    w.string(v);
    w.raw(",\"ref\":");
    w.string(r);
    w.raw(",\"commit\":");
    w.string(c);
    w.raw("}");
    w.len
}

struct JsonWriter<'a> {
    buf: &'a mut [u8; VERSION_JSON_MAX],
    len: usize,
}

impl JsonWriter<'_> {
    fn raw(&mut self, s: &str) {
        for &b in s.as_bytes() {
            self.byte(b);
        }
    }

    fn byte(&mut self, b: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    /// `s` as a JSON string. Byte by byte: the bytes of a multi-byte UTF-8
    /// character are all 0x80 or above, so they pass through as they are.
    fn string(&mut self, s: &str) {
        self.raw("\"");
        for &b in s.as_bytes() {
            match b {
                b'"' => self.raw("\\\""),
                b'\\' => self.raw("\\\\"),
                b if b < 0x20 => {}
                b => self.byte(b),
            }
        }
        self.raw("\"");
    }
}
