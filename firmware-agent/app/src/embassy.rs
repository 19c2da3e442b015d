//! What embassy-rp applications get on top of the board side: `Ota::take`
//! with embassy-rp's peripheral tokens, the flash chip's unique id, the
//! deadline as an embassy-time `Instant`, the trial keeper (a task that
//! feeds the watchdog), and core 1 parked while confirm writes the flash.

use embassy_rp::flash::{Blocking, Flash};
use embassy_rp::peripherals::{FLASH, WATCHDOG};
use embassy_rp::Peri;
use embassy_time::{Duration, Instant, Timer};
use ota_agent::board::FLASH_SIZE;

use crate::board::{past, Ota, TRIAL_WATCHDOG_US};
use crate::regs;

/// The watchdog timeout the agent arms on a trial boot; feed it within this.
pub const TRIAL_WATCHDOG: Duration = Duration::from_micros(TRIAL_WATCHDOG_US as u64);

impl Ota {
    /// Opens the active tree in place ([`Ota::open`]), taking the flash
    /// (confirm writes the journal) and the watchdog (a trial boot arrives
    /// with it running), so that nothing else of the application drives them.
    pub fn take(flash: Peri<'static, FLASH>, watchdog: Peri<'static, WATCHDOG>) -> Ota {
        let _ = (flash, watchdog);
        Ota::open()
    }

    /// The flash chip's unique id, which the agent uses as its USB serial number.
    pub fn unique_id(&self) -> [u8; 8] {
        // SAFETY: `Ota::take` took the flash: nothing else drives it, and
        // this borrow of it ends here.
        let mut flash = Flash::<_, Blocking, FLASH_SIZE>::new_blocking(unsafe { FLASH::steal() });
        let mut uid = [0u8; 8];
        if flash.blocking_unique_id(&mut uid).is_err() {
            uid = [0; 8];
        }
        uid
    }

    /// When this start's trial ends unconfirmed, if the tree sets a deadline.
    pub fn deadline(&self) -> Option<Instant> {
        // Both count the same timer from this start.
        self.deadline_us().map(Instant::from_micros)
    }

    /// The trial watchdog kept fed from a task of its own, so the rest of
    /// the application need not call [`Ota::feed`]: join or spawn
    /// [`TrialKeeper::keep_trial_alive`], and confirm from wherever the
    /// application knows it works.
    pub fn trial_keeper(&self) -> TrialKeeper {
        TrialKeeper {
            trial: self.trial().is_some(),
            deadline_us: self.deadline_us(),
        }
    }
}

/// Feeds the trial watchdog from its own task (see [`Ota::trial_keeper`]).
pub struct TrialKeeper {
    trial: bool,
    deadline_us: Option<u64>,
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
        while !past(self.deadline_us) {
            regs::watchdog_feed(TRIAL_WATCHDOG_US);
            Timer::after(Self::EVERY).await;
        }
    }
}

/// Runs `f` (a flash write) with core 1 parked in RAM by embassy-rp, when
/// it runs at all.
pub(crate) fn core1_paused(f: impl FnOnce() -> bool) -> bool {
    embassy_rp::multicore::pause_core1();
    let done = f();
    embassy_rp::multicore::resume_core1();
    done
}
