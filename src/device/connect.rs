//! The one place where a port spec becomes a connection: a serial port (an
//! agent, or a MicroPython board whose agent is started on it), one TCP
//! connection, an RFC 2217 serial port, or the simulator inside ota; then the agent reached behind it.

use std::time::Duration;

use crate::device::error;
use crate::device::link::discover;
use crate::device::link::rfc2217::Rfc2217;
use crate::device::link::transport::{Serial, Tcp, Transport};
use crate::device::micropython::transport::{answers_hello, Answer, MicroPython};
use crate::device::sim::SimTransport;
use crate::device::{Client, PortSpec};

/// The byte link that `spec` names, opened. `serial` is the board's USB
/// serial number when known, so that a board that re-enumerates is found again.
pub fn open_link(
    spec: &PortSpec,
    serial: Option<String>,
    timeout: Duration,
) -> anyhow::Result<Box<dyn Transport>> {
    Ok(match spec {
        PortSpec::Serial(path) => open_serial(path, serial, timeout)?,
        PortSpec::Tcp(addr) => Box::new(Tcp::open(addr, timeout)?),
        PortSpec::Rfc2217(addr) => Box::new(Rfc2217::open(addr, timeout)?),
        PortSpec::Sim {
            image,
            auto_confirm,
        } => Box::new(SimTransport::open(image, *auto_confirm)?),
    })
}

/// A client talking to the agent behind `spec` (an application running
/// there is touched into the agent first).
pub fn connect(
    spec: &PortSpec,
    serial: Option<String>,
    timeout: Duration,
) -> anyhow::Result<Client> {
    let mut client = Client::new(open_link(spec, serial, timeout)?, timeout);
    client.reach_agent()?;
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
