//! The push engine: declare the target tree, stream what the device lacks
//! with a window of frames in flight, recover from lost or corrupted frames
//! and dropped links, commit, reboot, and wait for the verdict.
//!
//! It never sends Commit before every needed file is acknowledged as written
//! and verified by the agent; any failure before that leaves the device on
//! its old tree.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

use ota_protocol::{Begin, Entry, ErrorCode, Request};
use serde::Serialize;

use crate::bundle::{Bundle, BundleFile};
use crate::device::agent::client::{
    refused, Client, DeviceInfo, ImageStatus, Msg, SlotState, TreeStatus,
};
use crate::device::agent::events::{Event, Events};
use crate::device::agent::reboot::Reboot;
use crate::device::error::{self, DeviceError};

#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Trial boots for the new tree (0: confirmed at once).
    pub boots: u8,
    /// Seconds the application has at each trial boot to confirm (0: no deadline).
    pub trial_timeout_sec: u16,
    pub window: u32,
    /// Largest payload per Data frame (capped by the agent's own limit).
    pub chunk: u32,
    pub reboot: bool,
    pub confirm_timeout: Duration,
    /// How long to wait for a dropped link to come back.
    pub reconnect_timeout: Duration,
    /// The unfinished session the device holds, if any (its Info says):
    /// when it is this tree's, the push resumes it instead of starting over.
    pub resume: Option<u32>,
    /// Sectors the agent moves to make room while the tree is declared
    /// (the plan's count): the declaration waits for them on top of the
    /// link's timeout.
    pub moved_sectors: u32,
    /// Send every file's SHA-256 (of the bytes ota verified), not only the
    /// ones the source listed: a MicroPython board without SHA-1 needs them.
    pub every_sha256: bool,
    /// Leave files changed on the board outside ota as they are (a
    /// MicroPython board; see [`Transport::keep_local`]).
    pub keep_local: bool,
    /// Send the next file's first frames while the agent finishes the one
    /// before (see [`Ahead`]): only for an agent that takes a file's data
    /// from any point of an earlier one (the MicroPython agent; the Pico
    /// agent refuses to go back to a file it left half-written).
    pub look_ahead: bool,
    /// A file sent as a patch against the image the slot holds (protocol
    /// 1.6), when the agent takes one: whole, by itself, when it refuses.
    pub patch: Option<Patch>,
}

/// A file of the tree as a patch (ota-delta's format) against the slot's
/// first `base_size` bytes, which hash to `base_sha256`.
#[derive(Debug, Clone)]
pub struct Patch {
    pub path: String,
    pub base_size: u32,
    pub base_sha256: [u8; 32],
    pub bytes: Vec<u8>,
    /// Published with the release (`ota manifest gen --delta-from`), not
    /// made on this host from its cache.
    pub from_release: bool,
}

/// The longest a W25Q16JV takes to move one sector: a sector erase and 16
/// page programs at their datasheet maxima (rev. H, §9.6: tSE 400 ms, tPP
/// 3 ms). A bound, so that a long move is never taken for a dead link.
const MOVE_BOUND: Duration = Duration::from_millis(400 + 16 * 3);

#[derive(Debug, Clone, Default, Serialize)]
pub struct PushOutcome {
    pub files_sent: usize,
    pub bytes_sent: u64,
    pub files_reused: usize,
    /// Times ota went back to the last acknowledged offset.
    pub resends: u32,
    pub reconnects: u32,
    /// Bytes an earlier, interrupted push had already written (not sent again).
    pub bytes_resumed: u64,
    /// `None` when the device was not rebooted (the new tree starts at the next boot).
    pub confirmed: Option<bool>,
    pub rolled_back: bool,
    /// The device after the push (after the reboot, when there was one).
    pub device: Option<DeviceInfo>,
    /// The board rebooted into its application, which now runs the new tree
    /// (and confirms it, on a trial; ota does not interrupt it to ask).
    pub handed_over: bool,
    /// The application was started but shows no USB port (it runs without
    /// USB): ota cannot see it run, and reaches the board at its next power-on.
    pub app_without_usb: bool,
    /// The tree is committed, but the device never restarted: it answered
    /// every Reboot from the boot it was on (see `reboot.rs`).
    pub not_restarted: bool,
    /// Why the new tree's program will not confirm it in this boot, when the
    /// link saw it end (a MicroPython main.py that ended or raised).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_unconfirmed: Option<String>,
    /// Patch bytes the agent took in place of a whole file.
    pub delta_bytes: Option<u64>,
    /// Why the agent refused the patch, when it did: the file went whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta_refused: Option<String>,
}

/// Declarations are short: on a bad link, start again this many times.
const DECLARE_ATTEMPTS: u32 = 5;
/// Resends in a row that move a file no further before ota gives up on the link.
const MAX_STALLS: u32 = 8;
/// Reconnections while sending one file before ota gives up.
const MAX_RECONNECTS: u32 = 8;

enum Step {
    /// The link failed: reconnect and resume.
    Link(String),
    /// The agent refused a patch (another base, corrupt, a wrong result):
    /// send the file whole.
    Delta(String),
    /// The agent rejected the bytes it received (hash or read-back): send the file again.
    Again(String),
    Fatal(anyhow::Error),
}

impl From<anyhow::Error> for Step {
    fn from(e: anyhow::Error) -> Step {
        if DeviceError::of(&e).is_some_and(DeviceError::retryable) {
            Step::Link(format!("{e:#}"))
        } else {
            Step::Fatal(e)
        }
    }
}

/// The session id of a tree: the same tree gets the same id, so that the
/// next push recognises the session an interrupted push left on the agent.
fn session_id(bundle: &Bundle) -> u32 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [&bundle.version, &bundle.git_ref, &bundle.commit] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for f in bundle.files() {
        h.update(f.path.as_bytes());
        h.update([0]);
        h.update(f.size.to_le_bytes());
        h.update(f.sha1);
        h.update(f.sha256.unwrap_or([0; 32]));
    }
    let d = h.finalize();
    u32::from_le_bytes([d[0], d[1], d[2], d[3]])
}

fn is_interrupted(e: &anyhow::Error) -> bool {
    matches!(DeviceError::of(e), Some(DeviceError::Interrupted(_)))
}

/// Stops at a frame boundary when the user asked to, saying where the
/// device stands (it is asked), and leaving the agent's session for the
/// next push to resume.
fn check_interrupt(c: &mut Client) -> Result<(), Step> {
    if !crate::interrupt::requested() {
        return Ok(());
    }
    let stands = match c.hello() {
        Ok(info) => match &info.active {
            Some(a) => format!(
                "nothing was committed and the device is still on {}",
                a.version
            ),
            None => "nothing was committed and the device still holds no tree".into(),
        },
        Err(_) => "nothing was committed; the device did not say more (run `ota status`)".into(),
    };
    Err(Step::Fatal(error::interrupted(format!(
        "{}: interrupted: {stands}; the next push of this update resumes where this one stopped",
        c.name()
    ))))
}

/// What the agent's unfinished session of this tree still needs, asked
/// entry by entry; `None` when it cannot be resumed (then the push declares
/// the tree again).
fn resume_need(c: &mut Client, bundle: &Bundle, window: u32) -> Option<Vec<bool>> {
    let files = bundle.files();
    c.drain(Duration::ZERO);
    let mut need: Vec<Option<bool>> = vec![None; files.len()];
    let (mut sent, mut answered) = (0usize, 0usize);
    while answered < files.len() {
        while sent < files.len() && sent - answered < window as usize {
            c.send(&Request::Query { entry: sent as u16 }).ok()?;
            sent += 1;
        }
        match c.recv(c.timeout).ok()?? {
            Msg::Ack { entry, offset } if (entry as usize) < files.len() => {
                let slot = &mut need[entry as usize];
                if slot.is_none() {
                    *slot = Some(offset < files[entry as usize].size);
                    answered += 1;
                }
            }
            Msg::Error { .. } => return None,
            _ => {}
        }
    }
    // A complete file's Ack is followed by a FileDone: let them pass.
    c.drain(Duration::from_millis(50).min(c.timeout));
    need.into_iter().collect()
}

pub fn push(
    c: &mut Client,
    bundle: &Bundle,
    opts: &PushOptions,
    ev: Events,
) -> anyhow::Result<PushOutcome> {
    let mut out = PushOutcome::default();
    let files = bundle.files();
    let session = session_id(bundle);
    // Until the commit, Ctrl-C stops at the next frame boundary.
    let graceful = crate::interrupt::Graceful::new();
    if opts.keep_local {
        c.keep_local()?;
    }
    let resumed = if opts.resume == Some(session) {
        resume_need(c, bundle, opts.window)
    } else {
        None
    };
    let need = match &resumed {
        Some(need) => {
            ev(Event::Resumed {
                files_done: need.iter().filter(|n| !**n).count(),
            });
            need.clone()
        }
        None => declare_tree(c, bundle, session, opts, &mut out, ev)?,
    };
    let needed: Vec<usize> = (0..files.len()).filter(|&i| need[i]).collect();
    out.files_reused = files.len() - needed.len();
    let travels = |f: &BundleFile| match patch_of(opts, f) {
        Some(p) => p.bytes.len() as u64,
        None => f.size as u64,
    };
    ev(Event::Planned {
        files: needed.len(),
        bytes: needed.iter().map(|&i| travels(&files[i])).sum(),
    });
    let mut ahead = Ahead::Nothing;
    for (k, &i) in needed.iter().enumerate() {
        let next = needed
            .get(k + 1)
            .filter(|_| opts.look_ahead && resumed.is_none());
        let job = FileJob {
            i,
            session,
            resumed: resumed.is_some(),
            next: next.map(|&j| (j as u16, &files[j])),
        };
        ahead = send_file(c, bundle, &job, ahead, opts, &mut out, ev)?;
    }
    ev(Event::Committing);
    drop(graceful);
    commit(c, bundle, session, opts, &mut out).map_err(|e| commit_failed(c, bundle, e))?;
    if !opts.reboot {
        // A board touched out of its application stays in the agent: no reboot was asked for.
        c.touched = false;
        out.device = Some(c.hello()?);
        return Ok(out);
    }
    restart_and_wait(c, bundle, opts, &mut out, ev)?;
    Ok(out)
}

/// Declares the tree; a lost frame or a drop here starts the declaration again.
fn declare_tree(
    c: &mut Client,
    bundle: &Bundle,
    session: u32,
    opts: &PushOptions,
    out: &mut PushOutcome,
    ev: Events,
) -> anyhow::Result<Vec<bool>> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        // The agent moves files while it takes the entries.
        let timeout = c.timeout;
        c.timeout += MOVE_BOUND * opts.moved_sectors;
        let declared = declare(c, bundle, session, opts);
        c.timeout = timeout;
        match declared {
            Ok(need) => return Ok(need),
            Err(Step::Link(why)) if attempts < DECLARE_ATTEMPTS => {
                ev(Event::Retrying { reason: why });
                wait_for_device(c, opts.reconnect_timeout).map_err(|e| left_as_was(e, None))?;
                out.reconnects += 1;
            }
            Err(Step::Link(why)) => return Err(left_as_was(error::link(why), None)),
            Err(Step::Again(why) | Step::Delta(why)) => {
                return Err(left_as_was(error::rejected(why), None))
            }
            Err(Step::Fatal(e)) if is_interrupted(&e) => return Err(e),
            Err(Step::Fatal(e)) => return Err(left_as_was(e, None)),
        }
    }
}

/// One file to send, and the one after it (for [`Ahead`]).
struct FileJob<'a> {
    i: usize,
    session: u32,
    resumed: bool,
    next: Option<(u16, &'a BundleFile)>,
}

/// What went out of the next file while the agent finished this one. On a
/// link with a delay, the time between a file's last frame and the agent's
/// word that it holds it whole (written, hashed, read back) is otherwise
/// lost, once per file: a tree of many small files spends much of its time so.
enum Ahead {
    Nothing,
    /// Frames of the next file, sent in order after the whole of this one:
    /// the next file's stream goes on from there.
    Sent(Lead),
    /// Frames of the next file went out, but this one had to be resent: what
    /// the agent holds of the next file is asked before it goes on.
    Spoiled,
}

struct Lead {
    file: std::fs::File,
    next: u32,
    inflight: VecDeque<u32>,
}

/// Sends file `job.i` of the tree until the agent holds it whole: a failed
/// link is reconnected and resumed, bytes the agent rejected are sent again.
/// `lead` is what already went out of it; what went out of the next file
/// meanwhile is returned.
fn send_file(
    c: &mut Client,
    bundle: &Bundle,
    job: &FileJob<'_>,
    lead: Ahead,
    opts: &PushOptions,
    out: &mut PushOutcome,
    ev: Events,
) -> anyhow::Result<Ahead> {
    let f = &bundle.files()[job.i];
    let chunk = opts.chunk.clamp(64, ota_protocol::MAX_CHUNK as u32) as usize;
    let mut patch = patch_of(opts, f);
    ev(Event::FileStart {
        path: f.path.clone(),
        size: patch.map_or(f.size, |p| p.bytes.len() as u32),
    });
    // A resumed session may hold part of the file already: ask first,
    // and do not count what the earlier push sent. A patch starts over:
    // its Patch request opens the file again.
    let mut resume = (job.resumed || matches!(lead, Ahead::Spoiled)) && patch.is_none();
    let mut lead = match lead {
        Ahead::Sent(l) => Some(l),
        _ => None,
    };
    let already = held_already(c, job, f, patch.is_none());
    let (mut agains, mut reconnects, mut spoiled) = (0, 0, false);
    let ahead = loop {
        let head = Head {
            resume,
            lead: lead.take(),
            next: job.next,
            patch,
        };
        let (streamed, ahead) = stream_file(
            c,
            job.i as u16,
            f,
            chunk,
            opts.window as usize,
            head,
            out,
            ev,
        );
        // Frames of the next file went out before this one failed: the
        // agent may hold some of it, or have dropped it.
        spoiled |= streamed.is_err() && !matches!(ahead, Ahead::Nothing);
        let why = match streamed {
            Ok(()) if spoiled => break Ahead::Spoiled,
            Ok(()) => break ahead,
            Err(Step::Link(why)) => why,
            Err(Step::Delta(why)) => {
                whole_after_refusal(f, why, out, ev);
                (patch, resume) = (None, false);
                continue;
            }
            Err(Step::Again(why)) if agains < 2 => {
                agains += 1;
                ev(Event::Retrying {
                    reason: format!("{}: {why}; sending it again", f.path),
                });
                resume = false;
                continue;
            }
            Err(step) => return Err(give_up(c, f, step)),
        };
        reconnects += 1;
        reconnect_for(c, f, job.session, &why, reconnects, opts, out, ev)?;
        resume = true;
    };
    file_done(f, patch, already, out, ev);
    Ok(ahead)
}

/// What an earlier push of a resumed session sent of `f` already (not
/// counted again); a patch starts over, so nothing.
fn held_already(c: &mut Client, job: &FileJob<'_>, f: &BundleFile, whole: bool) -> u32 {
    match job.resumed && whole {
        true => where_is(c, job.i as u16, f.size)
            .ok()
            .flatten()
            .unwrap_or(0),
        false => 0,
    }
}

/// Counts `f` as sent (as its patch, if it went so).
fn file_done(
    f: &BundleFile,
    patch: Option<&Patch>,
    already: u32,
    out: &mut PushOutcome,
    ev: Events,
) {
    out.files_sent += 1;
    if let Some(p) = patch {
        out.delta_bytes = Some(p.bytes.len() as u64);
    }
    out.bytes_sent = out.bytes_sent.saturating_sub(already as u64);
    out.bytes_resumed += already as u64;
    ev(Event::FileDone {
        path: f.path.clone(),
    });
}

/// The error a file that could not be sent ends the push with; the agent
/// is told to drop the session, unless the user interrupted (then the next
/// push resumes it).
fn give_up(c: &mut Client, f: &BundleFile, step: Step) -> anyhow::Error {
    let e = match step {
        Step::Fatal(e) if is_interrupted(&e) => return e,
        Step::Fatal(e) => e,
        Step::Again(why) | Step::Delta(why) => error::rejected(format!("{}: {why}", f.path)),
        Step::Link(why) => error::link(why),
    };
    let _ = c.simple(&Request::Abort, "Abort");
    left_as_was(e, None)
}

/// The agent refused `f`'s patch: it goes whole, and the outcome says why.
fn whole_after_refusal(f: &BundleFile, why: String, out: &mut PushOutcome, ev: Events) {
    ev(Event::Retrying {
        reason: format!(
            "{}: the agent refused the delta ({why}); sending the whole image",
            f.path
        ),
    });
    out.delta_refused = Some(why);
    out.delta_bytes = None;
}

/// After a failed link while sending `f`: waits for the agent to answer
/// again, and makes sure it still holds this push's session.
#[allow(clippy::too_many_arguments)]
fn reconnect_for(
    c: &mut Client,
    f: &BundleFile,
    session: u32,
    why: &str,
    reconnects: u32,
    opts: &PushOptions,
    out: &mut PushOutcome,
    ev: Events,
) -> anyhow::Result<()> {
    if reconnects > MAX_RECONNECTS {
        let e = error::link(format!("{}: the link kept failing ({why})", f.path));
        return Err(left_as_was(e, None));
    }
    ev(Event::Retrying {
        reason: why.to_string(),
    });
    let info = wait_for_device(c, opts.reconnect_timeout).map_err(|e| left_as_was(e, None))?;
    out.reconnects += 1;
    if info.session != Some(session) {
        let e = error::link(format!(
            "{}: the agent restarted during the push ({why})",
            c.name()
        ));
        return Err(left_as_was(e, Some(&info)));
    }
    Ok(())
}

/// A commit whose answer was lost may have happened: the device is asked
/// which tree it holds, so the error says where it stands.
fn commit_failed(c: &mut Client, bundle: &Bundle, e: anyhow::Error) -> anyhow::Error {
    match c.hello() {
        Ok(info)
            if info
                .active
                .as_ref()
                .is_some_and(|a| a.commit == bundle.commit) =>
        {
            e
        }
        Ok(info) => left_as_was(e, Some(&info)),
        Err(_) => error::unsure(format!(
            "{e:#}; the device did not say whether the commit happened"
        )),
    }
}

/// After the commit: the reboot that starts the new tree, and the wait for
/// the device to confirm it (or roll back from it), or for the application
/// to run it.
fn restart_and_wait(
    c: &mut Client,
    bundle: &Bundle,
    opts: &PushOptions,
    out: &mut PushOutcome,
    ev: &mut dyn FnMut(Event),
) -> anyhow::Result<()> {
    let committed = c.hello()?;
    let same_boot = |info: &DeviceInfo| committed.boot_id != 0 && info.boot_id == committed.boot_id;
    ev(Event::Rebooting);
    // A reply still on its way would be taken for the agent's answer to the reboot.
    c.drain(Duration::from_millis(20).min(c.timeout));
    c.let_program_run((opts.boots > 0).then_some(opts.confirm_timeout));
    if c.reboot(committed.boot_id)? == Reboot::NotTaken {
        out.not_restarted = true;
        out.device = Some(committed);
        return Ok(());
    }
    let runs_an_application =
        committed.app == SlotState::Valid || committed.image != ImageStatus::None;
    if runs_an_application && c.wait_for_application(opts.reconnect_timeout) {
        out.handed_over = true;
        out.app_without_usb = c.app_unseen;
        out.confirmed = (committed.state == TreeStatus::Confirmed).then_some(true);
        out.device = Some(committed);
        return Ok(());
    }
    ev(Event::WaitingForConfirm);
    let mut info = wait_for_device(c, opts.reconnect_timeout)?;
    if same_boot(&info) {
        // It went quiet when asked which boot it was on, and is back on the
        // same one: the answer was lost, and so was the Reboot.
        if c.reboot(committed.boot_id)? == Reboot::NotTaken {
            out.not_restarted = true;
            out.device = Some(info);
            return Ok(());
        }
        info = wait_for_device(c, opts.reconnect_timeout)?;
    }
    let deadline = Instant::now() + opts.confirm_timeout;
    loop {
        let ours = info
            .active
            .as_ref()
            .is_some_and(|a| a.commit == bundle.commit && a.version == bundle.version);
        if !ours {
            out.rolled_back = true;
            out.confirmed = Some(false);
            break;
        }
        if info.state == TreeStatus::Confirmed {
            out.confirmed = Some(true);
            break;
        }
        if info.state == TreeStatus::Failed {
            // Out of boots with nothing to go back to: the agent holds it.
            out.confirmed = Some(false);
            break;
        }
        if let Some(why) = c.ended_unconfirmed() {
            out.ended_unconfirmed = Some(why);
            out.confirmed = Some(false);
            break;
        }
        if Instant::now() >= deadline {
            out.not_restarted = same_boot(&info);
            out.confirmed = (!out.not_restarted).then_some(false);
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        info = match c.hello() {
            Ok(i) => i,
            Err(_) => wait_for_device(c, opts.reconnect_timeout)?,
        };
    }
    out.device = Some(info);
    Ok(())
}

/// Adds what the user most needs to know after a failed push.
fn left_as_was(e: anyhow::Error, info: Option<&DeviceInfo>) -> anyhow::Error {
    let version = info
        .and_then(|i| i.active.as_ref())
        .map_or(String::new(), |a| format!(" ({})", a.version));
    // Said after the cause, so that the message starts with the device.
    DeviceError::restate(
        &e,
        format!("{e:#}; nothing was committed: the device is still on its old tree{version}"),
    )
}

fn declare(
    c: &mut Client,
    bundle: &Bundle,
    session: u32,
    opts: &PushOptions,
) -> Result<Vec<bool>, Step> {
    let files = bundle.files();
    begin(c, bundle, session, opts)?;
    declare_entries(c, files, opts)
}

/// Begin, answered by Ready for this push's session.
fn begin(c: &mut Client, bundle: &Bundle, session: u32, opts: &PushOptions) -> Result<(), Step> {
    let files = bundle.files();
    c.drain(Duration::ZERO);
    c.send(&Request::Begin(Begin {
        session,
        entries: files.len() as u16,
        total_bytes: bundle.total_bytes(),
        version: &bundle.version,
        git_ref: &bundle.git_ref,
        commit: &bundle.commit,
        post_update: bundle.post_update.as_deref(),
        rollback: bundle.rollback.as_deref(),
        signature: bundle.tree_signature.map(ota_protocol::Signature),
        trial_timeout_sec: opts.trial_timeout_sec,
    }))?;
    loop {
        match c.expect("Begin")? {
            Msg::Ready { session: s } if s == session => break,
            // No retry brings this push's Ready: say so at once.
            Msg::Ready { session: s } => {
                return Err(Step::Fatal(error::busy(format!(
                        "{}: the agent answered Begin with Ready for another session ({s:08x}, not this push's \
                         {session:08x}): another ota is updating this board, or its agent is faulty",
                        c.name()
                    ),
                )))
            }
            Msg::Error { code, detail, .. } => {
                return Err(Step::Fatal(refused(&c.name(), code, &detail)))
            }
            _ => continue,
        }
    }
    Ok(())
}

/// Each file's Entry, a window of them in flight; the agent answers each
/// with whether it needs the file's bytes.
fn declare_entries(
    c: &mut Client,
    files: &[BundleFile],
    opts: &PushOptions,
) -> Result<Vec<bool>, Step> {
    let (window, every_sha256) = (opts.window, opts.every_sha256);
    let mut need = vec![false; files.len()];
    let mut answered = 0;
    for (i, f) in files.iter().enumerate() {
        check_interrupt(c)?;
        c.send(&Request::Entry(Entry {
            index: i as u16,
            path: &f.path,
            size: f.size,
            sha1: f.sha1,
            sha256: if every_sha256 {
                f.sha256.or(f.sha256_of_bytes)
            } else {
                f.sha256
            },
        }))?;
        while i + 1 - answered >= window as usize
            || (i + 1 == files.len() && answered < files.len())
        {
            match c.expect("Entry")? {
                Msg::Need { index, need: n } if (index as usize) < files.len() => {
                    need[index as usize] = n;
                    answered += 1;
                }
                Msg::Error {
                    code,
                    entry,
                    detail,
                } => {
                    let what = entry
                        .and_then(|e| files.get(e as usize))
                        .map_or(String::new(), |f| format!("{}: ", f.path));
                    return Err(Step::Fatal(refused(
                        &c.name(),
                        code,
                        &format!("{what}{detail}"),
                    )));
                }
                _ => continue,
            }
        }
    }
    Ok(need)
}

/// One file on its way: what the agent acknowledged, what is in flight.
/// Bytes a stream reads: the file, or a patch of it in memory.
trait Source: Read + Seek {}
impl<T: Read + Seek> Source for T {}

/// The patch planned for `f`, if any.
fn patch_of<'a>(opts: &'a PushOptions, f: &BundleFile) -> Option<&'a Patch> {
    opts.patch.as_ref().filter(|p| p.path == f.path)
}

struct Stream<'a> {
    f: &'a BundleFile,
    entry: u16,
    /// The bytes that travel, and how many: the file's, or its patch's.
    file: Box<dyn Source + 'a>,
    size: u32,
    patch: Option<&'a Patch>,
    buf: Vec<u8>,
    window: usize,
    acked: u32,
    next: u32,
    inflight: VecDeque<u32>,
    /// Ask the agent where it stands before sending more.
    resync: bool,
    stalls: u32,
    last_stall_at: Option<u32>,
}

/// What one reply means for the file being streamed.
enum Flow {
    Go,
    Done,
}

/// Where a file's stream starts: asking the agent first (`resume`), or
/// from what already went out of it (`lead`); the file after it; and the
/// patch it goes as, if any (never with a lead: look-ahead is MicroPython's,
/// patches the Pico agent's).
struct Head<'a> {
    resume: bool,
    lead: Option<Lead>,
    next: Option<(u16, &'a BundleFile)>,
    patch: Option<&'a Patch>,
}

/// Streams one file until the agent holds it whole; says too what went out
/// of the next file meanwhile (also when it failed).
#[allow(clippy::too_many_arguments)]
fn stream_file(
    c: &mut Client,
    entry: u16,
    f: &BundleFile,
    chunk: usize,
    window: usize,
    head: Head<'_>,
    out: &mut PushOutcome,
    ev: Events,
) -> (Result<(), Step>, Ahead) {
    let announce = head.patch.is_some() && !head.resume && head.lead.is_none();
    let (file, size, next, inflight) = match opened(f, head.lead, head.patch) {
        Ok(o) => o,
        Err(step) => return (Err(step), Ahead::Nothing),
    };
    let mut s = Stream {
        f,
        entry,
        file,
        size,
        patch: head.patch,
        buf: vec![0u8; chunk],
        window,
        acked: 0,
        next,
        inflight,
        resync: head.resume,
        stalls: 0,
        last_stall_at: None,
    };
    let mut ahead = Ahead::Nothing;
    if announce {
        if let Err(step) = s.open_patch(c) {
            return (Err(step), ahead);
        }
    }
    let r = (|| loop {
        if s.resync {
            if let Ahead::Sent(_) = ahead {
                ahead = Ahead::Spoiled;
            }
            if let Flow::Done = s.resync_with(c, out, ev)? {
                return Ok(());
            }
        }
        s.fill_window(c)?;
        if let Some(next) = head.next {
            s.fill_ahead(c, next, &mut ahead)?;
        }
        let reply = c.recv(c.timeout);
        if let Flow::Done = s.on_reply(c, reply, out, ev)? {
            return Ok(());
        }
    })();
    (r, ahead)
}

/// What a stream reads, how much, and where it stands: what already went
/// out of it, a patch in memory, or the file from its start.
type Opened<'a> = (Box<dyn Source + 'a>, u32, u32, VecDeque<u32>);

fn opened<'a>(
    f: &BundleFile,
    lead: Option<Lead>,
    patch: Option<&'a Patch>,
) -> Result<Opened<'a>, Step> {
    Ok(match (lead, patch) {
        (Some(l), _) => (Box::new(l.file), f.size, l.next, l.inflight),
        (None, Some(p)) => (
            Box::new(std::io::Cursor::new(&p.bytes[..])),
            p.bytes.len() as u32,
            0,
            VecDeque::new(),
        ),
        (None, None) => (Box::new(open(f)?), f.size, 0, VecDeque::new()),
    })
}

fn open(f: &BundleFile) -> Result<std::fs::File, Step> {
    f.open().map_err(|e| {
        Step::Fatal(error::unreadable(format!(
            "{}: cannot read {}: {e}",
            f.path,
            f.location().display()
        )))
    })
}

impl Stream<'_> {
    /// A patch's first byte is preceded by its Patch request, answered by
    /// Ack at 0 (the agent checked its base) or by the agent's refusal.
    fn open_patch(&mut self, c: &mut Client) -> Result<(), Step> {
        let Some(p) = self.patch else {
            return Ok(());
        };
        c.send(&Request::Patch {
            entry: self.entry,
            base_size: p.base_size,
            base_sha256: p.base_sha256,
            size: self.size,
        })?;
        loop {
            match c.recv(c.timeout) {
                Ok(Some(Msg::Ack { entry, offset: 0 })) if entry == self.entry => return Ok(()),
                Ok(Some(Msg::Error { code, detail, .. })) => {
                    return Err(match code {
                        ErrorCode::BadBase | ErrorCode::BadPatch | ErrorCode::BadState => {
                            Step::Delta(detail)
                        }
                        _ => {
                            Step::Fatal(refused(&c.name(), code, &format!("{}: {detail}", p.path)))
                        }
                    })
                }
                Ok(Some(_)) => continue,
                Ok(None) => return Err(Step::Link(format!("{}: no answer to Patch", c.name()))),
                Err(e) => return Err(Step::Link(format!("{}: {e}", c.name()))),
            }
        }
    }

    /// Counts `bytes` more as sent.
    fn sent(&self, bytes: u32, out: &mut PushOutcome, ev: Events) {
        ev(Event::Sent {
            bytes: bytes as u64,
        });
        out.bytes_sent += bytes as u64;
    }

    /// Asks the agent where it stands and goes on from there; gives up when
    /// resends in a row move the file no further.
    fn resync_with(
        &mut self,
        c: &mut Client,
        out: &mut PushOutcome,
        ev: Events,
    ) -> Result<Flow, Step> {
        if self.last_stall_at == Some(self.acked) {
            self.stalls += 1;
            if self.stalls > MAX_STALLS {
                return Err(Step::Fatal(error::link(format!(
                    "{}: no progress at byte {} after {MAX_STALLS} resends; the link or the agent is not taking data",
                    self.f.path, self.acked
                ))));
            }
        } else {
            self.stalls = 0;
        }
        self.last_stall_at = Some(self.acked);
        let size = self.size;
        let Some(at) = where_is(c, self.entry, size)? else {
            self.sent(size - self.acked, out, ev);
            return Ok(Flow::Done);
        };
        if at > self.acked {
            self.sent(at - self.acked, out, ev);
        }
        self.acked = at;
        self.next = at;
        self.inflight.clear();
        self.file
            .seek(SeekFrom::Start(at as u64))
            .map_err(|e| Step::Fatal(e.into()))?;
        self.resync = false;
        if at == 0 {
            // The agent holds nothing of it: a patch is announced again.
            self.open_patch(c)?;
        }
        Ok(Flow::Go)
    }

    /// Once all of this file is out, sends the next file's frames into the
    /// room left in the window (see [`Ahead`]).
    fn fill_ahead(
        &mut self,
        c: &mut Client,
        (entry, f): (u16, &BundleFile),
        ahead: &mut Ahead,
    ) -> Result<(), Step> {
        if self.next < self.size || matches!(ahead, Ahead::Spoiled) {
            return Ok(());
        }
        if let Ahead::Nothing = ahead {
            *ahead = Ahead::Sent(Lead {
                file: open(f)?,
                next: 0,
                inflight: VecDeque::new(),
            });
        }
        let Ahead::Sent(l) = ahead else {
            return Ok(());
        };
        while self.inflight.len() + l.inflight.len() < self.window && l.next < f.size {
            check_interrupt(c)?;
            let n = self.buf.len().min((f.size - l.next) as usize);
            l.file.read_exact(&mut self.buf[..n]).map_err(|e| {
                Step::Fatal(error::unreadable(format!(
                    "{}: read failed (did it change?): {e}",
                    f.path
                )))
            })?;
            c.send(&Request::Data {
                entry,
                offset: l.next,
                bytes: &self.buf[..n],
            })?;
            l.next += n as u32;
            l.inflight.push_back(l.next);
        }
        Ok(())
    }

    /// Sends data frames until the window is full or the file is all sent.
    fn fill_window(&mut self, c: &mut Client) -> Result<(), Step> {
        let size = self.size;
        while self.inflight.len() < self.window && self.next < size {
            check_interrupt(c)?;
            let n = self.buf.len().min((size - self.next) as usize);
            self.file.read_exact(&mut self.buf[..n]).map_err(|e| {
                Step::Fatal(error::unreadable(format!(
                    "{}: read failed (did it change?): {e}",
                    self.f.path
                )))
            })?;
            c.send(&Request::Data {
                entry: self.entry,
                offset: self.next,
                bytes: &self.buf[..n],
            })?;
            self.next += n as u32;
            self.inflight.push_back(self.next);
        }
        Ok(())
    }

    /// Takes one reply (or its absence): an acknowledgement in order moves
    /// on, one out of order or none at all resends from where the agent is.
    fn on_reply(
        &mut self,
        c: &mut Client,
        reply: std::io::Result<Option<Msg>>,
        out: &mut PushOutcome,
        ev: Events,
    ) -> Result<Flow, Step> {
        let path = &self.f.path;
        match reply {
            Ok(Some(Msg::Ack { entry, offset })) if entry == self.entry => {
                if self.inflight.pop_front() == Some(offset) {
                    self.sent(offset - self.acked, out, ev);
                    self.acked = offset;
                } else {
                    out.resends += 1;
                    ev(Event::Retrying {
                        reason: format!("{path}: agent is at byte {offset}; resending from there"),
                    });
                    c.drain(Duration::from_millis(100).min(c.timeout));
                    self.resync = true;
                }
            }
            Ok(Some(Msg::FileDone { entry })) if entry == self.entry && self.acked == self.size => {
                return Ok(Flow::Done)
            }
            Ok(Some(Msg::Error {
                code,
                entry: Some(entry),
                detail,
            })) if entry == self.entry => {
                return Err(match code {
                    // A patch that made other bytes: the file goes whole.
                    ErrorCode::BadPatch | ErrorCode::HashMismatch if self.patch.is_some() => {
                        c.drain(Duration::from_millis(100).min(c.timeout));
                        Step::Delta(detail)
                    }
                    ErrorCode::HashMismatch | ErrorCode::ReadbackMismatch => {
                        c.drain(Duration::from_millis(100).min(c.timeout));
                        Step::Again(detail)
                    }
                    _ => Step::Fatal(refused(&c.name(), code, &format!("{path}: {detail}"))),
                });
            }
            Ok(Some(Msg::Error { code, detail, .. })) => {
                return Err(Step::Fatal(refused(&c.name(), code, &detail)))
            }
            Ok(Some(_)) => {}
            Ok(None) if c.flooding() => return Err(Step::Fatal(c.unanswered("Data"))),
            Ok(None) => {
                out.resends += 1;
                ev(Event::Retrying {
                    reason: format!(
                        "{path}: no acknowledgement; resending from byte {}",
                        self.acked
                    ),
                });
                self.resync = true;
            }
            Err(e) => return Err(Step::Link(format!("{}: {e}", c.name()))),
        }
        Ok(Flow::Go)
    }
}

/// Asks where the agent stands on `entry` of `size` bytes: `None` when it
/// is complete and verified.
fn where_is(c: &mut Client, entry: u16, size: u32) -> Result<Option<u32>, Step> {
    c.send(&Request::Query { entry })?;
    loop {
        match c.recv(c.timeout) {
            // Short of the end: no FileDone can follow.
            Ok(Some(Msg::Ack { entry: e, offset })) if e == entry && offset < size => {
                return Ok(Some(offset))
            }
            Ok(Some(Msg::Ack { entry: e, offset })) if e == entry => {
                // A complete file is answered with Ack(size) then FileDone.
                return match c.recv(Duration::from_millis(300).min(c.timeout)) {
                    Ok(Some(Msg::FileDone { entry: d })) if d == entry => Ok(None),
                    Ok(_) => Ok(Some(offset)),
                    Err(e) => Err(Step::Link(format!("{}: {e}", c.name()))),
                };
            }
            Ok(Some(Msg::Error { code, detail, .. })) => {
                return Err(Step::Fatal(refused(&c.name(), code, &detail)))
            }
            Ok(Some(_)) => continue,
            Ok(None) if c.flooding() => return Err(Step::Fatal(c.unanswered("Query"))),
            Ok(None) => return Err(Step::Link(format!("{}: no answer to Query", c.name()))),
            Err(e) => return Err(Step::Link(format!("{}: {e}", c.name()))),
        }
    }
}

fn commit(
    c: &mut Client,
    bundle: &Bundle,
    session: u32,
    opts: &PushOptions,
    out: &mut PushOutcome,
) -> anyhow::Result<()> {
    for _ in 0..3 {
        let sent = c.send(&Request::Commit { boots: opts.boots });
        let answer = match sent {
            // Acks and FileDones of the data phase may still be queued: skip them.
            Ok(()) => loop {
                match c.recv(c.timeout) {
                    Ok(Some(Msg::Ack { .. } | Msg::FileDone { .. } | Msg::Need { .. })) => continue,
                    other => break other,
                }
            },
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        match answer {
            Ok(Some(Msg::Committed)) => return Ok(()),
            Ok(Some(Msg::Error { code, detail, .. })) => {
                return Err(refused(&c.name(), code, &detail))
            }
            _ => {
                // Lost answer or link: ask the device what it holds now.
                let info = wait_for_device(c, opts.reconnect_timeout)?;
                out.reconnects += 1;
                let active = info
                    .active
                    .as_ref()
                    .is_some_and(|a| a.commit == bundle.commit && a.version == bundle.version);
                if active && info.session.is_none() {
                    return Ok(());
                }
                if info.session != Some(session) {
                    return Err(left_as_was(
                        error::link(format!(
                            "{}: the agent restarted before the commit",
                            c.name()
                        )),
                        Some(&info),
                    ));
                }
            }
        }
    }
    Err(error::no_answer(format!(
        "{}: no answer to Commit",
        c.name()
    )))
}

/// Reconnects and says Hello until the agent answers or `timeout` passes.
pub fn wait_for_device(c: &mut Client, timeout: Duration) -> anyhow::Result<DeviceInfo> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(50);
    loop {
        let attempt = c
            .reconnect()
            .map_err(|e| error::link(format!("{}: {e}", c.name())))
            .and_then(|_| c.hello());
        let attempt = attempt.and_then(|info| match &c.expect_id {
            Some(id) if *id != info.device_id => Err(error::other_board(format!(
                "{}: a different board answered (id {}, expected {id})",
                c.name(),
                info.device_id
            ))),
            _ => Ok(info),
        });
        match attempt {
            Ok(info) => return Ok(info),
            Err(e) if !DeviceError::of(&e).is_some_and(DeviceError::retryable) => return Err(e),
            Err(e) if Instant::now() >= deadline => {
                return Err(e.context(format!(
                    "device did not come back within {}s",
                    timeout.as_secs()
                )))
            }
            Err(_) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}
