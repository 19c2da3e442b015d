//! `ota agent sim`: a simulated agent served on a pseudo-terminal or a TCP
//! port, so that the real serial and TCP code paths run without a board.
//!
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
use crate::device::link::line_control::{self, Line, Running};
use crate::device::sim::{SimDevice, SimImage};

/// Serves on a new pseudo-terminal; `announce` gets the path to open.
///
/// With `by_id`, the simulator plays udev too: it keeps a link named as
/// /dev/serial/by-id would name the board (with its serial number) pointing
/// at the current pseudo-terminal, and each reboot moves it to a new one, as
/// a board re-enumerating on another /dev/ttyACMn.
pub fn serve_pty(
    image: &Path,
    auto_confirm: bool,
    sync: bool,
    by_id: Option<&Path>,
    announce: &mut dyn FnMut(&str),
    on_bootsel: &mut dyn FnMut(u32),
) -> anyhow::Result<()> {
    use serialport::SerialPort;
    let image = SimImage {
        durable: sync,
        ..SimImage::new(image)
    };
    let mut device = SimDevice::boot_image(&image, auto_confirm)?;
    loop {
        let (mut master, slave) = serialport::TTYPort::pair()
            .map_err(|e| error::link(format!("cannot create a pseudo-terminal: {e}")))?;
        let path = slave
            .name()
            .ok_or_else(|| error::link("pseudo-terminal has no name"))?;
        if let Some(dir) = by_id {
            link_by_id(dir, &device.serial_number(), &path)?;
        }
        announce(&path);
        master.set_timeout(Duration::from_millis(200))?;
        let mut buf = [0u8; 4096];
        let mut out = Vec::new();
        loop {
            let n = match master.read(&mut buf) {
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
                break;
            }
        }
        drop(slave);
        drop(master);
    }
}

/// Points `<dir>/usb-ota_ota_agent_<serial>-if00` at `tty`, replacing it atomically.
fn link_by_id(dir: &Path, serial: &str, tty: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let link = dir.join(format!(
        "{}{serial}-if00",
        crate::device::link::discover::BY_ID_PREFIX
    ));
    let tmp = dir.join(format!(".{serial}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    #[cfg(unix)]
    std::os::unix::fs::symlink(tty, &tmp)?;
    std::fs::rename(&tmp, &link)?;
    Ok(())
}

/// Serves on a TCP address; `announce` gets `tcp:HOST:PORT` as bound.
/// With `image.app`, the board has an application in its slot (see sim/mod.rs);
/// the control lines of line_control.rs tell what runs and carry the touch.
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
            if first[0] == 0xFF {
                let _ = control_line(&mut stream, &first[..n], &device);
                return;
            }
            if active.swap(true, Ordering::SeqCst) {
                let _ = stream.write_all(&busy_frame());
                return;
            }
            let _ = serve_connection(&mut stream, &first[..n], &device, &*on_bootsel, idle);
            active.store(false, Ordering::SeqCst);
        });
    }
    Ok(())
}

/// Answers one control line (what runs; the 1200-baud touch).
fn control_line(
    stream: &mut TcpStream,
    first: &[u8],
    device: &Mutex<SimDevice>,
) -> anyhow::Result<()> {
    let mut line = first[1..].to_vec();
    let mut buf = [0u8; 256];
    while !line.contains(&b'\n') && line.len() < 256 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        line.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&line);
    let text = text.lines().next().unwrap_or("");
    let mut d = device
        .lock()
        .map_err(|_| anyhow::anyhow!("simulator state poisoned"))?;
    let answer = match Line::parse(text) {
        Some(Line::Describe) => line_control::answer(d.running(), None),
        Some(Line::Touch(baud)) => {
            let touched = baud == line_control::TOUCH_BAUD && d.touch()?;
            line_control::answer(d.running(), Some(touched))
        }
        None => line_control::answer(Running::Unknown, None),
    };
    stream.write_all(&answer)?;
    Ok(())
}

fn serve_connection(
    stream: &mut TcpStream,
    first: &[u8],
    device: &Mutex<SimDevice>,
    on_bootsel: &dyn Fn(u32),
    idle: Duration,
) -> anyhow::Result<()> {
    // Wake up now and then to tell the agent how long the link was silent.
    stream.set_read_timeout(Some(idle.min(Duration::from_secs(1))))?;
    let mut buf = [0u8; 4096];
    buf[..first.len()].copy_from_slice(first);
    let mut pending = Some(first.len());
    let mut out = Vec::new();
    let mut heard = std::time::Instant::now();
    let mut told = heard;
    loop {
        let n = match pending.take() {
            Some(n) => n,
            None => match stream.read(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    let now = std::time::Instant::now();
                    let expired = device
                        .lock()
                        .map_err(|_| anyhow::anyhow!("simulator state poisoned"))?
                        .idle(now - told);
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
        out.clear();
        let rebooted = {
            let mut d = device
                .lock()
                .map_err(|_| anyhow::anyhow!("simulator state poisoned"))?;
            let asked = d.bootsel_requests;
            let rebooted = d.receive(&buf[..n], &mut out)?;
            if d.bootsel_requests != asked {
                on_bootsel(d.bootsel_requests);
            }
            rebooted
        };
        stream.write_all(&out)?;
        if rebooted {
            // The board's USB port goes away while it restarts.
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return Ok(());
        }
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
