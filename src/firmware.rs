//! Where `ota agent install` gets the agent firmware: a file named on the
//! command line (an ELF, or a ready UF2), else the ELF built into this
//! binary (`OTA_AGENT_ELF` at build time, see build.rs), else a file next to
//! the binary (`ota-agent-pico`, the ELF, or `ota-agent.uf2`).

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::uf2::{firmware_uf2, Uf2Error, MAGIC_START0};

/// The agent ELF built into this binary; empty when it was built without one.
static BUILT_IN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/agent.elf"));

/// Names looked for next to the `ota` binary.
pub const NEXT_TO_BINARY: [&str; 2] = ["ota-agent-pico", "ota-agent.uf2"];

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FirmwareError {
    #[error("{}: {err}", path.display())]
    Read { path: PathBuf, err: std::io::Error },
    #[error("{what}: {err}")]
    Image { what: String, err: Uf2Error },
    #[error("{what} is a UF2: it cannot take an application; give the agent's ELF with --app")]
    Uf2WithApp { what: String },
    #[error(
        "this ota carries no agent firmware: pass --firmware FILE (the ELF or UF2 from \
         firmware-agent/pico), put {} or {} next to the ota binary, or build ota with \
         OTA_AGENT_ELF set to the firmware's ELF",
        NEXT_TO_BINARY[0], NEXT_TO_BINARY[1]
    )]
    Missing,
}

/// The agent firmware, and what to call it in messages.
pub struct Firmware {
    pub what: String,
    bytes: Vec<u8>,
}

impl Firmware {
    /// `--firmware FILE`, else the built-in ELF, else a file next to `exe`.
    pub fn find(explicit: Option<&Path>, exe: Option<&Path>) -> Result<Firmware, FirmwareError> {
        let read = |path: &Path| {
            std::fs::read(path)
                .map(|bytes| Firmware {
                    what: path.display().to_string(),
                    bytes,
                })
                .map_err(|err| FirmwareError::Read {
                    path: path.to_path_buf(),
                    err,
                })
        };
        if let Some(p) = explicit {
            return read(p);
        }
        if !BUILT_IN.is_empty() {
            return Ok(Firmware {
                what: "the agent firmware built into ota".into(),
                bytes: BUILT_IN.to_vec(),
            });
        }
        let dir = exe.and_then(Path::parent);
        for name in NEXT_TO_BINARY {
            if let Some(p) = dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                return read(&p);
            }
        }
        Err(FirmwareError::Missing)
    }

    /// The UF2 to install: the agent (and the application, when given).
    pub fn uf2(&self, app_elf: Option<&[u8]>) -> Result<Vec<u8>, FirmwareError> {
        if self.bytes.get(..4) == Some(&MAGIC_START0.to_le_bytes()[..]) {
            if app_elf.is_some() {
                return Err(FirmwareError::Uf2WithApp {
                    what: self.what.clone(),
                });
            }
            return Ok(self.bytes.clone());
        }
        firmware_uf2(&self.bytes, app_elf).map_err(|err| FirmwareError::Image {
            what: self.what.clone(),
            err,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_elf_becomes_the_uf2_and_an_application_must_be_linked_for_the_slot() {
        let t = tempfile::tempdir().unwrap();
        let elf = crate::elf::tests::build(
            &[crate::elf::tests::Seg {
                paddr: 0x1000_0000,
                vaddr: 0x1000_0000,
                bytes: &[5u8; 600],
                memsz: 600,
            }],
            &[],
        );
        let path = t.path().join("ota-agent-pico");
        std::fs::write(&path, &elf).unwrap();
        let f = Firmware::find(Some(&path), None).unwrap();
        assert_eq!(f.uf2(None).unwrap(), crate::uf2::elf_to_uf2(&elf).unwrap());
        let e = f.uf2(Some(&elf)).unwrap_err().to_string();
        assert!(e.contains("application"), "{e}");
    }

    #[test]
    fn a_file_next_to_the_binary_is_found_and_a_uf2_is_taken_as_it_is() {
        if !BUILT_IN.is_empty() {
            return; // a build with the firmware inside never looks further
        }
        let t = tempfile::tempdir().unwrap();
        let exe = t.path().join("ota");
        assert!(matches!(
            Firmware::find(None, Some(&exe)),
            Err(FirmwareError::Missing)
        ));
        let mut uf2 = vec![0u8; 512];
        uf2[..4].copy_from_slice(&MAGIC_START0.to_le_bytes());
        std::fs::write(t.path().join("ota-agent.uf2"), &uf2).unwrap();
        let f = Firmware::find(None, Some(&exe)).unwrap();
        assert!(f.what.ends_with("ota-agent.uf2"));
        assert_eq!(f.uf2(None).unwrap(), uf2);
        assert!(matches!(
            f.uf2(Some(b"app")),
            Err(FirmwareError::Uf2WithApp { .. })
        ));
    }
}
