//! The application's side of ota on the Pico W, on any HAL (rp2040-hal,
//! embassy-rp, or none): the store read in place through XIP, confirm
//! written through the boot ROM's flash routines (`rom_flash.rs`), the
//! watchdog a trial boot arms, and the reset back into the agent.
//! embassy-rp applications take it through `embassy.rs`.

use ota_agent::board::{STAY_MAGIC, STAY_SCRATCH, STORE_BASE, STORE_SECTORS, XIP_BASE};
use ota_agent::layout::SECTOR;
use ota_agent::Error;

use crate::files::{Files, Trial};
use crate::regs;
use crate::rom_flash::{self, Op};

/// The watchdog timeout the agent arms on a trial boot, in microseconds;
/// feed it within this.
pub const TRIAL_WATCHDOG_US: u32 = 8_000_000;

/// ota's view of the board for the application.
pub struct Ota {
    pub(crate) files: Files,
}

impl Ota {
    /// Opens the active tree in place. On a trial boot the watchdog the
    /// agent armed is running: [`Ota::feed`] it, then [`Ota::confirm`].
    /// Make one `Ota` and keep it: it drives the watchdog's reload and
    /// enable, which the HAL's own watchdog must then leave alone.
    pub fn open() -> Ota {
        // SAFETY: the store region is mapped read-only at XIP_BASE + STORE_BASE
        // for the whole run; only the journal changes under it (confirm), and
        // no file extent of the active tree is ever rewritten while it is active.
        let image: &'static [u8] = unsafe {
            core::slice::from_raw_parts(
                (XIP_BASE + STORE_BASE) as *const u8,
                (STORE_SECTORS * SECTOR) as usize,
            )
        };
        // A store the agent cannot read either opens as an empty tree.
        let files = Files::open(image, STORE_SECTORS).unwrap_or_else(|_| Files::empty());
        regs::timer_start();
        Ota { files }
    }

    /// The bytes of a file of the active tree, in place in flash.
    pub fn file(&mut self, path: &str) -> Option<&[u8]> {
        self.files.file(path)
    }

    /// A file of the active tree as a `'static` slice of flash, for an
    /// asset kept for the whole run (a table, a font).
    pub fn asset(&mut self, path: &str) -> Option<&'static [u8]> {
        self.files.asset(path)
    }

    /// A file of the active tree aligned to `A` (up to 256 bytes: every file
    /// starts on a page), for a driver that takes `&Aligned<A, [u8]>`.
    pub fn aligned<A: crate::Alignment>(
        &mut self,
        path: &str,
    ) -> Option<&'static crate::Aligned<A, [u8]>> {
        self.files.aligned(path)
    }

    /// Every file of the active tree.
    pub fn files(&mut self) -> &mut Files {
        &mut self.files
    }

    pub fn version(&self) -> &str {
        self.files.version()
    }

    pub fn git_ref(&self) -> &str {
        self.files.git_ref()
    }

    pub fn commit(&self) -> &str {
        self.files.commit()
    }

    /// `Some` on a trial boot: feed the watchdog ([`Ota::feed`]) until
    /// [`Ota::confirm`], or the agent takes the reset as a failed boot.
    pub fn trial(&self) -> Option<Trial> {
        self.files.trial()
    }

    /// Keeps the trial tree: one journal record, power-cut safe. Stops the
    /// watchdog the agent armed for the trial. Core 1 must not run from
    /// flash meanwhile (embassy-rp's core 1 is paused for it).
    pub fn confirm(&mut self) -> Result<(), Error> {
        if self.files.trial().is_none() {
            return Ok(());
        }
        // Read again: the journal as it stands now, in case it moved.
        let journal = self.files.image();
        let newest = ota_agent::confirm::scan_in(journal).ok_or(Error::Corrupt)?;
        let Some(record) = ota_agent::confirm::confirmed(&newest) else {
            self.files.confirmed(); // confirmed already
            return Ok(());
        };
        let (at, erase) = newest.next_slot();
        let (page_at, page) = ota_agent::confirm::page_for(at, &record);
        let done = core1_paused(|| {
            (!erase || rom_flash::run(Op::Erase(STORE_BASE + at)))
                && rom_flash::run(Op::Program(STORE_BASE + page_at, &page))
        });
        if !done {
            return Err(Error::Flash);
        }
        regs::watchdog_stop();
        // What the record just written says, so that trial() tells the truth.
        self.files.confirmed();
        Ok(())
    }

    /// Feeds the watchdog during a trial, until the trial's deadline (the
    /// tree's `trial_timeout_sec`, counted from this start): an application
    /// that runs but never confirms is then reset, and that start counts.
    pub fn feed(&mut self) {
        if self.files.trial().is_some() && !past(self.deadline_us()) {
            regs::watchdog_feed(TRIAL_WATCHDOG_US);
        }
    }

    /// When this start's trial ends unconfirmed, if the tree sets a
    /// deadline: microseconds of the RP2040's timer, which counts from
    /// this start (the agent holds it in reset at the hand-over).
    pub fn deadline_us(&self) -> Option<u64> {
        let secs = self.files.trial_timeout_sec()?;
        Some(secs as u64 * 1_000_000)
    }

    /// Resets into the agent, which then stays in charge and serves the host.
    pub fn reboot_to_agent(&mut self) -> ! {
        reboot_to_agent()
    }
}

/// Core 1 kept off the flash while `f` writes it: embassy-rp parks it; an
/// application on another HAL must not run core 1 from flash meanwhile.
#[cfg(feature = "embassy")]
use crate::embassy::core1_paused;
#[cfg(not(feature = "embassy"))]
fn core1_paused(f: impl FnOnce() -> bool) -> bool {
    f()
}

pub(crate) fn past(deadline_us: Option<u64>) -> bool {
    deadline_us.is_some_and(|d| regs::now_us() >= d)
}

/// Resets into the agent from anywhere (no `Ota` needed).
pub fn reboot_to_agent() -> ! {
    regs::set_scratch(STAY_SCRATCH, STAY_MAGIC);
    regs::watchdog_reset()
}
