//! Picos in BOOTSEL mode: the boot ROM's mass-storage drive (a volume named
//! RPI-RP2, known by its INFO_UF2.TXT) and its USB device (2e8a:0003, with
//! the PICOBOOT interface); copying a UF2 onto the drive; the pages a UF2
//! holds. A copy is written whole and flushed before ota waits for the
//! drive to go away (the ROM reboots once it has taken the last block).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nusb::MaybeFuture;
use thiserror::Error;

/// Raspberry Pi's USB vendor id: the boot ROM's, and MicroPython's on a Pico.
pub const RPI_VID: u16 = 0x2E8A;
/// The boot ROM's USB product id on an RP2040.
pub const BOOTSEL_PID: u16 = 0x0003;
/// What the RP2040 ROM's INFO_UF2.TXT says.
pub const BOARD_ID: &str = "Board-ID: RPI-RP2";
/// The name ota gives the copied file (the ROM takes any name).
pub const COPY_NAME: &str = "OTA-AGENT.UF2";

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BootselError {
    #[error("{}: cannot write the UF2: {err}", path.display())]
    Write { path: PathBuf, err: std::io::Error },
    #[error("{} is still mounted {secs} s after the UF2 was copied: the boot ROM did not take it (is the UF2 for an RP2040?)", drive.display())]
    Stayed { drive: PathBuf, secs: u64 },
    #[error("UF2 block {block}: {what}")]
    BadUf2 { block: usize, what: &'static str },
}

/// A Pico in BOOTSEL mode as USB shows it.
#[derive(Debug, Clone)]
pub struct BootselUsb {
    /// The ROM's USB serial number: the flash chip's unique id in hex, as
    /// the agent reports it once running.
    pub serial: Option<String>,
    pub info: nusb::DeviceInfo,
}

/// Every Pico in BOOTSEL mode on USB (none where USB cannot be listed).
pub fn usb_devices() -> Vec<BootselUsb> {
    let Ok(list) = nusb::list_devices().wait() else {
        return Vec::new();
    };
    list.filter(|d| d.vendor_id() == RPI_VID && d.product_id() == BOOTSEL_PID)
        .map(|d| BootselUsb {
            serial: d.serial_number().map(|s| s.to_ascii_lowercase()),
            info: d,
        })
        .collect()
}

/// True when `dir` is the root of an RPI-RP2 drive.
pub fn is_drive(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("INFO_UF2.TXT")).is_ok_and(|t| t.contains(BOARD_ID))
}

/// Folders that may be mounted volumes: `OTA_RPI_RP2_DRIVES` (a path list)
/// when set, else the system's mount points.
fn mount_points() -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os("OTA_RPI_RP2_DRIVES") {
        return std::env::split_paths(&list).collect();
    }
    let mut out = Vec::new();
    if let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") {
        for line in mounts.lines() {
            if let Some(point) = line.split(' ').nth(1) {
                // /proc/mounts escapes spaces and tabs in octal.
                out.push(PathBuf::from(
                    point.replace("\\040", " ").replace("\\011", "\t"),
                ));
            }
        }
    }
    if let Ok(vols) = std::fs::read_dir("/Volumes") {
        out.extend(vols.flatten().map(|e| e.path()));
    }
    if cfg!(windows) {
        out.extend((b'D'..=b'Z').map(|l| PathBuf::from(format!("{}:\\", l as char))));
    }
    out
}

/// Every mounted RPI-RP2 drive.
pub fn drives() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = mount_points().into_iter().filter(|d| is_drive(d)).collect();
    out.sort();
    out.dedup();
    out
}

/// Copies `uf2` onto the drive whole, flushes it to the device, and waits
/// (up to `timeout`) for the drive to go away as the board reboots.
pub fn copy_to_drive(drive: &Path, uf2: &[u8], timeout: Duration) -> Result<(), BootselError> {
    let path = drive.join(COPY_NAME);
    let err = |err| BootselError::Write {
        path: path.clone(),
        err,
    };
    let mut f = std::fs::File::create(&path).map_err(err)?;
    f.write_all(uf2).map_err(err)?;
    // The ROM may reboot as soon as the last block lands, so a flush that
    // fails on a drive that already went away is the expected end.
    match f.sync_all() {
        Err(e) if is_drive(drive) => return Err(err(e)),
        _ => {}
    }
    drop(f);
    let deadline = Instant::now() + timeout;
    while is_drive(drive) {
        if Instant::now() >= deadline {
            return Err(BootselError::Stayed {
                drive: drive.to_path_buf(),
                secs: timeout.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The (flash address, 256 bytes) pages of a UF2, checked block by block.
pub fn uf2_pages(uf2: &[u8]) -> Result<Vec<(u32, Vec<u8>)>, BootselError> {
    use crate::uf2::{BLOCK, MAGIC_END, MAGIC_START0, MAGIC_START1, PAYLOAD, RP2040_FAMILY_ID};
    let bad = |block, what| BootselError::BadUf2 { block, what };
    if uf2.is_empty() || !uf2.len().is_multiple_of(BLOCK) {
        return Err(bad(
            uf2.len() / BLOCK,
            "the file is not a whole number of 512-byte blocks",
        ));
    }
    let mut out = Vec::new();
    for (n, b) in uf2.chunks(BLOCK).enumerate() {
        let w = |i: usize| u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        if w(0) != MAGIC_START0 || w(1) != MAGIC_START1 || w(127) != MAGIC_END {
            return Err(bad(n, "bad magic: not a UF2 file"));
        }
        if w(7) != RP2040_FAMILY_ID {
            return Err(bad(n, "not for the RP2040 (family id)"));
        }
        if w(4) as usize != PAYLOAD || w(3) % PAYLOAD as u32 != 0 {
            return Err(bad(n, "not a 256-byte, page-aligned payload"));
        }
        // Only the agent and the application slot: never the ota store.
        if !(0x1000_0000..0x1000_0000 + ota_agent::board::STORE_BASE).contains(&w(3)) {
            return Err(bad(
                n,
                "writes outside the agent and application region of flash",
            ));
        }
        out.push((w(3), b[32..32 + PAYLOAD].to_vec()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drive(dir: &Path) {
        std::fs::write(
            dir.join("INFO_UF2.TXT"),
            "UF2 Bootloader v3.0\r\nModel: Raspberry Pi RP2\r\nBoard-ID: RPI-RP2\r\n",
        )
        .unwrap();
    }

    #[test]
    fn a_drive_is_known_by_its_info_file() {
        let t = tempfile::tempdir().unwrap();
        assert!(!is_drive(t.path()));
        drive(t.path());
        assert!(is_drive(t.path()));
        std::fs::write(t.path().join("INFO_UF2.TXT"), "Board-ID: OTHER\n").unwrap();
        assert!(!is_drive(t.path()), "another board's bootloader");
    }

    #[test]
    fn a_drive_that_stays_is_an_error_naming_it() {
        let t = tempfile::tempdir().unwrap();
        drive(t.path());
        let e = copy_to_drive(t.path(), &[1, 2, 3], Duration::from_millis(0)).unwrap_err();
        assert!(e.to_string().contains("still mounted"), "{e}");
        assert_eq!(std::fs::read(t.path().join(COPY_NAME)).unwrap(), [1, 2, 3]);
    }

    #[test]
    fn uf2_pages_are_checked() {
        let elf = crate::elf::tests::build(
            &[crate::elf::tests::Seg {
                paddr: 0x1000_0000,
                vaddr: 0x1000_0000,
                bytes: &[7u8; 300],
                memsz: 300,
            }],
            &[],
        );
        let uf2 = crate::uf2::elf_to_uf2(&elf).unwrap();
        let pages = uf2_pages(&uf2).unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[1].0, 0x1000_0100);
        assert_eq!(&pages[1].1[..44], &[7u8; 44][..]);
        let mut bad = uf2.clone();
        bad[28] ^= 1;
        assert!(uf2_pages(&bad)
            .unwrap_err()
            .to_string()
            .contains("family id"));
        assert!(uf2_pages(&uf2[..100]).is_err());
    }
}
