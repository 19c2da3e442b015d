//! `ota bootsel`: sends boards to their boot ROM's USB bootloader (BOOTSEL
//! mode), where `ota agent install` finds them. An agent gets the protocol's
//! Bootsel request (it calls the ROM's `reset_usb_boot`); an application
//! gets the 1200-baud touch first, which reboots it into the agent; stock
//! MicroPython gets `machine.bootloader()` at its REPL.

use anyhow::Result;
use serde_json::json;

use super::report::{self, Outcome};
use super::{on_each, Ctx, Target};
use crate::device::link::discover::{self, BoardKind};
use crate::device::rom::enter::enter_bootsel;
use crate::device::PortSpec;
use crate::exit::{fail, Kind};

pub fn run(ctx: &Ctx) -> Result<()> {
    let targets = targets(ctx)?;
    let results = on_each(&targets, |t| {
        let serial = enter_bootsel(&t.spec, t.serial.clone(), ctx.config.device_timeout)?;
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
        out.push(Target::new(PortSpec::Serial(port), Some(sn.clone())));
    }
    Ok(out)
}
