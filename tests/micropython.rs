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
