//! `cargo bench --bench remote`: boards on other machines. An unchanged
//! 50-file push through a one-connection TCP forwarder (`tcp:` is one plain
//! connection, so it needs one), beside the same push straight to the
//! socket and over `rfc2217://` (which touches first). The agent is `ota
//! agent sim --listen`; every push is the `ota` binary, wall time measured
//! from spawn to exit. Measures, never asserts.
//!
//! The labgrid run's figure is `benches/labgrid.sh`.

#[allow(dead_code)]
#[path = "../tests/util/relay.rs"]
mod relay;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use relay::{Faults, Relay};

const RUNS: usize = 7;

fn main() {
    if let Err(e) = run() {
        eprintln!("bench failed: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let work = tempfile::Builder::new()
        .prefix("ota-bench-remote-")
        .tempdir()?;
    let w = work.path();
    tree(&w.join("tree"), 50)?;
    let mut sim = Sim::start(w)?;
    let relay = Relay::start(
        &sim.1,
        Faults {
            single: true,
            ..Faults::default()
        },
        None,
    );
    println!("# ota over the network\n");
    println!("A 50-file tree (1 MiB) already on `ota agent sim --listen`; `ota --port P push --dir tree --no-reboot`, {RUNS} runs each.\n");
    let first = push(w, &relay.addr, &[])?;
    println!(
        "First push through the forwarder (sends the tree): {:.3} s, {} connections\n",
        first.as_secs_f64(),
        relay.connections.load(Ordering::SeqCst)
    );
    println!("| port | median | min | max | connections per push |");
    println!("|---|---|---|---|---|");
    let rfc = sim.1.replace("tcp:", "rfc2217://");
    for (what, port) in [
        (
            "tcp: through a one-connection forwarder",
            relay.addr.as_str(),
        ),
        ("tcp: straight to the agent", sim.1.as_str()),
        ("rfc2217:// straight to the agent", rfc.as_str()),
    ] {
        let before = relay.connections.load(Ordering::SeqCst);
        let mut times = Vec::new();
        for _ in 0..RUNS {
            times.push(push(w, port, &["--no-reboot"])?);
        }
        let through = relay.connections.load(Ordering::SeqCst) - before;
        times.sort();
        let per_push = match port == relay.addr {
            true => format!("{}", through as f64 / RUNS as f64),
            false => "-".into(),
        };
        println!(
            "| {what} | {:.3} s | {:.3} s | {:.3} s | {per_push} |",
            times[RUNS / 2].as_secs_f64(),
            times[0].as_secs_f64(),
            times[RUNS - 1].as_secs_f64()
        );
    }
    sim.0.kill()?;
    Ok(())
}

/// One `ota push` of the tree to `port`: its wall time; an error unless it
/// ended confirmed or up to date.
fn push(w: &Path, port: &str, extra: &[&str]) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_ota"))
        .current_dir(w)
        .args([
            "--port",
            port,
            "--json",
            "push",
            "--dir",
            "tree",
            "--version",
            "v1",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .output()?;
    let took = t.elapsed();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    match doc["result"].as_str() {
        Some("confirmed" | "up-to-date") => Ok(took),
        _ => anyhow::bail!("push to {port}: {doc}"),
    }
}

/// `ota agent sim --listen 127.0.0.1:0` and the port it announced.
struct Sim(Child, String);

impl Sim {
    fn start(w: &Path) -> anyhow::Result<Sim> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ota"))
            .current_dir(w)
            .args([
                "agent",
                "sim",
                "--flash",
                "remote.img",
                "--listen",
                "127.0.0.1:0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line)?;
        Ok(Sim(child, line.trim().to_string()))
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `n` files of 1 to 40 KiB, about 1 MiB in all, mostly text.
fn tree(dir: &Path, n: usize) -> anyhow::Result<()> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..n {
        let path = dir.join(format!("lib/part_{i:02}.py"));
        std::fs::create_dir_all(path.parent().unwrap())?;
        let len = 1024 + (i * 797) % (40 * 1024);
        let body: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b"abcdefghij klmnop\n=()"[(x % 21) as usize]
            })
            .collect();
        std::fs::write(path, body)?;
    }
    Ok(())
}
