//! Where everything sits in the Pico W's flash: the agent firmware's copy of
//! the map in `ota_agent::board` (held equal to it in main.rs).
//!
//! The Pico W carries 2 MiB of QSPI flash (a W25Q16JV), mapped for execution
//! at 0x1000_0000. Offsets below are from the start of the flash, which is
//! what embassy-rp's flash driver takes; add 0x1000_0000 for the XIP address.
//!
//! ```text
//! 0x000000 .. 0x000100    boot2, the second-stage bootloader (256 B)
//! 0x000100 .. 0x040000    the agent: vector table, code, read-only data
//! 0x040000 .. 0x0C0000    the application slot: the user's image, linked there
//! 0x0C0000 .. 0x0C2000    agent store, sectors 0-1: the root journal
//! 0x0C2000 .. 0x200000    agent store, sectors 2-319: tree records and file extents
//! ```
//!
//! Agent: 256 KiB (boot2 included); `memory.x` gives the linker the same
//! 256 KiB and nothing beyond, so the agent can never grow into the slot
//! (build.rs checks that the two agree). The slot holds one application
//! image, vector table first. Store: 1.25 MiB = 320 sectors of 4 KiB, which
//! the agent core lays out itself (see `ota_agent::layout`).
//!
//! This file has no dependencies so that build.rs can include it.

/// Size of the Pico W's flash chip.
pub const FLASH_SIZE: usize = 2 * 1024 * 1024;
/// Erase sector of the flash chip, and the store's unit of allocation.
pub const SECTOR: u32 = 4096;
/// Flash reserved for the agent, boot2 included (memory.x: BOOT2 + FLASH).
pub const AGENT_SIZE: u32 = 256 * 1024;
/// Byte offset of the application slot: right after the agent.
pub const APP_SLOT_BASE: u32 = AGENT_SIZE;
/// Bytes of the application slot.
pub const APP_SLOT_SIZE: u32 = 512 * 1024;
/// Byte offset of the agent's store: right after the slot.
pub const STORE_BASE: u32 = APP_SLOT_BASE + APP_SLOT_SIZE;
/// Sectors of the store: the rest of the chip.
pub const STORE_SECTORS: u32 = (FLASH_SIZE as u32 - STORE_BASE) / SECTOR;

const _: () = {
    assert!(
        AGENT_SIZE.is_multiple_of(SECTOR) && APP_SLOT_SIZE.is_multiple_of(SECTOR),
        "the slot and the store must start on a sector"
    );
    assert!(STORE_BASE + STORE_SECTORS * SECTOR == FLASH_SIZE as u32);
    assert!(STORE_SECTORS == 320);
};
