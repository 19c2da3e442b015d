//! A file of the new tree arriving as a patch (protocol 1.6's Patch):
//! the base checked against what the application slot holds, then the
//! patch applied frame by frame, old bytes read from the slot, new bytes
//! handed to the session's page writer like any file's bytes.
//!
//! Never reads outside the slot's base image, and never lets a patch make
//! more bytes than the entry declares: the session then hashes, reads back
//! and verifies the result exactly as it does for bytes sent whole, so a
//! patch cannot bring into the store anything a whole file could not.

use embedded_storage::nor_flash::NorFlash;
use ota_delta::{Applier, ApplyError, PatchIo};
use sha2::{Digest, Sha256};

use crate::layout::PAGE;
use crate::store::Store;
use crate::Error;

/// The image a patch is made against: the slot's first `size` bytes.
#[derive(Debug, Clone, Copy)]
pub struct Base {
    /// Where the slot starts in the store's flash.
    pub slot: u32,
    pub size: u32,
    pub sha256: [u8; 32],
}

/// Where the image bytes a patch makes go: the session's page writer.
pub(crate) type Write<'a, F> = dyn FnMut(&mut Store<F>, &[u8]) -> Result<(), Error> + 'a;

/// A patch being taken.
pub(crate) struct PatchIn {
    applier: Applier,
    base: Base,
    /// The patch's size, and the bytes of it taken so far.
    pub size: u32,
    pub taken: u32,
}

impl PatchIn {
    /// Checks that the slot holds the base (hashing it), then gets ready.
    pub fn open<F: NorFlash>(store: &mut Store<F>, base: Base, size: u32) -> Result<Self, Error> {
        if base.size == 0 || base.size > crate::board::APP_SLOT_SIZE {
            return Err(Error::BadBase);
        }
        let mut h = Sha256::new();
        let mut buf = [0u8; PAGE];
        let mut at = 0;
        while at < base.size {
            let n = (base.size - at).min(PAGE as u32) as usize;
            store.read(base.slot + at, &mut buf[..n])?;
            h.update(&buf[..n]);
            at += n as u32;
        }
        if h.finalize().as_slice() != base.sha256 {
            return Err(Error::BadBase);
        }
        Ok(PatchIn {
            applier: Applier::new(base.size),
            base,
            size,
            taken: 0,
        })
    }

    /// Applies the next patch bytes; `write` takes the image bytes they make.
    /// Returns true once the whole patch is in and made a whole image.
    pub fn take<F: NorFlash>(
        &mut self,
        store: &mut Store<F>,
        bytes: &[u8],
        write: &mut Write<'_, F>,
    ) -> Result<bool, Error> {
        let mut io = Io {
            store,
            slot: self.base.slot,
            write,
        };
        self.applier.feed(bytes, &mut io).map_err(error)?;
        self.taken += bytes.len() as u32;
        if self.taken < self.size {
            return Ok(false);
        }
        self.applier.finish(&mut io).map_err(error)?;
        Ok(true)
    }
}

fn error(e: ApplyError<Error>) -> Error {
    match e {
        ApplyError::Corrupt(_) => Error::BadPatch,
        ApplyError::Io(e) => e,
    }
}

struct Io<'a, F> {
    store: &'a mut Store<F>,
    slot: u32,
    write: &'a mut Write<'a, F>,
}

impl<F: NorFlash> PatchIo for Io<'_, F> {
    type Error = Error;

    fn read_old(&mut self, at: u32, buf: &mut [u8]) -> Result<(), Error> {
        self.store.read(self.slot + at, buf)
    }

    fn write_new(&mut self, bytes: &[u8]) -> Result<(), Error> {
        (self.write)(self.store, bytes)
    }
}
