//! Driving MicroPython's raw REPL over a byte link: interrupt the running
//! program, enter the raw REPL, and run a program with raw-paste (with its
//! flow control) when the firmware has it, or plain raw mode when it does not.
//! Every wait here has a deadline and a byte budget (see `listen.rs`).

use std::io;
use std::time::{Duration, Instant};

use super::listen::{self, Search, Wait};
use crate::device::link::transport::Transport;

pub const RAW_BANNER: &[u8] = b"raw REPL; CTRL-B to exit\r\n>";
/// What the agent prints once it reads frames.
pub const READY: &[u8] = b"OTA-AGENT-READY\r\n";
/// What a running agent answers to a ping.
pub const PONG: &[u8] = b"OTA-PONG\r\n";
/// Frames whose body is one to four zero bytes: no message is that short, so
/// agents of either kind drop them, but the MicroPython agent reads them as
/// "session over", "are you there", "session over, restart the program"
/// and "keep what changed outside ota".
pub const BYE: &[u8] = &[0, 1, 1, 0];
pub const BYE_RESTART: &[u8] = &[0, 1, 1, 1, 1, 0];
pub const PING: &[u8] = &[0, 1, 1, 1, 0];
/// Four zero bytes: the next Begin keeps the files changed outside ota.
pub const KEEP_LOCAL: &[u8] = &[0, 1, 1, 1, 1, 1, 0];
/// How long a board may take to answer the raw-paste request.
const PASTE_ANSWER: Duration = Duration::from_millis(1500);

/// A wait that ended without its answer, said as a board that is no REPL.
pub fn not_a_repl(e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("does not answer as a MicroPython REPL ({e})"),
    )
}

/// Reads until `pat` arrives, or fails with what the board did instead.
fn expect(
    t: &mut dyn Transport,
    seen: &mut Vec<u8>,
    pat: &[u8],
    wait: &mut Wait<'_>,
) -> io::Result<Vec<u8>> {
    match listen::read_until(t, seen, pat, wait)? {
        Some(before) => Ok(before),
        None => Err(not_a_repl(wait.timed_out(seen))),
    }
}

/// How often Ctrl-C goes again while the raw REPL has not answered: a
/// program may have been starting, or caught the first KeyboardInterrupt.
const INTERRUPT_AGAIN: Duration = Duration::from_millis(250);

/// Stops the running program and enters the raw REPL. Returns true when a
/// program was running (the board printed a KeyboardInterrupt).
pub fn enter_raw(t: &mut dyn Transport, timeout: Duration) -> io::Result<bool> {
    const KEYS: &[u8] = b"\r\x03\x03\r\x01";
    t.send(KEYS)?;
    let mut sent_at = Instant::now();
    let deadline = sent_at + timeout;
    let mut wait = Wait::new("the raw REPL's banner after Ctrl-C, Ctrl-A", timeout);
    let mut seen = Vec::new();
    let mut banner = Search::new(RAW_BANNER);
    let mut interrupt = Search::new(b"KeyboardInterrupt");
    let mut interrupted = false;
    loop {
        let at = banner.find(&seen);
        interrupted |= interrupt.find(&seen[..at.unwrap_or(seen.len())]).is_some();
        if at.is_some() {
            // A second banner (the port's probe may have sent a Ctrl-A too) is
            // skipped by `run`, which looks for the raw-paste answer itself.
            return Ok(interrupted);
        }
        // A board that was still starting drops what came before its REPL
        // (the unix port flushes its terminal's input when it takes it):
        // it shows the friendly prompt, so ask again.
        if seen.ends_with(b">>> ") {
            t.send(b"\x01")?;
            seen.extend_from_slice(b"\n");
        }
        if sent_at.elapsed() >= INTERRUPT_AGAIN {
            t.send(KEYS)?;
            sent_at = Instant::now();
        }
        wait.deadline = deadline.min(sent_at + INTERRUPT_AGAIN);
        let more = wait.more(t, &mut seen, &mut [&mut banner, &mut interrupt])?;
        if !more && Instant::now() >= deadline {
            return Err(not_a_repl(wait.timed_out(&seen)));
        }
    }
}

/// Runs `code` from the raw REPL; returns once the board has taken all of it
/// and started it (bytes it printed since are in `seen`). The whole of it,
/// whatever the board answers, ends within `timeout`.
pub fn run(
    t: &mut dyn Transport,
    code: &[u8],
    timeout: Duration,
    seen: &mut Vec<u8>,
) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    t.send(b"\x05A\x01")?;
    let mut wait = Wait::until(
        "the raw REPL's answer to the raw-paste request",
        deadline.min(Instant::now() + PASTE_ANSWER),
    );
    let mut head = Vec::new();
    let mut ok = Search::new(b"R\x01");
    let mut no = Search::new(b"R\x00");
    let answer = loop {
        // Bytes after the answer (the window size) belong to the paste.
        match (ok.find(&head), no.find(&head)) {
            (Some(a), b) if b.is_none_or(|b| a < b) => break Some((true, head.split_off(a + 2))),
            (_, Some(b)) => break Some((false, head.split_off(b + 2))),
            _ => {}
        }
        if !wait.more(t, &mut head, &mut [&mut ok, &mut no])? {
            break None;
        }
    };
    match answer {
        Some((true, rest)) => paste(t, code, deadline, rest, seen),
        Some((false, rest)) => {
            seen.extend_from_slice(&rest);
            plain(t, code, deadline, seen)
        }
        None => {
            // Firmware from before raw-paste: it took those bytes as code.
            t.send(b"\x03")?;
            let mut wait = wait.then("a quiet line after the raw-paste request", deadline);
            listen::drain(t, Duration::from_millis(100), &mut wait)?;
            plain(t, code, deadline, seen)
        }
    }
}

/// Raw-paste: the board grants a window of bytes and sends 0x01 for each
/// window it has consumed, so nothing it cannot hold is ever sent. `head`
/// is what came right after the board's answer.
fn paste(
    t: &mut dyn Transport,
    code: &[u8],
    deadline: Instant,
    mut head: Vec<u8>,
    seen: &mut Vec<u8>,
) -> io::Result<()> {
    let mut wait = Wait::until("the raw-paste window size", deadline);
    while head.len() < 2 {
        if !wait.more(t, &mut head, &mut [])? {
            return Err(not_a_repl(wait.timed_out(&head)));
        }
    }
    let window = u16::from_le_bytes([head[0], head[1]]).max(1) as usize;
    let mut grants = head.split_off(2);
    let mut wait = Wait::until(
        "the board to grant room for the rest of the program",
        deadline,
    );
    let mut credit = window;
    let mut at = 0;
    while at < code.len() {
        // Grants pile up unread while there is credit; read them when it runs out.
        while credit == 0 {
            if grants.is_empty() && !wait.more(t, &mut grants, &mut [])? {
                return Err(wait.timed_out(seen));
            }
            if let Some(end) = grants.iter().position(|&b| b == 4) {
                return Err(ended_early(t, grants.split_off(end + 1), deadline));
            }
            for b in grants.drain(..) {
                match b {
                    1 => credit += window,
                    _ if seen.len() < listen::KEPT => seen.push(b),
                    _ => {}
                }
            }
        }
        let n = credit.min(code.len() - at);
        t.send(&code[at..at + n])?;
        at += n;
        credit -= n;
    }
    t.send(b"\x04")?;
    // The board answers the end of the paste with 0x04 (grants may come first).
    let mut wait = Wait::until("the raw REPL's answer to the end of the paste", deadline);
    expect(t, &mut grants, b"\x04", &mut wait)?;
    seen.extend_from_slice(&grants);
    Ok(())
}

/// The error for a board that ended a paste before taking all of it (out
/// of memory, typically): it says why, then ends with 0x04 and '>'.
fn ended_early(t: &mut dyn Transport, mut after: Vec<u8>, deadline: Instant) -> io::Error {
    let why = t.send(b"\x04").and_then(|()| {
        let mut wait = Wait::until(
            "the board's reason",
            deadline.min(Instant::now() + PASTE_ANSWER),
        );
        listen::read_until(t, &mut after, b"\x04>", &mut wait)
    });
    match why.ok().flatten().as_deref().and_then(last_line) {
        Some(last) => io::Error::other(format!(
            "raw-paste: the board ended the paste before taking all of the program: \"{last}\" (the last line it printed)"
        )),
        None => io::Error::other("raw-paste: the board ended the paste before taking all of the program"),
    }
}

/// The last line a program printed (on its error stream, when it failed):
/// the raw REPL sends a program's output, 0x04, its error (a traceback),
/// then 0x04 and its prompt '>', which are no lines of the program's.
pub fn last_line(out: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(out);
    let last = text
        .split(['\x04', '\n'])
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && *l != ">")?;
    Some(crate::terminal::escape(last).into_owned())
}

/// Plain raw mode: the code, then Ctrl-D; the board answers "OK". It has no
/// flow control, so the code goes in pieces a board's input buffer takes.
fn plain(
    t: &mut dyn Transport,
    code: &[u8],
    deadline: Instant,
    seen: &mut Vec<u8>,
) -> io::Result<()> {
    for piece in code.chunks(256) {
        t.send(piece)?;
        std::thread::sleep(Duration::from_millis(10));
    }
    t.send(b"\x04")?;
    let mut got = Vec::new();
    let mut wait = Wait::until("the raw REPL's OK after the program", deadline);
    expect(t, &mut got, b"OK", &mut wait)?;
    seen.extend_from_slice(&got);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A board that was still starting when ota's first bytes came: it drops
    /// them, prints its banner and friendly prompt, then answers Ctrl-A.
    struct Starting {
        out: Vec<u8>,
        got: Vec<Vec<u8>>,
    }

    impl Transport for Starting {
        fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
            self.got.push(bytes.to_vec());
            if self.got.len() == 1 {
                self.out
                    .extend_from_slice(b"MicroPython v1.24\r\nType \"help()\".\r\n>>> ");
            } else if bytes.ends_with(b"\x01") {
                self.out.extend_from_slice(b"\r\n");
                self.out.extend_from_slice(RAW_BANNER);
            }
            Ok(())
        }
        fn recv(&mut self, buf: &mut [u8], _timeout: Duration) -> io::Result<usize> {
            let n = self.out.len().min(buf.len());
            buf[..n].copy_from_slice(&self.out[..n]);
            self.out.drain(..n);
            Ok(n)
        }
        fn reconnect(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn name(&self) -> String {
            "starting".into()
        }
    }

    #[test]
    fn a_board_that_dropped_the_first_ctrl_a_is_asked_again_at_its_prompt() {
        let mut t = Starting {
            out: Vec::new(),
            got: Vec::new(),
        };
        let was_running = enter_raw(&mut t, Duration::from_secs(5)).unwrap();
        assert!(!was_running);
        assert_eq!(t.got, [b"\r\x03\x03\r\x01".to_vec(), b"\x01".to_vec()]);
    }
}
