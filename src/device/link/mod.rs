//! Byte links to a device: serial ports (found by USB discovery), one plain
//! TCP connection, RFC 2217 (serial over the network, with the touch), the
//! 1200-baud touch, and the console of a running application.

pub mod console;
pub mod discover;
pub mod line_control;
pub mod port;
pub mod rfc2217;
pub mod transport;
