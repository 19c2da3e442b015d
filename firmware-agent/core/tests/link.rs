//! The agent behind its framing, as the board and the simulator run it:
//! bytes in any split, garbage on the line, replies as frames.

mod common;

use common::*;
use ota_agent::ram_flash::RamFlash;
use ota_agent::{link_buffer_for, Action, Agent, AgentLink};
use ota_protocol::{decode_reply, encode_frame, Begin, Decoder, Reply, Request};

const N: usize = link_buffer_for(1024);

fn frame(r: &Request<'_>) -> Vec<u8> {
    let mut scratch = vec![0u8; 2048];
    let mut out = vec![0u8; 2200];
    let n = encode_frame(r, &mut scratch, &mut out).unwrap();
    out[..n].to_vec()
}

fn replies(bytes: &[u8]) -> Vec<String> {
    let mut d = Decoder::<1024>::new();
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (n, f) = d.feed(rest);
        if let Some(f) = f {
            out.push(match decode_reply(f).unwrap() {
                Reply::Info(i) => format!("Info {}", i.agent_version),
                other => format!("{other:?}"),
            });
        }
        rest = &rest[n..];
    }
    out
}

#[test]
fn a_whole_update_byte_by_byte_with_noise() {
    let mut agent = fresh(64);
    let mut link = AgentLink::<N>::new();
    assert_eq!(AgentLink::<N>::max_chunk(), 1024);
    let data = content(3, 3000);
    let mut wire = b"boot log line\r\n>>> ".to_vec();
    wire.extend(frame(&Request::Hello { major: 1, minor: 0 }));
    wire.extend(frame(&Request::Begin(Begin {
        session: 9,
        entries: 1,
        total_bytes: 3000,
        version: "v1",
        git_ref: "main",
        commit: "c0ffee",
        post_update: None,
        rollback: None,
        signature: None,
        trial_timeout_sec: 0,
    })));
    wire.extend(frame(&file_entry(0, "main.py", &data)));
    for (i, c) in data.chunks(1024).enumerate() {
        wire.extend(frame(&data_at(0, (i * 1024) as u32, c)));
        wire.extend(b"\x13noise");
    }
    wire.extend(frame(&Request::Commit { boots: 0 }));
    wire.extend(frame(&Request::Reboot));
    wire.extend(frame(&Request::Confirm));

    let mut out = Vec::new();
    let mut action = Action::None;
    for b in &wire {
        let (_, a) = link.receive(&mut agent, std::slice::from_ref(b), &mut |f| {
            out.extend_from_slice(f)
        });
        if a == Action::Reboot {
            action = a;
            break;
        }
    }
    assert_eq!(action, Action::Reboot);
    assert_eq!(
        replies(&out),
        [
            "Info test",
            "Ready { session: 9 }",
            "Need { index: 0, need: true }",
            "Ack { entry: 0, offset: 1024 }",
            "Ack { entry: 0, offset: 2048 }",
            "Ack { entry: 0, offset: 3000 }",
            "FileDone { entry: 0 }",
            "Committed { boots: 0 }",
            "Done",
        ]
    );
    assert!(
        link.stats().dropped >= 1,
        "the boot log and the noise were dropped, not fatal"
    );
}

#[test]
fn a_frame_that_is_not_a_request_is_answered_with_an_error() {
    let mut agent = fresh(16);
    let mut link = AgentLink::<N>::new();
    let mut scratch = [0u8; 64];
    let mut wire = [0u8; 80];
    let n = encode_frame(&(250u8, 1u8), &mut scratch, &mut wire).unwrap();
    let mut out = Vec::new();
    link.receive(&mut agent, &wire[..n], &mut |f| out.extend_from_slice(f));
    assert_eq!(replies(&out).len(), 1);
    assert!(replies(&out)[0].contains("Malformed"));
}

/// The figure the note quotes: the agent's RAM for a 1 KiB chunk, all static.
#[test]
fn static_ram_for_a_1k_chunk() {
    let agent = std::mem::size_of::<Agent<RamFlash>>() - std::mem::size_of::<RamFlash>();
    let link = std::mem::size_of::<AgentLink<N>>();
    println!(
        "agent RAM: agent state {agent} B + link buffers {link} B = {} B (1 KiB chunk)",
        agent + link
    );
    assert!(agent + link < 16 * 1024);
}
