//! A simulated Pico: the real agent core on a flash image file, laid out as
//! on a Pico W. It behaves like a board whose application confirms a trial
//! version as soon as it boots, unless told to play a broken application.
//!
//! Without an application in the slot the agent serves the host at every
//! boot. With one (`?app` puts a stand-in image there), the board models the
//! resident agent: after a reset the application runs and the link answers
//! no frame, the 1200-baud touch resets it into the agent, and a Reboot hands
//! over to the application again. What runs is kept in the image, so that
//! one `ota` run finds the board as the last one left it.
//!
//! Each `SimDevice::boot` is one power-on; a Reboot request boots again on
//! the same flash. The image file is locked while a simulator uses it, so
//! two ota processes cannot drive one simulated device at once.
//!
//! With a [`BoardModel`] (`sim:FILE?model=pico-w`), the in-process simulator
//! also keeps the time the same exchange would take on that board; see
//! `board_model.rs`. The model only measures: the agent does the same work.

pub mod board_model;
pub mod micropython_board;
pub mod serve;

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

use crate::device::error;
use crate::device::link::line_control::Running;
use crate::device::link::transport::Transport;
use crate::device::sim::board_model::{BoardClock, BoardModel, BoardTime};

/// The simulator takes the largest chunk the protocol allows.
const LINK: usize = link_buffer_for(ota_protocol::MAX_CHUNK);
/// Where a sim image keeps its device id: the last sector of the (unused) firmware region.
const IDENTITY: u32 = AGENT_SIZE - 4096;
const IDENTITY_MAGIC: &[u8; 8] = b"OTASIMID";
/// Where a sim image keeps what runs (agent or application): the sector before.
const RUNNING: u32 = AGENT_SIZE - 2 * 4096;
const RUNNING_MAGIC: &[u8; 8] = b"OTASIMRN";

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
    /// Sync the image to disk after every flash operation (`?sync`), so that
    /// even a host crash leaves it as a power cut would. Off by default: every
    /// operation still reaches the file before the next, so killing ota loses
    /// nothing, and a push runs at the link's speed rather than the disk's.
    pub durable: bool,
    /// Flash size in bytes: a Pico W's 2 MiB unless a benchmark needs room
    /// for a larger tree (at most the store's 16 MiB past the firmware region).
    pub flash_size: usize,
    /// Put a stand-in application image in an empty slot (`?app`).
    pub app: bool,
    /// The application faults at every start in trial, before it could
    /// confirm (`?crash`): each start spends a trial boot at once.
    pub crash: bool,
}

impl SimImage {
    pub fn new(path: impl Into<PathBuf>) -> SimImage {
        SimImage {
            path: path.into(),
            model: None,
            durable: false,
            flash_size: FLASH_SIZE,
            app: false,
            crash: false,
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
        let mut options = Vec::new();
        if self.app {
            options.push("app".to_string());
        }
        if self.crash {
            options.push("crash".to_string());
        }
        if self.durable {
            options.push("sync".to_string());
        }
        if let Some(m) = &self.model {
            options.push(format!("model={}", m.name));
        }
        if !options.is_empty() {
            write!(f, "?{}", options.join("&"))?;
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
    /// What runs now: the agent, or the application in the slot.
    running: Running,
    /// Times a host sent the board to its boot ROM (Bootsel). The simulator
    /// has no boot ROM: it records the request and starts the agent again,
    /// as a board would once its UF2 was copied.
    pub bootsel_requests: u32,
    /// The agent runs because a host touched the application: a Reboot
    /// that changed nothing hands back without a trial boot.
    visiting: bool,
}

impl SimDevice {
    /// Powers on the simulated Pico on `image` (created, erased, on first use).
    pub fn boot(image: &Path, auto_confirm: bool) -> anyhow::Result<SimDevice> {
        SimDevice::boot_image(&SimImage::new(image), auto_confirm)
    }

    /// Powers on the simulated board `image` describes.
    pub fn boot_image(image: &SimImage, auto_confirm: bool) -> anyhow::Result<SimDevice> {
        let lock = lock_image(&image.path)?;
        let (agent, outcome, running) = boot_agent(image, auto_confirm, Boot::Attach)?;
        Ok(SimDevice {
            agent,
            link: Box::new(AgentLink::new()),
            image: image.clone(),
            auto_confirm,
            earlier_work: FlashWork::default(),
            _lock: lock,
            last_boot: outcome,
            running,
            bootsel_requests: 0,
            visiting: false,
        })
    }

    /// What runs now.
    pub fn running(&self) -> Running {
        self.running
    }

    /// The 1200-baud touch: a running application resets into the agent,
    /// which stays in charge. False when no application was running.
    pub fn touch(&mut self) -> anyhow::Result<bool> {
        if self.running != Running::Application {
            return Ok(false);
        }
        self.restart(Boot::Stay)?;
        Ok(true)
    }

    /// Erases and programs since the first power-on, at the modeled chip's times.
    pub fn flash_work(&mut self) -> FlashWork {
        let now = self.agent.store_mut().flash_mut().work();
        self.earlier_work.plus(&now)
    }

    /// Feeds bytes from the host; reply frames are appended to `out`.
    /// Returns true when the device rebooted.
    pub fn receive(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> anyhow::Result<bool> {
        if self.running == Running::Application {
            return Ok(false); // the application's port: it answers no frame
        }
        let mut rebooted = false;
        while !input.is_empty() {
            let (n, action) = self
                .link
                .receive(&mut self.agent, input, &mut |f| out.extend_from_slice(f));
            input = &input[n..];
            if action == Action::Bootsel {
                self.bootsel_requests += 1;
            }
            if action != Action::None {
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

    /// Resets the device on the same flash (the agent hands over to the
    /// application, when the slot holds one). The reset that ends a host's
    /// visit which changed nothing spends no trial boot, as on the Pico.
    pub fn reboot(&mut self) -> anyhow::Result<()> {
        if self.visiting && self.agent.left_as_found() {
            return self.restart(Boot::Return);
        }
        self.restart(Boot::Reset)
    }

    /// A power-on: the agent serves a host that spoke within its window
    /// (`host`, a visit as after the touch); else the board starts as after
    /// any reset.
    pub fn power_cycle(&mut self, host: bool) -> anyhow::Result<()> {
        self.restart(if host { Boot::Stay } else { Boot::Reset })
    }

    fn restart(&mut self, boot: Boot) -> anyhow::Result<()> {
        self.visiting = boot == Boot::Stay;
        self.earlier_work = self.flash_work();
        let (agent, outcome, running) = boot_agent(&self.image, self.auto_confirm, boot)?;
        self.agent = agent;
        self.link.reset();
        self.last_boot = outcome;
        self.running = running;
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
            error::link(format!(
                "sim:{}: cannot open flash image: {e}",
                image.display()
            ))
        })?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(crate::device::link::transport::busy(
            &format!("sim:{}", image.display()),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(error::link(format!(
            "sim:{}: cannot lock: {e}",
            image.display()
        ))),
    }
}

/// How a simulated boot starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boot {
    /// An `ota` run opens the image: the board runs what it ran before.
    Attach,
    /// A reset: the agent makes the boot decision and hands over to the application.
    Reset,
    /// A reset asked for by the application: the agent stays in charge.
    Stay,
    /// A reset that ends a host's visit which changed nothing: the agent
    /// hands back to the application without a boot decision.
    Return,
}

fn boot_agent(
    image: &SimImage,
    auto_confirm: bool,
    boot: Boot,
) -> anyhow::Result<(Agent<SimFlash>, BootOutcome, Running)> {
    let name = || format!("sim:{}", image.display());
    let err = |e: String| error::link(format!("{}: {e}", name()));
    let mut flash =
        FileFlash::open(&image.path, image.flash_size).map_err(|e| err(e.to_string()))?;
    flash.sync = image.durable;
    let device_id = identity(&mut flash).map_err(err)?;
    if image.app {
        stand_in_application(&mut flash).map_err(err)?;
    }
    let app = app_slot(&mut flash);
    let before = read_running(&mut flash);
    let config = AgentConfig {
        agent_version: concat!("sim-", env!("CARGO_PKG_VERSION")),
        device_id,
        max_chunk: image.max_chunk(),
        app,
        boot_id: u32::from_le_bytes(crate::random::bytes()).max(1),
    };
    // Without a model the times are counted all the same, and never read.
    let timing = image.model.map_or(FlashTiming::W25Q16JV, |m| m.flash);
    let flash = TimedFlash::new(flash, timing);
    let store = ota_agent::Store::open(flash, STORE_BASE, image.store_sectors())
        .map_err(|e| err(format!("agent cannot start: {e}")))?;
    let mut agent = Agent::new(store, config);
    agent.set_slot_base(ota_agent::board::APP_SLOT_BASE);
    let image_held = matches!(ota_agent::slot::target(agent.store_mut()), Ok(Some(_)));
    let has_app = app == ota_protocol::AppSlot::Valid || image_held;
    // An agent-only board serves the host at every boot; the resident agent
    // hands over to the application after a reset (or the first power-on),
    // and an `ota` run finds it as it was.
    let (mut running, starts) = match (has_app, boot, before) {
        (false, _, _) => (Running::Agent, true),
        (true, Boot::Stay, _) => (Running::Agent, false),
        (true, Boot::Attach, Some(r)) => (r, false),
        (true, _, _) => (Running::Application, true),
    };
    let mut outcome = BootOutcome::Normal;
    if starts {
        // A hand-back after a visit spends no boot; an agent-only board has
        // no hand-back, each of its boots is one of the tree's.
        let spends = !(has_app && boot == Boot::Return);
        (running, outcome) =
            start(&mut agent, image, auto_confirm, has_app, spends).map_err(err)?;
    }
    if has_app && before != Some(running) {
        write_running(agent.store_mut().flash_mut().inner_mut(), running).map_err(err)?;
    }
    Ok((agent, outcome, running))
}

/// One start of the board: the boot decision (when it `spends` a trial
/// boot), the hand-over to the application, and what the application does
/// in trial: confirm at once (`auto_confirm`), never, or fault before it
/// could (`?crash`), each fault a reset the agent decides on again.
fn start(
    agent: &mut Agent<SimFlash>,
    image: &SimImage,
    auto_confirm: bool,
    has_app: bool,
    spends: bool,
) -> Result<(Running, BootOutcome), String> {
    let decide = |agent: &mut Agent<SimFlash>| {
        agent
            .store_mut()
            .boot()
            .map_err(|e| format!("agent cannot start: {e}"))
    };
    let mut outcome = if spends {
        decide(agent)?
    } else {
        BootOutcome::Normal
    };
    let on_trial = |agent: &Agent<SimFlash>| matches!(agent.store().state(), State::Trial { .. });
    let mut running = Running::Agent;
    if has_app {
        loop {
            // A tree that failed its trial is never run; nor is a slot that
            // could not be filled: the agent stays in charge.
            if agent.store().state() == State::Failed || !start_application(agent) {
                return Ok((Running::Agent, outcome));
            }
            running = Running::Application;
            if !(image.crash && on_trial(agent)) {
                break;
            }
            outcome = decide(agent)?;
        }
    }
    if auto_confirm && !image.crash && on_trial(agent) {
        agent
            .store_mut()
            .confirm()
            .map_err(|e| format!("confirm failed: {e}"))?;
    }
    Ok((running, outcome))
}

/// What the Pico agent does before it hands over: the active tree's image
/// into the slot (a tree that cannot be installed fails its trial, and the
/// previous one is tried). False when nothing can run.
fn start_application(agent: &mut Agent<SimFlash>) -> bool {
    use ota_agent::board::{APP_SLOT_BASE, APP_SLOT_SIZE};
    let slot = APP_SLOT_BASE..APP_SLOT_BASE + APP_SLOT_SIZE;
    let runs = ota_agent::slot::prepare(agent.store_mut(), slot, |s| {
        app_slot(s.flash_mut().inner_mut())
    });
    let app = app_slot(agent.store_mut().flash_mut().inner_mut());
    agent.set_app(app);
    runs
}

/// A vector table in an empty slot, so that the agent takes the slot as
/// holding an application (the simulator never runs it).
fn stand_in_application(flash: &mut FileFlash) -> Result<(), String> {
    use ota_agent::board::{APP_SLOT_BASE, XIP_BASE};
    let mut b = [0u8; 8];
    flash
        .read(APP_SLOT_BASE, &mut b)
        .map_err(|e| format!("{e:?}"))?;
    if b != [0xFF; 8] {
        return Ok(());
    }
    let mut vectors = [0u8; 8];
    vectors[..4].copy_from_slice(&0x2004_2000u32.to_le_bytes());
    vectors[4..].copy_from_slice(&(XIP_BASE + APP_SLOT_BASE + 0xC1).to_le_bytes());
    flash
        .write(APP_SLOT_BASE, &vectors)
        .map_err(|e| format!("{e:?}"))
}

fn read_running(flash: &mut FileFlash) -> Option<Running> {
    let mut b = [0u8; 9];
    flash.read(RUNNING, &mut b).ok()?;
    if &b[..8] != RUNNING_MAGIC {
        return None;
    }
    match b[8] {
        b'A' => Some(Running::Application),
        b'G' => Some(Running::Agent),
        _ => None,
    }
}

fn write_running(flash: &mut FileFlash, running: Running) -> Result<(), String> {
    let mut b = [0xFFu8; 16];
    b[..8].copy_from_slice(RUNNING_MAGIC);
    b[8] = if running == Running::Application {
        b'A'
    } else {
        b'G'
    };
    flash
        .erase(RUNNING, RUNNING + 4096)
        .and_then(|_| flash.write(RUNNING, &b))
        .map_err(|e| format!("{e:?}"))
}

/// What the image's application slot holds, judged as the Pico agent judges it.
fn app_slot(flash: &mut FileFlash) -> ota_protocol::AppSlot {
    use embedded_storage::nor_flash::ReadNorFlash;
    let mut b = [0u8; 8];
    if flash.read(ota_agent::board::APP_SLOT_BASE, &mut b).is_err() {
        return ota_protocol::AppSlot::Empty;
    }
    ota_agent::board::slot_holds(&b)
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

    fn running(&mut self) -> Running {
        self.device.running()
    }

    fn touch(&mut self) -> io::Result<()> {
        match self.device.touch() {
            Ok(true) => Ok(()),
            Ok(false) => Err(io::Error::other("no application is running")),
            Err(e) => Err(io::Error::other(e.to_string())),
        }
    }

    fn board_time(&self) -> Option<BoardTime> {
        self.clock.as_ref().map(BoardClock::time)
    }
}
