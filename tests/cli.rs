//! The command line as users meet it first: help, exit codes, config errors,
//! and the shell completions checked into `completions/`.

mod util;

use util::*;

const SHELLS: &[(&str, &str)] = &[
    ("bash", "ota.bash"),
    ("zsh", "_ota"),
    ("fish", "ota.fish"),
    ("powershell", "_ota.ps1"),
    ("elvish", "ota.elv"),
];

/// The files in completions/ are what `ota completions SHELL` prints today.
/// To refresh them: `OTA_UPDATE_COMPLETIONS=1 cargo test --test cli`.
#[test]
fn completions_are_fresh() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let update = std::env::var_os("OTA_UPDATE_COMPLETIONS").is_some();
    for (shell, file) in SHELLS {
        let r = run(&dir, &["completions", shell]).ok();
        let path = dir.join(file);
        if update {
            std::fs::write(&path, &r.stdout).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == r.stdout,
            "completions/{file} is stale: run `OTA_UPDATE_COMPLETIONS=1 cargo test --test cli`"
        );
    }
}

/// The man pages in man/ are what the CLI definition renders today.
/// Refreshed with the completions: `OTA_UPDATE_COMPLETIONS=1 cargo test --test cli`.
#[test]
fn man_pages_are_fresh() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let update = std::env::var_os("OTA_UPDATE_COMPLETIONS").is_some();
    let pages = ota::man::pages();
    if update {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut names = Vec::new();
    for (name, text) in &pages {
        let path = dir.join(name);
        if update {
            std::fs::write(&path, text).unwrap();
        }
        let checked_in = std::fs::read(&path).unwrap_or_default();
        assert!(
            &checked_in == text,
            "man/{name} is stale: run `OTA_UPDATE_COMPLETIONS=1 cargo test --test cli`"
        );
        names.push(name.clone());
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk, names,
        "man/ holds a page for each command and nothing else"
    );
    for page in [
        "ota.1",
        "ota-push.1",
        "ota-agent-install.1",
        "ota-monitor.1",
        "ota-bootsel.1",
    ] {
        assert!(names.iter().any(|n| n == page), "{page} missing");
    }
}

#[test]
fn help_documents_exit_codes_and_every_command() {
    let d = tempdir();
    let r = run(d.path(), &["--help"]).ok();
    for needle in [
        "Exit codes:",
        "push",
        "status",
        "ls",
        "confirm",
        "rollback",
        "reboot",
        "agent",
        "completions",
        "bootsel",
        "monitor",
    ] {
        assert!(
            r.stdout.contains(needle),
            "--help lacks {needle}:\n{}",
            r.stdout
        );
    }
    for cmd in [
        "push",
        "status",
        "ls",
        "confirm",
        "rollback",
        "reboot",
        "completions",
    ] {
        let r = run(d.path(), &[cmd, "--help"]).ok();
        assert!(
            r.stdout.contains("Example") && r.stdout.contains("Exit codes:"),
            "{cmd} --help lacks an example or the exit codes:\n{}",
            r.stdout
        );
    }
    run(d.path(), &["agent", "sim", "--help"]).ok();
    run(d.path(), &["agent", "install", "--help"]).ok();
}

#[test]
fn device_options_appear_only_where_a_device_is_involved() {
    let d = tempdir();
    for cmd in [
        &["keygen"][..],
        &["manifest", "gen"],
        &["stage"],
        &["completions"],
    ] {
        let r = run(d.path(), &[cmd, &["--help"]].concat()).ok();
        assert!(!r.stdout.contains("--port"), "{cmd:?}:\n{}", r.stdout);
    }
    for cmd in ["push", "status", "rollback"] {
        let r = run(d.path(), &[cmd, "--help"]).ok();
        assert!(r.stdout.contains("--port"), "{cmd}:\n{}", r.stdout);
    }
    for cmd in [&["agent", "uf2"][..], &["agent", "sim"]] {
        let r = run(d.path(), &[cmd, &["--help"]].concat()).ok();
        for option in ["--port", "--serial", "--all"] {
            assert!(!r.stdout.contains(option), "{cmd:?}:\n{}", r.stdout);
        }
    }
    for cmd in [&["agent", "install"][..], &["bootsel"], &["monitor"]] {
        let r = run(d.path(), &[cmd, &["--help"]].concat()).ok();
        assert!(r.stdout.contains("--port"), "{cmd:?}:\n{}", r.stdout);
    }
}

/// Every command path: `push`, `agent install`, ...
fn command_paths(cmd: &clap::Command, above: &[String], out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut path = above.to_vec();
        path.push(sub.get_name().to_string());
        command_paths(sub, &path, out);
        out.push(path);
    }
}

#[test]
fn every_help_has_an_example_and_the_exit_codes() {
    let d = tempdir();
    let mut paths = Vec::new();
    command_paths(&ota::cli::command(), &[], &mut paths);
    assert!(paths.len() > 20, "{paths:?}");
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let r = run(d.path(), &args).ok();
        assert!(
            r.stdout.contains("Example") && r.stdout.contains("Exit codes:"),
            "{path:?} --help lacks an example or the exit codes:\n{}",
            r.stdout
        );
    }
}

#[test]
fn man_pages_show_value_names_in_their_synopsis() {
    let pages = ota::man::pages();
    let page = |name: &str| {
        let (_, text) = pages.iter().find(|(n, _)| n == name).unwrap();
        String::from_utf8(text.clone()).unwrap()
    };
    let push = page("ota-push.1");
    let synopsis = push
        .split(".SH SYNOPSIS")
        .nth(1)
        .and_then(|s| s.split(".SH").next())
        .unwrap();
    for word in [
        "[\\-\\-dir DIR]",
        "[\\-\\-port PORT]...",
        "[\\-\\-boots N]",
        "[\\-v|\\-\\-verbose]...",
    ] {
        assert!(synopsis.contains(word), "{word} not in:\n{synopsis}");
    }
    let sign = page("ota-manifest-sign.1");
    assert!(
        sign.contains("(\\-\\-key SECRET | \\-\\-hmac\\-key KEY) MANIFEST"),
        "{sign}"
    );
    assert!(page("ota-agent-uf2.1").contains("Exit codes:"));
}

#[test]
fn usage_and_config_errors_exit_2_and_name_the_field() {
    let d = tempdir();
    assert_eq!(run(d.path(), &["push", "--bogus"]).code, 2);
    std::fs::write(d.path().join("ota_config.json"), r#"{"window": "wide"}"#).unwrap();
    let r = ota_in(d.path()).port("sim:x.img").args(&["status"]).run();
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("ota_config.json: field `window`"),
        "{}",
        r.stderr
    );
    let r = run(d.path(), &["--config", "missing.json", "status"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("missing.json"), "{}", r.stderr);
}

#[test]
fn a_missing_folder_is_a_source_error() {
    let d = tempdir();
    let r = ota_in(d.path())
        .port("sim:x.img")
        .args(&["push", "--dir", "nope"])
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("nope: not a folder"), "{}", r.stderr);
}

#[test]
fn an_unreachable_device_is_a_device_error_and_json_stays_json() {
    let d = tempdir();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r = ota_in(d.path())
        .port(&format!("tcp:127.0.0.1:{port}"))
        .args(&["--json", "status"])
        .run();
    assert_eq!(r.code, 5, "{}", r.stderr);
    let doc = r.json();
    assert_eq!(doc["result"], "error");
    assert_eq!(doc["kind"], "device");
}

#[test]
fn a_file_named_as_a_port_is_not_a_serial_port() {
    let d = tempdir();
    std::fs::write(d.path().join("pico.img"), b"").unwrap();
    let r = ota_in(d.path()).port("pico.img").args(&["status"]).run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("pico.img: not a serial port: did you mean `sim:pico.img`?"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("typewriter"), "{}", r.stderr);
}

#[test]
fn status_says_which_release_keys_the_agent_holds() {
    let d = tempdir();
    let text = ota_in(d.path())
        .port("sim:x.img")
        .args(&["status"])
        .ok()
        .stdout;
    assert!(
        text.contains("keys       none: the agent takes unsigned trees"),
        "{text}"
    );
    assert!(
        text.contains("app        none: the slot is empty"),
        "{text}"
    );
    run(d.path(), &["keygen", "--out", "release"]).ok();
    ota_in(d.path())
        .port("sim:x.img")
        .args(&["provision", "--pubkey", "release.pub"])
        .ok();
    let text = ota_in(d.path())
        .port("sim:x.img")
        .args(&["status"])
        .ok()
        .stdout;
    assert!(
        text.contains(
            "keys       1 release key(s): the agent takes only trees signed by one of them"
        ),
        "{text}"
    );
    assert!(text.contains("security   none yet"), "{text}");
}

/// A MicroPython board (the real unix port) has no slot and takes no keys:
/// `ota status` says nothing of them.
#[test]
fn status_of_a_micropython_board_has_no_slot_lines() {
    let Some(mp) = util::mpy_board::micropython() else {
        return;
    };
    let d = tempdir();
    let b = util::mpy_board::Board::start(&mp, &d.path().join("board"), Default::default());
    let text = ota_in(d.path()).port(&b.port).args(&["status"]).ok().stdout;
    assert!(text.contains("agent      micropython"), "{text}");
    assert!(text.contains("active     none"), "{text}");
    for word in ["app ", "image ", "keys ", "security "] {
        assert!(
            !text.lines().any(|l| l.starts_with(word)),
            "{word}in:\n{text}"
        );
    }
}

#[test]
fn refusals_exit_6() {
    let d = tempdir();
    make_tree(&d.path().join("a"), 2, 1);
    ota_in(d.path())
        .port("sim:x.img")
        .args(&["push", "--dir", "a"])
        .ok();
    let r = ota_in(d.path()).port("sim:x.img").args(&["rollback"]).run();
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("no previous tree"), "{}", r.stderr);
}
