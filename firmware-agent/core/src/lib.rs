//! The ota agent: everything that runs on the Pico except the drivers.
//!
//! Generic over `embedded_storage::nor_flash::NorFlash` and free of I/O, so
//! the same code runs on the board, inside `ota` as a simulated device, and
//! under tests that cut power at every flash operation. No heap: every buffer
//! is a fixed array, so the RAM it needs is known at build time.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

mod agent;
mod bitmap;
pub mod board;
mod compact;
pub mod confirm;
mod extent;
pub mod hash;
pub mod layout;
mod link;
mod patch_in;
pub mod paths;
mod session;
pub mod signature;
pub mod slot;
pub mod space;
mod store;
pub mod timed_flash;
pub mod version_json;

#[cfg(feature = "std")]
pub mod file_flash;
#[cfg(feature = "std")]
pub mod model;
#[cfg(feature = "std")]
pub mod ram_flash;

pub use agent::{Action, Agent, AgentConfig, SESSION_IDLE_MS};
pub use link::{link_buffer_for, AgentLink, REPLY_MAX};
pub use patch_in::Base;
pub use store::{BootOutcome, Store, Tree};

/// Why the agent refused or failed a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The flash or region does not have the geometry the store needs.
    Geometry,
    Flash,
    /// A tree record the journal names does not decode.
    Corrupt,
    TooManyEntries,
    /// Version, ref or commit longer than the store keeps.
    BadText,
    BadPath,
    DuplicatePath,
    NoSpace,
    BadEntry,
    BadState,
    HashMismatch,
    ReadbackMismatch,
    NoPrevious,
    NotTrial,
    /// Release keys are provisioned and the tree or key change is not signed by one.
    Unsigned,
    /// A rollback onto a tree that failed its trial, without force.
    FailedTrial,
    /// A small file sent again from its first byte: its pages are written
    /// and share a sector with other files (start a new session).
    Rewrite,
    /// Two paths that differ only in case.
    CaseConflict,
    /// A path that is a file and a folder of another.
    FileAndFolder,
    /// A Begin declaring no files: it would empty the device.
    EmptyTree,
    /// A signed tree older than the security version (or a rollback onto one).
    Downgrade,
    /// A patch against an image the application slot does not hold.
    BadBase,
    /// A patch that does not decode, names bytes outside the images, or
    /// makes an image of another size than its entry.
    BadPatch,
}

impl Error {
    pub fn code(self) -> ota_protocol::ErrorCode {
        use ota_protocol::ErrorCode as C;
        match self {
            Error::Geometry | Error::Flash | Error::Corrupt => C::Flash,
            Error::TooManyEntries => C::TooManyEntries,
            Error::BadText => C::Malformed,
            Error::BadPath => C::BadPath,
            Error::DuplicatePath => C::DuplicatePath,
            Error::NoSpace => C::NoSpace,
            Error::BadEntry => C::BadEntry,
            Error::BadState => C::BadState,
            Error::HashMismatch => C::HashMismatch,
            Error::ReadbackMismatch => C::ReadbackMismatch,
            Error::NoPrevious => C::NoPrevious,
            Error::NotTrial => C::NotTrial,
            Error::Unsigned => C::Unsigned,
            Error::FailedTrial => C::FailedTrial,
            Error::Rewrite => C::BadState,
            Error::CaseConflict | Error::FileAndFolder => C::DuplicatePath,
            Error::EmptyTree => C::BadEntry,
            Error::Downgrade => C::Downgrade,
            Error::BadBase => C::BadBase,
            Error::BadPatch => C::BadPatch,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Error::Geometry => "flash geometry not supported",
            Error::Flash => "flash operation failed",
            Error::Corrupt => "tree record corrupt",
            Error::TooManyEntries => "more files than the agent holds (512)",
            Error::BadText => "version, ref or commit too long (32, 64, 64 bytes)",
            Error::BadPath => "invalid path",
            Error::DuplicatePath => "duplicate path",
            Error::NoSpace => "not enough free flash",
            Error::BadEntry => "entry index, size or offset out of range",
            Error::BadState => "request not valid in this state",
            Error::HashMismatch => "bytes do not match the declared hash",
            Error::ReadbackMismatch => "flash read-back does not match the hash",
            Error::NoPrevious => "no previous tree to roll back to",
            Error::NotTrial => "no tree to confirm",
            Error::Unsigned => "not signed by a provisioned release key",
            Error::FailedTrial => "the previous tree failed its trial",
            Error::Rewrite => "a small file cannot be written twice in one update; push again",
            Error::CaseConflict => "two paths differ only in case",
            Error::FileAndFolder => "a path is both a file and a folder",
            Error::EmptyTree => "a tree with no files would empty the device",
            Error::Downgrade => "older than the release this device runs (its security version)",
            Error::BadBase => "the patch is for another image than the application slot holds; send the image whole",
            Error::BadPatch => "the patch is corrupt or does not make the declared image; send the image whole",
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}
