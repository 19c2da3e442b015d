//! Fuzzes the host's staged input (see `checks.rs`).
#![no_main]

#[path = "checks.rs"]
// Each target uses one of the checks.
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::staged(data));
