//! The host's side of the protocol: frames over a transport, replies turned
//! into owned values, and the simple requests (hello, list, confirm, ...).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ota_protocol::{
    decode_reply, encode_frame, Decoder, ErrorCode, Reply, Request, TreeSel, TreeState,
};
use serde::Serialize;

use super::transport::Transport;
use crate::bundle::hex;
use crate::exit::{fail, Kind};

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
    /// "empty", "confirmed" or "trial".
    pub state: String,
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
    /// The release number below which a provisioned agent refuses signed trees.
    pub security_version: u32,
    /// Key changes made: a key-change authorisation names this count.
    pub key_changes: u32,
}

/// A file on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceFile {
    pub path: String,
    pub size: u32,
    pub sha1: String,
    pub sha256: Option<String>,
}

/// A reply, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Info(Box<DeviceInfo>),
    File(DeviceFile),
    ListEnd,
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

impl Msg {
    fn from_reply(r: Reply<'_>) -> Msg {
        match r {
            Reply::Info(i) => Msg::Info(Box::new(DeviceInfo {
                protocol: format!("{}.{}", i.major, i.minor),
                agent_version: i.agent_version.into(),
                device_id: hex(&i.device_id),
                state: match i.state {
                    TreeState::Empty => "empty",
                    TreeState::Confirmed => "confirmed",
                    TreeState::Trial { .. } => "trial",
                }
                .into(),
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
                security_version: i.security_version,
                key_changes: i.key_changes,
            })),
            Reply::File {
                path,
                size,
                sha1,
                sha256,
                ..
            } => Msg::File(DeviceFile {
                path: path.into(),
                size,
                sha1: hex(&sha1),
                sha256: sha256.map(|h| hex(&h)),
            }),
            Reply::ListEnd { .. } => Msg::ListEnd,
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
    pub board: Option<super::board_model::BoardTime>,
}

const RECV_BUF: usize = 4096;

/// Frames that answer nothing asked, tolerated in one exchange: a few are
/// leftovers of a lost answer; a stream of them is a broken or hostile device.
const MAX_STRAY_FRAMES: u32 = 64;

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
    /// When the answer to the last request must have come: set by `send`,
    /// so frames that answer nothing cannot keep an exchange alive.
    deadline: Option<Instant>,
    caps: Option<Caps>,
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
            deadline: None,
            caps: None,
        }
    }

    pub fn name(&self) -> String {
        self.t.name()
    }

    pub fn link_error(&self, what: &str, e: impl std::fmt::Display) -> anyhow::Error {
        fail(Kind::Device, format!("{}: {what}: {e}", self.t.name()))
    }

    pub fn send(&mut self, req: &Request<'_>) -> anyhow::Result<()> {
        let n = encode_frame(req, &mut self.scratch, &mut self.frame)
            // A request too large for the frame buffer is a bug, not a link failure to retry.
            .map_err(|e| anyhow::anyhow!("internal: cannot encode a request: {e}"))?;
        self.stats.bytes_out += n as u64;
        self.stats.frames_out += 1;
        self.deadline = Some(Instant::now() + self.timeout);
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
        loop {
            if let Some(m) = self.inbox.pop_front() {
                return Ok(Some(m));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let n = self.t.recv(&mut buf, left)?;
            if n == 0 {
                if self.t.synchronous() || Instant::now() >= deadline || left.is_zero() {
                    return Ok(None);
                }
                continue;
            }
            self.stats.bytes_in += n as u64;
            self.stats.board = self.t.board_time();
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
        }
    }

    /// The next reply within the client's timeout; a timeout or link failure is an error.
    pub fn expect(&mut self, what: &str) -> anyhow::Result<Msg> {
        match self.recv(self.timeout) {
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(fail(
                Kind::Device,
                format!(
                    "{}: no answer to {what} within {}s",
                    self.t.name(),
                    self.timeout.as_secs_f32()
                ),
            )),
            Err(e) => Err(self.link_error(what, e)),
        }
    }

    /// Drops whatever replies are still queued or arrive within `quiet`.
    pub fn drain(&mut self, quiet: Duration) {
        self.inbox.clear();
        while let Ok(Some(_)) = self.recv(quiet) {}
        self.decoder.reset();
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
        self.caps = Some(Caps {
            max_files: info.max_files,
            capacity: info.capacity_bytes,
        });
        Ok(info)
    }

    /// The files of a tree. Asked again when an answer is lost on a bad link.
    /// No more files, and no larger ones, than the device's own Info declared
    /// it holds are taken.
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
                Msg::File(f) if files.len() >= caps.max_files as usize => Some(Err(fail(
                    Kind::Device,
                    format!(
                        "{name}: the device listed more than the {} files its agent holds; stopped reading ({})",
                        caps.max_files,
                        crate::terminal::escape(&f.path)
                    ),
                ))),
                Msg::File(f) if f.size as u64 > caps.capacity => Some(Err(fail(
                    Kind::Device,
                    format!(
                        "{name}: the device listed {} with {} bytes, more than its flash holds",
                        crate::terminal::escape(&f.path),
                        f.size
                    ),
                ))),
                Msg::File(f) => {
                    files.push(f);
                    None
                }
                Msg::ListEnd => Some(Ok(std::mem::take(&mut files))),
                _ => None,
            }
        })
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
        for attempt in 1..=tries {
            self.send(req)?;
            let mut first = true;
            let mut stray = 0u32;
            loop {
                match self.recv(self.timeout) {
                    Ok(Some(Msg::Error {
                        code: ErrorCode::Busy,
                        ..
                    })) => return Err(super::transport::busy(&self.t.name())),
                    Ok(Some(Msg::Error { code, detail, .. })) => {
                        return Err(refused(&self.t.name(), code, &detail))
                    }
                    Ok(Some(m)) => {
                        // Listed files are answers (capped by `take`); anything else here is stray.
                        let listed = matches!(m, Msg::File(_));
                        if let Some(done) = take(m, std::mem::take(&mut first)) {
                            return done;
                        }
                        stray += u32::from(!listed);
                        if stray > MAX_STRAY_FRAMES {
                            return Err(fail(
                                Kind::Device,
                                format!(
                                    "{}: the device sent more than {MAX_STRAY_FRAMES} frames that do not answer {what}; is it an ota agent?",
                                    self.t.name()
                                ),
                            ));
                        }
                    }
                    Ok(None) if attempt < tries => {
                        self.drain(Duration::from_millis(100).min(self.timeout));
                        break;
                    }
                    Ok(None) => {
                        return Err(fail(
                            Kind::Device,
                            format!(
                                "{}: no answer to {what} within {}s",
                                self.t.name(),
                                self.timeout.as_secs_f32()
                            ),
                        ))
                    }
                    Err(e) => return Err(self.link_error(what, e)),
                }
            }
        }
        unreachable!("the last try returns")
    }

    /// A request answered by Done (Confirm, Rollback, Abort, Reboot).
    pub fn simple(&mut self, req: &Request<'_>, what: &str) -> anyhow::Result<()> {
        self.send(req)?;
        match self.expect(what)? {
            Msg::Done => Ok(()),
            Msg::Error { code, detail, .. } => Err(refused(&self.t.name(), code, &detail)),
            other => Err(fail(
                Kind::Device,
                format!("{}: unexpected answer to {what}: {other:?}", self.t.name()),
            )),
        }
    }
}

/// The device said no.
pub fn refused(name: &str, code: ErrorCode, detail: &str) -> anyhow::Error {
    fail(
        Kind::Refused,
        format!(
            "{name}: device refused: {} ({code:?})",
            crate::terminal::escape(detail)
        ),
    )
}
