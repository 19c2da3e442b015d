//! The conversation with an ota agent over any link: the protocol client,
//! the push engine, asking for a reboot, and what a silent port means.

pub mod client;
pub mod events;
pub mod power_on;
pub mod push;
pub mod reboot;
pub mod silence;
