//! Puts memory.x (the ota application slot) where the linker finds it and
//! passes cortex-m-rt's link script and defmt's. An application in the slot starts
//! after the agent's boot2 has run, so embassy-rp's link-rp.x (boot2 first)
//! is left out: the vector table comes first.

use std::env;
use std::fs;
use std::path::PathBuf;

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
}
