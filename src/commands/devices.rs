//! `ota devices`: every attached agent with what it runs, and every Pico
//! that does not answer as one (MicroPython, BOOTSEL mode), never silently dropped.

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use serde_json::json;

use super::render::state_line;
use super::{on_each, print_json, print_line, Ctx, Target};
use crate::device::link::discover::{self, pico_kind};
use crate::device::rom::bootsel;
use crate::device::{DeviceInfo, PortSpec};
use crate::terminal::escape;

#[derive(Debug, Serialize)]
struct Seen {
    port: String,
    serial: Option<String>,
    /// "agent", "micropython" (a MicroPython board ota drives), or what else the Pico seems to run.
    kind: String,
    device: Option<DeviceInfo>,
    error: Option<String>,
}

pub fn run(ctx: &Ctx) -> Result<()> {
    let found = discover::candidates();
    let targets: Vec<Target> = found
        .iter()
        .map(|p| Target::new(PortSpec::Serial(p.port.clone()), p.serial.clone()))
        .collect();
    let answers = on_each(&targets, |t| {
        let mut c = ctx.connect_to(t)?;
        c.timeout = ctx.config.device_timeout.min(Duration::from_secs(2));
        c.hello()
    });
    let mut seen = Vec::new();
    for (p, answer) in found.iter().zip(answers) {
        let (kind, device, error) = match (p.agent, answer) {
            (_, Ok(info)) => {
                let kind = if info.micropython() {
                    "micropython"
                } else {
                    "agent"
                };
                (kind.to_string(), Some(info), None)
            }
            (true, Err(e)) => (
                "agent (not answering)".to_string(),
                None,
                Some(format!("{e:#}")),
            ),
            (false, Err(_)) => (
                pico_kind(p.vid, p.pid, p.product.as_deref()).to_string(),
                None,
                None,
            ),
        };
        seen.push(Seen {
            port: p.port.clone(),
            serial: p.serial.clone(),
            kind,
            device,
            error,
        });
    }
    seen.extend(in_bootsel());
    if ctx.ui.json {
        return print_json(&json!({ "devices": seen }));
    }
    if seen.is_empty() {
        ctx.ui.say("no ota agent and no Pico found on USB");
    }
    for s in &seen {
        let what = match &s.device {
            Some(d) => format!(
                "agent {}, {} ({})",
                escape(&d.agent_version),
                escape(d.active.as_ref().map_or("empty", |a| a.version.as_str())),
                state_line(d)
            ),
            None => match &s.error {
                Some(e) => format!("{}: {e}", s.kind),
                None => s.kind.clone(),
            },
        };
        print_line(&format!(
            "{:<16} {:<18} {what}",
            s.port,
            s.serial.as_deref().unwrap_or("-")
        ))?;
    }
    Ok(())
}

/// Picos in BOOTSEL mode, which have no serial port: their RPI-RP2 drives,
/// and their boot ROM on USB (which shows the serial number).
fn in_bootsel() -> Vec<Seen> {
    let drives = bootsel::drives().into_iter().map(|d| Seen {
        port: d.display().to_string(),
        serial: None,
        kind: "Pico in BOOTSEL mode: its RPI-RP2 drive (ota agent install)".into(),
        device: None,
        error: None,
    });
    let usb = bootsel::usb_devices().into_iter().map(|u| Seen {
        port: "usb 2e8a:0003".into(),
        serial: u.serial,
        kind: "Pico in BOOTSEL mode: its boot ROM on USB (ota agent install)".into(),
        device: None,
        error: None,
    });
    drives.chain(usb).collect()
}
