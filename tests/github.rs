//! Updates from GitHub end to end: a fake GitHub serving a real Git
//! repository, `ota push` into a simulated Pico, every channel and mode,
//! the cache, private repositories, and each fault mode.

#[path = "util/fake_github.rs"]
mod fake_github;
mod util;

use std::path::Path;

use fake_github::{git, FakeGithub, Faults};
use util::*;

const TOKEN: &str = "ghp_s3cr3tT0kenValue1234567890";

struct Env {
    dir: tempfile::TempDir,
    gh: FakeGithub,
}

impl Env {
    fn repo(&self) -> std::path::PathBuf {
        self.dir.path().join("repo")
    }

    fn work(&self) -> &Path {
        self.dir.path()
    }

    /// `ota` with the fake's URLs and a private cache.
    fn ota(&self, config: serde_json::Value, args: &[&str]) -> Run {
        let mut c = serde_json::json!({
            "owner": "acme", "repo": "blinky",
            "api_url": self.gh.api_url, "raw_url": self.gh.raw_url,
            "retries": 2, "backoff_sec": 0, "ssid": "x", "password": "y",
        });
        for (k, v) in config.as_object().unwrap() {
            c[k] = v.clone();
        }
        std::fs::write(self.work().join("ota_config.json"), c.to_string()).unwrap();
        ota_in(self.work())
            .env("OTA_CACHE_DIR", self.work().join("cache"))
            .args(args)
            .run()
    }

    fn head(&self, r: &str) -> String {
        git(&self.repo(), &["rev-parse", &format!("{r}^{{commit}}")])
            .trim()
            .to_string()
    }
}

/// A repository with a v1.0.0 (annotated) and v1.1.0 (lightweight) release, and `main` ahead of both.
fn setup() -> Env {
    let dir = tempdir();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    make_tree(&repo, 12, 1);
    write(&repo, "lib/__init__.py", b"");
    write(&repo, "README.md", b"# blinky\n");
    write(&repo, "tests/test_x.py", b"assert True\n");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    git(&repo, &["tag", "-a", "v1.0.0", "-m", "first"]);
    write(&repo, "app_000.py", b"print('1.1')\n");
    git(&repo, &["commit", "-q", "-am", "two"]);
    git(&repo, &["tag", "v1.1.0"]);
    write(&repo, "app_000.py", b"print('dev')\n");
    write(&repo, "lib/new.py", b"x = 1\n");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "three"]);
    let gh = FakeGithub::start(&repo, "acme", "blinky");
    gh.add_release("v1.0.0", None);
    gh.add_release("v1.1.0", None);
    Env { dir, gh }
}

/// (path, blob sha1) of the repository at `rev`, filtered like the config below.
fn tree_at(env: &Env, rev: &str, keep: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    let out = git(&env.repo(), &["ls-tree", "-r", rev]);
    let mut v: Vec<(String, String)> = out
        .lines()
        .map(|l| {
            let (meta, path) = l.split_once('\t').unwrap();
            (
                path.to_string(),
                meta.split_whitespace().nth(2).unwrap().to_string(),
            )
        })
        .filter(|(p, _)| keep(p))
        .collect();
    v.sort();
    v
}

fn filtered(p: &str) -> bool {
    p != "README.md" && !p.starts_with("tests/")
}

const IGNORE: &str = r#"["README.md", "tests"]"#;

fn cfg(extra: &str) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&format!("{{\"ignore\": {IGNORE}{extra}}}")).unwrap();
    v["port"] = serde_json::json!("sim:pico.img");
    v
}

#[test]
fn stable_channel_installs_the_latest_release_at_its_commit() {
    let env = setup();
    let doc = env.ota(cfg(""), &["--json", "push"]).ok().json();
    assert_eq!(doc["result"], "confirmed");
    assert_eq!(doc["to_version"], "v1.1.0");
    assert_eq!(doc["commit"], env.head("v1.1.0"));
    assert_eq!(
        device_files(env.work(), "sim:pico.img"),
        tree_at(&env, "v1.1.0", filtered)
    );
    let s = status(env.work(), "sim:pico.img");
    assert_eq!(s["active"]["commit"], env.head("v1.1.0"));
    assert_eq!(s["active"]["ref"], "v1.1.0");
    // Files came from the raw host at the commit SHA, never by tag name.
    let commit = env.head("v1.1.0");
    for l in env.gh.log().iter().filter(|l| l.host == "raw") {
        assert!(l.path.contains(&commit), "{}", l.path);
    }
}

#[test]
fn a_pinned_annotated_tag_is_dereferenced_to_its_commit() {
    let env = setup();
    let doc = env
        .ota(cfg(r#", "tag": "v1.0.0""#), &["--json", "push"])
        .ok()
        .json();
    assert_eq!(doc["to_version"], "v1.0.0");
    assert_eq!(doc["commit"], env.head("v1.0.0"));
    assert_eq!(
        device_files(env.work(), "sim:pico.img"),
        tree_at(&env, "v1.0.0", filtered)
    );
}

#[test]
fn developer_channel_installs_the_branch_tip() {
    let env = setup();
    let doc = env
        .ota(cfg(r#", "channel": "developer""#), &["--json", "push"])
        .ok()
        .json();
    let tip = env.head("main");
    assert_eq!(doc["commit"], tip);
    assert_eq!(doc["to_version"], format!("main-{}", &tip[..7]));
    assert_eq!(
        device_files(env.work(), "sim:pico.img"),
        tree_at(&env, "main", filtered)
    );
}

#[test]
fn second_update_downloads_nothing_sends_nothing_and_costs_no_rate_limit() {
    let env = setup();
    env.ota(cfg(""), &["push"]).ok();
    let (api, _, raw) = env.gh.counts();
    assert!(api <= 3, "first resolution took {api} API requests");
    assert!(raw > 0);
    env.gh.clear_log();
    let doc = env.ota(cfg(""), &["--json", "push"]).ok().json();
    assert_eq!(doc["result"], "up-to-date");
    let (api, not_modified, raw) = env.gh.counts();
    assert_eq!((api, raw), (0, 0), "answered from conditional requests");
    assert!(not_modified >= 2);
    // Forced: the cache serves every file, the device has them all.
    env.gh.clear_log();
    let doc = env.ota(cfg(""), &["--json", "push", "--force"]).ok().json();
    assert_eq!(doc["bytes_sent"], 0);
    assert_eq!(env.gh.counts().2, 0, "nothing downloaded");
    assert!(doc["github"]["cache_hits"].as_u64().unwrap() > 0);
}

#[test]
fn manifest_mode_follows_the_asset_redirect_without_the_token() {
    let env = setup();
    env.gh.require_token(TOKEN);
    let commit = env.head("v1.1.0");
    let files = tree_at(&env, "v1.1.0", |p| p.ends_with(".py"));
    let entries: Vec<serde_json::Value> = files
        .iter()
        .map(|(p, _)| {
            use sha2::Digest;
            let bytes = fake_github::git_bytes(
                &env.repo(),
                &["cat-file", "blob", &format!("{commit}:{p}")],
            )
            .unwrap();
            let sha: String = sha2::Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            serde_json::json!({"path": p, "size": bytes.len(), "sha256": sha})
        })
        .collect();
    let manifest =
        serde_json::json!({"version": "1.1.0-m", "files": entries, "post_update": "app_000.py"});
    env.gh
        .add_release("v1.2.0", Some(manifest.to_string().into_bytes()));
    git(&env.repo(), &["tag", "v1.2.0", "v1.1.0"]);
    let doc = env
        .ota(
            cfg(&format!(r#", "token": "{TOKEN}""#)),
            &["--json", "push"],
        )
        .ok()
        .json();
    assert_eq!(doc["to_version"], "1.1.0-m");
    let expected: Vec<_> = files.iter().filter(|(p, _)| filtered(p)).cloned().collect();
    assert_eq!(
        device_files(env.work(), "sim:pico.img"),
        expected,
        "the manifest's files, filtered by the config"
    );
    let storage: Vec<_> = env
        .gh
        .log()
        .into_iter()
        .filter(|l| l.host == "storage")
        .collect();
    assert_eq!(storage.len(), 1);
    assert_eq!(
        storage[0].status, 200,
        "the Authorization header was not forwarded"
    );
}

#[test]
fn a_private_repository_without_a_token_says_a_token_is_needed() {
    let env = setup();
    env.gh.require_token(TOKEN);
    let r = env.ota(cfg(""), &["push"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("token"), "{}", r.stderr);
}

#[test]
fn the_token_never_appears_in_any_output() {
    let env = setup();
    env.gh.require_token(TOKEN);
    env.gh.set_faults(Faults {
        wrong_bytes: Some("lib/mod_001.py".into()),
        ..Faults::default()
    });
    let runs = [
        env.ota(cfg(""), &["-vv", "push", "--token", TOKEN]),
        env.ota(
            cfg(&format!(r#", "token": "{TOKEN}", "debug": true"#)),
            &["-vv", "--json", "push"],
        ),
        env.ota(
            cfg(&format!(r#", "token": "{TOKEN}""#)),
            &["--json", "stage", "--out", "st"],
        ),
    ];
    for r in runs {
        assert!(
            !r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN),
            "token leaked:\n{}\n{}",
            r.stdout,
            r.stderr
        );
        assert_eq!(r.code, 4, "{}", r.stderr);
    }
    for entry in std::fs::read_dir(env.work().join("cache").join("api")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(TOKEN));
    }
}

#[test]
fn a_wrong_byte_aborts_before_anything_reaches_the_device() {
    let env = setup();
    env.gh.set_faults(Faults {
        wrong_bytes: Some("lib/mod_001.py".into()),
        ..Faults::default()
    });
    let r = env.ota(cfg(""), &["push"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("lib/mod_001.py: expected SHA-1"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("nothing was written to the device"),
        "{}",
        r.stderr
    );
    let s = status(env.work(), "sim:pico.img");
    assert_eq!(s["state"], "empty");
    assert!(s["session"].is_null(), "no session was begun");
}

#[test]
fn truncated_bodies_and_server_errors_are_retried() {
    let env = setup();
    env.gh.set_faults(Faults {
        truncate_once: Some("app_003.py".into()),
        raw_500s: 2,
        ..Faults::default()
    });
    let doc = env.ota(cfg(""), &["--json", "push"]).ok().json();
    assert_eq!(doc["result"], "confirmed");
    assert_eq!(
        device_files(env.work(), "sim:pico.img"),
        tree_at(&env, "v1.1.0", filtered)
    );
}

#[test]
fn an_exhausted_rate_limit_is_reported_with_its_reset_time() {
    let env = setup();
    env.gh.set_faults(Faults {
        rate_limited: true,
        ..Faults::default()
    });
    let r = env.ota(cfg(""), &["push"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("rate limit exceeded; it resets at"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--wait-rate-limit"), "{}", r.stderr);
}

#[test]
fn a_truncated_tree_is_an_error_not_a_partial_update() {
    let env = setup();
    env.gh.set_faults(Faults {
        truncated_tree: true,
        ..Faults::default()
    });
    let r = env.ota(cfg(""), &["push"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("truncated"), "{}", r.stderr);
}

#[test]
fn stage_then_push_staged() {
    let env = setup();
    let doc = env
        .ota(cfg(""), &["--json", "stage", "--out", "stage"])
        .ok()
        .json();
    assert_eq!(doc["result"], "staged");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.work().join("stage/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["commit"], env.head("v1.1.0"));
    assert!(m["files"][0]["sha1"].is_string() && m["files"][0]["sha256"].is_string());
    env.gh.clear_log();
    let doc = env
        .ota(cfg(""), &["--json", "push", "--staged", "stage"])
        .ok()
        .json();
    assert_eq!(doc["result"], "confirmed");
    assert!(env.gh.log().is_empty(), "push --staged needs no network");
    assert_eq!(
        device_files(env.work(), "sim:pico.img"),
        tree_at(&env, "v1.1.0", filtered)
    );
    // A staged file changed on its way: refused before the device is touched.
    std::fs::write(env.work().join("stage/app_000.py"), b"tampered").unwrap();
    let r = env.ota(cfg(""), &["push", "--staged", "stage", "--force"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
}

/// The figures for the notes: requests for a first and a repeated update of
/// a 50-file tree on each channel.
#[test]
fn request_counts_for_fifty_files() {
    let env = setup();
    make_tree(&env.repo(), 50, 7);
    git(&env.repo(), &["add", "-A"]);
    git(&env.repo(), &["commit", "-q", "-m", "fifty"]);
    git(&env.repo(), &["tag", "v2.0.0"]);
    env.gh.add_release("v2.0.0", None);
    for (channel, extra) in [("stable", ""), ("developer", r#", "channel": "developer""#)] {
        let image = format!("{channel}.img");
        let mut c = cfg(extra);
        c["port"] = serde_json::json!(format!("sim:{image}"));
        let _ = std::fs::remove_dir_all(env.work().join("cache"));
        env.gh.clear_log();
        env.ota(c.clone(), &["push"]).ok();
        let first = env.gh.counts();
        env.gh.clear_log();
        env.ota(c, &["push"]).ok();
        let again = env.gh.counts();
        println!(
            "github requests, {channel}, 50+ files: first update {} API + {} raw; repeated {} API + {} not-modified + {} raw",
            first.0, first.2, again.0, again.1, again.2
        );
        assert!(first.0 <= 3);
        assert_eq!((again.0, again.2), (0, 0));
    }
}

#[test]
fn stage_never_replaces_a_folder_it_did_not_write() {
    let env = setup();
    write(env.work(), "project/manifest.json", b"{}");
    write(env.work(), "project/main.py", b"keep me");
    let r = env.ota(cfg(""), &["stage", "--out", "project"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        env.work().join("project/main.py").is_file(),
        "the folder is intact"
    );
    let r = env.ota(cfg(""), &["stage", "--out", "."]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        env.work().join("repo").is_dir(),
        "the current folder is intact"
    );
    // A folder ota staged is replaced by the next stage.
    env.ota(cfg(""), &["stage", "--out", "st"]).ok();
    env.ota(cfg(""), &["stage", "--out", "st"]).ok();
}
