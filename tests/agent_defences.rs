//! The agent defends itself from a raw protocol client: a connection that
//! goes silent is closed and frees the agent for the next host, and a Begin
//! with no files cannot empty the device.

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;

use ota_protocol::{decode_reply, encode_frame, Begin, Decoder, ErrorCode, Reply, Request};
use util::*;

/// A host speaking the protocol by hand.
struct Raw {
    conn: TcpStream,
    decoder: Box<Decoder<4096>>,
}

impl Raw {
    fn connect(port: &str) -> Raw {
        let conn = TcpStream::connect(port.trim_start_matches("tcp:")).unwrap();
        Raw {
            conn,
            decoder: Box::new(Decoder::new()),
        }
    }

    fn send(&mut self, req: &Request<'_>) {
        let (mut scratch, mut frame) = ([0u8; 1024], [0u8; 2048]);
        let n = encode_frame(req, &mut scratch, &mut frame).unwrap();
        self.conn.write_all(&frame[..n]).unwrap();
    }

    /// The next reply's error code, or None for any other reply.
    fn answer(&mut self) -> Option<ErrorCode> {
        let mut byte = [0u8; 1];
        loop {
            assert_eq!(self.conn.read(&mut byte).unwrap(), 1, "connection closed");
            if let (_, Some(body)) = self.decoder.feed(&byte) {
                return match decode_reply(body).expect("a reply") {
                    Reply::Error { code, .. } => Some(code),
                    _ => None,
                };
            }
        }
    }

    /// Blocks until the agent closes the connection (an event, not a timer).
    fn wait_closed(&mut self) {
        let mut buf = [0u8; 256];
        while matches!(self.conn.read(&mut buf), Ok(n) if n > 0) {}
    }
}

fn hello() -> Request<'static> {
    Request::Hello {
        major: ota_protocol::PROTOCOL_MAJOR,
        minor: ota_protocol::PROTOCOL_MINOR,
    }
}

#[test]
fn a_silent_connection_is_closed_and_frees_the_agent() {
    let dir = tempdir();
    let sim = Sim::start(
        dir.path(),
        "p.img",
        &["--listen", "127.0.0.1:0", "--idle-timeout", "1"],
    );
    let mut raw = Raw::connect(&sim.port);
    raw.send(&hello());
    assert_eq!(raw.answer(), None);
    let r = ota_in(dir.path()).port(&sim.port).args(&["status"]).run();
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("port busy"), "{}", r.stderr);
    raw.wait_closed();
    ota_in(dir.path()).port(&sim.port).args(&["status"]).ok();
}

#[test]
fn a_begin_with_no_files_is_refused_and_the_device_keeps_its_tree() {
    let dir = tempdir();
    write(dir.path(), "app/main.py", b"print(1)\n");
    let sim = Sim::tcp(dir.path(), "p.img");
    ota_in(dir.path())
        .port(&sim.port)
        .args(&["push", "--dir", "app"])
        .ok();
    let before = device_files(dir.path(), &sim.port);
    let mut raw = Raw::connect(&sim.port);
    raw.send(&hello());
    assert_eq!(raw.answer(), None);
    raw.send(&Request::Begin(Begin {
        session: 7,
        entries: 0,
        total_bytes: 0,
        version: "empty",
        git_ref: "x",
        commit: "y",
        post_update: None,
        rollback: None,
        signature: None,
        trial_timeout_sec: 0,
    }));
    assert_eq!(raw.answer(), Some(ErrorCode::BadEntry));
    raw.send(&Request::Commit { boots: 0 });
    assert_eq!(raw.answer(), Some(ErrorCode::BadState));
    // Once the agent closes its side, it is free for the next host.
    raw.conn.shutdown(std::net::Shutdown::Write).unwrap();
    raw.wait_closed();
    assert_eq!(device_files(dir.path(), &sim.port), before);
}
