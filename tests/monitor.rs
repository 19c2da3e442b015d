//! `ota monitor` against a simulated application that prints, resets (its
//! port goes away), comes back for a while as the agent (`ota agent sim`),
//! then as the application again on another pseudo-terminal; each port is
//! named by a udev-style by-id link carrying the board's serial number.

mod util;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};
use util::*;

const WAIT: Duration = Duration::from_secs(30);

/// The application's USB port: a pseudo-terminal and its by-id link.
struct App {
    master: TTYPort,
    link: PathBuf,
    tty: String,
}

impl App {
    fn start(by_id: &Path, serial: &str) -> App {
        let (master, slave) = TTYPort::pair().unwrap();
        let tty = slave.name().unwrap();
        drop(slave);
        let link = by_id.join(format!("usb-ota_demo_app_{serial}-if00"));
        let tmp = by_id.join(".app.tmp");
        std::os::unix::fs::symlink(&tty, &tmp).unwrap();
        std::fs::rename(&tmp, &link).unwrap();
        App { master, link, tty }
    }

    fn print(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Reads what the monitor forwarded until `want` arrived.
    fn expect(&mut self, want: &str) {
        self.master.set_timeout(Duration::from_millis(200)).unwrap();
        let deadline = Instant::now() + WAIT;
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while !String::from_utf8_lossy(&got).contains(want) {
            assert!(
                Instant::now() < deadline,
                "the application never got {want:?}"
            );
            if let Ok(n) = self.master.read(&mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
        }
    }

    /// A reset: the port goes away.
    fn reset(self) {
        std::fs::remove_file(&self.link).unwrap();
        drop(self.master);
    }
}

/// Bytes of a child's stream, as they come.
fn reader(stream: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = stream;
        let mut buf = [0u8; 256];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    rx
}

/// Collects a stream until it holds `needle` (after what was already seen).
struct Seen {
    rx: mpsc::Receiver<Vec<u8>>,
    text: String,
    from: usize,
}

impl Seen {
    fn new(rx: mpsc::Receiver<Vec<u8>>) -> Seen {
        Seen {
            rx,
            text: String::new(),
            from: 0,
        }
    }

    fn wait(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = self.text[self.from..].find(needle) {
                let at = self.from + i;
                self.from = at + needle.len();
                let line_end = self.text[at..]
                    .find('\n')
                    .map_or(self.text.len(), |e| at + e);
                let line_start = self.text[..at].rfind('\n').map_or(0, |s| s + 1);
                return self.text[line_start..line_end].to_string();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(b) => self.text.push_str(&String::from_utf8_lossy(&b)),
                Err(_) => panic!("never saw {needle:?}; got:\n{}", self.text),
            }
        }
    }
}

fn monitor(cwd: &Path, by_id: &Path, serial: &str) -> Child {
    ota_in(cwd)
        .env("OTA_SERIAL_BY_ID", by_id)
        .args(&["--serial", serial, "monitor"])
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn monitor_follows_the_board_across_resets_and_exits_on_ctrl_bracket() {
    let d = tempdir();
    let by_id = d.path().join("by-id");
    std::fs::create_dir_all(&by_id).unwrap();
    // The board's serial number: the simulated agent's, made up with its flash image.
    let serial = status(d.path(), "sim:board.img")["device_id"]
        .as_str()
        .unwrap()
        .to_string();

    let mut app = App::start(&by_id, &serial);
    let mut mon = monitor(d.path(), &by_id, &serial);
    let mut out = Seen::new(reader(mon.stdout.take().unwrap()));
    let mut err = Seen::new(reader(mon.stderr.take().unwrap()));
    let mut keys = mon.stdin.take().unwrap();

    err.wait(&format!("{serial}: the application on {}", app.tty));
    app.print("boot 1: hello\n");
    out.wait("boot 1: hello");
    // What the user types reaches the application.
    keys.write_all(b"ping\n").unwrap();
    keys.flush().unwrap();
    app.expect("ping");

    app.reset();
    err.wait(&format!("{serial} went away"));

    // It comes back as the agent for a while: named, never opened.
    let mut agent = Sim::start(
        d.path(),
        "board.img",
        &["--pty", "--by-id", by_id.to_str().unwrap()],
    );
    let seen = err.wait(&format!("{serial}: the ota agent on {}", agent.port));
    assert!(seen.contains("no console"), "{seen}");
    agent.kill();
    std::fs::remove_file(by_id.join(format!("usb-ota_ota_agent_{serial}-if00"))).unwrap();
    err.wait(&format!("{serial} went away"));

    // And as the application again, on another port.
    let mut app = App::start(&by_id, &serial);
    err.wait(&format!("{serial}: the application on {}", app.tty));
    app.print("boot 2: hello again\n");
    out.wait("boot 2: hello again");

    keys.write_all(&[0x1d]).unwrap();
    keys.flush().unwrap();
    let status = mon.wait().unwrap();
    assert!(status.success(), "Ctrl-] ends the monitor with exit 0");
    err.wait("monitor closed");
    app.reset();
}

#[test]
fn monitor_without_a_board_named_is_a_usage_error() {
    let d = tempdir();
    let r = ota_in(d.path()).port("sim:x.img").args(&["monitor"]).run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("has no application console"),
        "{}",
        r.stderr
    );
}

#[test]
fn push_monitor_goes_into_the_console_after_the_push() {
    let d = tempdir();
    make_tree(&d.path().join("app"), 3, 2);
    let by_id = d.path().join("by-id");
    let sim = Sim::start(
        d.path(),
        "board.img",
        &["--pty", "--by-id", by_id.to_str().unwrap()],
    );
    let serial = status(d.path(), &sim.port)["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut push = ota_in(d.path())
        .env("OTA_SERIAL_BY_ID", &by_id)
        .args(&["--serial", &serial, "push", "--dir", "app", "--monitor"])
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = Seen::new(reader(push.stderr.take().unwrap()));
    err.wait("confirmed");
    err.wait(&format!("monitoring {serial}"));
    // The simulated board has no application: the agent is named, not opened.
    err.wait(&format!("{serial}: the ota agent on"));
    let mut keys = push.stdin.take().unwrap();
    keys.write_all(&[0x1d]).unwrap();
    keys.flush().unwrap();
    assert!(push.wait().unwrap().success());
}
