//! A model of a device's store, built from what its agent reports (the
//! files of both trees and where they lie), on which the host runs the
//! agent's own session: the same allocation, the same moves to make room,
//! the same refusal. So a dry run, the refusal before any byte is sent and
//! the push itself cannot disagree about whether a tree fits.
//!
//! The model holds the trees' records and the journal, not file contents:
//! it answers where things go and what moves, never what a file holds.

use ota_protocol::{Begin, Entry};

use crate::hash::{Sha1, Sha256};
use crate::layout::*;
use crate::ram_flash::RamFlash;
use crate::session::Session;
use crate::store::Store;
use crate::Error;

/// A file of a device's tree and its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedFile {
    pub path: String,
    pub size: u32,
    pub sha1: Sha1,
    pub sha256: Option<Sha256>,
    pub first_sector: u16,
    pub offset: u16,
}

/// A tree of the device: where its record starts, and its files in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeLayout {
    pub record: u16,
    pub files: Vec<PlacedFile>,
}

/// What the store holds, as the agent reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLayout {
    /// Byte address of the store in flash.
    pub base: u32,
    pub sectors: u32,
    pub keys: Option<u16>,
    /// The saved original application image: first sector, sectors.
    pub original: Option<(u16, u16)>,
    pub active: Option<TreeLayout>,
    pub previous: Option<TreeLayout>,
}

/// What pushing a tree onto the store comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub fits: bool,
    /// Sectors copied to make room (moved files and rewritten tree records).
    pub moved_sectors: u32,
    /// Sectors free before the push.
    pub free_sectors: u32,
}

impl StoreLayout {
    /// The store once the previous tree is dropped.
    pub fn without_previous(&self) -> StoreLayout {
        StoreLayout {
            previous: None,
            ..self.clone()
        }
    }

    /// The model's store: both trees' records and one journal record,
    /// written as the agent writes them. `Error::Corrupt` when the layout
    /// does not describe a store the agent could hold.
    fn build(&self) -> Result<Store<RamFlash>, Error> {
        let end = self.base as u64 + self.sectors as u64 * SECTOR as u64;
        if end > u32::MAX as u64 || self.sectors as usize > MAX_SECTORS {
            return Err(Error::Geometry);
        }
        let mut flash = RamFlash::new(end as usize);
        let mem = flash.bytes_mut();
        let at = |s: u32| (self.base + s * SECTOR) as usize;
        let active = match &self.active {
            Some(t) => Some(write_tree(t, mem, at(t.record as u32))?),
            None => None,
        };
        let previous = match &self.previous {
            Some(t) => Some(write_tree(t, mem, at(t.record as u32))?),
            None => None,
        };
        if let Some(k) = self.keys {
            // A keys record with no keys: its sector counts as used, and
            // the model checks no signature (the host checks those).
            put(mem, at(k as u32), &Keys::default().encode())?;
        }
        let record = Record {
            seq: 1,
            active,
            previous,
            state: State::Confirmed,
            keys: self.keys,
            active_signed: false,
            previous_signed: false,
            slot: Slot::Unmanaged,
            original: self.original.map(|(first_sector, sectors)| Original {
                first_sector,
                sectors,
                size: sectors as u32 * SECTOR,
                sha1: [0; 4],
            }),
            history: History::default(),
            security_version: 0,
            key_changes: 0,
        };
        put(mem, at(0), &record.encode())?;
        let store = Store::open(flash, self.base, self.sectors)?;
        if store.corrupt_trees > 0 {
            return Err(Error::Corrupt);
        }
        Ok(store)
    }

    /// Sectors free on the modelled store (the device's Info says the same
    /// when the layout is right).
    pub fn free_sectors(&self) -> Result<u32, Error> {
        Ok(self.build()?.free_sectors())
    }

    /// Runs the agent's session for `begin` and `entries` on the model.
    /// Errors other than a lack of room are the agent's answer too.
    pub fn push(&self, begin: &Begin<'_>, entries: &[Entry<'_>]) -> Result<Verdict, Error> {
        let mut store = self.with_hashes_of(entries).build()?;
        let free_sectors = store.free_sectors();
        let begin = Begin {
            signature: None,
            ..begin.clone()
        };
        let verdict = |fits, store: &Store<RamFlash>| Verdict {
            fits,
            moved_sectors: store.moved_sectors,
            free_sectors,
        };
        let mut session = match Session::begin(&mut store, &begin) {
            Ok(s) => s,
            Err(Error::NoSpace) => return Ok(verdict(false, &store)),
            Err(e) => return Err(e),
        };
        for e in entries {
            match session.entry(&mut store, e) {
                Ok(_) => {}
                Err(Error::NoSpace) => return Ok(verdict(false, &store)),
                Err(e) => return Err(e),
            }
        }
        Ok(verdict(true, &store))
    }
}

impl StoreLayout {
    /// The layout with the SHA-256 of each new entry given to the device's
    /// files of the same Git blob that lack one: the agent checks such a
    /// hash against the bytes in its flash, which the model does not hold,
    /// and which match on a device whose files hash to their SHA-1.
    fn with_hashes_of(&self, entries: &[Entry<'_>]) -> StoreLayout {
        let mut l = self.clone();
        for t in [&mut l.active, &mut l.previous].into_iter().flatten() {
            for f in t.files.iter_mut().filter(|f| f.sha256.is_none()) {
                f.sha256 = entries
                    .iter()
                    .find(|e| e.sha1 == f.sha1 && e.size == f.size)
                    .and_then(|e| e.sha256);
            }
        }
        l
    }
}

/// Copies `bytes` into the modelled flash at `offset`.
fn put(mem: &mut [u8], offset: usize, bytes: &[u8]) -> Result<(), Error> {
    let dst = mem
        .get_mut(offset..offset + bytes.len())
        .ok_or(Error::Corrupt)?;
    dst.copy_from_slice(bytes);
    Ok(())
}

/// Writes a tree record (header and entries) at byte `at` of the modelled
/// flash; returns the reference the journal names it by.
fn write_tree(t: &TreeLayout, mem: &mut [u8], at: usize) -> Result<TreeRef, Error> {
    let entries = u16::try_from(t.files.len()).map_err(|_| Error::TooManyEntries)?;
    let header = TreeHeader {
        entries,
        total_bytes: t.files.iter().map(|f| f.size as u64).sum(),
        version: Text::EMPTY,
        git_ref: Text::EMPTY,
        commit: Text::EMPTY,
        post_update: Text::EMPTY,
        rollback: Text::EMPTY,
        trial_timeout_sec: 0,
    };
    let mut crc = CRC32.digest();
    let bytes = header.encode();
    put(mem, at, &bytes)?;
    crc.update(&bytes);
    for (i, f) in t.files.iter().enumerate() {
        let record = FileRecord {
            path: Text::new(&f.path).ok_or(Error::BadPath)?,
            size: f.size,
            sha1: f.sha1,
            sha256: f.sha256,
            first_sector: f.first_sector,
            offset: f.offset,
        };
        let bytes = record.encode();
        put(mem, at + TREE_HEADER + i * ENTRY, &bytes)?;
        crc.update(&bytes);
    }
    Ok(TreeRef {
        first_sector: t.record,
        entries,
        crc: crc.finalize(),
    })
}
