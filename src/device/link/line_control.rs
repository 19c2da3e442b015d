//! What a serial port tells the host without a word of the protocol, carried
//! over `tcp:` ports: which firmware runs (a USB port shows it by its product
//! string), and the 1200-baud touch (a serial port opened at 1200 baud and
//! closed again), which asks a running application for the agent.
//!
//! A connection whose first byte is 0xFF carries one such line instead of
//! data; COBS frames never start with 0xFF, so the two cannot be mixed up.
//! The emulator bridge (firmware-agent/emu/src/bridge.js) and `ota agent sim
//! --listen` answer them:
//!
//! ```text
//! \xFFOTA-DESCRIBE\n    ->  \xFFOTA {"running":"agent"|"application"|"none"}\n
//! \xFFOTA-TOUCH 1200\n  ->  \xFFOTA {"touched":true|false}\n
//! ```

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde::Serialize;

/// The baud rate of the touch, as Arduino boards and Pico SDK programs use it.
pub const TOUCH_BAUD: u32 = 1200;
const ANSWER: &[u8] = b"\xFFOTA ";

/// What runs on the board, as the port shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Running {
    /// The ota agent: it answers the protocol.
    Agent,
    /// The user's application: reach the agent with the touch.
    Application,
    /// Nothing is attached (the board is resetting, or unplugged).
    #[serde(rename = "none")]
    Nothing,
    /// The link cannot tell (a pseudo-terminal, a plain socket): try Hello.
    Unknown,
}

/// A control line a server received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    Describe,
    Touch(u32),
}

impl Line {
    /// Parses the line after the 0xFF, without its new line.
    pub fn parse(text: &str) -> Option<Line> {
        let mut words = text.split_whitespace();
        match (words.next()?, words.next()) {
            ("OTA-DESCRIBE", None) => Some(Line::Describe),
            ("OTA-TOUCH", baud) => Some(Line::Touch(
                baud.map_or(Some(TOUCH_BAUD), |b| b.parse().ok())?,
            )),
            _ => None,
        }
    }
}

/// The answer a server sends to `line`, given what runs and what a touch did.
pub fn answer(running: Running, touched: Option<bool>) -> Vec<u8> {
    let body = match touched {
        Some(t) => serde_json::json!({ "touched": t }),
        None => serde_json::json!({ "running": running }),
    };
    let mut out = ANSWER.to_vec();
    out.extend_from_slice(body.to_string().as_bytes());
    out.push(b'\n');
    out
}

/// Asks the server at `addr` what runs: `Unknown` when it does not answer
/// (it knows no control lines), `Nothing` when the connection fails (nothing
/// listens, or the board reset under it).
pub fn describe(addr: &str, timeout: Duration) -> Running {
    match ask(addr, "OTA-DESCRIBE", timeout) {
        Ok(v) => match v.get("running").and_then(|r| r.as_str()) {
            Some("agent") => Running::Agent,
            Some("application") => Running::Application,
            Some("none") => Running::Nothing,
            _ => Running::Unknown,
        },
        Err(e) if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::InvalidData => {
            Running::Unknown
        }
        Err(_) => Running::Nothing,
    }
}

/// The 1200-baud touch through the server at `addr`: true when it reached
/// a running application.
pub fn touch(addr: &str, timeout: Duration) -> io::Result<bool> {
    let v = ask(addr, &format!("OTA-TOUCH {TOUCH_BAUD}"), timeout)?;
    Ok(v.get("touched").and_then(|t| t.as_bool()).unwrap_or(false))
}

fn ask(addr: &str, line: &str, timeout: Duration) -> io::Result<serde_json::Value> {
    let to = std::net::ToSocketAddrs::to_socket_addrs(addr)?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
    let mut s = TcpStream::connect_timeout(&to, timeout)?;
    s.set_nodelay(true)?;
    s.write_all(&[0xFF])?;
    s.write_all(line.as_bytes())?;
    s.write_all(b"\n")?;
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        // Whatever a console printed before the answer is skipped.
        if let Some(at) = find(&got, ANSWER) {
            if let Some(nl) = got[at..].iter().position(|&b| b == b'\n') {
                let body = &got[at + ANSWER.len()..at + nl];
                return serde_json::from_slice(body)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        s.set_read_timeout(Some(left))?;
        match s.read(&mut buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::ErrorKind::TimedOut.into())
            }
            Err(e) => return Err(e),
        }
        if got.len() > 64 * 1024 {
            return Err(io::ErrorKind::InvalidData.into());
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse() {
        assert_eq!(Line::parse("OTA-DESCRIBE"), Some(Line::Describe));
        assert_eq!(Line::parse("OTA-TOUCH 1200"), Some(Line::Touch(1200)));
        assert_eq!(Line::parse("OTA-TOUCH"), Some(Line::Touch(1200)));
        assert_eq!(Line::parse("OTA-TOUCH fast"), None);
        assert_eq!(Line::parse("HELLO"), None);
    }

    #[test]
    fn answers_are_json_after_the_marker() {
        assert_eq!(
            answer(Running::Application, None),
            b"\xFFOTA {\"running\":\"application\"}\n"
        );
        assert_eq!(
            answer(Running::Agent, Some(true)),
            b"\xFFOTA {\"touched\":true}\n"
        );
    }
}
