//! Byte links to an agent: USB serial (or a pseudo-terminal), one plain TCP
//! connection, RFC 2217 (rfc2217.rs), and the in-process simulator. All look
//! alike to the client: send bytes, receive with a timeout, reconnect after
//! a drop.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::device::error;
use crate::device::link::line_control::{self, Running};

pub trait Transport: Send {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Waits up to `timeout` for bytes; `Ok(0)` means nothing came in time.
    /// A closed link is an error.
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;
    /// Opens the link to the same device again after a drop or a reboot.
    fn reconnect(&mut self) -> io::Result<()>;
    /// What to call this link in messages.
    fn name(&self) -> String;
    /// True when the agent answers within `send` itself (the in-process
    /// simulator): an empty receive then means no answer will come.
    fn synchronous(&self) -> bool {
        false
    }
    /// What the exchange so far would have taken on a real board, when the
    /// link simulates one with a timing model (`sim:FILE?model=pico-w`).
    fn board_time(&self) -> Option<crate::device::sim::board_model::BoardTime> {
        None
    }
    /// True when the link itself started the agent and saw it ready (the
    /// MicroPython agent): whatever comes then is the agent's, so bytes that
    /// are no valid frames mean a faulty agent, not an application.
    fn started_agent(&self) -> bool {
        false
    }
    /// The conversation ends with the device still sending what answers
    /// nothing: a link that takes leave of its agent need not wait for it.
    fn abandon(&mut self) {}
    /// Why the program the board ran at its last boot will not confirm a
    /// trial tree, when the link saw it end (a MicroPython board back at its
    /// prompt after main.py, perhaps with a traceback): said at once
    /// instead of waiting out the confirmation's timeout.
    fn ended_unconfirmed(&self) -> Option<String> {
        None
    }
    /// After the next reboot, how long the board's own program may run
    /// before ota takes the link back (a trial tree's, to confirm itself);
    /// `None`: take it at once. Only a link that must interrupt that
    /// program to reach the agent (a MicroPython REPL) heeds it.
    fn let_program_run(&mut self, _for: Option<Duration>) {}
    /// The next tree leaves the files changed on the board outside ota as
    /// they are, whatever it holds there (`push --keep-local`): only a
    /// board that can tell (a MicroPython board) heeds it.
    fn keep_local(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// What runs on the board, as far as the link shows it without a word of
    /// the protocol (a USB port's product string).
    fn running(&mut self) -> Running {
        Running::Unknown
    }
    /// The 1200-baud touch: asks a running application to reset into the
    /// agent. The link is closed by it; `reconnect` once the agent is up
    /// (unless `blind_touch`, below).
    fn touch(&mut self) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this port cannot be touched at 1200 baud",
        ))
    }
    /// True when the link carries the touch but cannot show what runs (RFC
    /// 2217): the client touches at once, and the touch leaves the link
    /// open, so an agent answers on it and a board that resets closes it.
    fn blind_touch(&self) -> bool {
        false
    }
    /// True when the link carries bytes only and shows nothing of the board
    /// (tcp:): a silence there is all ota learns of an application that
    /// cannot be touched.
    fn bytes_only(&self) -> bool {
        false
    }
}

pub fn busy(name: &str) -> anyhow::Error {
    error::busy(format!(
        "{name}: port busy: another ota (or a serial monitor) is using this device"
    ))
}

/// USB CDC serial, or any tty such as a pseudo-terminal. When the device's
/// serial number is known, a reconnection looks for it again: after a reboot
/// a board may come back as another /dev/ttyACMn.
pub struct Serial {
    path: String,
    serial: Option<String>,
    port: Option<Box<dyn serialport::SerialPort>>,
}

impl Serial {
    pub fn open(path: &str, serial: Option<String>) -> anyhow::Result<Serial> {
        not_a_file(path)?;
        let mut s = Serial {
            path: path.to_string(),
            serial,
            port: None,
        };
        s.reconnect().map_err(|e| {
            if e.kind() == io::ErrorKind::WouldBlock || e.to_string().contains("exclusive") {
                busy(path)
            } else {
                error::link(format!("{path}: cannot open: {e}"))
            }
        })?;
        Ok(s)
    }

    /// A port that is not there now (a board whose application runs
    /// without USB has none): `reconnect` opens it once it appears.
    pub fn absent(path: &str, serial: Option<String>) -> Serial {
        Serial {
            path: path.to_string(),
            serial,
            port: None,
        }
    }
}

/// A regular file or a folder named as a port is refused before the tty
/// layer answers with "Not a typewriter": a flash image was most likely
/// meant as a simulated board.
fn not_a_file(path: &str) -> anyhow::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Err(error::bad_spec(format!(
            "{path}: not a serial port: did you mean `sim:{path}`?"
        ))),
        Ok(m) if m.is_dir() => Err(error::bad_spec(format!(
            "{path}: not a serial port but a folder"
        ))),
        _ => Ok(()),
    }
}

fn serial_err(e: serialport::Error) -> io::Error {
    let kind = match e.kind() {
        serialport::ErrorKind::NoDevice => io::ErrorKind::NotFound,
        serialport::ErrorKind::Io(k) => k,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e.description)
}

impl Transport for Serial {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let port = self.port.as_mut().ok_or(io::ErrorKind::NotConnected)?;
        port.write_all(bytes)?;
        port.flush()
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let port = self.port.as_mut().ok_or(io::ErrorKind::NotConnected)?;
        port.set_timeout(timeout.max(Duration::from_millis(1)))
            .map_err(serial_err)?;
        match port.read(buf) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "serial port closed",
            )),
            Ok(n) => Ok(n),
            Err(e)
                if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    fn reconnect(&mut self) -> io::Result<()> {
        self.port = None;
        if let Some(sn) = &self.serial {
            if let Some(now) = crate::device::link::discover::port_of_serial(sn) {
                self.path = now;
            }
        }
        let port = serialport::new(&self.path, 115_200)
            .timeout(Duration::from_millis(100))
            .open()
            .map_err(|e| {
                if e.description.contains("exclusive") || e.description.contains("lock") {
                    io::Error::new(
                        io::ErrorKind::WouldBlock,
                        format!("exclusive lock: {}", e.description),
                    )
                } else {
                    serial_err(e)
                }
            })?;
        self.port = Some(port);
        Ok(())
    }

    fn name(&self) -> String {
        self.path.clone()
    }

    fn running(&mut self) -> Running {
        let found = crate::device::link::discover::candidates()
            .into_iter()
            .find(|p| match (&self.serial, &p.serial) {
                (Some(want), Some(sn)) => want.eq_ignore_ascii_case(sn),
                _ => p.port == self.path,
            });
        match found {
            Some(p) if p.agent => {
                self.path = p.port;
                Running::Agent
            }
            Some(p) if p.application => {
                self.path = p.port;
                // The application shows the agent's serial number: follow it.
                self.serial = self.serial.take().or(p.serial);
                Running::Application
            }
            Some(_) => Running::Unknown,
            None if self.serial.is_some() => Running::Nothing,
            None => Running::Unknown,
        }
    }

    fn touch(&mut self) -> io::Result<()> {
        self.port = None;
        touch(&self.path)
    }
}

/// The 1200-baud touch on a serial port: opening it sets the line coding,
/// closing drops DTR. The convention (Arduino boards, Pico SDK programs,
/// ota's application crate) for "reboot into the bootloader", here the agent.
pub fn touch(path: &str) -> io::Result<()> {
    let port = serialport::new(path, line_control::TOUCH_BAUD)
        .timeout(Duration::from_millis(100))
        .open()
        .map_err(serial_err)?;
    drop(port);
    Ok(())
}

/// An agent behind one plain TCP connection (the emulator bridge, `ota
/// agent sim --listen`, ser2net's raw mode, any forwarder): bytes only, so
/// it works through anything that relays one connection. It cannot show
/// what runs nor carry the touch: `rfc2217://` does both.
pub struct Tcp {
    addr: String,
    stream: Option<TcpStream>,
    connect_timeout: Duration,
}

impl Tcp {
    pub fn open(addr: &str, connect_timeout: Duration) -> anyhow::Result<Tcp> {
        let mut t = Tcp {
            addr: addr.to_string(),
            stream: None,
            connect_timeout,
        };
        t.reconnect()
            .map_err(|e| error::link(format!("tcp:{addr}: cannot connect: {e}")))?;
        Ok(t)
    }
}

impl Transport for Tcp {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream
            .as_mut()
            .ok_or(io::ErrorKind::NotConnected)?
            .write_all(bytes)
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let s = self.stream.as_mut().ok_or(io::ErrorKind::NotConnected)?;
        s.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        match s.read(buf) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by the agent",
            )),
            Ok(n) => Ok(n),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    fn reconnect(&mut self) -> io::Result<()> {
        self.stream = None;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        for addr in std::net::ToSocketAddrs::to_socket_addrs(&self.addr)? {
            match TcpStream::connect_timeout(&addr, self.connect_timeout) {
                Ok(s) => {
                    s.set_nodelay(true)?;
                    self.stream = Some(s);
                    return Ok(());
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn name(&self) -> String {
        format!("tcp:{}", self.addr)
    }

    fn bytes_only(&self) -> bool {
        true
    }

    fn touch(&mut self) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "a tcp: port carries bytes only; for the 1200-baud touch use rfc2217://{}",
                self.addr
            ),
        ))
    }
}
