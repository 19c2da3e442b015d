//! defmt over the application's USB CDC-ACM port: the global logger puts
//! each frame (rzCOBS-encoded, ended by a zero byte) into a RAM ring, and
//! [`pump`] sends the ring to the host whenever a host has the port open.
//! `ota monitor --elf` and `ota run` decode the frames with the ELF's table;
//! plain text written to the same port between frames shows as it is.
//!
//! ```ignore
//! let mut class = CdcAcmClass::new(&mut builder, &mut cdc_state, 64);
//! join(device.run(), ota_app::log::pump(&mut class)).await;   // beside your tasks
//! defmt::info!("up: {=str}", version);
//! ```
//!
//! A logger never blocks: while no host reads, new frames that do not fit
//! in the ring are dropped, and the host skips a frame cut short.

use core::cell::{RefCell, UnsafeCell};
use core::sync::atomic::{AtomicBool, Ordering};

use critical_section::{Mutex, RestoreState};
use embassy_time::Timer;
use embassy_usb::class::cdc_acm::CdcAcmClass;
use embassy_usb::driver::Driver;

/// Bytes of frames kept for the host.
const RING: usize = 2048;
/// A full-speed bulk packet.
const PACKET: usize = 64;

struct Ring {
    buf: [u8; RING],
    start: usize,
    len: usize,
}

impl Ring {
    fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len == RING {
                return;
            }
            self.buf[(self.start + self.len) % RING] = b;
            self.len += 1;
        }
    }

    fn pop(&mut self, out: &mut [u8]) -> usize {
        let n = self.len.min(out.len());
        for slot in out.iter_mut().take(n) {
            *slot = self.buf[self.start];
            self.start = (self.start + 1) % RING;
        }
        self.len -= n;
        n
    }
}

static FRAMES: Mutex<RefCell<Ring>> = Mutex::new(RefCell::new(Ring {
    buf: [0; RING],
    start: 0,
    len: 0,
}));

/// What only the holder of the logger touches (between acquire and release).
struct Held {
    encoder: defmt::Encoder,
    restore: RestoreState,
}

struct HeldCell(UnsafeCell<Held>);

// SAFETY: reached only between acquire and release, inside a critical
// section that TAKEN makes exclusive.
unsafe impl Sync for HeldCell {}

static TAKEN: AtomicBool = AtomicBool::new(false);
static HELD: HeldCell = HeldCell(UnsafeCell::new(Held {
    encoder: defmt::Encoder::new(),
    restore: RestoreState::invalid(),
}));

fn keep(bytes: &[u8]) {
    critical_section::with(|cs| FRAMES.borrow_ref_mut(cs).push(bytes));
}

#[defmt::global_logger]
struct CdcLogger;

// SAFETY: acquire takes a critical section and refuses a second holder, so
// the encoder is used by one frame at a time; release ends both.
unsafe impl defmt::Logger for CdcLogger {
    fn acquire() {
        // SAFETY: released in `release`, as defmt pairs the two calls.
        let restore = unsafe { critical_section::acquire() };
        // Inside the critical section a load and a store are one step (the
        // M0+ has no compare-and-swap).
        if TAKEN.load(Ordering::Relaxed) {
            panic!("defmt logger taken reentrantly");
        }
        TAKEN.store(true, Ordering::Relaxed);
        // SAFETY: the logger is held (TAKEN) inside a critical section.
        let held = unsafe { &mut *HELD.0.get() };
        held.restore = restore;
        held.encoder.start_frame(keep);
    }

    unsafe fn flush() {}

    unsafe fn release() {
        // SAFETY: defmt calls this once after acquire, still holding the logger.
        let held = unsafe { &mut *HELD.0.get() };
        held.encoder.end_frame(keep);
        let restore = held.restore;
        TAKEN.store(false, Ordering::Relaxed);
        // SAFETY: the state `acquire` got, given back once.
        unsafe { critical_section::release(restore) };
    }

    unsafe fn write(bytes: &[u8]) {
        // SAFETY: called only while the logger is held.
        let held = unsafe { &mut *HELD.0.get() };
        held.encoder.write(bytes, keep);
    }
}

/// Sends the logged frames on `class` whenever a host has the port open;
/// never returns. Run it beside the application's tasks.
pub async fn pump<'d, D: Driver<'d>>(class: &mut CdcAcmClass<'d, D>) -> ! {
    let mut packet = [0u8; PACKET];
    loop {
        class.wait_connection().await;
        let n = critical_section::with(|cs| FRAMES.borrow_ref_mut(cs).pop(&mut packet));
        if n == 0 {
            Timer::after_millis(10).await;
            continue;
        }
        let _ = class.write_packet(&packet[..n]).await;
    }
}
