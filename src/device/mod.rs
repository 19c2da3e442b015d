//! Talking to an agent: ports, transports, the protocol client and the push
//! engine. Nothing here prints: progress leaves as [`events::Event`]s.

pub mod board_model;
pub mod client;
pub mod discover;
pub mod events;
pub mod port;
pub mod push;
pub mod serve;
pub mod silence;
pub mod sim;
pub mod transport;

pub use client::{Client, DeviceFile, DeviceInfo};
pub use port::PortSpec;
