//! A device that floods the host: endless answers nobody asked for, endless
//! file lists. Each command ends by its own deadline with exit 5 and a
//! message naming the device, within a memory limit.

mod util;

use util::hostile_device::{serve, Flood};
use util::limits::{assert_clean_exit, run_limited};
use util::*;

fn config(dir: &std::path::Path) {
    write(dir, "ota_config.json", br#"{"device_timeout_sec": 1}"#);
}

#[test]
fn endless_done_frames_end_status_and_ls_by_their_deadline() {
    let dir = tempdir();
    config(dir.path());
    let port = serve(Flood::DoneToAll);
    for cmd in [&["status"][..], &["ls"]] {
        let args: Vec<&str> = ["--port", &port].iter().chain(cmd).copied().collect();
        let r = run_limited(dir.path(), &args);
        assert_clean_exit(
            &r,
            5,
            "frames that do not answer Hello; is it an ota agent?",
        );
        assert!(r.stderr.contains(&port), "{}", r.stderr);
    }
}

#[test]
fn endless_done_frames_after_hello_end_a_push() {
    let dir = tempdir();
    config(dir.path());
    write(dir.path(), "app/main.py", b"print(1)\n");
    let port = serve(Flood::DoneAfterHello);
    let r = run_limited(dir.path(), &["--port", &port, "push", "--dir", "app"]);
    assert_clean_exit(&r, 5, "frames that do not answer ListFiles");
    let r = run_limited(dir.path(), &["--port", &port, "ls"]);
    assert_clean_exit(&r, 5, "frames that do not answer ListFiles");
    let port = serve(Flood::DoneAfterList);
    let r = run_limited(dir.path(), &["--port", &port, "push", "--dir", "app"]);
    assert_clean_exit(&r, 5, "no answer to Begin within 1s");
    assert!(r.stderr.contains("nothing was committed"), "{}", r.stderr);
}

#[test]
fn an_endless_file_list_stops_at_the_agents_own_limit() {
    let dir = tempdir();
    config(dir.path());
    let port = serve(Flood::Files);
    let r = run_limited(dir.path(), &["--port", &port, "ls"]);
    assert_clean_exit(
        &r,
        5,
        "the device listed more than the 512 files its agent holds; stopped reading",
    );
}
