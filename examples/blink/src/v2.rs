//! The blink application's second build: the same code, named `ota-blink-v2`
//! on its console and blinking twice as fast, so that an update of the
//! application image itself is seen from outside (the emulator's LED edges).

#![no_std]
#![no_main]

#[path = "blink.rs"]
mod blink;
mod pattern;

use embassy_executor::Spawner;

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let build = blink::Build {
        name: "ota-blink-v2",
        speed: 2,
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
