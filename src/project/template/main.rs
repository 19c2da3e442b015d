//! An application for the ota slot of a Raspberry Pi Pico W.
//!
//! It reads `greeting.txt` from the files of the tree (in place in flash),
//! logs a line with defmt every second, sent on its USB CDC-ACM port
//! (`cargo run` shows them, decoded with this ELF), confirms a trial version once it has run for a few seconds, and
//! resets into the ota agent when the host touches the port at 1200 baud, so
//! that the next `cargo run` reaches the board without a button.

#![no_std]
#![no_main]

use core::cell::RefCell;

use embassy_executor::Spawner;
use embassy_futures::join::{join, join4};
use embassy_rp::bind_interrupts;
use embassy_rp::peripherals::USB;
use embassy_rp::usb::{Driver, InterruptHandler};
use embassy_time::{Duration, Instant, Timer};
use embassy_usb::class::cdc_acm::{CdcAcmClass, State};
use ota_app::usb::Touch;
use ota_app::Ota;

bind_interrupts!(struct Irqs {
    USBCTRL_IRQ => InterruptHandler<USB>;
});

/// How long a trial version must run before the application keeps it.
const HEALTHY_AFTER: Duration = Duration::from_secs(3);
const GREETING_FILE: &str = "greeting.txt";

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let p = embassy_rp::init(Default::default());
    let mut ota = Ota::take(p.FLASH, p.WATCHDOG);
    let greeting = ota.asset(GREETING_FILE).unwrap_or(b"(no greeting.txt)\n");
    let uid = ota.unique_id();
    let ota = RefCell::new(ota);

    let mut serial = [0u8; 16];
    let mut config = embassy_usb::Config::new(0x1209, 0x0001);
    config.manufacturer = Some("ota");
    config.product = Some(env!("CARGO_PKG_NAME"));
    config.serial_number = Some(ota_app::serial_number(&uid, &mut serial));
    config.max_power = 100;
    config.max_packet_size_0 = 64;
    let touch = Touch::new();
    let mut handler = touch.handler();
    let mut config_descriptor = [0u8; 256];
    let mut bos_descriptor = [0u8; 256];
    let mut control_buf = [0u8; 64];
    let mut cdc_state = State::new();
    let mut builder = embassy_usb::Builder::new(
        Driver::new(p.USB, Irqs),
        config,
        &mut config_descriptor,
        &mut bos_descriptor,
        &mut [],
        &mut control_buf,
    );
    builder.handler(&mut handler); // before the CDC-ACM class: the 1200-baud touch
    let mut class = CdcAcmClass::new(&mut builder, &mut cdc_state, 64);
    let mut device = builder.build();

    join4(
        device.run(),
        touch.wait(),
        keep_trial(&ota),
        join(log(&ota, greeting), ota_app::log::pump(&mut class)),
    )
    .await;
}

/// Feeds the watchdog the agent armed for a trial, and confirms the version
/// once it has run for [`HEALTHY_AFTER`]: a version that hangs or panics
/// before that is rolled back by the agent.
async fn keep_trial(ota: &RefCell<Ota>) {
    if ota.borrow().trial().is_none() {
        return;
    }
    let healthy_at = Instant::now() + HEALTHY_AFTER;
    loop {
        ota.borrow_mut().feed();
        if Instant::now() >= healthy_at && ota.borrow_mut().confirm().is_ok() {
            return;
        }
        Timer::after_secs(1).await;
    }
}

/// One log line a second.
async fn log(ota: &RefCell<Ota>, greeting: &[u8]) -> ! {
    let greeting = core::str::from_utf8(greeting).unwrap_or("(greeting.txt is not UTF-8)");
    let mut n: u32 = 0;
    loop {
        {
            let ota = ota.borrow();
            let state = if ota.trial().is_some() {
                "trial"
            } else {
                "confirmed"
            };
            defmt::info!(
                "{=str} {=str} {=str} #{=u32}: {=str}",
                env!("CARGO_PKG_NAME"),
                ota.version(),
                state,
                n,
                greeting.trim_end()
            );
        }
        n = n.wrapping_add(1);
        Timer::after_secs(1).await;
    }
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
