//! `ota agent sim`: a simulated agent served on a pseudo-terminal or a TCP
//! port, so that the real serial and TCP code paths run without a board.
//!
//! On TCP, a client that opens with Telnet negotiation speaks RFC 2217 (and
//! may touch the board at 1200 baud); any other is a raw byte stream.
//! One host at a time drives the agent: a second TCP client is told "busy";
//! on a pseudo-terminal the serial port's own lock refuses a second opener.
//! A reboot request restarts the agent on the same flash and, on TCP, drops
//! the connection as a board's USB port would vanish.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ota_protocol::{encode_frame, ErrorCode, Reply};

use crate::device::error;
use crate::device::link::line_control::{self, Running};
use crate::device::sim::{SimDevice, SimImage};

/// Serves on a new pseudo-terminal; `announce` gets the path to open.
///
/// With `by_id`, the simulator plays udev too: it keeps a link named as
/// /dev/serial/by-id would name the board (with its serial number) pointing
/// at the current pseudo-terminal, and each reboot moves it to a new one, as
/// a board re-enumerating on another /dev/ttyACMn.
pub fn serve_pty(
    image: &SimImage,
    auto_confirm: bool,
    by_id: Option<&Path>,
    announce: &mut dyn FnMut(&str),
    on_bootsel: &mut dyn FnMut(u32),
) -> anyhow::Result<()> {
    let mut device = SimDevice::boot_image(image, auto_confirm)?;
    let power_cycles = image.app.then(power_cycles_on_stdin);
    let mut window = None;
    loop {
        if let Some(cycles) = &power_cycles {
            if device.running() == Running::Application {
                // An application without USB: no port until the next power-on.
                if let Some(dir) = by_id {
                    unlink_by_id(dir, &device.serial_number());
                }
                if cycles.recv().is_err() {
                    return Ok(()); // stdin closed: nobody can power it on again
                }
                window = Some(HOST_WINDOW);
            }
        }
        serve_one_port(&mut device, by_id, announce, on_bootsel, window.take())?;
    }
}

/// How long after a power-on the board's agent waits for a host's first byte.
const HOST_WINDOW: Duration = Duration::from_millis(300);

/// A `power-cycle` line on stdin is one power-on of the board.
fn power_cycles_on_stdin() -> std::sync::mpsc::Receiver<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if line.trim() == "power-cycle" && tx.send(()).is_err() {
                break;
            }
        }
    });
    rx
}

/// One pseudo-terminal, from the board's USB coming up until it goes (a
/// reboot with `by_id`). With `window` (a power-on with an application in
/// the slot), a host that speaks within it is served by the agent; else the
/// board hands over to its application and the port goes.
fn serve_one_port(
    device: &mut SimDevice,
    by_id: Option<&Path>,
    announce: &mut dyn FnMut(&str),
    on_bootsel: &mut dyn FnMut(u32),
    window: Option<Duration>,
) -> anyhow::Result<()> {
    use serialport::SerialPort;
    let (mut master, slave) = serialport::TTYPort::pair()
        .map_err(|e| error::link(format!("cannot create a pseudo-terminal: {e}")))?;
    let path = slave
        .name()
        .ok_or_else(|| error::link("pseudo-terminal has no name"))?;
    if let Some(dir) = by_id {
        link_by_id(dir, &device.serial_number(), &path)?;
    }
    announce(&path);
    let mut buf = [0u8; 4096];
    let mut out = Vec::new();
    let mut pending = None;
    if let Some(window) = window {
        master.set_timeout(window)?;
        match master.read(&mut buf) {
            Ok(n) if n > 0 => {
                device.power_cycle(true)?;
                pending = Some(n);
            }
            _ => return device.power_cycle(false),
        }
    }
    master.set_timeout(Duration::from_millis(200))?;
    loop {
        let n = match pending.take().map_or_else(|| master.read(&mut buf), Ok) {
            Ok(n) => n,
            Err(e)
                if e.kind() == std::io::ErrorKind::TimedOut
                    || e.kind() == std::io::ErrorKind::WouldBlock =>
            {
                continue
            }
            Err(e) => return Err(error::link(format!("{path}: {e}"))),
        };
        out.clear();
        let asked = device.bootsel_requests;
        let rebooted = device.receive(&buf[..n], &mut out)?;
        master.write_all(&out)?;
        master.flush()?;
        if device.bootsel_requests != asked {
            on_bootsel(device.bootsel_requests);
        }
        if rebooted && by_id.is_some() {
            // Let the reply drain before the port vanishes.
            std::thread::sleep(Duration::from_millis(50));
            return Ok(());
        }
    }
}

/// Points `<dir>/usb-ota_ota_agent_<serial>-if00` at `tty`, replacing it atomically.
fn link_by_id(dir: &Path, serial: &str, tty: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let link = by_id_link(dir, serial);
    let tmp = dir.join(format!(".{serial}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    #[cfg(unix)]
    std::os::unix::fs::symlink(tty, &tmp)?;
    std::fs::rename(&tmp, &link)?;
    Ok(())
}

fn by_id_link(dir: &Path, serial: &str) -> std::path::PathBuf {
    dir.join(format!(
        "{}{serial}-if00",
        crate::device::link::discover::BY_ID_PREFIX
    ))
}

/// The board is off USB: udev removes its link.
fn unlink_by_id(dir: &Path, serial: &str) {
    let _ = std::fs::remove_file(by_id_link(dir, serial));
}

/// Serves on a TCP address; `announce` gets `tcp:HOST:PORT` as bound.
/// With `image.app`, the board has an application in its slot (see sim/mod.rs).
/// A connection that opens with Telnet negotiation (its first byte is IAC,
/// 0xFF, which no COBS frame starts with) speaks RFC 2217 and may touch the
/// board at 1200 baud; any other is a raw byte stream.
/// A connection silent for `idle` (at most the agent's own session timeout)
/// is closed, so a host that went away cannot keep the agent busy.
pub fn serve_tcp(
    image: &SimImage,
    auto_confirm: bool,
    addr: &str,
    idle: Option<Duration>,
    announce: &mut dyn FnMut(&str),
    on_bootsel: Arc<dyn Fn(u32) + Send + Sync>,
) -> anyhow::Result<()> {
    let session_idle = Duration::from_millis(ota_agent::SESSION_IDLE_MS as u64);
    let idle = idle.unwrap_or(session_idle).min(session_idle);
    let device = Arc::new(Mutex::new(SimDevice::boot_image(image, auto_confirm)?));
    let listener = TcpListener::bind(addr)
        .map_err(|e| error::bad_spec(format!("cannot listen on {addr}: {e}")))?;
    announce(&format!("tcp:{}", listener.local_addr()?));
    let active = Arc::new(AtomicBool::new(false));
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let device = device.clone();
        let active = active.clone();
        let on_bootsel = on_bootsel.clone();
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let mut first = [0u8; 4096];
            let n = match stream.read(&mut first) {
                Ok(n) if n > 0 => n,
                _ => return,
            };
            let mut wire = Wire::new(first[0] == IAC);
            if active.swap(true, Ordering::SeqCst) {
                let _ = refuse(&mut stream, &mut wire, &first[..n], idle);
                return;
            }
            let mut session = Session {
                stream: &mut stream,
                wire,
                device: &device,
                on_bootsel: &*on_bootsel,
                active: &active,
            };
            let _ = session.serve(&first[..n], idle);
            active.store(false, Ordering::SeqCst);
        });
    }
    Ok(())
}

/// Tells a second host the board is busy: a raw connection once, then it
/// is closed; an RFC 2217 one after each request, until the host closes it
/// (its Telnet negotiation must finish before it can hear the answer).
fn refuse(
    stream: &mut TcpStream,
    wire: &mut Wire,
    first: &[u8],
    idle: Duration,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(idle))?;
    let mut input = first.to_vec();
    let mut buf = [0u8; 4096];
    loop {
        let mut asked = false;
        let _ = wire.feed(&input, &mut |data| {
            asked |= !data.is_empty();
            Ok(false)
        });
        let reply = if asked { busy_frame() } else { Vec::new() };
        stream.write_all(&wire.outgoing(&reply))?;
        if matches!(wire, Wire::Raw) {
            return Ok(());
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        input = buf[..n].to_vec();
    }
}

/// Telnet's Interpret As Command, the first byte of any negotiation.
const IAC: u8 = 0xFF;

/// How a connection's bytes reach the agent: as they are, or through an
/// RFC 2217 server (the `rfc2217` crate's state machine), which unescapes
/// the data and reports the line's baud rate and DTR.
enum Wire {
    Raw,
    Telnet(Box<rfc2217::Server>),
}

impl Wire {
    fn new(telnet: bool) -> Wire {
        if !telnet {
            return Wire::Raw;
        }
        let mut server = rfc2217::Server::new(rfc2217::PortSettings {
            baud_rate: crate::device::link::rfc2217::DATA_BAUD,
            ..Default::default()
        });
        // A USB CDC port has no modem lines; report them up, as a bridge in
        // front of a plugged-in board does (pyserial's client waits for them).
        use rfc2217::ModemState as M;
        server.set_modem_state(M::CTS | M::DSR | M::CD);
        Wire::Telnet(Box::new(server))
    }

    /// Takes bytes from the host: data goes to `data` (true: the board
    /// reset). A touch (DTR dropped at 1200 baud) goes to `data` as an empty
    /// slice after the data before it. True when the board reset.
    fn feed(
        &mut self,
        input: &[u8],
        data: &mut dyn FnMut(&[u8]) -> anyhow::Result<bool>,
    ) -> anyhow::Result<bool> {
        let Wire::Telnet(server) = self else {
            return data(input);
        };
        let mut rest = input;
        let mut payload = Vec::new();
        while !rest.is_empty() {
            payload.clear();
            let used = server.receive_until_event(rest, &mut payload);
            rest = &rest[used..];
            if !payload.is_empty() && data(&payload)? {
                return Ok(true);
            }
            while let Some(event) = server.poll_event() {
                let baud = server.settings().baud_rate;
                if let rfc2217::ServerEvent::Dtr(on) = event {
                    if line_control::is_touch(baud, on) && data(&[])? {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    /// What goes to the host for the agent's `reply` (escaped on RFC 2217,
    /// with the server's own answers).
    fn outgoing(&mut self, reply: &[u8]) -> Vec<u8> {
        match self {
            Wire::Raw => reply.to_vec(),
            Wire::Telnet(server) => {
                server.write_data(reply);
                server.take_output()
            }
        }
    }
}

/// One host driving the simulated board over TCP.
struct Session<'a> {
    stream: &'a mut TcpStream,
    wire: Wire,
    device: &'a Mutex<SimDevice>,
    on_bootsel: &'a dyn Fn(u32),
    /// Set while a host drives the board.
    active: &'a AtomicBool,
}

impl Session<'_> {
    fn serve(&mut self, first: &[u8], idle: Duration) -> anyhow::Result<()> {
        // Wake up now and then to tell the agent how long the link was silent.
        self.stream
            .set_read_timeout(Some(idle.min(Duration::from_secs(1))))?;
        let mut buf = [0u8; 4096];
        buf[..first.len()].copy_from_slice(first);
        let mut pending = Some(first.len());
        let mut heard = std::time::Instant::now();
        let mut told = heard;
        loop {
            let n = match pending.take() {
                Some(n) => n,
                None => match self.stream.read(&mut buf) {
                    Ok(n) => n,
                    Err(e)
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            || e.kind() == std::io::ErrorKind::TimedOut =>
                    {
                        let now = std::time::Instant::now();
                        let expired = self.lock()?.idle(now - told);
                        told = now;
                        if expired || now - heard >= idle {
                            // Closed when dropped, after the agent is marked free:
                            // a host that sees the close may connect at once.
                            return Ok(());
                        }
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                },
            };
            if n == 0 {
                return Ok(());
            }
            (heard, told) = (std::time::Instant::now(), std::time::Instant::now());
            if self.take(&buf[..n])? {
                // The board's USB port goes away while it restarts; free
                // first, so that a host that sees the close may connect at once.
                self.active.store(false, Ordering::SeqCst);
                let _ = self.stream.shutdown(std::net::Shutdown::Both);
                return Ok(());
            }
        }
    }

    fn lock(&self) -> anyhow::Result<std::sync::MutexGuard<'_, SimDevice>> {
        self.device
            .lock()
            .map_err(|_| anyhow::anyhow!("simulator state poisoned"))
    }

    /// Feeds what the host sent to the board and sends back what it
    /// answered; true when the board reset (a Reboot, or the touch).
    fn take(&mut self, input: &[u8]) -> anyhow::Result<bool> {
        let mut out = Vec::new();
        let (device, on_bootsel) = (self.device, self.on_bootsel);
        let reset = self.wire.feed(input, &mut |data| {
            let mut d = device
                .lock()
                .map_err(|_| anyhow::anyhow!("simulator state poisoned"))?;
            if data.is_empty() {
                return d.touch();
            }
            let asked = d.bootsel_requests;
            let rebooted = d.receive(data, &mut out)?;
            if d.bootsel_requests != asked {
                on_bootsel(d.bootsel_requests);
            }
            Ok(rebooted)
        })?;
        let bytes = self.wire.outgoing(&out);
        self.stream.write_all(&bytes)?;
        Ok(reset)
    }
}

fn busy_frame() -> Vec<u8> {
    let mut scratch = [0u8; 128];
    let mut out = [0u8; 160];
    let reply = Reply::Error {
        code: ErrorCode::Busy,
        entry: None,
        detail: "another host is driving this agent",
    };
    let n = encode_frame(&reply, &mut scratch, &mut out).unwrap_or(0);
    out[..n].to_vec()
}
