//! What an application writes on its console, made readable: defmt frames
//! (rzCOBS, each ended by a zero byte) decoded with the table of the ELF
//! that logged them, the way probe-rs and espflash do, and plain text lines
//! passed on as they are. Pure: bytes in, bytes to show out; never prints.

use std::path::Path;

use anyhow::{Context, Result};
use defmt_decoder::{Encoding, Table};

use crate::exit::{fail, Kind};

/// Turns console bytes into what the terminal shows.
pub struct ConsoleLines {
    table: Option<Table>,
    pending: Vec<u8>,
}

/// The longest run kept while waiting for a frame's end or a line's end.
const MAX_PENDING: usize = 64 * 1024;

impl ConsoleLines {
    /// Bytes shown as they come, nothing decoded.
    pub fn plain() -> ConsoleLines {
        ConsoleLines {
            table: None,
            pending: Vec::new(),
        }
    }

    /// Decodes defmt frames with `elf`'s table.
    pub fn with_elf(elf: &Path) -> Result<ConsoleLines> {
        let bytes = std::fs::read(elf).with_context(|| format!("read {}", elf.display()))?;
        ConsoleLines::with_table(
            Table::parse(&bytes)
                .map_err(|e| fail(Kind::Config, format!("{}: its defmt table: {e:#}", elf.display())))?
                .ok_or_else(|| {
                    fail(
                        Kind::Config,
                        format!(
                            "{}: has no .defmt section, so there is nothing to decode; drop --elf to see the console as it is, or link with -Tdefmt.x",
                            elf.display()
                        ),
                    )
                })?,
        )
    }

    /// For `ota run`: decodes when the ELF has a defmt table, else shows
    /// the console as it is (an application that logs plain text).
    pub fn for_elf(elf: &Path) -> ConsoleLines {
        std::fs::read(elf)
            .ok()
            .and_then(|bytes| Table::parse(&bytes).ok().flatten())
            .and_then(|table| ConsoleLines::with_table(table).ok())
            .unwrap_or_else(ConsoleLines::plain)
    }

    /// Decodes with `table` (an ELF's, or one made in a test).
    pub fn with_table(table: Table) -> Result<ConsoleLines> {
        if table.encoding() != Encoding::Rzcobs {
            return Err(fail(
                Kind::Config,
                "the ELF's defmt frames are not rzCOBS-encoded, so they cannot share a port with text; build with defmt's default encoding",
            ));
        }
        Ok(ConsoleLines {
            table: Some(table),
            pending: Vec::new(),
        })
    }

    /// What to show for `bytes` just read: whole lines, and frames once ended.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        let Some(table) = &self.table else {
            return bytes.to_vec();
        };
        let mut out = Vec::new();
        self.pending.extend_from_slice(bytes);
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == 0) {
                let run: Vec<u8> = self.pending.drain(..=end).collect();
                show_run(table, &run, &mut out);
                continue;
            }
            // Text ends at a new line; a frame in the making is not text.
            match self.pending.iter().position(|&b| b == b'\n') {
                Some(nl) if is_text(&self.pending[..=nl]) => {
                    out.extend(self.pending.drain(..=nl));
                }
                _ => break,
            }
        }
        if self.pending.len() > MAX_PENDING {
            out.append(&mut self.pending);
        }
        out
    }
}

/// A run ended by a zero byte: a frame, or text and then a frame, or (when
/// neither decodes) text that happened to hold a zero.
fn show_run(table: &Table, run: &[u8], out: &mut Vec<u8>) {
    if run.len() == 1 {
        return; // a lone separator
    }
    if let Some(line) = decode(table, run) {
        out.extend_from_slice(line.as_bytes());
        return;
    }
    if let Some(nl) = run.iter().rposition(|&b| b == b'\n') {
        if let Some(line) = decode(table, &run[nl + 1..]) {
            out.extend_from_slice(&run[..=nl]);
            out.extend_from_slice(line.as_bytes());
            return;
        }
    }
    out.extend(run.iter().filter(|&&b| b != 0));
}

/// One frame (ended by its zero byte) as a line, `LEVEL message`.
fn decode(table: &Table, frame: &[u8]) -> Option<String> {
    if frame.len() < 2 {
        return None;
    }
    let mut stream = table.new_stream_decoder();
    stream.received(frame);
    let frame = stream.decode().ok()?;
    let level = frame.level().map_or(String::new(), |l| {
        format!("{:<5} ", l.as_str().to_uppercase())
    });
    Some(format!("{level}{}\n", frame.display_message()))
}

/// Printable UTF-8: what a plain console line holds.
fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| {
        s.chars()
            .all(|c| !c.is_control() || matches!(c, '\r' | '\n' | '\t' | '\x1b'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of two log strings, as an ELF's `.defmt` section would give it.
    fn table() -> Table {
        serde_json::from_value(serde_json::json!({
            "timestamp": null,
            "entries": {
                "1": {"string": {"tag": "Info", "string": "app {=str} #{=u32}"}, "raw_symbol": "a"},
                "2": {"string": {"tag": "Warn", "string": "low"}, "raw_symbol": "b"}
            },
            "bitflags": {},
            "encoding": "Rzcobs"
        }))
        .expect("a table")
    }

    /// The bytes defmt's own encoder puts on the wire for one frame.
    fn frame(index: u16, args: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = defmt::Encoder::new();
        e.start_frame(|b| out.extend_from_slice(b));
        e.write(&index.to_le_bytes(), |b| out.extend_from_slice(b));
        e.write(args, |b| out.extend_from_slice(b));
        e.end_frame(|b| out.extend_from_slice(b));
        out
    }

    fn str_u32(s: &str, n: u32) -> Vec<u8> {
        let mut a = (s.len() as u32).to_le_bytes().to_vec();
        a.extend_from_slice(s.as_bytes());
        a.extend_from_slice(&n.to_le_bytes());
        a
    }

    #[test]
    fn frames_are_decoded_and_text_between_them_passes_as_it_is() {
        let mut wire = b"booting\r\n".to_vec();
        wire.extend(frame(1, &str_u32("v1", 7)));
        wire.extend(b"plain line\n");
        wire.extend(frame(2, &[]));
        let mut lines = ConsoleLines::with_table(table()).unwrap();
        // Byte by byte, as a slow port would deliver it.
        let mut shown = Vec::new();
        for b in &wire {
            shown.extend(lines.feed(std::slice::from_ref(b)));
        }
        assert_eq!(
            String::from_utf8(shown).unwrap(),
            "booting\r\nINFO  app v1 #7\nplain line\nWARN  low\n"
        );
    }

    #[test]
    fn a_frame_cut_short_or_unknown_is_skipped_and_the_next_one_decodes() {
        let mut wire = frame(1, &str_u32("v1", 7));
        wire.drain(..3); // the start of the frame was lost
        wire.extend(frame(9, &[])); // not in the table
        wire.extend(frame(2, &[]));
        let mut lines = ConsoleLines::with_table(table()).unwrap();
        let shown = String::from_utf8_lossy(&lines.feed(&wire)).into_owned();
        assert!(shown.ends_with("WARN  low\n"), "{shown:?}");
        assert!(!shown.contains("INFO"), "{shown:?}");
    }

    #[test]
    fn without_a_table_bytes_pass_as_they_come() {
        let mut lines = ConsoleLines::plain();
        assert_eq!(lines.feed(b"half a li"), b"half a li");
    }
}
