//! Messages of an update session. The host sends [`Request`]s, the agent
//! answers with [`Reply`]s. Every field borrows from the frame it came in, so
//! neither side needs a heap to read them.

use serde::{Deserialize, Serialize};

/// A Git blob SHA-1: `sha1("blob " + size + "\0" + bytes)`, as GitHub's trees list it.
pub type Sha1 = [u8; 20];
/// A plain SHA-256 of a file's bytes, as the seed's manifests list it.
pub type Sha256 = [u8; 32];

/// Which of the device's two trees a request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TreeSel {
    Active,
    Previous,
}

/// Host to agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request<'a> {
    /// First message of a connection; answered by [`Reply::Info`].
    Hello { major: u16, minor: u16 },
    /// Answered by one [`Reply::File`] per file, then [`Reply::ListEnd`].
    ListFiles { tree: TreeSel },
    /// Declares the target tree; answered by [`Reply::Ready`].
    Begin(#[serde(borrow)] Begin<'a>),
    /// One file of the target tree, indices 0..entries in order; answered by [`Reply::Need`].
    Entry(#[serde(borrow)] Entry<'a>),
    /// File bytes at `offset`; answered by [`Reply::Ack`], and [`Reply::FileDone`] once the
    /// file is complete and verified.
    Data {
        entry: u16,
        offset: u32,
        bytes: &'a [u8],
    },
    /// Where does this entry stand? Answered by [`Reply::Ack`] (used to resume).
    Query { entry: u16 },
    /// Make the target tree active, in trial for `boots` boots (0 = confirmed at once).
    Commit { boots: u8 },
    /// Restart the agent once the reply has been sent.
    Reboot,
    /// The active trial tree booted well: keep it.
    Confirm,
    /// Swap the active and previous trees.
    Rollback,
    /// Drop the session in progress; nothing changes.
    Abort,
    /// Replace the public keys that releases must be signed with (up to 4,
    /// 32 bytes each; none: accept unsigned trees again). Once keys are set,
    /// `auth` must be a signature by one of them over the new key set.
    Provision {
        keys: &'a [u8],
        auth: Option<Signature>,
    },
    /// Restart into the boot ROM's USB bootloader (BOOTSEL mode: the RPI-RP2
    /// drive and PICOBOOT) once the reply has been sent; nothing in the store
    /// changes. Since protocol 1.2.
    Bootsel,
    /// Forget the previous tree so that its flash is free (refused while the
    /// active tree is in trial); answered by [`Reply::Done`]. Protocol 1.2.
    DropPrevious,
    /// Swap the active and previous trees even when the previous one failed
    /// its trial; it goes in as a trial of `boots` boots. Protocol 1.2.
    RollbackTrial { boots: u8 },
    /// Where a tree's files lie in the store, for a host that plans a push
    /// with the agent's own allocator: answered by one [`Reply::Placed`]
    /// per file, in the order [`Request::ListFiles`] lists them, then
    /// [`Reply::LayoutEnd`]. Protocol 1.4.
    Layout { tree: TreeSel },
    /// Entry `entry`'s bytes come as a patch (ota-delta's format) of `size`
    /// bytes against the image the application slot holds, whose first
    /// `base_size` bytes hash to `base_sha256`: the Data frames that follow
    /// carry the patch, at offsets within it, and the agent writes the
    /// image it makes. Answered by [`Reply::Ack`] at 0, or [`ErrorCode::BadBase`]
    /// when the slot holds another image. Protocol 1.6.
    Patch {
        entry: u16,
        base_size: u32,
        base_sha256: Sha256,
        size: u32,
    },
}

/// The target tree of an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Begin<'a> {
    /// Chosen by the host; lets it recognise its own session after a reconnect.
    pub session: u32,
    pub entries: u16,
    /// Sum of all entry sizes (a bound used to refuse hopeless updates up front).
    pub total_bytes: u64,
    pub version: &'a str,
    pub git_ref: &'a str,
    pub commit: &'a str,
    pub post_update: Option<&'a str>,
    pub rollback: Option<&'a str>,
    /// Ed25519 signature over the tree digest (see `ota_agent::tree_digest`);
    /// a provisioned agent refuses a tree without a valid one.
    pub signature: Option<Signature>,
    /// Seconds the application has, at each trial boot, to confirm; `ota-app`
    /// stops feeding the trial watchdog once they pass. 0: no deadline (and
    /// what a Begin from a host older than 1.5, which ends before it, reads as).
    #[serde(deserialize_with = "absent_is_zero_u16")]
    pub trial_timeout_sec: u16,
}

/// The last field of a Begin, which a host older than 1.5 does not send.
fn absent_is_zero_u16<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    Ok(u16::deserialize(d).unwrap_or(0))
}

/// An Ed25519 signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature(#[serde(with = "sig_bytes")] pub [u8; 64]);

/// serde has no impls for arrays longer than 32: 64 bytes go as two halves.
mod sig_bytes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        let (a, b) = v.split_at(32);
        let a: &[u8; 32] = a
            .try_into()
            .map_err(|_| serde::ser::Error::custom("length"))?;
        let b: &[u8; 32] = b
            .try_into()
            .map_err(|_| serde::ser::Error::custom("length"))?;
        (a, b).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let (a, b) = <([u8; 32], [u8; 32])>::deserialize(d)?;
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&a);
        out[32..].copy_from_slice(&b);
        Ok(out)
    }
}

/// One file of the target tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry<'a> {
    pub index: u16,
    pub path: &'a str,
    pub size: u32,
    pub sha1: Sha1,
    pub sha256: Option<Sha256>,
}

/// State of the active tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TreeState {
    /// No tree has ever been committed.
    Empty,
    Confirmed,
    /// Committed but not confirmed; rolled back when a boot finds no boots left.
    Trial {
        boots_left: u8,
    },
    /// The active tree ran out of trial boots with no earlier tree to fall
    /// back to: the agent stays in charge and does not run it (added in 1.5).
    Failed,
}

/// Identity of a tree on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeInfo<'a> {
    pub version: &'a str,
    pub git_ref: &'a str,
    pub commit: &'a str,
    pub files: u16,
    pub bytes: u64,
}

/// What an agent is and holds; the answer to Hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info<'a> {
    pub major: u16,
    pub minor: u16,
    pub agent_version: &'a str,
    pub device_id: [u8; 8],
    pub sector_size: u32,
    pub sectors: u32,
    pub free_sectors: u32,
    pub max_entries: u16,
    pub max_path: u16,
    pub max_chunk: u16,
    pub state: TreeState,
    #[serde(borrow)]
    pub active: Option<TreeInfo<'a>>,
    #[serde(borrow)]
    pub previous: Option<TreeInfo<'a>>,
    /// Session in progress (not yet committed), as the host named it in Begin.
    pub session: Option<u32>,
    /// Provisioned release keys: when non-zero, only signed trees are accepted.
    pub keys: u8,
    /// What the application slot holds, as the agent found it at boot (1.2).
    pub app: AppSlot,
    /// Whether the slot holds the active tree's application image (1.2).
    pub image: ImageState,
    /// What the trees' trials came to. Protocol 1.2.
    pub history: TrialHistory,
    /// Sectors only the previous tree uses: what dropping it frees. Protocol 1.2.
    pub previous_only_sectors: u32,
    /// The release number of the newest signed tree confirmed: older signed
    /// trees are refused (added in 1.2).
    pub security_version: u32,
    /// Key changes made: a key-change authorisation must name this count (added in 1.2).
    pub key_changes: u32,
    /// Differs at each start of the agent, and is never 0: a host that asked
    /// for a reboot and gets the same one back knows the request never
    /// arrived (added in 1.3; read as 0, unknown, from an older agent).
    #[serde(deserialize_with = "absent_is_zero")]
    pub boot_id: u32,
}

/// The last field of an Info, which an agent older than 1.3 does not send:
/// the message ends where it would start, and it reads as 0.
fn absent_is_zero<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    Ok(u32::deserialize(d).unwrap_or(0))
}

/// What the trials of the two trees came to, so a failed one is not taken for a good one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialHistory {
    /// Boots the active tree's trial was given.
    pub trial_boots: Option<u8>,
    /// The active tree failed a trial of this many boots before (it was put back by force).
    pub active_failed: Option<u8>,
    /// The previous tree failed its trial of this many boots; the device rolled back from it.
    pub previous_failed: Option<u8>,
}

/// The active tree's application image and the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageState {
    /// The tree carries no image: the slot runs the image it had before ota wrote one.
    None,
    /// The slot holds the image the active tree names, completely.
    Installed,
    /// The agent copies it into the slot at the next boot.
    Pending,
    /// The journal says the slot holds the active tree's image, but the slot
    /// holds other bytes: written behind the agent's back (a debug probe, a
    /// UF2). It still runs; the next commit of a tree with an image copies
    /// that image in again (added in 1.5).
    Foreign,
}

/// The application slot, as the agent found it at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppSlot {
    /// Erased: the agent is the whole firmware.
    Empty,
    /// Something that is not an application image for the slot: never run.
    Invalid,
    /// An application image the agent hands over to.
    Valid,
}

/// Agent to host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply<'a> {
    Info(#[serde(borrow)] Info<'a>),
    File {
        index: u16,
        path: &'a str,
        size: u32,
        sha1: Sha1,
        sha256: Option<Sha256>,
    },
    ListEnd {
        total: u16,
    },
    /// Begin accepted; send the entries.
    Ready {
        session: u32,
    },
    /// Whether the agent needs this entry's bytes (false: it already holds them).
    Need {
        index: u16,
        need: bool,
    },
    /// `offset` bytes of `entry` are written; send from there.
    Ack {
        entry: u16,
        offset: u32,
    },
    /// The entry is complete, its hashes matched, and it read back correctly from flash.
    FileDone {
        entry: u16,
    },
    /// The target tree is active (journal written).
    Committed {
        boots: u8,
    },
    /// A request without data of its own (Confirm, Rollback, Abort, Reboot) succeeded.
    Done,
    Error {
        code: ErrorCode,
        /// The entry concerned, if any.
        entry: Option<u16>,
        detail: &'a str,
    },
    /// Where file `index` of a tree lies: its first store sector, and the
    /// byte where it starts in that sector (1.4).
    Placed {
        index: u16,
        first_sector: u16,
        offset: u16,
    },
    /// The end of a layout: the store's place in flash (erase blocks are
    /// aligned to flash addresses), the first sector of the tree's record,
    /// and the sectors that hold neither trees nor the journal (1.4).
    LayoutEnd {
        base: u32,
        record: Option<u16>,
        keys: Option<u16>,
        /// The saved original application image: first sector, sectors.
        original: Option<(u16, u16)>,
    },
}

/// Why the agent refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    UnsupportedVersion,
    /// The message could not be parsed.
    Malformed,
    /// A request that makes no sense now (Data without Begin, Commit before every file is done).
    BadState,
    BadPath,
    DuplicatePath,
    TooManyEntries,
    NoSpace,
    /// An entry's index, size or offset is out of range.
    BadEntry,
    /// The received bytes do not hash to the declared SHA-1/SHA-256.
    HashMismatch,
    /// The bytes read back from flash do not hash as they should.
    ReadbackMismatch,
    /// The flash driver failed.
    Flash,
    NoPrevious,
    /// The active tree is not in trial.
    NotTrial,
    /// Another host is driving this agent.
    Busy,
    /// The agent holds release keys and the tree (or the new key set) is not validly signed.
    Unsigned,
    /// A rollback onto a tree that failed its trial, without asking for a new trial.
    FailedTrial,
    /// A signed tree older than the agent's security version (added in 1.2).
    Downgrade,
    /// A patch against an image the application slot does not hold (1.6).
    BadBase,
    /// A patch that does not decode, or names bytes outside the images (1.6).
    BadPatch,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::UnsupportedVersion => "unsupported protocol version",
            ErrorCode::Malformed => "malformed message",
            ErrorCode::BadState => "request not valid in this state",
            ErrorCode::BadPath => "invalid path",
            ErrorCode::DuplicatePath => "duplicate path",
            ErrorCode::TooManyEntries => "too many files",
            ErrorCode::NoSpace => "not enough free flash",
            ErrorCode::BadEntry => "bad entry",
            ErrorCode::HashMismatch => "hash mismatch",
            ErrorCode::ReadbackMismatch => "flash read-back mismatch",
            ErrorCode::Flash => "flash error",
            ErrorCode::NoPrevious => "no previous tree",
            ErrorCode::NotTrial => "active tree is not in trial",
            ErrorCode::Busy => "another host is driving this agent",
            ErrorCode::Unsigned => "not signed by a provisioned release key",
            ErrorCode::FailedTrial => "the previous tree failed its trial",
            ErrorCode::Downgrade => "older than the device's security version",
            ErrorCode::BadBase => "the patch is for another image than the slot holds",
            ErrorCode::BadPatch => "corrupt patch",
        }
    }
}

/// Decode a request body (a frame from [`crate::Decoder`]).
pub fn decode_request(body: &[u8]) -> Option<Request<'_>> {
    postcard::from_bytes(body).ok()
}

/// Decode a reply body (a frame from [`crate::Decoder`]).
pub fn decode_reply(body: &[u8]) -> Option<Reply<'_>> {
    postcard::from_bytes(body).ok()
}
