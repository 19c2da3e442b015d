//! ota: updates a Raspberry Pi Pico W from GitHub or a folder, over USB
//! serial, through the agent in `firmware-agent/`. The binary is thin; the
//! work lives here so that tests and benchmarks drive the same code.

pub mod app_image;
pub mod bundle;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod config;
pub mod console_lines;
pub mod device;
pub mod elf;
pub mod exit;
pub mod filter;
pub mod firmware;
pub mod interrupt;
pub mod man;
pub mod manifest;
pub mod plan;
pub mod progress;
pub mod project;
pub mod random;
pub mod signing;
pub mod source;
pub mod terminal;
pub mod uf2;
pub mod update;
