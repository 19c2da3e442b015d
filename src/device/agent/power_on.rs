//! Reaching the agent under an application that neither answers nor can be
//! touched (it runs without USB, or its USB port has no ota touch): the one
//! way in is the agent's window right after a power-on. ota says so at once
//! with what to do, then waits for that window, reopening a link that is
//! down every 10 ms and saying Hello every 100 ms on one that is up, so
//! that one of them lands inside the window.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::device::agent::client::Client;
use crate::device::connect::Patience;
use crate::device::error;
use crate::device::link::discover::{self, UsbPort};

/// How long a link may stay silent (or closed) before ota takes the board
/// for one it cannot reach but at power-on: a resetting or enumerating
/// board is back well within this, and the notice must come within 2 s.
pub const SILENT_FOR: Duration = Duration::from_millis(1500);

/// How long a board may show no port after the hand-over before ota takes
/// its application for one without USB: the agent's port goes at once, and
/// an application with USB enumerates within about a second of its start.
pub const UNSEEN_AFTER: Duration = Duration::from_secs(3);

/// How long ota waits for the user to reset or replug the board, unless
/// the config says otherwise (`power_on_wait_sec`).
pub const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// Hello on a link that is up: the agent's window lasts 300 ms.
const HELLO_EVERY: Duration = Duration::from_millis(100);

/// A reopening of a link that is down (a serial port not there yet, a
/// bridge that closes the connection while its board is off USB).
const REOPEN_EVERY: Duration = Duration::from_millis(10);

/// What ota says, in one clause after the port's name and why.
pub const WAY_IN: &str = "reset or replug the board; ota waits for the agent";

/// Says why the board cannot be reached now and waits for the agent's
/// power-on window; the client is then marked as reached there, so the
/// board is handed back to its application when the client is done.
/// `up` tells whether the link is open now.
pub fn wait_for_window(c: &mut Client, why: &str, up: bool) -> anyhow::Result<()> {
    let line = format!("{}: {why}: {WAY_IN}", c.name());
    let spinner = announce(&line, !c.notices);
    let reached = poll(c, up);
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    if reached {
        c.reached_at_power_on();
        return Ok(());
    }
    Err(error::not_an_agent(format!(
        "{}: {why}, and no agent answered within {}s: reset or replug the board while ota waits \
         (the agent listens for 300 ms once a power-on brings its USB up), or give the application ota_app::usb::Touch",
        c.name(),
        c.power_on_wait.as_secs()
    )))
}

/// With nothing on USB at all (a board whose application runs without USB
/// shows nothing), says so and waits for a Pico to appear there: the
/// board's next power-on. Its port is opened at once, within the window.
pub fn wait_on_usb(p: Patience) -> anyhow::Result<Vec<UsbPort>> {
    let why = "no Pico on USB (a board whose application runs without USB shows none)";
    let found = wait_on_discovery(&format!("{why}: {WAY_IN}"), p, || {
        Some(discover::candidates()).filter(|all| !all.is_empty())
    });
    found.ok_or_else(|| {
        error::not_found(format!(
            "{why}, and none appeared within {}s: plug the board in, or reset it while ota \
             waits; pass --port for a board on another link",
            p.power_on_wait.as_secs()
        ))
    })
}

/// The board named by its serial number is not on USB (a board whose
/// application runs without USB shows no port): says so and waits for its
/// agent to appear at the next power-on; its port, once there.
pub fn wait_for_serial(serial: &str, p: Patience) -> anyhow::Result<String> {
    let why = "not on USB (a board whose application runs without USB shows no port)";
    let found = wait_on_discovery(&format!("{serial}: {why}: {WAY_IN}"), p, || {
        discover::port_of_serial(serial)
    });
    found.ok_or_else(|| {
        discover::none_found(&format!(
            "no ota agent with serial number {serial} appeared within {}s",
            p.power_on_wait.as_secs()
        ))
    })
}

/// Says `line`, then asks `seen` every 10 ms until it finds something or
/// `power_on_wait` has passed.
fn wait_on_discovery<T>(line: &str, p: Patience, mut seen: impl FnMut() -> Option<T>) -> Option<T> {
    let spinner = announce(line, !p.notices);
    let deadline = Instant::now() + p.power_on_wait;
    let found = loop {
        let now = seen();
        if now.is_some() || Instant::now() >= deadline {
            break now;
        }
        std::thread::sleep(REOPEN_EVERY);
    };
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    found
}

/// The notice, as a line, and a spinner under it on a terminal.
fn announce(line: &str, quiet: bool) -> Option<ProgressBar> {
    if quiet {
        return None;
    }
    eprintln!("{line}");
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let s = ProgressBar::new_spinner();
    s.set_style(
        ProgressStyle::with_template(
            "{spinner} waiting for the agent's power-on window ({elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    s.enable_steady_tick(Duration::from_millis(100));
    Some(s)
}

/// True once the agent answered a Hello; false when the limit passed.
fn poll(c: &mut Client, mut up: bool) -> bool {
    let deadline = Instant::now() + c.power_on_wait;
    while Instant::now() < deadline {
        if !up {
            up = c.reconnect().is_ok();
            if !up {
                std::thread::sleep(REOPEN_EVERY);
                continue;
            }
            // What came up may be an application that can be touched after
            // all (it was slow to enumerate): the touch sends it to the agent.
            c.touch_what_came_up();
        }
        match c.probe_hello_for(HELLO_EVERY) {
            Ok(true) => return true,
            Ok(false) => {}
            Err(_) => up = false,
        }
    }
    false
}
