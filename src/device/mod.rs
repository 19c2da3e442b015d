//! Talking to an agent: ports, transports, the protocol client and the push
//! engine. Nothing here prints: progress leaves as [`events::Event`]s.

pub mod board_model;
pub mod bootsel;
pub mod client;
pub mod console;
pub mod discover;
pub mod events;
pub mod line_control;
pub mod micropython;
pub mod picoboot;
pub mod port;
pub mod push;
pub mod reboot;
pub mod serve;
pub mod silence;
pub mod sim;
pub mod transport;

pub use client::{Client, DeviceFile, DeviceInfo};
pub use port::PortSpec;
