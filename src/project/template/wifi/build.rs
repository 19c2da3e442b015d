//! Puts memory.x (the ota application slot) where the linker finds it and
//! passes cortex-m-rt's link script and defmt's (an application in the slot starts after
//! the agent's boot2, so embassy-rp's link-rp.x is left out), and puts the
//! CYW43439 firmware and CLM into `files/cyw43/`, from the cyw43-firmware
//! crate, so that they travel as files of the tree: pushed once, read in
//! place, never resent while unchanged. They are not part of the image.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), include_str!("memory.x")).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-arg-bins=--nmagic");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    // defmt's table of log strings (and its panic hook) for `defmt::info!`.
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    let files =
        Path::new(&env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("files/cyw43");
    write_if_changed(&files.join("43439A0.bin"), cyw43_firmware::CYW43_43439A0);
    write_if_changed(
        &files.join("43439A0_clm.bin"),
        cyw43_firmware::CYW43_43439A0_CLM,
    );
}

/// Leaves an unchanged file alone, so that its time stamp does not move.
fn write_if_changed(path: &Path, bytes: &[u8]) {
    if fs::read(path).is_ok_and(|now| now == bytes) {
        return;
    }
    fs::create_dir_all(path.parent().expect("a folder")).expect("create files/cyw43");
    fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
