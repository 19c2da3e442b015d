//! The ota wire protocol, shared byte for byte by the host and the agent.
//!
//! A frame is `0x00, COBS(postcard(message) ++ CRC-32/ISO-HDLC little endian), 0x00`.
//! The leading delimiter ends whatever garbage came before (boot text, a REPL
//! prompt), so one stray byte never costs more than the frame it touches.
//! Nothing here allocates: decoded messages borrow from the decoder's buffer.
#![no_std]
#![forbid(unsafe_code)]

mod frame;
mod message;

pub use frame::{encode_frame, max_frame_len, Decoder, DecoderStats, FrameError};
pub use message::*;

/// Major version: an agent refuses a Hello of another major version with
/// [`ErrorCode::UnsupportedVersion`].
pub const PROTOCOL_MAJOR: u16 = 1;
/// Minor version: additions that older peers may ignore.
pub const PROTOCOL_MINOR: u16 = 6;

/// Largest file payload in one Data frame that any agent must accept.
/// The agent's Info says what it really accepts (`max_chunk`).
pub const MAX_CHUNK: usize = 4096;
/// Bytes of a Data message besides its payload: tag, entry, offset and length varints.
pub const DATA_OVERHEAD: usize = 1 + 3 + 5 + 3;
/// Longest path the protocol carries; the store may set a lower limit.
pub const MAX_PATH: usize = 120;
/// The default number of boots a committed tree gets to confirm itself.
pub const DEFAULT_TRIAL_BOOTS: u8 = 3;
