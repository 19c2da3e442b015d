//! The one place where a port spec becomes a connection: a serial port (an
//! agent, or a MicroPython board whose agent is started on it), a TCP link,
//! or the simulator inside ota; then the agent reached behind it.

use std::time::Duration;

use crate::device::link::rfc2217::Rfc2217;
use crate::device::link::transport::{Tcp, Transport};
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
        PortSpec::Serial(path) => {
            crate::device::micropython::transport::open_serial(path, serial, timeout)?
        }
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
