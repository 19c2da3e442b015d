//! Link faults between ota and an agent: a relay in the test corrupts and
//! drops bytes and cuts connections mid-file; the agent process is killed
//! mid-push and restarted on its flash. Every run must end in success with
//! the right content, or a clean error with the old tree intact, and the
//! next push must finish the job.

mod util;

use std::sync::atomic::Ordering;
use std::sync::mpsc;

use util::relay::{Faults, Relay};
use util::*;

fn fast_timeouts(dir: &std::path::Path) {
    std::fs::write(dir.join("ota_config.json"), r#"{"device_timeout_sec": 2}"#).unwrap();
}

/// Success with the new tree, or a clean error (exit 5) with the old tree; then a clean push finishes.
fn check_outcome(
    d: &std::path::Path,
    r: Run,
    sim_port: &str,
    old: &std::path::Path,
    new: &std::path::Path,
) -> bool {
    let on_device = device_files(d, sim_port);
    let ok = r.code == 0;
    if ok {
        assert_eq!(on_device, tree_of(new), "push said success: {}", r.stderr);
    } else if r
        .stderr
        .contains("is committed, but the device did not restart")
    {
        // Every Reboot was lost to the faults: the new tree is committed
        // whole and waits in trial for the next reset, as the message says.
        assert_eq!(r.code, 5, "{}", r.stderr);
        assert_eq!(on_device, tree_of(new), "a committed tree is whole");
    } else {
        assert_eq!(r.code, 5, "a link failure is a device error: {}", r.stderr);
        assert!(r.stderr.contains("still on its old tree"), "{}", r.stderr);
        assert_eq!(on_device, tree_of(old), "failed push left a changed device");
        run(
            d,
            &[
                "--port",
                sim_port,
                "push",
                "--dir",
                "new",
                "--version",
                "v2",
            ],
        )
        .ok();
        assert_eq!(device_files(d, sim_port), tree_of(new));
    }
    ok
}

fn setup(d: &std::path::Path) -> Sim {
    make_tree(&d.join("old"), 6, 21);
    make_tree(&d.join("new"), 12, 22);
    write(&d.join("new"), "big.bin", &content(99, 200_000));
    fast_timeouts(d);
    let sim = Sim::tcp(d, "relay.img");
    run(
        d,
        &[
            "--port",
            &sim.port,
            "push",
            "--dir",
            "old",
            "--version",
            "v1",
        ],
    )
    .ok();
    sim
}

#[test]
fn corrupted_and_dropped_bytes_are_resent() {
    for seed in 1..=2u64 {
        let d = tempdir();
        let sim = setup(d.path());
        let faults = Faults {
            seed,
            corrupt: 100,
            drop: 150,
            ..Faults::default()
        };
        let (relay, r) = push_through(d.path(), &sim, faults);
        let succeeded = check_outcome(
            d.path(),
            r,
            &sim.port,
            &d.path().join("old"),
            &d.path().join("new"),
        );
        assert!(relay.to_agent.load(Ordering::SeqCst) > 200_000);
        eprintln!(
            "seed {seed}: {}",
            if succeeded {
                "pushed through the faults"
            } else {
                "clean error"
            }
        );
    }
}

/// `push --dir new --version v2` through a relay with `faults`.
fn push_through(d: &std::path::Path, sim: &Sim, faults: Faults) -> (Relay, Run) {
    let relay = Relay::start(&sim.port, faults, None);
    let args = [
        "--port",
        &relay.addr,
        "--json",
        "push",
        "--dir",
        "new",
        "--version",
        "v2",
    ];
    let r = run(d, &args);
    (relay, r)
}

/// A push through a relay that loses the first `lose` Reboot requests.
fn push_losing_reboots(d: &std::path::Path, sim: &Sim, lose: u32) -> Run {
    let faults = Faults {
        lose_reboots: lose,
        ..Faults::default()
    };
    push_through(d, sim, faults).1
}

#[test]
fn a_lost_reboot_is_asked_again_and_the_new_tree_confirmed() {
    let d = tempdir();
    let sim = setup(d.path());
    let r = push_losing_reboots(d.path(), &sim, 2).ok();
    assert_eq!(r.json()["result"], "confirmed", "{}", r.stderr);
    assert_eq!(
        device_files(d.path(), &sim.port),
        tree_of(&d.path().join("new"))
    );
    let s = status(d.path(), &sim.port);
    assert_eq!(
        (s["state"].as_str(), s["active"]["version"].as_str()),
        (Some("confirmed"), Some("v2"))
    );
}

#[test]
fn a_device_that_never_gets_the_reboot_is_said_not_to_have_restarted() {
    let d = tempdir();
    let sim = setup(d.path());
    let r = push_losing_reboots(d.path(), &sim, u32::MAX);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("v2 is committed, but the device did not restart")
            && r.stderr.contains("`ota reboot`"),
        "{}",
        r.stderr
    );
    // Committed whole, in trial with every boot left, until the reset it never got.
    assert_eq!(
        device_files(d.path(), &sim.port),
        tree_of(&d.path().join("new"))
    );
    let s = status(d.path(), &sim.port);
    assert_eq!(s["state"], "trial", "{s}");
    run(d.path(), &["--port", &sim.port, "reboot"]).ok();
    assert_eq!(status(d.path(), &sim.port)["state"], "confirmed");
}

#[test]
fn a_cut_link_mid_file_is_reconnected_and_resumed() {
    let d = tempdir();
    let sim = setup(d.path());
    let faults = Faults {
        seed: 5,
        cut_after: 100_000,
        ..Faults::default()
    };
    let doc = push_through(d.path(), &sim, faults).1.ok().json();
    assert_eq!(doc["result"], "confirmed");
    assert!(doc["reconnects"].as_u64().unwrap() >= 1, "{doc}");
    assert_eq!(
        device_files(d.path(), &sim.port),
        tree_of(&d.path().join("new"))
    );
}

#[test]
fn killing_the_agent_mid_push_leaves_the_old_tree_and_the_next_push_finishes() {
    let d = tempdir();
    let mut sim = setup(d.path());
    let (tx, rx) = mpsc::channel();
    let relay = Relay::start(
        &sim.port,
        Faults {
            seed: 1,
            corrupt: 0,
            drop: 0,
            cut_after: 0,
            ..Faults::default()
        },
        Some((120_000, tx)),
    );
    let push = ota()
        .current_dir(d.path())
        .args([
            "--port",
            &relay.addr,
            "push",
            "--dir",
            "new",
            "--version",
            "v2",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Mid-file: the relay has forwarded 120 kB of the push.
    rx.recv().unwrap();
    sim.kill();
    let restarted = Sim::tcp(d.path(), "relay.img");
    *relay.upstream.lock().unwrap() = restarted.port.trim_start_matches("tcp:").to_string();
    let out = push.wait_with_output().unwrap();
    let r: Run = out.into();
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("still on its old tree"), "{}", r.stderr);
    assert_eq!(
        device_files(d.path(), &restarted.port),
        tree_of(&d.path().join("old"))
    );
    // A second push finishes the job.
    run(
        d.path(),
        &[
            "--port",
            &restarted.port,
            "push",
            "--dir",
            "new",
            "--version",
            "v2",
        ],
    )
    .ok();
    assert_eq!(
        device_files(d.path(), &restarted.port),
        tree_of(&d.path().join("new"))
    );
}

#[test]
fn a_different_board_answering_after_a_drop_ends_the_push_at_once() {
    let d = tempdir();
    write(&d.path().join("app"), "big.bin", &content(51, 400_000));
    let a = Sim::tcp(d.path(), "a.img");
    let b = Sim::tcp(d.path(), "b.img");
    // The link is held once 100 kB went through, then cut; meanwhile the
    // relay is pointed at another board, which answers the reconnection.
    let (tx, rx) = mpsc::channel();
    let faults = Faults {
        hold_at_milestone: true,
        cut_after: 100_000,
        ..Faults::default()
    };
    let relay = Relay::start(&a.port, faults, Some((100_000, tx)));
    let child = ota()
        .current_dir(d.path())
        .args([
            "--port",
            &relay.addr,
            "push",
            "--dir",
            "app",
            "--version",
            "v1",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    rx.recv().unwrap();
    *relay.upstream.lock().unwrap() = b.port.trim_start_matches("tcp:").to_string();
    relay.release();
    let r: Run = child.wait_with_output().unwrap().into();
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr.contains("a different board answered"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("pick the board with --serial"),
        "{}",
        r.stderr
    );
    // Not retried like a lost frame: one reconnection found the other board, and ota stopped.
    assert_eq!(relay.connections.load(Ordering::SeqCst), 2, "{}", r.stderr);
    assert!(
        status(d.path(), &b.port)["active"].is_null(),
        "the other board was not written"
    );
}
