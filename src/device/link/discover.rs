//! Finding agents: serial ports whose USB ids and product string are the
//! agent firmware's, from the USB enumeration and from udev's
//! `/dev/serial/by-id` links (which carry the serial number, so a board that
//! re-enumerates on another `/dev/ttyACMn` is found again by its serial).

use std::path::PathBuf;

use serde::Serialize;

use crate::device::error;
use crate::device::rom::bootsel::RPI_VID;

/// pid.codes test VID/PID, used by the agent firmware (see firmware-agent/pico).
pub const AGENT_VID: u16 = 0x1209;
pub const AGENT_PID: u16 = 0x0001;
pub const AGENT_PRODUCT: &str = "ota agent";
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
    /// True for an application on a board with the agent underneath: the
    /// agent's USB ids with another product string (ota's example
    /// applications, or one that keeps the agent's ids).
    pub application: bool,
}

/// Where udev's by-serial links live; `OTA_SERIAL_BY_ID` overrides it.
pub fn by_id_dir() -> PathBuf {
    std::env::var_os("OTA_SERIAL_BY_ID")
        .map_or_else(|| PathBuf::from("/dev/serial/by-id"), PathBuf::from)
}

/// What a Pico that is not an agent is probably running, from its USB product id.
pub fn pico_kind(vid: Option<u16>, pid: Option<u16>, product: Option<&str>) -> &'static str {
    match (vid, pid, product) {
        (Some(AGENT_VID), Some(AGENT_PID), Some(p)) if p != AGENT_PRODUCT => {
            "application running (the agent is reached with a 1200-baud touch)"
        }
        (Some(AGENT_VID), Some(AGENT_PID), _) => "ota agent",
        (Some(RPI_VID), Some(0x0003), _) => "Pico in BOOTSEL mode (ota agent install)",
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
                application: false,
            });
        } else if name.contains("MicroPython") || name.contains("Raspberry_Pi") {
            out.push(UsbPort {
                port,
                vid: None,
                pid: None,
                serial: None,
                product: Some(name),
                agent: false,
                application: false,
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
            let ours = u.vid == AGENT_VID && u.pid == AGENT_PID;
            let agent = ours && u.product.as_deref().is_none_or(|s| s == AGENT_PRODUCT);
            if ours || u.vid == RPI_VID {
                out.push(UsbPort {
                    port: p.port_name,
                    vid: Some(u.vid),
                    pid: Some(u.pid),
                    serial: u.serial_number,
                    product: u.product,
                    agent,
                    application: ours && !agent,
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
        [] => Err(error::not_found(format!(
                "no ota agent found on USB ({AGENT_VID:04x}:{AGENT_PID:04x}): {}; pass --port, or flash the agent firmware",
                describe_others(&all)
            ),
        )),
        many => Err(error::not_found(format!(
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
    error::not_found(format!("{what}: {}", describe_others(&candidates())))
}

/// What a board is running, as its USB side shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BoardKind {
    /// The ota agent (its CDC port carries protocol frames).
    Agent,
    /// The user's application (its CDC port is the application's console).
    Application,
    /// Stock MicroPython.
    MicroPython,
    /// The boot ROM's USB bootloader: the RPI-RP2 drive and PICOBOOT, no serial port.
    Bootsel,
}

impl BoardKind {
    pub fn name(self) -> &'static str {
        match self {
            BoardKind::Agent => "the ota agent",
            BoardKind::Application => "the application",
            BoardKind::MicroPython => "MicroPython",
            BoardKind::Bootsel => "BOOTSEL mode (boot ROM)",
        }
    }
}

/// Where a board is now and what it runs; `port` is None in BOOTSEL mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardAt {
    pub port: Option<String>,
    pub kind: BoardKind,
}

/// The serial number in a udev by-id name, `usb-<manufacturer>_<product>_<serial>-if<NN>`.
pub fn by_id_serial(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("usb-")?;
    let rest = rest.rsplit_once("-if").map_or(rest, |(a, _)| a);
    rest.rsplit_once('_')
        .map(|(_, sn)| sn)
        .filter(|s| !s.is_empty())
}

fn kind_of_by_id(name: &str) -> BoardKind {
    if name.starts_with(BY_ID_PREFIX) {
        BoardKind::Agent
    } else if name.contains("MicroPython") {
        BoardKind::MicroPython
    } else {
        BoardKind::Application
    }
}

fn kind_of_usb(vid: u16, pid: u16, product: Option<&str>) -> BoardKind {
    match (vid, pid) {
        (AGENT_VID, AGENT_PID) if product.is_none_or(|p| p == AGENT_PRODUCT) => BoardKind::Agent,
        (RPI_VID, 0x0005) => BoardKind::MicroPython,
        _ if product.is_some_and(|p| p.contains("MicroPython")) => BoardKind::MicroPython,
        _ => BoardKind::Application,
    }
}

/// Every serial port of the board with this serial number (whatever it
/// runs), from udev's by-id links and the USB enumeration, and the board
/// itself when it sits in BOOTSEL mode. A Pico shows the same serial number
/// (its flash chip's unique id) in every mode, so this follows it across
/// resets and re-enumeration.
pub fn board_of_serial(serial: &str) -> Vec<BoardAt> {
    let same = |s: &str| s.eq_ignore_ascii_case(serial);
    let mut out: Vec<BoardAt> = Vec::new();
    if let Ok(dir) = std::fs::read_dir(by_id_dir()) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !by_id_serial(&name).is_some_and(same) {
                continue;
            }
            if let Ok(target) = std::fs::canonicalize(e.path()) {
                out.push(BoardAt {
                    port: Some(target.display().to_string()),
                    kind: kind_of_by_id(&name),
                });
            }
        }
    }
    if let Ok(ports) = serialport::available_ports() {
        for p in ports {
            if let serialport::SerialPortType::UsbPort(u) = p.port_type {
                let known = out.iter().any(|b| {
                    b.port
                        .as_deref()
                        .is_some_and(|q| same_port(q, &p.port_name))
                });
                if u.serial_number.as_deref().is_some_and(same) && !known {
                    out.push(BoardAt {
                        port: Some(p.port_name),
                        kind: kind_of_usb(u.vid, u.pid, u.product.as_deref()),
                    });
                }
            }
        }
    }
    if crate::device::rom::bootsel::usb_devices()
        .iter()
        .any(|d| d.serial.as_deref().is_some_and(same))
    {
        out.push(BoardAt {
            port: None,
            kind: BoardKind::Bootsel,
        });
    }
    out.sort_by(|a, b| a.port.cmp(&b.port));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_id_names_carry_the_serial_number() {
        assert_eq!(
            by_id_serial("usb-ota_ota_agent_e6613852831f2a09-if00"),
            Some("e6613852831f2a09")
        );
        assert_eq!(
            by_id_serial("usb-MicroPython_Board_in_FS_mode_e6613852831f2a09-if00"),
            Some("e6613852831f2a09")
        );
        assert_eq!(by_id_serial("usb-x_y_-if00"), None);
        assert_eq!(by_id_serial("pci-0000"), None);
        assert_eq!(kind_of_by_id("usb-ota_ota_agent_1-if00"), BoardKind::Agent);
        assert_eq!(
            kind_of_by_id("usb-Raspberry_Pi_Pico_1-if00"),
            BoardKind::Application
        );
    }
}
