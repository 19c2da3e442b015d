//! The store's flash driver: embassy-rp's blocking driver for reads and the
//! unique id, and an erase and a program of its own. The erase lets the boot
//! ROM use the W25Q16JV's 64 KiB block erase (D8h, 150 ms typical) for each
//! whole, aligned 64 KiB of a range, and sector erases (20h, 45 ms) only for
//! the rest; embassy-rp passes the ROM no block size, so it erases 4 KiB at a
//! time: 16 x 45 ms = 720 ms for what one block erase does in 150 ms.
//!
//! Both run from RAM with interrupts off, as the whole agent does (link-ram.x):
//! code cannot be fetched from the flash while it is busy, and nothing here
//! may touch XIP until boot2 has put it back. boot2 is run from the copy the
//! loader made at reset (embassy-rp would read it from XIP again each time).

use embassy_rp::flash::{Blocking, Error, Flash, ERASE_SIZE, PAGE_SIZE};
use embassy_rp::peripherals::FLASH;
use embassy_rp::{rom_data, Peri};
use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};

use crate::layout::FLASH_SIZE;

/// The W25Q16JV's 64 KiB Block Erase: its size and command.
const BLOCK_SIZE: u32 = 64 * 1024;
const BLOCK_ERASE: u8 = 0xD8;

pub struct StoreFlash {
    inner: Flash<'static, FLASH, Blocking, FLASH_SIZE>,
}

impl StoreFlash {
    pub fn new(flash: Peri<'static, FLASH>) -> StoreFlash {
        StoreFlash {
            inner: Flash::new_blocking(flash),
        }
    }

    pub fn blocking_unique_id(&mut self, uid: &mut [u8]) -> Result<(), Error> {
        self.inner.blocking_unique_id(uid)
    }
}

unsafe extern "C" {
    /// The loader's copy of boot2 (link-ram.x): 256 bytes, Thumb code.
    static __boot2_copy: u32;
}

/// One flash operation of the boot ROM's.
#[derive(Clone, Copy)]
enum Op {
    Erase {
        offset: u32,
        len: u32,
    },
    Program {
        offset: u32,
        data: *const u8,
        len: u32,
    },
}

/// Runs `op` through the boot ROM with interrupts off, then boot2 to bring
/// XIP back at full speed (the ROM's flash_enter_cmd_xip would leave it slow).
fn rom_flash(op: Op) {
    let connect = rom_data::connect_internal_flash::ptr();
    let exit_xip = rom_data::flash_exit_xip::ptr();
    let erase = rom_data::flash_range_erase::ptr();
    let program = rom_data::flash_range_program::ptr();
    let flush = rom_data::flash_flush_cache::ptr();
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
    // SAFETY: every routine is the ROM's or in RAM (the agent runs from RAM,
    // boot2's copy too); nothing runs in between, with interrupts off.
    cortex_m::interrupt::free(|_| unsafe {
        connect();
        exit_xip();
        match op {
            Op::Erase { offset, len } => erase(offset, len as usize, BLOCK_SIZE, BLOCK_ERASE),
            Op::Program { offset, data, len } => program(offset, data, len as usize),
        }
        flush();
        restore_xip_unguarded();
    });
}

/// Runs boot2's copy: XIP as boot2 left it at reset, which the agent's store
/// reads and the application expect. Interrupts must be off and nothing may
/// touch XIP meanwhile.
unsafe fn restore_xip_unguarded() {
    // SAFETY: the loader copied boot2 there; its first byte is its entry.
    unsafe {
        let entry = (&raw const __boot2_copy) as usize + 1;
        let boot2 = core::mem::transmute::<usize, unsafe extern "C" fn()>(entry);
        boot2();
    }
}

/// Puts XIP back as boot2 sets it up, for the hand-over to the application.
pub fn restore_xip() {
    // SAFETY: interrupts are off and the caller runs from RAM.
    cortex_m::interrupt::free(|_| unsafe { restore_xip_unguarded() });
}

impl ErrorType for StoreFlash {
    type Error = Error;
}

impl ReadNorFlash for StoreFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Error> {
        self.inner.blocking_read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        FLASH_SIZE
    }
}

impl NorFlash for StoreFlash {
    const WRITE_SIZE: usize = 1;
    const ERASE_SIZE: usize = ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Error> {
        let sector = ERASE_SIZE as u32;
        if !from.is_multiple_of(sector) || !to.is_multiple_of(sector) || from > to {
            return Err(Error::Unaligned);
        }
        if to as usize > FLASH_SIZE {
            return Err(Error::OutOfBounds);
        }
        if from == to {
            return Ok(());
        }
        rom_flash(Op::Erase {
            offset: from,
            len: to - from,
        });
        Ok(())
    }

    /// Whole pages from RAM in one ROM call; a page only partly written, or
    /// given from flash, through a page buffer padded with 0xFF (which
    /// programs nothing).
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Error> {
        let end = offset as usize + bytes.len();
        if end > FLASH_SIZE {
            return Err(Error::OutOfBounds);
        }
        let page = PAGE_SIZE as u32;
        let in_ram = bytes.as_ptr() as usize >= 0x2000_0000;
        let mut at = offset;
        let mut rest = bytes;
        while !rest.is_empty() {
            let base = at - at % page;
            let skip = (at - base) as usize;
            let whole = (rest.len() / PAGE_SIZE) * PAGE_SIZE;
            if skip == 0 && in_ram && whole > 0 {
                let data = rest.as_ptr();
                rom_flash(Op::Program {
                    offset: at,
                    data,
                    len: whole as u32,
                });
                (at, rest) = (at + whole as u32, &rest[whole..]);
                continue;
            }
            let n = rest.len().min(PAGE_SIZE - skip);
            let mut buf = [0xFF_u8; PAGE_SIZE];
            buf[skip..skip + n].copy_from_slice(&rest[..n]);
            let data = buf.as_ptr();
            rom_flash(Op::Program {
                offset: base,
                data,
                len: page,
            });
            (at, rest) = (at + n as u32, &rest[n..]);
        }
        Ok(())
    }
}
