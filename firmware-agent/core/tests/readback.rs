//! The read-back of a received file: each page is compared with the bytes
//! hashed on the way in as soon as it is programmed, so a page the flash did
//! not take as sent fails the file (and the push) although its hash matched.

mod common;

use common::*;
use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
use ota_agent::ram_flash::{RamFlash, RamFlashError};
use ota_protocol::ErrorCode;

/// The bytes a file starts with to make the flash below fail its first page.
const MARKER: &[u8; 16] = b"WEAK-BIT-MARKER!";

/// A RAM flash with a worn cell: a program that starts with [`MARKER`]
/// leaves bit 3 of its first byte set (0 in `W`), as a cell that no longer
/// programs would; every other program goes through.
struct WeakBit {
    inner: RamFlash,
}

impl ErrorType for WeakBit {
    type Error = RamFlashError;
}

impl ReadNorFlash for WeakBit {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.inner.read(offset, bytes)
    }
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
}

impl NorFlash for WeakBit {
    const WRITE_SIZE: usize = RamFlash::WRITE_SIZE;
    const ERASE_SIZE: usize = RamFlash::ERASE_SIZE;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.inner.erase(from, to)
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        if !bytes.starts_with(MARKER) {
            return self.inner.write(offset, bytes);
        }
        let mut weak = bytes.to_vec();
        weak[0] |= 0x08;
        self.inner.write(offset, &weak)
    }
}

#[test]
fn a_page_the_flash_did_not_take_fails_the_push_and_the_old_tree_stays() {
    let flash = WeakBit {
        inner: RamFlash::new(flash_size(64)),
    };
    let mut agent = boot(flash, 64).0;
    let v1 = Tree::new("v1", vec![("a.bin".into(), content(1, 5000))]);
    push(&mut agent, &v1, 0).unwrap();
    let mut bytes = content(2, 9000);
    bytes[..MARKER.len()].copy_from_slice(MARKER);
    let v2 = Tree::new("v2", vec![("a.bin".into(), bytes)]);
    let r = push(&mut agent, &v2, 0).unwrap_err();
    assert!(
        matches!(&r, R::Error(ErrorCode::ReadbackMismatch, _)),
        "{r:?}"
    );
    let (version, files) = active_tree(agent.store_mut()).unwrap();
    assert_eq!(version, "v1");
    assert_eq!(files, v1.files);
}
