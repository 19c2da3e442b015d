//! An application in the ota slot that reads a larger asset in place:
//! `table.bin` of the active tree, little-endian u16 durations in
//! milliseconds, is a slice of flash (no copy, no RAM), and GP15 steps
//! through it, toggling at each entry. It confirms a trial after its first
//! pass through the table (or 5 s, whichever is later).
//!
//! It uses no USB at all: a host reaches the agent under it within the
//! agent's window after the board is plugged in (or with `ota` waiting for
//! the board before it is plugged in).

#![no_std]
#![no_main]

use embassy_executor::Spawner;
use embassy_rp::gpio::{Level, Output};
use embassy_time::{Duration, Instant, Timer};
use ota_app::Ota;

const TABLE: &str = "table.bin";
const CONFIRM_AFTER: Duration = Duration::from_secs(5);

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let p = embassy_rp::init(Default::default());
    let mut ota = Ota::take(p.FLASH, p.WATCHDOG);
    let mut led = Output::new(p.PIN_15, Level::Low);
    // In place: a &'static slice of the XIP-mapped store, however large.
    let table: &'static [u8] = match ota.asset(TABLE) {
        Some(t) if t.len() >= 2 => t,
        _ => &[0xF4, 0x01], // 500 ms, when the tree has no table
    };
    let started = Instant::now();
    loop {
        for step in table.chunks_exact(2) {
            let ms = u16::from_le_bytes([step[0], step[1]]).max(1);
            led.toggle();
            ota.feed();
            Timer::after_millis(ms as u64).await;
        }
        if ota.trial().is_some() && started.elapsed() >= CONFIRM_AFTER {
            let _ = ota.confirm();
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
