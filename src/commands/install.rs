//! `ota agent install`: puts the agent firmware (and an application) on
//! every selected Pico in BOOTSEL mode, through its RPI-RP2 drive or, where
//! none is mounted, its PICOBOOT interface; then waits for each board to
//! come up as an agent and reports its serial number and state. With
//! `--all`, boards that already run the agent are sent to BOOTSEL first.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{json, Value};

use super::report::{self, Outcome};
use super::{Ctx, Target};
use crate::cli::InstallArgs;
use crate::device::error::DeviceError;
use crate::device::link::discover;
use crate::device::rom::bootsel::{copy_to_drive, drives, uf2_pages, usb_devices, BootselUsb};
use crate::device::rom::picoboot::Picoboot;
use crate::device::PortSpec;
use crate::exit::{fail, Kind};
use crate::firmware::Firmware;
use crate::progress::human_bytes;

/// One way into one board in BOOTSEL mode.
enum Way {
    Drive(PathBuf),
    Usb(BootselUsb),
}

impl Way {
    fn label(&self) -> String {
        match self {
            Way::Drive(d) => d.display().to_string(),
            Way::Usb(u) => format!("usb:{}", u.serial.as_deref().unwrap_or("?")),
        }
    }
}

pub fn run(ctx: &Ctx, args: &InstallArgs) -> Result<()> {
    let uf2 = image(args)?;
    let what = if args.app.is_some() {
        "agent firmware and application"
    } else {
        "agent firmware"
    };
    let resent = send_agents_to_bootsel(ctx)?;
    let ways = wait_for_ways(ctx, args, resent.len())?;
    // A board sent to BOOTSEL comes back as an agent with its own serial number.
    let mut claimed: HashSet<String> = HashSet::new();
    let mut outcomes = Vec::new();
    // One at a time: a board installed through its drive is recognised as
    // the agent that was not there before it.
    for way in &ways {
        let result = install_one(ctx, way, (&uf2, what), &resent, &mut claimed);
        outcomes.push(Outcome {
            device: way.label(),
            port: way.label(),
            result,
        });
    }
    let multi = ctx.multi() || outcomes.len() > 1;
    report::finish(ctx.ui.json, multi, "agent install", outcomes)
}

/// The UF2 to install, from the firmware and `--app`.
fn image(args: &InstallArgs) -> Result<Vec<u8>> {
    let app = args
        .app
        .as_deref()
        .map(crate::app_image::read_app)
        .transpose()?;
    let exe = std::env::current_exe().ok();
    let fw = Firmware::find(args.firmware.as_deref(), exe.as_deref())
        .map_err(|e| fail(Kind::Config, e.to_string()))?;
    fw.uf2(app.as_deref())
        .map_err(|e| fail(Kind::Source, e.to_string()))
}

/// With `--all` every attached agent, and each `--serial` that names one,
/// goes to BOOTSEL first; returns their serial numbers.
fn send_agents_to_bootsel(ctx: &Ctx) -> Result<HashSet<String>> {
    let mut targets: Vec<Target> = Vec::new();
    for a in discover::agents() {
        let named = a.serial.as_deref().is_some_and(|s| {
            ctx.selection
                .serials
                .iter()
                .any(|n| n.eq_ignore_ascii_case(s))
        });
        if ctx.selection.all || named {
            targets.push(Target::new(PortSpec::Serial(a.port), a.serial));
        }
    }
    let mut sent = HashSet::new();
    for t in &targets {
        if let Some(sn) = crate::device::rom::enter::enter_bootsel(
            &t.spec,
            t.serial.clone(),
            ctx.config.device_timeout,
        )? {
            sent.insert(sn);
        }
        ctx.ui.say(&format!(
            "{}: running the agent; sent to BOOTSEL to re-install",
            t.label()
        ));
    }
    Ok(sent)
}

/// The boards to install, waiting (up to the device timeout) for those just
/// sent to BOOTSEL to show up.
fn wait_for_ways(ctx: &Ctx, args: &InstallArgs, resent: usize) -> Result<Vec<Way>> {
    let deadline = Instant::now() + ctx.config.device_timeout;
    loop {
        let ways = find_ways(ctx, args)?;
        let enough = ways.len() >= resent;
        if enough || Instant::now() >= deadline {
            return pick(ctx, ways);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn find_ways(ctx: &Ctx, args: &InstallArgs) -> Result<Vec<Way>> {
    let serials = &ctx.selection.serials;
    if !serials.is_empty() {
        // Only USB shows a serial number; a drive does not.
        let usb = usb_devices();
        let mut out = Vec::new();
        for sn in serials {
            if let Some(u) = usb.iter().find(|u| {
                u.serial
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(sn))
            }) {
                out.push(Way::Usb(u.clone()));
            }
        }
        return Ok(out);
    }
    let d = if args.usb { Vec::new() } else { drives() };
    if !d.is_empty() {
        return Ok(d.into_iter().map(Way::Drive).collect());
    }
    Ok(usb_devices().into_iter().map(Way::Usb).collect())
}

fn pick(ctx: &Ctx, ways: Vec<Way>) -> Result<Vec<Way>> {
    let wanted = ctx.selection.serials.len();
    if wanted > 0 && ways.len() < wanted {
        return Err(fail(
            Kind::Device,
            format!(
                "{} of the {wanted} serial number(s) given are in BOOTSEL mode on USB (a drive shows no serial number: drop --serial to install through it)",
                ways.len()
            ),
        ));
    }
    match ways.len() {
        0 => Err(fail(
            Kind::Device,
            "no Pico in BOOTSEL mode: no RPI-RP2 drive is mounted and no 2e8a:0003 device is on USB; hold BOOTSEL while plugging the board in, or `ota bootsel` one that runs the agent",
        )),
        n if n > 1 && !ctx.selection.all && wanted == 0 => Err(fail(
            Kind::Config,
            format!(
                "{n} Picos in BOOTSEL mode ({}): pick with --serial or use --all",
                ways.iter().map(Way::label).collect::<Vec<_>>().join(", ")
            ),
        )),
        _ => Ok(ways),
    }
}

fn install_one(
    ctx: &Ctx,
    way: &Way,
    (uf2, what): (&[u8], &str),
    resent: &HashSet<String>,
    claimed: &mut HashSet<String>,
) -> Result<Value> {
    let before: HashSet<String> = discover::agents()
        .into_iter()
        .filter_map(|a| a.serial)
        .filter(|sn| !resent.contains(sn))
        .collect();
    ctx.ui.say(&format!(
        "{}: writing {} ({what})",
        way.label(),
        human_bytes(uf2.len() as u64)
    ));
    let serial = match way {
        Way::Drive(d) => {
            copy_to_drive(d, uf2, ctx.config.confirm_timeout)
                .map_err(|e| fail(Kind::Device, e.to_string()))?;
            None
        }
        Way::Usb(u) => {
            let pages = uf2_pages(uf2).map_err(|e| fail(Kind::Source, e.to_string()))?;
            let mut p = Picoboot::open(u).map_err(|e| fail(Kind::Device, e.to_string()))?;
            let mut shown = 0;
            let mut progress = |done: u64, total: u64| {
                // A line a quarter: PICOBOOT writes a few hundred KiB at USB full speed.
                let quarter = done * 4 / total.max(1);
                if quarter > shown {
                    shown = quarter;
                    ctx.ui.say(&format!(
                        "{}: {} of {} written and read back",
                        way.label(),
                        human_bytes(done),
                        human_bytes(total)
                    ));
                }
            };
            p.flash(&pages, &mut progress)
                .map_err(|e| fail(Kind::Device, e.to_string()))?;
            u.serial.clone()
        }
    };
    ctx.ui.say(&format!(
        "{}: written; waiting for the agent to start",
        way.label()
    ));
    let (port, sn) = wait_for_agent(
        serial.as_deref(),
        &before,
        claimed,
        ctx.config.confirm_timeout,
    )
    .map_err(|e| fail(Kind::Device, format!("{}: {e}", way.label())))?;
    claimed.insert(sn.clone());
    let t = Target::new(PortSpec::Serial(port.clone()), Some(sn.clone()));
    let info = hello_once_up(ctx, &t, ctx.config.confirm_timeout)?;
    ctx.ui.say(&format!(
        "{sn}: agent {} (protocol {}) on {port}, state {}",
        info.agent_version, info.protocol, info.state
    ));
    Ok(json!({
        "via": way.label(),
        "serial": sn,
        "port": port,
        "result": "installed",
        "device": info,
    }))
}

/// The new agent's Info. Its port may show before the agent behind it
/// answers (or a link of the agent it replaced may linger a moment): a
/// failed link is tried again until `timeout`.
fn hello_once_up(ctx: &Ctx, t: &Target, timeout: Duration) -> Result<crate::device::DeviceInfo> {
    let deadline = Instant::now() + timeout;
    loop {
        match ctx.connect_to(t).and_then(|mut c| c.hello()) {
            Ok(info) => return Ok(info),
            Err(e)
                if Instant::now() < deadline
                    && DeviceError::of(&e).is_some_and(DeviceError::retryable) =>
            {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The agent that came up: the one with `serial`, or else one that was not
/// attached before the install and that no other install took.
fn wait_for_agent(
    serial: Option<&str>,
    before: &HashSet<String>,
    claimed: &HashSet<String>,
    timeout: Duration,
) -> Result<(String, String), String> {
    let deadline = Instant::now() + timeout;
    loop {
        for a in discover::agents() {
            let Some(sn) = a.serial.clone() else { continue };
            let ours = match serial {
                Some(want) => sn.eq_ignore_ascii_case(want),
                None => !before.contains(&sn) && !claimed.contains(&sn),
            };
            if ours {
                return Ok((a.port, sn));
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no agent came up within {}s of the install (is the board still in BOOTSEL mode? then the UF2 was not taken)",
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
