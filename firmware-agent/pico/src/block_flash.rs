//! The store's flash driver: embassy-rp's blocking driver for reads,
//! programs and the unique id, and an erase of its own that lets the boot
//! ROM use the W25Q16JV's 64 KiB block erase (D8h, 150 ms typical) for each
//! whole, aligned 64 KiB of a range, and sector erases (20h, 45 ms) only for
//! the rest. embassy-rp passes the ROM no block size, so it erases 4 KiB at a
//! time: 16 x 45 ms = 720 ms for what one block erase does in 150 ms.
//!
//! The erase runs from RAM with interrupts off: code cannot be fetched from
//! the flash while it erases, and nothing here may touch XIP until boot2 (a
//! RAM copy, as embassy-rp does) has put it back.

use embassy_rp::flash::{Blocking, Error, Flash, ERASE_SIZE};
use embassy_rp::peripherals::FLASH;
use embassy_rp::{rom_data, Peri};
use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};

use crate::layout::FLASH_SIZE;

const XIP_BASE: u32 = 0x1000_0000;
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

/// The ROM routines an erase calls, looked up before XIP goes away.
#[repr(C)]
struct Rom {
    connect: unsafe extern "C" fn(),
    exit_xip: unsafe extern "C" fn(),
    erase: unsafe extern "C" fn(u32, usize, u32, u8),
    flush: unsafe extern "C" fn(),
    enter_xip: unsafe extern "C" fn(),
}

/// Runs from RAM: nothing in it may live in flash (no panics, no calls
/// but through `rom`).
#[inline(never)]
#[unsafe(link_section = ".data.ram_func")]
unsafe fn erase_in_ram(rom: &Rom, offset: u32, len: u32) {
    unsafe {
        (rom.connect)();
        (rom.exit_xip)();
        (rom.erase)(offset, len as usize, BLOCK_SIZE, BLOCK_ERASE);
        (rom.flush)();
        (rom.enter_xip)();
    }
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
        // boot2 brings XIP back after the erase, at full speed (the ROM's
        // flash_enter_cmd_xip would leave it slow); it must run from RAM too.
        let mut boot2 = [0u32; 64];
        unsafe { rom_data::memcpy44(boot2.as_mut_ptr(), XIP_BASE as *const u32, 256) };
        let boot2_entry = boot2.as_ptr() as usize + 1;
        let rom = Rom {
            connect: rom_data::connect_internal_flash::ptr(),
            exit_xip: rom_data::flash_exit_xip::ptr(),
            erase: rom_data::flash_range_erase::ptr(),
            flush: rom_data::flash_flush_cache::ptr(),
            enter_xip: unsafe {
                core::mem::transmute::<usize, unsafe extern "C" fn()>(boot2_entry)
            },
        };
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
        cortex_m::interrupt::free(|_| unsafe { erase_in_ram(&rom, from, to - from) });
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Error> {
        self.inner.blocking_write(offset, bytes)
    }
}
