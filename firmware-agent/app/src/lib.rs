//! For applications that ota updates on a Raspberry Pi Pico W.
//!
//! The agent runs first at every reset and hands over to the application in
//! the slot. This crate gives the application what it needs of ota, without
//! a heap and without copying: the files of the active tree as slices of
//! flash (each file is one contiguous extent, read in place through XIP), the
//! tree's version, ref and commit, whether this boot is a trial, `confirm()`,
//! and the way back to the agent.
//!
//! ```ignore
//! let p = embassy_rp::init(Default::default());
//! let mut ota = ota_app::Ota::take(p.FLASH, p.WATCHDOG);   // opens the store in place
//! let pattern = ota.file("blink.txt").unwrap_or(b"500,500");
//! // ... once the application knows it works:
//! ota.confirm().ok();
//! ```
//!
//! Features: `rp2040` is the board side on any HAL (`Ota::open()`; it
//! writes the flash through the boot ROM and drives the watchdog's
//! registers itself); `embassy` (default) adds what embassy-rp applications
//! use (`Ota::take`, `unique_id`, `trial_keeper`, `usb::Touch`); `defmt`
//! the logger over the CDC-ACM port. An rp2040-hal application takes
//! `default-features = false, features = ["rp2040"]`.
//!
//! Every file starts on a 256-byte page of flash (a file of 4 KiB or more on
//! a 4 KiB sector), so `Ota::aligned::<A4>(path)` hands a file to a driver
//! that wants aligned bytes (`cyw43::new` takes the CYW43 firmware so)
//! without `unsafe` in the application.
//!
//! On the host (no `rp2040` feature) the same reader runs over a store image
//! in memory, which is how its tests check it against what the agent writes.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

mod files;
pub use files::{confirm, Aligned, Alignment, File, Files, Trial, A4};

#[cfg(feature = "rp2040")]
mod board;
#[cfg(feature = "rp2040")]
pub use board::{reboot_to_agent, Ota, TRIAL_WATCHDOG_US};
#[cfg(feature = "rp2040")]
mod regs;
#[cfg(feature = "rp2040")]
mod rom_flash;

#[cfg(all(feature = "rp2040", feature = "embassy"))]
mod embassy;
#[cfg(all(feature = "rp2040", feature = "embassy"))]
pub use embassy::{TrialKeeper, TRIAL_WATCHDOG};
#[cfg(feature = "defmt")]
pub mod log;
#[cfg(all(feature = "rp2040", feature = "embassy"))]
pub mod usb;

pub use ota_agent::board::{
    serial_number, APP_SLOT_BASE, APP_SLOT_SIZE, STORE_BASE, STORE_SECTORS, XIP_BASE,
};
