//! Puts memory.x and link-ram.x (the agent runs from SRAM) where the linker
//! finds them, checks memory.x against src/layout.rs, and passes the link
//! scripts: link-ram.x in place of cortex-m-rt's link.x, and embassy-rp's
//! link-rp.x for boot2.
//!
//! The link arguments live here rather than in .cargo/config.toml: a RUSTFLAGS
//! environment variable (CI sets `-D warnings`) replaces config rustflags, but
//! not the arguments a build script emits.

use std::env;
use std::fs;
use std::path::PathBuf;

#[allow(dead_code)]
#[path = "src/layout.rs"]
mod layout;

fn main() {
    let memory = include_str!("memory.x");
    let expected = format!(
        "FLASH : ORIGIN = 0x10000100, LENGTH = {}K - 0x100",
        layout::AGENT_SIZE / 1024
    );
    assert!(
        memory.contains(&expected),
        "memory.x must give the agent the {} KiB that src/layout.rs reserves: expected the line `{expected}`",
        layout::AGENT_SIZE / 1024
    );

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), memory).expect("write memory.x into OUT_DIR");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=link-ram.x");
    println!("cargo:rerun-if-changed=src/layout.rs");
    println!("cargo:rerun-if-changed=build.rs");

    println!("cargo:rustc-link-arg-bins=--nmagic");
    println!("cargo:rustc-link-arg-bins=-Tlink-ram.x");
    println!("cargo:rustc-link-arg-bins=-Tlink-rp.x");
}
