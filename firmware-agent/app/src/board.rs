//! The application's side of ota on the Pico W: the store read in place
//! through XIP, confirm through the boot ROM's flash routines (embassy-rp's
//! blocking flash driver, which runs them from RAM), the watchdog a trial
//! boot arms, and the reset back into the agent.

use embassy_rp::flash::{Blocking, Flash};
use embassy_rp::peripherals::{FLASH, WATCHDOG};
use embassy_rp::watchdog::Watchdog;
use embassy_rp::Peri;
use embassy_time::Duration;
use ota_agent::board::{FLASH_SIZE, STAY_MAGIC, STAY_SCRATCH, STORE_BASE, STORE_SECTORS, XIP_BASE};
use ota_agent::layout::SECTOR;
use ota_agent::Error;

use crate::files::{confirm, Files, Trial};

type BoardFlash = Flash<'static, FLASH, Blocking, FLASH_SIZE>;

/// The watchdog timeout the agent arms on a trial boot; feed it within this.
pub const TRIAL_WATCHDOG: Duration = Duration::from_secs(8);

/// ota's view of the board for the application.
pub struct Ota {
    files: Files,
    flash: BoardFlash,
    watchdog: Watchdog,
    uid: [u8; 8],
}

impl Ota {
    /// Opens the active tree in place. Takes the flash (confirm writes the
    /// journal) and the watchdog (a trial boot arrives with it running).
    pub fn take(flash: Peri<'static, FLASH>, watchdog: Peri<'static, WATCHDOG>) -> Ota {
        let mut flash = BoardFlash::new_blocking(flash);
        let mut uid = [0u8; 8];
        if flash.blocking_unique_id(&mut uid).is_err() {
            uid = [0; 8];
        }
        // SAFETY: the store region is mapped read-only at XIP_BASE + STORE_BASE
        // for the whole run; only the journal changes under it (confirm), and
        // no file extent of the active tree is ever rewritten while it is active.
        let image: &'static [u8] = unsafe {
            core::slice::from_raw_parts(
                (XIP_BASE + STORE_BASE) as *const u8,
                (STORE_SECTORS * SECTOR) as usize,
            )
        };
        let files = Files::open(image, STORE_SECTORS).unwrap_or_else(|_| {
            // A store the agent cannot read either: an empty tree.
            Files::open(&[], 0).unwrap_or_else(|_| panic!("ota: store geometry"))
        });
        Ota {
            files,
            flash,
            watchdog: Watchdog::new(watchdog),
            uid,
        }
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
    /// watchdog the agent armed for the trial.
    pub fn confirm(&mut self) -> Result<(), Error> {
        if self.files.trial().is_none() {
            return Ok(());
        }
        confirm(&mut self.flash, STORE_BASE, STORE_SECTORS)?;
        self.watchdog.stop();
        // Read the journal again so that trial() tells the truth.
        let image = self.files.image();
        if let Ok(f) = Files::open(image, STORE_SECTORS) {
            self.files = f;
        }
        Ok(())
    }

    /// Feeds the watchdog during a trial.
    pub fn feed(&mut self) {
        if self.files.trial().is_some() {
            self.watchdog.feed(TRIAL_WATCHDOG);
        }
    }

    /// The flash chip's unique id, which the agent uses as its USB serial number.
    pub fn unique_id(&self) -> [u8; 8] {
        self.uid
    }

    /// Resets into the agent, which then stays in charge and serves the host.
    pub fn reboot_to_agent(&mut self) -> ! {
        stay_and_reset(&mut self.watchdog)
    }
}

/// Resets into the agent from anywhere (the watchdog need not be taken).
pub fn reboot_to_agent() -> ! {
    // SAFETY: only the scratch register and the reset trigger are touched,
    // and the chip resets right after.
    let mut watchdog = Watchdog::new(unsafe { WATCHDOG::steal() });
    stay_and_reset(&mut watchdog)
}

fn stay_and_reset(watchdog: &mut Watchdog) -> ! {
    watchdog.set_scratch(STAY_SCRATCH, STAY_MAGIC);
    watchdog.trigger_reset();
    loop {
        cortex_m::asm::nop();
    }
}
