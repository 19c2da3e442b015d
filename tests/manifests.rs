//! Release manifests and signatures: `ota manifest gen | verify | sign`,
//! `ota keygen`, the seed updater's format and HMAC, and `ota push` refusing
//! what the configured keys did not sign.

#[path = "util/fake_github.rs"]
mod fake_github;
mod util;

use std::path::Path;

use fake_github::{git, FakeGithub};
use serde_json::{json, Value};
use util::*;

fn app(d: &Path) {
    write(d, "app/main.py", b"print('hi')\n");
    write(d, "app/lib/util.py", b"def f():\n    return 1\n");
    write(d, "app/lib/deep/er/x.bin", &content(1, 3000));
    write(d, "app/lib/__init__.py", b"");
    write(d, "app/hooks/post.py", b"print('post')\n");
}

fn read(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn gen_is_reproducible_and_lists_nested_folders_with_slashes() {
    let d = tempdir();
    app(d.path());
    let args = [
        "manifest",
        "gen",
        "--version",
        "v1.0.0",
        "--root",
        "app",
        "--post-update",
        "hooks/post.py",
        "main.py",
        "lib",
        "hooks",
    ];
    run(d.path(), &[&args[..], &["-o", "a.json"]].concat()).ok();
    run(d.path(), &[&args[..], &["-o", "b.json"]].concat()).ok();
    let (a, b) = (
        std::fs::read(d.path().join("a.json")).unwrap(),
        std::fs::read(d.path().join("b.json")).unwrap(),
    );
    assert_eq!(a, b, "same inputs, same bytes");
    let m = read(&d.path().join("a.json"));
    let paths: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "hooks/post.py",
            "lib/__init__.py",
            "lib/deep/er/x.bin",
            "lib/util.py",
            "main.py"
        ]
    );
    assert_eq!(
        m["files"][1]["sha1"],
        "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    );
    assert_eq!(m["files"][1]["size"], 0);
    assert_eq!(m["post_update"], "hooks/post.py");
    run(d.path(), &["manifest", "verify", "a.json", "--dir", "app"]).ok();
}

#[test]
fn a_seed_manifest_signed_with_its_hmac_verifies_and_tampering_fails() {
    let d = tempdir();
    // The seed's exact shape (no sha1), signed with the seed's algorithm (value computed with Python).
    let seed = json!({
        "version": "v1.0.0",
        "files": [
            {"path": "lib/util.py", "sha256": "a".repeat(64), "size": 1234},
            {"path": "caf\u{e9}/\u{1F600}.py", "sha256": "b".repeat(64), "size": 0}
        ],
        "post_update": "hooks/post.py",
        "rollback": "hooks/rollback.py",
        "signature": "48a985388db71bff66f942408fc3ea5e2d68ea90d1dfc7c2cdf2354ed577878e"
    });
    std::fs::write(d.path().join("seed.json"), seed.to_string()).unwrap();
    let r = run(
        d.path(),
        &[
            "manifest",
            "verify",
            "seed.json",
            "--hmac-key",
            "s3cret-k\u{e9}y",
        ],
    );
    // The hooks are not among the listed files in this vector: only that is reported.
    assert!(!r.stdout.contains("signature"), "{}", r.stdout);
    let mut tampered = seed.clone();
    tampered["files"][0]["size"] = json!(1235);
    std::fs::write(d.path().join("bad.json"), tampered.to_string()).unwrap();
    let r = run(
        d.path(),
        &[
            "manifest",
            "verify",
            "bad.json",
            "--hmac-key",
            "s3cret-k\u{e9}y",
        ],
    );
    assert_eq!(r.code, 4);
    assert!(r.stdout.contains("HMAC"), "{}", r.stdout);
    // ota signs the same way.
    let mut unsigned = seed.clone();
    unsigned.as_object_mut().unwrap().remove("signature");
    std::fs::write(d.path().join("u.json"), unsigned.to_string()).unwrap();
    run(
        d.path(),
        &[
            "manifest",
            "sign",
            "u.json",
            "--hmac-key",
            "s3cret-k\u{e9}y",
        ],
    )
    .ok();
    assert_eq!(
        read(&d.path().join("u.json"))["signature"],
        seed["signature"]
    );
}

#[test]
fn keygen_writes_a_private_secret_and_a_one_line_public_key() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempdir();
    run(d.path(), &["keygen", "-o", "release"]).ok();
    let mode = std::fs::metadata(d.path().join("release"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let public = std::fs::read_to_string(d.path().join("release.pub")).unwrap();
    assert_eq!(public.lines().count(), 1);
    assert!(public.starts_with("ed25519:") && public.trim().len() == 8 + 64);
    assert_ne!(
        run(d.path(), &["keygen", "-o", "release"]).code,
        0,
        "never overwrites a key"
    );
}

#[test]
fn tampering_with_any_field_of_a_signed_manifest_fails_verification() {
    let d = tempdir();
    app(d.path());
    run(d.path(), &["keygen", "-o", "k"]).ok();
    run(
        d.path(),
        &[
            "manifest",
            "gen",
            "--version",
            "v1.0.0",
            "--root",
            "app",
            "--post-update",
            "hooks/post.py",
            "--rollback",
            "main.py",
            ".",
        ],
    )
    .ok();
    run(
        d.path(),
        &["manifest", "sign", "--key", "k", "manifest.json"],
    )
    .ok();
    run(
        d.path(),
        &[
            "manifest",
            "verify",
            "manifest.json",
            "--dir",
            "app",
            "--pubkey",
            "k.pub",
        ],
    )
    .ok();
    let signed = read(&d.path().join("manifest.json"));
    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        ("version", Box::new(|m| m["version"] = json!("v9.9.9"))),
        (
            "path",
            Box::new(|m| m["files"][0]["path"] = json!("evil.py")),
        ),
        ("size", Box::new(|m| m["files"][0]["size"] = json!(1))),
        (
            "sha256",
            Box::new(|m| m["files"][0]["sha256"] = json!("0".repeat(64))),
        ),
        (
            "sha1",
            Box::new(|m| m["files"][0]["sha1"] = json!("0".repeat(40))),
        ),
        (
            "post_update",
            Box::new(|m| m["post_update"] = json!("main.py")),
        ),
        (
            "rollback",
            Box::new(|m| m["rollback"] = json!("hooks/post.py")),
        ),
        (
            "added file",
            Box::new(|m| {
                m["files"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"path": "x", "size": 0, "sha256": "0".repeat(64)}))
            }),
        ),
        (
            "removed file",
            Box::new(|m| {
                m["files"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "signature",
            Box::new(|m| {
                let s = m["signatures"][0]["sig"].as_str().unwrap().to_string();
                m["signatures"][0]["sig"] = json!(format!(
                    "{}{}",
                    if s.starts_with('0') { "1" } else { "0" },
                    &s[1..]
                ));
            }),
        ),
    ];
    for (what, edit) in edits {
        let mut m = signed.clone();
        edit(&mut m);
        std::fs::write(d.path().join("t.json"), m.to_string()).unwrap();
        let r = run(
            d.path(),
            &["manifest", "verify", "t.json", "--pubkey", "k.pub"],
        );
        assert_eq!(r.code, 4, "tampered {what} still verifies: {}", r.stdout);
    }
    // Another key does not verify it either.
    run(d.path(), &["keygen", "-o", "other"]).ok();
    assert_eq!(
        run(
            d.path(),
            &[
                "manifest",
                "verify",
                "manifest.json",
                "--pubkey",
                "other.pub"
            ]
        )
        .code,
        4
    );
}

struct Release {
    dir: tempfile::TempDir,
    gh: FakeGithub,
}

/// A repository with a signed v1.1.0 release (manifest made by ota) and an unsigned v1.0.0 one.
fn signed_release(tamper: bool) -> Release {
    let dir = tempdir();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    make_tree(&repo, 8, 3);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    git(&repo, &["tag", "v1.0.0"]);
    git(&repo, &["tag", "v1.1.0"]);
    let head = git(&repo, &["rev-parse", "HEAD"]).trim().to_string();
    run(dir.path(), &["keygen", "-o", "release"]).ok();
    run(
        dir.path(),
        &[
            "manifest",
            "gen",
            "--version",
            "v1.1.0",
            // The tree signature covers ref and commit: the release names them.
            "--ref",
            "v1.1.0",
            "--commit",
            &head,
            "--root",
            "repo",
            "-o",
            "manifest.json",
            "app_000.py",
            "lib",
            "assets",
        ],
    )
    .ok();
    run(
        dir.path(),
        &["manifest", "sign", "--key", "release", "manifest.json"],
    )
    .ok();
    let mut m = read(&dir.path().join("manifest.json"));
    if tamper {
        m["files"][0]["size"] = json!(m["files"][0]["size"].as_u64().unwrap() + 1);
    }
    let gh = FakeGithub::start(&repo, "acme", "app");
    gh.add_release("v1.0.0", None);
    gh.add_release("v1.1.0", Some(m.to_string().into_bytes()));
    let pubkey = std::fs::read_to_string(dir.path().join("release.pub")).unwrap();
    let config = json!({"owner": "acme", "repo": "app", "api_url": gh.api_url, "raw_url": gh.raw_url,
        "pubkey": pubkey.trim(), "port": "sim:pico.img"});
    std::fs::write(dir.path().join("ota_config.json"), config.to_string()).unwrap();
    Release { dir, gh }
}

/// `ota` with a cache of the test's own.
fn own_cache(d: &Path) -> Ota {
    ota_in(d).env("OTA_CACHE_DIR", d.join("cache"))
}

#[test]
fn a_signed_release_pushes_and_a_tampered_one_is_refused_before_any_download() {
    let good = signed_release(false);
    let doc = own_cache(good.dir.path())
        .args(&["--json", "push"])
        .ok()
        .json();
    assert_eq!(doc["result"], "confirmed");
    assert_eq!(doc["to_version"], "v1.1.0");

    let bad = signed_release(true);
    let r = own_cache(bad.dir.path()).args(&["push"]).run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("not signed by any key"), "{}", r.stderr);
    assert_eq!(bad.gh.counts().2, 0, "no file was downloaded");
    assert_eq!(status(bad.dir.path(), "sim:pico.img")["state"], "empty");
}

#[test]
fn with_keys_configured_unsigned_updates_need_allow_unsigned() {
    let rel = signed_release(false);
    let d = rel.dir.path();
    let r = own_cache(d).args(&["push", "--tag", "v1.0.0"]).run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("--allow-unsigned"), "{}", r.stderr);
    own_cache(d)
        .args(&["push", "--tag", "v1.0.0", "--allow-unsigned"])
        .ok();
    make_tree(&d.join("work"), 3, 9);
    assert_eq!(own_cache(d).args(&["push", "--dir", "work"]).run().code, 4);
    own_cache(d)
        .args(&["push", "--dir", "work", "--allow-unsigned"])
        .ok();
}

#[test]
fn a_signed_downgrade_is_refused_unless_allowed() {
    let rel = signed_release(false);
    let d = rel.dir.path();
    make_tree(&d.join("newer"), 3, 4);
    own_cache(d)
        .args(&[
            "push",
            "--dir",
            "newer",
            "--version",
            "v2.0.0",
            "--allow-unsigned",
        ])
        .ok();
    let r = own_cache(d).args(&["push"]).run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("refusing a downgrade"), "{}", r.stderr);
    let doc = own_cache(d)
        .args(&["--json", "push", "--allow-downgrade"])
        .ok()
        .json();
    assert_eq!(doc["to_version"], "v1.1.0");
}

#[test]
fn a_staged_signed_release_is_checked_again_when_pushed() {
    let rel = signed_release(false);
    let d = rel.dir.path();
    own_cache(d).args(&["stage", "--out", "st"]).ok();
    assert!(d.join("st/signed-manifest.json").is_file());
    own_cache(d).args(&["push", "--staged", "st"]).ok();
    // A staged file swapped for another, with its manifest.json rewritten to match: the signature still catches it.
    let mut m = read(&d.join("st/manifest.json"));
    std::fs::write(d.join("st/app_000.py"), b"evil").unwrap();
    m["files"][0]["size"] = json!(4);
    let sha1: String = {
        use sha1::Digest;
        let mut h = sha1::Sha1::new();
        h.update(b"blob 4\0evil");
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    };
    let sha256: String = {
        use sha2::Digest;
        sha2::Sha256::digest(b"evil")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    m["files"][0]["sha1"] = json!(sha1);
    m["files"][0]["sha256"] = json!(sha256);
    std::fs::write(d.join("st/manifest.json"), m.to_string()).unwrap();
    let r = own_cache(d)
        .args(&["push", "--staged", "st", "--force"])
        .run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("not as the signed manifest lists it"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_provisioned_device_refuses_unsigned_trees_and_takes_signed_releases() {
    let rel = signed_release(false);
    let d = rel.dir.path();
    own_cache(d)
        .args(&["provision", "--pubkey", "release.pub"])
        .ok();
    assert_eq!(status(d, "sim:pico.img")["keys"], 1);
    // The host lets it through (--allow-unsigned); the device does not.
    make_tree(&d.join("work"), 3, 9);
    let r = own_cache(d)
        .args(&["push", "--dir", "work", "--allow-unsigned"])
        .run();
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr.contains("not signed by a provisioned release key"),
        "{}",
        r.stderr
    );
    assert_eq!(status(d, "sim:pico.img")["state"], "empty");
    // The signed release: its tree signature travels in Begin.
    let doc = own_cache(d).args(&["--json", "push"]).ok().json();
    assert_eq!(doc["result"], "confirmed");
    let text = own_cache(d).args(&["status"]).ok().stdout;
    assert!(text.contains("keys       1 release key(s)"), "{text}");
    assert!(
        text.contains("security   version 1.1.0: signed trees of a lower version are refused"),
        "{text}"
    );
    // Keys change only with a signature by a key the device holds.
    own_cache(d).args(&["keygen", "-o", "next"]).ok();
    let r = own_cache(d)
        .args(&["provision", "--pubkey", "next.pub"])
        .run();
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("--key"), "{}", r.stderr);
    own_cache(d)
        .args(&["provision", "--pubkey", "next.pub", "--key", "release"])
        .ok();
}

#[test]
fn a_huge_or_empty_manifest_is_refused_saying_why_within_a_memory_limit() {
    let d = tempdir();
    let d = d.path();
    // 50 MB, the start of a valid manifest: read at most 1 MiB of it.
    let mut huge = br#"{"version": "v1", "files": ["#.to_vec();
    huge.resize(50_000_000, b' ');
    std::fs::write(d.join("huge.json"), &huge).unwrap();
    let r = util::limits::run_limited(d, &["manifest", "verify", "huge.json"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("huge.json: larger than 1.0 MiB"),
        "{}",
        r.stderr
    );
    std::fs::create_dir_all(d.join("st")).unwrap();
    std::fs::write(d.join("st/manifest.json"), b"").unwrap();
    let r = ota_in(d)
        .port("sim:pico.img")
        .args(&["push", "--staged", "st"])
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "manifest.json: empty; a manifest is a JSON object with `version` and `files`"
        ),
        "{}",
        r.stderr
    );
    assert!(!d.join("pico.img").exists(), "the device was touched");
}
