//! Runs every file of each host fuzz corpus (`tests/fuzz/corpus/<target>/`) once
//! through its target's checks, so what fuzzing found stays fixed.
//! `OTA_UPDATE_CORPUS=1 cargo test --test fuzz_corpus` writes the seeds.

#[path = "fuzz/fuzz_targets/checks.rs"]
mod checks;
#[path = "util/elf.rs"]
#[allow(dead_code)]
mod elf;

use std::path::{Path, PathBuf};

use ota_agent::ram_flash::RamFlash;
use ota_agent::{Agent, AgentConfig};
use ota_protocol::{encode_frame, Reply};
use sha1::Digest;

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 4] = [
    ("frames", checks::frames),
    ("manifest", checks::manifest),
    ("staged", checks::staged),
    ("elf", checks::elf),
];

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target)
}

fn frame(r: &Reply<'_>) -> Vec<u8> {
    let (mut scratch, mut out) = ([0u8; 1024], [0u8; 2048]);
    let n = encode_frame(r, &mut scratch, &mut out).unwrap();
    out[..n].to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Seeds: well-formed inputs and near misses, by target.
fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let (agent, _) = Agent::boot(
        RamFlash::new(64 * 4096),
        0,
        64,
        AgentConfig {
            agent_version: "seed",
            device_id: [1; 8],
            max_chunk: 1024,
            app: ota_protocol::AppSlot::Empty,
            boot_id: 1,
        },
    )
    .unwrap();
    let info = frame(&Reply::Info(agent.info()));
    let file = |i: u16, p: &str| {
        frame(&Reply::File {
            index: i,
            path: p,
            size: 9,
            sha1: [7; 20],
            sha256: None,
        })
    };
    let listing = [
        info.clone(),
        file(0, "main.py"),
        file(1, "lib/util.py"),
        frame(&Reply::ListEnd { total: 2 }),
    ]
    .concat();
    let blob = |b: &[u8]| {
        let mut h = sha1::Sha1::new();
        h.update(format!("blob {}\0", b.len()));
        h.update(b);
        hex(&h.finalize())
    };
    let sha256 = |b: &[u8]| hex(&sha2::Sha256::digest(b));
    let staged = serde_json::json!({"version": "v1", "ref": "v1", "commit": "c",
        "files": [
            {"path": "main.py", "size": 9, "sha1": blob(b"print(1)\n"), "sha256": sha256(b"print(1)\n")},
            {"path": "lib/util.py", "size": 6, "sha1": blob(b"x = 1\n"), "sha256": sha256(b"x = 1\n")}
        ]})
    .to_string()
    .into_bytes();
    let outside = String::from_utf8(staged.clone())
        .unwrap()
        .replace("lib/util.py", "../outside.py")
        .into_bytes();
    let seed_manifest = br#"{"version": "v1.0.0", "files": [{"path": "lib/util.py", "sha256": "aa00000000000000000000000000000000000000000000000000000000000011", "size": 12}], "post_update": "hooks/post.py"}"#.to_vec();
    let app = elf::application(&[0x5A; 64]);
    let mut past_end = app.clone();
    past_end[52 + 16..52 + 20].copy_from_slice(&u32::MAX.to_le_bytes()); // p_filesz
    vec![
        ("frames", "info", info.clone()),
        ("frames", "listing", listing),
        ("frames", "garbage", b"\x00\x01\x02\xff\x00hello\x00".to_vec()),
        ("frames", "done-flood", [info, frame(&Reply::Done).repeat(80)].concat()),
        ("manifest", "staged", staged.clone()),
        ("manifest", "seed", seed_manifest),
        ("manifest", "conflict", br#"{"version":"v","files":[{"path":"lib","size":1,"sha256":"00"},{"path":"LIB/x","size":1,"sha256":"00"}]}"#.to_vec()),
        ("staged", "valid", staged),
        ("staged", "outside", outside),
        ("staged", "empty", Vec::new()),
        ("elf", "application", app.clone()),
        ("elf", "linked-for-the-agent", elf::linked_for_the_agent()),
        ("elf", "truncated", app[..60].to_vec()),
        ("elf", "segment-past-the-end", past_end),
    ]
}

#[test]
fn every_corpus_file_passes_its_target_once() {
    if std::env::var_os("OTA_UPDATE_CORPUS").is_some() {
        for (target, name, bytes) in seeds() {
            std::fs::create_dir_all(corpus(target)).unwrap();
            std::fs::write(corpus(target).join(format!("seed-{name}")), bytes).unwrap();
        }
    }
    for (target, check) in TARGETS {
        let mut n = 0;
        for e in std::fs::read_dir(corpus(target)).unwrap() {
            let path = e.unwrap().path();
            check(&std::fs::read(&path).unwrap());
            n += 1;
        }
        assert!(n > 0, "the {target} corpus is empty");
    }
}
