//! Driving MicroPython's raw REPL over a byte link: interrupt the running
//! program, enter the raw REPL, and run a program with raw-paste (with its
//! flow control) when the firmware has it, or plain raw mode when it does not.

use std::io;
use std::time::{Duration, Instant};

use crate::device::link::transport::Transport;

pub const RAW_BANNER: &[u8] = b"raw REPL; CTRL-B to exit\r\n>";
/// What the agent prints once it reads frames.
pub const READY: &[u8] = b"OTA-AGENT-READY\r\n";
/// What a running agent answers to a ping.
pub const PONG: &[u8] = b"OTA-PONG\r\n";
/// Frames whose body is one or two zero bytes: no message is that short, so
/// agents of either kind drop them, but the MicroPython agent reads them as
/// "session over" and "are you there".
pub const BYE: &[u8] = &[0, 1, 1, 0];
pub const BYE_RESTART: &[u8] = &[0, 1, 1, 1, 1, 0];
pub const PING: &[u8] = &[0, 1, 1, 1, 0];

fn find(hay: &[u8], pat: &[u8]) -> Option<usize> {
    hay.windows(pat.len()).position(|w| w == pat)
}

pub fn contains(hay: &[u8], pat: &[u8]) -> bool {
    find(hay, pat).is_some()
}

/// Reads until `pat` arrives; returns what came before it and what came after.
pub fn read_until(
    t: &mut dyn Transport,
    seen: &mut Vec<u8>,
    pat: &[u8],
    timeout: Duration,
) -> io::Result<Option<Vec<u8>>> {
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 4096];
    loop {
        if let Some(at) = find(seen, pat) {
            let rest = seen.split_off(at + pat.len());
            return Ok(Some(std::mem::replace(seen, rest)));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let n = t.recv(&mut buf, left)?;
        seen.extend_from_slice(&buf[..n]);
    }
}

/// Reads whatever arrives until the line stays quiet for `quiet`.
fn drain(t: &mut dyn Transport, quiet: Duration) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = t.recv(&mut buf, quiet)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn shown(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let s = s.trim();
    let tail: String = s
        .chars()
        .rev()
        .take(300)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if tail.is_empty() {
        "nothing".into()
    } else {
        format!("{tail:?}")
    }
}

pub fn not_a_repl(what: &str, got: &[u8]) -> io::Error {
    io::Error::other(format!(
        "does not answer as a MicroPython REPL ({what}; it sent {})",
        shown(got)
    ))
}

/// Stops the running program and enters the raw REPL. Returns true when a
/// program was running (the board printed a KeyboardInterrupt).
pub fn enter_raw(t: &mut dyn Transport, timeout: Duration) -> io::Result<bool> {
    t.send(b"\r\x03\x03\r\x01")?;
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(at) = find(&seen, RAW_BANNER) {
            // A second banner (the port's probe may have sent a Ctrl-A too) is
            // skipped by `run`, which looks for the raw-paste answer itself.
            return Ok(find(&seen[..at], b"KeyboardInterrupt").is_some());
        }
        // A board that was still starting drops what came before its REPL
        // (the unix port flushes its terminal's input when it takes it):
        // it shows the friendly prompt, so ask again.
        if seen.ends_with(b">>> ") {
            t.send(b"\x01")?;
            seen.extend_from_slice(b"\n");
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(not_a_repl("no raw REPL after Ctrl-C, Ctrl-A", &seen));
        }
        let n = t.recv(&mut buf, left)?;
        seen.extend_from_slice(&buf[..n]);
    }
}

/// Runs `code` from the raw REPL; returns once the board has taken all of it
/// and started it (bytes it printed since are in `seen`).
pub fn run(
    t: &mut dyn Transport,
    code: &[u8],
    timeout: Duration,
    seen: &mut Vec<u8>,
) -> io::Result<()> {
    t.send(b"\x05A\x01")?;
    let mut head = Vec::new();
    let deadline = Instant::now() + timeout.min(Duration::from_millis(1500));
    let mut buf = [0u8; 1];
    // One byte at a time: what follows the answer belongs to the paste.
    let answer = loop {
        if head.ends_with(b"R\x01") || head.ends_with(b"R\x00") {
            break Some(head[head.len() - 1]);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break None;
        }
        let n = t.recv(&mut buf, left)?;
        head.extend_from_slice(&buf[..n]);
    };
    match answer {
        Some(1) => paste(t, code, timeout, seen),
        Some(_) => plain(t, code, timeout, seen),
        None => {
            // Firmware from before raw-paste: it took those bytes as code.
            seen.extend_from_slice(&head);
            t.send(b"\x03")?;
            let _ = drain(t, Duration::from_millis(100))?;
            plain(t, code, timeout, seen)
        }
    }
}

/// Raw-paste: the board grants a window of bytes and sends 0x01 for each
/// window it has consumed, so nothing it cannot hold is ever sent.
fn paste(
    t: &mut dyn Transport,
    code: &[u8],
    timeout: Duration,
    seen: &mut Vec<u8>,
) -> io::Result<()> {
    let mut w = Vec::new();
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + timeout;
    while w.len() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(not_a_repl("no raw-paste window size", &w));
        }
        let n = t.recv(&mut buf[..2 - w.len()], left)?;
        w.extend_from_slice(&buf[..n]);
    }
    let window = u16::from_le_bytes([w[0], w[1]]).max(1) as usize;
    let mut credit = window;
    let mut at = 0;
    while at < code.len() {
        // Grants pile up unread while there is credit; read them when it runs out.
        while credit == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "raw-paste: the board stopped granting room",
                ));
            }
            let n = t.recv(&mut buf, left)?;
            for &b in &buf[..n] {
                match b {
                    1 => credit += window,
                    4 => {
                        t.send(b"\x04")?;
                        return Err(io::Error::other(
                            "raw-paste: the board ended the paste early",
                        ));
                    }
                    _ => seen.push(b),
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
    let mut tail = Vec::new();
    match read_until(t, &mut tail, b"\x04", timeout)? {
        Some(_) => {
            seen.extend_from_slice(&tail);
            Ok(())
        }
        None => Err(not_a_repl("no end of raw-paste", &tail)),
    }
}

/// Plain raw mode: the code, then Ctrl-D; the board answers "OK". It has no
/// flow control, so the code goes in pieces a board's input buffer takes.
fn plain(
    t: &mut dyn Transport,
    code: &[u8],
    timeout: Duration,
    seen: &mut Vec<u8>,
) -> io::Result<()> {
    for piece in code.chunks(256) {
        t.send(piece)?;
        std::thread::sleep(Duration::from_millis(10));
    }
    t.send(b"\x04")?;
    let mut got = Vec::new();
    match read_until(t, &mut got, b"OK", timeout)? {
        Some(_) => {
            seen.extend_from_slice(&got);
            Ok(())
        }
        None => Err(not_a_repl("no OK after the program", &got)),
    }
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
