//! A board's application console, followed across resets: the serial port
//! of the board with a given serial number (or one fixed path) is opened
//! whenever it runs something with a console (the application, MicroPython),
//! and every change (gone, back as what) is reported as an event. The agent's
//! port carries protocol frames, so it is reported but never opened.
//! Nothing here prints.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use crate::device::link::discover::{self, BoardAt, BoardKind};

/// How the board is named: by serial number (followed wherever it goes),
/// by a port path (opened again whenever it exists), or by a TCP address
/// that carries its USB port (the emulator's bridge; connected again
/// whenever it accepts).
#[derive(Debug, Clone)]
pub enum Follow {
    Serial(String),
    Port(String),
    Tcp(String),
}

pub enum ConsoleEvent<'a> {
    /// The console is open on this port.
    Opened { port: &'a str, kind: BoardKind },
    /// Bytes from the board.
    Data(&'a [u8]),
    /// The board (or its console) went away.
    Gone,
    /// The board is there, but without a console to show (the agent, BOOTSEL).
    Seen(&'a BoardAt),
    /// Nothing with this name is attached yet.
    Waiting,
}

/// What comes from the user's keyboard.
pub enum Input {
    Bytes(Vec<u8>),
    /// Ctrl-]: stop monitoring.
    Quit,
}

/// How often the board's whereabouts are looked at while it has no console
/// open, and how long a read waits for bytes.
const POLL: Duration = Duration::from_millis(100);
/// How often an open console checks that its board is still the one named.
const RECHECK: Duration = Duration::from_millis(500);

fn locate(follow: &Follow) -> Vec<BoardAt> {
    match follow {
        Follow::Serial(sn) => discover::board_of_serial(sn),
        Follow::Port(p) if std::path::Path::new(p).exists() || !p.starts_with('/') => {
            vec![BoardAt {
                port: Some(p.clone()),
                kind: BoardKind::Application,
            }]
        }
        Follow::Port(_) | Follow::Tcp(_) => Vec::new(),
    }
}

/// Follows the board until the user quits (or the input says so); `event`
/// gets every change and every byte.
pub fn run(
    follow: &Follow,
    baud: u32,
    input: &Receiver<Input>,
    event: &mut dyn FnMut(ConsoleEvent<'_>),
) -> anyhow::Result<()> {
    if let Follow::Tcp(addr) = follow {
        return run_tcp(addr, input, event);
    }
    let mut last_seen: Option<BoardAt> = None;
    let mut announced_waiting = false;
    loop {
        let here = locate(follow);
        let console = here
            .iter()
            .find(|b| matches!(b.kind, BoardKind::Application | BoardKind::MicroPython));
        let opened = console.and_then(|b| {
            let port = b.port.as_deref()?;
            serialport::new(port, baud)
                .timeout(POLL)
                .open()
                .ok()
                .map(|p| (p, b.clone()))
        });
        if let Some((mut port, at)) = opened {
            let name = at.port.clone().unwrap_or_default();
            event(ConsoleEvent::Opened {
                port: &name,
                kind: at.kind,
            });
            if pump(follow, &name, &mut *port, input, event)? {
                return Ok(());
            }
            event(ConsoleEvent::Gone);
            last_seen = None;
            announced_waiting = false;
            continue;
        }
        match here.first() {
            Some(b) if last_seen.as_ref() != Some(b) => {
                event(ConsoleEvent::Seen(b));
                last_seen = Some(b.clone());
            }
            Some(_) => {}
            None => {
                if last_seen.take().is_some() {
                    event(ConsoleEvent::Gone);
                } else if !announced_waiting {
                    event(ConsoleEvent::Waiting);
                }
                announced_waiting = true;
            }
        }
        if wait_input(input, None, POLL)? {
            return Ok(());
        }
    }
}

/// Follows a console behind a TCP address: connected whenever it accepts,
/// reported gone when the connection closes.
fn run_tcp(
    addr: &str,
    input: &Receiver<Input>,
    event: &mut dyn FnMut(ConsoleEvent<'_>),
) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    let mut announced_waiting = false;
    loop {
        let stream = addr
            .to_socket_addrs()?
            .find_map(|a| std::net::TcpStream::connect_timeout(&a, POLL).ok());
        let Some(mut stream) = stream else {
            if !announced_waiting {
                event(ConsoleEvent::Waiting);
                announced_waiting = true;
            }
            if wait_input(input, None, POLL)? {
                return Ok(());
            }
            continue;
        };
        stream.set_read_timeout(Some(POLL))?;
        event(ConsoleEvent::Opened {
            port: addr,
            kind: BoardKind::Application,
        });
        announced_waiting = false;
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => event(ConsoleEvent::Data(&buf[..n])),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
            loop {
                match input.try_recv() {
                    Ok(Input::Quit) => return Ok(()),
                    Ok(Input::Bytes(b)) => {
                        let _ = stream.write_all(&b);
                    }
                    Err(_) => break,
                }
            }
        }
        event(ConsoleEvent::Gone);
    }
}

/// Copies bytes both ways until the console goes away (false) or the user quits (true).
fn pump(
    follow: &Follow,
    name: &str,
    port: &mut dyn serialport::SerialPort,
    input: &Receiver<Input>,
    event: &mut dyn FnMut(ConsoleEvent<'_>),
) -> anyhow::Result<bool> {
    let mut buf = [0u8; 1024];
    let mut checked = Instant::now();
    loop {
        match port.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => event(ConsoleEvent::Data(&buf[..n])),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return Ok(false),
        }
        if wait_input(input, Some(port), Duration::ZERO)? {
            return Ok(true);
        }
        if checked.elapsed() >= RECHECK {
            checked = Instant::now();
            let still = locate(follow)
                .iter()
                .any(|b| b.port.as_deref() == Some(name));
            if !still {
                return Ok(false);
            }
        }
    }
}

/// Takes what the user typed (forwarding it to `port`), waiting up to
/// `wait` for the first of it; true on Ctrl-].
fn wait_input(
    input: &Receiver<Input>,
    mut port: Option<&mut dyn serialport::SerialPort>,
    wait: Duration,
) -> anyhow::Result<bool> {
    let mut first = !wait.is_zero();
    loop {
        let got = if first {
            first = false;
            match input.recv_timeout(wait) {
                Ok(i) => Ok(i),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(TryRecvError::Empty),
                Err(_) => Err(TryRecvError::Disconnected),
            }
        } else {
            input.try_recv()
        };
        match got {
            Ok(Input::Quit) => return Ok(true),
            Ok(Input::Bytes(b)) => {
                if let Some(p) = port.as_deref_mut() {
                    let _ = p.write_all(&b).and_then(|_| p.flush());
                }
            }
            Err(TryRecvError::Empty) => return Ok(false),
            Err(TryRecvError::Disconnected) => {
                // No more input (stdin closed): keep watching the board.
                if !wait.is_zero() {
                    std::thread::sleep(wait);
                }
                return Ok(false);
            }
        }
    }
}
