//! An application in the ota slot on rp2040-hal, without embassy: blinks an
//! LED on GP15 in the pattern that `blink.txt` of the active tree gives,
//! read in place from flash, feeds the trial watchdog between its steps, and
//! confirms a trial tree once it has run for 5 s. ota-app is taken without
//! its embassy feature: `Ota::open()`, and confirm through the boot ROM.
//!
//! It has no USB device of its own, so a host reaches the agent at the
//! next power-on (within the agent's window) rather than by the touch.

#![no_std]
#![no_main]

#[path = "../../blink/src/pattern.rs"]
mod pattern;

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::OutputPin;
use ota_app::Ota;
use pattern::Pattern;
use rp2040_hal::{self as hal, pac};

/// The Pico W's crystal.
const XTAL_FREQ_HZ: u32 = 12_000_000;
/// How long a trial runs before this application calls itself good.
const CONFIRM_AFTER_US: u64 = 5_000_000;
/// The longest wait between two feeds, well inside the trial watchdog's 8 s.
const FEED_EVERY_MS: u32 = 1_000;

#[cortex_m_rt::entry]
fn main() -> ! {
    let mut pac = pac::Peripherals::take().unwrap();
    let mut watchdog = hal::Watchdog::new(pac.WATCHDOG);
    let Ok(clocks) = hal::clocks::init_clocks_and_plls(
        XTAL_FREQ_HZ,
        pac.XOSC,
        pac.CLOCKS,
        pac.PLL_SYS,
        pac.PLL_USB,
        &mut pac.RESETS,
        &mut watchdog,
    ) else {
        panic!("clocks");
    };
    let mut timer = hal::Timer::new(pac.TIMER, &mut pac.RESETS, &clocks);
    let sio = hal::Sio::new(pac.SIO);
    let pins = hal::gpio::Pins::new(
        pac.IO_BANK0,
        pac.PADS_BANK0,
        sio.gpio_bank0,
        &mut pac.RESETS,
    );
    let mut led = pins.gpio15.into_push_pull_output();

    let mut ota = Ota::open();
    let pattern = ota
        .file("blink.txt")
        .and_then(Pattern::parse)
        .unwrap_or(Pattern::DEFAULT);
    loop {
        for (i, &ms) in pattern.steps().iter().enumerate() {
            let _ = if i % 2 == 0 {
                led.set_high()
            } else {
                led.set_low()
            };
            let mut left = ms as u32;
            while left > 0 {
                let step = left.min(FEED_EVERY_MS);
                ota.feed();
                timer.delay_ms(step);
                left -= step;
            }
            if ota.trial().is_some() && timer.get_counter().ticks() >= CONFIRM_AFTER_US {
                // A failed write leaves the trial: the agent decides at the next boot.
                let _ = ota.confirm();
            }
        }
    }
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    cortex_m::interrupt::disable();
    loop {
        cortex_m::asm::wfi();
    }
}
