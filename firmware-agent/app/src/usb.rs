//! The 1200-baud touch for embassy-usb applications: when the host sets the
//! CDC-ACM line to 1200 baud and then drops DTR (closes the port), the board
//! resets into the agent. This is how Arduino boards, arduino-pico and Pico
//! SDK programs let a host reach their bootloader, and how `ota` reaches the
//! agent while the application runs.
//!
//! ```ignore
//! let touch = ota_app::usb::Touch::new();
//! let mut handler = touch.handler();
//! let mut builder = embassy_usb::Builder::new(/* ... */);
//! builder.handler(&mut handler);          // before the CDC-ACM class
//! let class = CdcAcmClass::new(&mut builder, &mut state, 64);
//! // ... run the device, and beside it:
//! touch.wait().await;                     // never returns: resets into the agent
//! ```

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use embassy_time::Timer;
use embassy_usb::control::{OutResponse, Recipient, Request, RequestType};
use embassy_usb::Handler;

/// The rate that asks for the agent.
pub const TOUCH_BAUD: u32 = 1200;

const SET_LINE_CODING: u8 = 0x20;
const SET_CONTROL_LINE_STATE: u8 = 0x22;

/// What the host did to the line, shared between the USB handler and the
/// task that waits for the touch.
pub struct Touch {
    rate: AtomicU32,
    touched: AtomicBool,
}

impl Default for Touch {
    fn default() -> Self {
        Self::new()
    }
}

impl Touch {
    pub const fn new() -> Touch {
        Touch {
            rate: AtomicU32::new(0),
            touched: AtomicBool::new(false),
        }
    }

    /// The handler to give `embassy_usb::Builder::handler`, before the
    /// CDC-ACM class is added. It answers no request itself.
    pub fn handler(&self) -> TouchHandler<'_> {
        TouchHandler { touch: self }
    }

    /// Waits for the touch, then resets into the agent (a moment after the
    /// control transfer that dropped DTR, so that the host sees it succeed).
    pub async fn wait(&self) -> ! {
        while !self.touched.load(Ordering::Relaxed) {
            Timer::after_millis(10).await;
        }
        Timer::after_millis(10).await;
        crate::reboot_to_agent()
    }
}

/// Watches the class requests of every interface of the device.
pub struct TouchHandler<'a> {
    touch: &'a Touch,
}

impl Handler for TouchHandler<'_> {
    fn control_out(&mut self, req: Request, data: &[u8]) -> Option<OutResponse> {
        if (req.request_type, req.recipient) != (RequestType::Class, Recipient::Interface) {
            return None;
        }
        let t = self.touch;
        match req.request {
            SET_LINE_CODING if data.len() >= 4 => {
                let rate = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
                t.rate.store(rate, Ordering::Relaxed);
            }
            SET_CONTROL_LINE_STATE
                if req.value & 1 == 0 && t.rate.load(Ordering::Relaxed) == TOUCH_BAUD =>
            {
                t.touched.store(true, Ordering::Relaxed);
            }
            _ => {}
        }
        None
    }
}
