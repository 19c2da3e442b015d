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

use super::sim::SimDevice;
use crate::exit::{fail, Kind};

/// Serves on a new pseudo-terminal; `announce` gets the path to open.
///
/// With `by_id`, the simulator plays udev too: it keeps a link named as
/// /dev/serial/by-id would name the board (with its serial number) pointing
/// at the current pseudo-terminal, and each reboot moves it to a new one, as
/// a board re-enumerating on another /dev/ttyACMn.
pub fn serve_pty(
    image: &Path,
    auto_confirm: bool,
    by_id: Option<&Path>,
    announce: &mut dyn FnMut(&str),
) -> anyhow::Result<()> {
    use serialport::SerialPort;
    let mut device = SimDevice::boot(image, auto_confirm)?;
    loop {
        let (mut master, slave) = serialport::TTYPort::pair().map_err(|e| {
            fail(
                Kind::Device,
                format!("cannot create a pseudo-terminal: {e}"),
            )
        })?;
        let path = slave
            .name()
            .ok_or_else(|| fail(Kind::Device, "pseudo-terminal has no name"))?;
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
                Err(e) => return Err(fail(Kind::Device, format!("{path}: {e}"))),
            };
            out.clear();
            let rebooted = device.receive(&buf[..n], &mut out)?;
            master.write_all(&out)?;
            master.flush()?;
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
    let link = dir.join(format!("{}{serial}-if00", super::discover::BY_ID_PREFIX));
    let tmp = dir.join(format!(".{serial}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    #[cfg(unix)]
    std::os::unix::fs::symlink(tty, &tmp)?;
    std::fs::rename(&tmp, &link)?;
    Ok(())
}

/// Serves on a TCP address; `announce` gets `tcp:HOST:PORT` as bound. A
/// connection silent for `idle` (at most the agent's own session timeout)
/// is closed, so a host that went away cannot keep the agent busy.
pub fn serve_tcp(
    image: &Path,
    auto_confirm: bool,
    addr: &str,
    idle: Option<Duration>,
    announce: &mut dyn FnMut(&str),
) -> anyhow::Result<()> {
    let session_idle = Duration::from_millis(ota_agent::SESSION_IDLE_MS as u64);
    let idle = idle.unwrap_or(session_idle).min(session_idle);
    let device = Arc::new(Mutex::new(SimDevice::boot(image, auto_confirm)?));
    let listener = TcpListener::bind(addr)
        .map_err(|e| fail(Kind::Config, format!("cannot listen on {addr}: {e}")))?;
    announce(&format!("tcp:{}", listener.local_addr()?));
    let active = Arc::new(AtomicBool::new(false));
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        if active.swap(true, Ordering::SeqCst) {
            let _ = stream.write_all(&busy_frame());
            continue;
        }
        let device = device.clone();
        let active = active.clone();
        std::thread::spawn(move || {
            let _ = serve_connection(&mut stream, &device, idle);
            active.store(false, Ordering::SeqCst);
        });
    }
    Ok(())
}

fn serve_connection(
    stream: &mut TcpStream,
    device: &Mutex<SimDevice>,
    idle: Duration,
) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    // Wake up now and then to tell the agent how long the link was silent.
    stream.set_read_timeout(Some(idle.min(Duration::from_secs(1))))?;
    let mut buf = [0u8; 4096];
    let mut out = Vec::new();
    let mut heard = std::time::Instant::now();
    let mut told = heard;
    loop {
        let n = match stream.read(&mut buf) {
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
            d.receive(&buf[..n], &mut out)?
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
