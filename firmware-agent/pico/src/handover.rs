//! Handing the chip over to the application in the slot, the two ways
//! the agent is asked to stay in charge instead, and the mark a host's
//! visit leaves so that handing back costs no trial boot.
//!
//! The hand-over leaves the chip as the application expects it after a
//! reset, but for the clocks (which every runtime sets up again, embassy-rp's
//! and the Pico SDK's alike) and the watchdog (armed on a trial boot, so that
//! a hung application costs a boot): XIP set up again by boot2 (the agent
//! itself runs from RAM and reads no code from it), every interrupt disabled and cleared,
//! SysTick stopped, the USB controller and the timer held in reset (the host
//! sees the agent's USB device go away), VTOR on the slot's vector table,
//! MSP from its first word, then a jump to its reset vector.

use embassy_rp::watchdog::Watchdog;
use ota_agent::board::{
    slot_holds, APP_SLOT_BASE, STAY_MAGIC, STAY_SCRATCH, VISIT_MAGIC, VISIT_SCRATCH, XIP_BASE,
};
use ota_protocol::AppSlot;

const SLOT: u32 = XIP_BASE + APP_SLOT_BASE;
/// RESETS.RESET through its atomic set alias (RP2040 datasheet §2.14, §2.1.2).
const RESETS_RESET_SET: u32 = 0x4000_C000 + 0x2000;
const RESET_TIMER: u32 = 1 << 21;
const RESET_USBCTRL: u32 = 1 << 24;

/// What the slot holds: its first two words, the initial stack pointer and
/// the reset vector, must look like an application linked for the slot.
pub fn slot() -> AppSlot {
    let mut first = [0u8; 8];
    for (i, b) in first.iter_mut().enumerate() {
        // SAFETY: the slot is mapped read-only through XIP for the whole run.
        *b = unsafe { core::ptr::read_volatile((SLOT as usize + i) as *const u8) };
    }
    slot_holds(&first)
}

/// Whether the application asked, before the reset that started this boot,
/// for the agent to stay in charge. The request holds for one boot only.
pub fn take_stay_request(watchdog: &mut Watchdog) -> bool {
    let asked = watchdog.get_scratch(STAY_SCRATCH) == STAY_MAGIC;
    watchdog.set_scratch(STAY_SCRATCH, 0);
    asked
}

/// Whether the reset that started this boot ended a host's visit that
/// changed nothing (see [`mark_visit`]). Holds for one boot only.
pub fn take_visit(watchdog: &mut Watchdog) -> bool {
    let visit = watchdog.get_scratch(VISIT_SCRATCH) == VISIT_MAGIC;
    watchdog.set_scratch(VISIT_SCRATCH, 0);
    visit
}

/// Tells the next start that this reset ends a visit: the host only looked,
/// so handing back to the application is no new trial boot.
pub fn mark_visit(watchdog: &mut Watchdog) {
    watchdog.set_scratch(VISIT_SCRATCH, VISIT_MAGIC);
}

/// Jumps to the application. Never returns.
pub fn start_application() -> ! {
    crate::block_flash::restore_xip();
    cortex_m::interrupt::disable();
    // SAFETY: the agent gives up the chip here: nothing of it runs again
    // until the next reset, so no driver sees its peripherals change.
    unsafe {
        let nvic = &*cortex_m::peripheral::NVIC::PTR;
        nvic.icer[0].write(u32::MAX);
        nvic.icpr[0].write(u32::MAX);
        let syst = &*cortex_m::peripheral::SYST::PTR;
        syst.csr.write(0);
        let scb = &*cortex_m::peripheral::SCB::PTR;
        // PendSV and SysTick pending bits.
        scb.icsr.write((1 << 27) | (1 << 25));
    }
    // SAFETY: a write to the set alias changes only the bits given.
    unsafe {
        core::ptr::write_volatile(RESETS_RESET_SET as *mut u32, RESET_USBCTRL | RESET_TIMER);
    }
    // SAFETY: the slot's vector table was checked by `slot()`; interrupts
    // are enabled again as a reset would leave them, with every line off.
    unsafe {
        let scb = &*cortex_m::peripheral::SCB::PTR;
        scb.vtor.write(SLOT);
        cortex_m::asm::dsb();
        cortex_m::asm::isb();
        cortex_m::interrupt::enable();
        cortex_m::asm::bootload(SLOT as *const u32)
    }
}
