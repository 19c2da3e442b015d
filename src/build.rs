//! Builds the agent firmware into `ota` when `OTA_AGENT_ELF` names its ELF
//! at build time (a release build does this), so that `ota agent install`
//! needs no other file. Without it the binary carries no firmware and looks
//! for one next to itself at run time (see src/firmware.rs).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=OTA_AGENT_ELF");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let bytes = match std::env::var_os("OTA_AGENT_ELF") {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", PathBuf::from(&path).display());
            std::fs::read(&path)
                .unwrap_or_else(|e| panic!("OTA_AGENT_ELF={}: {e}", PathBuf::from(&path).display()))
        }
        None => Vec::new(),
    };
    std::fs::write(out.join("agent.elf"), bytes).expect("write OUT_DIR/agent.elf");
}
