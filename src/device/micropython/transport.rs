//! The link to a MicroPython board: the serial port, with the MicroPython
//! agent started on the board at each connection (and again after each
//! reboot), then the agent's frames passed through untouched.
//!
//! When ota is done the agent is told so and the board is left at its REPL;
//! when ota had to interrupt a running program, the board is soft-reset so
//! that the program runs again (the boot hook does not count that as a boot).
//!
//! After a reboot into a tree on trial, the board's own program runs until
//! it confirms, ends or runs out of time: the agent would stop it, and with
//! it any chance to confirm in this boot, so how it ended is kept for the
//! push to report at once.

use std::io;
use std::time::{Duration, Instant};

use ota_protocol::{decode_reply, encode_frame, Decoder, Reply, Request};

use super::listen::{self, Search, Wait};
use super::repl;
use super::script;
use crate::device::link::transport::{Serial, Transport};

pub struct MicroPython {
    inner: Box<dyn Transport>,
    /// Bytes the agent sent that arrived with its start-up text.
    pending: Vec<u8>,
    timeout: Duration,
    agent: bool,
    /// A Reboot went out: the next connection waits for the board to boot.
    rebooting: bool,
    interrupted: bool,
    /// The agent kept sending what answered nothing: it is not waited for at the end.
    abandoned: bool,
    reboot_frame: Vec<u8>,
    /// What the board's program did after the last reboot, when it ended
    /// without confirming (see [`Transport::ended_unconfirmed`]).
    ended: Option<String>,
    /// How long the board's program runs after a reboot before ota takes
    /// the REPL (see [`Transport::let_program_run`]).
    program_time: Option<Duration>,
    /// Said to each agent this link starts (see [`Transport::keep_local`]).
    keep_local: bool,
}

/// How long a board may take to answer its REPL control characters, or a ping.
const QUICK: Duration = Duration::from_millis(1500);
const PING_WAIT: Duration = Duration::from_millis(300);

impl MicroPython {
    /// Starts the agent on the board behind `inner`.
    pub fn open(inner: Box<dyn Transport>, timeout: Duration) -> io::Result<MicroPython> {
        let mut m = MicroPython::new(inner, timeout);
        m.start(false)?;
        Ok(m)
    }

    /// The agent already runs on the board behind `inner` (it answered a Hello).
    pub fn running(inner: Box<dyn Transport>, timeout: Duration) -> MicroPython {
        let mut m = MicroPython::new(inner, timeout);
        m.agent = true;
        m
    }

    fn new(inner: Box<dyn Transport>, timeout: Duration) -> MicroPython {
        let mut scratch = [0u8; 64];
        let mut frame = [0u8; 64];
        let n = encode_frame(&Request::Reboot, &mut scratch, &mut frame).unwrap_or(0);
        MicroPython {
            inner,
            pending: Vec::new(),
            timeout,
            agent: false,
            rebooting: false,
            interrupted: false,
            abandoned: false,
            reboot_frame: frame[..n].to_vec(),
            ended: None,
            program_time: Some(timeout),
            keep_local: false,
        }
    }

    fn ping(&mut self) -> io::Result<bool> {
        let mut p = vec![0u8; 256];
        p.extend_from_slice(repl::PING);
        self.inner.send(&p)?;
        let mut seen = Vec::new();
        let mut wait = Wait::new("the agent's answer to a ping", PING_WAIT);
        let got = listen::read_until(self.inner.as_mut(), &mut seen, repl::PONG, &mut wait)?;
        if got.is_some() {
            if self.keep_local {
                self.inner.send(repl::KEEP_LOCAL)?;
            }
            self.pending = seen;
            self.agent = true;
        }
        Ok(got.is_some())
    }

    fn start(&mut self, may_be_running: bool) -> io::Result<()> {
        self.pending.clear();
        if may_be_running && self.ping()? {
            return Ok(());
        }
        let t = self.inner.as_mut();
        // A board still booting may drop the control characters: enter_raw asks again at its prompt.
        let entered = match repl::enter_raw(t, self.timeout.max(QUICK)) {
            Ok(was_running) => was_running,
            // An agent left running by an ota that was killed does not hear Ctrl-C.
            Err(e) => return if self.ping()? { Ok(()) } else { Err(e) },
        };
        self.interrupted |= entered;
        let mut seen = Vec::new();
        repl::run(t, &script::loader(), self.timeout, &mut seen)?;
        if loader_asks(t, &mut seen, self.timeout)? {
            send_agent(t, &mut seen, self.timeout)?;
        }
        wait_ready(t, &mut seen, self.timeout)?;
        if self.keep_local {
            t.send(repl::KEEP_LOCAL)?;
        }
        self.pending = seen;
        self.agent = true;
        Ok(())
    }

    /// After a reboot: the board runs boot.py and main.py first; wait for
    /// its prompt (main.py ended, or raised) or for main.py to say it
    /// confirmed the tree, before taking the REPL, up to the timeout (a
    /// program that runs forever without confirming).
    fn wait_for_boot(&mut self) -> io::Result<()> {
        self.ended = None;
        let Some(time) = self.program_time.replace(self.timeout) else {
            return Ok(());
        };
        // A board at its REPL answers a bare return with a prompt, in case
        // the one it printed came before the port was open again.
        self.inner.send(b"\r")?;
        let mut seen = Vec::new();
        let mut wait = Wait::new("the board's prompt after its reboot", time);
        let mut prompt = Search::new(b">>> ");
        let mut confirmed = Search::new(script::CONFIRMED);
        loop {
            if confirmed.find(&seen).is_some() {
                return Ok(());
            }
            if let Some(at) = prompt.find(&seen) {
                self.ended = Some(why_it_ended(&seen[..at]));
                return Ok(());
            }
            let t = self.inner.as_mut();
            if !wait.more(t, &mut seen, &mut [&mut prompt, &mut confirmed])? {
                // ota interrupts it now: it cannot confirm in this boot any more.
                self.ended = Some(format!(
                    "its program still ran {}s after the reboot without calling `ota_boot.confirm()`",
                    time.as_secs()
                ));
                return Ok(());
            }
        }
    }
}

impl Transport for MicroPython {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes == self.reboot_frame.as_slice() {
            self.rebooting = true;
            self.agent = false;
        }
        self.inner.send(bytes)
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        if !self.pending.is_empty() {
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            return Ok(n);
        }
        self.inner.recv(buf, timeout)
    }

    fn reconnect(&mut self) -> io::Result<()> {
        self.inner.reconnect()?;
        let rebooted = std::mem::take(&mut self.rebooting);
        if rebooted {
            self.wait_for_boot()?;
        }
        self.start(!rebooted)
    }

    fn name(&self) -> String {
        self.inner.name()
    }

    fn started_agent(&self) -> bool {
        self.agent
    }

    fn abandon(&mut self) {
        self.abandoned = true;
    }

    fn ended_unconfirmed(&self) -> Option<String> {
        self.ended.clone()
    }

    fn let_program_run(&mut self, time: Option<Duration>) {
        self.program_time = time;
    }

    fn keep_local(&mut self) -> io::Result<()> {
        self.keep_local = true;
        self.inner.send(repl::KEEP_LOCAL)
    }
}

/// What the board printed before its prompt, as the reason a trial tree's
/// program will not confirm it: the traceback's last line when it raised.
fn why_it_ended(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    let Some(at) = text.rfind("Traceback (most recent call last)") else {
        return "its program ended without calling `ota_boot.confirm()`".to_string();
    };
    // After the header come indented `File` and source lines, then the error.
    let error = text[at..]
        .lines()
        .skip(1)
        .map(str::trim_end)
        .find(|l| !l.is_empty() && !l.starts_with(' '));
    match error {
        Some(e) => format!(
            "its program raised \"{}\" before calling `ota_boot.confirm()`",
            crate::terminal::escape(e)
        ),
        None => "its program raised before calling `ota_boot.confirm()`".to_string(),
    }
}

impl Drop for MicroPython {
    fn drop(&mut self) {
        if !self.agent {
            return;
        }
        let bye = if self.interrupted {
            repl::BYE_RESTART
        } else {
            repl::BYE
        };
        let t = self.inner.as_mut();
        if t.send(bye).is_err() {
            return;
        }
        // The raw REPL ends the program's output with 0x04, its errors with 0x04, then '>'.
        // An agent that floods or trickles is not waited for; one that says more than a
        // farewell's worth is left as it is.
        if !self.abandoned {
            let mut seen = Vec::new();
            let mut wait = Wait::new("the end of the agent's program", QUICK.min(self.timeout));
            wait.budget = listen::KEPT as u64;
            let _ = listen::read_until(t, &mut seen, b"\x04>", &mut wait);
        }
        let _ = t.send(if self.interrupted {
            b"\x02\x04"
        } else {
            b"\x02"
        });
    }
}

/// Who answers at a serial port.
pub enum Answer {
    Agent,
    RunningMicroPython,
    Repl,
}

/// The minor version the probe's Hello names. A REPL takes the frame's
/// bytes as keys, and these are harmless ones (with 1.3: Ctrl-A, Ctrl-C,
/// and CRC bytes that are no control keys); 1.4 would send Ctrl-D, a soft
/// reset. Any agent of major version 1 answers a Hello of any minor.
const PROBE_MINOR: u16 = 3;

/// Who answers a Hello within a moment: an ota agent, the MicroPython
/// agent (still running on its board), or nobody (a REPL, presumably).
pub fn answers_hello(port: &mut Serial) -> Answer {
    let mut scratch = [0u8; 64];
    let mut frame = [0u8; 64];
    let hello = Request::Hello {
        major: ota_protocol::PROTOCOL_MAJOR,
        minor: PROBE_MINOR,
    };
    let Ok(n) = encode_frame(&hello, &mut scratch, &mut frame) else {
        return Answer::Repl;
    };
    if port.send(&frame[..n]).is_err() {
        return Answer::Repl;
    }
    let mut decoder: Box<Decoder<4096>> = Box::new(Decoder::new());
    let mut wait = Wait::new("an answer to Hello", PING_WAIT);
    let mut seen = Vec::new();
    // A REPL answers the frame's bytes with text (its 0x01 is Ctrl-A).
    let (mut raw, mut prompt, mut banner) = (
        Search::new(b"raw REPL"),
        Search::new(b">>> "),
        Search::new(b"MicroPython"),
    );
    loop {
        let got = wait.read_more(port, &mut seen, &mut [&mut raw, &mut prompt, &mut banner]);
        // A flood or a silent port: the REPL's own waits say what it does.
        let Ok(Some(k)) = got else {
            return Answer::Repl;
        };
        if raw.find(&seen).is_some() || prompt.find(&seen).is_some() || banner.find(&seen).is_some()
        {
            return Answer::Repl;
        }
        let mut rest = &seen[seen.len() - k..];
        while !rest.is_empty() {
            let (used, body) = decoder.feed(rest);
            rest = &rest[used..];
            match body.and_then(decode_reply) {
                Some(Reply::Info(i)) if i.agent_version.starts_with("micropython") => {
                    return Answer::RunningMicroPython
                }
                Some(Reply::Info(_)) => return Answer::Agent,
                // Replies to an earlier ota's requests, still on their way.
                _ => {}
            }
        }
    }
}

/// Waits for the agent to say it reads frames. A board that stays silent
/// meanwhile gets at least 10 s (a slow board compiling the agent); one that
/// sends anything else gets the timeout. The raw REPL's end marker means the
/// agent's program ended: what it printed last (a traceback's error) is
/// reported at once.
fn wait_ready(t: &mut dyn Transport, seen: &mut Vec<u8>, timeout: Duration) -> io::Result<()> {
    let talking = Instant::now() + timeout;
    let mut wait = Wait::new(
        "the ota agent to start",
        timeout.max(Duration::from_secs(10)),
    );
    let mut ready = Search::new(repl::READY);
    let mut end = Search::new(b"\x04>");
    loop {
        if let Some(at) = ready.find(seen) {
            seen.drain(..at + repl::READY.len());
            return Ok(());
        }
        if let Some(at) = end.find(seen) {
            return Err(stopped(&seen[..at]));
        }
        if wait.read > 0 {
            wait.deadline = wait.deadline.min(talking);
        }
        if !wait.more(t, seen, &mut [&mut ready, &mut end])? {
            return Err(match wait.read {
                0 => repl::not_a_repl(wait.timed_out(seen)),
                _ => wait.flooded(seen),
            });
        }
    }
}

/// Whether the loader asks for the agent (true), or runs the one the board
/// keeps (false: its bytes are in `seen`).
fn loader_asks(t: &mut dyn Transport, seen: &mut Vec<u8>, timeout: Duration) -> io::Result<bool> {
    let mut wait = Wait::new("the answer to the agent probe", timeout);
    let (mut send, mut ready) = (Search::new(script::SEND), Search::new(repl::READY));
    let mut end = Search::new(b"\x04>");
    loop {
        if let Some(at) = send.find(seen) {
            seen.drain(..at + script::SEND.len());
            return Ok(true);
        }
        if ready.find(seen).is_some() {
            return Ok(false);
        }
        if let Some(at) = end.find(seen) {
            return Err(stopped(&seen[..at]));
        }
        if !wait.more(t, seen, &mut [&mut send, &mut ready, &mut end])? {
            return Err(repl::not_a_repl(wait.timed_out(seen)));
        }
    }
}

/// Sends the agent to the loader, as it is, a few blocks ahead of the
/// board's word (0x01) that it wrote them. What the board says after the
/// last one (the agent starting) is left in `seen`.
fn send_agent(t: &mut dyn Transport, seen: &mut Vec<u8>, timeout: Duration) -> io::Result<()> {
    let blocks: Vec<&[u8]> = script::agent_script().chunks(script::BLOCK).collect();
    let mut wait = Wait::new("the board to take the ota agent", timeout);
    let (mut sent, mut written) = (0, 0);
    while written < blocks.len() {
        while sent < blocks.len() && sent < written + script::WINDOW_BLOCKS {
            t.send(blocks[sent])?;
            sent += 1;
        }
        let (mut used, mut failed) = (0, None);
        for (i, &b) in seen.iter().enumerate() {
            if written == blocks.len() {
                break;
            }
            // 0x04: the loader failed; its error follows, then the raw REPL's prompt.
            if b == 4 {
                failed = Some(i);
                break;
            }
            written += usize::from(b == 1);
            used = i + 1;
        }
        if let Some(at) = failed {
            return Err(loader_failed(t, seen.split_off(at), wait));
        }
        seen.drain(..used);
        if written < blocks.len() && !wait.more(t, seen, &mut [])? {
            return Err(wait.timed_out(seen));
        }
    }
    Ok(())
}

/// The error for a loader that stopped while it took the agent.
fn loader_failed(t: &mut dyn Transport, mut after: Vec<u8>, mut wait: Wait<'_>) -> io::Error {
    wait.budget = wait.read + listen::KEPT as u64;
    match listen::read_until(t, &mut after, b"\x04>", &mut wait) {
        Ok(Some(out)) => stopped(&out),
        _ => stopped(&after),
    }
}

/// The error for the agent's program ending before it started serving.
fn stopped(out: &[u8]) -> io::Error {
    match repl::last_line(out) {
        Some(last) => io::Error::other(format!(
            "the ota agent stopped with an error on the board: \"{last}\" (the last line of its traceback)"
        )),
        None => io::Error::other(format!(
            "the ota agent ended on the board without starting (it printed {})",
            listen::shown(out)
        )),
    }
}
