//! Finding agents on USB: serial ports whose USB VID/PID and product string
//! are the agent firmware's.

use serde::Serialize;

use crate::exit::{fail, Kind};

/// pid.codes test VID/PID, used by the agent firmware (see firmware-agent/pico).
pub const AGENT_VID: u16 = 0x1209;
pub const AGENT_PID: u16 = 0x0001;
pub const AGENT_PRODUCT: &str = "ota agent";
/// Raspberry Pi's VID: a Pico running something else (MicroPython, BOOTSEL mode).
pub const RPI_VID: u16 = 0x2E8A;

#[derive(Debug, Clone, Serialize)]
pub struct UsbPort {
    pub port: String,
    pub vid: u16,
    pub pid: u16,
    pub serial: Option<String>,
    pub product: Option<String>,
    /// True when the USB ids are the agent's.
    pub agent: bool,
}

/// Serial ports that are agents, or Picos that are not (yet).
pub fn candidates() -> anyhow::Result<Vec<UsbPort>> {
    let ports = serialport::available_ports()
        .map_err(|e| fail(Kind::Device, format!("cannot list serial ports: {e}")))?;
    let mut out = Vec::new();
    for p in ports {
        if let serialport::SerialPortType::UsbPort(u) = p.port_type {
            let agent = u.vid == AGENT_VID
                && u.pid == AGENT_PID
                && u.product.as_deref().is_none_or(|s| s == AGENT_PRODUCT);
            if agent || u.vid == RPI_VID {
                out.push(UsbPort {
                    port: p.port_name,
                    vid: u.vid,
                    pid: u.pid,
                    serial: u.serial_number,
                    product: u.product,
                    agent,
                });
            }
        }
    }
    out.sort_by(|a, b| a.port.cmp(&b.port));
    Ok(out)
}

/// The one attached agent; none or several is an error that lists what was seen.
pub fn the_agent() -> anyhow::Result<String> {
    let all = candidates()?;
    let agents: Vec<&UsbPort> = all.iter().filter(|p| p.agent).collect();
    match agents.as_slice() {
        [one] => Ok(one.port.clone()),
        [] => {
            let others: Vec<String> = all
                .iter()
                .map(|p| {
                    format!(
                        "{} ({:04x}:{:04x} {})",
                        p.port,
                        p.vid,
                        p.pid,
                        p.product.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            let seen = if others.is_empty() {
                "no Pico is attached".to_string()
            } else {
                format!(
                    "found only Picos not running the agent: {}",
                    others.join(", ")
                )
            };
            Err(fail(
                Kind::Device,
                format!(
                    "no ota agent found on USB ({AGENT_VID:04x}:{AGENT_PID:04x}): {seen}; pass --port, or flash the agent firmware"
                ),
            ))
        }
        many => Err(fail(
            Kind::Device,
            format!(
                "several ota agents attached: {}; pick one with --port",
                many.iter()
                    .map(|p| format!("{} (serial {})", p.port, p.serial.as_deref().unwrap_or("?")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}
