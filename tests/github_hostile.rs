//! A hostile GitHub: bodies that never end, drip or never come, declared
//! sizes no device holds, trees too large, paths no host can write, control
//! characters in what it names. Each case ends with its exit code and a
//! message naming the host or the file, within a memory limit, with nothing
//! written to the stage folder or left in the cache.

#[path = "util/fake_github.rs"]
mod fake_github;
mod util;

use std::path::Path;

use fake_github::{git, FakeGithub, Faults, Hostile, Hostility};
use util::limits::{run_limited_env, MEMORY_LIMIT};
use util::*;

struct Env {
    dir: tempfile::TempDir,
    gh: FakeGithub,
}

fn setup() -> Env {
    let dir = tempdir();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    // Large enough that a drip is slower than the rate floor long before it is done.
    write(&repo, "main.py", &content(1, 4096));
    write(&repo, "lib/util.py", b"x = 1\n");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    git(&repo, &["tag", "v1"]);
    let gh = FakeGithub::start(&repo, "acme", "blinky");
    Env { dir, gh }
}

impl Env {
    fn work(&self) -> &Path {
        self.dir.path()
    }

    fn stage_dir(&self) -> std::path::PathBuf {
        self.work().join("st")
    }

    /// `ota stage --out st` under the memory limit, one-second HTTP patience.
    fn stage(&self) -> Run {
        let c = serde_json::json!({
            "owner": "acme", "repo": "blinky",
            "api_url": self.gh.api_url, "raw_url": self.gh.raw_url,
            "retries": 0, "backoff_sec": 0, "http_timeout_sec": 1,
        });
        std::fs::write(self.work().join("ota_config.json"), c.to_string()).unwrap();
        let cache = self.work().join("cache");
        run_limited_env(
            self.work(),
            &["stage", "--out", "st"],
            &[("OTA_CACHE_DIR", &cache)],
        )
    }

    fn raw_requests(&self) -> usize {
        self.gh.counts().2
    }

    fn hostile(&self, host: &'static str, path: &str, how: Hostility) {
        self.gh.set_faults(Faults {
            hostile: Some(Hostile {
                host,
                path: path.into(),
                how,
            }),
            ..Faults::default()
        });
    }

    /// A release whose manifest lists `files` (path, size, sha256).
    fn release_with_manifest(&self, version: &str, files: &[(&str, u64, &str)]) {
        let files: Vec<_> = files
            .iter()
            .map(|(p, size, sha)| serde_json::json!({"path": p, "size": size, "sha256": sha}))
            .collect();
        let m = serde_json::json!({"version": version, "files": files});
        self.gh.add_release("v1", Some(m.to_string().into_bytes()));
    }

    /// Exit code and message as given; the stage folder never written; no
    /// partial download left in the cache.
    fn assert_refused(&self, r: &Run, code: i32, message: &str) {
        assert_eq!(r.code, code, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(message),
            "stderr lacks {message:?}:\n{}",
            r.stderr
        );
        assert!(!self.stage_dir().exists(), "the stage folder was written");
        let blobs = self.work().join("cache/blobs");
        let parts: Vec<_> = std::fs::read_dir(&blobs)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".part"))
            .collect();
        assert!(parts.is_empty(), "partial downloads left: {parts:?}");
        let _ = MEMORY_LIMIT;
    }
}

const SHA: &str = "aa00000000000000000000000000000000000000000000000000000000000011";

#[test]
fn api_answers_that_never_end_are_cut_at_their_cap() {
    let env = setup();
    env.gh.add_release("v1", None);
    env.hostile("api", "releases/latest", Hostility::Endless);
    let r = env.stage();
    env.assert_refused(
        &r,
        3,
        "sent more than 1.0 MiB, the most ota reads for this answer",
    );
    assert!(
        r.stderr
            .contains("GitHub API /repos/acme/blinky/releases/latest: 127.0.0.1:"),
        "{}",
        r.stderr
    );
    env.hostile("api", "git/trees", Hostility::Endless);
    let r = env.stage();
    env.assert_refused(&r, 3, "sent more than 3.0 MiB");
}

#[test]
fn a_dripping_or_silent_server_is_given_up_with_the_host_named() {
    let env = setup();
    env.gh.add_release("v1", None);
    env.hostile("api", "releases/latest", Hostility::Drip);
    let r = env.stage();
    env.assert_refused(&r, 3, "slower than 16 KiB/s; gave up");
    env.hostile("api", "releases/latest", Hostility::Hang);
    let r = env.stage();
    env.assert_refused(&r, 3, "sent no answer within 1s (http_timeout_sec)");
    env.hostile("raw", "main.py", Hostility::Drip);
    let r = env.stage();
    env.assert_refused(&r, 3, "main.py: the raw host 127.0.0.1:");
    assert!(r.stderr.contains("slower than 16 KiB/s"), "{}", r.stderr);
    env.hostile("raw", "main.py", Hostility::Hang);
    let r = env.stage();
    env.assert_refused(&r, 3, "sent no answer within 1s");
}

#[test]
fn a_declared_size_no_device_holds_is_refused_before_any_download() {
    let env = setup();
    env.release_with_manifest("v1", &[("main.py", 1_000_000_000_000, SHA)]);
    env.hostile("raw", "main.py", Hostility::Endless);
    let r = env.stage();
    env.assert_refused(
        &r,
        3,
        "main.py is 1000000000000 bytes, more than the device's flash holds (1.2 MiB); nothing was downloaded",
    );
    assert_eq!(env.raw_requests(), 0);
}

#[test]
fn a_tree_of_more_files_than_the_agent_holds_is_refused_before_any_download() {
    let env = setup();
    env.gh.add_release("v1", None);
    env.gh.set_faults(Faults {
        extra_tree_files: 2000,
        ..Faults::default()
    });
    let r = env.stage();
    env.assert_refused(
        &r,
        3,
        "2002 files: the agent holds at most 512; nothing was downloaded",
    );
    assert_eq!(env.raw_requests(), 0);
}

#[test]
fn paths_unsafe_on_some_host_are_refused_with_the_path_named() {
    for (paths, message) in [
        (&["C:/x.py"][..], "C:/x.py: path has a ':'"),
        (&["x.py:stream"], "x.py:stream: path has a ':'"),
        (&["CON"], "CON: path has a name Windows reserves"),
        (
            &["lib/aux.py"],
            "lib/aux.py: path has a name Windows reserves",
        ),
        (
            &["trail. "],
            "trail. : path has a name ending in a dot or a space",
        ),
        (&["Main.py", "main.py"], "differs only in case from"),
        (
            &["lib", "lib/util.py"],
            "lib: is a file and a folder of lib/util.py",
        ),
    ] {
        let env = setup();
        let files: Vec<_> = paths.iter().map(|p| (*p, 1, SHA)).collect();
        env.release_with_manifest("v1", &files);
        let r = env.stage();
        env.assert_refused(&r, 3, message);
        assert_eq!(env.raw_requests(), 0, "{paths:?}");
    }
}

#[test]
fn bad_hooks_versions_and_digests_are_refused_before_any_download() {
    let env = setup();
    let m = serde_json::json!({"version": "v1", "post_update": "../evil.py",
        "files": [{"path": "main.py", "size": 9, "sha256": SHA}]});
    env.gh.add_release("v1", Some(m.to_string().into_bytes()));
    env.assert_refused(
        &env.stage(),
        3,
        "post_update `../evil.py`: path has an empty, '.' or '..' segment",
    );
    let env = setup();
    env.release_with_manifest(&"v".repeat(200), &[("main.py", 9, SHA)]);
    env.assert_refused(&env.stage(), 3, "is 200 bytes; a device records at most 32");
    let env = setup();
    let plus = format!("+{}", &SHA[1..]);
    env.release_with_manifest("v1", &[("main.py", 9, &plus)]);
    env.assert_refused(&env.stage(), 3, "main.py: `sha256` is not a hex digest");
    assert_eq!(env.raw_requests(), 0);
}

#[test]
fn control_characters_from_the_server_never_reach_the_terminal() {
    let env = setup();
    let evil = "v1\x1b[31mRED\x07\n\rfake line";
    env.release_with_manifest(evil, &[("main.py", 9, SHA)]);
    let r = env.stage();
    env.assert_refused(
        &r,
        3,
        "version `v1\\e[31mRED\\u{7}\\n\\rfake line` holds control characters",
    );
    assert!(!r.stderr.contains('\x1b') && !r.stderr.contains('\x07') && !r.stderr.contains('\r'));
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    // A release tag the repository cannot resolve is named, escaped.
    let env = setup();
    env.gh.add_release(evil, None);
    let r = env.stage();
    env.assert_refused(&r, 3, "ref v1\\e[31mRED\\u{7}\\n\\rfake line not found");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}

#[test]
fn a_retry_after_of_years_is_neither_printed_in_minutes_nor_waited_for() {
    let env = setup();
    env.gh.add_release("v1", None);
    env.gh.set_faults(Faults {
        rate_limited: true,
        retry_after: Some(100_000_000_000),
        ..Faults::default()
    });
    let r = env.stage();
    env.assert_refused(
        &r,
        3,
        "rate limit exceeded; it resets (in more than two days); try again later",
    );
}

#[test]
fn partial_downloads_of_a_killed_run_are_removed_at_the_next() {
    let env = setup();
    env.gh.add_release("v1", None);
    let blobs = env.work().join("cache/blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    // No process has this id (above the kernel's pid_max).
    let stale = blobs.join(".part-4194305-1");
    std::fs::write(&stale, vec![0u8; 4096]).unwrap();
    env.stage().ok();
    assert!(!stale.exists());
}

#[test]
fn a_push_from_a_hostile_server_leaves_the_device_untouched() {
    let env = setup();
    env.gh.add_release("v1", None);
    env.gh.set_faults(Faults {
        extra_tree_files: 2000,
        ..Faults::default()
    });
    let c = serde_json::json!({
        "owner": "acme", "repo": "blinky",
        "api_url": env.gh.api_url, "raw_url": env.gh.raw_url,
        "retries": 0, "backoff_sec": 0, "http_timeout_sec": 1,
    });
    std::fs::write(env.work().join("ota_config.json"), c.to_string()).unwrap();
    let cache = env.work().join("cache");
    let push = |env: &Env| {
        run_limited_env(
            env.work(),
            &["--port", "sim:pico.img", "push"],
            &[("OTA_CACHE_DIR", &cache)],
        )
    };
    let r = push(&env);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("2002 files: the agent holds at most 512"),
        "{}",
        r.stderr
    );
    env.hostile("api", "git/trees", Hostility::Endless);
    let r = push(&env);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("sent more than 3.0 MiB"), "{}", r.stderr);
    assert_eq!(env.raw_requests(), 0);
    assert_eq!(status(env.work(), "sim:pico.img")["state"], "empty");
}
