//! The RP2040 boot ROM: Picos in BOOTSEL mode, their RPI-RP2 drive and the
//! PICOBOOT interface that writes the agent.

pub mod bootsel;
pub mod enter;
pub mod picoboot;
