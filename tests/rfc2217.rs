//! RFC 2217 against implementations ota did not write: pyserial's client
//! touches `ota agent sim --listen --app` at 1200 baud and the application
//! resets into the agent; ota pushes through pyserial's own RFC 2217 server
//! (its PortManager) in front of the pseudo-terminal of `ota agent sim --pty`.
//! The peers run from target/pyserial-venv (`.ci/python-peers`).

mod util;

use util::peers::{self, Peer};
use util::*;

#[test]
fn pyserial_touches_the_application_into_the_agent() {
    let Some(python) = peers::venv(
        "pyserial-venv",
        "pyserial_touches_the_application_into_the_agent",
    ) else {
        return;
    };
    let d = tempdir();
    std::fs::write(
        d.path().join("ota_config.json"),
        r#"{"device_timeout_sec": 1, "power_on_wait_sec": 1}"#,
    )
    .unwrap();
    let sim = Sim::start(d.path(), "app.img", &["--listen", "127.0.0.1:0", "--app"]);
    // The application runs: a plain tcp: port finds no agent there.
    let r = run(d.path(), &["--port", &sim.port, "status"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    let url = sim.port.replace("tcp:", "rfc2217://");
    let out = peers::command(&python, d.path(), "pyserial_touch.py", &[&url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyserial: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The agent serves now, without any touch of ota's own.
    let doc = run(d.path(), &["--port", &sim.port, "--json", "status"])
        .ok()
        .json();
    assert_eq!(doc["application_was_running"], false);
    assert_eq!(doc["device"]["app"], "valid");
}

#[test]
fn ota_pushes_through_pyserials_rfc2217_server() {
    let Some(python) = peers::venv(
        "pyserial-venv",
        "ota_pushes_through_pyserials_rfc2217_server",
    ) else {
        return;
    };
    let d = tempdir();
    make_tree(&d.path().join("app"), 20, 2217);
    let sim = Sim::start(d.path(), "pty.img", &["--pty"]);
    let mut bridge = Peer::start(&python, d.path(), "pyserial_bridge.py", &[&sim.port]);
    let url = format!("rfc2217://127.0.0.1:{}", bridge.line());
    let push = |extra: &[&str]| {
        let mut args = vec![
            "--port",
            &url,
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            "v1",
        ];
        args.extend_from_slice(extra);
        run(d.path(), &args).ok().json()
    };
    let doc = push(&[]);
    assert_eq!(doc["result"], "confirmed");
    assert_eq!(device_files(d.path(), &url), tree_of(&d.path().join("app")));
    assert_eq!(push(&["--no-reboot"])["result"], "up-to-date");
}
