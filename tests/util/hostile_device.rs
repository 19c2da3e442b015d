//! A broken or hostile agent on a TCP port or a pseudo-terminal: it speaks
//! valid frames, but floods the host with answers nobody asked for, or
//! answers falsely (a dropped list entry, another session, an impossible
//! Info). The host must end every exchange by its own deadline, cap what it
//! keeps by the device's Info, and refuse what cannot be true.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use ota_agent::ram_flash::RamFlash;
use ota_agent::{Agent, AgentConfig};
use ota_protocol::{decode_request, encode_frame, Decoder, Reply, Request};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flood {
    /// Every request, Hello included, is answered by endless Done frames.
    DoneToAll,
    /// Hello gets a true Info; every other request endless Done frames.
    DoneAfterHello,
    /// Hello gets a true Info; ListFiles an endless list of files.
    Files,
    /// Hello, ListFiles and Layout get true answers (an empty device);
    /// every other request endless Done frames.
    DoneAfterList,
    /// Hello gets a true Info; ListFiles one File frame that cannot be
    /// decoded (its path claims 2^32 bytes), then a ListEnd that counts it.
    DroppedEntry,
    /// The true agent, except that Begin is answered with Ready for
    /// another session.
    OtherSession,
    /// Hello is answered with an Info claiming more free flash than it holds.
    ImpossibleInfo,
}

/// Serves on 127.0.0.1; returns the `tcp:` port to give ota.
pub fn serve(flood: Flood) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = format!("tcp:{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            std::thread::spawn(move || {
                let _ = answer(&mut conn, flood);
            });
        }
    });
    port
}

/// Serves on a pseudo-terminal; returns its path to give ota.
pub fn serve_pty(flood: Flood) -> String {
    use serialport::{SerialPort, TTYPort};
    let (mut master, slave) = TTYPort::pair().expect("a pseudo-terminal");
    let port = slave.name().unwrap();
    master.set_timeout(Duration::from_secs(600)).unwrap();
    std::thread::spawn(move || {
        // Held until ota has opened the port, so that the first reads do not fail.
        let mut slave = Some(slave);
        let _ = answer(&mut Held(&mut master, &mut slave), flood);
    });
    port
}

/// The master side of a pty, with its slave dropped at the first bytes from
/// ota: ota's closing then ends the conversation.
struct Held<'a, M>(&'a mut M, &'a mut Option<serialport::TTYPort>);

impl<M: Read> Read for Held<'_, M> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.take();
        Ok(n)
    }
}

impl<M: Write> Write for Held<'_, M> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn answer(conn: &mut impl ReadWrite, flood: Flood) -> std::io::Result<()> {
    let (mut agent, _) = Agent::boot(
        RamFlash::new(64 * 4096),
        0,
        64,
        AgentConfig {
            agent_version: "hostile",
            device_id: [7; 8],
            max_chunk: 1024,
            app: ota_protocol::AppSlot::Empty,
            boot_id: 1,
        },
    )
    .unwrap();
    let mut decoder = Box::new(Decoder::<4096>::new());
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let (used, frame) = decoder.feed(rest);
            rest = &rest[used..];
            let Some(body) = frame else { continue };
            let Some(req) = decode_request(body) else {
                continue;
            };
            reply_to(conn, &mut agent, &req, flood)?;
        }
    }
}

/// Answers one request as `flood` says; floods never return.
fn reply_to(
    conn: &mut impl ReadWrite,
    agent: &mut Agent<RamFlash>,
    req: &Request<'_>,
    flood: Flood,
) -> std::io::Result<()> {
    let hello = matches!(req, Request::Hello { .. });
    let list = matches!(req, Request::ListFiles { .. });
    match (flood, hello, list) {
        (Flood::OtherSession, _, _) if matches!(req, Request::Begin(_)) => send(
            conn,
            &Reply::Ready {
                session: 0xdead_beef,
            },
        ),
        (Flood::OtherSession, _, _) => {
            let mut out = Ok(());
            agent.handle(req, &mut |r| {
                if out.is_ok() {
                    out = send(conn, r);
                }
            });
            out
        }
        (Flood::ImpossibleInfo, true, _) => {
            let mut info = agent.info();
            info.free_sectors = info.sectors.saturating_mul(1 << 14);
            send(conn, &Reply::Info(info))
        }
        (Flood::DroppedEntry, false, true) => {
            // Reply::File (variant 1), index 0, then a path length of 2^32 in postcard's varint.
            send(conn, &[1u8, 0, 0x80, 0x80, 0x80, 0x80, 0x10, b'a', b'b'])?;
            send(conn, &Reply::ListEnd { total: 1 })
        }
        (Flood::DoneAfterList, false, true) => send(conn, &Reply::ListEnd { total: 0 }),
        (Flood::DoneAfterList, false, false) if matches!(req, Request::Layout { .. }) => send(
            conn,
            &Reply::LayoutEnd {
                base: 0,
                record: None,
                keys: None,
                original: None,
            },
        ),
        (_, true, _) if flood != Flood::DoneToAll => send(conn, &Reply::Info(agent.info())),
        (Flood::Files, false, true) => {
            for index in 0.. {
                let path = format!("f{index}.py");
                send(
                    conn,
                    &Reply::File {
                        index: index as u16,
                        path: &path,
                        size: 10,
                        sha1: [1; 20],
                        sha256: None,
                    },
                )?;
            }
            Ok(())
        }
        _ => loop {
            send(conn, &Reply::Done)?;
        },
    }
}

/// A byte stream both ways: a TCP connection, or a pty's master side.
pub trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn send(conn: &mut impl Write, r: &impl serde::Serialize) -> std::io::Result<()> {
    let mut scratch = [0u8; 1024];
    let mut frame = [0u8; 2048];
    let n = encode_frame(r, &mut scratch, &mut frame).unwrap();
    conn.write_all(&frame[..n])
}
