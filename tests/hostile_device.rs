//! A device that floods the host or answers falsely: endless answers nobody
//! asked for, endless file lists, a list that lost an entry, a Ready for
//! another session, an impossible Info; and MicroPython boards on a pty that
//! flood, trickle, send an endless line or fail with a traceback. Each
//! command ends by its own deadline (the configured timeout plus a second)
//! with exit 5 and a message saying what the device did, within a memory limit.

mod util;

use std::time::{Duration, Instant};

use util::hostile_device::{serve, serve_pty, Flood};
use util::hostile_repl::{self, Misbehaviour};
use util::limits::{assert_clean_exit, run_limited};
use util::*;

fn config(dir: &std::path::Path) {
    write(dir, "ota_config.json", br#"{"device_timeout_sec": 1}"#);
}

/// The timeout the pty boards' tests configure, in seconds.
const TIMEOUT: u64 = 2;

/// Runs ota against `port` under the memory limit; asserts the exit code,
/// the message, and an end within the configured timeout plus a second.
fn ends_in_time(port: &str, args: &[&str], message: &str) -> Run {
    ends_within(port, args, message, TIMEOUT)
}

/// [`ends_in_time`] with a timeout of `timeout` seconds.
fn ends_within(port: &str, args: &[&str], message: &str, timeout: u64) -> Run {
    let dir = tempdir();
    write(
        dir.path(),
        "ota_config.json",
        format!(r#"{{"device_timeout_sec": {timeout}}}"#).as_bytes(),
    );
    write(dir.path(), "app/main.py", b"print(1)\n");
    let all: Vec<&str> = ["--port", port].iter().chain(args).copied().collect();
    let started = Instant::now();
    let r = run_limited(dir.path(), &all);
    let took = started.elapsed();
    assert_clean_exit(&r, 5, message);
    assert!(r.stderr.contains(port), "{}", r.stderr);
    assert!(
        took < Duration::from_secs(timeout + 1),
        "ota took {took:?} (the timeout is {timeout}s):\n{}",
        r.stderr
    );
    r
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
    // Not asked again: a device that floods will not answer the next try either.
    let r = ends_in_time(
        &serve_pty(Flood::DoneAfterList),
        &["push", "--dir", "app"],
        "frames that do not answer Begin within 2s; is it an ota agent?",
    );
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

#[test]
fn a_list_that_lost_an_entry_is_an_error_not_a_shorter_tree() {
    for args in [&["ls"][..], &["push", "--dir", "app"]] {
        let r = ends_in_time(
            &serve_pty(Flood::DroppedEntry),
            args,
            "the device's file list is incomplete: it ended the list after 0 of the 1 files it counts",
        );
        assert!(!r.stderr.contains("committed:"), "{}", r.stderr);
    }
}

#[test]
fn a_ready_for_another_session_is_named_at_once() {
    ends_in_time(
        &serve_pty(Flood::OtherSession),
        &["push", "--dir", "app"],
        "the agent answered Begin with Ready for another session (deadbeef",
    );
}

#[test]
fn an_info_with_more_free_flash_than_flash_is_refused() {
    ends_in_time(
        &serve_pty(Flood::ImpossibleInfo),
        &["status"],
        "the device's Info is impossible",
    );
}

#[test]
fn a_board_that_floods_after_the_paste_request_is_stopped_at_the_byte_budget() {
    let r = ends_in_time(
        &hostile_repl::serve(Misbehaviour::FloodAfterPaste),
        &["status"],
        "the board sent 16 MiB in",
    );
    // Which wait the budget ends depends on how fast the flood comes: the
    // answer to the request (1.5 s), or the quiet line ota waits for after it.
    let steps = [
        "while ota waited for the raw REPL's answer to the raw-paste request",
        "while ota waited for a quiet line after the raw-paste request",
    ];
    assert!(steps.iter().any(|s| r.stderr.contains(s)), "{}", r.stderr);
    assert!(
        r.stderr.contains("is a program printing in a loop?"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_board_that_trickles_after_the_paste_request_ends_by_the_deadline() {
    ends_in_time(
        &hostile_repl::serve(Misbehaviour::TrickleAfterPaste),
        &["status"],
        "while ota waited for a quiet line after the raw-paste request",
    );
}

#[test]
fn a_200_mb_probe_answer_is_stopped_at_the_byte_budget() {
    // A timeout far beyond the time 16 MiB take on a pseudo-terminal, so
    // that the budget, not the clock, is what stops it on any machine.
    let r = ends_within(
        &hostile_repl::serve(Misbehaviour::LongProbeLine),
        &["ls"],
        "the board sent 16 MiB in",
        60,
    );
    assert!(
        r.stderr
            .contains("while ota waited for the answer to the agent probe"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_traceback_from_the_agent_is_reported_at_once_with_its_last_line() {
    let r = ends_in_time(
        &hostile_repl::serve(Misbehaviour::Traceback),
        &["status"],
        "the ota agent stopped with an error on the board",
    );
    assert!(
        r.stderr.contains(hostile_repl::TRACEBACK_LAST),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("does not answer as a MicroPython REPL"),
        "{}",
        r.stderr
    );
}

#[test]
fn garbage_after_the_agent_started_is_the_agents_not_an_applications() {
    let r = ends_in_time(
        &hostile_repl::serve(Misbehaviour::GarbageAfterReady),
        &["status"],
        "the ota agent sent",
    );
    assert!(r.stderr.contains("but no valid frame"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("an application answers there"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_trickle_after_the_agent_started_ends_by_the_deadline() {
    let r = ends_in_time(
        &hostile_repl::serve(Misbehaviour::TrickleAfterReady),
        &["status"],
        "no answer to Hello after ",
    );
    assert!(r.stderr.contains("the ota agent sent"), "{}", r.stderr);
    assert!(r.stderr.contains("but no valid frame"), "{}", r.stderr);
}
