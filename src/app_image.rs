//! An application ELF as the image the slot holds: its flash segments laid
//! out from the slot's first byte (gaps erased, 0xFF), checked to be linked
//! for the slot, to fit it, and to start with a vector table the agent runs.
//! The image then travels in the tree as the entry `.ota/app.bin`.

use std::path::Path;

use crate::exit::{fail, Kind};
use crate::uf2::{Uf2Error, SLOT};

/// The bytes of the file `--app` names. A UF2 is refused by name: it is
/// what ota makes from the ELF, and the ELF is what ota needs.
pub fn read_app(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes =
        std::fs::read(path).map_err(|e| fail(Kind::Source, format!("{}: {e}", path.display())))?;
    if crate::uf2::is_uf2(&bytes) {
        return Err(fail(
            Kind::Source,
            format!(
                "{} is a UF2 file; --app takes the application's ELF (the UF2 is made from it)",
                path.display()
            ),
        ));
    }
    Ok(bytes)
}

/// The slot image of the application ELF at `path`.
pub fn from_elf_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let elf = read_app(path)?;
    from_elf(&elf).map_err(|e| fail(Kind::Source, format!("{}: {e}", path.display())))
}

/// The slot image in `path`: an application ELF, or a slot image already
/// made (what `ota manifest gen --app` writes), checked the same way.
pub fn from_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = read_app(path)?;
    let image = if bytes.starts_with(b"\x7fELF") {
        from_elf(&bytes)
    } else {
        check(bytes)
    };
    image.map_err(|e| fail(Kind::Source, format!("{}: {e}", path.display())))
}

/// A slot image that fits the slot and starts with a vector table the agent runs.
pub fn check(image: Vec<u8>) -> Result<Vec<u8>, Uf2Error> {
    if image.is_empty() {
        return Err(Uf2Error::Empty);
    }
    if image.len() as u64 > u64::from(SLOT.end - SLOT.start) {
        return Err(Uf2Error::AppTooBig {
            size: image.len() as u64,
        });
    }
    if ota_agent::board::slot_holds(&image) != ota_protocol::AppSlot::Valid {
        return Err(Uf2Error::NoVectorTable);
    }
    Ok(image)
}

pub fn from_elf(elf: &[u8]) -> Result<Vec<u8>, Uf2Error> {
    let segments = crate::elf::load_segments(elf)?;
    let mut image: Vec<u8> = Vec::new();
    for seg in segments.iter().filter(|s| !s.data.is_empty()) {
        let end = u64::from(seg.paddr) + seg.data.len() as u64;
        if SLOT.contains(&seg.paddr) && end > u64::from(SLOT.end) {
            return Err(Uf2Error::AppTooBig {
                size: end - u64::from(SLOT.start),
            });
        }
        if seg.paddr < SLOT.start || end > u64::from(SLOT.end) {
            return Err(Uf2Error::AppOutsideSlot {
                start: seg.paddr,
                end,
            });
        }
        let at = (seg.paddr - SLOT.start) as usize;
        if image.len() < at + seg.data.len() {
            image.resize(at + seg.data.len(), 0xFF);
        }
        image[at..at + seg.data.len()].copy_from_slice(seg.data);
    }
    check(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::tests::{build, Seg};

    #[test]
    fn segments_are_laid_out_from_the_slot_start() {
        let mut vectors = vec![0u8; 192];
        vectors[..4].copy_from_slice(&0x2004_2000u32.to_le_bytes());
        vectors[4..8].copy_from_slice(&(SLOT.start + 0xC1).to_le_bytes());
        let data = [7u8; 16];
        let elf = build(
            &[
                Seg {
                    paddr: SLOT.start,
                    vaddr: SLOT.start,
                    bytes: &vectors,
                    memsz: 192,
                },
                Seg {
                    paddr: SLOT.start + 0x200,
                    vaddr: 0x2000_0000,
                    bytes: &data,
                    memsz: 16,
                },
            ],
            &[],
        );
        let img = from_elf(&elf).unwrap();
        assert_eq!(img.len(), 0x210);
        assert_eq!(&img[..192], &vectors[..]);
        assert!(
            img[192..0x200].iter().all(|&b| b == 0xFF),
            "gaps are erased flash"
        );
        assert_eq!(&img[0x200..], &data);
        let agent = build(
            &[Seg {
                paddr: 0x1000_0100,
                vaddr: 0x1000_0100,
                bytes: &vectors,
                memsz: 192,
            }],
            &[],
        );
        assert!(matches!(
            from_elf(&agent),
            Err(Uf2Error::AppOutsideSlot { .. })
        ));
    }

    #[test]
    fn an_image_too_big_for_the_slot_or_without_vectors_is_refused_saying_which() {
        let slot_len = (SLOT.end - SLOT.start) as usize;
        let mut big = vec![0u8; slot_len + 1];
        big[..4].copy_from_slice(&0x2004_2000u32.to_le_bytes());
        big[4..8].copy_from_slice(&(SLOT.start + 0xC1).to_le_bytes());
        let seg = |bytes: &[u8]| {
            build(
                &[Seg {
                    paddr: SLOT.start,
                    vaddr: SLOT.start,
                    bytes,
                    memsz: bytes.len() as u32,
                }],
                &[],
            )
        };
        let e = from_elf(&seg(&big)).unwrap_err();
        assert_eq!(
            e,
            Uf2Error::AppTooBig {
                size: big.len() as u64
            }
        );
        assert!(
            e.to_string()
                .contains("more than the application slot's 512 KiB"),
            "{e}"
        );
        assert_eq!(
            check(big.clone()),
            Err(Uf2Error::AppTooBig {
                size: big.len() as u64
            })
        );
        // Fits, but starts with no stack pointer and reset vector.
        let e = from_elf(&seg(&[0u8; 256])).unwrap_err();
        assert_eq!(e, Uf2Error::NoVectorTable);
        assert!(
            e.to_string().contains("does not start with a vector table"),
            "{e}"
        );
        assert_eq!(check(Vec::new()), Err(Uf2Error::Empty));
    }
}
