//! The same application as without.rs, using what an application takes from
//! ota-app: a file of the active tree, the version, the trial state, feeding
//! the trial watchdog and confirming. measure.sh compares the two.

#![no_std]
#![no_main]

use embassy_executor::Spawner;
use embassy_rp::gpio::{Level, Output};
use embassy_time::Timer;
use ota_app::Ota;

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let p = embassy_rp::init(Default::default());
    let mut ota = Ota::take(p.FLASH, p.WATCHDOG);
    let mut led = Output::new(p.PIN_15, Level::Low);
    // Something read from the tree and the version, so neither is optimised away.
    let version = ota.version().len() as u64;
    let ms = ota
        .file("blink.txt")
        .map_or(500, |f| f.len() as u64 + version);
    loop {
        led.toggle();
        ota.feed();
        if ota.trial().is_some() {
            let _ = ota.confirm();
        }
        Timer::after_millis(ms).await;
    }
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    cortex_m::interrupt::disable();
    loop {
        cortex_m::asm::wfi();
    }
}
