//! Sending a board to its boot ROM's USB bootloader (BOOTSEL mode): an
//! agent gets the protocol's Bootsel request (it calls the ROM's
//! `reset_usb_boot`); an application gets the 1200-baud touch first, which
//! reboots it into the agent; stock MicroPython gets `machine.bootloader()`.

use std::time::{Duration, Instant};

use anyhow::Result;
use ota_protocol::Request;

use crate::device::connect::connect;
use crate::device::error;
use crate::device::link::discover::{self, pico_kind, BoardKind};
use crate::device::PortSpec;

/// The protocol minor version that brought the Bootsel request.
const BOOTSEL_MINOR: u16 = 2;

/// Sends one board to BOOTSEL; returns its serial number.
pub fn enter_bootsel(
    spec: &PortSpec,
    serial: Option<String>,
    timeout: Duration,
) -> Result<Option<String>> {
    if let PortSpec::Serial(port) = spec {
        let serial = serial.clone().or_else(|| serial_of_port(port));
        let kind = console_kind(port, serial.as_deref());
        if kind == Some(BoardKind::MicroPython) {
            crate::device::micropython::enter_bootloader(port)?;
            return Ok(serial);
        }
        if kind == Some(BoardKind::Application) {
            crate::device::link::transport::touch(port).map_err(|e| {
                error::link(format!("{port}: cannot open for the 1200-baud touch: {e}"))
            })?;
            let Some(sn) = serial else {
                return Err(error::not_found(format!("{port}: touched at 1200 baud, but its serial number is unknown, so the agent it reboots into cannot be found: use --serial"
                )));
            };
            let agent = wait_for_agent(&sn, timeout)?;
            return agent_request(&PortSpec::Serial(agent), Some(sn), timeout);
        }
    }
    agent_request(spec, serial, timeout)
}

fn agent_request(
    spec: &PortSpec,
    serial: Option<String>,
    timeout: Duration,
) -> Result<Option<String>> {
    let mut c = connect(spec, serial, timeout)?;
    let info = c.hello()?;
    let minor = info
        .protocol
        .split_once('.')
        .and_then(|(_, m)| m.parse::<u16>().ok())
        .unwrap_or(0);
    if minor < BOOTSEL_MINOR {
        return Err(error::refused(
            None,
            format!(
                "{}: the agent speaks protocol {}, which has no BOOTSEL request (1.{BOOTSEL_MINOR}); hold BOOTSEL while plugging the board in, then `ota agent install`",
                c.name(),
                info.protocol
            ),
        ));
    }
    c.simple(&Request::Bootsel, "Bootsel")?;
    Ok(Some(info.device_id))
}

/// What runs behind a port that discovery knows as a board's but not as an
/// agent's (by its serial number's by-id links and USB ids, when known).
fn console_kind(port: &str, serial: Option<&str>) -> Option<BoardKind> {
    if let Some(sn) = serial {
        return discover::board_of_serial(sn)
            .into_iter()
            .find(|b| b.port.as_deref() == Some(port))
            .map(|b| b.kind)
            .filter(|k| matches!(k, BoardKind::Application | BoardKind::MicroPython));
    }
    discover::candidates()
        .into_iter()
        .find(|p| p.port == port && !p.agent)
        .map(|p| match pico_kind(p.vid, p.pid, p.product.as_deref()) {
            k if k.contains("MicroPython") => BoardKind::MicroPython,
            _ => BoardKind::Application,
        })
}

fn serial_of_port(port: &str) -> Option<String> {
    discover::candidates()
        .into_iter()
        .find(|p| p.port == port)
        .and_then(|p| p.serial)
}

/// Waits for the agent with this serial number to appear; returns its port.
fn wait_for_agent(serial: &str, timeout: Duration) -> Result<String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(p) = discover::port_of_serial(serial) {
            return Ok(p);
        }
        if Instant::now() >= deadline {
            return Err(error::no_answer(format!(
                "{serial}: the agent did not come up within {}s of the 1200-baud touch",
                timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
