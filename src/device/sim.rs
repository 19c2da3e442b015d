//! A simulated Pico: the real agent core on a flash image file, laid out as
//! on a Pico W. It behaves like a board whose application confirms a trial
//! version as soon as it boots, unless told to play a broken application.
//!
//! Each `SimDevice::boot` is one power-on; a Reboot request boots again on
//! the same flash. The image file is locked while a simulator uses it, so
//! two ota processes cannot drive one simulated device at once.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
use ota_agent::board::{FIRMWARE_SIZE, FLASH_SIZE, STORE_BASE, STORE_SECTORS};
use ota_agent::file_flash::FileFlash;
use ota_agent::layout::State;
use ota_agent::{link_buffer_for, Action, Agent, AgentConfig, AgentLink, BootOutcome};

use super::transport::Transport;
use crate::exit::{fail, Kind};

/// The simulator takes the largest chunk the protocol allows.
const LINK: usize = link_buffer_for(ota_protocol::MAX_CHUNK);
/// Where a sim image keeps its device id: the last sector of the (unused) firmware region.
const IDENTITY: u32 = FIRMWARE_SIZE - 4096;
const IDENTITY_MAGIC: &[u8; 8] = b"OTASIMID";

pub struct SimDevice {
    agent: Agent<FileFlash>,
    link: Box<AgentLink<LINK>>,
    image: PathBuf,
    auto_confirm: bool,
    /// Holds the image's lock for as long as the device lives.
    _lock: File,
    pub last_boot: BootOutcome,
}

impl SimDevice {
    /// Powers on the simulated Pico on `image` (created, erased, on first use).
    pub fn boot(image: &Path, auto_confirm: bool) -> anyhow::Result<SimDevice> {
        let lock = lock_image(image)?;
        let (agent, outcome) = boot_agent(image, auto_confirm)?;
        Ok(SimDevice {
            agent,
            link: Box::new(AgentLink::new()),
            image: image.to_path_buf(),
            auto_confirm,
            _lock: lock,
            last_boot: outcome,
        })
    }

    /// Feeds bytes from the host; reply frames are appended to `out`.
    /// Returns true when the device rebooted.
    pub fn receive(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> anyhow::Result<bool> {
        let mut rebooted = false;
        while !input.is_empty() {
            let (n, action) = self
                .link
                .receive(&mut self.agent, input, &mut |f| out.extend_from_slice(f));
            input = &input[n..];
            if action == Action::Reboot {
                self.reboot()?;
                rebooted = true;
            }
        }
        Ok(rebooted)
    }

    /// Power-cycles the device on the same flash.
    pub fn reboot(&mut self) -> anyhow::Result<()> {
        let (agent, outcome) = boot_agent(&self.image, self.auto_confirm)?;
        self.agent = agent;
        self.link.reset();
        self.last_boot = outcome;
        Ok(())
    }

    pub fn agent(&self) -> &Agent<FileFlash> {
        &self.agent
    }

    /// The serial number a board would show on USB: its flash unique id in hex.
    pub fn serial_number(&self) -> String {
        crate::bundle::hex(&self.agent.info().device_id)
    }
}

fn lock_image(image: &Path) -> anyhow::Result<File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(image)
        .map_err(|e| {
            fail(
                Kind::Device,
                format!("sim:{}: cannot open flash image: {e}", image.display()),
            )
        })?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(super::transport::busy(&format!("sim:{}", image.display())))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(fail(
            Kind::Device,
            format!("sim:{}: cannot lock: {e}", image.display()),
        )),
    }
}

fn boot_agent(image: &Path, auto_confirm: bool) -> anyhow::Result<(Agent<FileFlash>, BootOutcome)> {
    let name = || format!("sim:{}", image.display());
    let mut flash = FileFlash::open(image, FLASH_SIZE)
        .map_err(|e| fail(Kind::Device, format!("{}: {e}", name())))?;
    let device_id =
        identity(&mut flash).map_err(|e| fail(Kind::Device, format!("{}: {e}", name())))?;
    let config = AgentConfig {
        agent_version: concat!("sim-", env!("CARGO_PKG_VERSION")),
        device_id,
        max_chunk: AgentLink::<LINK>::max_chunk(),
    };
    let (mut agent, outcome) = Agent::boot(flash, STORE_BASE, STORE_SECTORS, config)
        .map_err(|e| fail(Kind::Device, format!("{}: agent cannot start: {e}", name())))?;
    if auto_confirm && matches!(agent.store().state(), State::Trial { .. }) {
        agent
            .store_mut()
            .confirm()
            .map_err(|e| fail(Kind::Device, format!("{}: confirm failed: {e}", name())))?;
    }
    Ok((agent, outcome))
}

/// The image's device id, made up (and written) on first use, like a flash chip's unique id.
fn identity(flash: &mut FileFlash) -> Result<[u8; 8], String> {
    let mut buf = [0u8; 16];
    flash
        .read(IDENTITY, &mut buf)
        .map_err(|e| format!("{e:?}"))?;
    if &buf[..8] == IDENTITY_MAGIC {
        return Ok(buf[8..].try_into().unwrap_or_default());
    }
    let id = random_id();
    flash
        .erase(IDENTITY, IDENTITY + 4096)
        .map_err(|e| format!("{e:?}"))?;
    buf[..8].copy_from_slice(IDENTITY_MAGIC);
    buf[8..].copy_from_slice(&id);
    flash.write(IDENTITY, &buf).map_err(|e| format!("{e:?}"))?;
    Ok(id)
}

fn random_id() -> [u8; 8] {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    h.finish().to_le_bytes()
}

/// `sim:FILE`: the simulated device inside this process.
pub struct SimTransport {
    device: SimDevice,
    outbox: Vec<u8>,
}

impl SimTransport {
    pub fn open(image: &Path, auto_confirm: bool) -> anyhow::Result<SimTransport> {
        Ok(SimTransport {
            device: SimDevice::boot(image, auto_confirm)?,
            outbox: Vec::new(),
        })
    }
}

impl Transport for SimTransport {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.device
            .receive(bytes, &mut self.outbox)
            .map(|_| ())
            .map_err(|e| io::Error::other(e.to_string()))
    }

    fn recv(&mut self, buf: &mut [u8], _timeout: Duration) -> io::Result<usize> {
        // The simulated agent answers synchronously: nothing queued means no answer.
        let n = buf.len().min(self.outbox.len());
        buf[..n].copy_from_slice(&self.outbox[..n]);
        self.outbox.drain(..n);
        Ok(n)
    }

    fn reconnect(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn name(&self) -> String {
        format!("sim:{}", self.device.image.display())
    }

    fn synchronous(&self) -> bool {
        true
    }
}
