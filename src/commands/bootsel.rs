//! `ota bootsel`: sends boards to their boot ROM's USB bootloader (BOOTSEL
//! mode), where `ota agent install` finds them. An agent gets the protocol's
//! Bootsel request (it calls the ROM's `reset_usb_boot`); an application
//! gets the 1200-baud touch first, which reboots it into the agent; stock
//! MicroPython gets `machine.bootloader()` at its REPL.

use std::time::{Duration, Instant};

use anyhow::Result;
use ota_protocol::Request;
use serde_json::json;

use super::report::{self, Outcome};
use super::{on_each, Ctx, Target};
use crate::device::link::discover::{self, pico_kind, BoardKind};
use crate::device::PortSpec;
use crate::exit::{fail, Kind};

/// The protocol minor version that brought the Bootsel request.
const BOOTSEL_MINOR: u16 = 2;

pub fn run(ctx: &Ctx) -> Result<()> {
    let targets = targets(ctx)?;
    let results = on_each(&targets, |t| {
        let serial = send(ctx, t)?;
        let label = serial.clone().unwrap_or_else(|| t.label());
        ctx.ui.say(&format!(
            "{label}: sent to BOOTSEL mode (it now shows as an RPI-RP2 drive)"
        ));
        Ok(json!({ "port": t.spec.to_string(), "serial": serial, "result": "bootsel" }))
    });
    let outcomes = targets
        .iter()
        .zip(results)
        .map(|(t, result)| Outcome {
            device: t.label(),
            port: t.spec.to_string(),
            result,
        })
        .collect();
    report::finish(ctx.ui.json, ctx.multi(), "bootsel", outcomes)
}

/// `--serial` names boards whatever they run (an application too); the rest
/// as every command selects devices.
fn targets(ctx: &Ctx) -> Result<Vec<Target>> {
    if ctx.selection.serials.is_empty() {
        return ctx.targets();
    }
    let mut out = Vec::new();
    for sn in &ctx.selection.serials {
        let at = discover::board_of_serial(sn);
        let port = at
            .iter()
            .find(|b| b.kind == BoardKind::Agent)
            .or_else(|| at.iter().find(|b| b.port.is_some()))
            .and_then(|b| b.port.clone());
        let port = match port {
            Some(p) => p,
            None if !at.is_empty() => {
                return Err(fail(Kind::Device, format!("{sn}: already in BOOTSEL mode")))
            }
            None => {
                return Err(discover::none_found(&format!(
                    "no board with serial number {sn}"
                )))
            }
        };
        out.push(Target {
            spec: PortSpec::Serial(port),
            serial: Some(sn.clone()),
        });
    }
    Ok(out)
}

/// Sends one board to BOOTSEL; returns its serial number.
pub fn send(ctx: &Ctx, t: &Target) -> Result<Option<String>> {
    if let PortSpec::Serial(port) = &t.spec {
        let serial = t.serial.clone().or_else(|| serial_of_port(port));
        let kind = console_kind(port, serial.as_deref());
        if kind == Some(BoardKind::MicroPython) {
            crate::device::micropython::enter_bootloader(port)?;
            return Ok(serial);
        }
        if kind == Some(BoardKind::Application) {
            crate::device::link::transport::touch(port).map_err(|e| {
                fail(
                    Kind::Device,
                    format!("{port}: cannot open for the 1200-baud touch: {e}"),
                )
            })?;
            let Some(sn) = serial else {
                return Err(fail(
                    Kind::Device,
                    format!("{port}: touched at 1200 baud, but its serial number is unknown, so the agent it reboots into cannot be found: use --serial"),
                ));
            };
            let agent = wait_for_agent(&sn, ctx.config.device_timeout)?;
            return agent_request(
                ctx,
                &Target {
                    spec: PortSpec::Serial(agent),
                    serial: Some(sn),
                },
            );
        }
    }
    agent_request(ctx, t)
}

fn agent_request(ctx: &Ctx, t: &Target) -> Result<Option<String>> {
    let mut c = ctx.connect_to(t)?;
    let info = c.hello()?;
    let minor = info
        .protocol
        .split_once('.')
        .and_then(|(_, m)| m.parse::<u16>().ok())
        .unwrap_or(0);
    if minor < BOOTSEL_MINOR {
        return Err(fail(
            Kind::Refused,
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
            return Err(fail(
                Kind::Device,
                format!(
                    "{serial}: the agent did not come up within {}s of the 1200-baud touch",
                    timeout.as_secs()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
