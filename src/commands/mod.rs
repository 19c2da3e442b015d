//! One module per command. Commands turn flags and config into work on the
//! device layer, and render the results for people (stderr) or JSON (stdout).

pub mod advice;
pub mod agent;
pub mod bootsel;
pub mod devices;
pub mod inspect;
pub mod install;
pub mod manifest;
pub mod monitor;
pub mod new;
pub mod push;
pub mod render;
pub mod report;
pub mod run;
pub mod stage;

use std::io::Write;

use anyhow::Result;

use crate::config::Config;
use crate::device::link::discover;
use crate::device::{Client, PortSpec};
use crate::progress::Ui;

/// Which devices the user named: `--port` (repeated), `--serial` (repeated), `--all`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub ports: Vec<String>,
    pub serials: Vec<String>,
    pub all: bool,
}

/// One device to work on, and the serial number to find it by again.
#[derive(Debug, Clone)]
pub struct Target {
    pub spec: PortSpec,
    pub serial: Option<String>,
    /// Found on USB only after a power-on that ota waited for (nothing was
    /// attached before): the agent serves it in its window, and is handed
    /// back to the application when the command is done.
    pub at_power_on: bool,
}

impl Target {
    pub fn new(spec: PortSpec, serial: Option<String>) -> Target {
        Target {
            spec,
            serial,
            at_power_on: false,
        }
    }

    /// How reports name the device: its serial number when known.
    pub fn label(&self) -> String {
        self.serial.clone().unwrap_or_else(|| self.spec.to_string())
    }
}

/// What every command gets: the merged config, the device selection and how to speak.
pub struct Ctx {
    pub config: Config,
    pub ui: Ui,
    pub selection: Selection,
}

impl Ctx {
    /// True when the user asked for several devices (reports then list one record per device).
    pub fn multi(&self) -> bool {
        self.selection.all || self.selection.ports.len() + self.selection.serials.len() > 1
    }

    /// The devices to work on: `--port`s, `--serial`s, `--all`, else the
    /// config's `port` (or OTA_PORT), else the one agent on USB.
    pub fn targets(&self) -> Result<Vec<Target>> {
        let sel = &self.selection;
        let mut out = Vec::new();
        for p in &sel.ports {
            out.push(Target::new(PortSpec::parse(p)?, None));
        }
        for sn in &sel.serials {
            out.push(match discover::port_of_serial(sn) {
                Some(port) => Target::new(PortSpec::Serial(port), Some(sn.clone())),
                None => {
                    let port =
                        crate::device::agent::power_on::wait_for_serial(sn, self.patience())?;
                    // The agent itself came up (an application that did is touched as usual).
                    let app = discover::candidates()
                        .iter()
                        .any(|p| p.port == port && p.application);
                    let mut t = Target::new(PortSpec::Serial(port), Some(sn.clone()));
                    t.at_power_on = !app;
                    t
                }
            });
        }
        if sel.all {
            let agents = discover::agents();
            if agents.is_empty() && out.is_empty() {
                return Err(discover::none_found("--all: no ota agent attached"));
            }
            for a in agents {
                if !out
                    .iter()
                    .any(|t| matches!(&t.spec, PortSpec::Serial(p) if *p == a.port))
                {
                    out.push(Target::new(PortSpec::Serial(a.port), a.serial));
                }
            }
        }
        if out.is_empty() {
            out.push(match &self.config.port {
                Some(p) => Target::new(PortSpec::parse(p)?, None),
                None => self.discovered()?,
            });
        }
        Ok(out)
    }

    /// The one agent on USB. With nothing attached at all, the board may be
    /// one whose application runs without USB: ota says so, and waits for
    /// the agent to show up at the next power-on.
    fn discovered(&self) -> Result<Target> {
        match discover::the_agent() {
            Ok(a) => Ok(Target::new(PortSpec::Serial(a.port), a.serial)),
            Err(_) if discover::candidates().is_empty() => {
                let came = crate::device::agent::power_on::wait_on_usb(self.patience())?;
                let a = discover::the_agent()?;
                let mut t = Target::new(PortSpec::Serial(a.port.clone()), a.serial.clone());
                // The agent itself came up: a power-on, in its window now.
                // (An application that came up is touched as usual.)
                t.at_power_on = came
                    .iter()
                    .any(|p| p.port == a.port && p.agent && !p.application);
                Ok(t)
            }
            Err(e) => Err(e),
        }
    }

    fn patience(&self) -> crate::device::connect::Patience {
        crate::device::connect::Patience {
            timeout: self.config.device_timeout,
            power_on_wait: self.config.power_on_wait,
            notices: !self.ui.quiet,
        }
    }

    pub fn connect_to(&self, t: &Target) -> Result<Client> {
        self.ui.detail(&format!("device: {}", t.spec));
        let mut c =
            crate::device::connect::connect_with(&t.spec, t.serial.clone(), self.patience())?;
        if t.at_power_on {
            c.reached_at_power_on();
        }
        Ok(c)
    }

    /// The one device a command works on; several is a usage error.
    pub fn connect(&self) -> Result<Client> {
        let targets = self.targets()?;
        match targets.as_slice() {
            [one] => self.connect_to(one),
            _ => Err(crate::exit::fail(
                crate::exit::Kind::Config,
                "this command works on one device: pick it with --port or --serial",
            )),
        }
    }
}

/// Runs `work` on every target at once; results come back in target order.
pub fn on_each<T: Send>(
    targets: &[Target],
    work: impl Fn(&Target) -> Result<T> + Sync,
) -> Vec<Result<T>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = targets.iter().map(|t| s.spawn(|| work(t))).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("worker thread panicked")))
            })
            .collect()
    })
}

static JSON_PRINTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True once a command printed its JSON document (stdout holds one, never two).
pub fn json_printed() -> bool {
    JSON_PRINTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Prints the JSON document on stdout. A closed pipe is not an error.
pub fn print_json(value: &serde_json::Value) -> Result<()> {
    JSON_PRINTED.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut out = std::io::stdout().lock();
    let text = serde_json::to_string_pretty(value)?;
    match writeln!(out, "{text}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Prints a line on stdout. A closed pipe is not an error.
pub fn print_line(line: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
