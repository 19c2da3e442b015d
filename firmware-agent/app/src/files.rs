//! The active tree, read in place from a store image: a slice of the store
//! region (XIP flash on the board, a buffer in tests). Nothing is copied; a
//! file is a sub-slice of the image, a version a sub-slice of the tree's
//! header.
//!
//! It reads the journal's newest record and the active tree's record
//! straight from the slice, field by field as the application asks, and
//! links nothing else of the agent's store, so that an application pays
//! little flash for it; confirming is the one record of
//! `ota_agent::confirm`.

use embedded_storage::nor_flash::NorFlash;
use ota_agent::layout::{
    crc32_small, entry_offset, text_bytes, trial_timeout, State, TreeRef, APP_IMAGE, ENTRY,
    ENTRY_OFFSET, ENTRY_SECTOR, ENTRY_SIZE, HEADER_COMMIT, HEADER_REF, HEADER_VERSION,
    JOURNAL_SECTORS, MAX_COMMIT, MAX_PATH, MAX_REF, MAX_VERSION, SECTOR, TREE_HEADER,
    TRIAL_TIMEOUT_AT, VERSION_JSON_MAX,
};
use ota_agent::Error;

pub use aligned::{Aligned, Alignment, A4};

/// This boot's trial, if the active tree is on one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trial {
    /// Boots the tree has left after this one before the agent rolls back.
    pub boots_left: u8,
}

/// One file of the active tree.
#[derive(Debug, Clone, Copy)]
pub struct File<'a> {
    pub path: &'a str,
    pub bytes: &'static [u8],
}

/// The active tree of a store image.
pub struct Files {
    image: &'static [u8],
    state: State,
    /// The active tree's record (header and entries), when it is whole:
    /// its CRC matches the one the journal names.
    tree: &'static [u8],
    /// `version.json`, made the first time it is asked for.
    version_json: [u8; VERSION_JSON_MAX],
    version_json_len: usize,
}

/// One entry of the active tree, as it lies in the record.
struct Entry {
    path: &'static [u8],
    start: u32,
    size: u32,
}

impl Files {
    /// Opens the store image (`sectors` sectors of 4 KiB, journal first).
    /// An image too small for a journal opens as an empty store.
    pub fn open(image: &'static [u8], sectors: u32) -> Result<Files, Error> {
        let size = (sectors as usize).saturating_mul(SECTOR as usize);
        let image = image.get(..size).ok_or(Error::Geometry)?;
        let newest = match sectors > JOURNAL_SECTORS {
            true => ota_agent::confirm::scan_in(image),
            false => None,
        };
        let state = newest.map_or(State::Empty, |n| n.head.state);
        let tree = newest
            .and_then(|n| n.head.active)
            .and_then(|at| active_tree(image, at))
            .unwrap_or(&[]);
        Ok(Files {
            image,
            state,
            tree,
            version_json: [0; VERSION_JSON_MAX],
            version_json_len: 0,
        })
    }

    /// No store: no files, no tree, no trial.
    #[cfg(feature = "rp2040")]
    pub(crate) fn empty() -> Files {
        Files {
            image: &[],
            state: State::Empty,
            tree: &[],
            version_json: [0; VERSION_JSON_MAX],
            version_json_len: 0,
        }
    }

    /// The `i`-th entry of the active tree.
    fn entry(&self, i: usize) -> Option<Entry> {
        let b = self
            .tree
            .get(TREE_HEADER + i * ENTRY..TREE_HEADER + (i + 1) * ENTRY)?;
        let u16at = |at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
        let offset = entry_offset(u16at(ENTRY_OFFSET))?;
        Some(Entry {
            path: text_bytes(b, 0, MAX_PATH)?,
            start: u16at(ENTRY_SECTOR) as u32 * SECTOR + offset as u32,
            size: u32::from_le_bytes([
                b[ENTRY_SIZE],
                b[ENTRY_SIZE + 1],
                b[ENTRY_SIZE + 2],
                b[ENTRY_SIZE + 3],
            ]),
        })
    }

    fn entries(&self) -> usize {
        self.tree.len().saturating_sub(TREE_HEADER) / ENTRY
    }

    /// The extent of the file at `path` in the active tree (never the image).
    fn find(&self, path: &str) -> Option<&'static [u8]> {
        if path == APP_IMAGE {
            return None; // the application's own image is not one of its files
        }
        (0..self.entries())
            .filter_map(|i| self.entry(i))
            .find(|f| f.path == path.as_bytes())
            .and_then(|f| self.extent(f.start, f.size))
    }

    /// The bytes of the file at `path` in the active tree, in place.
    /// `version.json` is the tree's `{"version","ref","commit"}`, as the
    /// MicroPython updater wrote it, unless the tree holds a file of that name.
    pub fn file(&mut self, path: &str) -> Option<&[u8]> {
        match self.find(path) {
            Some(bytes) => Some(bytes),
            None if path == "version.json" => Some(self.version_json_made()),
            None => None,
        }
    }

    /// A file of the active tree as a `'static` slice of the image, for
    /// assets kept for the whole run (`version.json` is not one of them).
    pub fn asset(&mut self, path: &str) -> Option<&'static [u8]> {
        self.find(path)
    }

    /// A file of the active tree as a `'static` slice aligned to `A`, for a
    /// driver that takes `&Aligned<A, [u8]>` (the CYW43 firmware: `A4`).
    /// Every file starts on a 256-byte page of flash, so this is `Some` for
    /// any alignment up to 256 bytes whenever the file exists.
    pub fn aligned<A: Alignment>(&mut self, path: &str) -> Option<&'static Aligned<A, [u8]>> {
        let bytes = self.asset(path)?;
        if !(bytes.as_ptr() as usize).is_multiple_of(core::mem::align_of::<A>()) {
            return None;
        }
        let ptr = bytes as *const [u8] as *const Aligned<A, [u8]>;
        // SAFETY: `Aligned<A, [u8]>` is `repr(C)` with a zero-sized `[A; 0]`
        // before the bytes, so it has the slice's size and metadata; the
        // address was just checked to be a multiple of A's alignment, and the
        // slice lives as long as the image ('static).
        Some(unsafe { &*ptr })
    }

    /// `version.json` of the active tree.
    pub fn version_json(&mut self) -> &[u8] {
        self.version_json_made()
    }

    fn version_json_made(&mut self) -> &[u8] {
        if self.version_json_len == 0 {
            let json = &mut self.version_json;
            self.version_json_len = ota_agent::version_json::write_fields(
                [
                    text(self.tree, HEADER_VERSION, MAX_VERSION),
                    text(self.tree, HEADER_REF, MAX_REF),
                    text(self.tree, HEADER_COMMIT, MAX_COMMIT),
                ],
                json,
            );
        }
        &self.version_json[..self.version_json_len]
    }

    /// Calls `each` with every file of the active tree, in the tree's order.
    pub fn for_each(&mut self, mut each: impl FnMut(File<'_>)) {
        for f in (0..self.entries()).filter_map(|i| self.entry(i)) {
            let Ok(path) = core::str::from_utf8(f.path) else {
                continue;
            };
            if path == APP_IMAGE {
                continue;
            }
            if let Some(bytes) = self.extent(f.start, f.size) {
                each(File { path, bytes });
            }
        }
    }

    /// The store image this reads.
    pub fn image(&self) -> &'static [u8] {
        self.image
    }

    /// How many files the active tree holds (its application image aside).
    pub fn len(&mut self) -> usize {
        let mut n = 0;
        self.for_each(|_| n += 1);
        n
    }

    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    pub fn version(&self) -> &str {
        text(self.tree, HEADER_VERSION, MAX_VERSION)
    }

    pub fn git_ref(&self) -> &str {
        text(self.tree, HEADER_REF, MAX_REF)
    }

    pub fn commit(&self) -> &str {
        text(self.tree, HEADER_COMMIT, MAX_COMMIT)
    }

    /// Seconds the application has at each trial boot to confirm, as the
    /// tree carries it (`ota push --trial-timeout`); `None`: no deadline.
    pub fn trial_timeout_sec(&self) -> Option<u16> {
        let raw = self.tree.get(TRIAL_TIMEOUT_AT..TRIAL_TIMEOUT_AT + 2)?;
        Some(trial_timeout(u16::from_le_bytes([raw[0], raw[1]]))).filter(|&s| s > 0)
    }

    /// `Some` while the active tree is on trial: the application should
    /// confirm it once it knows it works.
    pub fn trial(&self) -> Option<Trial> {
        match self.state {
            State::Trial { boots_left } => Some(Trial { boots_left }),
            _ => None,
        }
    }

    /// The state once a confirm record is written.
    #[cfg(feature = "rp2040")]
    pub(crate) fn confirmed(&mut self) {
        self.state = State::Confirmed;
    }

    fn extent(&self, start: u32, size: u32) -> Option<&'static [u8]> {
        if size == 0 {
            return Some(&[]);
        }
        let at = start as usize;
        self.image.get(at..at + size as usize)
    }
}

/// The active tree's record from the image (its header and every entry),
/// when it is whole: the CRC the journal names matches.
fn active_tree(image: &'static [u8], at: TreeRef) -> Option<&'static [u8]> {
    let start = at.first_sector as usize * SECTOR as usize;
    let record = image.get(start..start + TREE_HEADER + at.entries as usize * ENTRY)?;
    (crc32_small(record) == at.crc).then_some(record)
}

/// A text of the tree's header in place; "" for none (no tree, or bytes
/// that are not one).
fn text(tree: &[u8], at: usize, max: usize) -> &str {
    text_bytes(tree, at, max)
        .and_then(|b| core::str::from_utf8(b).ok())
        .unwrap_or("")
}

/// Confirms the active trial tree through `flash`, the same journal record
/// the agent writes for `ota confirm` (one record: power-cut safe).
/// `base` is the store's first byte in `flash`, `sectors` its size.
pub fn confirm<F: NorFlash>(mut flash: F, base: u32, sectors: u32) -> Result<(), Error> {
    if sectors <= JOURNAL_SECTORS {
        return Err(Error::Geometry);
    }
    ota_agent::confirm::confirm(&mut flash, base)?;
    Ok(())
}
