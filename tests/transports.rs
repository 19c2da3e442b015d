//! The real serial path (a pseudo-terminal served by `ota agent sim --pty`)
//! and the TCP path (`--listen`), one host at a time; `tcp:` is one plain
//! connection, so it works through a one-connection forwarder.

mod util;

use std::sync::atomic::Ordering;

use util::relay::{Faults, Relay};
use util::*;

fn push_json(d: &std::path::Path, port: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "--port",
        port,
        "--json",
        "push",
        "--dir",
        "app",
        "--version",
        "v1",
    ];
    args.extend_from_slice(extra);
    run(d, &args).ok().json()
}

#[test]
fn tcp_is_one_plain_connection_through_a_single_connection_forwarder() {
    let d = tempdir();
    make_tree(&d.path().join("app"), 50, 27);
    let sim = Sim::tcp(d.path(), "relay.img");
    let relay = Relay::start(
        &sim.port,
        Faults {
            single: true,
            ..Faults::default()
        },
        None,
    );
    let doc = push_json(d.path(), &relay.addr, &[]);
    assert_eq!(doc["result"], "confirmed");
    let before = relay.connections.load(Ordering::SeqCst);
    let doc = push_json(d.path(), &relay.addr, &["--no-reboot"]);
    assert_eq!(doc["result"], "up-to-date");
    assert_eq!(
        relay.connections.load(Ordering::SeqCst) - before,
        1,
        "an unchanged push is one connection"
    );
}

#[test]
fn a_tcp_port_in_front_of_an_application_names_rfc2217() {
    let d = tempdir();
    std::fs::write(
        d.path().join("ota_config.json"),
        r#"{"device_timeout_sec": 1, "power_on_wait_sec": 1}"#,
    )
    .unwrap();
    let sim = Sim::start(d.path(), "app.img", &["--listen", "127.0.0.1:0", "--app"]);
    let r = run(d.path(), &["--port", &sim.port, "status"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    let rfc = sim.port.replace("tcp:", "rfc2217://");
    assert!(
        r.stderr
            .contains(&format!("for an application with USB use {rfc}")),
        "{}",
        r.stderr
    );
}

#[test]
fn rfc2217_and_raw_tcp_share_the_port_of_ota_agent_sim() {
    let d = tempdir();
    make_tree(&d.path().join("app"), 9, 13);
    let sim = Sim::tcp(d.path(), "both.img");
    let rfc = sim.port.replace("tcp:", "rfc2217://");
    assert_eq!(push_json(d.path(), &rfc, &[])["result"], "confirmed");
    assert_eq!(
        device_files(d.path(), &sim.port),
        tree_of(&d.path().join("app"))
    );
    assert_eq!(device_files(d.path(), &rfc), tree_of(&d.path().join("app")));
}

#[test]
fn push_over_a_pseudo_terminal_uses_the_serial_path() {
    let d = tempdir();
    let app = d.path().join("app");
    make_tree(&app, 9, 11);
    let sim = Sim::start(d.path(), "pty.img", &["--pty"]);
    assert!(sim.port.starts_with("/dev/"), "a tty path: {}", sim.port);
    let doc = run(
        d.path(),
        &[
            "--port",
            &sim.port,
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
    assert_eq!(doc["result"], "confirmed");
    assert_eq!(device_files(d.path(), &sim.port), tree_of(&app));
    // Again: nothing to send.
    let doc = run(
        d.path(),
        &[
            "--port",
            &sim.port,
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
    assert_eq!(doc["result"], "up-to-date");
}

#[test]
fn push_over_tcp_then_reboot_reconnects() {
    let d = tempdir();
    let app = d.path().join("app");
    make_tree(&app, 9, 12);
    let sim = Sim::tcp(d.path(), "tcp.img");
    assert!(sim.port.starts_with("tcp:127.0.0.1:"), "{}", sim.port);
    let doc = run(
        d.path(),
        &[
            "--port",
            &sim.port,
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
    assert_eq!(doc["result"], "confirmed");
    assert_eq!(device_files(d.path(), &sim.port), tree_of(&app));
    run(d.path(), &["--port", &sim.port, "reboot"]).ok();
    assert_eq!(status(d.path(), &sim.port)["active"]["version"], "v1");
}

#[test]
fn a_second_ota_on_the_same_device_gets_port_busy() {
    let d = tempdir();
    // The simulated image is locked by the server...
    let sim = Sim::tcp(d.path(), "busy.img");
    let r = run(d.path(), &["--port", "sim:busy.img", "status"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("port busy"), "{}", r.stderr);
    // ...and a TCP agent talks to one host at a time.
    let mut first = std::net::TcpStream::connect(sim.port.trim_start_matches("tcp:")).unwrap();
    std::io::Write::write_all(&mut first, &[0]).unwrap();
    let r = run(d.path(), &["--port", &sim.port, "status"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("port busy"), "{}", r.stderr);
    // The same over RFC 2217, once its negotiation is done.
    let rfc = sim.port.replace("tcp:", "rfc2217://");
    let r = run(d.path(), &["--port", &rfc, "status"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("{rfc}: port busy")),
        "{}",
        r.stderr
    );
    drop(first);
}

#[test]
fn a_second_opener_of_a_serial_port_gets_port_busy() {
    let d = tempdir();
    let sim = Sim::start(d.path(), "pty2.img", &["--pty"]);
    let _held = serialport::new(&sim.port, 115_200)
        .open()
        .expect("first opener");
    let r = run(d.path(), &["--port", &sim.port, "status"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("port busy"), "{}", r.stderr);
}
