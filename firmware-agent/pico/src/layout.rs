//! Where everything sits in the Pico W's flash: the one place that says so.
//!
//! The Pico W carries 2 MiB of QSPI flash (a W25Q16JV), mapped for execution
//! at 0x1000_0000. Offsets below are from the start of the flash, which is
//! what embassy-rp's flash driver takes; add 0x1000_0000 for the XIP address.
//!
//! ```text
//! 0x000000 .. 0x000100    boot2, the second-stage bootloader (256 B)
//! 0x000100 .. 0x080000    this firmware: vector table, code, read-only data
//! 0x080000 .. 0x082000    agent store, sectors 0-1: the root journal
//! 0x082000 .. 0x200000    agent store, sectors 2-383: tree records and file extents
//! ```
//!
//! Firmware: 512 KiB (boot2 included), of which the release build uses a
//! small part; `memory.x` gives the linker the same 512 KiB and nothing
//! beyond, so code can never grow into the store (build.rs checks that the
//! two agree). Store: 1.5 MiB = 384 sectors of 4 KiB, which the agent core
//! lays out itself (journal first, then free space; see
//! `ota_agent::layout`). Nothing else in this firmware writes to flash.
//!
//! This file has no dependencies so that build.rs can include it.

/// Size of the Pico W's flash chip.
pub const FLASH_SIZE: usize = 2 * 1024 * 1024;
/// Erase sector of the flash chip, and the store's unit of allocation.
pub const SECTOR: u32 = 4096;
/// Flash reserved for the firmware, boot2 included (memory.x: BOOT2 + FLASH).
pub const FIRMWARE_SIZE: u32 = 512 * 1024;
/// Byte offset of the agent's store: right after the firmware.
pub const STORE_BASE: u32 = FIRMWARE_SIZE;
/// Sectors of the store: the rest of the chip.
pub const STORE_SECTORS: u32 = (FLASH_SIZE as u32 - STORE_BASE) / SECTOR;

const _: () = {
    assert!(
        FIRMWARE_SIZE.is_multiple_of(SECTOR),
        "the store must start on a sector"
    );
    assert!(STORE_BASE + STORE_SECTORS * SECTOR == FLASH_SIZE as u32);
    assert!(STORE_SECTORS == 384);
};
