//! Fuzzes the host's ELF input: application and agent ELFs (see `checks.rs`).
#![no_main]

#[path = "checks.rs"]
// Each target uses one of the checks.
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::elf(data));
