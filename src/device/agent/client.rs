//! The host's side of the protocol: frames over a transport, replies turned
//! into owned values, and the simple requests (hello, list, confirm, ...).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ota_protocol::{
    decode_reply, encode_frame, Decoder, ErrorCode, Reply, Request, TreeSel, TreeState,
};
use serde::Serialize;

use crate::bundle::hex;
use crate::device::agent::{power_on, silence};
use crate::device::error;
use crate::device::link::line_control::Running;
use crate::device::link::rfc2217;
use crate::device::link::transport::Transport;

/// A tree on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeSummary {
    pub version: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub commit: String,
    pub files: u16,
    pub bytes: u64,
}

/// What `ota status` shows: the answer to Hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    pub protocol: String,
    pub agent_version: String,
    pub device_id: String,
    pub state: TreeStatus,
    pub boots_left: Option<u8>,
    pub active: Option<TreeSummary>,
    pub previous: Option<TreeSummary>,
    pub capacity_bytes: u64,
    pub free_bytes: u64,
    pub max_chunk: u16,
    pub max_files: u16,
    /// An unfinished update session, by id.
    pub session: Option<u32>,
    /// Provisioned release keys: when non-zero, the agent takes signed trees only.
    pub keys: u8,
    pub app: SlotState,
    pub image: ImageStatus,
    /// What the trees' trials came to.
    pub history: TrialHistory,
    /// Flash only the previous tree uses: what `push --drop-previous` frees.
    pub previous_only_bytes: u64,
    /// The release number below which a provisioned agent refuses signed trees.
    pub security_version: u32,
    /// Key changes made: a key-change authorisation names this count.
    pub key_changes: u32,
    /// A new number at each start of the agent: the same one after a
    /// reboot was asked for means the device never restarted.
    pub boot_id: u32,
}

impl DeviceInfo {
    /// True for the MicroPython agent (it names itself so in Info): a board
    /// with a filesystem, no application slot and no release keys.
    pub fn micropython(&self) -> bool {
        self.agent_version.starts_with("micropython")
    }
}

/// Whether the device holds a tree, and whether it is on trial (the boots
/// left are in [`DeviceInfo::boots_left`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TreeStatus {
    Empty,
    Confirmed,
    Trial,
    /// The active tree ran out of trial boots with nothing to fall back to:
    /// the agent stays in charge and does not run it.
    Failed,
}

/// The application slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SlotState {
    Empty,
    /// An image is there, but it never ran (a copy was cut, or it was never handed over).
    Invalid,
    Valid,
}

/// The active tree's application image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageStatus {
    /// The tree carries none.
    None,
    /// The slot holds it.
    Installed,
    /// It is copied into the slot at the next boot.
    Pending,
    /// The slot holds other bytes than the image ota installed (a probe, a UF2).
    Foreign,
}

impl TreeStatus {
    pub fn name(self) -> &'static str {
        match self {
            TreeStatus::Empty => "empty",
            TreeStatus::Confirmed => "confirmed",
            TreeStatus::Trial => "trial",
            TreeStatus::Failed => "failed",
        }
    }
}

impl std::fmt::Display for TreeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the trees' trials came to (boots each trial was given).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TrialHistory {
    /// Boots the active tree's trial was given, when it went in as a trial.
    pub trial_boots: Option<u8>,
    /// The active tree failed a trial of this many boots before a forced rollback put it back.
    pub active_failed_boots: Option<u8>,
    /// The previous tree failed its trial of this many boots, and the device rolled back from it.
    pub previous_failed_boots: Option<u8>,
}

/// A file on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceFile {
    pub path: String,
    pub size: u32,
    pub sha1: String,
    pub sha256: Option<String>,
}

/// The protocol minor version that brought the Layout request.
pub const LAYOUT_MINOR: u16 = 4;

/// Where a tree's files lie in the store, and what else it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub base: u32,
    /// The first sector of the tree's record (`None`: no such tree).
    pub record: Option<u16>,
    pub keys: Option<u16>,
    pub original: Option<(u16, u16)>,
    /// (first sector, offset) of each listed file; `None` when not said.
    pub places: Vec<Option<(u16, u16)>>,
}

/// A reply, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Info(Box<DeviceInfo>),
    File {
        index: u16,
        file: DeviceFile,
    },
    /// The end of a list of `total` files.
    ListEnd {
        total: u16,
    },
    Ready {
        session: u32,
    },
    Need {
        index: u16,
        need: bool,
    },
    Ack {
        entry: u16,
        offset: u32,
    },
    FileDone {
        entry: u16,
    },
    Committed,
    Done,
    Error {
        code: ErrorCode,
        entry: Option<u16>,
        detail: String,
    },
    Placed {
        index: u16,
        first_sector: u16,
        offset: u16,
    },
    LayoutEnd {
        base: u32,
        record: Option<u16>,
        keys: Option<u16>,
        original: Option<(u16, u16)>,
    },
}

fn tree(t: &ota_protocol::TreeInfo<'_>) -> TreeSummary {
    TreeSummary {
        version: t.version.into(),
        git_ref: t.git_ref.into(),
        commit: t.commit.into(),
        files: t.files,
        bytes: t.bytes,
    }
}

/// Info as the host keeps it: typed states, sizes in bytes, ids in hex.
fn info_of(i: &ota_protocol::Info<'_>) -> DeviceInfo {
    DeviceInfo {
        protocol: format!("{}.{}", i.major, i.minor),
        agent_version: i.agent_version.into(),
        device_id: hex(&i.device_id),
        state: match i.state {
            TreeState::Empty => TreeStatus::Empty,
            TreeState::Confirmed => TreeStatus::Confirmed,
            TreeState::Trial { .. } => TreeStatus::Trial,
            TreeState::Failed => TreeStatus::Failed,
        },
        boots_left: match i.state {
            TreeState::Trial { boots_left } => Some(boots_left),
            _ => None,
        },
        active: i.active.as_ref().map(tree),
        previous: i.previous.as_ref().map(tree),
        capacity_bytes: i.sectors as u64 * i.sector_size as u64,
        free_bytes: i.free_sectors as u64 * i.sector_size as u64,
        max_chunk: i.max_chunk,
        max_files: i.max_entries,
        session: i.session,
        keys: i.keys,
        app: match i.app {
            ota_protocol::AppSlot::Empty => SlotState::Empty,
            ota_protocol::AppSlot::Invalid => SlotState::Invalid,
            ota_protocol::AppSlot::Valid => SlotState::Valid,
        },
        image: match i.image {
            ota_protocol::ImageState::None => ImageStatus::None,
            ota_protocol::ImageState::Installed => ImageStatus::Installed,
            ota_protocol::ImageState::Pending => ImageStatus::Pending,
            ota_protocol::ImageState::Foreign => ImageStatus::Foreign,
        },
        history: TrialHistory {
            trial_boots: i.history.trial_boots,
            active_failed_boots: i.history.active_failed,
            previous_failed_boots: i.history.previous_failed,
        },
        previous_only_bytes: i.previous_only_sectors as u64 * i.sector_size as u64,
        security_version: i.security_version,
        key_changes: i.key_changes,
        boot_id: i.boot_id,
    }
}

impl Msg {
    fn from_reply(r: Reply<'_>) -> Msg {
        match r {
            Reply::Info(i) => Msg::Info(Box::new(info_of(&i))),
            Reply::File {
                index,
                path,
                size,
                sha1,
                sha256,
            } => Msg::File {
                index,
                file: DeviceFile {
                    path: path.into(),
                    size,
                    sha1: hex(&sha1),
                    sha256: sha256.map(|h| hex(&h)),
                },
            },
            Reply::ListEnd { total } => Msg::ListEnd { total },
            Reply::Ready { session } => Msg::Ready { session },
            Reply::Need { index, need } => Msg::Need { index, need },
            Reply::Ack { entry, offset } => Msg::Ack { entry, offset },
            Reply::FileDone { entry } => Msg::FileDone { entry },
            Reply::Committed { .. } => Msg::Committed,
            Reply::Done => Msg::Done,
            Reply::Error {
                code,
                entry,
                detail,
            } => Msg::Error {
                code,
                entry,
                detail: detail.into(),
            },
            Reply::Placed {
                index,
                first_sector,
                offset,
            } => Msg::Placed {
                index,
                first_sector,
                offset,
            },
            Reply::LayoutEnd {
                base,
                record,
                keys,
                original,
            } => Msg::LayoutEnd {
                base,
                record,
                keys,
                original,
            },
        }
    }
}

/// Counters of what crossed the link.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct WireStats {
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub frames_out: u64,
    pub frames_in: u64,
    /// Frames from the agent dropped for a bad CRC or framing.
    pub bad_frames_in: u64,
    /// What this traffic would have taken on a real board: only on a
    /// simulated link with a timing model (`sim:FILE?model=pico-w`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub board: Option<crate::device::sim::board_model::BoardTime>,
}

const RECV_BUF: usize = 4096;

/// Frames that answer nothing asked, tolerated in one exchange: a few are
/// leftovers of a lost answer; a stream of them is a broken or hostile device.
const MAX_STRAY_FRAMES: u32 = 64;

/// The most a device may send after a request without one valid frame:
/// answers are small frames; this much garbage is a flood.
const FLOOD_BYTES: u64 = 16 << 20;

/// More frames than the longest answer (a full file list) and the strays
/// tolerated beside it: past a request's deadline, a flood.
const FLOOD_FRAMES: u64 = ota_agent::layout::MAX_ENTRIES as u64 + MAX_STRAY_FRAMES as u64;

/// What a device declared in its Info: the most it may send back.
#[derive(Debug, Clone, Copy)]
struct Caps {
    max_files: u16,
    capacity: u64,
}

pub struct Client {
    t: Box<dyn Transport>,
    decoder: Box<Decoder<RECV_BUF>>,
    scratch: Vec<u8>,
    frame: Vec<u8>,
    inbox: VecDeque<Msg>,
    pub timeout: Duration,
    pub stats: WireStats,
    /// The device id this client must find again after a reconnection.
    pub expect_id: Option<String>,
    /// The board ran its application and was touched into the agent: it is
    /// handed back (a Reboot) when the client is done, unless a Reboot was
    /// sent meanwhile or the work asks to leave it in the agent.
    pub touched: bool,
    /// The first bytes that came before any valid frame: what a port that
    /// does not answer as an agent says instead.
    unframed: Vec<u8>,
    /// When the answer to the last request must have come: set by `send`,
    /// so frames that answer nothing cannot keep an exchange alive.
    deadline: Option<Instant>,
    caps: Option<Caps>,
    /// When the last bytes came from the device.
    last_in: Option<Instant>,
    /// Bytes and frames in when the last request went out.
    at_send: (u64, u64),
    /// The agent was reached in its window after a power-on, under an
    /// application that could not be touched: no USB port comes back to
    /// show that application run after the hand-over.
    pub in_window: bool,
    /// Whether ota may say on stderr that it waits for a power-on.
    pub notices: bool,
    /// How long it waits for one.
    pub power_on_wait: Duration,
    /// The application was started but shows no port to see it run by
    /// (it runs without USB): set by `wait_for_application`.
    pub app_unseen: bool,
    /// False once the agent said its slot holds no application and its tree
    /// no image: after a reset such a board is the agent again, with nothing
    /// to hand over to.
    slot_runs_app: bool,
}

impl Client {
    pub fn new(t: Box<dyn Transport>, timeout: Duration) -> Client {
        Client {
            t,
            decoder: Box::new(Decoder::new()),
            scratch: vec![0; ota_protocol::MAX_CHUNK + 512],
            frame: vec![0; ota_protocol::max_frame_len(ota_protocol::MAX_CHUNK + 512)],
            inbox: VecDeque::new(),
            timeout,
            stats: WireStats::default(),
            expect_id: None,
            unframed: Vec::new(),
            slot_runs_app: true,
            touched: false,
            deadline: None,
            caps: None,
            last_in: None,
            at_send: (0, 0),
            in_window: false,
            notices: true,
            power_on_wait: power_on::WAIT_LIMIT,
            app_unseen: false,
        }
    }

    /// What runs on the board, as the link shows it.
    pub fn running(&mut self) -> Running {
        self.t.running()
    }

    /// Brings the agent to the link: a board running its application is
    /// touched at 1200 baud and followed (by its serial number on USB) to
    /// the agent's port. One whose application neither answers nor resets
    /// at the touch is waited for at its next power-on (power_on.rs).
    pub fn reach_agent(&mut self) -> anyhow::Result<()> {
        // A board between two firmwares (resetting, enumerating) is waited for.
        let settle = Instant::now() + self.timeout;
        let mut running = self.t.running();
        if running == Running::Unknown && self.t.blind_touch() {
            return self.touch_blind();
        }
        if running == Running::Unknown && self.t.bytes_only() {
            return self.hello_or_window();
        }
        while running == Running::Nothing && Instant::now() < settle {
            std::thread::sleep(Duration::from_millis(50));
            running = self.t.running();
        }
        if running != Running::Application {
            if running == Running::Nothing || running == Running::Agent {
                // The link was opened before the agent's port was up.
                self.reconnect()
                    .map_err(|e| self.link_error("cannot connect", e))?;
            }
            return Ok(());
        }
        self.t
            .touch()
            .map_err(|e| self.link_error("1200-baud touch", e))?;
        self.touched = true;
        let touched_at = Instant::now();
        loop {
            let running = self.t.running();
            if matches!(running, Running::Agent | Running::Unknown) && self.reconnect().is_ok() {
                return Ok(());
            }
            if running == Running::Application && touched_at.elapsed() >= power_on::SILENT_FOR {
                let why = "its application does not reset into the agent at the 1200-baud touch";
                return power_on::wait_for_window(self, why, false);
            }
            if touched_at.elapsed() >= self.timeout {
                return Err(error::not_an_agent(format!(
                        "{}: the application did not reset into the agent within {}s of the 1200-baud touch \
                         (it is {running:?} now); an application reaches the agent through ota_app::usb::Touch, \
                         or the agent is reached within 300 ms of its USB coming up at a power-on",
                        self.t.name(),
                        self.timeout.as_secs()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A link that carries bytes only (tcp:): the agent answers a Hello at
    /// once; a silent one has an application behind it that cannot be
    /// touched, and is waited for at its next power-on. What sends bytes
    /// that are no frames is left to the session's own errors.
    fn hello_or_window(&mut self) -> anyhow::Result<()> {
        match self.probe_hello_answer(power_on::SILENT_FOR.min(self.timeout)) {
            // An agent serving another host says so once and closes.
            Ok(Some(Msg::Error {
                code: ErrorCode::Busy,
                ..
            })) => Err(crate::device::link::transport::busy(&self.t.name())),
            Ok(Some(_)) => Ok(()),
            Ok(None) if self.stats.bytes_in == 0 => {
                let name = self.t.name();
                let why = format!(
                    "nothing answers there (a tcp: port cannot carry the 1200-baud touch: for an \
                     application with USB use rfc2217://{}; one without USB is reached at power-on)",
                    name.strip_prefix("tcp:").unwrap_or(&name)
                );
                power_on::wait_for_window(self, &why, true)
            }
            Ok(None) => Ok(()),
            Err(_) => {
                let why = "the link closed before an agent answered";
                power_on::wait_for_window(self, why, false)
            }
        }
    }

    /// The touch on a link that cannot show what runs (RFC 2217), then
    /// Hello on the same link: an agent answers it (the touch left it be),
    /// an application that resets closes the link, and the agent is reached
    /// on a new connection once it answers there (a bridge may take the
    /// connection before the board is back on USB, and close it again). An
    /// application that neither answers nor resets is waited for at its next
    /// power-on.
    fn touch_blind(&mut self) -> anyhow::Result<()> {
        self.t
            .touch()
            .map_err(|e| self.link_error("1200-baud touch", e))?;
        let deadline = Instant::now() + self.timeout;
        let mut first = true;
        loop {
            let answered = match first {
                true => self.probe_hello_for(power_on::SILENT_FOR.min(self.timeout)),
                false => self.reconnect().and_then(|()| self.probe_hello()),
            };
            match answered {
                Ok(true) => return Ok(()),
                Ok(false) if first => {
                    let why = "its application neither answers nor resets at the 1200-baud touch";
                    return power_on::wait_for_window(self, why, true);
                }
                Ok(false) => {
                    let what = "Hello after the 1200-baud touch";
                    return Err(self.no_answer(what, self.timeout, self.at_send));
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(self.link_error("after the 1200-baud touch", e))
                }
                // The board reset: it ran its application, and is handed back when done.
                Err(_) if first => self.touched = true,
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
            first = false;
        }
    }

    /// The agent was reached in its window after a power-on: it serves
    /// until told to reboot, so the board is handed back when the client is
    /// done.
    pub fn reached_at_power_on(&mut self) {
        self.in_window = true;
        self.touched = true;
    }

    /// The 1200-baud touch on a link that just came up, when an application
    /// may be behind it (a bridge cannot tell; an agent lets the touch be).
    pub fn touch_what_came_up(&mut self) {
        let running = self.t.running();
        let maybe_app = running == Running::Application
            || (running == Running::Unknown && self.t.blind_touch());
        if maybe_app && self.t.touch().is_ok() {
            self.touched = true;
        }
    }

    fn probe_hello(&mut self) -> std::io::Result<bool> {
        self.probe_hello_for(self.timeout)
    }

    /// Hello, once: true when a frame answered within `wait`, false when
    /// nothing did; an error when the link closed. What answered is
    /// dropped: the session proper starts clean.
    pub fn probe_hello_for(&mut self, wait: Duration) -> std::io::Result<bool> {
        Ok(self.probe_hello_answer(wait)?.is_some())
    }

    /// The first reply to a Hello within `wait`, the rest of it drained.
    fn probe_hello_answer(&mut self, wait: Duration) -> std::io::Result<Option<Msg>> {
        let hello = Request::Hello {
            major: ota_protocol::PROTOCOL_MAJOR,
            minor: ota_protocol::PROTOCOL_MINOR,
        };
        if self.send(&hello).is_err() {
            return Err(std::io::ErrorKind::NotConnected.into());
        }
        let answered = self.recv(wait);
        self.deadline = None;
        let answered = answered?;
        if answered.is_some() {
            self.drain(Duration::ZERO);
        }
        Ok(answered)
    }

    pub fn name(&self) -> String {
        self.t.name()
    }

    pub fn link_error(&self, what: &str, e: impl std::fmt::Display) -> anyhow::Error {
        error::link(format!("{}: {what}: {e}", self.t.name()))
    }

    pub fn send(&mut self, req: &Request<'_>) -> anyhow::Result<()> {
        if matches!(req, Request::Reboot) {
            self.touched = false; // the agent hands over to the application itself
        }
        let n = encode_frame(req, &mut self.scratch, &mut self.frame)
            // A request too large for the frame buffer is a bug, not a link failure to retry.
            .map_err(|e| anyhow::anyhow!("internal: cannot encode a request: {e}"))?;
        self.stats.bytes_out += n as u64;
        self.stats.frames_out += 1;
        self.deadline = Some(Instant::now() + self.timeout);
        self.at_send = (self.stats.bytes_in, self.stats.frames_in);
        let sent = self
            .t
            .send(&self.frame[..n])
            .map_err(|e| self.link_error("send failed", e));
        self.stats.board = self.t.board_time();
        sent
    }

    /// The next reply, or `None` when nothing came within `timeout`, or by
    /// the deadline of the last request sent, whichever is first.
    /// Transport failures (a closed link) are errors.
    pub fn recv(&mut self, timeout: Duration) -> std::io::Result<Option<Msg>> {
        let mut deadline = Instant::now() + timeout;
        if let Some(d) = self.deadline {
            deadline = deadline.min(d);
        }
        let mut buf = [0u8; 1024];
        let mut read = false;
        loop {
            // Frames nobody asked for, past the request's deadline: a flood
            // that would otherwise keep every caller's loop going.
            if self.flooded_with_frames() && self.deadline.is_some_and(|d| Instant::now() >= d) {
                self.inbox.clear();
                return Ok(None);
            }
            if let Some(m) = self.inbox.pop_front() {
                return Ok(Some(m));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            // What is already there is read once; then a device that keeps
            // sending cannot hold the exchange past its deadline.
            if read && left.is_zero() {
                return Ok(None);
            }
            read = true;
            let n = self.t.recv(&mut buf, left)?;
            if n == 0 {
                if self.t.synchronous() || Instant::now() >= deadline || left.is_zero() {
                    return Ok(None);
                }
                continue;
            }
            self.stats.bytes_in += n as u64;
            self.last_in = Some(Instant::now());
            self.stats.board = self.t.board_time();
            if self.stats.frames_in == 0 && self.unframed.len() < silence::KEPT {
                let keep = n.min(silence::KEPT - self.unframed.len());
                self.unframed.extend_from_slice(&buf[..keep]);
            }
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                let before = self.decoder.stats().dropped;
                let (used, frame) = self.decoder.feed(rest);
                rest = &rest[used..];
                if let Some(body) = frame {
                    self.stats.frames_in += 1;
                    if let Some(r) = decode_reply(body) {
                        self.inbox.push_back(Msg::from_reply(r));
                    }
                }
                self.stats.bad_frames_in += (self.decoder.stats().dropped - before) as u64;
            }
            // A flood ends the wait as its deadline would.
            if self.stats.frames_in == self.at_send.1
                && self.stats.bytes_in - self.at_send.0 > FLOOD_BYTES
                && self.inbox.is_empty()
            {
                return Ok(None);
            }
        }
    }

    /// The next reply within the client's timeout; a timeout or link failure is an error.
    pub fn expect(&mut self, what: &str) -> anyhow::Result<Msg> {
        let got = self.recv(self.timeout);
        match got {
            Ok(Some(m)) => Ok(m),
            Ok(None) if self.flooding() => Err(self.unanswered(what)),
            Ok(None) => Err(error::no_answer(format!(
                "{}: no answer to {what} within {}s",
                self.t.name(),
                self.timeout.as_secs_f32()
            ))),
            Err(e) => Err(self.link_error(what, e)),
        }
    }

    /// Drops whatever replies are still queued or arrive until the line has
    /// been quiet for `quiet` (a device that keeps sending is not waited for
    /// longer than the client's timeout).
    pub fn drain(&mut self, quiet: Duration) {
        let cap = Instant::now() + quiet.max(self.timeout);
        self.inbox.clear();
        while let Ok(Some(_)) = self.recv(quiet) {
            self.inbox.clear();
            if Instant::now() >= cap {
                break;
            }
        }
        self.decoder.reset();
    }

    /// Whether the device, since the last request, kept sending but not what
    /// answers it: garbage up to the deadline, or more frames than any
    /// answer has. Asking again will not mend that.
    pub fn flooding(&self) -> bool {
        self.talking(self.at_send) || self.flooded_with_frames()
    }

    fn flooded_with_frames(&self) -> bool {
        self.stats.frames_in - self.at_send.1 > FLOOD_FRAMES
    }

    /// The error for `what` unanswered by a device that kept sending
    /// something else since the request went out.
    pub fn unanswered(&self, what: &str) -> anyhow::Error {
        let frames = self.stats.frames_in - self.at_send.1;
        if self.flooded_with_frames() {
            return error::faulty(format!(
                    "{}: the device sent {frames} frames that do not answer {what} within {}s; is it an ota agent?",
                    self.t.name(),
                    self.timeout.as_secs_f32()
                ),
            );
        }
        self.no_answer(what, self.timeout, self.at_send)
    }

    /// See [`Transport::let_program_run`].
    pub fn let_program_run(&mut self, time: Option<Duration>) {
        self.t.let_program_run(time)
    }

    /// See [`Transport::keep_local`].
    pub fn keep_local(&mut self) -> std::io::Result<()> {
        self.t.keep_local()
    }

    /// See [`Transport::ended_unconfirmed`].
    pub fn ended_unconfirmed(&self) -> Option<String> {
        self.t.ended_unconfirmed()
    }

    pub fn reconnect(&mut self) -> std::io::Result<()> {
        self.inbox.clear();
        self.decoder.reset();
        self.t.reconnect()
    }

    /// Hello, answered by Info. Asked again when an answer is lost on a bad link.
    pub fn hello(&mut self) -> anyhow::Result<DeviceInfo> {
        let req = Request::Hello {
            major: ota_protocol::PROTOCOL_MAJOR,
            minor: ota_protocol::PROTOCOL_MINOR,
        };
        let info = self.idempotent("Hello", &req, |m, _| match m {
            Msg::Info(i) => Some(Ok(*i)),
            _ => None,
        })?;
        if info.free_bytes > info.capacity_bytes || info.previous_only_bytes > info.capacity_bytes {
            return Err(error::faulty(format!(
                    "{}: the device's Info is impossible ({} bytes free, {} held by the previous tree alone, \
                     of a {}-byte store): its agent is faulty; nothing was asked of it",
                    self.t.name(),
                    info.free_bytes,
                    info.previous_only_bytes,
                    info.capacity_bytes
                ),
            ));
        }
        self.caps = Some(Caps {
            max_files: info.max_files,
            capacity: info.capacity_bytes,
        });
        self.slot_runs_app = info.app == SlotState::Valid || info.image != ImageStatus::None;
        Ok(info)
    }

    /// The files of a tree. Asked again when an answer is lost on a bad link.
    /// No more files, and no larger ones, than the device's own Info declared
    /// it holds are taken; a list whose entries do not arrive in order, or
    /// whose end does not count what arrived, is an error, never a shorter tree.
    pub fn list(&mut self, tree: TreeSel) -> anyhow::Result<Vec<DeviceFile>> {
        let caps = self.caps.unwrap_or(Caps {
            max_files: ota_agent::layout::MAX_ENTRIES as u16,
            capacity: u32::MAX as u64,
        });
        let name = self.t.name();
        let mut files = Vec::new();
        self.idempotent("ListFiles", &Request::ListFiles { tree }, |m, restart| {
            if restart {
                files.clear();
            }
            match m {
                Msg::File { file, .. } if files.len() >= caps.max_files as usize => Some(Err(error::faulty(format!(
                        "{name}: the device listed more than the {} files its agent holds; stopped reading ({})",
                        caps.max_files,
                        crate::terminal::escape(&file.path)
                    ),
                ))),
                Msg::File { file, .. } if file.size as u64 > caps.capacity => Some(Err(error::faulty(format!(
                        "{name}: the device listed {} with {} bytes, more than its flash holds",
                        crate::terminal::escape(&file.path),
                        file.size
                    ),
                ))),
                Msg::File { index, .. } if index as usize != files.len() => Some(Err(
                    broken_list(&name, format!("entry {index} came where entry {} was due", files.len())),
                )),
                Msg::File { file, .. } => {
                    files.push(file);
                    None
                }
                Msg::ListEnd { total } if total as usize != files.len() => Some(Err(broken_list(
                    &name,
                    format!("it ended the list after {} of the {total} files it counts", files.len()),
                ))),
                Msg::ListEnd { .. } => Some(Ok(std::mem::take(&mut files))),
                _ => None,
            }
        })
    }

    /// Where the files of a tree lie (`files` as `list` gave them), and
    /// what else the store holds: `None` from an agent older than protocol
    /// 1.4, which does not say.
    pub fn layout(
        &mut self,
        info: &DeviceInfo,
        tree: TreeSel,
        files: &[DeviceFile],
    ) -> anyhow::Result<Option<Placement>> {
        let minor = info
            .protocol
            .split_once('.')
            .and_then(|(_, m)| m.parse::<u16>().ok())
            .unwrap_or(0);
        // A MicroPython board's file system places its files: it has no layout to give.
        if minor < LAYOUT_MINOR || info.micropython() {
            return Ok(None);
        }
        let name = self.t.name();
        let mut places = vec![None; files.len()];
        self.idempotent("Layout", &Request::Layout { tree }, |m, restart| {
            if restart {
                places.iter_mut().for_each(|p| *p = None);
            }
            match m {
                Msg::Placed {
                    index,
                    first_sector,
                    offset,
                } => match places.get_mut(index as usize) {
                    Some(p) => {
                        *p = Some((first_sector, offset));
                        None
                    }
                    None => Some(Err(error::faulty(format!(
                        "{name}: the device placed file {index} of a tree of {} files",
                        files.len()
                    )))),
                },
                Msg::LayoutEnd {
                    base,
                    record,
                    keys,
                    original,
                } => Some(Ok(Placement {
                    base,
                    record,
                    keys,
                    original,
                    places: std::mem::take(&mut places),
                })),
                _ => None,
            }
        })
        .map(Some)
    }

    /// Sends a request that may safely be repeated, and feeds replies to
    /// `take` until it returns a result. A timeout sends it again (up to
    /// three tries); `take` hears `restart = true` with the first reply of each try.
    fn idempotent<T>(
        &mut self,
        what: &str,
        req: &Request<'_>,
        mut take: impl FnMut(Msg, bool) -> Option<anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        let tries = 3;
        let started = Instant::now();
        for attempt in 1..=tries {
            self.send(req)?;
            let mut first = true;
            let mut stray = 0u32;
            let heard = (self.stats.bytes_in, self.stats.frames_in);
            loop {
                match self.recv(self.timeout) {
                    Ok(Some(Msg::Error {
                        code: ErrorCode::Busy,
                        ..
                    })) => return Err(crate::device::link::transport::busy(&self.t.name())),
                    Ok(Some(Msg::Error { code, detail, .. })) => {
                        return Err(refused(&self.t.name(), code, &detail))
                    }
                    Ok(Some(m)) => {
                        // Listed files and places are answers (capped by `take`); anything else here is stray.
                        let listed = matches!(m, Msg::File { .. } | Msg::Placed { .. });
                        if let Some(done) = take(m, std::mem::take(&mut first)) {
                            return done;
                        }
                        stray += u32::from(!listed);
                        if stray > MAX_STRAY_FRAMES {
                            return Err(error::faulty(format!(
                                    "{}: the device sent more than {MAX_STRAY_FRAMES} frames that do not answer {what}; is it an ota agent?",
                                    self.t.name()
                                ),
                            ));
                        }
                    }
                    // A REPL prompt will not turn into an agent, nor will a
                    // device still sending what is no frame: say so now.
                    Ok(None)
                        if attempt < tries
                            && !(self.stats.frames_in == 0 && silence::is_repl(&self.unframed))
                            && !self.talking(heard) =>
                    {
                        self.drain(Duration::from_millis(100).min(self.timeout));
                        break;
                    }
                    Ok(None) => return Err(self.no_answer(what, started.elapsed(), heard)),
                    Err(e) => return Err(self.link_error(what, e)),
                }
            }
        }
        unreachable!("the last try returns")
    }

    /// Waits until the board runs its application again, after a Reboot to a
    /// slot holding one; false when the link cannot tell, or it did not in time.
    /// A link that cannot show what runs but carries the touch (RFC 2217)
    /// takes the board for running its application once it is back on the
    /// line after the reset that hands over: that reset closes the link first.
    pub fn wait_for_application(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        if self.in_window {
            // Reached at power-on: this application shows no port. It runs
            // once the agent's port is gone (so that the next command does
            // not find the agent on its way out).
            self.app_unseen = self.slot_runs_app;
            while self.slot_runs_app
                && self.t.running() == Running::Agent
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            return true;
        }
        if self.t.blind_touch() {
            return self.wait_blind(deadline);
        }
        let mut gone_since: Option<Instant> = None;
        loop {
            match self.t.running() {
                Running::Application => return true,
                Running::Unknown => return false,
                Running::Nothing => {
                    let since = *gone_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= power_on::UNSEEN_AFTER {
                        self.app_unseen = true;
                        return true;
                    }
                }
                _ => gone_since = None,
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `wait_for_application` over a bridge that cannot say what runs: the
    /// agent's connection ends at the hand-over, and the next one comes from
    /// the application, or never, for one without USB (its bridge closes
    /// every connection while it has no port to open).
    fn wait_blind(&mut self, deadline: Instant) -> bool {
        let mut buf = [0u8; 256];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.t.recv(&mut buf, left) {
                Err(_) => break,
                Ok(_) if left.is_zero() => return false,
                Ok(_) => {}
            }
        }
        let mut closed_since: Option<Instant> = None;
        loop {
            match self.reconnect() {
                Ok(()) => return true,
                Err(e) if rfc2217::closed(&e) => {
                    let since = *closed_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= power_on::UNSEEN_AFTER {
                        self.app_unseen = true;
                        return true;
                    }
                }
                Err(_) => closed_since = None,
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A request answered by Done (Confirm, Rollback, Abort, Reboot).
    pub fn simple(&mut self, req: &Request<'_>, what: &str) -> anyhow::Result<()> {
        self.send(req)?;
        match self.expect(what)? {
            Msg::Done => Ok(()),
            Msg::Error { code, detail, .. } => Err(refused(&self.t.name(), code, &detail)),
            other => Err(error::link(format!(
                "{}: the agent answered {what} out of turn ({})",
                self.t.name(),
                msg_name(&other)
            ))),
        }
    }
}

/// The error for a file list that lost or garbled an entry on its way.
fn broken_list(name: &str, what: String) -> anyhow::Error {
    error::link(format!(
            "{name}: the device's file list is incomplete: {what}; an entry was lost or malformed on the way, \
             so nothing is planned from it; try again, and check the cable (or the board's agent) if it persists"
        ),
    )
}

/// A reply's name for a message, without its fields.
fn msg_name(m: &Msg) -> &'static str {
    match m {
        Msg::Info(_) => "device info",
        Msg::File { .. } | Msg::ListEnd { .. } => "a file list",
        Msg::Ready { .. } | Msg::Need { .. } => "an update declaration",
        Msg::Ack { .. } | Msg::FileDone { .. } => "file data",
        Msg::Committed => "a commit",
        Msg::Done => "done",
        Msg::Error { .. } => "an error",
        Msg::Placed { .. } | Msg::LayoutEnd { .. } => "a layout",
    }
}

impl Client {
    /// The error for a request nothing answered, saying what the port
    /// looks like when it never answered as an agent.
    fn no_answer(&self, what: &str, waited: Duration, heard: (u64, u64)) -> anyhow::Error {
        let sent = self.stats.bytes_in - heard.0;
        let framed = self.stats.frames_in > heard.1;
        // The agent spoke (before, or it was seen starting): what it sends now is garbled, not an application.
        if sent > 0 && !framed && (self.stats.frames_in > 0 || self.t.started_agent()) {
            return silence::garbled(&self.t.name(), what, waited, sent, self.stats.bad_frames_in);
        }
        let seen = (self.stats.frames_in == 0).then_some(&self.unframed[..]);
        silence::no_answer(&self.t.name(), what, waited, seen)
    }

    /// Whether the device is still sending, but no frames, since `heard`
    /// (bytes and frames in when a request went out): a lost answer leaves
    /// a quiet line; a flood or a trickle of garbage does not, and asking
    /// again would only wait longer.
    fn talking(&self, heard: (u64, u64)) -> bool {
        self.stats.frames_in == heard.1
            && self.stats.bytes_in > heard.0
            && self
                .last_in
                .is_some_and(|t| t.elapsed() < Duration::from_millis(250))
    }
}

/// The device said no, with its code (the command layer adds what to do about it).
pub fn refused(name: &str, code: ErrorCode, detail: &str) -> anyhow::Error {
    error::refused(Some(code), format!("{name}: {detail}"))
}

/// A board touched into the agent goes back to its application: the agent
/// hands over at the reset that Reboot asks for.
impl Drop for Client {
    fn drop(&mut self) {
        if self.flooding() {
            self.t.abandon();
        }
        if self.touched && self.send(&Request::Reboot).is_ok() {
            let _ = self.recv(Duration::from_millis(200).min(self.timeout));
            // Done once the application runs again, so that the next command
            // does not find the agent on its way out.
            let timeout = self.timeout;
            self.wait_for_application(timeout);
        }
    }
}
