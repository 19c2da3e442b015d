//! Where everything lives on a Raspberry Pi Pico W: the one place the flash
//! map is written down (the agent firmware's layout.rs and memory.x, the
//! application crate and `ota`'s UF2 writer are held equal to it).
//!
//! ```text
//! 0x000000 .. 0x000100   boot2 (second-stage bootloader)
//! 0x000100 .. 0x040000   the resident agent (256 KiB with boot2)
//! 0x040000 .. 0x0C0000   the application slot (512 KiB): the user's image
//! 0x0C0000 .. 0x200000   ota store: 320 sectors of 4 KiB
//!                        (2 journal sectors, then trees and file extents)
//! ```
//!
//! The simulated Pico uses the same map in its flash image, so a sim image
//! and a board hold the same bytes at the same offsets.

/// The W25Q16JV on the Pico W: 2 MiB.
pub const FLASH_SIZE: usize = 2 * 1024 * 1024;
/// Where the flash is mapped for execute-in-place reads.
pub const XIP_BASE: u32 = 0x1000_0000;
/// The agent's region, boot2 included: it starts the flash.
pub const AGENT_SIZE: u32 = 256 * 1024;
/// First byte of the application slot (sector aligned).
pub const APP_SLOT_BASE: u32 = AGENT_SIZE;
/// Bytes of the application slot.
pub const APP_SLOT_SIZE: u32 = 512 * 1024;
/// First byte of the store (sector aligned).
pub const STORE_BASE: u32 = APP_SLOT_BASE + APP_SLOT_SIZE;
/// Sectors of the store.
pub const STORE_SECTORS: u32 = (FLASH_SIZE as u32 - STORE_BASE) / crate::layout::SECTOR;

const _: () = {
    assert!(APP_SLOT_BASE.is_multiple_of(crate::layout::SECTOR));
    assert!(STORE_BASE.is_multiple_of(crate::layout::SECTOR));
    assert!(STORE_SECTORS == 320);
};
