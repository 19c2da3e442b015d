//! Exit codes, and the error kinds that choose them. CI jobs branch on these,
//! so they are few, documented in `--help` and docs/commands.md, and never reused.

use std::fmt;

use crate::device::error::DeviceError;

/// What kind of failure ended the command; each maps to one exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad flags or a bad config file.
    Config,
    /// The update could not be fetched or read (GitHub, a folder, a staged bundle).
    Source,
    /// A file's bytes did not match its hash or signature; nothing was installed.
    Verify,
    /// The device could not be reached or the link failed.
    Device,
    /// The device answered and refused the request.
    Refused,
    /// Ctrl-C or SIGTERM stopped the command between two frames.
    Interrupted,
}

impl Kind {
    pub fn code(self) -> i32 {
        match self {
            Kind::Config => 2,
            Kind::Source => 3,
            Kind::Verify => 4,
            Kind::Device => 5,
            Kind::Refused => 6,
            Kind::Interrupted => crate::interrupt::EXIT_CODE,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Config => "config",
            Kind::Source => "source",
            Kind::Verify => "verify",
            Kind::Device => "device",
            Kind::Refused => "refused",
            Kind::Interrupted => "interrupted",
        }
    }
}

/// An error with the kind that decides the exit code.
#[derive(Debug)]
pub struct Fail {
    pub kind: Kind,
    pub message: String,
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

pub fn fail(kind: Kind, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Fail {
        kind,
        message: message.into(),
    })
}

/// The kind of an error chain: the outermost [`Fail`] or device error in it, if any.
pub fn kind_of(err: &anyhow::Error) -> Option<Kind> {
    err.chain().find_map(|e| {
        e.downcast_ref::<Fail>()
            .map(|f| f.kind)
            .or_else(|| e.downcast_ref::<DeviceError>().map(device_kind))
    })
}

/// The exit code's kind for each way device work fails.
fn device_kind(e: &DeviceError) -> Kind {
    match e {
        DeviceError::Link(_)
        | DeviceError::NoAnswer(_)
        | DeviceError::Busy(_)
        | DeviceError::NotFound(_)
        | DeviceError::OtherBoard(_)
        | DeviceError::NotAnAgent(_)
        | DeviceError::Faulty(_)
        | DeviceError::Unsure(_) => Kind::Device,
        DeviceError::Refused { .. } => Kind::Refused,
        DeviceError::Rejected(_) => Kind::Verify,
        DeviceError::BadSpec(_) => Kind::Config,
        DeviceError::Unreadable(_) => Kind::Source,
        DeviceError::Interrupted(_) => Kind::Interrupted,
    }
}

/// Exit code for an error chain (1 when nothing in it says otherwise).
pub fn code_of(err: &anyhow::Error) -> i32 {
    kind_of(err).map_or(1, Kind::code)
}

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success (also: already up to date)
  1  unexpected internal error
  2  usage or config error
  3  source error (GitHub, folder, staged bundle)
  4  verification failure (hash, size, signature, refused downgrade); nothing was installed
  5  device or link error (not found, busy, timed out, disconnected; no confirm in time)
  6  the device refused the request (no space, bad path, nothing to roll back, unsigned)
130  interrupted (Ctrl-C, SIGTERM) between two frames; nothing was committed";
