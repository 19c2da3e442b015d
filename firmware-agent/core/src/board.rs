//! Where the store lives on a Raspberry Pi Pico W: the one place the flash
//! map is written down (the firmware's memory.x must agree with it).
//!
//! ```text
//! 0x000000 .. 0x000100   boot2 (second-stage bootloader)
//! 0x000100 .. 0x080000   agent firmware (512 KiB less boot2)
//! 0x080000 .. 0x200000   ota store: 384 sectors of 4 KiB
//!                        (2 journal sectors, then trees and file extents)
//! ```
//!
//! The simulated Pico uses the same map in its flash image, so a sim image
//! and a board hold the same bytes at the same offsets.

/// The W25Q16JV on the Pico W: 2 MiB.
pub const FLASH_SIZE: usize = 2 * 1024 * 1024;
/// First byte of the store (sector aligned).
pub const STORE_BASE: u32 = 0x08_0000;
/// Sectors of the store.
pub const STORE_SECTORS: u32 = (FLASH_SIZE as u32 - STORE_BASE) / crate::layout::SECTOR;
/// Firmware region, boot2 included.
pub const FIRMWARE_SIZE: u32 = STORE_BASE;
