//! A simulated Pico: the real agent core on a flash image file, laid out as
//! on a Pico W. It behaves like a board whose application confirms a trial
//! version as soon as it boots, unless told to play a broken application.
//!
//! Each `SimDevice::boot` is one power-on; a Reboot request boots again on
//! the same flash. The image file is locked while a simulator uses it, so
//! two ota processes cannot drive one simulated device at once.
//!
//! With a [`BoardModel`] (`sim:FILE?model=pico-w`), the in-process simulator
//! also keeps the time the same exchange would take on that board; see
//! `board_model.rs`. The model only measures: the agent does the same work.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
use ota_agent::board::{AGENT_SIZE, FLASH_SIZE, STORE_BASE};
use ota_agent::file_flash::FileFlash;
use ota_agent::layout::{State, MAX_SECTORS, SECTOR};
use ota_agent::timed_flash::{FlashTiming, FlashWork, TimedFlash};
use ota_agent::{link_buffer_for, Action, Agent, AgentConfig, AgentLink, BootOutcome};

use super::board_model::{BoardClock, BoardModel, BoardTime};
use super::transport::Transport;
use crate::exit::{fail, Kind};

/// The simulator takes the largest chunk the protocol allows.
const LINK: usize = link_buffer_for(ota_protocol::MAX_CHUNK);
/// Where a sim image keeps its device id: the last sector of the (unused) firmware region.
const IDENTITY: u32 = AGENT_SIZE - 4096;
const IDENTITY_MAGIC: &[u8; 8] = b"OTASIMID";

/// The simulated board's flash: the image file, with the modeled chip's
/// erase and program times counted (see `ota_agent::timed_flash`).
pub type SimFlash = TimedFlash<FileFlash>;

/// A simulated board: its flash image and how to run it.
/// `sim:FILE[?model=NAME]` in a port spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimImage {
    pub path: PathBuf,
    /// Keep the time a real board would take (off by default).
    pub model: Option<BoardModel>,
    /// Sync the image to disk after every flash operation, so that killing
    /// ota leaves it as a power cut would (on by default; benchmarks turn it
    /// off to measure the agent rather than the disk).
    pub durable: bool,
    /// Flash size in bytes: a Pico W's 2 MiB unless a benchmark needs room
    /// for a larger tree (at most the store's 16 MiB past the firmware region).
    pub flash_size: usize,
}

impl SimImage {
    pub fn new(path: impl Into<PathBuf>) -> SimImage {
        SimImage {
            path: path.into(),
            model: None,
            durable: true,
            flash_size: FLASH_SIZE,
        }
    }

    pub fn with_model(self, model: BoardModel) -> SimImage {
        SimImage {
            model: Some(model),
            ..self
        }
    }

    pub fn display(&self) -> std::path::Display<'_> {
        self.path.display()
    }

    fn store_sectors(&self) -> u32 {
        let sectors = (self.flash_size as u32).saturating_sub(STORE_BASE) / SECTOR;
        sectors.min(MAX_SECTORS as u32)
    }

    fn max_chunk(&self) -> u16 {
        let link = AgentLink::<LINK>::max_chunk();
        self.model.map_or(link, |m| m.max_chunk.min(link))
    }
}

impl From<&str> for SimImage {
    fn from(path: &str) -> SimImage {
        SimImage::new(path)
    }
}

/// The image's path and, when set, `?model=NAME`.
impl fmt::Display for SimImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(m) = &self.model {
            write!(f, "?model={}", m.name)?;
        }
        Ok(())
    }
}

pub struct SimDevice {
    agent: Agent<SimFlash>,
    link: Box<AgentLink<LINK>>,
    image: SimImage,
    auto_confirm: bool,
    /// Flash work of the boots before this one.
    earlier_work: FlashWork,
    /// Holds the image's lock for as long as the device lives.
    _lock: File,
    pub last_boot: BootOutcome,
}

impl SimDevice {
    /// Powers on the simulated Pico on `image` (created, erased, on first use).
    pub fn boot(image: &Path, auto_confirm: bool) -> anyhow::Result<SimDevice> {
        SimDevice::boot_image(&SimImage::new(image), auto_confirm)
    }

    /// Powers on the simulated board `image` describes.
    pub fn boot_image(image: &SimImage, auto_confirm: bool) -> anyhow::Result<SimDevice> {
        let lock = lock_image(&image.path)?;
        let (agent, outcome) = boot_agent(image, auto_confirm)?;
        Ok(SimDevice {
            agent,
            link: Box::new(AgentLink::new()),
            image: image.clone(),
            auto_confirm,
            earlier_work: FlashWork::default(),
            _lock: lock,
            last_boot: outcome,
        })
    }

    /// Erases and programs since the first power-on, at the modeled chip's times.
    pub fn flash_work(&mut self) -> FlashWork {
        let now = self.agent.store_mut().flash_mut().work();
        self.earlier_work.plus(&now)
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

    /// The link was silent for `elapsed`: true once the agent gave up its
    /// session for idleness (see `ota_agent::SESSION_IDLE_MS`).
    pub fn idle(&mut self, elapsed: Duration) -> bool {
        self.agent
            .idle(elapsed.as_millis().min(u32::MAX as u128) as u32)
    }

    /// Power-cycles the device on the same flash.
    pub fn reboot(&mut self) -> anyhow::Result<()> {
        self.earlier_work = self.flash_work();
        let (agent, outcome) = boot_agent(&self.image, self.auto_confirm)?;
        self.agent = agent;
        self.link.reset();
        self.last_boot = outcome;
        Ok(())
    }

    pub fn agent(&self) -> &Agent<SimFlash> {
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

fn boot_agent(
    image: &SimImage,
    auto_confirm: bool,
) -> anyhow::Result<(Agent<SimFlash>, BootOutcome)> {
    let name = || format!("sim:{}", image.display());
    let mut flash = FileFlash::open(&image.path, image.flash_size)
        .map_err(|e| fail(Kind::Device, format!("{}: {e}", name())))?;
    flash.sync = image.durable;
    let device_id =
        identity(&mut flash).map_err(|e| fail(Kind::Device, format!("{}: {e}", name())))?;
    let config = AgentConfig {
        agent_version: concat!("sim-", env!("CARGO_PKG_VERSION")),
        device_id,
        max_chunk: image.max_chunk(),
    };
    // Without a model the times are counted all the same, and never read.
    let timing = image.model.map_or(FlashTiming::W25Q16JV, |m| m.flash);
    let flash = TimedFlash::new(flash, timing);
    let (mut agent, outcome) = Agent::boot(flash, STORE_BASE, image.store_sectors(), config)
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
    let id = crate::random::bytes();
    flash
        .erase(IDENTITY, IDENTITY + 4096)
        .map_err(|e| format!("{e:?}"))?;
    buf[..8].copy_from_slice(IDENTITY_MAGIC);
    buf[8..].copy_from_slice(&id);
    flash.write(IDENTITY, &buf).map_err(|e| format!("{e:?}"))?;
    Ok(id)
}

/// `sim:FILE`: the simulated device inside this process.
pub struct SimTransport {
    device: SimDevice,
    outbox: Vec<u8>,
    /// The modeled board's time, with `?model=NAME`.
    clock: Option<BoardClock>,
}

impl SimTransport {
    pub fn open(image: &SimImage, auto_confirm: bool) -> anyhow::Result<SimTransport> {
        Ok(SimTransport {
            device: SimDevice::boot_image(image, auto_confirm)?,
            outbox: Vec::new(),
            clock: image.model.map(BoardClock::new),
        })
    }
}

impl Transport for SimTransport {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Some(clock) = &mut self.clock else {
            return self
                .device
                .receive(bytes, &mut self.outbox)
                .map(|_| ())
                .map_err(|e| io::Error::other(e.to_string()));
        };
        let before = self.device.flash_work();
        let mut reply = Vec::new();
        let rebooted = self
            .device
            .receive(bytes, &mut reply)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let work = self.device.flash_work().since(&before);
        clock.exchange(bytes.len(), &work, reply, rebooted);
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], _timeout: Duration) -> io::Result<usize> {
        // The simulated agent answers synchronously: nothing queued means no answer.
        if let Some(clock) = &mut self.clock {
            // One reply at a time, each when the modeled host would have it.
            let bytes = clock.take_reply(buf.len());
            buf[..bytes.len()].copy_from_slice(&bytes);
            return Ok(bytes.len());
        }
        let n = buf.len().min(self.outbox.len());
        buf[..n].copy_from_slice(&self.outbox[..n]);
        self.outbox.drain(..n);
        Ok(n)
    }

    fn reconnect(&mut self) -> io::Result<()> {
        if let Some(clock) = &mut self.clock {
            clock.drop_replies();
        }
        Ok(())
    }

    fn name(&self) -> String {
        format!("sim:{}", self.device.image.display())
    }

    fn synchronous(&self) -> bool {
        true
    }

    fn board_time(&self) -> Option<BoardTime> {
        self.clock.as_ref().map(BoardClock::time)
    }
}
