//! The application's side of ota on the Pico W: the store read in place
//! through XIP, confirm through the boot ROM's flash routines (embassy-rp's
//! blocking flash driver, which runs them from RAM), the watchdog a trial
//! boot arms, and the reset back into the agent.

use embassy_rp::flash::{Blocking, Flash};
use embassy_rp::peripherals::{FLASH, WATCHDOG};
use embassy_rp::watchdog::Watchdog;
use embassy_rp::Peri;
use embassy_time::{Duration, Instant, Timer};
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
        // What the record just written says, so that trial() tells the truth.
        self.files.confirmed();
        Ok(())
    }

    /// Feeds the watchdog during a trial, until the trial's deadline (the
    /// tree's `trial_timeout_sec`, counted from this start): an application
    /// that runs but never confirms is then reset, and that start counts.
    pub fn feed(&mut self) {
        if self.files.trial().is_some() && !past(self.deadline()) {
            self.watchdog.feed(TRIAL_WATCHDOG);
        }
    }

    /// When this start's trial ends unconfirmed, if the tree sets a deadline.
    pub fn deadline(&self) -> Option<Instant> {
        let secs = self.files.trial_timeout_sec()?;
        // The agent holds the timer in reset at the hand-over: it counts from this start.
        Some(Instant::from_secs(0) + Duration::from_secs(secs.into()))
    }

    /// The trial watchdog kept fed from a task of its own, so the rest of
    /// the application need not call [`Ota::feed`]: join or spawn
    /// [`TrialKeeper::keep_trial_alive`], and confirm from wherever the
    /// application knows it works.
    pub fn trial_keeper(&self) -> TrialKeeper {
        TrialKeeper {
            trial: self.files.trial().is_some(),
            deadline: self.deadline(),
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

fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Feeds the trial watchdog from its own task (see [`Ota::trial_keeper`]).
pub struct TrialKeeper {
    trial: bool,
    deadline: Option<Instant>,
}

impl TrialKeeper {
    /// How often the keeper feeds: well inside [`TRIAL_WATCHDOG`].
    pub const EVERY: Duration = Duration::from_secs(1);

    /// Feeds the trial watchdog every [`TrialKeeper::EVERY`] until the
    /// trial's deadline, then returns and lets it run out (the start
    /// counts as a failed boot unless the application confirmed by then).
    /// Returns at once when this start is no trial. Feeding after `confirm`,
    /// which stops the watchdog, does nothing.
    pub async fn keep_trial_alive(self) {
        if !self.trial {
            return;
        }
        // SAFETY: feeding only reloads the watchdog's counter; `Ota` owns the
        // peripheral for everything else, and both run on one core.
        let mut watchdog = Watchdog::new(unsafe { WATCHDOG::steal() });
        while !past(self.deadline) {
            watchdog.feed(TRIAL_WATCHDOG);
            Timer::after(Self::EVERY).await;
        }
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
