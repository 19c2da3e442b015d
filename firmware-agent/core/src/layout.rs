//! On-flash formats: journal records, tree headers and tree entries.
//!
//! The store region is a run of 4 KiB sectors:
//!
//! ```text
//! sector 0, 1   root journal (ping-pong; 64-byte CRC-checked records)
//! sector 2..    free space: tree records and file extents, anywhere
//! ```
//!
//! A tree record starts on a sector boundary: a 512-byte header, then one
//! 256-byte entry per file. Every record is a whole number of 256-byte pages,
//! so each is programmed exactly once and never needs a RAM copy.
//! Multi-byte numbers are little endian.

use crate::hash::{Sha1, Sha256};

pub const SECTOR: u32 = 4096;
pub const PAGE: usize = 256;
pub const JOURNAL_SECTORS: u32 = 2;
pub const RECORD: usize = 64;
/// Where a journal record's CRC starts.
const RECORD_CRC: usize = RECORD - 4;
pub const RECORDS_PER_SECTOR: usize = SECTOR as usize / RECORD;
pub const TREE_HEADER: usize = 512;
pub const ENTRY: usize = 256;
/// The most files one tree may hold.
pub const MAX_ENTRIES: usize = 512;
/// The most sectors a store may span (4096 × 4 KiB = 16 MiB).
pub const MAX_SECTORS: usize = 4096;
/// Marks "no tree" in a journal record.
pub const NO_SECTOR: u16 = 0xFFFF;

pub const MAX_PATH: usize = ota_protocol::MAX_PATH;
pub const MAX_VERSION: usize = 32;
pub const MAX_REF: usize = 64;
pub const MAX_COMMIT: usize = 64;

const JOURNAL_MAGIC: u32 = 0x324A_544F; // "OTJ2"
const TREE_MAGIC: u32 = 0x3154_544F; // "OTT1"

/// The CRC of tree records (CRC-32/ISO-HDLC), table driven: the agent
/// hashes whole tree records with it.
pub const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// The same CRC-32 as [`CRC32`], by a 16-entry table: 64 bytes instead of
/// 1 KiB, for the journal's small records, which an application reads and
/// writes too (its flash is what `ota-app` must not use up).
pub fn crc32_small(bytes: &[u8]) -> u32 {
    const POLY: u32 = 0xEDB8_8320;
    const NIBBLE: [u32; 16] = {
        let mut t = [0u32; 16];
        let mut i = 0;
        while i < 16 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 4 {
                c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        crc = (crc >> 4) ^ NIBBLE[(crc & 0xF) as usize];
        crc = (crc >> 4) ^ NIBBLE[(crc & 0xF) as usize];
    }
    !crc
}

/// Sectors needed for `bytes` bytes.
pub const fn sectors_for(bytes: u64) -> u32 {
    bytes.div_ceil(SECTOR as u64) as u32
}

/// Sectors of a tree record with `entries` files.
pub const fn tree_sectors(entries: usize) -> u32 {
    sectors_for((TREE_HEADER + entries * ENTRY) as u64)
}

/// Where a tree record lives, as the journal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeRef {
    pub first_sector: u16,
    pub entries: u16,
    /// CRC-32 of the header and all entries.
    pub crc: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Empty,
    Confirmed,
    Trial {
        boots_left: u8,
    },
    /// The active tree ran out of trial boots with no tree to fall back to:
    /// the agent stays in charge rather than run it or call it confirmed.
    Failed,
}

/// One root journal record: the whole of the device's committed state.
///
/// Its 64 bytes:
///
/// ```text
///  0..4   magic "OTJ2"          4..8   sequence number
///  8..16  active tree           16..24 previous tree
/// 24      state | signed flags  25     trial boots left
/// 26..28  keys sector           28..36 what the application slot holds
/// 36..40  trial history         40..48 security version, key-change counter
/// 48..60  the original image    60..64 CRC-32 of bytes 0..60
/// ```
///
/// The low six bits of byte 24: 0 empty, 1 confirmed, 2 trial, 3 failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub seq: u32,
    pub active: Option<TreeRef>,
    pub previous: Option<TreeRef>,
    pub state: State,
    /// The sector holding the provisioned release keys, if any.
    pub keys: Option<u16>,
    /// Whether each tree's signature was checked by a provisioned agent when
    /// it arrived (a provisioned agent will not be asked back onto one that was not).
    pub active_signed: bool,
    pub previous_signed: bool,
    /// What the application slot holds, as far as the agent wrote it.
    pub slot: Slot,
    /// The image that ran before the first one ota installed (flashed by
    /// UF2), kept in the store for the trees that carry no image of their own.
    pub original: Option<Original>,
    /// What the trials of the two trees came to (bytes 36..40).
    pub history: History,
    /// Bytes 40..44: the security version of the newest signed tree this
    /// agent confirmed; older signed trees are refused.
    pub security_version: u32,
    /// Bytes 44..48: key changes made; every key-change authorisation names the count.
    pub key_changes: u32,
}

/// Trial history, kept so that a tree that failed its trial is never
/// mistaken for a good one: by `status`, or by a rollback onto it.
///
/// Bytes 36..40 of a record: the boots the active tree's trial was given,
/// then the boots each tree failed a trial with (active, previous), then the
/// boots of the trial the previous tree was in when it was replaced. 0xFF
/// (erased) means none, so older records read as no history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct History {
    /// Boots the active tree's trial was given, when it went in as a trial.
    pub trial_boots: Option<u8>,
    /// The active tree failed a trial of this many boots (and was rolled
    /// back from) before a forced rollback put it back.
    pub active_failed: Option<u8>,
    /// The previous tree failed its trial of this many boots and the device
    /// rolled back from it.
    pub previous_failed: Option<u8>,
    /// The previous tree was still in a trial of this many boots when it was
    /// replaced: it never confirmed, so going back to it starts a trial.
    pub previous_trial: Option<u8>,
}

impl History {
    /// The history once the active and previous trees swap places (the
    /// caller says whether the tree leaving was in trial).
    pub fn swapped(self) -> History {
        History {
            trial_boots: None,
            active_failed: self.previous_failed,
            previous_failed: self.active_failed,
            previous_trial: None,
        }
    }

    fn put(&self, b: &mut [u8]) {
        let byte = |v: Option<u8>| v.filter(|&n| n != 0xFF).unwrap_or(0xFF);
        b[0] = byte(self.trial_boots);
        b[1] = byte(self.active_failed);
        b[2] = byte(self.previous_failed);
        b[3] = byte(self.previous_trial);
    }

    fn get(b: &[u8]) -> History {
        let opt = |v: u8| (v != 0xFF).then_some(v);
        History {
            trial_boots: opt(b[0]),
            active_failed: opt(b[1]),
            previous_failed: opt(b[2]),
            previous_trial: opt(b[3]),
        }
    }
}

/// The application slot, as the journal knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Never written by the agent: whatever a UF2 put there.
    Unmanaged,
    /// A copy was started and not finished: never run.
    Writing,
    /// Holds the tree image whose Git blob SHA-1 starts with these bytes.
    Image([u8; 7]),
    /// Holds the original image again.
    Original,
}

/// The saved original image: an extent of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Original {
    pub first_sector: u16,
    pub sectors: u16,
    pub size: u32,
    /// The first bytes of its Git blob SHA-1, checked after it is copied back.
    pub sha1: [u8; 4],
}

/// Where a tree keeps its application image: an entry the application does
/// not see among its files.
pub const APP_IMAGE: &str = ".ota/app.bin";

/// What an application reads of a journal record in place: whether it is
/// whole, its sequence number, state and active tree. [`Record::decode`]
/// builds on it, so the two never disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHead {
    pub seq: u32,
    pub state: State,
    pub active: Option<TreeRef>,
}

/// Byte 24 of a record: the state in its low six bits, the signed flags above.
pub const RECORD_STATE: usize = 24;
/// Byte 25: the trial boots left.
pub const RECORD_BOOTS: usize = 25;
/// Bytes 36..40: the trial history, one byte each (see [`History`]).
pub const RECORD_HISTORY: usize = 36;

impl RecordHead {
    /// `None` for an erased, torn or foreign slot.
    pub fn read(b: &[u8; RECORD]) -> Option<RecordHead> {
        if u32le(&b[0..4]) != JOURNAL_MAGIC
            || u32le(&b[RECORD_CRC..]) != crc32_small(&b[..RECORD_CRC])
        {
            return None;
        }
        let state = match (b[RECORD_STATE] & 0x3F, b[RECORD_BOOTS]) {
            (0, _) => State::Empty,
            (1, _) => State::Confirmed,
            (2, n) => State::Trial { boots_left: n },
            (3, _) => State::Failed,
            _ => return None,
        };
        Some(RecordHead {
            seq: u32le(&b[4..8]),
            state,
            active: get_tree(&b[8..16]),
        })
    }
}

/// Seals a record's bytes: its CRC over the rest (after an in-place change).
pub fn seal_record(b: &mut [u8; RECORD]) {
    let crc = crc32_small(&b[..RECORD_CRC]);
    b[RECORD_CRC..].copy_from_slice(&crc.to_le_bytes());
}

impl Record {
    pub fn encode(&self) -> [u8; RECORD] {
        let mut b = [0xFFu8; RECORD];
        b[0..4].copy_from_slice(&JOURNAL_MAGIC.to_le_bytes());
        b[4..8].copy_from_slice(&self.seq.to_le_bytes());
        put_tree(&mut b[8..16], self.active);
        put_tree(&mut b[16..24], self.previous);
        let (state, boots) = match self.state {
            State::Empty => (0, 0),
            State::Confirmed => (1, 0),
            State::Trial { boots_left } => (2, boots_left),
            State::Failed => (3, 0),
        };
        b[RECORD_STATE] =
            state | (self.active_signed as u8) << 7 | (self.previous_signed as u8) << 6;
        b[RECORD_BOOTS] = boots;
        b[26..28].copy_from_slice(&self.keys.unwrap_or(NO_SECTOR).to_le_bytes());
        match self.slot {
            Slot::Unmanaged => {}
            Slot::Writing => b[28] = 1,
            Slot::Image(id) => {
                b[28] = 2;
                b[29..36].copy_from_slice(&id);
            }
            Slot::Original => b[28] = 3,
        }
        if let Some(o) = self.original {
            b[48..50].copy_from_slice(&o.first_sector.to_le_bytes());
            b[50..52].copy_from_slice(&o.sectors.to_le_bytes());
            b[52..56].copy_from_slice(&o.size.to_le_bytes());
            b[56..60].copy_from_slice(&o.sha1);
        }
        self.history.put(&mut b[RECORD_HISTORY..RECORD_HISTORY + 4]);
        b[40..44].copy_from_slice(&self.security_version.to_le_bytes());
        b[44..48].copy_from_slice(&self.key_changes.to_le_bytes());
        seal_record(&mut b);
        b
    }

    /// `None` for an erased, torn or foreign slot.
    pub fn decode(b: &[u8; RECORD]) -> Option<Record> {
        let head = RecordHead::read(b)?;
        // Sector 0 is a journal sector: records written before keys existed hold 0 there.
        let keys = u16::from_le_bytes([b[26], b[27]]);
        Some(Record {
            seq: head.seq,
            active: head.active,
            previous: get_tree(&b[16..24]),
            state: head.state,
            keys: (keys != NO_SECTOR && keys as u32 >= JOURNAL_SECTORS).then_some(keys),
            active_signed: b[24] & 0x80 != 0,
            previous_signed: b[24] & 0x40 != 0,
            slot: match b[28] {
                1 => Slot::Writing,
                2 => Slot::Image(b[29..36].try_into().ok()?),
                3 => Slot::Original,
                _ => Slot::Unmanaged,
            },
            original: (u16::from_le_bytes([b[48], b[49]]) != NO_SECTOR).then(|| Original {
                first_sector: u16::from_le_bytes([b[48], b[49]]),
                sectors: u16::from_le_bytes([b[50], b[51]]),
                size: u32le(&b[52..56]),
                sha1: [b[56], b[57], b[58], b[59]],
            }),
            history: History::get(&b[RECORD_HISTORY..RECORD_HISTORY + 4]),
            // Records written before these counters existed hold 0xFF there.
            security_version: counter(&b[40..44]),
            key_changes: counter(&b[44..48]),
        })
    }
}

/// A counter of the record; erased bytes read as 0.
fn counter(b: &[u8]) -> u32 {
    match u32le(b) {
        u32::MAX => 0,
        n => n,
    }
}

fn put_tree(b: &mut [u8], t: Option<TreeRef>) {
    let t = t.unwrap_or(TreeRef {
        first_sector: NO_SECTOR,
        entries: 0,
        crc: 0,
    });
    b[0..2].copy_from_slice(&t.first_sector.to_le_bytes());
    b[2..4].copy_from_slice(&t.entries.to_le_bytes());
    b[4..8].copy_from_slice(&t.crc.to_le_bytes());
}

fn get_tree(b: &[u8]) -> Option<TreeRef> {
    let first_sector = u16::from_le_bytes([b[0], b[1]]);
    (first_sector != NO_SECTOR).then(|| TreeRef {
        first_sector,
        entries: u16::from_le_bytes([b[2], b[3]]),
        crc: u32le(&b[4..8]),
    })
}

pub(crate) fn u32le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// A bounded string stored as a length byte and its bytes.
#[derive(Clone, Copy)]
pub struct Text<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> Text<N> {
    pub const EMPTY: Self = Text {
        len: 0,
        bytes: [0; N],
    };

    /// `None` when `s` is longer than `N` bytes.
    pub fn new(s: &str) -> Option<Self> {
        if s.len() > N || s.len() > 255 {
            return None;
        }
        let mut t = Self::EMPTY;
        t.bytes[..s.len()].copy_from_slice(s.as_bytes());
        t.len = s.len() as u8;
        Some(t)
    }

    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }

    fn put(&self, b: &mut [u8]) -> usize {
        b[0] = self.len;
        b[1..1 + N].copy_from_slice(&self.bytes);
        1 + N
    }

    fn get(b: &[u8]) -> Option<(Self, usize)> {
        let len = b[0] as usize;
        if len > N {
            return None;
        }
        let mut t = Self::EMPTY;
        t.bytes.copy_from_slice(&b[1..1 + N]);
        t.len = len as u8;
        core::str::from_utf8(&t.bytes[..len]).ok()?;
        Some((t, 1 + N))
    }
}

impl<const N: usize> core::fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> PartialEq for Text<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

/// The header of a tree record: what the tree is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeHeader {
    pub entries: u16,
    pub total_bytes: u64,
    pub version: Text<MAX_VERSION>,
    pub git_ref: Text<MAX_REF>,
    pub commit: Text<MAX_COMMIT>,
    pub post_update: Text<MAX_PATH>,
    pub rollback: Text<MAX_PATH>,
    /// Bytes 500..502: seconds the application has at each trial boot to
    /// confirm (0: no deadline; erased, in a header older than it, reads 0).
    pub trial_timeout_sec: u16,
}

/// Where a tree header keeps its trial deadline.
pub const TRIAL_TIMEOUT_AT: usize = 500;
/// Where a tree header's version, ref and commit start, for readers in
/// place (an application): each a length byte, then its room of bytes.
pub const HEADER_VERSION: usize = 14;
pub const HEADER_REF: usize = HEADER_VERSION + 1 + MAX_VERSION;
pub const HEADER_COMMIT: usize = HEADER_REF + 1 + MAX_REF;
/// Where an entry keeps its size, first sector and offset (its path,
/// a length byte and its room, comes first).
pub const ENTRY_SIZE: usize = 1 + MAX_PATH;
pub const ENTRY_SECTOR: usize = ENTRY_SIZE + 4 + 20 + 33;
pub const ENTRY_OFFSET: usize = ENTRY_SECTOR + 2;

/// The bytes of the text of room `max` at `at` of a record, in place;
/// `None` when its length byte is out of range.
pub fn text_bytes(b: &[u8], at: usize, max: usize) -> Option<&[u8]> {
    let len = *b.get(at)? as usize;
    if len > max {
        return None;
    }
    b.get(at + 1..at + 1 + len)
}

/// An entry's offset field as the store means it: erased (written before
/// files were packed) reads 0; `None` for one that is no page of a sector.
pub fn entry_offset(raw: u16) -> Option<u16> {
    match raw {
        0xFFFF => Some(0),
        o if (o as u32) < SECTOR && (o as usize).is_multiple_of(PAGE) => Some(o),
        _ => None,
    }
}

/// A tree header's trial deadline field: erased (older headers) reads 0.
pub fn trial_timeout(raw: u16) -> u16 {
    match raw {
        0xFFFF => 0,
        n => n,
    }
}

impl TreeHeader {
    pub fn encode(&self) -> [u8; TREE_HEADER] {
        let mut b = [0xFFu8; TREE_HEADER];
        b[0..4].copy_from_slice(&TREE_MAGIC.to_le_bytes());
        b[4..6].copy_from_slice(&self.entries.to_le_bytes());
        b[6..14].copy_from_slice(&self.total_bytes.to_le_bytes());
        self.version.put(&mut b[HEADER_VERSION..]);
        self.git_ref.put(&mut b[HEADER_REF..]);
        let mut at = HEADER_COMMIT;
        at += self.commit.put(&mut b[at..]);
        at += self.post_update.put(&mut b[at..]);
        self.rollback.put(&mut b[at..]);
        b[TRIAL_TIMEOUT_AT..TRIAL_TIMEOUT_AT + 2]
            .copy_from_slice(&self.trial_timeout_sec.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8; TREE_HEADER]) -> Option<TreeHeader> {
        if u32le(&b[0..4]) != TREE_MAGIC {
            return None;
        }
        let (version, _) = Text::get(&b[HEADER_VERSION..])?;
        let (git_ref, _) = Text::get(&b[HEADER_REF..])?;
        let mut at = HEADER_COMMIT;
        let (commit, n) = Text::get(&b[at..])?;
        at += n;
        let (post_update, n) = Text::get(&b[at..])?;
        at += n;
        let (rollback, _) = Text::get(&b[at..])?;
        Some(TreeHeader {
            entries: u16::from_le_bytes([b[4], b[5]]),
            total_bytes: u64::from_le_bytes(b[6..14].try_into().ok()?),
            version,
            git_ref,
            commit,
            post_update,
            rollback,
            trial_timeout_sec: trial_timeout(u16::from_le_bytes([
                b[TRIAL_TIMEOUT_AT],
                b[TRIAL_TIMEOUT_AT + 1],
            ])),
        })
    }
}

/// One file of a tree record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileRecord {
    pub path: Text<MAX_PATH>,
    pub size: u32,
    pub sha1: Sha1,
    pub sha256: Option<Sha256>,
    /// First sector of the file's extent (meaningless for an empty file).
    pub first_sector: u16,
    /// Where the file starts in its first sector: a multiple of 256 for a
    /// small file that shares its sector, else 0. Records written before
    /// files were packed hold 0xFFFF here, read as 0.
    pub offset: u16,
}

impl FileRecord {
    /// Sectors the file's bytes span.
    pub fn sectors(&self) -> u32 {
        crate::space::span_sectors(self.offset, self.size)
    }

    /// Where the file's first byte is, in bytes from the start of the store.
    pub fn start(&self) -> u32 {
        self.first_sector as u32 * SECTOR + self.offset as u32
    }

    pub fn encode(&self) -> [u8; ENTRY] {
        let mut b = [0xFFu8; ENTRY];
        let mut at = self.path.put(&mut b);
        debug_assert_eq!(at, ENTRY_SIZE);
        b[at..at + 4].copy_from_slice(&self.size.to_le_bytes());
        at += 4;
        b[at..at + 20].copy_from_slice(&self.sha1);
        at += 20;
        b[at] = self.sha256.is_some() as u8;
        b[at + 1..at + 33].copy_from_slice(&self.sha256.unwrap_or([0; 32]));
        at += 33;
        debug_assert_eq!(at, ENTRY_SECTOR);
        b[at..at + 2].copy_from_slice(&self.first_sector.to_le_bytes());
        b[at + 2..at + 4].copy_from_slice(&self.offset.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8; ENTRY]) -> Option<FileRecord> {
        let (path, mut at) = Text::get(b)?;
        let size = u32le(&b[at..]);
        at += 4;
        let sha1 = b[at..at + 20].try_into().ok()?;
        at += 20;
        let sha256 = match b[at] {
            0 => None,
            1 => Some(b[at + 1..at + 33].try_into().ok()?),
            _ => return None,
        };
        at += 33;
        let offset = entry_offset(u16::from_le_bytes([b[at + 2], b[at + 3]]))?;
        Some(FileRecord {
            path,
            size,
            sha1,
            sha256,
            first_sector: u16::from_le_bytes([b[at], b[at + 1]]),
            offset,
        })
    }
}

/// Room for `version.json` with every field at its longest and fully escaped.
pub const VERSION_JSON_MAX: usize = 40 + 2 * (MAX_VERSION + MAX_REF + MAX_COMMIT);

const KEYS_MAGIC: u32 = 0x314B_544F; // "OTK1"
/// A keys sector's record: magic, count, up to four keys, CRC.
pub const KEYS_RECORD: usize = 4 + 4 + 32 * crate::signature::MAX_KEYS + 4;

/// The provisioned release keys, as stored in their sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Keys {
    pub count: u8,
    pub keys: [[u8; 32]; crate::signature::MAX_KEYS],
}

impl Keys {
    pub fn as_slice(&self) -> &[[u8; 32]] {
        &self.keys[..self.count as usize]
    }

    pub fn encode(&self) -> [u8; KEYS_RECORD] {
        let mut b = [0xFFu8; KEYS_RECORD];
        b[0..4].copy_from_slice(&KEYS_MAGIC.to_le_bytes());
        b[4..8].copy_from_slice(&(self.count as u32).to_le_bytes());
        for (i, k) in self.keys.iter().enumerate() {
            b[8 + 32 * i..40 + 32 * i].copy_from_slice(k);
        }
        let n = KEYS_RECORD - 4;
        let crc = CRC32.checksum(&b[..n]);
        b[n..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8; KEYS_RECORD]) -> Option<Keys> {
        let n = KEYS_RECORD - 4;
        if u32le(&b[0..4]) != KEYS_MAGIC || u32le(&b[n..]) != CRC32.checksum(&b[..n]) {
            return None;
        }
        let count = u32le(&b[4..8]);
        if count as usize > crate::signature::MAX_KEYS {
            return None;
        }
        let mut k = Keys {
            count: count as u8,
            ..Keys::default()
        };
        for i in 0..crate::signature::MAX_KEYS {
            k.keys[i].copy_from_slice(&b[8 + 32 * i..40 + 32 * i]);
        }
        Some(k)
    }
}
