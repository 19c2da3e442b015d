//! Byte links to a device: serial ports (found by USB discovery), TCP, the
//! control lines carried over TCP, the 1200-baud touch, and the console of a
//! running application.

pub mod console;
pub mod discover;
pub mod line_control;
pub mod port;
pub mod transport;
