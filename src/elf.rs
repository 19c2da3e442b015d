//! The flash image and sizes of a 32-bit little-endian ARM ELF (the agent
//! firmware, an application): the bytes to put in flash (`ota agent uf2`,
//! the slot image) and the flash and RAM used (text, data, bss, as `size`
//! reports them).
//!
//! Parsing is the `object` crate's: it bounds every offset against the file,
//! so a truncated or hostile file is an error, not a panic. This module only
//! chooses what to read and says what is wrong in the user's terms.

use object::elf::{FileHeader32, ProgramHeader32, SectionHeader32, EM_ARM, PT_LOAD};
use object::elf::{SHF_ALLOC, SHF_WRITE, SHT_NOBITS};
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
use object::LittleEndian as LE;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ElfError {
    #[error("not an ELF file (no \\x7fELF magic); pass the firmware's ELF, e.g. target/thumbv6m-none-eabi/release/ota-agent-pico")]
    NotElf,
    #[error("not a 32-bit little-endian ELF (class {class}, data {data}); the Pico's firmware is ELF32 LE (thumbv6m-none-eabi)")]
    Unsupported { class: u8, data: u8 },
    #[error(
        "not an ARM ELF (machine {machine}); build it for the Pico's target, thumbv6m-none-eabi"
    )]
    NotArm { machine: u16 },
    #[error("ELF truncated or corrupt: {what} ({detail})")]
    Corrupt { what: &'static str, detail: String },
}

/// One PT_LOAD segment with bytes in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Load (physical) address: where the bytes sit in flash.
    pub paddr: u32,
    /// Run (virtual) address: differs from `paddr` for data copied to RAM.
    pub vaddr: u32,
    /// The segment's bytes as stored in the file (`p_filesz` of them).
    pub data: &'a [u8],
}

/// Bytes of allocated sections, counted as `size` (Berkeley format) does.
///
/// Flash used = `text + data`; static RAM used = `data + bss`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sizes {
    /// Read-only or executable sections stored in flash: vector table,
    /// boot2, code, read-only data.
    pub text: u64,
    /// Sections with initial bytes that run from RAM: stored in flash, copied
    /// to RAM at start-up.
    pub data: u64,
    /// Writable sections without bytes in the file: zeroed RAM.
    pub bss: u64,
}

/// The PT_LOAD segments that carry bytes, in file order (empty ones, like
/// `.bss`, are skipped).
pub fn load_segments(elf: &[u8]) -> Result<Vec<Segment<'_>>, ElfError> {
    let (h, e) = header(elf)?;
    let mut out = Vec::new();
    for ph in program_headers(h, elf)? {
        if ph.p_type(e) != PT_LOAD || ph.p_filesz(e) == 0 {
            continue;
        }
        let data = ph.data(e, elf).map_err(|()| ElfError::Corrupt {
            what: "a segment's bytes lie outside the file",
            detail: format!(
                "offset {:#x}, {} bytes, file of {} bytes",
                ph.p_offset(e),
                ph.p_filesz(e),
                elf.len()
            ),
        })?;
        out.push(Segment {
            paddr: ph.p_paddr(e),
            vaddr: ph.p_vaddr(e),
            data,
        });
    }
    Ok(out)
}

/// Text, data and bss of the allocated sections.
///
/// Like `size`, with one difference: a section that the startup code copies
/// from flash to RAM (it lies in a segment whose run address differs from its
/// load address) counts as data whatever its flags. embassy-rp puts its RAM
/// functions in `.data`, which makes `.data` executable and not writable, and
/// `size` then counts it as text, hiding the RAM it takes.
pub fn section_sizes(elf: &[u8]) -> Result<Sizes, ElfError> {
    let (h, e) = header(elf)?;
    // RAM ranges loaded from elsewhere.
    let copied: Vec<(u64, u64)> = program_headers(h, elf)?
        .iter()
        .filter(|ph| ph.p_type(e) == PT_LOAD && ph.p_vaddr(e) != ph.p_paddr(e))
        .filter(|ph| ph.p_filesz(e) > 0)
        .map(|ph| {
            let start = u64::from(ph.p_vaddr(e));
            (start, start + u64::from(ph.p_memsz(e)))
        })
        .collect();
    let sections: &[SectionHeader32<LE>] =
        h.section_headers(e, elf).map_err(|err| ElfError::Corrupt {
            what: "the section headers",
            detail: err.to_string(),
        })?;
    let mut sizes = Sizes::default();
    for sh in sections {
        let (flags, addr, size) = (sh.sh_flags(e), u64::from(sh.sh_addr(e)), sh.sh_size(e));
        if !flags.contains(SHF_ALLOC) || size == 0 {
            continue;
        }
        let size = u64::from(size);
        let to_ram = copied.iter().any(|&(s, end)| s <= addr && addr < end);
        if sh.sh_type(e) == SHT_NOBITS {
            sizes.bss += size;
        } else if flags.contains(SHF_WRITE) || to_ram {
            sizes.data += size;
        } else {
            sizes.text += size;
        }
    }
    Ok(sizes)
}

/// The file header, once it is known to be an ELF32 LE for ARM.
fn header(elf: &[u8]) -> Result<(&FileHeader32<LE>, LE), ElfError> {
    if !elf.starts_with(b"\x7fELF") {
        return Err(ElfError::NotElf);
    }
    if let [_, _, _, _, class, data, ..] = *elf {
        if class != object::elf::ELFCLASS32.0 || data != object::elf::ELFDATA2LSB.0 {
            return Err(ElfError::Unsupported { class, data });
        }
    }
    let h = FileHeader32::<LE>::parse(elf).map_err(|err| ElfError::Corrupt {
        what: "the file header",
        detail: err.to_string(),
    })?;
    let machine = h.e_machine(LE);
    if machine != EM_ARM {
        return Err(ElfError::NotArm { machine: machine.0 });
    }
    Ok((h, LE))
}

fn program_headers<'a>(
    h: &FileHeader32<LE>,
    elf: &'a [u8],
) -> Result<&'a [ProgramHeader32<LE>], ElfError> {
    h.program_headers(LE, elf).map_err(|err| ElfError::Corrupt {
        what: "the program headers",
        detail: err.to_string(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use object::elf::{SectionFlags, SectionType, SHF_EXECINSTR, SHT_PROGBITS};

    const EHDR_LEN: usize = 52;
    const PHDR_LEN: usize = 32;
    const SHDR_LEN: usize = 40;

    /// A section of a synthetic ELF: name, type, flags, address, bytes
    /// (for NOBITS, only the length counts).
    pub(crate) struct Sec<'a> {
        pub name: &'a str,
        pub kind: SectionType,
        pub flags: SectionFlags,
        pub addr: u32,
        pub bytes: &'a [u8],
    }

    /// A PT_LOAD segment of a synthetic ELF: physical and virtual address,
    /// bytes in the file, size in memory.
    pub(crate) struct Seg<'a> {
        pub paddr: u32,
        pub vaddr: u32,
        pub bytes: &'a [u8],
        pub memsz: u32,
    }

    /// Builds a minimal ELF32 LE file: header, program headers, section
    /// bytes and segment bytes, then the section headers and their names.
    pub(crate) fn build(segs: &[Seg<'_>], secs: &[Sec<'_>]) -> Vec<u8> {
        let mut out = vec![0u8; EHDR_LEN];
        let phoff = out.len();
        out.resize(phoff + segs.len() * PHDR_LEN, 0);
        let mut seg_at = Vec::new();
        for s in segs {
            seg_at.push(out.len() as u32);
            out.extend_from_slice(s.bytes);
        }
        for (i, s) in segs.iter().enumerate() {
            let ph = phoff + i * PHDR_LEN;
            put32(&mut out, ph, PT_LOAD.0);
            put32(&mut out, ph + 4, seg_at[i]);
            put32(&mut out, ph + 8, s.vaddr);
            put32(&mut out, ph + 12, s.paddr);
            put32(&mut out, ph + 16, s.bytes.len() as u32);
            put32(&mut out, ph + 20, s.memsz);
            put32(&mut out, ph + 24, 5);
            put32(&mut out, ph + 28, 4);
        }
        // Section names: index 0 is the null section, the last is .shstrtab.
        let mut names = vec![0u8];
        let mut name_at = Vec::new();
        for s in secs {
            name_at.push(names.len() as u32);
            names.extend_from_slice(s.name.as_bytes());
            names.push(0);
        }
        let shstr_name = names.len() as u32;
        names.extend_from_slice(b".shstrtab\0");
        let mut sec_at = Vec::new();
        for s in secs {
            sec_at.push(out.len() as u32);
            if s.kind != SHT_NOBITS {
                out.extend_from_slice(s.bytes);
            }
        }
        let names_at = out.len() as u32;
        out.extend_from_slice(&names);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        let shoff = out.len();
        let shnum = secs.len() + 2;
        out.resize(shoff + shnum * SHDR_LEN, 0);
        for (i, s) in secs.iter().enumerate() {
            let sh = shoff + (i + 1) * SHDR_LEN;
            put32(&mut out, sh, name_at[i]);
            put32(&mut out, sh + 4, s.kind.0);
            put32(&mut out, sh + 8, s.flags.0 as u32);
            put32(&mut out, sh + 12, s.addr);
            put32(&mut out, sh + 16, sec_at[i]);
            put32(&mut out, sh + 20, s.bytes.len() as u32);
        }
        let sh = shoff + (shnum - 1) * SHDR_LEN;
        put32(&mut out, sh, shstr_name);
        put32(&mut out, sh + 4, 3); // SHT_STRTAB
        put32(&mut out, sh + 16, names_at);
        put32(&mut out, sh + 20, names.len() as u32);

        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 1; // ELFCLASS32
        out[5] = 1; // ELFDATA2LSB
        out[6] = 1; // EV_CURRENT
        put16(&mut out, 16, 2); // ET_EXEC
        put16(&mut out, 18, 40); // EM_ARM
        put32(&mut out, 20, 1);
        put32(&mut out, 24, 0x1000_0101); // entry
        put32(&mut out, 28, phoff as u32);
        put32(&mut out, 32, shoff as u32);
        put16(&mut out, 40, EHDR_LEN as u16);
        put16(&mut out, 42, PHDR_LEN as u16);
        put16(&mut out, 44, segs.len() as u16);
        put16(&mut out, 46, SHDR_LEN as u16);
        put16(&mut out, 48, shnum as u16);
        put16(&mut out, 50, (shnum - 1) as u16);
        out
    }

    fn put16(b: &mut [u8], at: usize, v: u16) {
        b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }

    fn put32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// A firmware-like file: boot2 and code in flash, `.data` loaded from
    /// flash into RAM (flagged executable and not writable, as embassy-rp's
    /// RAM functions leave it), `.bss`, a writable section outside any
    /// segment, and a debug section.
    fn firmware_like() -> Vec<u8> {
        let boot2 = [0xB2u8; 256];
        let text = [0x7Eu8; 300];
        let data = [0xDAu8; 20];
        let bss = [0u8; 64];
        build(
            &[
                Seg {
                    paddr: 0x1000_0000,
                    vaddr: 0x1000_0000,
                    bytes: &boot2,
                    memsz: 256,
                },
                Seg {
                    paddr: 0x1000_0100,
                    vaddr: 0x1000_0100,
                    bytes: &text,
                    memsz: 300,
                },
                Seg {
                    paddr: 0x1000_022c,
                    vaddr: 0x2000_0000,
                    bytes: &data,
                    memsz: 20,
                },
                Seg {
                    paddr: 0x2000_0014,
                    vaddr: 0x2000_0014,
                    bytes: &[],
                    memsz: 64,
                },
            ],
            &[
                Sec {
                    name: ".boot2",
                    kind: SHT_PROGBITS,
                    flags: SHF_ALLOC,
                    addr: 0x1000_0000,
                    bytes: &boot2,
                },
                Sec {
                    name: ".text",
                    kind: SHT_PROGBITS,
                    flags: SHF_ALLOC | SHF_EXECINSTR,
                    addr: 0x1000_0100,
                    bytes: &text,
                },
                Sec {
                    name: ".data",
                    kind: SHT_PROGBITS,
                    flags: SHF_ALLOC | SHF_EXECINSTR,
                    addr: 0x2000_0000,
                    bytes: &data,
                },
                Sec {
                    name: ".bss",
                    kind: SHT_NOBITS,
                    flags: SHF_ALLOC | SHF_WRITE,
                    addr: 0x2000_0014,
                    bytes: &bss,
                },
                Sec {
                    name: ".ram_vars",
                    kind: SHT_PROGBITS,
                    flags: SHF_ALLOC | SHF_WRITE,
                    addr: 0x2000_0054,
                    bytes: &[5; 8],
                },
                Sec {
                    name: ".debug_info",
                    kind: SHT_PROGBITS,
                    flags: SectionFlags(0),
                    addr: 0,
                    bytes: &[1, 2, 3, 4],
                },
            ],
        )
    }

    #[test]
    fn load_segments_gives_file_bytes_at_load_addresses_and_skips_empty_ones() {
        let elf = firmware_like();
        let segs = load_segments(&elf).unwrap();
        assert_eq!(segs.len(), 3, "the bss segment has no file bytes");
        assert_eq!(segs[0].paddr, 0x1000_0000);
        assert_eq!(segs[0].data, &[0xB2; 256][..]);
        assert_eq!(segs[1].paddr, 0x1000_0100);
        assert_eq!(segs[1].data.len(), 300);
        assert_eq!((segs[2].paddr, segs[2].vaddr), (0x1000_022c, 0x2000_0000));
        assert_eq!(segs[2].data, &[0xDA; 20][..]);
    }

    #[test]
    fn section_sizes_count_what_is_copied_to_ram_as_data() {
        let sizes = section_sizes(&firmware_like()).unwrap();
        assert_eq!(
            sizes,
            Sizes {
                text: 256 + 300,
                data: 20 + 8,
                bss: 64
            }
        );
    }

    #[test]
    fn garbage_and_truncated_files_are_errors_not_panics() {
        assert_eq!(load_segments(b"hello"), Err(ElfError::NotElf));
        assert_eq!(section_sizes(b""), Err(ElfError::NotElf));
        let elf = firmware_like();
        for cut in [10, EHDR_LEN, EHDR_LEN + 40, elf.len() - 1] {
            assert!(
                matches!(load_segments(&elf[..cut]), Err(ElfError::Corrupt { .. }))
                    || matches!(section_sizes(&elf[..cut]), Err(ElfError::Corrupt { .. })),
                "cut at {cut}"
            );
        }
        let mut elf64 = elf.clone();
        elf64[4] = 2;
        assert_eq!(
            load_segments(&elf64),
            Err(ElfError::Unsupported { class: 2, data: 1 })
        );
        let mut riscv = elf.clone();
        put16(&mut riscv, 18, 243); // EM_RISCV
        assert_eq!(
            load_segments(&riscv),
            Err(ElfError::NotArm { machine: 243 })
        );
        let mut huge = elf;
        put32(&mut huge, 28, u32::MAX - 8); // phoff far past the end
        assert!(matches!(
            load_segments(&huge),
            Err(ElfError::Corrupt { .. })
        ));
    }
}
