//! The link to a MicroPython board: the serial port, with the MicroPython
//! agent started on the board at each connection (and again after each
//! reboot), then the agent's frames passed through untouched.
//!
//! When ota is done the agent is told so and the board is left at its REPL;
//! when ota had to interrupt a running program, the board is soft-reset so
//! that the program runs again (the boot hook does not count that as a boot).

use std::io;
use std::time::{Duration, Instant};

use ota_protocol::{decode_reply, encode_frame, Decoder, Reply, Request};

use super::repl;
use super::script;
use crate::device::link::transport::{Serial, Transport};
use crate::exit::{fail, Kind};

pub struct MicroPython {
    inner: Box<dyn Transport>,
    /// Bytes the agent sent that arrived with its start-up text.
    pending: Vec<u8>,
    timeout: Duration,
    agent: bool,
    /// A Reboot went out: the next connection waits for the board to boot.
    rebooting: bool,
    interrupted: bool,
    reboot_frame: Vec<u8>,
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
            reboot_frame: frame[..n].to_vec(),
        }
    }

    fn ping(&mut self) -> io::Result<bool> {
        let mut p = vec![0u8; 256];
        p.extend_from_slice(repl::PING);
        self.inner.send(&p)?;
        let mut seen = Vec::new();
        let got = repl::read_until(self.inner.as_mut(), &mut seen, repl::PONG, PING_WAIT)?;
        if got.is_some() {
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
        repl::run(t, script::PROBE, self.timeout, &mut seen)?;
        let kept = repl::read_until(t, &mut seen, b"\x04>", self.timeout)?
            .ok_or_else(|| repl::not_a_repl("no answer to the agent probe", &seen))?;
        let want = format!("OTA-HAVE {}", script::agent_sha256());
        let program = if repl::contains(&kept, want.as_bytes()) {
            script::RUN_KEPT.to_vec()
        } else {
            script::install_and_run()
        };
        repl::run(t, &program, self.timeout, &mut seen)?;
        let wait = self.timeout.max(Duration::from_secs(10));
        match repl::read_until(t, &mut seen, repl::READY, wait)? {
            Some(_) => {
                self.pending = seen;
                self.agent = true;
                Ok(())
            }
            None => Err(repl::not_a_repl("the ota agent did not start", &seen)),
        }
    }

    /// After a reboot: the board runs boot.py and main.py first; wait for
    /// its prompt (main.py ended) before taking the REPL, up to the timeout.
    fn wait_for_boot(&mut self) -> io::Result<()> {
        // A board at its REPL answers a bare return with a prompt, in case
        // the one it printed came before the port was open again.
        self.inner.send(b"\r")?;
        let mut seen = Vec::new();
        repl::read_until(self.inner.as_mut(), &mut seen, b">>> ", self.timeout)?;
        Ok(())
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
        let mut seen = Vec::new();
        let _ = repl::read_until(t, &mut seen, b"\x04>", QUICK);
        let _ = t.send(if self.interrupted {
            b"\x02\x04"
        } else {
            b"\x02"
        });
    }
}

/// Opens a serial port as whichever kind of device answers there: the ota
/// agent (it answers a Hello frame), or a MicroPython REPL.
pub fn open_serial(
    path: &str,
    serial: Option<String>,
    timeout: Duration,
) -> anyhow::Result<Box<dyn Transport>> {
    let known = crate::device::link::discover::candidates()
        .into_iter()
        .find(|p| p.port == path);
    let mut port = Serial::open(path, serial)?;
    let answer = match &known {
        // The agent, or an application over it (reached with the 1200-baud touch).
        Some(p) if p.agent || p.application => Answer::Agent,
        Some(p) if crate::device::link::discover::micropython(p) => Answer::Repl,
        _ => answers_hello(&mut port),
    };
    let m = match answer {
        Answer::Agent => return Ok(Box::new(port)),
        // Left running by an ota that was killed: it goes on serving.
        Answer::RunningMicroPython => MicroPython::running(Box::new(port), timeout),
        Answer::Repl => MicroPython::open(Box::new(port), timeout)
            .map_err(|e| fail(Kind::Device, format!("{path}: {e}")))?,
    };
    Ok(Box::new(m))
}

enum Answer {
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
fn answers_hello(port: &mut Serial) -> Answer {
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
    let deadline = Instant::now() + PING_WAIT;
    let mut buf = [0u8; 1024];
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let Ok(k) = port.recv(&mut buf, deadline - Instant::now()) else {
            return Answer::Repl;
        };
        seen.extend_from_slice(&buf[..k]);
        // A REPL answers the frame's bytes with text (its 0x01 is Ctrl-A).
        if [&b"raw REPL"[..], b">>> ", b"MicroPython"]
            .iter()
            .any(|t| super::repl::contains(&seen, t))
        {
            return Answer::Repl;
        }
        let mut rest = &buf[..k];
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
    Answer::Repl
}
