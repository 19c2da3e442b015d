//! The active tree, read in place from a store image: a slice of the store
//! region (XIP flash on the board, a buffer in tests). Nothing is copied; a
//! file is a sub-slice of the image.
//!
//! It reads the journal and the active tree's record straight from the
//! slice and links nothing else of the agent's store, so that an
//! application pays little flash for it; confirming is the one record of
//! `ota_agent::confirm`.

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
use ota_agent::layout::{
    crc32_small, FileRecord, State, TreeHeader, TreeRef, APP_IMAGE, ENTRY, JOURNAL_SECTORS, SECTOR,
    TREE_HEADER, VERSION_JSON_MAX,
};
use ota_agent::Error;

pub use aligned::{Aligned, Alignment, A4};

/// A read-only flash over the store image, for the journal scan.
pub struct Image(&'static [u8]);

impl ErrorType for Image {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for Image {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let at = offset as usize;
        let src = self
            .0
            .get(at..at + bytes.len())
            .ok_or(NorFlashErrorKind::OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.0.len()
    }
}

// The reader never writes; writes go through the board's real flash (see `Ota::confirm`).
impl NorFlash for Image {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = SECTOR as usize;

    fn erase(&mut self, _from: u32, _to: u32) -> Result<(), Self::Error> {
        Err(NorFlashErrorKind::Other)
    }

    fn write(&mut self, _offset: u32, _bytes: &[u8]) -> Result<(), Self::Error> {
        Err(NorFlashErrorKind::Other)
    }
}

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
    /// The active tree, when its record is whole (its CRC matches).
    tree: Option<(TreeRef, TreeHeader)>,
    version_json: [u8; VERSION_JSON_MAX],
    version_json_len: usize,
}

impl Files {
    /// Opens the store image (`sectors` sectors of 4 KiB, journal first).
    /// An image too small for a journal opens as an empty store.
    pub fn open(image: &'static [u8], sectors: u32) -> Result<Files, Error> {
        let size = (sectors as usize).saturating_mul(SECTOR as usize);
        let image = image.get(..size).ok_or(Error::Geometry)?;
        let newest = match sectors > JOURNAL_SECTORS {
            true => ota_agent::confirm::newest(&mut Image(image), 0)?,
            false => None,
        };
        let state = newest.map_or(State::Empty, |(r, _)| r.state);
        let tree = newest
            .and_then(|(r, _)| r.active)
            .and_then(|at| active_tree(image, at));
        let mut version_json = [0u8; VERSION_JSON_MAX];
        let version_json_len =
            ota_agent::version_json::write(tree.as_ref().map(|(_, h)| h), &mut version_json);
        Ok(Files {
            image,
            state,
            tree,
            version_json,
            version_json_len,
        })
    }

    /// The `i`-th entry of the active tree.
    fn entry(&self, i: u16) -> Option<FileRecord> {
        let (at, _) = self.tree.as_ref()?;
        let start = at.first_sector as usize * SECTOR as usize + TREE_HEADER + i as usize * ENTRY;
        let bytes = self.image.get(start..start + ENTRY)?.try_into().ok()?;
        FileRecord::decode(bytes)
    }

    /// The extent of the file at `path` in the active tree (never the image).
    fn find(&self, path: &str) -> Option<&'static [u8]> {
        if path == APP_IMAGE {
            return None; // the application's own image is not one of its files
        }
        let entries = self.tree.as_ref()?.0.entries;
        (0..entries)
            .filter_map(|i| self.entry(i))
            .find(|f| f.path.as_str() == path)
            .and_then(|f| self.extent(f.start(), f.size))
    }

    /// The bytes of the file at `path` in the active tree, in place.
    /// `version.json` is the tree's `{"version","ref","commit"}`, as the
    /// MicroPython updater wrote it, unless the tree holds a file of that name.
    pub fn file(&mut self, path: &str) -> Option<&[u8]> {
        match self.find(path) {
            Some(bytes) => Some(bytes),
            None if path == "version.json" => Some(self.version_json()),
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
    pub fn version_json(&self) -> &[u8] {
        &self.version_json[..self.version_json_len]
    }

    /// Calls `each` with every file of the active tree, in the tree's order.
    pub fn for_each(&mut self, mut each: impl FnMut(File<'_>)) {
        let entries = self.tree.as_ref().map_or(0, |(at, _)| at.entries);
        for f in (0..entries).filter_map(|i| self.entry(i)) {
            if f.path.as_str() == APP_IMAGE {
                continue;
            }
            if let Some(bytes) = self.extent(f.start(), f.size) {
                each(File {
                    path: f.path.as_str(),
                    bytes,
                });
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

    fn header(&self) -> Option<&TreeHeader> {
        self.tree.as_ref().map(|(_, h)| h)
    }

    pub fn version(&self) -> &str {
        self.header().map_or("", |h| h.version.as_str())
    }

    pub fn git_ref(&self) -> &str {
        self.header().map_or("", |h| h.git_ref.as_str())
    }

    pub fn commit(&self) -> &str {
        self.header().map_or("", |h| h.commit.as_str())
    }

    /// Seconds the application has at each trial boot to confirm, as the
    /// tree carries it (`ota push --trial-timeout`); `None`: no deadline.
    pub fn trial_timeout_sec(&self) -> Option<u16> {
        self.header()
            .map(|h| h.trial_timeout_sec)
            .filter(|&s| s > 0)
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

/// The active tree's record from the image, when it is whole: its header,
/// and the CRC the journal names over the header and every entry.
fn active_tree(image: &[u8], at: TreeRef) -> Option<(TreeRef, TreeHeader)> {
    let start = at.first_sector as usize * SECTOR as usize;
    let len = TREE_HEADER + at.entries as usize * ENTRY;
    let record = image.get(start..start + len)?;
    let header = TreeHeader::decode(record[..TREE_HEADER].try_into().ok()?)?;
    (header.entries == at.entries && crc32_small(record) == at.crc).then_some((at, header))
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
