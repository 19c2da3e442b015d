//! An application in the ota slot: blinks an LED on GP15 (the Pico W's own
//! LED hangs off the Wi-Fi chip) in the pattern that `blink.txt` of the
//! active tree gives, read in place from flash, and confirms a trial tree
//! once it has run for 5 s.
//!
//! Its USB CDC port is its console: a host that opens it reads one line,
//! `ota-blink VERSION STATE`, each time the state changes. The 1200-baud
//! touch resets it into the agent. A tree holding `ota-no-confirm` plays a
//! hung application: on a trial boot it stops feeding the watchdog and never
//! confirms, so the agent rolls back when the boots run out. A tree holding
//! `ota-feed-no-confirm` plays one that runs and feeds the watchdog but
//! never confirms: it stays in trial.

#![no_std]
#![no_main]

mod blink;
mod pattern;

use embassy_executor::Spawner;

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let build = blink::Build {
        name: "ota-blink",
        speed: 1,
    };
    blink::run(embassy_rp::init(Default::default()), build).await
}

/// A panic halts the application. On a trial boot the armed watchdog then
/// resets the chip, which the agent counts as a failed boot.
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    cortex_m::interrupt::disable();
    loop {
        cortex_m::asm::wfi();
    }
}
