//! A small reader for 32-bit little-endian ELF files, enough for the agent
//! firmware: the bytes to put in flash (for `ota agent uf2`) and the flash
//! and RAM the firmware uses (text, data, bss, as `size` reports them).
//!
//! It only reads: it never loads, relocates or runs anything, and it checks
//! every offset against the file so that a truncated or hostile file gives an
//! error, not a panic.

use thiserror::Error;

const PT_LOAD: u32 = 1;
const SHT_NOBITS: u32 = 8;
const SHF_WRITE: u32 = 0x1;
const SHF_ALLOC: u32 = 0x2;

const EHDR_LEN: usize = 52;
const PHDR_LEN: usize = 32;
const SHDR_LEN: usize = 40;

#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ElfError {
    #[error("not an ELF file (no \\x7fELF magic); pass the firmware's ELF, e.g. target/thumbv6m-none-eabi/release/ota-agent-pico")]
    NotElf,
    #[error("not a 32-bit little-endian ELF (class {class}, data {data}); the Pico's firmware is ELF32 LE (thumbv6m-none-eabi)")]
    Unsupported { class: u8, data: u8 },
    #[error("ELF truncated or corrupt: the {what} lie outside the file's {len} bytes")]
    Truncated { what: &'static str, len: usize },
    #[error("ELF {what} entries are {got} bytes, expected {expected}")]
    EntrySize {
        what: &'static str,
        got: u16,
        expected: usize,
    },
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
    let h = Header::parse(elf)?;
    let mut out = Vec::new();
    for i in 0..h.phnum {
        let ph = table_entry(elf, h.phoff, i, PHDR_LEN, "program headers")?;
        if u32_at(ph, 0) != PT_LOAD {
            continue;
        }
        let (offset, filesz) = (u32_at(ph, 4), u32_at(ph, 16));
        if filesz == 0 {
            continue;
        }
        let data = slice(elf, offset, filesz, "segment bytes")?;
        out.push(Segment {
            vaddr: u32_at(ph, 8),
            paddr: u32_at(ph, 12),
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
    let h = Header::parse(elf)?;
    let mut copied: Vec<(u64, u64)> = Vec::new(); // RAM ranges loaded from elsewhere
    for i in 0..h.phnum {
        let ph = table_entry(elf, h.phoff, i, PHDR_LEN, "program headers")?;
        let (vaddr, paddr, memsz) = (u32_at(ph, 8), u32_at(ph, 12), u32_at(ph, 20));
        if u32_at(ph, 0) == PT_LOAD && vaddr != paddr && u32_at(ph, 16) > 0 {
            copied.push((u64::from(vaddr), u64::from(vaddr) + u64::from(memsz)));
        }
    }
    let mut sizes = Sizes::default();
    for i in 0..h.shnum {
        let sh = table_entry(elf, h.shoff, i, SHDR_LEN, "section headers")?;
        let (kind, flags) = (u32_at(sh, 4), u32_at(sh, 8));
        let (addr, size) = (u64::from(u32_at(sh, 12)), u64::from(u32_at(sh, 20)));
        if flags & SHF_ALLOC == 0 || size == 0 {
            continue;
        }
        let to_ram = copied.iter().any(|&(s, e)| s <= addr && addr < e);
        if kind == SHT_NOBITS {
            sizes.bss += size;
        } else if flags & SHF_WRITE != 0 || to_ram {
            sizes.data += size;
        } else {
            sizes.text += size;
        }
    }
    Ok(sizes)
}

struct Header {
    phoff: u32,
    phnum: u16,
    shoff: u32,
    shnum: u16,
}

impl Header {
    fn parse(elf: &[u8]) -> Result<Header, ElfError> {
        if elf.len() < 4 || &elf[..4] != b"\x7fELF" {
            return Err(ElfError::NotElf);
        }
        if elf.len() < EHDR_LEN {
            return Err(ElfError::Truncated {
                what: "file header",
                len: elf.len(),
            });
        }
        let (class, data) = (elf[4], elf[5]);
        if class != 1 || data != 1 {
            return Err(ElfError::Unsupported { class, data });
        }
        let h = Header {
            phoff: u32_at(elf, 28),
            phnum: u16_at(elf, 44),
            shoff: u32_at(elf, 32),
            shnum: u16_at(elf, 48),
        };
        for (what, size, want, count) in [
            ("program header", u16_at(elf, 42), PHDR_LEN, h.phnum),
            ("section header", u16_at(elf, 46), SHDR_LEN, h.shnum),
        ] {
            if count > 0 && usize::from(size) != want {
                return Err(ElfError::EntrySize {
                    what,
                    got: size,
                    expected: want,
                });
            }
        }
        Ok(h)
    }
}

/// Entry `i` of a table of `len`-byte entries at `offset`.
fn table_entry<'a>(
    elf: &'a [u8],
    offset: u32,
    i: u16,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], ElfError> {
    let at = u64::from(offset) + u64::from(i) * len as u64;
    let at = u32::try_from(at).map_err(|_| ElfError::Truncated {
        what,
        len: elf.len(),
    })?;
    slice(elf, at, len as u32, what)
}

fn slice<'a>(
    elf: &'a [u8],
    offset: u32,
    len: u32,
    what: &'static str,
) -> Result<&'a [u8], ElfError> {
    let start = offset as usize;
    start
        .checked_add(len as usize)
        .and_then(|end| elf.get(start..end))
        .ok_or(ElfError::Truncated {
            what,
            len: elf.len(),
        })
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const SHF_EXECINSTR: u32 = 0x4;
    const SHT_PROGBITS: u32 = 1;

    /// A section of a synthetic ELF: name, type, flags, address, bytes
    /// (for NOBITS, only the length counts).
    pub(crate) struct Sec<'a> {
        pub name: &'a str,
        pub kind: u32,
        pub flags: u32,
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
            put32(&mut out, ph, PT_LOAD);
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
            put32(&mut out, sh + 4, s.kind);
            put32(&mut out, sh + 8, s.flags);
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
                    flags: 0,
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
                matches!(load_segments(&elf[..cut]), Err(ElfError::Truncated { .. }))
                    || matches!(section_sizes(&elf[..cut]), Err(ElfError::Truncated { .. })),
                "cut at {cut}"
            );
        }
        let mut elf64 = elf.clone();
        elf64[4] = 2;
        assert_eq!(
            load_segments(&elf64),
            Err(ElfError::Unsupported { class: 2, data: 1 })
        );
        let mut huge = elf;
        put32(&mut huge, 28, u32::MAX - 8); // phoff far past the end
        assert!(matches!(
            load_segments(&huge),
            Err(ElfError::Truncated { .. })
        ));
    }
}
