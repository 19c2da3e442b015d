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

/// The watchdog scratch register through which an application asks the agent
/// to stay in charge after the next reset (the Pico SDK keeps 4 to 7 for its
/// own reboot magic, so ota takes 1).
pub const STAY_SCRATCH: usize = 1;
/// The value in [`STAY_SCRATCH`] that means "stay in the agent"; anything
/// else lets the agent hand over to the application.
pub const STAY_MAGIC: u32 = 0x4F54_4153; // "OTAS"
/// The watchdog scratch register that counts the agent's starts since the
/// last power-on (a reset keeps it, a power-on clears it): Info's `boot_id`.
pub const BOOTS_SCRATCH: usize = 2;
/// The watchdog scratch register through which the agent tells its next
/// start that the reset ends a host's visit that changed nothing: the
/// hand-over back to the application then spends no trial boot.
pub const VISIT_SCRATCH: usize = 3;
/// The value in [`VISIT_SCRATCH`] that means "a visit, not a failed run".
pub const VISIT_MAGIC: u32 = 0x4F54_4156; // "OTAV"

/// What the first words of the slot must look like for the agent to run it:
/// a stack pointer in the RP2040's SRAM and a Thumb reset vector inside the
/// slot. Erased flash (all ones) and random bytes fail it.
pub fn app_vectors_valid(initial_sp: u32, reset: u32) -> bool {
    const SRAM: core::ops::Range<u32> = 0x2000_0000..0x2004_2001;
    let slot = XIP_BASE + APP_SLOT_BASE..XIP_BASE + APP_SLOT_BASE + APP_SLOT_SIZE;
    SRAM.contains(&initial_sp)
        && initial_sp.is_multiple_of(4)
        && reset & 1 == 1
        && slot.contains(&(reset & !1))
        && reset & !1 >= XIP_BASE + APP_SLOT_BASE + 16 * 4
}

/// What a slot whose first bytes are `first` holds, judged as the agent
/// judges it before it runs it: erased, an application linked for the slot
/// (see [`app_vectors_valid`]), or something else. Fewer than 8 bytes hold
/// no vector table.
pub fn slot_holds(first: &[u8]) -> ota_protocol::AppSlot {
    use ota_protocol::AppSlot;
    let Some(v) = first.get(..8) else {
        return AppSlot::Invalid;
    };
    if v == [0xFF; 8] {
        return AppSlot::Empty;
    }
    let word = |i: usize| u32::from_le_bytes([v[i], v[i + 1], v[i + 2], v[i + 3]]);
    if app_vectors_valid(word(0), word(4)) {
        AppSlot::Valid
    } else {
        AppSlot::Invalid
    }
}

/// The USB serial number of a board, agent and application alike: the flash
/// chip's unique id in lower-case hex, so a host follows the board by it
/// whichever of the two is running.
pub fn serial_number<'a>(uid: &[u8; 8], buf: &'a mut [u8; 16]) -> &'a str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in uid.iter().enumerate() {
        buf[2 * i] = HEX[(b >> 4) as usize];
        buf[2 * i + 1] = HEX[(b & 0xF) as usize];
    }
    // Hex digits are ASCII: this never falls back.
    core::str::from_utf8(buf).unwrap_or("0000000000000000")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_number_is_lowercase_hex_of_the_unique_id() {
        let mut buf = [0u8; 16];
        let uid = [0xE6, 0x61, 0x38, 0x52, 0x83, 0x1F, 0x2A, 0x09];
        assert_eq!(serial_number(&uid, &mut buf), "e6613852831f2a09");
        assert_eq!(serial_number(&[0; 8], &mut buf), "0000000000000000");
    }

    #[test]
    fn app_vectors_are_checked() {
        let slot = XIP_BASE + APP_SLOT_BASE;
        assert!(app_vectors_valid(0x2004_2000, slot + 0xC1));
        assert!(!app_vectors_valid(0xFFFF_FFFF, 0xFFFF_FFFF), "erased flash");
        assert!(!app_vectors_valid(0x2004_2000, slot + 0xC0), "not Thumb");
        assert!(
            !app_vectors_valid(0x2004_2000, 0x1000_01C1),
            "points into the agent"
        );
        assert!(
            !app_vectors_valid(0x1004_0000, slot + 0xC1),
            "stack not in RAM"
        );
        assert!(
            !app_vectors_valid(0x2004_2000, slot + APP_SLOT_SIZE + 1),
            "beyond the slot"
        );
    }

    #[test]
    fn a_slot_is_erased_an_application_or_neither() {
        use ota_protocol::AppSlot;
        let mut first = [0u8; 8];
        first[..4].copy_from_slice(&0x2004_2000u32.to_le_bytes());
        first[4..].copy_from_slice(&(XIP_BASE + APP_SLOT_BASE + 0xC1).to_le_bytes());
        assert_eq!(slot_holds(&first), AppSlot::Valid);
        assert_eq!(slot_holds(&[0xFF; 4096]), AppSlot::Empty);
        assert_eq!(slot_holds(&[0; 8]), AppSlot::Invalid);
        assert_eq!(slot_holds(&first[..7]), AppSlot::Invalid, "too short");
    }
}
