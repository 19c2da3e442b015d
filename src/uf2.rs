//! ELF to UF2, for `ota agent uf2`: the file to drag onto a Pico in BOOTSEL
//! mode (it appears as a USB drive, RPI-RP2) to install the agent firmware,
//! and with it, for a first install, an application for the slot.
//!
//! UF2 is a run of 512-byte blocks, each carrying 256 bytes for one flash
//! address, tagged with the RP2040 family id so the boot ROM accepts it.
//! Only flash addresses are accepted: a segment meant for RAM or beyond the
//! Pico W's 2 MiB would be silently dropped or misplaced by the boot ROM, so
//! it is an error here instead.

use std::collections::BTreeMap;
use std::ops::Range;

use thiserror::Error;

use ota_agent::board::{AGENT_SIZE, APP_SLOT_BASE, APP_SLOT_SIZE, XIP_BASE};

use crate::elf::{self, ElfError};

/// First magic word of every block ("UF2\n").
pub const MAGIC_START0: u32 = 0x0A32_4655;
pub const MAGIC_START1: u32 = 0x9E5D_5157;
pub const MAGIC_END: u32 = 0x0AB1_6F30;
/// Block flag: the family id field is present.
pub const FLAG_FAMILY_ID: u32 = 0x0000_2000;
/// The RP2040's family id.
pub const RP2040_FAMILY_ID: u32 = 0xE48B_FF56;
pub const BLOCK: usize = 512;
/// Payload bytes per block, the flash page size the RP2040 boot ROM expects.
pub const PAYLOAD: usize = 256;
/// The agent's region of the Pico W's flash as the RP2040 maps it (XIP):
/// an agent UF2 must never reach into the slot or the store that follow it.
pub const FLASH: Range<u32> = XIP_BASE..XIP_BASE + AGENT_SIZE;
/// The application slot, as the RP2040 maps it.
pub const SLOT: Range<u32> = XIP_BASE + APP_SLOT_BASE..XIP_BASE + APP_SLOT_BASE + APP_SLOT_SIZE;

#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Uf2Error {
    #[error(transparent)]
    Elf(#[from] ElfError),
    #[error("the ELF has no loadable bytes; is it the firmware's ELF?")]
    Empty,
    #[error(
        "a segment loads at {start:#010x}..{end:#010x}, outside the firmware region of the Pico W's flash \
         ({:#010x}..{:#010x}); build the firmware to run from flash, below the ota store",
        FLASH.start, FLASH.end
    )]
    OutsideFlash { start: u32, end: u64 },
    #[error("two segments both load bytes at {addr:#010x}; the ELF is not a firmware image")]
    Overlap { addr: u32 },
    #[error(
        "the application loads at {start:#010x}..{end:#010x}, outside the application slot \
         ({:#010x}..{:#010x}, {} KiB); link it with the slot's memory.x (FLASH : ORIGIN = {:#010x}, LENGTH = {}K)",
        SLOT.start, SLOT.end, APP_SLOT_SIZE / 1024, SLOT.start, APP_SLOT_SIZE / 1024
    )]
    AppOutsideSlot { start: u32, end: u64 },
    #[error(
        "the application is {} KiB, more than the application slot's {} KiB; make it smaller \
         (opt-level = \"s\" or \"z\", lto = true, fewer features)",
        size.div_ceil(1024), APP_SLOT_SIZE / 1024
    )]
    AppTooBig { size: u64 },
    #[error(
        "the application does not start with a vector table at {:#010x} (a stack pointer in RAM, \
         then a reset vector in the slot); the agent would never run it",
        SLOT.start
    )]
    NoVectorTable,
}

/// True when `bytes` start with a UF2 block (both start magics).
pub fn is_uf2(bytes: &[u8]) -> bool {
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
    };
    word(0) == Some(MAGIC_START0) && word(4) == Some(MAGIC_START1)
}

/// Converts a firmware ELF into UF2 blocks for the RP2040 boot ROM.
pub fn elf_to_uf2(elf: &[u8]) -> Result<Vec<u8>, Uf2Error> {
    firmware_uf2(elf, None)
}

/// One UF2 holding the agent and, when given, an application for the slot:
/// what a first install copies onto a Pico in BOOTSEL mode.
///
/// Every PT_LOAD segment with bytes goes in at its load (physical) address.
/// Pages are 256-byte aligned; bytes of a page that no segment covers are 0.
/// The agent must load inside its region, the application inside the slot,
/// starting with a vector table the agent will accept.
pub fn firmware_uf2(agent: &[u8], app: Option<&[u8]>) -> Result<Vec<u8>, Uf2Error> {
    let mut pages = Pages::default();
    pages.add(agent, &FLASH, |start, end| Uf2Error::OutsideFlash {
        start,
        end,
    })?;
    if let Some(app) = app {
        let before = pages.pages.len();
        pages.add(app, &SLOT, |start, end| {
            if SLOT.contains(&start) {
                Uf2Error::AppTooBig {
                    size: end - u64::from(SLOT.start),
                }
            } else {
                Uf2Error::AppOutsideSlot { start, end }
            }
        })?;
        if pages.pages.len() == before {
            return Err(Uf2Error::Empty);
        }
        let first = pages
            .pages
            .get(&SLOT.start)
            .ok_or(Uf2Error::NoVectorTable)?;
        if ota_agent::board::slot_holds(first) != ota_protocol::AppSlot::Valid {
            return Err(Uf2Error::NoVectorTable);
        }
    }
    pages.blocks()
}

/// Flash pages by XIP address, and the ranges the segments cover.
#[derive(Default)]
struct Pages {
    pages: BTreeMap<u32, [u8; PAYLOAD]>,
    covered: BTreeMap<u32, u32>, // start -> end
}

impl Pages {
    fn add(
        &mut self,
        elf: &[u8],
        region: &Range<u32>,
        outside: impl Fn(u32, u64) -> Uf2Error,
    ) -> Result<(), Uf2Error> {
        for seg in elf::load_segments(elf)? {
            let start = seg.paddr;
            let end = u64::from(start) + seg.data.len() as u64;
            if start < region.start || end > u64::from(region.end) {
                return Err(outside(start, end));
            }
            let end = end as u32;
            // The nearest range that starts at or before `end - 1` must end before `start`.
            if let Some((&s, &e)) = self.covered.range(..end).next_back() {
                if e > start {
                    return Err(Uf2Error::Overlap { addr: s.max(start) });
                }
            }
            self.covered.insert(start, end);
            for (i, byte) in seg.data.iter().enumerate() {
                let addr = start + i as u32;
                let page = self
                    .pages
                    .entry(addr & !(PAYLOAD as u32 - 1))
                    .or_insert([0; PAYLOAD]);
                page[addr as usize % PAYLOAD] = *byte;
            }
        }
        Ok(())
    }

    fn blocks(self) -> Result<Vec<u8>, Uf2Error> {
        let pages = self.pages;
        if pages.is_empty() {
            return Err(Uf2Error::Empty);
        }
        let total = pages.len() as u32;
        let mut out = Vec::with_capacity(pages.len() * BLOCK);
        for (n, (addr, payload)) in pages.iter().enumerate() {
            let mut block = [0u8; BLOCK];
            let words = [
                MAGIC_START0,
                MAGIC_START1,
                FLAG_FAMILY_ID,
                *addr,
                PAYLOAD as u32,
                n as u32,
                total,
                RP2040_FAMILY_ID,
            ];
            for (i, w) in words.iter().enumerate() {
                block[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
            }
            block[32..32 + PAYLOAD].copy_from_slice(payload);
            block[BLOCK - 4..].copy_from_slice(&MAGIC_END.to_le_bytes());
            out.extend_from_slice(&block);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::tests::{build, Seg};

    fn word(block: &[u8], i: usize) -> u32 {
        u32::from_le_bytes(block[i * 4..i * 4 + 4].try_into().unwrap())
    }

    #[test]
    fn blocks_cover_every_page_in_address_order() {
        let boot2 = [0xB2u8; 256];
        let code: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        let data = [0xDAu8; 20];
        // Out of address order on purpose; the data segment loads from flash
        // right after the code and runs from RAM.
        let elf = build(
            &[
                Seg {
                    paddr: 0x1000_0100,
                    vaddr: 0x1000_0100,
                    bytes: &code,
                    memsz: 300,
                },
                Seg {
                    paddr: 0x1000_0000,
                    vaddr: 0x1000_0000,
                    bytes: &boot2,
                    memsz: 256,
                },
                Seg {
                    paddr: 0x1000_022c,
                    vaddr: 0x2000_0000,
                    bytes: &data,
                    memsz: 20,
                },
                Seg {
                    paddr: 0x2000_0100,
                    vaddr: 0x2000_0100,
                    bytes: &[],
                    memsz: 4096,
                },
            ],
            &[],
        );
        let uf2 = elf_to_uf2(&elf).unwrap();
        assert_eq!(uf2.len(), 3 * BLOCK, "pages 0x000, 0x100, 0x200");
        let blocks: Vec<&[u8]> = uf2.chunks(BLOCK).collect();
        for (n, b) in blocks.iter().enumerate() {
            assert_eq!(word(b, 0), MAGIC_START0);
            assert_eq!(word(b, 1), MAGIC_START1);
            assert_eq!(word(b, 2), FLAG_FAMILY_ID);
            assert_eq!(word(b, 3), 0x1000_0000 + 0x100 * n as u32);
            assert_eq!(word(b, 4), PAYLOAD as u32);
            assert_eq!(word(b, 5), n as u32, "block number");
            assert_eq!(word(b, 6), 3, "total blocks");
            assert_eq!(word(b, 7), RP2040_FAMILY_ID);
            assert_eq!(word(b, 127), MAGIC_END);
            assert!(b[32 + PAYLOAD..BLOCK - 4].iter().all(|&x| x == 0));
        }
        assert_eq!(&blocks[0][32..32 + 256], &boot2[..]);
        assert_eq!(&blocks[1][32..32 + 256], &code[..256]);
        // Last page: the code's tail, then the data at 0x22c, then zeros.
        let last = &blocks[2][32..32 + 256];
        assert_eq!(&last[..44], &code[256..]);
        assert_eq!(&last[0x2c..0x2c + 20], &data[..]);
        assert!(last[0x2c + 20..].iter().all(|&x| x == 0));
    }

    #[test]
    fn addresses_outside_flash_are_rejected() {
        let bytes = [1u8; 16];
        for (paddr, what) in [
            (0x2000_0000, "RAM"),
            (0x0000_0100, "ROM"),
            (0x101F_FFF8, "straddling the end of the 2 MiB"),
            (0x1020_0000, "past the Pico W's flash"),
            (0xFFFF_FFF8, "wrapping the address space"),
        ] {
            let elf = build(
                &[Seg {
                    paddr,
                    vaddr: paddr,
                    bytes: &bytes,
                    memsz: 16,
                }],
                &[],
            );
            assert!(
                matches!(elf_to_uf2(&elf), Err(Uf2Error::OutsideFlash { .. })),
                "{what}: {paddr:#x}"
            );
        }
    }

    #[test]
    fn overlapping_segments_and_empty_files_are_rejected() {
        let bytes = [1u8; 64];
        let seg = |paddr| Seg {
            paddr,
            vaddr: paddr,
            bytes: &bytes,
            memsz: 64,
        };
        let elf = build(&[seg(0x1000_0000), seg(0x1000_0020)], &[]);
        assert_eq!(
            elf_to_uf2(&elf),
            Err(Uf2Error::Overlap { addr: 0x1000_0020 })
        );
        // Touching is fine.
        let elf = build(&[seg(0x1000_0040), seg(0x1000_0000)], &[]);
        assert_eq!(elf_to_uf2(&elf).unwrap().len(), BLOCK);
        assert_eq!(elf_to_uf2(&build(&[], &[])), Err(Uf2Error::Empty));
        assert!(matches!(
            elf_to_uf2(b"not an elf"),
            Err(Uf2Error::Elf(ElfError::NotElf))
        ));
    }

    fn app_elf(paddr: u32, bytes: &[u8]) -> Vec<u8> {
        build(
            &[Seg {
                paddr,
                vaddr: paddr,
                bytes,
                memsz: bytes.len() as u32,
            }],
            &[],
        )
    }

    fn vectors(len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        v[..4].copy_from_slice(&0x2004_2000u32.to_le_bytes());
        v[4..8].copy_from_slice(&(SLOT.start + 0xC1).to_le_bytes());
        v
    }

    #[test]
    fn an_application_goes_into_the_slot_beside_the_agent() {
        let agent = app_elf(0x1000_0000, &[0xB2; 256]);
        let app = app_elf(SLOT.start, &vectors(300));
        let uf2 = firmware_uf2(&agent, Some(&app)).unwrap();
        let addrs: Vec<u32> = uf2.chunks(BLOCK).map(|b| word(b, 3)).collect();
        assert_eq!(addrs, [0x1000_0000, SLOT.start, SLOT.start + 0x100]);
        assert!(uf2.chunks(BLOCK).all(|b| word(b, 6) == 3));
    }

    #[test]
    fn an_application_outside_the_slot_too_big_or_without_vectors_is_refused() {
        let agent = app_elf(0x1000_0000, &[0xB2; 256]);
        // Linked for the agent's region, as a plain Pico program is.
        let at_agent = app_elf(0x1000_0100, &vectors(64));
        let e = firmware_uf2(&agent, Some(&at_agent)).unwrap_err();
        assert!(matches!(e, Uf2Error::AppOutsideSlot { .. }), "{e}");
        assert!(e.to_string().contains("ORIGIN = 0x10040000"), "{e}");
        // One byte bigger than the slot.
        let big = app_elf(SLOT.start, &vectors(APP_SLOT_SIZE as usize + 1));
        let e = firmware_uf2(&agent, Some(&big)).unwrap_err();
        assert_eq!(
            e,
            Uf2Error::AppTooBig {
                size: u64::from(APP_SLOT_SIZE) + 1
            }
        );
        // In the slot, but no stack pointer and reset vector first.
        let garbage = app_elf(SLOT.start, &[0x5A; 64]);
        let e = firmware_uf2(&agent, Some(&garbage)).unwrap_err();
        assert_eq!(e, Uf2Error::NoVectorTable);
        // Starting past the slot's first byte: no vector table where the agent looks.
        let late = app_elf(SLOT.start + 0x100, &vectors(64));
        assert_eq!(
            firmware_uf2(&agent, Some(&late)).unwrap_err(),
            Uf2Error::NoVectorTable
        );
    }
}
