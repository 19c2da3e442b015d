//! Making a patch on the host: bsdiff's matches (bidiff, over a suffix
//! array of the old image) written as the commands of the format in
//! lib.rs, then compressed with the applier's own heatshrink parameters.

use heatshrink::encoder::HeatshrinkEncoder;
use heatshrink::{Finish, Poll};

use crate::{LOOKAHEAD_BITS, MAGIC, WINDOW_BITS};

type Encoder = HeatshrinkEncoder<WINDOW_BITS, LOOKAHEAD_BITS, { 2 << WINDOW_BITS }>;

/// The patch that turns `old` into `new`.
pub fn make(old: &[u8], new: &[u8]) -> Vec<u8> {
    compress(&commands(old, new))
}

/// The decompressed patch.
fn commands(old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut w = Writer {
        out: MAGIC.to_vec(),
        old,
        new,
        old_pos: 0,
    };
    varint(&mut w.out, new.len() as u64);
    let mut new_pos = 0usize;
    if !old.is_empty() && !new.is_empty() {
        let params = bidiff::DiffParams::default();
        let _ = bidiff::diff(old, new, &params, |m| -> Result<(), std::io::Error> {
            if m.add_new_start < new_pos || m.copy_end < m.copy_start() {
                return Ok(()); // not a match that extends the new image
            }
            if m.add_new_start > new_pos {
                w.command(w.old_pos, new_pos, 0, m.add_new_start);
            }
            w.command(m.add_old_start, m.add_new_start, m.add_length, m.copy_end);
            new_pos = m.copy_end;
            Ok(())
        });
    }
    if new_pos < new.len() {
        w.command(w.old_pos, new_pos, 0, new.len());
    }
    w.out
}

struct Writer<'a> {
    out: Vec<u8>,
    old: &'a [u8],
    new: &'a [u8],
    old_pos: usize,
}

impl Writer<'_> {
    /// new[at..end] as `add` bytes against old[from..], then the rest copied.
    fn command(&mut self, from: usize, at: usize, add: usize, end: usize) {
        let seek = from as i64 - self.old_pos as i64;
        varint(&mut self.out, ((seek << 1) ^ (seek >> 63)) as u64);
        varint(&mut self.out, add as u64);
        varint(&mut self.out, (end - at - add) as u64);
        let (old, new) = (self.old, self.new);
        self.out
            .extend((0..add).map(|i| new[at + i].wrapping_sub(old[from + i])));
        self.out.extend_from_slice(&new[at + add..end]);
        self.old_pos = from + add;
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn compress(data: &[u8]) -> Vec<u8> {
    let mut enc = Box::new(Encoder::new());
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    let mut buf = [0u8; 512];
    let mut rest = data;
    let mut drain = |enc: &mut Encoder, out: &mut Vec<u8>| loop {
        match enc.poll(&mut buf) {
            Ok(Poll::More(n)) => out.extend_from_slice(&buf[..n]),
            Ok(Poll::Empty(n)) => {
                out.extend_from_slice(&buf[..n]);
                break;
            }
            Err(_) => unreachable!("the buffer is not empty"),
        }
    };
    while !rest.is_empty() {
        if let Ok(n) = enc.sink(rest) {
            rest = &rest[n..];
        }
        drain(&mut enc, &mut out);
    }
    while enc.finish() == Finish::More {
        drain(&mut enc, &mut out);
    }
    out
}
