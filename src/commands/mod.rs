//! One module per command. Commands turn flags and config into work on the
//! device layer, and render the results for people (stderr) or JSON (stdout).

pub mod agent;
pub mod github;
pub mod inspect;
pub mod push;
pub mod stage;

use std::io::Write;

use anyhow::Result;

use crate::config::Config;
use crate::device::sim::SimTransport;
use crate::device::transport::{Serial, Tcp, Transport};
use crate::device::{discover, Client, PortSpec};
use crate::progress::Ui;

/// What every command gets: the merged config and how to speak.
pub struct Ctx {
    pub config: Config,
    pub ui: Ui,
}

impl Ctx {
    /// `--port` (or OTA_PORT, or the config's `port`), else the one agent on USB.
    pub fn port(&self) -> Result<PortSpec> {
        match &self.config.port {
            Some(p) => PortSpec::parse(p),
            None => Ok(PortSpec::Serial(discover::the_agent()?)),
        }
    }

    pub fn connect(&self) -> Result<Client> {
        let spec = self.port()?;
        self.ui.detail(&format!("device: {spec}"));
        let t: Box<dyn Transport> = match &spec {
            PortSpec::Serial(path) => Box::new(Serial::open(path)?),
            PortSpec::Tcp(addr) => Box::new(Tcp::open(addr, self.config.device_timeout)?),
            PortSpec::Sim {
                image,
                auto_confirm,
            } => Box::new(SimTransport::open(image, *auto_confirm)?),
        };
        Ok(Client::new(t, self.config.device_timeout))
    }
}

/// Prints the JSON document on stdout. A closed pipe is not an error.
pub fn print_json(value: &serde_json::Value) -> Result<()> {
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
