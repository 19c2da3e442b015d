//! Benches of boards: several simulated agents at once (pseudo-terminals and
//! TCP), one failing mid-stream, a board followed by serial number across a
//! re-enumeration, and one download for many devices.

#[path = "util/fake_github.rs"]
mod fake_github;
mod util;

use std::path::Path;

use util::relay::{Faults, Relay};
use util::*;

fn fleet(d: &Path) -> Vec<Sim> {
    vec![
        Sim::start(d, "a.img", &["--pty"]),
        Sim::start(d, "b.img", &["--pty"]),
        Sim::tcp(d, "c.img"),
        Sim::tcp(d, "d.img"),
    ]
}

#[test]
fn push_to_four_devices_at_once_with_json_and_junit() {
    let d = tempdir();
    make_tree(&d.path().join("app"), 20, 3);
    let sims = fleet(d.path());
    let ports: Vec<&str> = sims.iter().map(|s| s.port.as_str()).collect();
    let r = ota_in(d.path())
        .ports(&ports)
        .args(&[
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            "v1",
            "--junit",
            "report.xml",
        ])
        .ok();
    let doc = r.json();
    assert_eq!(doc["succeeded"], 4);
    assert_eq!(doc["failed"], 0);
    for rec in doc["devices"].as_array().unwrap() {
        assert_eq!(rec["result"], "confirmed", "{rec}");
        assert_eq!(rec["to_version"], "v1");
        assert!(rec["bytes_sent"].as_u64().unwrap() > 0);
        assert!(rec["seconds"].as_f64().is_some());
    }
    for p in &ports {
        assert_eq!(device_files(d.path(), p), tree_of(&d.path().join("app")));
    }
    let junit = std::fs::read_to_string(d.path().join("report.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), 4);
    assert!(junit.contains("failures=\"0\""), "{junit}");
    // Status of all four in one document.
    let doc = ota_in(d.path())
        .ports(&ports)
        .args(&["--json", "status"])
        .ok()
        .json();
    assert_eq!(doc["devices"].as_array().unwrap().len(), 4);
}

#[test]
fn one_device_failing_mid_stream_does_not_stop_the_others() {
    let d = tempdir();
    std::fs::write(
        d.path().join("ota_config.json"),
        r#"{"device_timeout_sec": 1}"#,
    )
    .unwrap();
    make_tree(&d.path().join("app"), 10, 4);
    write(&d.path().join("app"), "big.bin", &content(5, 300_000));
    let sims = fleet(d.path());
    let broken = Relay::start(
        &sims[3].port,
        Faults {
            cut_after: 60_000,
            gone_after_cut: true,
            ..Faults::default()
        },
        None,
    );
    let ports = [
        sims[0].port.as_str(),
        sims[1].port.as_str(),
        sims[2].port.as_str(),
        broken.addr.as_str(),
    ];
    let r = ota_in(d.path())
        .ports(&ports)
        .args(&[
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            "v1",
            "--junit",
            "report.xml",
        ])
        .run();
    assert_eq!(r.code, 5, "a device failed: {}", r.stderr);
    let doc = r.json();
    assert_eq!(
        (doc["succeeded"].as_u64(), doc["failed"].as_u64()),
        (Some(3), Some(1))
    );
    let failed: Vec<_> = doc["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["port"], broken.addr.as_str());
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("still on its old tree"),
        "{}",
        failed[0]
    );
    assert!(r.stderr.contains("1 of 4 devices failed"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&broken.addr),
        "the summary names the failed device: {}",
        r.stderr
    );
    let junit = std::fs::read_to_string(d.path().join("report.xml")).unwrap();
    assert!(junit.contains("failures=\"1\""), "{junit}");
    assert!(junit.contains("<failure type=\"device\""), "{junit}");
    for p in &ports[..3] {
        assert_eq!(device_files(d.path(), p), tree_of(&d.path().join("app")));
    }
}

#[test]
fn a_board_is_followed_by_serial_number_when_it_re_enumerates() {
    let d = tempdir();
    make_tree(&d.path().join("app"), 6, 5);
    let by_id = d.path().join("by-id");
    let sim = Sim::start(
        d.path(),
        "board.img",
        &["--pty", "--by-id", by_id.to_str().unwrap()],
    );
    let serial = status(d.path(), &sim.port)["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    let link = by_id.join(format!("usb-ota_ota_agent_{serial}-if00"));
    let before = std::fs::read_link(&link).unwrap();
    let doc = ota_in(d.path())
        .env("OTA_SERIAL_BY_ID", &by_id)
        .args(&[
            "--serial",
            &serial,
            "push",
            "--dir",
            "app",
            "--version",
            "v1",
        ])
        .json();
    assert_eq!(doc["result"], "confirmed");
    let after = std::fs::read_link(&link).unwrap();
    assert_ne!(before, after, "the reboot moved the board to a new port");
    assert_eq!(doc["device"]["active"]["version"], "v1");
    // `ota devices` finds it by its by-id link, with what it runs.
    let doc = ota_in(d.path())
        .env("OTA_SERIAL_BY_ID", &by_id)
        .args(&["devices"])
        .json();
    let devs = doc["devices"].as_array().unwrap();
    let me = devs
        .iter()
        .find(|x| x["serial"] == serial.as_str())
        .expect("the agent is listed");
    assert_eq!(me["kind"], "agent");
    assert_eq!(me["device"]["active"]["version"], "v1");
}

#[test]
fn a_pico_that_is_not_an_agent_is_listed_as_such() {
    use serialport::SerialPort;
    let d = tempdir();
    let by_id = d.path().join("by-id");
    std::fs::create_dir_all(&by_id).unwrap();
    let (_master, slave) = serialport::TTYPort::pair().unwrap();
    let tty = slave.name().unwrap();
    std::os::unix::fs::symlink(
        &tty,
        by_id.join("usb-MicroPython_Board_in_FS_mode_e6614c311b7e6f35-if00"),
    )
    .unwrap();
    let doc = ota_in(d.path())
        .env("OTA_SERIAL_BY_ID", &by_id)
        .args(&["devices"])
        .json();
    let devs = doc["devices"].as_array().unwrap();
    let mp = devs
        .iter()
        .find(|x| x["port"] == tty.as_str())
        .expect("the MicroPython board is listed");
    assert_eq!(mp["kind"], "Pico running MicroPython");
}

#[test]
fn the_update_is_downloaded_once_for_many_devices() {
    let d = tempdir();
    let repo = d.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    fake_github::git(&repo, &["init", "-q", "-b", "main"]);
    make_tree(&repo, 15, 6);
    fake_github::git(&repo, &["add", "-A"]);
    fake_github::git(&repo, &["commit", "-q", "-m", "one"]);
    fake_github::git(&repo, &["tag", "v1"]);
    let gh = fake_github::FakeGithub::start(&repo, "acme", "app");
    gh.add_release("v1", None);
    let config = serde_json::json!({"owner": "acme", "repo": "app", "api_url": gh.api_url, "raw_url": gh.raw_url});
    std::fs::write(d.path().join("ota_config.json"), config.to_string()).unwrap();
    let sims = fleet(d.path());
    let ports: Vec<&str> = sims.iter().map(|s| s.port.as_str()).collect();
    let doc = ota_in(d.path())
        .env("OTA_CACHE_DIR", d.path().join("cache"))
        .ports(&ports)
        .args(&["push"])
        .json();
    assert_eq!(doc["succeeded"], 4);
    let (_, _, raw) = gh.counts();
    assert_eq!(raw, 15, "each file downloaded once, not once per device");
}

#[test]
fn junit_is_written_even_when_no_board_is_found() {
    let d = tempdir();
    make_tree(&d.path().join("app"), 2, 7);
    let by_id = d.path().join("by-id");
    std::fs::create_dir_all(&by_id).unwrap();
    let r = ota_in(d.path())
        .env("OTA_SERIAL_BY_ID", &by_id)
        .args(&["--all", "push", "--dir", "app", "--junit", "report.xml"])
        .run();
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("no ota agent attached"), "{}", r.stderr);
    let junit = std::fs::read_to_string(d.path().join("report.xml")).unwrap();
    assert!(junit.contains("tests=\"1\" failures=\"1\""), "{junit}");
    assert!(junit.contains("<failure type=\"device\""), "{junit}");
    assert!(junit.contains("no ota agent attached"), "{junit}");
}

#[test]
fn with_nothing_on_usb_ota_waits_for_the_agent_to_power_on_and_hands_the_board_back() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let d = tempdir();
    let by_id = d.path().join("by-id");
    std::fs::create_dir_all(&by_id).unwrap();
    std::fs::write(
        d.path().join("ota_config.json"),
        r#"{"power_on_wait_sec": 300}"#,
    )
    .unwrap();
    let mut status = ota_in(d.path())
        .env("OTA_SERIAL_BY_ID", &by_id)
        .args(&["--json", "status"])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(status.stderr.take().unwrap());
    let mut notice = String::new();
    stderr.read_line(&mut notice).unwrap();
    assert_eq!(
        notice.trim_end(),
        "no Pico on USB (a board whose application runs without USB shows none): \
         reset or replug the board; ota waits for the agent"
    );
    // The board powers on: its agent's port appears (announced on stdout,
    // as again at each reboot).
    let mut sim = ota()
        .current_dir(d.path())
        .args(["agent", "sim", "--flash", "board.img", "--pty", "--by-id"])
        .arg(&by_id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut announced = BufReader::new(sim.stdout.take().unwrap()).lines();
    let first_port = announced.next().unwrap().unwrap();
    let mut out = String::new();
    status
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(status.wait().unwrap().success(), "{rest}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["reached_in_power_on_window"], true, "{out}");
    assert_eq!(doc["port"], first_port.as_str(), "{out}");
    // Handed back when done: the agent was told to reboot, and its port
    // comes up again.
    assert!(announced.next().is_some_and(|l| l.is_ok()), "{rest}");
    let _ = sim.kill();
    let _ = sim.wait();
}

/// `ota agent sim --pty --by-id DIR --app-without-usb` on `flash`: its
/// stdin (to power-cycle it) and its announcements (a port came up).
fn board_without_usb(d: &Path, flash: &str, by_id: &Path) -> std::process::Child {
    use std::process::Stdio;
    ota()
        .current_dir(d)
        .args([
            "agent",
            "sim",
            "--flash",
            flash,
            "--pty",
            "--app-without-usb",
            "--by-id",
        ])
        .arg(by_id)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs `ota ARGS` against the board, power-cycling it once ota says it waits.
fn through_a_power_cycle(d: &Path, board: &mut std::process::Child, args: &[&str]) -> Run {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;
    let mut child = ota_in(d)
        .env("OTA_SERIAL_BY_ID", d.join("by-id"))
        .args(args)
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut notice = String::new();
    stderr.read_line(&mut notice).unwrap();
    assert!(
        notice.ends_with("reset or replug the board; ota waits for the agent\n"),
        "{notice}"
    );
    let stdin = board.stdin.as_mut().unwrap();
    stdin.write_all(b"power-cycle\n").unwrap();
    stdin.flush().unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let code = child.wait().unwrap().code().unwrap_or(-1);
    Run {
        code,
        stdout,
        stderr: notice + &rest,
    }
}

#[test]
fn a_board_on_usb_whose_application_has_none_is_pushed_to_and_reached_at_power_on() {
    let d = tempdir();
    make_tree(&d.path().join("app"), 3, 2);
    let by_id = d.path().join("by-id");
    std::fs::write(
        d.path().join("ota_config.json"),
        r#"{"power_on_wait_sec": 300}"#,
    )
    .unwrap();
    // Its serial number, from the agent alone on the same flash.
    let serial = {
        let sim = Sim::start(d.path(), "board.img", &["--pty"]);
        status(d.path(), &sim.port)["device_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let mut board = board_without_usb(d.path(), "board.img", &by_id);
    let r = through_a_power_cycle(
        d.path(),
        &mut board,
        &[
            "--serial",
            &serial,
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            "v1",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "{serial}: not on USB (a board whose application runs without USB shows no port)"
        )),
        "{}",
        r.stderr
    );
    let doc = r.json();
    assert_eq!(doc["result"], "started", "{doc}");
    assert_eq!(doc["application_without_usb"], true, "{doc}");
    let r = through_a_power_cycle(
        d.path(),
        &mut board,
        &["--serial", &serial, "--json", "status"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc = r.json();
    assert_eq!(doc["reached_in_power_on_window"], true, "{doc}");
    assert_eq!(doc["device"]["active"]["version"], "v1", "{doc}");
    let _ = board.kill();
    let _ = board.wait();
}
