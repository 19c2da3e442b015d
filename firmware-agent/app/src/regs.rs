//! The few RP2040 registers the application's side of ota touches, written
//! directly so that it needs no HAL: the watchdog the agent arms on a trial
//! boot (reload, stop, the scratch register, the reset) and the 1 MHz timer
//! that dates the trial's deadline (and its reset). Addresses from the RP2040 datasheet.
//!
//! It never changes the watchdog's tick (the HAL's clock set-up owns it)
//! and never puts the timer into reset.

use core::ptr::{read_volatile, write_volatile};

const WATCHDOG: usize = 0x4005_8000;
const CTRL: usize = WATCHDOG;
const LOAD: usize = WATCHDOG + 0x04;
const SCRATCH0: usize = WATCHDOG + 0x0C;
/// The atomic set and clear aliases of a peripheral register.
const SET: usize = 0x2000;
const CLEAR: usize = 0x3000;
const ENABLE: u32 = 1 << 30;
const TRIGGER: u32 = 1 << 31;
/// CTRL's pause-on-debug bits (JTAG, core 0, core 1).
const PAUSE_DBG: u32 = 0b111 << 24;
/// The power-on state machine's watchdog reset selection: everything but
/// the ring and crystal oscillators, as the Pico SDK and embassy-rp choose.
const PSM_WDSEL: usize = 0x4001_0000 + 0x08;
const WDSEL_ALL_BUT_OSCILLATORS: u32 = 0x0001_FFFC;

const TIMERAWH: usize = 0x4005_4024;
const TIMERAWL: usize = 0x4005_4028;

fn write(addr: usize, value: u32) {
    // SAFETY: `addr` is one of the registers above, each a plain 32-bit
    // register whose writes have no effect beyond the one named here.
    unsafe { write_volatile(addr as *mut u32, value) }
}

fn read(addr: usize) -> u32 {
    // SAFETY: as for `write`; reading these registers has no side effect.
    unsafe { read_volatile(addr as *const u32) }
}

/// Reloads the running watchdog with `us` microseconds (at most 8.3 s).
pub fn watchdog_feed(us: u32) {
    // RP2040-E1: the counter goes down twice a tick.
    write(LOAD, us.saturating_mul(2).min(0x00FF_FFFF));
}

/// Stops the watchdog.
pub fn watchdog_stop() {
    write(CTRL + CLEAR, ENABLE);
}

pub fn set_scratch(index: usize, value: u32) {
    write(SCRATCH0 + 4 * (index & 7), value);
}

/// Resets the chip now, through the watchdog.
pub fn watchdog_reset() -> ! {
    write(PSM_WDSEL, WDSEL_ALL_BUT_OSCILLATORS);
    write(CTRL + CLEAR, PAUSE_DBG);
    write(CTRL + SET, ENABLE);
    write(CTRL + SET, TRIGGER);
    loop {
        cortex_m::asm::nop();
    }
}

/// Takes the timer out of reset, where the agent leaves it at the hand-over
/// (a HAL's time driver would too), so that the deadline can be dated.
pub fn timer_start() {
    const RESETS: usize = 0x4000_C000;
    const RESET_DONE: usize = RESETS + 0x08;
    const TIMER: u32 = 1 << 21;
    write(RESETS + CLEAR, TIMER);
    while read(RESET_DONE) & TIMER == 0 {}
}

/// Microseconds since the timer left reset: the agent holds it in reset at
/// the hand-over, so this counts from the application's start.
pub fn now_us() -> u64 {
    loop {
        let high = read(TIMERAWH);
        let low = read(TIMERAWL);
        if read(TIMERAWH) == high {
            return (high as u64) << 32 | low as u64;
        }
    }
}
