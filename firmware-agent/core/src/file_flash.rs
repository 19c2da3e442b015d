//! A NOR flash kept in a file: the simulated Pico's flash image.
//!
//! The whole image is held in memory and every erase or program is written
//! through to the file before it returns, so killing the process at any
//! point leaves the file as a real flash would be after a power cut at an
//! operation boundary: the kernel keeps the written pages. Only a crash of
//! the host itself needs `sync`, which also puts every operation on the disk
//! and makes a push as slow as the disk. NOR rules are enforced as on the chip.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

#[derive(Debug)]
pub enum FileFlashError {
    NotAligned,
    OutOfBounds,
    /// A program would have to turn a 0 bit into a 1.
    NotErased,
    Io(std::io::ErrorKind),
}

impl NorFlashError for FileFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            FileFlashError::NotAligned => NorFlashErrorKind::NotAligned,
            FileFlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            _ => NorFlashErrorKind::Other,
        }
    }
}

pub struct FileFlash {
    file: File,
    image: Vec<u8>,
    /// Sync to disk after each operation (off by default: a killed process
    /// loses nothing without it, only a host crash would).
    pub sync: bool,
}

impl FileFlash {
    /// Opens `path`, creating an erased image of `size` bytes if it does not exist.
    /// An existing image must have exactly that size.
    pub fn open(path: &Path, size: usize) -> std::io::Result<FileFlash> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let len = file.metadata()?.len() as usize;
        let mut image = Vec::with_capacity(size);
        if len == 0 {
            image.resize(size, 0xFF);
            file.write_all(&image)?;
            file.sync_all()?;
        } else if len == size {
            file.read_to_end(&mut image)?;
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the flash image is {len} bytes where a board's is {size}; remove the file or name another one"
                ),
            ));
        }
        Ok(FileFlash {
            file,
            image,
            sync: false,
        })
    }

    fn persist(&mut self, offset: usize, len: usize) -> Result<(), FileFlashError> {
        let io = |e: std::io::Error| FileFlashError::Io(e.kind());
        self.file.seek(SeekFrom::Start(offset as u64)).map_err(io)?;
        self.file
            .write_all(&self.image[offset..offset + len])
            .map_err(io)?;
        if self.sync {
            self.file.sync_data().map_err(io)?;
        }
        Ok(())
    }
}

impl ErrorType for FileFlash {
    type Error = FileFlashError;
}

impl ReadNorFlash for FileFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let o = offset as usize;
        let src = self
            .image
            .get(o..o + bytes.len())
            .ok_or(FileFlashError::OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.image.len()
    }
}

impl NorFlash for FileFlash {
    const WRITE_SIZE: usize = 1;
    const ERASE_SIZE: usize = 4096;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let (from, to) = (from as usize, to as usize);
        if from % Self::ERASE_SIZE != 0 || to % Self::ERASE_SIZE != 0 || from > to {
            return Err(FileFlashError::NotAligned);
        }
        if to > self.image.len() {
            return Err(FileFlashError::OutOfBounds);
        }
        self.image[from..to].fill(0xFF);
        self.persist(from, to - from)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let o = offset as usize;
        let dst = self
            .image
            .get_mut(o..o + bytes.len())
            .ok_or(FileFlashError::OutOfBounds)?;
        if dst.iter().zip(bytes).any(|(&old, &new)| old & new != new) {
            return Err(FileFlashError::NotErased);
        }
        for (d, &b) in dst.iter_mut().zip(bytes) {
            *d &= b;
        }
        self.persist(o, bytes.len())
    }
}
