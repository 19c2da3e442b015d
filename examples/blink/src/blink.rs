//! The blink application itself, shared by its two builds (main.rs, v2.rs).

use core::cell::RefCell;
use core::fmt::Write as _;

use embassy_futures::join::join4;
use embassy_rp::bind_interrupts;
use embassy_rp::gpio::{Level, Output};
use embassy_rp::peripherals::USB;
use embassy_rp::usb::{Driver, InterruptHandler};
use embassy_time::{Duration, Timer};
use embassy_usb::class::cdc_acm::{CdcAcmClass, State};
use ota_app::usb::Touch;
use ota_app::Ota;

use crate::pattern::{Pattern, MAX_TEXT};
use embassy_rp::Peripherals;

bind_interrupts!(struct Irqs {
    USBCTRL_IRQ => InterruptHandler<USB>;
});

type Cdc<'d> = CdcAcmClass<'d, Driver<'d, USB>>;

/// How long a trial tree must run before the application confirms it.
const CONFIRM_AFTER: Duration = Duration::from_secs(5);
/// How often a confirm that failed (a flash error) is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(1);
const PATTERN_FILE: &str = "blink.txt";
const NO_CONFIRM_FILE: &str = "ota-no-confirm";
const UNDECIDED_FILE: &str = "ota-feed-no-confirm";

/// What the application does on a trial boot, as its tree's files say.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnTrial {
    /// Feeds the watchdog and confirms after [`CONFIRM_AFTER`].
    Confirm,
    /// Hangs (`ota-no-confirm`): no feeding, no confirming.
    Hang,
    /// Runs and feeds the watchdog but never confirms (`ota-feed-no-confirm`).
    Undecided,
}

/// Which build this is: its name on the console, and how much faster it
/// blinks the same pattern (two builds that differ observably, for tests of
/// application updates).
#[derive(Clone, Copy)]
pub struct Build {
    pub name: &'static str,
    pub speed: u16,
}

/// The whole application.
pub async fn run(p: Peripherals, build: Build) {
    let mut ota = Ota::take(p.FLASH, p.WATCHDOG);
    let pattern = ota
        .file(PATTERN_FILE)
        .filter(|t| t.len() <= MAX_TEXT)
        .and_then(Pattern::parse)
        .unwrap_or(Pattern::DEFAULT);
    let on_trial = if ota.file(NO_CONFIRM_FILE).is_some() {
        OnTrial::Hang
    } else if ota.file(UNDECIDED_FILE).is_some() {
        OnTrial::Undecided
    } else {
        OnTrial::Confirm
    };
    let led = Output::new(p.PIN_15, Level::Low);
    let uid = ota.unique_id();
    let ota = RefCell::new(ota);

    let mut serial = [0u8; 16];
    let mut usb_config = embassy_usb::Config::new(0x1209, 0x0001);
    usb_config.manufacturer = Some("ota");
    usb_config.product = Some("ota blink example");
    usb_config.serial_number = Some(ota_app::serial_number(&uid, &mut serial));
    usb_config.max_power = 100;
    usb_config.max_packet_size_0 = 64;
    let touch = Touch::new();
    let mut handler = touch.handler();
    let mut config_descriptor = [0u8; 256];
    let mut bos_descriptor = [0u8; 256];
    let mut control_buf = [0u8; 64];
    let mut cdc_state = State::new();
    let mut builder = embassy_usb::Builder::new(
        Driver::new(p.USB, Irqs),
        usb_config,
        &mut config_descriptor,
        &mut bos_descriptor,
        &mut [],
        &mut control_buf,
    );
    builder.handler(&mut handler);
    let mut class = CdcAcmClass::new(&mut builder, &mut cdc_state, 64);
    let mut device = builder.build();

    join4(
        device.run(),
        touch.wait(),
        blink(led, pattern, build.speed),
        join_console(&mut class, &ota, on_trial, build.name),
    )
    .await;
}

/// The trial and the console, which reports each change of state.
async fn join_console(class: &mut Cdc<'_>, ota: &RefCell<Ota>, on_trial: OnTrial, name: &str) {
    embassy_futures::join::join(keep_trial(ota, on_trial), console(class, ota, name)).await;
}

/// Each time of the pattern flips the LED, starting with on.
async fn blink(mut led: Output<'_>, pattern: Pattern, speed: u16) -> ! {
    let mut on = true;
    loop {
        for ms in pattern.steps() {
            led.set_level(on.into());
            on = !on;
            Timer::after_millis((*ms / speed.max(1)) as u64).await;
        }
    }
}

/// Keeps the trial watchdog fed from its own future (ota-app's trial keeper,
/// until the tree's deadline) and confirms after [`CONFIRM_AFTER`] (unless
/// the tree says to hang, or to stay undecided).
async fn keep_trial(ota: &RefCell<Ota>, on_trial: OnTrial) {
    if ota.borrow().trial().is_none() || on_trial == OnTrial::Hang {
        return; // confirmed already, or a hung application: no feeding
    }
    let keeper = ota.borrow().trial_keeper();
    let confirm = async {
        if on_trial != OnTrial::Confirm {
            return;
        }
        Timer::after(CONFIRM_AFTER).await;
        while ota.borrow_mut().confirm().is_err() {
            Timer::after(RETRY_EVERY).await;
        }
    };
    embassy_futures::join::join(keeper.keep_trial_alive(), confirm).await;
}

/// Writes `ota-blink VERSION STATE` to a host that has the port open, again
/// whenever the state changes.
async fn console(class: &mut Cdc<'_>, ota: &RefCell<Ota>, name: &str) -> ! {
    let mut said = None;
    loop {
        class.wait_connection().await;
        let trial = ota.borrow().trial().is_some();
        if said != Some(trial) {
            let mut line = Line::default();
            let state = if trial { "trial" } else { "confirmed" };
            let _ = write!(line, "{name} {} {}\r\n", ota.borrow().version(), state);
            if class.write_packet(line.as_bytes()).await.is_ok() {
                said = Some(trial);
            }
        }
        Timer::after_millis(100).await;
    }
}

/// One console line, at most one USB packet.
struct Line {
    buf: [u8; 64],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Line {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl Line {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}
