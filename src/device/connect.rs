//! The one place where a port spec becomes a connection: a serial port (an
//! agent, or a MicroPython board whose agent is started on it), one TCP
//! connection, an RFC 2217 serial port, or the simulator inside ota; then the agent reached behind it.

use std::time::Duration;

use crate::device::agent::power_on;
use crate::device::error;
use crate::device::link::discover;
use crate::device::link::rfc2217::{self, Rfc2217};
use crate::device::link::transport::{Serial, Tcp, Transport};
use crate::device::micropython::transport::{answers_hello, Answer, MicroPython};
use crate::device::sim::SimTransport;
use crate::device::{Client, PortSpec};

/// How long to wait for what, and whether ota may say that it waits.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// For an answer, a reconnection, a reboot.
    pub timeout: Duration,
    /// For a board reachable only at its next power-on to be reset or replugged.
    pub power_on_wait: Duration,
    /// Whether the wait for a power-on is said on stderr.
    pub notices: bool,
}

impl Patience {
    pub fn new(timeout: Duration) -> Patience {
        Patience {
            timeout,
            power_on_wait: power_on::WAIT_LIMIT,
            notices: true,
        }
    }
}

/// The byte link that `spec` names, opened; or, when the board behind it
/// is off its USB for good (a serial port that is not there, a bridge with
/// no device to open), the link unopened and why. `serial` is the board's
/// USB serial number when known, so that a board that re-enumerates is
/// found again.
fn open_link(
    spec: &PortSpec,
    serial: Option<String>,
    timeout: Duration,
) -> anyhow::Result<(Box<dyn Transport>, Option<&'static str>)> {
    Ok(match spec {
        PortSpec::Serial(path) if absent(path) => (
            Box::new(Serial::absent(path, serial)),
            Some("no such port (a board whose application runs without USB shows none)"),
        ),
        PortSpec::Serial(path) => (open_serial(path, serial, timeout)?, None),
        PortSpec::Tcp(addr) => (Box::new(Tcp::open(addr, timeout)?), None),
        PortSpec::Rfc2217(addr) => {
            let mut t = Rfc2217::unopened(addr, timeout);
            match t.open_within(power_on::SILENT_FOR.min(timeout)) {
                Ok(()) => (Box::new(t), None),
                Err(e) if rfc2217::closed(&e) => (
                    Box::new(t),
                    Some("its server has no serial port to open (the board is off USB: an application without USB runs there)"),
                ),
                Err(e) => {
                    return Err(error::link(format!(
                        "rfc2217://{addr}: cannot connect: {e}"
                    )))
                }
            }
        }
        PortSpec::Sim {
            image,
            auto_confirm,
        } => (Box::new(SimTransport::open(image, *auto_confirm)?), None),
    })
}

/// A device path that does not exist (rather than one that cannot be opened).
fn absent(path: &str) -> bool {
    path.starts_with("/dev/") && !std::path::Path::new(path).exists()
}

/// A client talking to the agent behind `spec` (an application running
/// there is touched into the agent first).
pub fn connect(
    spec: &PortSpec,
    serial: Option<String>,
    timeout: Duration,
) -> anyhow::Result<Client> {
    connect_with(spec, serial, Patience::new(timeout))
}

/// As [`connect`], with how long to wait for a board reachable only at power-on.
pub fn connect_with(
    spec: &PortSpec,
    serial: Option<String>,
    patience: Patience,
) -> anyhow::Result<Client> {
    let (link, away) = open_link(spec, serial, patience.timeout)?;
    let mut client = Client::new(link, patience.timeout);
    client.power_on_wait = patience.power_on_wait;
    client.notices = patience.notices;
    match away {
        Some(why) => power_on::wait_for_window(&mut client, why, false)?,
        None => client.reach_agent()?,
    }
    Ok(client)
}

/// Opens a serial port as whichever kind of device answers there: the ota
/// agent (it answers a Hello frame, or USB names it), or a MicroPython
/// board, whose agent is started on it (or found still running).
fn open_serial(
    path: &str,
    serial: Option<String>,
    timeout: Duration,
) -> anyhow::Result<Box<dyn Transport>> {
    let known = discover::candidates().into_iter().find(|p| p.port == path);
    let mut port = Serial::open(path, serial)?;
    let answer = match &known {
        // The agent, or an application over it (reached with the 1200-baud touch).
        Some(p) if p.agent || p.application => Answer::Agent,
        Some(p) if discover::micropython(p) => Answer::Repl,
        _ => answers_hello(&mut port),
    };
    let m = match answer {
        Answer::Agent => return Ok(Box::new(port)),
        // Left running by an ota that was killed: it goes on serving.
        Answer::RunningMicroPython => MicroPython::running(Box::new(port), timeout),
        Answer::Repl => MicroPython::open(Box::new(port), timeout)
            .map_err(|e| error::link(format!("{path}: {e}")))?,
    };
    Ok(Box::new(m))
}
