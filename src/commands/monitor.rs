//! `ota monitor`: the application's serial console on this terminal, the
//! board followed by its serial number across resets and re-enumeration.
//! Board bytes go to stdout as they come; what happened to the board (gone,
//! back as the agent, the application, BOOTSEL) goes to stderr. Ctrl-]
//! exits; everything else typed goes to the application.

use std::io::{IsTerminal, Read, Write};
use std::sync::mpsc;

use anyhow::Result;

use super::Ctx;
use crate::cli::MonitorArgs;
use crate::console_lines::ConsoleLines;
use crate::device::link::console::{self, ConsoleEvent, Follow, Input};
use crate::device::link::discover::{self, BoardKind};
use crate::device::PortSpec;
use crate::exit::{fail, Kind};

/// Ctrl-]: the telnet and espflash convention for leaving a console.
pub const QUIT: u8 = 0x1d;
/// Ctrl-C, which leaves `ota run`'s console as it leaves `probe-rs run`'s
/// (`ota monitor` passes it to the application).
pub const CTRL_C: u8 = 0x03;
/// The console's line rate (a USB CDC port ignores it; a UART adapter does not).
const BAUD: u32 = 115_200;

pub fn run(ctx: &Ctx, args: &MonitorArgs) -> Result<()> {
    let lines = match &args.elf {
        Some(elf) => ConsoleLines::with_elf(elf)?,
        None => ConsoleLines::plain(),
    };
    let follow = follow_of(ctx)?;
    monitor(ctx, &follow, lines, &[QUIT])
}

/// Which board to follow: `--serial`, or `--port` (by its serial number when
/// discovery knows it, so it is followed to another port too).
pub fn follow_of(ctx: &Ctx) -> Result<Follow> {
    let sel = &ctx.selection;
    if sel.all || sel.ports.len() + sel.serials.len() > 1 {
        return Err(fail(
            Kind::Config,
            "ota monitor shows one board: pick it with --serial or --port",
        ));
    }
    if let Some(sn) = sel.serials.first() {
        return Ok(Follow::Serial(sn.to_ascii_lowercase()));
    }
    let port = match sel.ports.first().or(ctx.config.port.as_ref()) {
        Some(p) => p.clone(),
        None => {
            // The one agent attached: its serial number names the board.
            let sn = discover::the_agent()?.serial.ok_or_else(|| {
                fail(
                    Kind::Config,
                    "ota monitor: name the board with --serial SN or --port PORT",
                )
            })?;
            return Ok(Follow::Serial(sn.to_ascii_lowercase()));
        }
    };
    match PortSpec::parse(&port)? {
        PortSpec::Tcp(addr) => Ok(Follow::Tcp(addr)),
        PortSpec::Serial(p) => Ok(discover::candidates()
            .into_iter()
            .find(|c| c.port == p)
            .and_then(|c| c.serial)
            .map_or(Follow::Port(p), Follow::Serial)),
        other => Err(fail(
            Kind::Config,
            format!(
                "{other}: has no application console; ota monitor takes a serial port or --serial"
            ),
        )),
    }
}

/// Follows the board until a key of `quit` (Ctrl-] at least), showing its
/// bytes through `lines`.
pub fn monitor(
    ctx: &Ctx,
    follow: &Follow,
    mut lines: ConsoleLines,
    quit: &'static [u8],
) -> Result<()> {
    let name = match follow {
        Follow::Serial(sn) => sn.clone(),
        Follow::Port(p) | Follow::Tcp(p) => p.clone(),
    };
    let raw = RawMode::enter();
    let say = |line: &str| {
        if !ctx.ui.quiet {
            let mut e = std::io::stderr().lock();
            let _ = writeln!(e, "-- {line}");
            let _ = e.flush();
        }
    };
    let keys = if quit.contains(&CTRL_C) {
        "Ctrl-C or Ctrl-]"
    } else {
        "Ctrl-]"
    };
    say(&format!("monitoring {name}; {keys} exits"));
    let input = keyboard(quit);
    let mut out = std::io::stdout().lock();
    let mut event = |ev: ConsoleEvent<'_>| match ev {
        ConsoleEvent::Data(bytes) => {
            let shown = lines.feed(bytes);
            let _ = out.write_all(&shown).and_then(|_| out.flush());
        }
        ConsoleEvent::Opened { port, kind } => say(&format!("{name}: {} on {port}", kind.name())),
        ConsoleEvent::Gone => say(&format!("{name} went away")),
        ConsoleEvent::Seen(at) => {
            let where_ = at
                .port
                .as_deref()
                .map_or(String::new(), |p| format!(" on {p}"));
            let why = match at.kind {
                BoardKind::Bootsel => "no console; `ota agent install` installs it",
                _ => "no console; waiting for the application",
            };
            say(&format!("{name}: {}{where_} ({why})", at.kind.name()))
        }
        ConsoleEvent::Waiting => say(&format!("waiting for {name} to appear")),
    };
    let r = console::run(follow, BAUD, &input, &mut event);
    drop(raw);
    say("monitor closed");
    r
}

/// Reads the keyboard on a thread: bytes to forward, and a key of `quit` to quit.
fn keyboard(quit: &'static [u8]) -> mpsc::Receiver<Input> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 256];
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let bytes = &buf[..n];
            let (before, leave) = match bytes.iter().position(|b| quit.contains(b)) {
                Some(i) => (&bytes[..i], true),
                None => (bytes, false),
            };
            if !before.is_empty() && tx.send(Input::Bytes(before.to_vec())).is_err() {
                return;
            }
            if leave {
                let _ = tx.send(Input::Quit);
                return;
            }
        }
    });
    rx
}

/// The terminal in raw mode while monitoring (so Ctrl-] and every other key
/// arrive as typed), restored when dropped.
struct RawMode {
    #[cfg(unix)]
    saved: libc::termios,
}

impl RawMode {
    #[cfg(unix)]
    fn enter() -> Option<RawMode> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios we own.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return None;
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            // Keep output processing so the application's "\n" still returns the carriage.
            t.c_oflag |= libc::OPOST;
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return None;
            }
            Some(RawMode { saved })
        }
    }

    #[cfg(not(unix))]
    fn enter() -> Option<RawMode> {
        None
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: restores the settings read in `enter`.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.saved);
        }
    }
}
