//! `ota push` end to end against the in-process simulated Pico (`sim:FILE`):
//! what is sent, what is not, and what the device holds afterwards.

mod util;

use util::*;

#[test]
fn push_then_the_device_holds_exactly_the_tree() {
    let d = tempdir();
    make_tree(&d.path().join("app"), 12, 1);
    write(&d.path().join("app"), "lib/__init__.py", b"");
    let r = ota_in(d.path())
        .port("sim:pico.img")
        .args(&["--json", "push", "--dir", "app", "--version", "v1"])
        .ok();
    let doc = r.json();
    assert_eq!(doc["result"], "confirmed");
    assert_eq!(doc["to_version"], "v1");
    assert_eq!(
        device_files(d.path(), "sim:pico.img"),
        tree_of(&d.path().join("app"))
    );
    let s = status(d.path(), "sim:pico.img");
    assert_eq!(s["active"]["version"], "v1");
    assert_eq!(s["state"], "confirmed");
}

#[test]
fn second_push_of_the_same_tree_sends_nothing() {
    let d = tempdir();
    make_tree(&d.path().join("app"), 10, 2);
    let port = "sim:pico.img";
    ota_in(d.path())
        .port(port)
        .args(&["push", "--dir", "app", "--version", "v1"])
        .ok();
    let doc = ota_in(d.path())
        .port(port)
        .args(&["--json", "push", "--dir", "app", "--version", "v1"])
        .ok()
        .json();
    assert_eq!(doc["result"], "up-to-date");
    assert_eq!(doc["bytes_sent"], 0);
    // Forced: a new commit, and still no file data.
    let doc = ota_in(d.path())
        .port(port)
        .args(&[
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            "v1",
            "--force",
        ])
        .ok()
        .json();
    assert_eq!(doc["result"], "confirmed");
    assert_eq!(doc["files_sent"], 0);
    assert_eq!(doc["bytes_sent"], 0);
}

#[test]
fn one_changed_file_of_fifty_is_all_that_is_sent() {
    let d = tempdir();
    let app = d.path().join("app");
    make_tree(&app, 50, 3);
    let port = "sim:pico.img";
    ota_in(d.path())
        .port(port)
        .args(&["push", "--dir", "app", "--version", "v1"])
        .ok();
    let changed = content(4242, 3333);
    write(&app, "lib/mod_004.py", &changed);
    let doc = ota_in(d.path())
        .port(port)
        .args(&["--json", "push", "--dir", "app", "--version", "v2"])
        .ok()
        .json();
    assert_eq!(doc["files_sent"], 1);
    assert_eq!(doc["bytes_sent"], 3333);
    assert_eq!(
        doc["plan"]["changed"],
        serde_json::json!(["lib/mod_004.py"])
    );
    assert_eq!(device_files(d.path(), port), tree_of(&app));
}

#[test]
fn a_renamed_file_sends_nothing() {
    let d = tempdir();
    let app = d.path().join("app");
    make_tree(&app, 8, 5);
    let port = "sim:pico.img";
    ota_in(d.path())
        .port(port)
        .args(&["push", "--dir", "app", "--version", "v1"])
        .ok();
    std::fs::rename(app.join("app_000.py"), app.join("renamed.py")).unwrap();
    let doc = ota_in(d.path())
        .port(port)
        .args(&["--json", "push", "--dir", "app", "--version", "v2"])
        .ok()
        .json();
    assert_eq!(doc["bytes_sent"], 0);
    assert_eq!(doc["plan"]["reused"], serde_json::json!(["renamed.py"]));
    assert_eq!(doc["plan"]["removed"], serde_json::json!(["app_000.py"]));
    assert_eq!(device_files(d.path(), port), tree_of(&app));
}

#[test]
fn dry_run_changes_nothing() {
    let d = tempdir();
    let app = d.path().join("app");
    make_tree(&app, 6, 6);
    let port = "sim:pico.img";
    ota_in(d.path())
        .port(port)
        .args(&["push", "--dir", "app", "--version", "v1"])
        .ok();
    let image_before = std::fs::read(d.path().join("pico.img")).unwrap();
    write(&app, "new.py", b"print('new')\n");
    let doc = ota_in(d.path())
        .port(port)
        .args(&[
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            "v2",
            "--dry-run",
        ])
        .ok()
        .json();
    assert_eq!(doc["result"], "dry-run");
    assert_eq!(doc["plan"]["added"], serde_json::json!(["new.py"]));
    assert_eq!(doc["plan"]["bytes_to_send"], 13);
    assert!(
        std::fs::read(d.path().join("pico.img")).unwrap() == image_before,
        "the flash image changed"
    );
}

#[test]
fn rollback_returns_the_previous_tree() {
    let d = tempdir();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    make_tree(&a, 5, 7);
    make_tree(&b, 5, 8);
    let port = "sim:pico.img";
    ota_in(d.path())
        .port(port)
        .args(&["push", "--dir", "a", "--version", "va"])
        .ok();
    ota_in(d.path())
        .port(port)
        .args(&["push", "--dir", "b", "--version", "vb"])
        .ok();
    assert_eq!(device_files(d.path(), port), tree_of(&b));
    ota_in(d.path()).port(port).args(&["rollback"]).ok();
    assert_eq!(device_files(d.path(), port), tree_of(&a));
    assert_eq!(status(d.path(), port)["active"]["version"], "va");
}

#[test]
fn a_version_that_never_confirms_is_rolled_back_after_its_boots() {
    let d = tempdir();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    make_tree(&a, 3, 9);
    make_tree(&b, 3, 10);
    ota_in(d.path())
        .port("sim:pico.img")
        .args(&["push", "--dir", "a", "--version", "good"])
        .ok();
    std::fs::write(
        d.path().join("ota_config.json"),
        r#"{"confirm_timeout_sec": 0}"#,
    )
    .unwrap();
    let broken = "sim:pico.img?no-auto-confirm";
    let r = ota_in(d.path())
        .port(broken)
        .args(&[
            "--json",
            "push",
            "--dir",
            "b",
            "--version",
            "bad",
            "--boots",
            "2",
        ])
        .run();
    assert_eq!(
        r.code, 5,
        "not confirming in time is a failure: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("did not confirm within 0s"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("trial, 1 boot(s) left"),
        "the reboot after the push spent one boot: {}",
        r.stderr
    );
    // Each ota run on sim: is one boot of a board whose application never confirms.
    let s = status(d.path(), broken);
    assert_eq!(
        (s["active"]["version"].as_str(), s["boots_left"].as_u64()),
        (Some("bad"), Some(0))
    );
    let s = status(d.path(), broken);
    assert_eq!(s["active"]["version"], "good", "out of boots: rolled back");
    assert_eq!(s["state"], "confirmed");
    assert_eq!(device_files(d.path(), broken), tree_of(&a));
}

#[test]
fn config_filters_apply_and_vcs_folders_are_skipped() {
    let d = tempdir();
    let app = d.path().join("app");
    write(&app, "main.py", b"1");
    write(&app, "lib/a.py", b"2");
    write(&app, "lib/test/t.py", b"3");
    write(&app, "docs/readme.md", b"4");
    write(&app, ".git/HEAD", b"ref: x");
    std::fs::write(
        d.path().join("ota_config.json"),
        r#"{"allow": ["main.py", "lib"], "ignore": ["lib/test"], "ssid": "home", "password": "secret"}"#,
    )
    .unwrap();
    ota_in(d.path())
        .port("sim:pico.img")
        .args(&["push", "--dir", "app"])
        .ok();
    let files: Vec<String> = device_files(d.path(), "sim:pico.img")
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(files, ["lib/a.py", "main.py"]);
}

#[test]
fn symbolic_links_are_never_followed_and_an_empty_tree_is_refused() {
    let d = tempdir();
    let app = d.path().join("app");
    write(&app, "main.py", b"print(1)\n");
    write(d.path(), "secret/id_ed25519", b"private");
    std::os::unix::fs::symlink(d.path().join("secret"), app.join("creds")).unwrap();
    std::os::unix::fs::symlink(d.path().join("secret/id_ed25519"), app.join("key")).unwrap();
    let r = ota_in(d.path())
        .port("sim:pico.img")
        .args(&["push", "--dir", "app"])
        .ok();
    assert!(
        r.stderr.contains("skipped creds (symbolic link)"),
        "{}",
        r.stderr
    );
    let files: Vec<String> = device_files(d.path(), "sim:pico.img")
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(files, ["main.py"]);
    std::fs::create_dir_all(d.path().join("empty")).unwrap();
    let r = ota_in(d.path())
        .port("sim:pico.img")
        .args(&["push", "--dir", "empty"])
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("would empty the device"), "{}", r.stderr);
    assert_eq!(device_files(d.path(), "sim:pico.img").len(), 1);
}
