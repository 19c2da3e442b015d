//! The soak: many updates (full, delta, rename, rollback) pushed through a
//! relay that flips bits, drops reads, cuts the link, or has the agent
//! killed at a random point. After each, the device must hold exactly the
//! old tree or the new one, and ota must have ended in success (then with
//! the new tree) or a clean error. Shared by the test suite (50 updates)
//! and `cargo bench --bench soak` (1,000).

use std::path::Path;
use std::sync::mpsc;

use super::relay::{Faults, Relay};
use super::*;

/// What a soak saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub pushes: u32,
    pub faults_injected: u32,
    pub successes: u32,
    pub clean_failures: u32,
    /// Anything else: a wrong tree, a mixed tree, a crash, an unclean message.
    pub anything_else: u32,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pushes {}, faults injected {}, successes {}, clean failures {}, anything else {}",
            self.pushes,
            self.faults_injected,
            self.successes,
            self.clean_failures,
            self.anything_else
        )
    }
}

type Files = Vec<(String, Vec<u8>)>;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Full,
    Delta,
    Rename,
    Rollback,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    Noise,
    Cut,
    Kill,
}

fn random_files(rng: &mut Rng, n: usize) -> Files {
    (0..n)
        .map(|i| {
            let size = 50 + rng.below(8_000) as usize;
            (
                format!("lib/m{i:02}_{}.py", rng.below(1000)),
                content(rng.below(1 << 40), size),
            )
        })
        .collect()
}

fn next_tree(rng: &mut Rng, kind: Kind, now: &Files) -> Files {
    let mut t = now.clone();
    match kind {
        Kind::Full | Kind::Rollback => {
            let n = 3 + rng.below(8) as usize;
            return random_files(rng, n);
        }
        Kind::Delta => {
            let i = rng.below(t.len() as u64) as usize;
            t[i].1 = content(rng.below(1 << 40), 50 + rng.below(12_000) as usize);
        }
        Kind::Rename => {
            let i = rng.below(t.len() as u64) as usize;
            t[i].0 = format!("renamed/r{}_{i}.py", rng.below(1_000_000));
        }
    }
    t.sort();
    t.dedup_by(|a, b| a.0 == b.0);
    t
}

fn pairs(files: &Files) -> Vec<(String, String)> {
    let dir = tempdir();
    for (p, b) in files {
        write(dir.path(), p, b);
    }
    tree_of(dir.path())
}

/// Runs `updates` updates from `seed` in `work`; returns what it saw.
pub fn soak(
    work: &Path,
    updates: u32,
    seed: u64,
    mut progress: impl FnMut(u32, &Counts),
) -> Counts {
    let mut rng = Rng(seed | 1);
    std::fs::write(work.join("ota_config.json"), r#"{"device_timeout_sec": 1}"#).unwrap();
    let mut sim = Sim::tcp(work, "soak.img");
    let mut counts = Counts::default();
    let (mut now, mut before): (Files, Option<Files>) = (random_files(&mut rng, 6), None);
    // The active tree was left in trial (its Reboot lost, say): a push over
    // it keeps the confirmed tree before it to fall back to, which this
    // model does not hold, so no rollback is tried until a confirmed push.
    let mut in_trial = false;
    push_dir(work, &sim.port, &now, "v0").ok();
    for n in 1..=updates {
        let kind = match rng.below(10) {
            0..=2 => Kind::Full,
            3..=5 => Kind::Delta,
            6..=7 => Kind::Rename,
            _ if before.is_some() => Kind::Rollback,
            _ => Kind::Delta,
        };
        let fault = [
            Fault::None,
            Fault::Noise,
            Fault::Noise,
            Fault::Cut,
            Fault::Kill,
        ][rng.below(5) as usize];
        let target = match kind {
            Kind::Rollback => before.clone().unwrap_or_default(),
            _ => next_tree(&mut rng, kind, &now),
        };
        let bytes: u64 = target.iter().map(|f| f.1.len() as u64).sum();
        let mut faults = Faults {
            seed: seed ^ n as u64,
            ..Faults::default()
        };
        let (tx, rx) = mpsc::channel();
        let mut milestone = None;
        match fault {
            Fault::None => {}
            Fault::Noise => (faults.corrupt, faults.drop) = (150, 200),
            Fault::Cut => faults.cut_after = 200 + rng.below(bytes.max(400)),
            Fault::Kill => milestone = Some((100 + rng.below(bytes.max(200)), tx)),
        }
        counts.faults_injected += matches!(fault, Fault::Noise | Fault::Cut) as u32;
        let relay = Relay::start(&sim.port, faults, milestone);
        let version = format!("v{n}");
        let child = spawn_update(work, &relay.addr, kind, &target, &version);
        // Whichever comes first: the relay passed the kill point, or ota ended.
        let events = mpsc::channel::<Option<Run>>();
        let tx_exit = events.0.clone();
        std::thread::spawn(move || {
            let _ = tx_exit.send(Some(child.wait_with_output().unwrap().into()));
        });
        let tx_kill = events.0;
        std::thread::spawn(move || {
            if rx.recv().is_ok() {
                let _ = tx_kill.send(None);
            }
        });
        let r = match events.1.recv().unwrap() {
            Some(r) => r,
            None => {
                // The agent dies mid-update, and comes back on its flash.
                counts.faults_injected += 1;
                sim.kill();
                sim = Sim::tcp(work, "soak.img");
                *relay.upstream.lock().unwrap() = sim.port.trim_start_matches("tcp:").to_string();
                loop {
                    if let Some(r) = events.1.recv().unwrap() {
                        break r;
                    }
                }
            }
        };
        counts.pushes += 1;
        let on_device = files_when_free(work, &sim.port);
        let (old, new) = (pairs(&now), pairs(&target));
        let holds_new = on_device == new;
        let last = r.stderr.lines().last().unwrap_or("");
        let clean = r.code == 0 && holds_new
            || matches!(r.code, 4..=6)
                && last.starts_with("ota: error: ")
                && !r.stderr.contains("panicked")
                && (holds_new || on_device == old);
        if !clean {
            counts.anything_else += 1;
            eprintln!(
                "update {n} ({kind:?}, {fault:?}): exit {}, device holds {}:\n{}",
                r.code,
                if holds_new {
                    "the new tree"
                } else if on_device == old {
                    "the old tree"
                } else {
                    "neither tree"
                },
                r.stderr
            );
        } else if r.code == 0 {
            counts.successes += 1;
        } else {
            counts.clean_failures += 1;
        }
        if holds_new {
            let was = std::mem::replace(&mut now, target);
            before = (!in_trial).then_some(was);
            in_trial = r.code != 0;
        } else if on_device != old {
            // Unknown state: start again from what is there, by a clean push.
            push_dir(work, &sim.port, &now, &format!("v{n}-again")).ok();
        }
        progress(n, &counts);
    }
    counts
}

/// The device's files, once the relay has let go of it: the agent serves
/// one host at a time, and the relay's side closes just after ota's.
fn files_when_free(work: &Path, port: &str) -> Vec<(String, String)> {
    for _ in 0..500 {
        let r = run(work, &["--port", port, "--json", "ls", "--long"]);
        if r.code == 0 {
            let doc = r.json();
            let files = doc["files"].as_array().unwrap().iter();
            return files
                .map(|f| {
                    (
                        f["path"].as_str().unwrap().into(),
                        f["sha1"].as_str().unwrap().into(),
                    )
                })
                .collect();
        }
        assert!(r.stdout.contains("port busy"), "{}", r.stderr);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{port} stayed busy");
}

fn push_dir(work: &Path, port: &str, files: &Files, version: &str) -> Run {
    let dir = work.join(format!("tree-{version}"));
    let _ = std::fs::remove_dir_all(&dir);
    for (p, b) in files {
        write(&dir, p, b);
    }
    run(
        work,
        &[
            "--port",
            port,
            "push",
            "--dir",
            dir.to_str().unwrap(),
            "--version",
            version,
        ],
    )
}

fn spawn_update(
    work: &Path,
    port: &str,
    kind: Kind,
    target: &Files,
    version: &str,
) -> std::process::Child {
    let mut c = ota();
    c.current_dir(work)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    if matches!(kind, Kind::Rollback) {
        c.args(["--port", port, "rollback"]);
    } else {
        let dir = work.join(format!("tree-{version}"));
        let _ = std::fs::remove_dir_all(&dir);
        for (p, b) in target {
            write(&dir, p, b);
        }
        c.args([
            "--port",
            port,
            "push",
            "--dir",
            dir.to_str().unwrap(),
            "--version",
            version,
        ]);
    }
    c.spawn().unwrap()
}
