//! The Python peers of the network-port tests (pyserial, labgrid), run from
//! venvs under target/ that `.ci/python-peers` makes: finding them (a test
//! skips, saying why, when its venv is absent) and running their scripts
//! from tests/peers/.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// The Python of `target/<venv>`, or `None` (with the reason printed) when
/// the venv has not been made.
pub fn venv(venv: &str, test: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("target").join(venv).join("bin/python");
    if python.is_file() {
        return Some(python);
    }
    eprintln!(
        "skipped {test}: target/{venv} is absent; make it with .ci/python-peers (needs PyPI)"
    );
    None
}

pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}

/// A long-running peer process, killed when dropped.
pub struct Peer {
    pub child: Child,
    pub out: BufReader<ChildStdout>,
}

impl Peer {
    /// Starts `python script args...` in `cwd`, with `ota` on PATH.
    pub fn start(python: &Path, cwd: &Path, script_name: &str, args: &[&str]) -> Peer {
        let mut child = command(python, cwd, script_name, args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the peer starts");
        let out = BufReader::new(child.stdout.take().unwrap());
        Peer { child, out }
    }

    /// The next line the peer printed (an event: it is ready, or done).
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "the peer ended without a word");
        line.trim().to_string()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `python script args...` in `cwd`, with the `ota` under test first on PATH.
pub fn command(python: &Path, cwd: &Path, script_name: &str, args: &[&str]) -> Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_ota")).parent().unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin.to_path_buf()];
    paths.extend(std::env::split_paths(&path));
    let mut c = Command::new(python);
    c.current_dir(cwd)
        .arg(script(script_name))
        .args(args)
        .env("PATH", std::env::join_paths(paths).unwrap())
        .env_remove("OTA_PORT")
        .stdin(Stdio::null());
    c
}
