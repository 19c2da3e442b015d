//! The resident ota agent for the Raspberry Pi Pico W (RP2040).
//!
//! It runs first at every reset. When the application slot holds an
//! application, it makes the boot decision (spend a trial boot, roll back,
//! or stay in charge of a tree that failed its trial with nothing to go back to),
//! arms the watchdog on a trial boot and hands the chip over to it
//! (handover.rs). It stays in charge, serving the host over USB CDC-ACM, when
//! the slot holds no application, when the application asked for it (the
//! 1200-baud touch, through a watchdog scratch register), or when a host
//! sends a frame within [`HOST_WINDOW`] of a power-on.
//!
//! It runs from SRAM (loader.rs copies it there at reset, link-ram.x lays
//! it out), so that the flash can be erased and programmed under it.
//!
//! Nothing is logged: the USB port carries protocol frames only.

#![no_std]
#![no_main]

mod block_flash;
mod handover;
mod layout;
mod loader;
mod packets;
mod usb;

use core::cell::RefCell;

use embassy_executor::Spawner;
use embassy_futures::select::{select, Either};
use embassy_rp::bind_interrupts;
use embassy_rp::peripherals::USB;
use embassy_rp::usb::{Driver, InterruptHandler};
use embassy_rp::watchdog::Watchdog;
use embassy_time::Duration;
use embassy_usb::class::cdc_acm::{CdcAcmClass, State};
use ota_agent::board::{APP_SLOT_BASE, APP_SLOT_SIZE};
use ota_agent::layout::State as TreeState;
use ota_agent::{slot, Agent, AgentConfig, Store};
use ota_protocol::AppSlot;

use crate::layout::{STORE_BASE, STORE_SECTORS};
use crate::packets::PACKET;
use crate::usb::{Link, StoreFlash};

bind_interrupts!(struct Irqs {
    USBCTRL_IRQ => InterruptHandler<USB>;
});

// The simulated Pico inside `ota`, the application crate and the UF2 writer
// lay out the flash by `ota_agent::board`; layout.rs stays free of
// dependencies (build.rs includes it), so the two maps are held equal here.
const _: () = assert!(
    layout::FLASH_SIZE == ota_agent::board::FLASH_SIZE
        && layout::AGENT_SIZE == ota_agent::board::AGENT_SIZE
        && layout::APP_SLOT_BASE == ota_agent::board::APP_SLOT_BASE
        && layout::APP_SLOT_SIZE == ota_agent::board::APP_SLOT_SIZE
        && STORE_BASE == ota_agent::board::STORE_BASE
        && STORE_SECTORS == ota_agent::board::STORE_SECTORS,
    "src/layout.rs and ota_agent::board disagree on the flash map"
);

/// The application slot, as offsets in the flash the store lives in.
const SLOT: core::ops::Range<u32> = APP_SLOT_BASE..APP_SLOT_BASE + APP_SLOT_SIZE;
/// What Info reports as the agent's version.
const AGENT_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+pico");
/// Watchdog timeout on a trial boot (the RP2040 allows at most about 8.3 s):
/// the application must feed it, or confirm, within this.
const TRIAL_WATCHDOG: Duration = Duration::from_secs(8);
/// After a power-on with an application in the slot, how long the agent
/// waits, from the moment a USB host has configured it (see
/// `usb::ENUMERATION_CAP`), for a host to send it a frame before it hands over. This is how a
/// host reaches the agent under an application that never runs USB. Resets
/// (a reboot asked for, the 1200-baud touch, a watchdog) skip it.
const HOST_WINDOW: Duration = Duration::from_millis(300);

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let p = embassy_rp::init(Default::default());
    let mut watchdog = Watchdog::new(p.WATCHDOG);
    let asked = handover::take_stay_request(&mut watchdog);
    let visit = handover::take_visit(&mut watchdog);
    let power_on = watchdog.reset_reason().is_none();

    let mut flash = StoreFlash::new(p.FLASH);
    let mut uid = [0u8; 8];
    if flash.blocking_unique_id(&mut uid).is_err() {
        uid = [0; 8];
    }
    let app = handover::slot();
    let config = AgentConfig {
        agent_version: AGENT_VERSION,
        device_id: uid,
        max_chunk: Link::max_chunk(),
        app,
        boot_id: boot_id(&mut watchdog),
    };
    // Only a flash that fails to read or program ends here: nothing can run
    // without the store (see the panic handler).
    let store = match Store::open(flash, STORE_BASE, STORE_SECTORS) {
        Ok(store) => store,
        Err(e) => panic!("agent store: {}", e.as_str()),
    };
    let mut agent = Agent::new(store, config);
    agent.set_slot_base(APP_SLOT_BASE);
    // An application to run: in the slot already, or to be copied there
    // from the active tree; never a tree that failed its trial.
    let image = matches!(slot::target(agent.store_mut()), Ok(Some(_)));
    let failed = agent.store().state() == TreeState::Failed;
    let mut hand_over = (app == AppSlot::Valid || image) && !asked && !failed;
    if hand_over && !power_on {
        start_application(&mut agent, &mut watchdog, visit);
        // Nothing can run, or its trial just failed: serve the host.
        hand_over = false;
    }
    if app != AppSlot::Valid && !image {
        // Nothing can run a trial tree, so nothing could confirm it.
        if matches!(agent.store().state(), TreeState::Trial { .. }) {
            let _ = agent.store_mut().confirm();
        }
    }

    let agent = RefCell::new(agent);
    let watchdog = RefCell::new(watchdog);
    let mut serial = [0u8; 16];
    let serial = ota_agent::board::serial_number(&uid, &mut serial);
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

    // Serves for ever, unless this boot has an application to hand over to
    // and no host speaks within the window.
    let window = hand_over.then_some(HOST_WINDOW);
    if let Either::First(never) = select(
        device.run(),
        usb::serve(&mut class, &agent, &watchdog, window),
    )
    .await
    {
        never
    }
    // The USB device is left as it is: the hand-over holds the controller in reset.
    let (mut agent, mut watchdog) = (agent.into_inner(), watchdog.into_inner());
    start_application(&mut agent, &mut watchdog, visit);
    // Nothing could be run: a reset starts the agent again, in charge this time.
    watchdog.set_scratch(ota_agent::board::STAY_SCRATCH, ota_agent::board::STAY_MAGIC);
    usb::reboot(&mut watchdog);
}

/// This start's number for Info: the starts since power-on, counted in a
/// watchdog scratch register, with 16 bits of the ring oscillator's noise
/// above them so that a power cycle (which restarts the count) is not taken
/// for the same start either.
fn boot_id(watchdog: &mut Watchdog) -> u32 {
    let starts = watchdog
        .get_scratch(ota_agent::board::BOOTS_SCRATCH)
        .wrapping_add(1);
    watchdog.set_scratch(ota_agent::board::BOOTS_SCRATCH, starts);
    let noise = u32::from(embassy_rp::clocks::RoscRng::next_u8()) << 8
        | u32::from(embassy_rp::clocks::RoscRng::next_u8());
    noise << 16 | (starts & 0xFFFF)
}

/// The boot decision, the application image into the slot, then the
/// hand-over; returns only when nothing can be run. A trial boot arms the
/// watchdog (after the copy, which may take seconds), so an application that
/// hangs before it confirms costs a boot; one that runs out of boots has been
/// rolled back by `boot()` to the previous tree and its image, or, with none
/// to go back to, failed (the agent then stays in charge). A tree whose
/// image cannot be put in place, or is no application, fails its trial at
/// once and the previous tree is tried. The reset that ends a host's `visit`
/// is no boot the application ended, so it spends no trial boot.
fn start_application(agent: &mut Agent<StoreFlash>, watchdog: &mut Watchdog, visit: bool) {
    let store = agent.store_mut();
    if !visit {
        // A journal that cannot be written: go on with the tree as it is.
        let _ = store.boot();
    }
    if store.state() == TreeState::Failed {
        return;
    }
    if slot::prepare(store, SLOT, |_| handover::slot()) {
        if matches!(store.state(), TreeState::Trial { .. }) {
            watchdog.start(TRIAL_WATCHDOG);
        }
        handover::start_application()
    }
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
