//! Framing: COBS with a CRC-32, and a decoder that survives any byte stream.
//!
//! The decoder never panics and never grows: it owns a fixed buffer, drops a
//! frame that overflows it or fails its CRC, counts what it dropped, and
//! starts again at the next delimiter.

use crc::{Crc, CRC_32_ISO_HDLC};
use serde::Serialize;

const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);
const CRC_LEN: usize = 4;

/// Why a frame could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The message does not fit the buffers given.
    TooLong,
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::TooLong => f.write_str("message too long for the frame buffer"),
        }
    }
}

/// Bytes on the wire for a message whose postcard encoding is `body` bytes long.
pub const fn max_frame_len(body: usize) -> usize {
    cobs::max_encoding_length(body + CRC_LEN) + 2
}

/// Encode `msg` as one frame into `out`, using `scratch` for the unframed body.
/// Returns the frame's length in `out`.
pub fn encode_frame<M: Serialize>(
    msg: &M,
    scratch: &mut [u8],
    out: &mut [u8],
) -> Result<usize, FrameError> {
    let body_len = postcard::to_slice(msg, scratch)
        .map_err(|_| FrameError::TooLong)?
        .len();
    if scratch.len() < body_len + CRC_LEN {
        return Err(FrameError::TooLong);
    }
    let crc = CRC32.checksum(&scratch[..body_len]);
    scratch[body_len..body_len + CRC_LEN].copy_from_slice(&crc.to_le_bytes());
    let raw = &scratch[..body_len + CRC_LEN];
    if out.len() < max_frame_len(body_len) {
        return Err(FrameError::TooLong);
    }
    out[0] = 0;
    let n = cobs::try_encode(raw, &mut out[1..]).map_err(|_| FrameError::TooLong)?;
    out[1 + n] = 0;
    Ok(n + 2)
}

/// What the decoder has seen, for diagnostics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Frames that passed COBS and CRC.
    pub frames: u32,
    /// Frames dropped: bad COBS, bad CRC, or too long for the buffer.
    pub dropped: u32,
    /// Bytes that belonged to dropped frames.
    pub skipped_bytes: u32,
}

/// Turns a byte stream, split anywhere, into CRC-checked frame bodies.
pub struct Decoder<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
    stats: DecoderStats,
}

impl<const N: usize> Default for Decoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Decoder<N> {
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            overflow: false,
            stats: DecoderStats {
                frames: 0,
                dropped: 0,
                skipped_bytes: 0,
            },
        }
    }

    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Forget a partly received frame (after a link reset).
    pub fn reset(&mut self) {
        self.len = 0;
        self.overflow = false;
    }

    /// Consume bytes of `input` up to and including the first frame delimiter.
    /// Returns how many bytes were consumed and, when a valid frame ended there,
    /// its body (postcard bytes, CRC removed). Call again with the rest.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<&[u8]>) {
        // A run of frame bytes up to the next delimiter is found and copied
        // as a whole: on the agent's Cortex-M0+ a loop that stores byte by
        // byte cost more than the rest of the frame's handling.
        let mut at = 0;
        while at < input.len() {
            let rest = &input[at..];
            let zero = rest.iter().position(|&b| b == 0);
            self.take(&rest[..zero.unwrap_or(rest.len())]);
            let Some(z) = zero else { break };
            at += z + 1;
            let len = core::mem::take(&mut self.len);
            if core::mem::take(&mut self.overflow) {
                self.stats.dropped = self.stats.dropped.saturating_add(1);
                return (at, None);
            }
            if len == 0 {
                // Back-to-back delimiters: the start of a frame, not an error.
                continue;
            }
            return (at, self.finish(len));
        }
        (input.len(), None)
    }

    /// Appends frame bytes (no delimiter among them) to the frame so far; what
    /// does not fit marks it overflowed and counts as skipped.
    fn take(&mut self, run: &[u8]) {
        let n = run.len().min(N - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&run[..n]);
        self.len += n;
        if n < run.len() {
            if !self.overflow {
                self.overflow = true;
                self.stats.skipped_bytes = self.stats.skipped_bytes.saturating_add(N as u32);
            }
            let over = (run.len() - n) as u32;
            self.stats.skipped_bytes = self.stats.skipped_bytes.saturating_add(over);
        }
    }

    fn finish(&mut self, len: usize) -> Option<&[u8]> {
        let ok = match unstuff(&mut self.buf[..len]) {
            Some(n) if n > CRC_LEN => {
                let (body, crc) = self.buf[..n].split_at(n - CRC_LEN);
                let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
                (CRC32.checksum(body) == want).then_some(n - CRC_LEN)
            }
            _ => None,
        };
        match ok {
            Some(n) => {
                self.stats.frames = self.stats.frames.saturating_add(1);
                Some(&self.buf[..n])
            }
            None => {
                self.stats.dropped = self.stats.dropped.saturating_add(1);
                self.stats.skipped_bytes = self.stats.skipped_bytes.saturating_add(len as u32);
                None
            }
        }
    }
}

/// Decodes a COBS frame in place (the bytes between two delimiters, so none
/// is 0) and returns its length, or None when a code runs past its end. As
/// `cobs::decode_in_place`, but each run is moved in one copy: on the
/// agent's Cortex-M0+ the crate's byte loop, after a scan for a delimiter
/// that cannot be there, took a tenth of the agent's cycles per byte.
fn unstuff(buf: &mut [u8]) -> Option<usize> {
    let end = buf.len();
    let (mut src, mut dst) = (0, 0);
    while src < end {
        let code = buf[src] as usize;
        if code == 0 || src + code > end {
            return None;
        }
        buf.copy_within(src + 1..src + code, dst);
        dst += code - 1;
        src += code;
        if code != 0xFF && src < end {
            buf[dst] = 0;
            dst += 1;
        }
    }
    Some(dst)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::unstuff;
    use proptest::prelude::*;
    use std::vec;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn unstuff_undoes_cobs_encoding(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut enc = vec![0u8; cobs::max_encoding_length(bytes.len())];
            let n = cobs::encode(&bytes, &mut enc);
            enc.truncate(n);
            let m = unstuff(&mut enc);
            prop_assert_eq!(m, Some(bytes.len()));
            prop_assert_eq!(&enc[..bytes.len()], &bytes[..]);
        }

        #[test]
        fn unstuff_agrees_with_the_cobs_crate_on_any_frame(bytes in proptest::collection::vec(1u8..=255, 1..600)) {
            let (mut ours, mut theirs) = (bytes.clone(), bytes);
            let want = cobs::decode_in_place(&mut theirs).ok();
            prop_assert_eq!(unstuff(&mut ours), want);
            if let Some(n) = want {
                prop_assert_eq!(&ours[..n], &theirs[..n]);
            }
        }
    }
}
