//! The agent's side of the wire, free of I/O: bytes in, frames out.
//!
//! The board's USB task and the host's simulated device both feed received
//! bytes here and send whatever frames come back, so the framing code that
//! ships is the one the tests run.

use embedded_storage::nor_flash::NorFlash;
use ota_protocol::{
    decode_request, encode_frame, max_frame_len, Decoder, DecoderStats, ErrorCode, Reply,
    DATA_OVERHEAD,
};

use crate::agent::{Action, Agent};

/// Largest encoded reply (Info with every text at its longest).
pub const REPLY_MAX: usize = 512;
const REPLY_FRAME: usize = max_frame_len(REPLY_MAX);

/// Receive buffer, in bytes, that takes Data frames of `chunk` payload bytes.
pub const fn link_buffer_for(chunk: usize) -> usize {
    cobs_len(chunk + DATA_OVERHEAD + 4)
}

const fn cobs_len(n: usize) -> usize {
    n + n.div_ceil(254) + 1
}

/// Frames in and out for one agent. `N` is the receive buffer: see [`link_buffer_for`].
pub struct AgentLink<const N: usize> {
    decoder: Decoder<N>,
    scratch: [u8; REPLY_MAX],
    out: [u8; REPLY_FRAME],
}

impl<const N: usize> Default for AgentLink<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> AgentLink<N> {
    pub const fn new() -> Self {
        AgentLink {
            decoder: Decoder::new(),
            scratch: [0; REPLY_MAX],
            out: [0; REPLY_FRAME],
        }
    }

    /// The largest Data payload that fits the receive buffer.
    pub const fn max_chunk() -> u16 {
        let mut chunk = N;
        while chunk > 0 && link_buffer_for(chunk) > N {
            chunk -= 1;
        }
        if chunk > u16::MAX as usize {
            u16::MAX
        } else {
            chunk as u16
        }
    }

    pub fn stats(&self) -> DecoderStats {
        self.decoder.stats()
    }

    /// Forget a partly received frame (the host reconnected).
    pub fn reset(&mut self) {
        self.decoder.reset();
    }

    /// Feeds received bytes to the agent and sends its replies through `send`.
    /// Stops early on [`Action::Reboot`] and [`Action::Bootsel`]; returns the bytes consumed.
    pub fn receive<F: NorFlash>(
        &mut self,
        agent: &mut Agent<F>,
        mut input: &[u8],
        send: &mut dyn FnMut(&[u8]),
    ) -> (usize, Action) {
        let total = input.len();
        let AgentLink {
            decoder,
            scratch,
            out,
        } = self;
        while !input.is_empty() {
            let (n, frame) = decoder.feed(input);
            input = &input[n..];
            let Some(body) = frame else { continue };
            let mut emit = |reply: &Reply<'_>| {
                if let Ok(len) = encode_frame(reply, scratch, out) {
                    send(&out[..len]);
                }
            };
            let action = match decode_request(body) {
                Some(req) => agent.handle(&req, &mut emit),
                None => {
                    emit(&Reply::Error {
                        code: ErrorCode::Malformed,
                        entry: None,
                        detail: "frame passed its CRC but is not a request",
                    });
                    Action::None
                }
            };
            if action != Action::None {
                return (total - input.len(), action);
            }
        }
        (total, Action::None)
    }
}
