//! Talking to a device, in four parts: `link` (byte links and how a port
//! spec becomes one), `agent` (the conversation with an ota agent: client,
//! push engine, reboot), `rom` (the boot ROM: BOOTSEL drive and PICOBOOT)
//! and `sim` (the simulated Pico and its board model); `micropython` speaks
//! to stock MicroPython boards. Nothing here prints: progress leaves as
//! [`agent::events::Event`]s.

pub mod agent;
pub mod connect;
pub mod error;
pub mod link;
pub mod micropython;
pub mod rom;
pub mod sim;

pub use agent::client::{Client, DeviceFile, DeviceInfo};
pub use link::port::PortSpec;
