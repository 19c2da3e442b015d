//! Binary deltas of application images, made on the host and applied by
//! the agent as the patch streams in.
//!
//! A patch is one heatshrink stream (window [`WINDOW_BITS`], lookahead
//! [`LOOKAHEAD_BITS`]) of, once decompressed:
//!
//! ```text
//! "OTD1"  new_size (varint)
//! then commands until new_size bytes are made:
//!   seek (zigzag varint)  add_len (varint)  copy_len (varint)
//!   add_len bytes: new = old[pos..] + these, byte by byte (wrapping)
//!   copy_len bytes: new = these
//!   the old position moves by seek before the add, and by add_len after it
//! ```
//!
//! bsdiff's control, diff and extra blocks, interleaved so that the applier
//! needs no seek in the patch: an LTO build moves most functions by a few
//! bytes, so the add bytes are mostly zeros and compress well even in a
//! 1 KiB window. The applier reads old bytes by offset through
//! [`PatchIo`], never past the old image, and holds under 2 KiB of state.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

mod apply;
#[cfg(feature = "std")]
mod make;

pub use apply::{Applier, ApplyError, PatchIo};
#[cfg(feature = "std")]
pub use make::make;

/// The first bytes of a decompressed patch.
pub const MAGIC: [u8; 4] = *b"OTD1";
/// heatshrink's window: 1 KiB of the applier's RAM.
pub const WINDOW_BITS: usize = 10;
/// heatshrink's back-reference length field: runs of up to 256 bytes, since
/// most add bytes are zeros (a one-line change of blink: 1.0 KB, not 2.1 KB
/// with heatshrink's usual 4 bits).
pub const LOOKAHEAD_BITS: usize = 8;
