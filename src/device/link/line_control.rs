//! What a serial line's control state means to a board: which firmware the
//! port shows (a USB port shows it by its product string), and the 1200-baud
//! touch (a host opening the port at 1200 baud and closing it, which drops
//! DTR), which asks a running application for the agent. Over the network
//! the touch travels as RFC 2217's SET-BAUDRATE and SET-CONTROL (rfc2217.rs);
//! a plain `tcp:` connection carries bytes only.

use serde::Serialize;

/// The baud rate of the touch, as Arduino boards and Pico SDK programs use it.
pub const TOUCH_BAUD: u32 = 1200;

/// What runs on the board, as the port shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Running {
    /// The ota agent: it answers the protocol.
    Agent,
    /// The user's application: reach the agent with the touch.
    Application,
    /// Nothing is attached (the board is resetting, or unplugged).
    #[serde(rename = "none")]
    Nothing,
    /// The link cannot tell (a pseudo-terminal, a socket): try Hello.
    Unknown,
}

/// Whether a host setting DTR to `dtr` on a line at `baud` is the touch:
/// DTR dropped at 1200 baud, as the application crate (ota_app::usb) and
/// Arduino boards take it.
pub fn is_touch(baud: u32, dtr: bool) -> bool {
    baud == TOUCH_BAUD && !dtr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_touch_is_dtr_dropped_at_1200_baud() {
        assert!(is_touch(1200, false));
        assert!(!is_touch(1200, true));
        assert!(!is_touch(115_200, false));
    }
}
