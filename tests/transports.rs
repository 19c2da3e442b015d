//! The real serial path (a pseudo-terminal served by `ota agent sim --pty`)
//! and the TCP path (`--listen`), one host at a time.

mod util;

use util::*;

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
