//! What a newcomer meets first: the usual mistakes of a first push, each
//! answered in one clause with the way on, and errors from a device that
//! carry the device's own words first and ota's advice after.

mod util;

use util::*;

#[test]
fn a_folder_without_dir_is_refused_with_the_flag_that_takes_it() {
    let d = tempdir();
    write(&d.path().join("app"), "main.py", b"print(1)\n");
    let r = run(d.path(), &["--port", "sim:p.img", "push", "app"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("a folder to push goes with --dir: `ota push --dir app`"),
        "{}",
        r.stderr
    );
    assert!(!d.path().join("p.img").exists(), "nothing reached a device");
}

#[test]
fn a_push_with_nothing_to_push_names_both_ways_on() {
    let d = tempdir();
    let r = run(d.path(), &["--port", "sim:p.img", "push"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("nothing to push"), "{}", r.stderr);
    assert!(r.stderr.contains("`ota push --dir DIR`"), "{}", r.stderr);
    assert!(r.stderr.contains("`owner` and `repo`"), "{}", r.stderr);
}

#[test]
fn a_refusal_says_the_devices_words_then_the_advice() {
    let d = tempdir();
    let app = d.path().join("app");
    write(&app, "big.bin", &content(3, 1_600_000));
    let r = run(
        d.path(),
        &[
            "--port",
            "sim:p.img",
            "push",
            "--dir",
            "app",
            "--version",
            "v1",
        ],
    );
    assert_eq!(r.code, 6, "{}", r.stderr);
    let line = r.stderr.lines().last().unwrap_or("");
    assert!(line.starts_with("ota: error: sim:p.img"), "{line}");
    assert!(line.contains("nothing was sent"), "{line}");
}
