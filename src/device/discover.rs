//! Finding agents: serial ports whose USB ids and product string are the
//! agent firmware's, from the USB enumeration and from udev's
//! `/dev/serial/by-id` links (which carry the serial number, so a board that
//! re-enumerates on another `/dev/ttyACMn` is found again by its serial).

use std::path::PathBuf;

use serde::Serialize;

use crate::exit::{fail, Kind};

/// pid.codes test VID/PID, used by the agent firmware (see firmware-agent/pico).
pub const AGENT_VID: u16 = 0x1209;
pub const AGENT_PID: u16 = 0x0001;
pub const AGENT_PRODUCT: &str = "ota agent";
/// Raspberry Pi's VID: a Pico running something else (MicroPython, BOOTSEL mode).
pub const RPI_VID: u16 = 0x2E8A;
/// How udev names the agent's link in /dev/serial/by-id: `usb-<manufacturer>_<product>_<serial>-if00`.
pub const BY_ID_PREFIX: &str = "usb-ota_ota_agent_";

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UsbPort {
    pub port: String,
    pub vid: Option<u16>,
    pub pid: Option<u16>,
    pub serial: Option<String>,
    pub product: Option<String>,
    /// True when the USB ids (or the by-id name) are the agent's.
    pub agent: bool,
}

/// Where udev's by-serial links live; `OTA_SERIAL_BY_ID` overrides it.
pub fn by_id_dir() -> PathBuf {
    std::env::var_os("OTA_SERIAL_BY_ID")
        .map_or_else(|| PathBuf::from("/dev/serial/by-id"), PathBuf::from)
}

/// What a Pico that is not an agent is probably running, from its USB product id.
pub fn pico_kind(vid: Option<u16>, pid: Option<u16>, product: Option<&str>) -> &'static str {
    match (vid, pid, product) {
        (Some(AGENT_VID), Some(AGENT_PID), _) => "ota agent",
        (Some(RPI_VID), Some(0x0003), _) => {
            "Pico in BOOTSEL mode (copy the agent's UF2 onto its drive)"
        }
        (Some(RPI_VID), Some(0x0005), _) => "Pico running MicroPython",
        (_, _, Some(p)) if p.contains("MicroPython") => "Pico running MicroPython",
        _ => "a Raspberry Pi device that is not an ota agent",
    }
}

fn from_by_id() -> Vec<UsbPort> {
    let Ok(dir) = std::fs::read_dir(by_id_dir()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(target) = std::fs::canonicalize(e.path()) else {
            continue;
        };
        let port = target.display().to_string();
        if let Some(rest) = name.strip_prefix(BY_ID_PREFIX) {
            let serial = rest.split("-if").next().unwrap_or(rest).to_string();
            out.push(UsbPort {
                port,
                vid: None,
                pid: None,
                serial: Some(serial),
                product: Some(AGENT_PRODUCT.into()),
                agent: true,
            });
        } else if name.contains("MicroPython") || name.contains("Raspberry_Pi") {
            out.push(UsbPort {
                port,
                vid: None,
                pid: None,
                serial: None,
                product: Some(name),
                agent: false,
            });
        }
    }
    out
}

fn from_usb() -> Vec<UsbPort> {
    let Ok(ports) = serialport::available_ports() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in ports {
        if let serialport::SerialPortType::UsbPort(u) = p.port_type {
            let agent = u.vid == AGENT_VID
                && u.pid == AGENT_PID
                && u.product.as_deref().is_none_or(|s| s == AGENT_PRODUCT);
            if agent || u.vid == RPI_VID {
                out.push(UsbPort {
                    port: p.port_name,
                    vid: Some(u.vid),
                    pid: Some(u.pid),
                    serial: u.serial_number,
                    product: u.product,
                    agent,
                });
            }
        }
    }
    out
}

/// Serial ports that are agents, or Picos that are not (yet); one entry a port.
pub fn candidates() -> Vec<UsbPort> {
    let mut all = from_usb();
    for b in from_by_id() {
        if !all.iter().any(|u| same_port(&u.port, &b.port)) {
            all.push(b);
        }
    }
    all.sort_by(|a, b| a.port.cmp(&b.port));
    all
}

fn same_port(a: &str, b: &str) -> bool {
    let canon = |p: &str| std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p));
    a == b || canon(a) == canon(b)
}

/// A Pico running MicroPython: ota starts its MicroPython agent there.
pub fn micropython(p: &UsbPort) -> bool {
    p.vid == Some(RPI_VID) && p.pid == Some(0x0005)
}

/// The port where the agent (or MicroPython board) with this serial number is now.
pub fn port_of_serial(serial: &str) -> Option<String> {
    candidates()
        .into_iter()
        .find(|p| {
            (p.agent || micropython(p))
                && p.serial
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(serial))
        })
        .map(|p| p.port)
}

/// Every attached agent, and every Pico running MicroPython.
pub fn agents() -> Vec<UsbPort> {
    candidates()
        .into_iter()
        .filter(|p| p.agent || micropython(p))
        .collect()
}

fn describe_others(all: &[UsbPort]) -> String {
    let others: Vec<String> = all
        .iter()
        .filter(|p| !p.agent)
        .map(|p| {
            format!(
                "{} ({})",
                p.port,
                pico_kind(p.vid, p.pid, p.product.as_deref())
            )
        })
        .collect();
    if others.is_empty() {
        "no Pico is attached".to_string()
    } else {
        format!(
            "found only Picos not running the agent: {}",
            others.join(", ")
        )
    }
}

/// The one attached agent; none or several is an error that lists what was seen.
pub fn the_agent() -> anyhow::Result<UsbPort> {
    let all = candidates();
    let agents: Vec<&UsbPort> = all.iter().filter(|p| p.agent || micropython(p)).collect();
    match agents.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(fail(
            Kind::Device,
            format!(
                "no ota agent found on USB ({AGENT_VID:04x}:{AGENT_PID:04x}): {}; pass --port, or flash the agent firmware",
                describe_others(&all)
            ),
        )),
        many => Err(fail(
            Kind::Device,
            format!(
                "several ota agents attached: {}; pick with --port or --serial, or use --all",
                many.iter()
                    .map(|p| format!("{} (serial {})", p.port, p.serial.as_deref().unwrap_or("?")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// No agent attached at all: the error for `--all` and `--serial`.
pub fn none_found(what: &str) -> anyhow::Error {
    fail(
        Kind::Device,
        format!("{what}: {}", describe_others(&candidates())),
    )
}
