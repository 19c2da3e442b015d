//! A broken or hostile agent on a TCP port: it speaks valid frames, but
//! floods the host with answers nobody asked for. The host must end every
//! exchange by its own deadline and cap what it keeps by the device's Info.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

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
}

/// Serves on 127.0.0.1; returns the `tcp:` port to give ota.
pub fn serve(flood: Flood) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = format!("tcp:{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            std::thread::spawn(move || {
                let _ = answer(conn, flood);
            });
        }
    });
    port
}

fn answer(mut conn: TcpStream, flood: Flood) -> std::io::Result<()> {
    let (agent, _) = Agent::boot(
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
            let hello = matches!(decode_request(body), Some(Request::Hello { .. }));
            let list = matches!(decode_request(body), Some(Request::ListFiles { .. }));
            let layout = matches!(decode_request(body), Some(Request::Layout { .. }));
            match (flood, hello, list) {
                (Flood::DoneAfterList, false, true) => {
                    send(&mut conn, &Reply::ListEnd { total: 0 })?
                }
                (Flood::DoneAfterList, false, false) if layout => send(
                    &mut conn,
                    &Reply::LayoutEnd {
                        base: 0,
                        record: None,
                        keys: None,
                        original: None,
                    },
                )?,
                (_, true, _) if flood != Flood::DoneToAll => {
                    send(&mut conn, &Reply::Info(agent.info()))?
                }
                (Flood::Files, false, true) => {
                    for index in 0.. {
                        let path = format!("f{index}.py");
                        send(
                            &mut conn,
                            &Reply::File {
                                index: index as u16,
                                path: &path,
                                size: 10,
                                sha1: [1; 20],
                                sha256: None,
                            },
                        )?;
                    }
                }
                _ => loop {
                    send(&mut conn, &Reply::Done)?;
                },
            }
        }
    }
}

fn send(conn: &mut TcpStream, r: &Reply<'_>) -> std::io::Result<()> {
    let mut scratch = [0u8; 1024];
    let mut frame = [0u8; 2048];
    let n = encode_frame(r, &mut scratch, &mut frame).unwrap();
    conn.write_all(&frame[..n])
}
