//! The active tree, read in place from a store image: a slice of the store
//! region (XIP flash on the board, a buffer in tests). Nothing is copied; a
//! file is a sub-slice of the image.

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
use ota_agent::layout::{State, APP_IMAGE, SECTOR, VERSION_JSON_MAX};
use ota_agent::{Error, Store};

pub use aligned::{Aligned, Alignment, A4};

/// A read-only flash over the store image, for the agent core's reader.
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
    store: Store<Image>,
    version_json: [u8; VERSION_JSON_MAX],
    version_json_len: usize,
}

impl Files {
    /// Opens the store image (`sectors` sectors of 4 KiB, journal first).
    pub fn open(image: &'static [u8], sectors: u32) -> Result<Files, Error> {
        let store = Store::open(Image(image), 0, sectors)?;
        let mut version_json = [0u8; VERSION_JSON_MAX];
        let version_json_len = store.version_json(&mut version_json);
        Ok(Files {
            image,
            store,
            version_json,
            version_json_len,
        })
    }

    /// The bytes of the file at `path` in the active tree, in place.
    /// `version.json` is the tree's `{"version","ref","commit"}`, as the
    /// MicroPython updater wrote it, unless the tree holds a file of that name.
    pub fn file(&mut self, path: &str) -> Option<&[u8]> {
        if path == APP_IMAGE {
            return None; // the application's own image is not one of its files
        }
        match self.store.find_path(path) {
            Ok(Some(f)) => Some(self.extent(f.start(), f.size)),
            _ if path == "version.json" => Some(self.version_json()),
            _ => None,
        }
    }

    /// A file of the active tree as a `'static` slice of the image, for
    /// assets kept for the whole run (`version.json` is not one of them).
    pub fn asset(&mut self, path: &str) -> Option<&'static [u8]> {
        if path == APP_IMAGE {
            return None;
        }
        match self.store.find_path(path) {
            Ok(Some(f)) => Some(self.extent(f.start(), f.size)),
            _ => None,
        }
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
        let Some(tree) = self.store.active().map(|t| t.at) else {
            return;
        };
        for i in 0..tree.entries {
            if let Ok(f) = self.store.file(&tree, i) {
                if f.path.as_str() == APP_IMAGE {
                    continue;
                }
                let bytes = self.extent(f.start(), f.size);
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

    pub fn version(&self) -> &str {
        self.store
            .active()
            .map_or("", |t| t.header.version.as_str())
    }

    pub fn git_ref(&self) -> &str {
        self.store
            .active()
            .map_or("", |t| t.header.git_ref.as_str())
    }

    pub fn commit(&self) -> &str {
        self.store.active().map_or("", |t| t.header.commit.as_str())
    }

    /// `Some` while the active tree is on trial: the application should
    /// confirm it once it knows it works.
    pub fn trial(&self) -> Option<Trial> {
        match self.store.state() {
            State::Trial { boots_left } => Some(Trial { boots_left }),
            _ => None,
        }
    }

    fn extent(&self, start: u32, size: u32) -> &'static [u8] {
        if size == 0 {
            return &[];
        }
        let at = start as usize;
        self.image.get(at..at + size as usize).unwrap_or(&[])
    }
}

/// Confirms the active trial tree through `flash`, the same journal record
/// the agent writes for `ota confirm` (one record: power-cut safe).
/// `base` is the store's first byte in `flash`.
pub fn confirm<F: NorFlash>(flash: F, base: u32, sectors: u32) -> Result<(), Error> {
    Store::open(flash, base, sectors)?.confirm()
}
