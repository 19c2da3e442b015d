//! What a user meets every day, on simulated devices: space counted before
//! anything is sent, a failed trial remembered, Ctrl-C that says where the
//! device stands and a next push that resumes, and errors in one clause.

mod util;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::mpsc;

use util::relay::{Faults, Relay};
use util::*;

fn push<'a>(port: &'a str, dir: &'a str, version: &'a str) -> Vec<&'a str> {
    vec!["--port", port, "push", "--dir", dir, "--version", version]
}

#[test]
fn four_hundred_tiny_files_share_sectors_and_the_count_is_the_agents() {
    let d = tempdir();
    let tiny = d.path().join("tiny");
    for i in 0..400 {
        write(
            &tiny,
            &format!("f{i:03}.txt"),
            format!("file{i:04}").as_bytes(),
        );
    }
    let dry = run(
        d.path(),
        &[
            &["--json"][..],
            &push("sim:p.img", "tiny", "t1"),
            &["--dry-run"],
        ]
        .concat(),
    )
    .ok()
    .json();
    let space = &dry["plan"]["space"];
    // A page each, 16 to a sector (25 sectors), and a record of 512 + 400 × 256 bytes (26).
    assert_eq!(space["needed_sectors"], 51);
    assert_eq!(space["free_sectors"], 318);
    assert_eq!(space["fits"], true);
    run(d.path(), &push("sim:p.img", "tiny", "t1")).ok();
    assert_eq!(device_files(d.path(), "sim:p.img"), tree_of(&tiny));
    let free = status(d.path(), "sim:p.img")["free_bytes"]
        .as_u64()
        .unwrap();
    assert_eq!(
        free,
        (318 - 51) * 4096,
        "the host counted what the agent took"
    );
}

#[test]
fn a_tree_too_big_is_refused_before_any_byte_with_needed_and_free() {
    let d = tempdir();
    let app = d.path().join("app");
    write(&app, "main.py", b"print(1)\n");
    run(d.path(), &push("sim:p.img", "app", "v1")).ok();
    write(&app, "firmware.bin", &content(9, 1_400_000));
    let dry = run(
        d.path(),
        &[
            &["--json"][..],
            &push("sim:p.img", "app", "v2"),
            &["--dry-run"],
        ]
        .concat(),
    )
    .ok()
    .json();
    assert_eq!(dry["plan"]["space"]["fits"], false);
    let r = run(d.path(), &push("sim:p.img", "app", "v2"));
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("sim:p.img: the update needs 1372 KiB of flash and 1264 KiB is free"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was sent"), "{}", r.stderr);
    assert!(!r.stderr.contains("NoSpace"), "{}", r.stderr);
    assert_eq!(status(d.path(), "sim:p.img")["active"]["version"], "v1");
}

#[test]
fn a_tree_that_fits_only_without_the_previous_one_says_so_and_drop_previous_frees_it() {
    let d = tempdir();
    let app = d.path().join("app");
    write(&app, "a.bin", &content(1, 300_000));
    write(&app, "b.bin", &content(2, 300_000));
    run(d.path(), &push("sim:p.img", "app", "v1")).ok();
    write(&app, "b.bin", &content(3, 400_000));
    run(d.path(), &push("sim:p.img", "app", "v2")).ok();
    write(&app, "a.bin", &content(4, 300_000));

    let r = run(d.path(), &push("sim:p.img", "app", "v3"));
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("pass --drop-previous to free the 300 KiB the previous tree v1 holds"),
        "{}",
        r.stderr
    );
    assert_eq!(status(d.path(), "sim:p.img")["active"]["version"], "v2");
    let human = run(d.path(), &["--port", "sim:p.img", "status"]).ok();
    assert!(
        human
            .stdout
            .contains("; the previous tree v1 holds 300.0 KiB"),
        "{}",
        human.stdout
    );

    let r = run(
        d.path(),
        &[&push("sim:p.img", "app", "v3")[..], &["--drop-previous"]].concat(),
    )
    .ok();
    assert!(
        r.stderr.contains("dropped the previous tree v1"),
        "{}",
        r.stderr
    );
    let s = status(d.path(), "sim:p.img");
    assert_eq!(s["active"]["version"], "v3");
    assert_eq!(s["previous"]["version"], "v2");
    assert_eq!(device_files(d.path(), "sim:p.img"), tree_of(&app));
}

#[test]
fn a_failed_trial_is_remembered_and_a_rollback_onto_it_needs_force() {
    let d = tempdir();
    let app = d.path().join("app");
    write(&app, "main.py", b"v1");
    run(d.path(), &push("sim:h.img", "app", "v1")).ok();
    write(&app, "main.py", b"v2");
    std::fs::write(
        d.path().join("ota_config.json"),
        r#"{"confirm_timeout_sec": 0}"#,
    )
    .unwrap();
    let broken = "sim:h.img?no-auto-confirm";
    let r = run(
        d.path(),
        &[&push(broken, "app", "v2")[..], &["--boots", "1"]].concat(),
    );
    assert_eq!(r.code, 5, "{}", r.stderr);
    // The next power-on finds no boots left and rolls back.
    let s = run(d.path(), &["--port", broken, "--json", "status"])
        .ok()
        .json();
    assert_eq!(
        s["history"],
        "v2 failed its trial (1 boot) and was rolled back to v1"
    );
    assert_eq!(s["device"]["history"]["previous_failed_boots"], 1);
    assert_eq!(s["device"]["active"]["version"], "v1");
    let human = run(d.path(), &["--port", broken, "status"]).ok();
    assert!(
        human
            .stdout
            .contains("history    v2 failed its trial (1 boot) and was rolled back to v1"),
        "{}",
        human.stdout
    );

    let r = run(d.path(), &["--port", broken, "rollback"]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr.contains("v2 failed its trial (1 boot)") && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    let r = run(
        d.path(),
        &[
            "--port", broken, "--json", "rollback", "--force", "--boots", "2",
        ],
    )
    .ok();
    let after = &r.json()["device"];
    assert_eq!(after["active"]["version"], "v2");
    assert_eq!(
        after["state"], "trial",
        "a tree that failed goes back in as a trial"
    );
}

#[test]
fn a_forced_push_of_the_running_tree_keeps_the_previous_one() {
    let d = tempdir();
    let app = d.path().join("app");
    write(&app, "main.py", b"one");
    run(d.path(), &push("sim:f.img", "app", "v1")).ok();
    write(&app, "main.py", b"two");
    run(d.path(), &push("sim:f.img", "app", "v2")).ok();
    run(
        d.path(),
        &[&push("sim:f.img", "app", "v2")[..], &["--force"]].concat(),
    )
    .ok();
    let s = status(d.path(), "sim:f.img");
    assert_eq!(s["active"]["version"], "v2");
    assert_eq!(s["previous"]["version"], "v1", "the real old version stays");
}

#[test]
fn ctrl_c_mid_push_says_where_the_device_stands_and_the_next_push_resumes() {
    let d = tempdir();
    make_tree(&d.path().join("old"), 3, 31);
    let new = d.path().join("new");
    make_tree(&new, 3, 32);
    write(&new, "big.bin", &content(33, 600_000));
    std::fs::write(
        d.path().join("ota_config.json"),
        r#"{"device_timeout_sec": 2}"#,
    )
    .unwrap();
    let sim = Sim::tcp(d.path(), "int.img");
    run(d.path(), &push(&sim.port, "old", "v1")).ok();

    // The relay holds the link once 300 kB went through: ota is mid-file then.
    let (tx, rx) = mpsc::channel();
    let faults = Faults {
        hold_at_milestone: true,
        ..Faults::default()
    };
    let relay = Relay::start(&sim.port, faults, Some((300_000, tx)));
    let child = ota()
        .current_dir(d.path())
        .args(push(&relay.addr, "new", "v2"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    rx.recv().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    relay.release();
    let r: Run = child.wait_with_output().unwrap().into();
    assert_eq!(r.code, 130, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("interrupted: nothing was committed and the device is still on v1"),
        "{}",
        r.stderr
    );
    let s = status(d.path(), &sim.port);
    assert_eq!(s["active"]["version"], "v1");
    assert!(
        s["session"].is_u64(),
        "the agent keeps the unfinished session"
    );
    let text = run(d.path(), &["--port", &sim.port, "status"]).ok();
    assert!(
        text.stdout
            .contains("(the next push of this update resumes it;"),
        "status says the session resumes:\n{}",
        text.stdout
    );

    let r = run(
        d.path(),
        &[&["--json"][..], &push(&sim.port, "new", "v2")].concat(),
    )
    .ok();
    let doc = r.json();
    assert_eq!(doc["result"], "confirmed");
    let sent = doc["bytes_sent"].as_u64().unwrap();
    assert!(
        sent < 600_000 - 200_000,
        "resumed, not sent again: {sent} bytes\n{}",
        r.stderr
    );
    assert!(doc["bytes_resumed"].as_u64().unwrap() >= 200_000);
    assert_eq!(device_files(d.path(), &sim.port), tree_of(&new));
}

#[test]
fn sigterm_mid_push_stops_the_same_way() {
    let d = tempdir();
    make_tree(&d.path().join("new"), 2, 41);
    write(&d.path().join("new"), "big.bin", &content(42, 400_000));
    let sim = Sim::tcp(d.path(), "term.img");
    let (tx, rx) = mpsc::channel();
    let faults = Faults {
        hold_at_milestone: true,
        ..Faults::default()
    };
    let relay = Relay::start(&sim.port, faults, Some((100_000, tx)));
    let child = ota()
        .current_dir(d.path())
        .args(push(&relay.addr, "new", "v1"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    rx.recv().unwrap();
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(killed.unwrap().success());
    relay.release();
    let r: Run = child.wait_with_output().unwrap().into();
    assert_eq!(r.code, 130, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("nothing was committed and the device still holds no tree"),
        "{}",
        r.stderr
    );
}

/// A TCP port that answers like something other than an agent: nothing,
/// a MicroPython REPL, or an application printing lines.
fn fake_port(answer: &'static [u8]) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("tcp:{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 256];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || (!answer.is_empty() && s.write_all(answer).is_err()) {
                        break;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_port_that_is_not_an_agent_says_what_it_looks_like() {
    let d = tempdir();
    std::fs::write(
        d.path().join("ota_config.json"),
        r#"{"device_timeout_sec": 1, "power_on_wait_sec": 1}"#,
    )
    .unwrap();
    let cases: [(&[u8], &str); 3] = [
        (
            b"",
            "nothing answers there (a tcp: port cannot carry the 1200-baud touch",
        ),
        (
            b"MicroPython v1.22.0; Raspberry Pi Pico W\r\n>>> ",
            "a MicroPython REPL answers there, not the ota agent",
        ),
        (
            b"temp=21.5C\r\n",
            "an application answers there (it sent \"temp=21.5C\\r\\n",
        ),
    ];
    for (answer, says) in cases {
        let port = fake_port(answer);
        let r = run(d.path(), &["--port", &port, "status"]);
        assert_eq!(r.code, 5, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!("{port}: {says}")),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn a_serial_port_that_is_not_there_is_waited_for_as_a_board_at_power_on() {
    let d = tempdir();
    std::fs::write(
        d.path().join("ota_config.json"),
        r#"{"power_on_wait_sec": 1}"#,
    )
    .unwrap();
    let port = "/dev/ttyOTA-no-such-board";
    let r = run(d.path(), &["--port", port, "status"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    let mut lines = r.stderr.lines();
    assert_eq!(
        lines.next(),
        Some(
            "/dev/ttyOTA-no-such-board: no such port (a board whose application runs without USB \
             shows none): reset or replug the board; ota waits for the agent"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("and no agent answered within 1s"),
        "{}",
        r.stderr
    );
}

#[test]
fn config_mistakes_are_told() {
    let d = tempdir();
    let example = include_str!("../ota_config.example.json");
    std::fs::write(d.path().join("ota_config.json"), example).unwrap();
    let r = run(d.path(), &["--port", "sim:c.img", "push"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "ota_config.json: field `owner` is still the placeholder \"your-github-user\""
        ),
        "{}",
        r.stderr
    );
    std::fs::write(d.path().join("ota_config.json"), r#"{"chunck": 512}"#).unwrap();
    let r = run(d.path(), &["--port", "sim:c.img", "status"]).ok();
    assert!(
        r.stderr.contains(
            "ota: warning: ota_config.json: unknown field `chunck` ignored (did you mean `chunk`?)"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn small_mistakes_get_one_clause_with_the_way_on() {
    let d = tempdir();
    make_tree(&d.path().join("app"), 2, 7);
    let r = run(d.path(), &push("sim:m.img", "app", ""));
    assert_eq!(r.code, 2, "an empty --version is refused: {}", r.stderr);
    let r = run(d.path(), &["--port", "sim:m.img", "ls", "--previous"]);
    assert_eq!(r.code, 6);
    assert!(
        r.stderr
            .contains("sim:m.img: the device holds no previous tree"),
        "{}",
        r.stderr
    );
    let r = run(
        d.path(),
        &["--port", "sim:m.img", "push", "--staged", "app"],
    );
    assert_eq!(r.code, 3);
    assert!(
        r.stderr
            .contains("app: not a folder written by `ota stage`"),
        "{}",
        r.stderr
    );
    std::fs::write(d.path().join("short.img"), [0u8; 100]).unwrap();
    let r = run(d.path(), &["--port", "sim:short.img", "status"]);
    assert_eq!(r.code, 5);
    assert_eq!(
        r.stderr.trim(),
        "ota: error: sim:short.img: the flash image is 100 bytes where a board's is 2097152; remove the file or name another one"
    );
}

#[test]
fn a_folder_signed_with_manifest_sign_goes_to_a_provisioned_agent() {
    let d = tempdir();
    let rel = d.path().join("rel");
    write(&rel, "main.py", b"print(1)\n");
    write(&rel, "lib.py", b"x = 2\n");
    write(&rel, "notes.txt", b"not listed, not pushed\n");
    run(d.path(), &["keygen", "--out", "release"]).ok();
    let gen = [
        "manifest",
        "gen",
        "--version",
        "v1.0.0",
        "--ref",
        "v1.0.0",
        "--commit",
        "c0ffee0000000000000000000000000000000001",
        "--root",
        "rel",
        "--out",
        "rel/manifest.json",
        "main.py",
        "lib.py",
    ];
    run(d.path(), &gen).ok();
    run(
        d.path(),
        &["manifest", "sign", "rel/manifest.json", "--key", "release"],
    )
    .ok();
    run(
        d.path(),
        &[
            "--port",
            "sim:pv.img",
            "provision",
            "--pubkey",
            "release.pub",
        ],
    )
    .ok();

    let r = run(d.path(), &push("sim:pv.img", "rel", "v0"));
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr.contains("--dir DIR --manifest manifest.json"),
        "{}",
        r.stderr
    );

    let signed = [
        "--port",
        "sim:pv.img",
        "--json",
        "push",
        "--dir",
        "rel",
        "--manifest",
        "rel/manifest.json",
    ];
    let doc = run(d.path(), &signed).ok().json();
    assert_eq!(doc["result"], "confirmed");
    assert_eq!(doc["to_version"], "v1.0.0");
    let on_device: Vec<String> = device_files(d.path(), "sim:pv.img")
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(on_device, ["lib.py", "main.py"]);

    // A file changed after signing is caught on the host.
    write(&rel, "lib.py", b"x = 3\n");
    let r = run(d.path(), &[&signed[..], &["--force"]].concat());
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("lib.py"), "{}", r.stderr);
}

/// Device ids and timings vary from run to run; nothing else may.
fn normalized(line: &str) -> String {
    line.split(' ')
        .map(|w| {
            let hex = w.len() == 16 && w.chars().all(|c| c.is_ascii_hexdigit());
            let secs = w
                .trim_end_matches([',', ';'])
                .strip_suffix('s')
                .is_some_and(|n| n.parse::<f64>().is_ok());
            match (hex, secs) {
                (true, _) => "<id>".to_string(),
                (_, true) => "<secs>".to_string(),
                _ => w.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_readme_shows_what_the_tool_prints() {
    let readme = include_str!("../README.md");
    let block = readme
        .split("## What it looks like\n\n```text\n")
        .nth(1)
        .and_then(|r| r.split("```").next())
        .expect("the README's sample session");
    let d = tempdir();
    let app = d.path().join("examples/blink/files");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/blink/files");
    for (path, _) in tree_of(&src) {
        write(&app, &path, &std::fs::read(src.join(&path)).unwrap());
    }
    let mut printed = Vec::new();
    for line in block.lines().filter(|l| l.starts_with("$ ota ")) {
        let args: Vec<&str> = line["$ ota ".len()..]
            .split(' ')
            .map(|a| a.trim_matches('\''))
            .collect();
        if args.contains(&"v2") {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(app.join("blink.txt"))
                .unwrap();
            f.write_all(b"x\n").unwrap();
        }
        let r = run(d.path(), &args).ok();
        printed.extend(r.stderr.lines().chain(r.stdout.lines()).map(normalized));
    }
    for line in block.lines().filter(|l| !l.starts_with('$')) {
        assert!(
            printed.contains(&normalized(line)),
            "README shows {line:?}; ota printed:\n{}",
            printed.join("\n")
        );
    }
}

#[test]
fn a_github_host_that_cannot_be_reached_is_named_with_the_reason() {
    let d = tempdir();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = format!(
        r#"{{"owner": "me", "repo": "app", "api_url": "http://127.0.0.1:{port}", "retries": 0}}"#
    );
    std::fs::write(d.path().join("ota_config.json"), config).unwrap();
    let r = run(d.path(), &["--port", "sim:g.img", "push"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        format!("ota: error: cannot connect to 127.0.0.1:{port}: connection refused")
    );
}
