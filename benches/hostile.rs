//! `cargo bench --bench hostile`: ota's peak memory (the child's maximum
//! resident set, from wait4) and time against boards that flood: MicroPython
//! boards on a pty that flood or trickle after the raw-paste request, answer
//! the probe with a 200 MB line, or send garbage once the agent runs; agents that flood
//! with Done frames or an endless file list; and, for reference, an honest
//! simulated agent. The device timeout is 2 s; every figure is measured here.

#[path = "../tests/util/mod.rs"]
mod util;

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::hostile_device::{serve_pty, Flood};
use util::hostile_repl::{self, Misbehaviour};

struct Measured {
    code: i32,
    took: Duration,
    max_rss_kib: i64,
    last_line: String,
}

/// Runs ota with `args` in `dir` and waits for it with wait4, for its rusage.
// The child is waited for by wait4, which std does not know of.
#[allow(clippy::zombie_processes)]
fn measure(dir: &std::path::Path, args: &[&str]) -> Measured {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ota"))
        .args(args)
        .current_dir(dir)
        .env_remove("OTA_PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ota starts");
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is this process's own child, not yet waited for.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4 for ota");
    let status = std::process::ExitStatus::from_raw(status);
    Measured {
        code: status.code().unwrap_or(-1),
        took: started.elapsed(),
        max_rss_kib: usage.ru_maxrss,
        last_line: stderr
            .lines()
            .last()
            .unwrap_or("")
            .chars()
            .take(110)
            .collect(),
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("ota_config.json"), br#"{"device_timeout_sec": 2}"#).unwrap();
    std::fs::create_dir_all(d.join("app")).unwrap();
    std::fs::write(d.join("app/main.py"), b"print(1)\n").unwrap();

    let honest = util::Sim::tcp(d, "flash.img");
    let mut rows: Vec<(&str, Measured)> = vec![(
        "honest simulated agent, status",
        measure(d, &["--port", &honest.port, "status"]),
    )];
    let repl: [(&str, Misbehaviour, &str); 4] = [
        (
            "MicroPython: flood after the paste request",
            Misbehaviour::FloodAfterPaste,
            "status",
        ),
        (
            "MicroPython: a byte every 10 ms after it",
            Misbehaviour::TrickleAfterPaste,
            "status",
        ),
        (
            "MicroPython: a 200 MB probe answer",
            Misbehaviour::LongProbeLine,
            "ls",
        ),
        (
            "MicroPython: garbage after the agent started",
            Misbehaviour::GarbageAfterReady,
            "status",
        ),
    ];
    for (name, how, cmd) in repl {
        let port = hostile_repl::serve(how);
        rows.push((name, measure(d, &["--port", &port, cmd])));
    }
    let agents: [(&str, Flood, &[&str]); 2] = [
        ("agent: endless Done frames", Flood::DoneToAll, &["status"]),
        ("agent: an endless file list", Flood::Files, &["ls"]),
    ];
    for (name, flood, cmd) in agents {
        let port = serve_pty(flood);
        let args: Vec<&str> = ["--port", port.as_str()]
            .into_iter()
            .chain(cmd.iter().copied())
            .collect();
        rows.push((name, measure(d, &args)));
    }

    println!(
        "{:<48} {:>4} {:>8} {:>12}",
        "board", "exit", "time", "peak RSS"
    );
    for (name, m) in &rows {
        println!(
            "{name:<48} {:>4} {:>7.2}s {:>8.1} MiB   {}",
            m.code,
            m.took.as_secs_f64(),
            m.max_rss_kib as f64 / 1024.0,
            m.last_line
        );
    }
}
