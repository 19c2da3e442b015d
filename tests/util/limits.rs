//! Runs `ota` as a child with a memory limit (setrlimit through `prlimit`),
//! so that a test asserts a memory bound, never a timing.

use std::path::Path;
use std::process::{Command, Stdio};

use super::Run;

/// The most a hostile input may cost ota, in address space actually
/// written (RLIMIT_DATA): far above an honest run, far below a runaway one.
pub const MEMORY_LIMIT: u64 = 256 * 1024 * 1024;

/// Runs `ota` in `cwd` with `args` under [`MEMORY_LIMIT`].
pub fn run_limited(cwd: &Path, args: &[&str]) -> Run {
    run_limited_env(cwd, args, &[])
}

/// [`run_limited`] with more environment variables.
pub fn run_limited_env(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Run {
    Command::new("prlimit")
        .envs(env.iter().map(|(k, v)| (k, v.as_os_str())))
        .arg(format!("--data={MEMORY_LIMIT}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_ota"))
        .args(args)
        .current_dir(cwd)
        .env_remove("OTA_PORT")
        .env_remove("GITHUB_TOKEN")
        // Few malloc arenas: the limit then measures what ota uses.
        .env("MALLOC_ARENA_MAX", "2")
        .stdin(Stdio::null())
        .output()
        .expect("prlimit runs ota")
        .into()
}

/// A process killed for exceeding its limit ends with a signal or an
/// allocation failure (abort), never with one of ota's exit codes.
pub fn assert_clean_exit(r: &Run, code: i32, message: &str) {
    assert_eq!(
        r.code, code,
        "exit code; stdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    assert!(
        r.stderr.contains(message),
        "stderr lacks {message:?}:\n{}",
        r.stderr
    );
}
