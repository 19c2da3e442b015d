//! The ota agent firmware for the Raspberry Pi Pico W (RP2040).
//!
//! At power-on it opens the agent's flash store and makes the boot decision
//! (spend a trial boot, or roll back), arms the watchdog on a trial boot,
//! then serves the host over USB CDC-ACM while the demo application runs.
//! All of it is one embassy task: the USB device, the agent's serial loop and
//! the application are joined futures that share the agent through a
//! `RefCell`, never borrowed across an `await`.
//!
//! Nothing is logged: the USB port carries protocol frames only.

#![no_std]
#![no_main]

mod app;
mod layout;
mod packets;
mod pattern;
mod usb;

use core::cell::RefCell;

use embassy_executor::Spawner;
use embassy_futures::join::join3;
use embassy_rp::bind_interrupts;
use embassy_rp::flash::Flash;
use embassy_rp::gpio::{Level, Output};
use embassy_rp::peripherals::USB;
use embassy_rp::usb::{Driver, InterruptHandler};
use embassy_rp::watchdog::Watchdog;
use embassy_usb::class::cdc_acm::{CdcAcmClass, State};
use ota_agent::{Agent, AgentConfig};

use crate::layout::{STORE_BASE, STORE_SECTORS};
use crate::packets::PACKET;
use crate::usb::{Link, StoreFlash};

bind_interrupts!(struct Irqs {
    USBCTRL_IRQ => InterruptHandler<USB>;
});

// The simulated Pico inside `ota` lays out its flash image by
// `ota_agent::board`; layout.rs stays free of dependencies (build.rs includes
// it), so the two maps are held equal here.
const _: () = assert!(
    layout::FLASH_SIZE == ota_agent::board::FLASH_SIZE
        && layout::AGENT_SIZE == ota_agent::board::AGENT_SIZE
        && layout::APP_SLOT_BASE == ota_agent::board::APP_SLOT_BASE
        && layout::APP_SLOT_SIZE == ota_agent::board::APP_SLOT_SIZE
        && STORE_BASE == ota_agent::board::STORE_BASE
        && STORE_SECTORS == ota_agent::board::STORE_SECTORS,
    "src/layout.rs and ota_agent::board disagree on the flash map"
);

/// What Info reports as the agent's version.
const AGENT_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+pico");

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let p = embassy_rp::init(Default::default());

    let mut flash: StoreFlash = Flash::new_blocking(p.FLASH);
    let mut uid = [0u8; 8];
    if flash.blocking_unique_id(&mut uid).is_err() {
        uid = [0; 8];
    }
    let config = AgentConfig {
        agent_version: AGENT_VERSION,
        device_id: uid,
        max_chunk: Link::max_chunk(),
    };
    // Only a flash that fails to read or program ends here: nothing can run
    // without the store (see the panic handler).
    let (mut agent, _outcome) = match Agent::boot(flash, STORE_BASE, STORE_SECTORS, config) {
        Ok(booted) => booted,
        Err(e) => panic!("agent store: {}", e.as_str()),
    };

    let plan = app::Plan::read(&mut agent);
    let mut watchdog = Watchdog::new(p.WATCHDOG);
    if plan.trial.is_some() {
        watchdog.start(app::WATCHDOG_TIMEOUT);
    }
    let agent = RefCell::new(agent);
    let watchdog = RefCell::new(watchdog);
    let led = Output::new(p.PIN_15, Level::Low);

    let mut serial = [0u8; 16];
    let serial = packets::serial_number(&uid, &mut serial);
    let mut usb_config = embassy_usb::Config::new(usb::VID, usb::PID);
    usb_config.manufacturer = Some(usb::MANUFACTURER);
    usb_config.product = Some(usb::PRODUCT);
    usb_config.serial_number = Some(serial);
    usb_config.max_power = 100;
    usb_config.max_packet_size_0 = PACKET as u8;

    let mut config_descriptor = [0u8; 256];
    let mut bos_descriptor = [0u8; 256];
    let mut control_buf = [0u8; 64];
    let mut cdc_state = State::new();
    let mut builder = embassy_usb::Builder::new(
        Driver::new(p.USB, Irqs),
        usb_config,
        &mut config_descriptor,
        &mut bos_descriptor,
        &mut [], // no Microsoft OS descriptors
        &mut control_buf,
    );
    let mut class = CdcAcmClass::new(&mut builder, &mut cdc_state, PACKET as u16);
    let mut device = builder.build();

    join3(
        device.run(),
        usb::serve(&mut class, &agent, &watchdog),
        app::run(&agent, &watchdog, led, plan),
    )
    .await;
}

/// A panic halts the firmware. On a trial boot the armed watchdog then resets
/// the chip, which counts as a failed boot of the trial tree; otherwise the
/// board stays halted until it is power-cycled or reflashed.
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    cortex_m::interrupt::disable();
    loop {
        cortex_m::asm::wfi();
    }
}
