//! Fuzzes the agent's session handler with arbitrary bytes on the wire: both
//! as raw framed input and as well-formed frames of arbitrary requests. The
//! agent must never panic, and whatever happens the store must reopen.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ota_agent::ram_flash::RamFlash;
use ota_agent::{link_buffer_for, Agent, AgentConfig, AgentLink, Store};

const SECTORS: u32 = 24;
const N: usize = link_buffer_for(1024);
const CONFIG: AgentConfig = AgentConfig { agent_version: "fuzz", device_id: [0; 8], max_chunk: 1024, app: ota_protocol::AppSlot::Empty, boot_id: 1 };

fuzz_target!(|data: &[u8]| {
    let flash = RamFlash::new((SECTORS * 4096) as usize);
    let Ok((mut agent, _)) = Agent::boot(flash, 0, SECTORS, CONFIG) else { return };
    let mut link = AgentLink::<N>::new();
    let mut sink = |_: &[u8]| {};
    // First half: raw bytes. Second half: each 0-separated piece as a frame body.
    let (raw, bodies) = data.split_at(data.len() / 2);
    link.receive(&mut agent, raw, &mut sink);
    let mut scratch = vec![0u8; 4096];
    let mut out = vec![0u8; 4200];
    for body in bodies.split(|&b| b == 0) {
        if let Some(req) = ota_protocol::decode_request(body) {
            if let Ok(n) = ota_protocol::encode_frame(&req, &mut scratch, &mut out) {
                link.receive(&mut agent, &out[..n], &mut sink);
            }
        }
    }
    let flash = agent.into_store().into_flash();
    Store::open(flash, 0, SECTORS).expect("the store reopens after any session");
});
