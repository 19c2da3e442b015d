//! A hostile MicroPython board on a pseudo-terminal, driven by the test: it
//! speaks the raw REPL (banner, raw-paste with its flow control, the end
//! markers) well enough for ota to reach the step it misbehaves at, then
//! floods, trickles, sends an endless line, or fails with a traceback.

use std::io::{Read, Write};
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Answers the raw-paste request with output that never ends.
    FloodAfterPaste,
    /// Answers the raw-paste request with one byte every 10 ms, forever: never
    /// quiet for the 100 ms ota waits for after a raw-paste request nobody answered.
    TrickleAfterPaste,
    /// Answers the agent probe with a line of 200 MB.
    LongProbeLine,
    /// The agent's program fails: a traceback, then the raw REPL's end marker.
    Traceback,
    /// The agent starts, then sends bytes that are no frame, without end.
    GarbageAfterReady,
    /// The agent starts, then sends a byte that is no frame every 10 ms.
    TrickleAfterReady,
}

const BANNER: &[u8] = b"\r\nraw REPL; CTRL-B to exit\r\n>";
const WINDOW: usize = 128;
pub const TRACEBACK_LAST: &str = "MemoryError: memory allocation failed, allocating 4096 bytes";

/// Serves on a new pseudo-terminal; returns its path to give ota. The
/// board ends when ota closes the port.
pub fn serve(how: Misbehaviour) -> String {
    let (mut master, slave) = TTYPort::pair().expect("a pseudo-terminal");
    let port = slave.name().unwrap();
    master.set_timeout(Duration::from_secs(600)).unwrap();
    std::thread::spawn(move || {
        let _ = Board::new(how, slave).run(&mut master);
    });
    port
}

struct Board {
    how: Misbehaviour,
    /// Held until ota has sent its first bytes, so that reads before ota
    /// opens the port do not fail; dropped then, so that ota's closing ends the board.
    slave: Option<TTYPort>,
    /// Bytes of the last control sequence (Ctrl-E, 'A', Ctrl-A).
    escape: Vec<u8>,
    /// In a raw paste: the program so far, and bytes since the last grant.
    paste: Option<(Vec<u8>, usize)>,
}

impl Board {
    fn new(how: Misbehaviour, slave: TTYPort) -> Board {
        Board {
            how,
            slave: Some(slave),
            escape: Vec::new(),
            paste: None,
        }
    }

    fn run(&mut self, port: &mut TTYPort) -> std::io::Result<()> {
        let mut buf = [0u8; 4096];
        loop {
            let n = port.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            self.slave.take();
            for &b in &buf[..n] {
                self.byte(port, b)?;
            }
        }
    }

    fn byte(&mut self, port: &mut TTYPort, b: u8) -> std::io::Result<()> {
        if let Some((program, since)) = &mut self.paste {
            if b == 4 {
                let program = std::mem::take(program);
                self.paste = None;
                port.write_all(b"\x04")?;
                return self.ran(port, &program);
            }
            program.push(b);
            *since += 1;
            if *since == WINDOW {
                *since = 0;
                port.write_all(b"\x01")?;
            }
            return Ok(());
        }
        self.escape.push(b);
        if !b"\x05A\x01".starts_with(&self.escape) {
            self.escape.clear();
        }
        match b {
            _ if self.escape == b"\x05A\x01" => {
                self.escape.clear();
                self.paste_request(port)
            }
            1 if self.escape.is_empty() => port.write_all(BANNER),
            _ => Ok(()),
        }
    }

    fn paste_request(&mut self, port: &mut TTYPort) -> std::io::Result<()> {
        match self.how {
            Misbehaviour::FloodAfterPaste => flood(port, b"spam spam spam\r\n"),
            Misbehaviour::TrickleAfterPaste => loop {
                port.write_all(b".")?;
                std::thread::sleep(Duration::from_millis(10));
            },
            _ => {
                port.write_all(b"R\x01")?;
                port.write_all(&(WINDOW as u16).to_le_bytes())?;
                self.paste = Some((Vec::new(), 0));
                Ok(())
            }
        }
    }

    /// The board ran `program`: what it prints.
    fn ran(&mut self, port: &mut TTYPort, program: &[u8]) -> std::io::Result<()> {
        // The loader ota sends first, which runs the agent.
        if !program.windows(8).any(|w| w == b"OTA-SEND") {
            return Ok(());
        }
        match self.how {
            Misbehaviour::LongProbeLine => {
                let line = vec![b'x'; 1 << 20];
                for _ in 0..200 {
                    port.write_all(&line)?;
                }
                port.write_all(b"\r\n\x04\x04>")
            }
            Misbehaviour::Traceback => {
                port.write_all(b"\x04Traceback (most recent call last):\r\n  File \"<stdin>\", line 7, in <module>\r\n")?;
                port.write_all(TRACEBACK_LAST.as_bytes())?;
                port.write_all(b"\r\n\x04>")
            }
            Misbehaviour::GarbageAfterReady => {
                port.write_all(b"OTA-AGENT-READY\r\n")?;
                flood(port, &[0x55; 1000])
            }
            Misbehaviour::TrickleAfterReady => {
                port.write_all(b"OTA-AGENT-READY\r\n")?;
                loop {
                    port.write_all(b"\x55")?;
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            _ => Ok(()),
        }
    }
}

/// Writes `what` again and again until ota closes the port.
fn flood(port: &mut TTYPort, what: &[u8]) -> std::io::Result<()> {
    let chunk = what.repeat(64 * 1024 / what.len());
    loop {
        port.write_all(&chunk)?;
    }
}
