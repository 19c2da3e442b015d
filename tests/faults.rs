//! Link faults between ota and an agent: a relay in the test corrupts and
//! drops bytes and cuts connections mid-file; the agent process is killed
//! mid-push and restarted on its flash. Every run must end in success with
//! the right content, or a clean error with the old tree intact, and the
//! next push must finish the job.

mod util;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use util::*;

#[derive(Clone, Copy)]
struct Faults {
    seed: u64,
    /// One in `corrupt` forwarded reads gets a flipped byte (0: never).
    corrupt: u64,
    /// One in `drop` forwarded reads is dropped whole (0: never).
    drop: u64,
    /// Cut the first connection after this many bytes towards the agent (0: never).
    cut_after: u64,
}

/// A TCP relay with faults. `upstream` may change (the agent restarted elsewhere).
struct Relay {
    addr: String,
    upstream: Arc<Mutex<String>>,
    /// Bytes forwarded towards the agent so far.
    to_agent: Arc<AtomicU64>,
}

fn rng(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

impl Relay {
    fn start(upstream: &str, faults: Faults, milestone: Option<(u64, mpsc::Sender<()>)>) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("tcp:{}", listener.local_addr().unwrap());
        let upstream = Arc::new(Mutex::new(upstream.trim_start_matches("tcp:").to_string()));
        let to_agent = Arc::new(AtomicU64::new(0));
        let (up, count) = (upstream.clone(), to_agent.clone());
        let milestone = Arc::new(Mutex::new(milestone));
        std::thread::spawn(move || {
            for (n, client) in listener.incoming().enumerate() {
                let Ok(client) = client else { continue };
                let target = up.lock().unwrap().clone();
                let Ok(agent) = TcpStream::connect(&target) else {
                    continue;
                };
                let cut = if n == 0 { faults.cut_after } else { 0 };
                let seed = faults.seed + n as u64;
                let (c2, a2) = (client.try_clone().unwrap(), agent.try_clone().unwrap());
                let (count, milestone) = (count.clone(), milestone.clone());
                std::thread::spawn(move || {
                    pump(client, agent, faults, seed, cut, Some((count, milestone)))
                });
                std::thread::spawn(move || pump(a2, c2, faults, seed ^ 0xABCD, 0, None));
            }
        });
        Relay {
            addr,
            upstream,
            to_agent,
        }
    }
}

type Milestone = Arc<Mutex<Option<(u64, mpsc::Sender<()>)>>>;

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    f: Faults,
    mut seed: u64,
    cut: u64,
    count: Option<(Arc<AtomicU64>, Milestone)>,
) {
    let mut buf = [0u8; 512];
    let mut sent = 0u64;
    seed |= 1;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if f.drop > 0 && rng(&mut seed).is_multiple_of(f.drop) {
            continue;
        }
        if f.corrupt > 0 && rng(&mut seed).is_multiple_of(f.corrupt) {
            let i = (rng(&mut seed) as usize) % n;
            buf[i] ^= 0x5A;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        sent += n as u64;
        if let Some((total, milestone)) = &count {
            let t = total.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
            let mut m = milestone.lock().unwrap();
            if m.as_ref().is_some_and(|(at, _)| t >= *at) {
                let (_, tx) = m.take().unwrap();
                let _ = tx.send(());
            }
        }
        if cut > 0 && sent >= cut {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

fn fast_timeouts(dir: &std::path::Path) {
    std::fs::write(dir.join("ota_config.json"), r#"{"device_timeout_sec": 1}"#).unwrap();
}

/// Success with the new tree, or a clean error (exit 5) with the old tree; then a clean push finishes.
fn check_outcome(
    d: &std::path::Path,
    r: Run,
    sim_port: &str,
    old: &std::path::Path,
    new: &std::path::Path,
) -> bool {
    let on_device = device_files(d, sim_port);
    let ok = r.code == 0;
    if ok {
        assert_eq!(on_device, tree_of(new), "push said success: {}", r.stderr);
    } else {
        assert_eq!(r.code, 5, "a link failure is a device error: {}", r.stderr);
        assert!(r.stderr.contains("still on its old tree"), "{}", r.stderr);
        assert_eq!(on_device, tree_of(old), "failed push left a changed device");
        run(
            d,
            &[
                "--port",
                sim_port,
                "push",
                "--dir",
                "new",
                "--version",
                "v2",
            ],
        )
        .ok();
        assert_eq!(device_files(d, sim_port), tree_of(new));
    }
    ok
}

fn setup(d: &std::path::Path) -> Sim {
    make_tree(&d.join("old"), 6, 21);
    make_tree(&d.join("new"), 12, 22);
    write(&d.join("new"), "big.bin", &content(99, 200_000));
    fast_timeouts(d);
    let sim = Sim::tcp(d, "relay.img");
    run(
        d,
        &[
            "--port",
            &sim.port,
            "push",
            "--dir",
            "old",
            "--version",
            "v1",
        ],
    )
    .ok();
    sim
}

#[test]
fn corrupted_and_dropped_bytes_are_resent() {
    for seed in 1..=2u64 {
        let d = tempdir();
        let sim = setup(d.path());
        let relay = Relay::start(
            &sim.port,
            Faults {
                seed,
                corrupt: 50,
                drop: 80,
                cut_after: 0,
            },
            None,
        );
        let r = run(
            d.path(),
            &[
                "--port",
                &relay.addr,
                "--json",
                "push",
                "--dir",
                "new",
                "--version",
                "v2",
            ],
        );
        let succeeded = check_outcome(
            d.path(),
            r,
            &sim.port,
            &d.path().join("old"),
            &d.path().join("new"),
        );
        assert!(relay.to_agent.load(Ordering::SeqCst) > 200_000);
        eprintln!(
            "seed {seed}: {}",
            if succeeded {
                "pushed through the faults"
            } else {
                "clean error"
            }
        );
    }
}

#[test]
fn a_cut_link_mid_file_is_reconnected_and_resumed() {
    let d = tempdir();
    let sim = setup(d.path());
    let relay = Relay::start(
        &sim.port,
        Faults {
            seed: 5,
            corrupt: 0,
            drop: 0,
            cut_after: 100_000,
        },
        None,
    );
    let r = run(
        d.path(),
        &[
            "--port",
            &relay.addr,
            "--json",
            "push",
            "--dir",
            "new",
            "--version",
            "v2",
        ],
    )
    .ok();
    let doc = r.json();
    assert_eq!(doc["result"], "confirmed");
    assert!(doc["reconnects"].as_u64().unwrap() >= 1, "{doc}");
    assert_eq!(
        device_files(d.path(), &sim.port),
        tree_of(&d.path().join("new"))
    );
}

#[test]
fn killing_the_agent_mid_push_leaves_the_old_tree_and_the_next_push_finishes() {
    let d = tempdir();
    let mut sim = setup(d.path());
    let (tx, rx) = mpsc::channel();
    let relay = Relay::start(
        &sim.port,
        Faults {
            seed: 1,
            corrupt: 0,
            drop: 0,
            cut_after: 0,
        },
        Some((120_000, tx)),
    );
    let push = ota()
        .current_dir(d.path())
        .args([
            "--port",
            &relay.addr,
            "push",
            "--dir",
            "new",
            "--version",
            "v2",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Mid-file: the relay has forwarded 120 kB of the push.
    rx.recv().unwrap();
    sim.kill();
    let restarted = Sim::tcp(d.path(), "relay.img");
    *relay.upstream.lock().unwrap() = restarted.port.trim_start_matches("tcp:").to_string();
    let out = push.wait_with_output().unwrap();
    let r: Run = out.into();
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("still on its old tree"), "{}", r.stderr);
    assert_eq!(
        device_files(d.path(), &restarted.port),
        tree_of(&d.path().join("old"))
    );
    // A second push finishes the job.
    run(
        d.path(),
        &[
            "--port",
            &restarted.port,
            "push",
            "--dir",
            "new",
            "--version",
            "v2",
        ],
    )
    .ok();
    assert_eq!(
        device_files(d.path(), &restarted.port),
        tree_of(&d.path().join("new"))
    );
}
