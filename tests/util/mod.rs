//! Shared helpers for the end-to-end tests: run the real `ota` binary, make
//! trees of files, and serve simulated agents as child processes.
#![allow(dead_code)]

pub mod elf;
pub mod hostile_device;
pub mod hostile_repl;
pub mod limits;
pub mod mpy_board;
pub mod peers;
pub mod relay;
pub mod soak;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub fn ota() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ota"));
    c.env_remove("OTA_PORT").env_remove("GITHUB_TOKEN");
    // Never the user's cache; a test that counts cache hits sets its own.
    c.env(
        "OTA_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("ota-cache"),
    );
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "ota failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `ota` in `cwd` with `args`.
pub fn run(cwd: &Path, args: &[&str]) -> Run {
    ota_in(cwd).args(args).run()
}

/// One run of `ota` being put together: the folder it runs in, the devices
/// it talks to, its arguments and environment; stdin is closed.
///
/// `ota_in(d).port("sim:p.img").args(&["push", "--dir", "app"]).ok()`
pub struct Ota {
    cmd: Command,
}

/// `ota`, to be run in `cwd`.
pub fn ota_in(cwd: &Path) -> Ota {
    let mut cmd = ota();
    cmd.current_dir(cwd).stdin(Stdio::null());
    Ota { cmd }
}

impl Ota {
    /// `--port PORT`; called again for each further device.
    pub fn port(mut self, port: &str) -> Ota {
        self.cmd.args(["--port", port]);
        self
    }

    /// `--port` for each of `ports`.
    pub fn ports<S: AsRef<str>>(self, ports: &[S]) -> Ota {
        ports.iter().fold(self, |o, p| o.port(p.as_ref()))
    }

    pub fn args(mut self, args: &[&str]) -> Ota {
        self.cmd.args(args);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Ota {
        self.cmd.arg(arg);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Ota {
        self.cmd.env(key, value);
        self
    }

    /// Runs it to the end, whatever its exit code.
    pub fn run(mut self) -> Run {
        self.cmd.output().expect("ota runs").into()
    }

    /// Runs it, and asserts that it succeeded.
    pub fn ok(self) -> Run {
        self.run().ok()
    }

    /// Runs it with `--json`, asserts that it succeeded, and gives its document.
    pub fn json(self) -> serde_json::Value {
        self.arg("--json").ok().json()
    }

    /// The command as built, to spawn it (a run that is stopped or followed while it runs).
    pub fn command(self) -> Command {
        self.cmd
    }
}

/// Deterministic bytes.
pub fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Writes `n` files of mixed sizes under `dir` (text-like and binary, some nested).
pub fn make_tree(dir: &Path, n: usize, seed: u64) {
    for i in 0..n {
        let rel = match i % 3 {
            0 => format!("app_{i:03}.py"),
            1 => format!("lib/mod_{i:03}.py"),
            _ => format!("assets/img/blob_{i:03}.bin"),
        };
        let size = 100 + (i * 977 + seed as usize * 31) % 6000;
        write(dir, &rel, &content(seed * 1000 + i as u64, size));
    }
}

pub fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// `ota ls --long --json` as (path, sha1) pairs.
pub fn device_files(cwd: &Path, port: &str) -> Vec<(String, String)> {
    let doc = ota_in(cwd)
        .port(port)
        .args(&["--json", "ls", "--long"])
        .ok()
        .json();
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["sha1"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The (path, Git blob SHA-1) pairs of a folder, sorted, as the device should hold them.
pub fn tree_of(dir: &Path) -> Vec<(String, String)> {
    use sha1::Digest;
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                let mut h = sha1::Sha1::new();
                h.update(format!("blob {}\0", bytes.len()));
                h.update(&bytes);
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .replace('\\', "/");
                out.push((
                    rel,
                    h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
                ));
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

pub fn status(cwd: &Path, port: &str) -> serde_json::Value {
    ota_in(cwd)
        .port(port)
        .args(&["--json", "status"])
        .ok()
        .json()["device"]
        .clone()
}

/// `ota agent sim` as a child process; killed when dropped.
pub struct Sim {
    pub child: Child,
    /// What it printed as its address: a pty path or tcp:HOST:PORT.
    pub port: String,
}

impl Sim {
    pub fn start(cwd: &Path, flash: &str, how: &[&str]) -> Sim {
        let mut child = ota()
            .current_dir(cwd)
            .args(["agent", "sim", "--flash", flash])
            .args(how)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ota agent sim starts");
        // Wait for the announcement (an event, not a guess).
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().to_string();
        assert!(!port.is_empty(), "ota agent sim announced nothing");
        Sim { child, port }
    }

    pub fn tcp(cwd: &Path, flash: &str) -> Sim {
        Sim::start(cwd, flash, &["--listen", "127.0.0.1:0"])
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn path(p: &Path) -> PathBuf {
    p.to_path_buf()
}
