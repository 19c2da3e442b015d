//! ota against a real MicroPython (the unix port from PyPI) playing a board:
//! its filesystem a sandbox folder, a restart its reboot, SIGKILL its power cut.

mod util;

use std::path::Path;

use util::mpy_board::{micropython, Board, BoardOptions};
use util::{run, tempdir, tree_of, write};

const CONFIRMING_MAIN: &str = "import ota_boot\nota_boot.confirm()\n";

fn app(dir: &Path, version: &str) {
    write(dir, "main.py", CONFIRMING_MAIN.as_bytes());
    write(
        dir,
        "lib/util.py",
        format!("VERSION = {version:?}\n").as_bytes(),
    );
    write(dir, "assets/blob.bin", &util::content(7, 3000));
    write(dir, "empty/__init__.py", b"");
    // Runs longer than a COBS block (254 bytes without a zero), and only zeros.
    let nonzero: Vec<u8> = (0..5000u32).map(|i| (i % 255 + 1) as u8).collect();
    write(dir, "assets/nonzero.bin", &nonzero);
    write(dir, "assets/zeros.bin", &[0u8; 3000]);
}

/// The managed files on the board: the tree's paths with their SHA-1s, from the sandbox.
fn board_files(b: &Board, paths: &[(String, String)]) -> Vec<(String, String)> {
    let all = tree_of(&b.root);
    all.into_iter()
        .filter(|(p, _)| paths.iter().any(|(q, _)| q == p))
        .collect()
}

fn version_json(b: &Board) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(b.root.join("version.json")).unwrap()).unwrap()
}

#[test]
fn push_status_unchanged_and_one_file_changed() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    app(&src, "v1");
    write(&root, "data/user.txt", b"the user's own data");
    write(&root, "ota_config.json", b"{}");
    let b = Board::start(&mp, &root, BoardOptions::default());

    let r = run(
        tmp.path(),
        &[
            "--port",
            &b.port,
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            "v1",
        ],
    )
    .ok();
    let doc = r.json();
    assert_eq!(doc["result"], "confirmed", "{}", r.stderr);
    let want = tree_of(&src);
    assert_eq!(board_files(&b, &want), want);
    let v = version_json(&b);
    assert_eq!(v["version"], "v1");
    assert_eq!(v["ref"], "dir");
    assert_eq!(
        std::fs::read(root.join("data/user.txt")).unwrap(),
        b"the user's own data"
    );
    assert!(root.join("boot.py").exists() && root.join("lib/ota_boot.py").exists());
    assert!(
        root.join(".ota/agent.py").exists(),
        "the agent is kept on the board"
    );

    let st = util::status(tmp.path(), &b.port);
    assert_eq!(st["state"], "confirmed", "{st}");
    assert_eq!(st["active"]["version"], "v1");
    assert!(
        st["agent_version"].as_str().unwrap().contains("sha1"),
        "{st}"
    );
    assert_eq!(util::device_files(tmp.path(), &b.port), want);

    let r = run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v1"],
    )
    .ok();
    assert!(r.stderr.contains("up to date"), "{}", r.stderr);

    write(&src, "lib/util.py", b"VERSION = 'v2'\n");
    let doc = run(
        tmp.path(),
        &[
            "--port",
            &b.port,
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            "v2",
        ],
    )
    .ok()
    .json();
    assert_eq!(doc["files_sent"], 1, "{doc}");
    let want = tree_of(&src);
    assert_eq!(board_files(&b, &want), want);
    assert_eq!(version_json(&b)["version"], "v2");
    assert_eq!(
        util::status(tmp.path(), &b.port)["previous"]["version"],
        "v1"
    );
}

#[test]
fn rename_rollback_and_the_users_boot_py() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    app(&src, "v1");
    // The board's own boot.py keeps running at every boot, after ota's hook.
    write(
        &root,
        "boot.py",
        b"f = open('/data/boots.log', 'a')\nf.write('boot\\n')\nf.close()\n",
    );
    write(&root, "data/boots.log", b"");
    let b = Board::start(&mp, &root, BoardOptions::default());
    run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v1"],
    )
    .ok();
    let v1 = tree_of(&src);
    let log = std::fs::read_to_string(root.join("data/boots.log")).unwrap();
    assert_eq!(
        log.lines().count(),
        2,
        "the user's boot.py ran at both boots: {log}"
    );
    assert!(root.join(".ota/boot_user.py").exists());

    // A rename sends nothing: the board copies what it has.
    std::fs::rename(src.join("lib/util.py"), src.join("lib/helpers.py")).unwrap();
    let doc = run(
        tmp.path(),
        &[
            "--port",
            &b.port,
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            "v2",
        ],
    )
    .ok()
    .json();
    assert_eq!(doc["files_sent"], 0, "{doc}");
    let v2 = tree_of(&src);
    assert_eq!(board_files(&b, &v2), v2);
    assert!(!root.join("lib/util.py").exists());

    run(tmp.path(), &["--port", &b.port, "rollback"]).ok();
    assert_eq!(board_files(&b, &v1), v1);
    assert!(!root.join("lib/helpers.py").exists());
    assert_eq!(version_json(&b)["version"], "v1");
    let st = util::status(tmp.path(), &b.port);
    assert_eq!(
        (st["active"]["version"].as_str(), st["state"].as_str()),
        (Some("v1"), Some("confirmed"))
    );
    // Boots: the first, and one after each push; none for status, ls or rollback.
    assert_eq!(
        std::fs::read_to_string(root.join("data/boots.log"))
            .unwrap()
            .lines()
            .count(),
        3
    );
}

#[test]
fn a_trial_that_never_confirms_is_rolled_back_at_boot() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    app(&src, "v1");
    let b = Board::start(&mp, &root, BoardOptions::default());
    run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v1"],
    )
    .ok();
    let v1 = tree_of(&src);

    write(&src, "main.py", b"print('v2 runs but never confirms')\n");
    write(&src, "lib/new.py", b"x = 1\n");
    write(
        tmp.path(),
        "ota_config.json",
        br#"{"confirm_timeout_sec": 1}"#,
    );
    let r = run(
        tmp.path(),
        &[
            "--port",
            &b.port,
            "push",
            "--dir",
            "app",
            "--version",
            "v2",
            "--boots",
            "1",
        ],
    );
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "main.py does not call ota_boot.confirm(): waiting 1s for it; push --boots 0"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("did not confirm: its program ended without calling `ota_boot.confirm()`"),
        "{}",
        r.stderr
    );
    let st = util::status(tmp.path(), &b.port);
    assert_eq!(
        (st["state"].as_str(), st["boots_left"].as_u64()),
        (Some("trial"), Some(0)),
        "{st}"
    );

    // The next boot finds no boots left: files and version.json go back together.
    run(tmp.path(), &["--port", &b.port, "reboot"]).ok();
    let st = util::status(tmp.path(), &b.port);
    assert_eq!(
        (st["active"]["version"].as_str(), st["state"].as_str()),
        (Some("v1"), Some("confirmed")),
        "{st}"
    );
    assert_eq!(board_files(&b, &tree_of(&src)), v1);
    assert!(!root.join("lib/new.py").exists());
    assert_eq!(version_json(&b)["version"], "v1");
    assert!(!root.join(".ota/prev").exists() && !root.join(".ota/stage").exists());
}

#[test]
fn a_first_trial_that_never_confirms_fails_and_is_not_called_confirmed() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let src = tmp.path().join("app");
    write(&src, "main.py", b"print('v1 runs but never confirms')\n");
    write(
        tmp.path(),
        "ota_config.json",
        br#"{"confirm_timeout_sec": 1}"#,
    );
    let b = Board::start(&mp, &tmp.path().join("board"), BoardOptions::default());
    let push = ["--port", &b.port, "push", "--dir", "app", "--version", "v1"];
    let r = run(tmp.path(), &[&push[..], &["--boots", "1"]].concat());
    assert_eq!(r.code, 5, "{}", r.stderr);
    // The next boot finds no boots left and nothing to go back to.
    run(tmp.path(), &["--port", &b.port, "reboot"]).ok();
    let st = util::status(tmp.path(), &b.port);
    assert_eq!(st["state"], "failed", "{st}");
    assert_eq!(st["history"]["active_failed_boots"], 1, "{st}");
    let text = run(tmp.path(), &["--port", &b.port, "status"]).ok().stdout;
    assert!(
        text.contains("v1 failed its trial (1 boot); no earlier tree to fall back to"),
        "{text}"
    );
    // Tried again as a new trial, then accepted as it is.
    run(
        tmp.path(),
        &["--port", &b.port, "rollback", "--force", "--boots", "2"],
    )
    .ok();
    let st = util::status(tmp.path(), &b.port);
    assert_eq!(
        (st["state"].as_str(), st["boots_left"].as_u64()),
        (Some("trial"), Some(2)),
        "{st}"
    );
    run(tmp.path(), &["--port", &b.port, "confirm"]).ok();
    assert_eq!(util::status(tmp.path(), &b.port)["state"], "confirmed");
}

#[test]
fn a_tree_replaced_in_trial_comes_back_in_trial() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let src = tmp.path().join("app");
    write(&src, "main.py", b"print('never confirms')\n");
    write(
        tmp.path(),
        "ota_config.json",
        br#"{"confirm_timeout_sec": 1}"#,
    );
    let b = Board::start(&mp, &tmp.path().join("board"), BoardOptions::default());
    for (version, boots) in [("v1", "3"), ("v2", "3")] {
        write(&src, "lib/v.py", version.as_bytes());
        let r = run(
            tmp.path(),
            &[
                "--port",
                &b.port,
                "push",
                "--dir",
                "app",
                "--version",
                version,
                "--boots",
                boots,
            ],
        );
        assert_eq!(r.code, 5, "{}", r.stderr);
    }
    run(tmp.path(), &["--port", &b.port, "rollback"]).ok();
    let st = util::status(tmp.path(), &b.port);
    assert_eq!(st["active"]["version"], "v1", "{st}");
    assert_eq!(st["state"], "trial", "v1 never confirmed: {st}");
}

#[test]
fn hooks_run_and_a_firmware_without_raw_paste_works() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    app(&src, "v1");
    let opts = BoardOptions {
        no_raw_paste: true,
        ..Default::default()
    };
    let b = Board::start(&mp, &root, opts);
    run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v1"],
    )
    .ok();

    write(
        &src,
        "hooks/post.py",
        b"open('/data_post.txt', 'w').write('post_update ran')\n",
    );
    write(
        &src,
        "hooks/back.py",
        b"open('/data_back.txt', 'w').write('rollback ran')\n",
    );
    run(
        tmp.path(),
        &[
            "manifest",
            "gen",
            "--version",
            "v2",
            "--root",
            "app",
            "--post-update",
            "hooks/post.py",
            "--rollback",
            "hooks/back.py",
            "-o",
            "app/manifest.json",
            "main.py",
            "lib",
            "assets",
            "empty",
            "hooks",
        ],
    )
    .ok();
    run(tmp.path(), &["--port", &b.port, "push", "--staged", "app"]).ok();
    assert_eq!(
        std::fs::read_to_string(root.join("data_post.txt")).unwrap(),
        "post_update ran"
    );
    run(tmp.path(), &["--port", &b.port, "rollback"]).ok();
    assert_eq!(
        std::fs::read_to_string(root.join("data_back.txt")).unwrap(),
        "rollback ran"
    );
    assert!(!root.join("hooks").join("post.py").exists());
}

/// After a power cut and the boot that follows: exactly the old tree or the
/// new one, every file whole, version.json with it, nothing left staged.
fn old_or_new(b: &Board, old: &[(String, String)], new: &[(String, String)]) -> &'static str {
    let paths: Vec<_> = old.iter().chain(new).cloned().collect();
    let now = board_files(b, &paths);
    let version = version_json(b)["version"].as_str().unwrap().to_string();
    if now == old && version == "v1" {
        "old"
    } else if now == new && version == "v2" {
        "new"
    } else {
        panic!("a mix after a power cut: {now:?} with version {version}");
    }
}

/// A board holding v1 (and user data), and the v2 folder: made once, copied for each cut.
struct Before {
    dir: tempfile::TempDir,
    old: Vec<(String, String)>,
    new: Vec<(String, String)>,
}

fn before(mp: &Path) -> Before {
    before_with(mp, small_update)
}

/// v1 of `app`, or (`to_v2`) its v2: one file changed, two added or grown, one removed.
fn small_update(src: &Path, to_v2: bool) {
    if !to_v2 {
        return app(src, "v1");
    }
    write(src, "lib/util.py", b"VERSION = 'v2'\n");
    write(src, "assets/blob.bin", &util::content(8, 9000));
    write(src, "lib/more.py", &util::content(9, 5000));
    std::fs::remove_file(src.join("empty/__init__.py")).unwrap();
}

/// v1 of the package project (22 files), or its v2: a template, a module of
/// the subpackage and a static file changed, a module added, one removed.
fn package_update(src: &Path, to_v2: bool) {
    if !to_v2 {
        return package_project(src, "hello");
    }
    package_project(src, "hi");
    write(
        src,
        "lib/shop/util/text.py",
        b"def fill(t, who):\n    return t.replace('{{who}}', who.upper())\n",
    );
    write(src, "static/logo.bin", &util::content(12, 6000));
    write(src, "lib/shop/parts/part14.py", b"N = 14\n");
    std::fs::remove_file(src.join("lib/shop/parts/part3.py")).unwrap();
}

fn before_with(mp: &Path, make: fn(&Path, bool)) -> Before {
    let dir = tempdir();
    let (src, root) = (dir.path().join("app"), dir.path().join("board"));
    make(&src, false);
    write(&root, "data/user.txt", b"keep me");
    let b = Board::start(mp, &root, BoardOptions::default());
    run(
        dir.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v1"],
    )
    .ok();
    let old = tree_of(&src);
    drop(b);
    make(&src, true);
    let new = tree_of(&src);
    write(
        dir.path(),
        "ota_config.json",
        br#"{"device_timeout_sec": 1}"#,
    );
    // For the look afterwards: the board may still be booting, on a busy machine.
    write(dir.path(), "patient.json", br#"{"device_timeout_sec": 20}"#);
    Before { dir, old, new }
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// Pushes v2 onto a copy of the v1 board with `opts`' power cut, boots once
/// more, and says which tree the board came back with, and whether it was cut.
fn power_cut_run(mp: &Path, setup: &Before, opts: BoardOptions) -> (&'static str, bool) {
    let tmp = tempdir();
    copy_dir(setup.dir.path(), tmp.path());
    let root = tmp.path().join("board");
    let what = (opts.cut_after_bytes, opts.cut_at_point);
    let b = Board::start(mp, &root, opts);
    let push = run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v2"],
    );
    let cut = b.cut.load(std::sync::atomic::Ordering::SeqCst);
    // One more boot after whatever happened, then look.
    let r = run(
        tmp.path(),
        &["--config", "patient.json", "--port", &b.port, "reboot"],
    );
    assert_eq!(
        r.code, 0,
        "reboot after the cut {what:?}: {}\npush: {}",
        r.stderr, push.stderr
    );
    run(
        tmp.path(),
        &["--config", "patient.json", "--port", &b.port, "status"],
    )
    .ok();
    let seen = old_or_new(&b, &setup.old, &setup.new);
    assert_eq!(
        std::fs::read(root.join("data/user.txt")).unwrap(),
        b"keep me"
    );
    (seen, cut)
}

#[test]
fn power_cuts_during_the_transfer_leave_old_or_new() {
    let Some(mp) = micropython() else { return };
    let setup = before(&mp);
    let mut seen = Vec::new();
    // v2's push sends about 16 KB to the board: cut it from the REPL's
    // control characters to the last data frame.
    for at in [10u64, 300, 1_000, 3_000, 6_000, 9_000, 12_000, 15_000] {
        let opts = BoardOptions {
            cut_after_bytes: Some(at),
            ..Default::default()
        };
        let (tree, cut) = power_cut_run(&mp, &setup, opts);
        assert!(cut, "no cut at byte {at}");
        seen.push(tree);
    }
    eprintln!("power cuts in the transfer: {seen:?}");
    assert!(seen.contains(&"old"), "{seen:?}");
}

/// A power cut at every filesystem step of the switch of a project laid
/// out in packages (22 files, nested folders in the stage and in the
/// previous tree's keep): each leaves exactly the old tree or the new one.
/// The cuts run a few at a time, each on its own board: most of a run is
/// ota waiting out its timeout for the board it lost.
#[test]
fn power_cuts_at_every_step_of_the_switch_leave_old_or_new() {
    let Some(mp) = micropython() else { return };
    let setup = before_with(&mp, package_update);
    assert!(setup.new.len() >= 20, "{}", setup.new.len());
    const AT_ONCE: u64 = 6;
    let mut seen = Vec::new();
    'sweep: for first in (1..).step_by(AT_ONCE as usize) {
        assert!(first < 200, "the switch never ran to its end");
        let batch: Vec<(&'static str, bool)> = std::thread::scope(|s| {
            let runs: Vec<_> = (first..first + AT_ONCE)
                .map(|point| {
                    let (mp, setup) = (&mp, &setup);
                    s.spawn(move || {
                        let opts = BoardOptions {
                            cut_at_point: Some(point),
                            ..Default::default()
                        };
                        power_cut_run(mp, setup, opts)
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        for (tree, cut) in batch {
            if !cut {
                break 'sweep;
            }
            seen.push(tree);
        }
    }
    eprintln!(
        "power cuts in the switch: {} points, {:?}",
        seen.len(),
        seen
    );
    assert!(
        seen.len() >= 20 && seen.contains(&"old") && seen.contains(&"new"),
        "{seen:?}"
    );
}

#[test]
fn a_push_over_a_trial_tree_keeps_the_confirmed_one_to_fall_back_to() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    app(&src, "v1");
    let b = Board::start(&mp, &root, BoardOptions::default());
    run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v1"],
    )
    .ok();
    write(&src, "main.py", b"print('never confirms')\n");
    write(&src, "lib/util.py", b"VERSION = 'v2'\n");
    write(
        tmp.path(),
        "ota_config.json",
        br#"{"confirm_timeout_sec": 1}"#,
    );
    let r = run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v2"],
    );
    assert_eq!(r.code, 5, "{}", r.stderr);

    // v3 keeps v2's lib/util.py: the board holds it only in the trial tree.
    write(&src, "main.py", CONFIRMING_MAIN.as_bytes());
    run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v3"],
    )
    .ok();
    let want = tree_of(&src);
    assert_eq!(board_files(&b, &want), want);
    let st = util::status(tmp.path(), &b.port);
    assert_eq!(st["active"]["version"], "v3");
    assert_eq!(st["previous"]["version"], "v1", "{st}");
}

#[test]
fn no_space_is_found_before_anything_is_written() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    app(&src, "v1");
    let opts = BoardOptions {
        free_blocks: Some(18),
        ..Default::default()
    };
    let b = Board::start(&mp, &root, opts);
    run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v1"],
    )
    .ok();
    let v1 = tree_of(&src);
    write(&src, "assets/big.bin", &util::content(3, 64 * 1024));
    let r = run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v2"],
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("not enough free space on the board for assets/big.bin"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was committed"), "{}", r.stderr);
    assert_eq!(board_files(&b, &tree_of(&src)), v1);
    let staged = root.join(".ota/stage");
    assert!(!staged.exists() || std::fs::read_dir(&staged).unwrap().next().is_none());
}

#[test]
fn a_fleet_of_two_boards_with_a_junit_report() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let src = tmp.path().join("app");
    app(&src, "v1");
    let a = Board::start(&mp, &tmp.path().join("a"), BoardOptions::default());
    let b = Board::start(&mp, &tmp.path().join("b"), BoardOptions::default());
    let doc = run(
        tmp.path(),
        &[
            "--port",
            &a.port,
            "--port",
            &b.port,
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            "v1",
            "--junit",
            "report.xml",
        ],
    )
    .ok()
    .json();
    assert_eq!(doc["succeeded"], 2, "{doc}");
    let junit = std::fs::read_to_string(tmp.path().join("report.xml")).unwrap();
    assert!(
        junit.contains("tests=\"2\"") && junit.contains("failures=\"0\""),
        "{junit}"
    );
    let want = tree_of(&src);
    assert_eq!(board_files(&a, &want), want);
    assert_eq!(board_files(&b, &want), want);
}

#[test]
fn an_agent_left_running_by_a_killed_ota_is_taken_over() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    app(&src, "v1");
    write(&src, "assets/big.bin", &util::content(5, 200_000));
    // A slow link, so that the push is still sending when ota is killed.
    let link = util::mpy_board::Link {
        bytes_per_sec: 200_000.0,
        one_way: std::time::Duration::from_millis(1),
    };
    let b = Board::start(
        &mp,
        &root,
        BoardOptions {
            link: Some(link),
            ..Default::default()
        },
    );
    run(tmp.path(), &["--port", &b.port, "status"]).ok();
    let sent = b.to_board.load(std::sync::atomic::Ordering::SeqCst);
    let mut ota = util::ota()
        .current_dir(tmp.path())
        .args(["--port", &b.port, "push", "--dir", "app", "--version", "v1"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while b.to_board.load(std::sync::atomic::Ordering::SeqCst) < sent + 60_000 {
        assert!(
            ota.try_wait().unwrap().is_none(),
            "the push ended before it was killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    ota.kill().unwrap();
    ota.wait().unwrap();
    assert!(!root.join("version.json").exists(), "nothing was committed");
    run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v1"],
    )
    .ok();
    let want = tree_of(&src);
    assert_eq!(board_files(&b, &want), want);
}

/// A board short of memory, as the interpreter's heap makes it: with 112k
/// the agent's program is taken but fails to start (its traceback ends in a
/// MemoryError); with 48k the board cannot even take the program. Either
/// way the board's last line is reported at once, not after the 10 s an
/// agent gets to start, and not as a board that is no REPL.
#[test]
fn a_board_out_of_memory_is_reported_at_once_with_its_last_line() {
    let Some(mp) = micropython() else { return };
    let cases = [
        ("128k", "the ota agent stopped with an error on the board: \"MemoryError: memory allocation failed"),
        // Too small even for the loader, the one program sent through the raw REPL.
        ("6k", "the board ended the paste before taking all of the program: \"MemoryError: memory allocation failed"),
    ];
    for (heap, says) in cases {
        let tmp = tempdir();
        write(
            tmp.path(),
            "ota_config.json",
            br#"{"device_timeout_sec": 5}"#,
        );
        let opts = BoardOptions {
            heap: Some(heap),
            ..Default::default()
        };
        let b = Board::start(&mp, &tmp.path().join("board"), opts);
        let started = std::time::Instant::now();
        let r = run(tmp.path(), &["--port", &b.port, "status"]);
        let took = started.elapsed();
        assert_eq!(r.code, 5, "heap {heap}: {}", r.stderr);
        assert!(r.stderr.contains(says), "heap {heap}: {}", r.stderr);
        assert!(
            !r.stderr.contains("does not answer as a MicroPython REPL"),
            "{}",
            r.stderr
        );
        assert!(
            took < std::time::Duration::from_secs(6),
            "heap {heap}: ota took {took:?} (the timeout is 5s): {}",
            r.stderr
        );
    }
}

/// A Pico without W (or the WebAssembly port): its `hashlib` has SHA-256
/// only. A push from a folder still works, since ota sends each file's
/// SHA-256 of the bytes it verified; the board reuses what it holds.
#[test]
fn a_board_without_sha1_takes_a_folder() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    app(&src, "v1");
    let opts = BoardOptions {
        no_sha1: true,
        ..Default::default()
    };
    let b = Board::start(&mp, &root, opts);
    let push = |version: &str| {
        run(
            tmp.path(),
            &[
                "--port",
                &b.port,
                "--json",
                "push",
                "--dir",
                "app",
                "--version",
                version,
            ],
        )
        .ok()
        .json()
    };
    let doc = push("v1");
    assert_eq!(doc["result"], "confirmed", "{doc}");
    let want = tree_of(&src);
    assert_eq!(board_files(&b, &want), want);
    let st = util::status(tmp.path(), &b.port);
    assert!(
        st["agent_version"].as_str().unwrap().contains(", sha256, "),
        "{st}"
    );

    write(&src, "lib/util.py", b"VERSION = 'v2'\n");
    assert_eq!(push("v2")["files_sent"], 1);
    std::fs::rename(src.join("lib/util.py"), src.join("lib/renamed.py")).unwrap();
    assert_eq!(
        push("v3")["files_sent"],
        0,
        "a rename is copied on the board"
    );
    let want = tree_of(&src);
    assert_eq!(board_files(&b, &want), want);
}

/// A project laid out as MicroPython projects are: a package in lib/ with
/// modules and a subpackage, templates and static files beside main.py.
fn package_project(dir: &Path, greeting: &str) {
    write(
        dir,
        "main.py",
        b"import ota_boot\nfrom shop import page\n\
          open('/data/page.html', 'w').write(page('index.html', 'ota'))\n\
          ota_boot.confirm()\n",
    );
    write(dir, "lib/shop/__init__.py", b"from .render import page\n");
    write(
        dir,
        "lib/shop/render.py",
        b"from .util.text import fill\n\ndef page(name, who):\n    \
          with open('/templates/' + name) as f:\n        return fill(f.read(), who)\n",
    );
    write(dir, "lib/shop/util/__init__.py", b"");
    write(
        dir,
        "lib/shop/util/text.py",
        b"def fill(t, who):\n    return t.replace('{{who}}', who)\n",
    );
    write(
        dir,
        "templates/index.html",
        format!("<p>{greeting}, {{{{who}}}}</p>\n").as_bytes(),
    );
    write(dir, "static/style.css", b"p { color: teal }\n");
    write(dir, "static/logo.bin", &util::content(11, 2500));
    for i in 0..14 {
        write(
            dir,
            &format!("lib/shop/parts/part{i}.py"),
            format!("N = {i}\n").as_bytes(),
        );
    }
}

#[test]
fn a_package_project_is_pushed_imported_and_run() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    package_project(&src, "hello");
    write(&root, "data/.keep", b"");
    let b = Board::start(&mp, &root, BoardOptions::default());
    // Confirmed at once: ota does not wait for main.py after the reboot.
    let doc = run(
        tmp.path(),
        &[
            "--port",
            &b.port,
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            "v1",
            "--boots",
            "0",
        ],
    )
    .ok()
    .json();
    assert_eq!(doc["result"], "confirmed", "{doc}");
    let want = tree_of(&src);
    assert!(want.len() >= 20, "{}", want.len());
    assert_eq!(board_files(&b, &want), want);
    assert_eq!(
        std::fs::read_to_string(root.join("data/page.html")).unwrap(),
        "<p>hello, ota</p>\n",
        "the package was imported and ran after the reboot"
    );
}

/// A boot.py the user edits after ota installed its hook (with mpremote,
/// say) is the user's: the next push keeps it as the board's own boot.py,
/// and it runs behind the hook.
#[test]
fn a_boot_py_edited_after_the_hook_is_kept_as_the_users() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    app(&src, "v1");
    write(
        &root,
        "boot.py",
        b"open('/data/first.txt', 'w').write('1')\n",
    );
    write(&root, "data/.keep", b"");
    let b = Board::start(&mp, &root, BoardOptions::default());
    run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v1"],
    )
    .ok();
    let edit = b"open('/data/edited.txt', 'w').write('2')\n";
    write(&root, "boot.py", edit);
    write(&src, "lib/util.py", b"VERSION = 'v2'\n");
    run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v2"],
    )
    .ok();
    assert_eq!(std::fs::read(root.join(".ota/boot_user.py")).unwrap(), edit);
    let hook = std::fs::read_to_string(root.join("boot.py")).unwrap();
    assert!(hook.starts_with("# ota boot hook"), "{hook}");
    assert!(
        root.join("data/edited.txt").exists(),
        "the edited boot.py ran at the reboot after the push"
    );
}

/// Files edited or deleted on the board outside ota (with mpremote, say)
/// are named by `ota status`, and the next push of the same tree puts the
/// tree's back; the edit is kept aside for a rollback, not lost.
#[test]
fn files_changed_outside_ota_are_seen_and_put_back() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    app(&src, "v1");
    let b = Board::start(&mp, &root, BoardOptions::default());
    run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v1"],
    )
    .ok();
    let want = tree_of(&src);
    std::fs::write(root.join("main.py"), b"print('edited on the board')\n").unwrap();
    std::fs::remove_file(root.join("lib/util.py")).unwrap();
    // The same size, another content: seen by its hash.
    std::fs::write(root.join("assets/blob.bin"), util::content(99, 3000)).unwrap();

    let text = run(tmp.path(), &["--port", &b.port, "status"]).ok().stdout;
    assert!(
        text.contains("changed    assets/blob.bin lib/util.py main.py: changed outside ota"),
        "{text}"
    );
    assert!(text.contains("boot.py    ota's hook"), "{text}");
    let doc = run(
        tmp.path(),
        &[
            "--port",
            &b.port,
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            "v1",
        ],
    )
    .ok()
    .json();
    // The board held these nowhere else: all three are sent again.
    assert_eq!(doc["files_sent"], 3, "{doc}");
    assert_eq!(board_files(&b, &want), want);
    let text = run(tmp.path(), &["--port", &b.port, "status"]).ok().stdout;
    assert!(!text.contains("changed "), "{text}");
}

/// A trial tree whose main.py raises at import is reported with the
/// traceback's last line as soon as the board shows it, not after the
/// confirmation's timeout; one whose application runs forever and confirms
/// is taken back as soon as it has confirmed.
#[test]
fn a_trial_is_judged_as_soon_as_the_board_shows_how_it_went() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    app(&src, "v1");
    let b = Board::start(&mp, &root, BoardOptions::default());
    run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v1"],
    )
    .ok();
    write(
        tmp.path(),
        "ota_config.json",
        br#"{"confirm_timeout_sec": 60}"#,
    );
    let push = |version: &str| {
        let started = std::time::Instant::now();
        let r = run(
            tmp.path(),
            &[
                "--port",
                &b.port,
                "push",
                "--dir",
                "app",
                "--version",
                version,
                "--boots",
                "2",
            ],
        );
        (r, started.elapsed())
    };

    write(
        &src,
        "main.py",
        b"import ota_boot\nimport no_such_module\nota_boot.confirm()\n",
    );
    let (r, took) = push("v2");
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "did not confirm: its program raised \"ImportError: no module named 'no_such_module'\""
        ),
        "{}",
        r.stderr
    );
    assert!(took < std::time::Duration::from_secs(60), "{took:?}");

    // Runs until Ctrl-C. The unix port reads its terminal only at its REPL,
    // so this one stops itself at Ctrl-C, as a Pico's USB serial stops it.
    write(
        &src,
        "main.py",
        b"import sys, ota_boot\nota_boot.confirm()\nwhile True:\n    \
          if sys.stdin.buffer.read(1) == b'\\x03':\n        raise KeyboardInterrupt\n",
    );
    let (r, took) = push("v3");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(took < std::time::Duration::from_secs(60), "{took:?}");
    let st = util::status(tmp.path(), &b.port);
    assert_eq!(
        (st["active"]["version"].as_str(), st["state"].as_str()),
        (Some("v3"), Some("confirmed")),
        "{st}"
    );
}

/// `ota agent sim --micropython`: the unix port (found on PATH) behind a
/// pseudo-terminal, its filesystem the --fs folder; a push lands there and
/// nothing is written beside it.
#[test]
fn agent_sim_micropython_is_a_board_in_a_folder() {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    app(&tmp.path().join("app"), "v1");
    let path = format!(
        "{}:{}",
        mp.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut sim = util::ota()
        .current_dir(tmp.path())
        .env("PATH", path)
        .args(["agent", "sim", "--micropython", "--fs", "board"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut port = String::new();
    std::io::BufReader::new(sim.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let port = port.trim().to_string();
    let doc = run(
        tmp.path(),
        &[
            "--port",
            &port,
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            "v1",
        ],
    )
    .ok()
    .json();
    // SIGTERM to ota alone ends the interpreter it started too.
    let interpreters = children_of(sim.id());
    assert!(!interpreters.is_empty());
    let termed = std::process::Command::new("kill")
        .args(["-s", "TERM", &sim.id().to_string()])
        .status();
    assert!(termed.is_ok_and(|s| s.success()));
    sim.wait().unwrap();
    let left: Vec<_> = interpreters.iter().filter(|p| alive(**p)).collect();
    if !left.is_empty() {
        let group = format!("-{}", sim.id());
        let _ = std::process::Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .status();
    }
    assert!(left.is_empty(), "interpreters left running: {left:?}");
    assert_eq!(doc["result"], "confirmed", "{doc}");
    let want = tree_of(&tmp.path().join("app"));
    let board = tree_of(&tmp.path().join("board"));
    assert!(want.iter().all(|f| board.contains(f)), "{board:?}");
    assert!(tmp.path().join("board/lib/ota_boot.py").exists());
    let mut beside: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    beside.sort();
    assert_eq!(beside, ["app", "board"]);
}

/// The children of process `pid` (Linux's /proc), in every thread.
fn children_of(pid: u32) -> Vec<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .flat_map(|t| {
            let list = std::fs::read_to_string(t.unwrap().path().join("children"));
            list.unwrap_or_default()
                .split_whitespace()
                .map(|p| p.parse().unwrap())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Whether `pid` still runs (a zombie has ended).
fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .next();
    !matches!(state, None | Some("Z") | Some("X"))
}

/// Removing ota as docs/micropython.md says leaves plain MicroPython: the
/// board's own boot.py back in place and running, the application's files
/// as they were, nothing of ota's left.
#[test]
fn removing_ota_by_hand_leaves_plain_micropython_with_the_users_files() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    package_project(&src, "hi");
    let own_boot = b"open('/data/boot_ran.txt', 'w').write('yes')\n";
    write(&root, "boot.py", own_boot);
    write(&root, "data/.keep", b"");
    let b = Board::start(&mp, &root, BoardOptions::default());
    run(
        tmp.path(),
        &["--port", &b.port, "push", "--dir", "app", "--version", "v1"],
    )
    .ok();
    drop(b);
    // The documented steps.
    std::fs::rename(root.join(".ota/boot_user.py"), root.join("boot.py")).unwrap();
    std::fs::remove_dir_all(root.join(".ota")).unwrap();
    std::fs::remove_file(root.join("lib/ota_boot.py")).unwrap();
    std::fs::remove_file(root.join("version.json")).unwrap();
    std::fs::remove_file(root.join("data/boot_ran.txt")).unwrap();
    std::fs::remove_file(root.join("data/page.html")).unwrap();
    // main.py imports ota_boot to confirm: without ota, the application drops that.
    let main = std::fs::read_to_string(src.join("main.py")).unwrap();
    let plain: String = main
        .lines()
        .filter(|l| !l.contains("ota_boot"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(root.join("main.py"), &plain).unwrap();

    let b = Board::start(&mp, &root, BoardOptions::default());
    b.wait_boots(1);
    let mut pending = std::fs::read_to_string(root.join("data/page.html"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while pending.is_err() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        pending = std::fs::read_to_string(root.join("data/page.html"));
    }
    assert_eq!(pending.unwrap(), "<p>hi, ota</p>\n", "the application runs");
    assert_eq!(std::fs::read(root.join("boot.py")).unwrap(), own_boot);
    assert!(
        root.join("data/boot_ran.txt").exists(),
        "the board's boot.py ran"
    );
    let tree = tree_of(&src);
    let held = tree_of(&root);
    for (p, h) in &tree {
        if p != "main.py" {
            assert!(held.contains(&(p.clone(), h.clone())), "{p} kept");
        }
    }
    drop(b);
}

/// Types `code` at the board's REPL and waits until it has run (it prints
/// a line made at run time, so the REPL's echo of the code does not count).
fn at_the_repl(b: &Board, code: &str) {
    use std::io::{Read, Write};
    let mut port = serialport::new(&b.port, 115_200)
        .timeout(std::time::Duration::from_millis(100))
        .open_native()
        .unwrap();
    port.write_all(format!("\x02\r{code}; print('RAN-' + 'AT-REPL')\r").as_bytes())
        .unwrap();
    let (mut seen, mut buf) = (Vec::new(), [0u8; 1024]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !seen.windows(11).any(|w| w == b"RAN-AT-REPL") {
        assert!(std::time::Instant::now() < deadline, "{code}: {seen:?}");
        if let Ok(n) = port.read(&mut buf) {
            seen.extend_from_slice(&buf[..n]);
        }
    }
}

/// The trial boots the board's journal has left.
fn boots_left(b: &Board) -> u64 {
    let st: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.root.join(".ota/state.json")).unwrap()).unwrap();
    assert_eq!(st["state"], "trial", "{st}");
    st["boots"].as_u64().unwrap()
}

/// Only real boots spend a trial boot: soft resets (the board's
/// machine.soft_reset(), which runs boot.py and main.py again in the same
/// interpreter, as mpremote's and Ctrl-D's do) leave the count as it is;
/// a reset (a new interpreter, the unix port's power cycle) spends one, and
/// the last one rolls back.
#[test]
fn a_soft_reset_spends_no_trial_boot_and_a_real_one_does() {
    soft_and_real_resets(false);
}

/// The same on a board that tells them apart by its uptime, as a
/// microcontroller's hook does (a soft reset leaves `time.ticks_ms()`
/// counting; a reset starts it again): its first soft reset comes 2 s
/// after the boot, the next ones at once, as two mpremote commands in a row.
#[test]
fn a_microcontroller_tells_a_soft_reset_by_its_uptime() {
    soft_and_real_resets(true);
}

fn soft_and_real_resets(mcu: bool) {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    app(&src, "v1");
    let opts = BoardOptions {
        mcu,
        ..Default::default()
    };
    let b = Board::start(&mp, &root, opts);
    let push = |version: &str, boots: &str| {
        run(
            tmp.path(),
            &[
                "--port",
                &b.port,
                "push",
                "--dir",
                "app",
                "--version",
                version,
                "--boots",
                boots,
                "--no-reboot",
            ],
        )
        .ok();
    };
    push("v1", "0");
    write(&src, "main.py", b"print('v2 runs, and does not confirm')\n");
    push("v2", "2");
    assert_eq!(boots_left(&b), 2);
    b.power_cut();
    util::status(tmp.path(), &b.port);
    assert_eq!(boots_left(&b), 1, "a reset is a boot");
    for _ in 0..3 {
        at_the_repl(&b, "import machine; machine.soft_reset()");
        assert_eq!(boots_left(&b), 1, "a soft reset is no boot");
    }
    b.power_cut();
    util::status(tmp.path(), &b.port);
    assert_eq!(boots_left(&b), 0);
    b.power_cut();
    let st = util::status(tmp.path(), &b.port);
    assert_eq!(
        (st["active"]["version"].as_str(), st["state"].as_str()),
        (Some("v1"), Some("confirmed")),
        "{st}"
    );
}

/// `push --keep-local`: files changed on the board outside ota stay as the
/// board has them, through the same tree and a new one, and the push names
/// them; `ota status` goes on naming them until a push without it puts the
/// tree's back.
#[test]
fn keep_local_leaves_files_changed_outside_ota_and_says_so() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    app(&src, "v1");
    let b = Board::start(&mp, &root, BoardOptions::default());
    let push = |version: &str, keep: bool| {
        let mut args = vec![
            "--port",
            &b.port,
            "push",
            "--dir",
            "app",
            "--version",
            version,
            "--boots",
            "0",
        ];
        if keep {
            args.push("--keep-local");
        }
        let r = run(tmp.path(), &args).ok();
        format!("{}{}", r.stdout, r.stderr)
    };
    push("v1", false);
    let edited = b"print('edited on the board')\n";
    std::fs::write(root.join("main.py"), edited).unwrap();
    std::fs::remove_file(root.join("lib/util.py")).unwrap();

    let r = push("v1", true);
    assert!(r.contains("up to date"), "{r}");
    let says =
        "lib/util.py main.py: changed on the board outside ota, kept as they are (--keep-local)";
    assert!(r.contains(says), "{r}");

    // A new tree that changes one of them, and another file.
    write(&src, "lib/util.py", b"VERSION = 'v2'\n");
    write(&src, "assets/blob.bin", &util::content(8, 4000));
    let r = push("v2", true);
    assert!(r.contains(says), "{r}");
    assert_eq!(std::fs::read(root.join("main.py")).unwrap(), edited);
    assert!(!root.join("lib/util.py").exists());
    assert_eq!(
        std::fs::read(root.join("assets/blob.bin")).unwrap(),
        util::content(8, 4000)
    );
    assert_eq!(version_json(&b)["version"], "v2");
    let text = run(tmp.path(), &["--port", &b.port, "status"]).ok().stdout;
    assert!(
        text.contains("changed    lib/util.py main.py: changed outside ota"),
        "{text}"
    );

    push("v2", false);
    let want = tree_of(&src);
    assert_eq!(board_files(&b, &want), want);
}

/// Frames spoiled on the line (the agent drops them by their CRC) are sent
/// again, also when the next file's first frames were already on their way
/// behind them (ota sends them while the agent finishes a file), and the
/// board ends with every file whole.
#[test]
fn spoiled_frames_are_sent_again_while_the_next_file_is_on_its_way() {
    let Some(mp) = micropython() else { return };
    let tmp = tempdir();
    let (src, root) = (tmp.path().join("app"), tmp.path().join("board"));
    write(&src, "main.py", CONFIRMING_MAIN.as_bytes());
    for i in 0..12u64 {
        write(&src, &format!("lib/m{i}.py"), &util::content(i, 2500));
    }
    write(
        tmp.path(),
        "ota_config.json",
        br#"{"device_timeout_sec": 1}"#,
    );
    let b = Board::start(&mp, &root, BoardOptions::default());
    let push = |version: &str| {
        run(
            tmp.path(),
            &[
                "--port",
                &b.port,
                "--json",
                "push",
                "--dir",
                "app",
                "--version",
                version,
                "--boots",
                "0",
            ],
        )
        .ok()
        .json()
    };
    push("v1");
    for i in 0..12u64 {
        write(&src, &format!("lib/m{i}.py"), &util::content(100 + i, 2600));
    }
    // Past the loader and the declaration: in the files' frames.
    let at = b.to_board.load(std::sync::atomic::Ordering::SeqCst);
    *b.corrupt.lock().unwrap() = vec![at + 4_000, at + 12_000, at + 20_000];
    let doc = push("v2");
    assert!(b.corrupt.lock().unwrap().is_empty(), "all three spoiled");
    assert_eq!(doc["result"], "confirmed", "{doc}");
    assert!(doc["resends"].as_u64().unwrap() >= 3, "{doc}");
    let want = tree_of(&src);
    assert_eq!(board_files(&b, &want), want);
}
