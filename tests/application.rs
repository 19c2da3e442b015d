//! A board whose application runs in the slot, against the simulated Pico
//! (`sim:FILE?app`, `ota agent sim --listen --app`): every device command
//! reaches the agent through the 1200-baud touch and hands the board back to
//! its application; a push is started by the application; a trial that the
//! application never confirms costs a boot per start and is rolled back; a
//! slot without an application image leaves the agent in charge.

mod util;

use util::*;

const APP: &str = "sim:pico.img?app";

fn json(d: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    run(d, &all).ok().json()
}

#[test]
fn status_touches_the_application_and_hands_the_board_back() {
    let d = tempdir();
    for _ in 0..2 {
        // Each time, the application runs again when ota is done.
        let doc = ota_in(d.path()).port(APP).args(&["status"]).json();
        assert_eq!(doc["application_was_running"], true);
        assert_eq!(doc["device"]["app"], "valid");
        assert_eq!(doc["device"]["state"], "empty");
    }
    let text = ota_in(d.path()).port(APP).args(&["status"]).ok().stdout;
    assert!(
        text.contains(
            "app        running; reached the agent with a 1200-baud touch, and handed back"
        ),
        "{text}"
    );
}

#[test]
fn a_push_is_started_by_the_application_which_confirms_it() {
    let d = tempdir();
    write(&d.path().join("v1"), "blink.txt", b"100,400\n");
    let doc = ota_in(d.path())
        .port(APP)
        .args(&["push", "--dir", "v1", "--version", "v1"])
        .json();
    assert_eq!(doc["result"], "started");
    assert_eq!(doc["files_sent"], 1);
    assert_eq!(doc["device"]["active"]["version"], "v1");
    // The stand-in application confirmed at its first start.
    let s = ota_in(d.path()).port(APP).args(&["status"]).json();
    assert_eq!(s["application_was_running"], true);
    assert_eq!(s["device"]["state"], "confirmed");
    assert_eq!(device_files(d.path(), APP), tree_of(&d.path().join("v1")));

    // --boots 0: confirmed at once, and said so.
    write(&d.path().join("v2"), "blink.txt", b"50,50\n");
    let doc = ota_in(d.path())
        .port(APP)
        .args(&["push", "--dir", "v2", "--version", "v2", "--boots", "0"])
        .json();
    assert_eq!(doc["result"], "confirmed");
}

#[test]
fn looking_at_a_board_in_trial_spends_none_of_its_boots() {
    let d = tempdir();
    let unconfirmed = "sim:pico.img?app&no-auto-confirm";
    write(&d.path().join("v1"), "blink.txt", b"100,400\n");
    let doc = json(
        d.path(),
        &[
            "--port",
            unconfirmed,
            "push",
            "--dir",
            "v1",
            "--version",
            "v1",
            "--boots",
            "3",
        ],
    );
    assert_eq!(doc["result"], "started");
    // Its first start spent one boot; a touch, a look and the hand-back spend none.
    for _ in 0..10 {
        let s = json(d.path(), &["--port", unconfirmed, "status"]);
        assert_eq!(s["application_was_running"], true);
        assert_eq!(s["device"]["state"], "trial");
        assert_eq!(s["device"]["boots_left"], 2);
    }
}

#[test]
fn a_trial_the_application_never_survives_is_rolled_back_start_by_start() {
    let d = tempdir();
    let good = "sim:pico.img?app";
    let crashing = "sim:pico.img?app&crash";
    write(&d.path().join("v1"), "blink.txt", b"100,400\n");
    run(
        d.path(),
        &["--port", good, "push", "--dir", "v1", "--version", "v1"],
    )
    .ok();
    write(&d.path().join("v2"), "blink.txt", b"10,10\n");
    let doc = json(
        d.path(),
        &[
            "--port",
            crashing,
            "push",
            "--dir",
            "v2",
            "--version",
            "v2",
            "--boots",
            "2",
        ],
    );
    // The host saw an application start; each start faulted before it
    // confirmed, and the agent went back to v1.
    assert_eq!(doc["result"], "started", "{doc}");
    let s = json(d.path(), &["--port", crashing, "status"]);
    assert_eq!(s["device"]["active"]["version"], "v1");
    assert_eq!(s["device"]["state"], "confirmed");
    assert_eq!(s["device"]["history"]["previous_failed_boots"], 2);
}

#[test]
fn a_first_trial_that_fails_leaves_the_board_in_the_agent_saying_so() {
    let d = tempdir();
    let crashing = "sim:pico.img?app&crash";
    write(&d.path().join("v1"), "blink.txt", b"10,10\n");
    let out = run(
        d.path(),
        &[
            "--port",
            crashing,
            "push",
            "--dir",
            "v1",
            "--version",
            "v1",
            "--boots",
            "3",
        ],
    );
    let text = run(d.path(), &["--port", crashing, "status"]).ok().stdout;
    assert!(
        text.contains("state      failed;"),
        "{}\n{text}",
        out.stdout
    );
    assert!(
        text.contains("history    v1 failed its trial (3 boots); no earlier tree to fall back to"),
        "{text}"
    );
    let s = json(d.path(), &["--port", crashing, "status"]);
    assert_eq!(
        s["application_was_running"], false,
        "the failed tree is not run"
    );
    assert_eq!(s["device"]["state"], "failed");
    // Accepting it as it is: confirmed, and the application runs again.
    run(d.path(), &["--port", crashing, "confirm"]).ok();
    run(d.path(), &["--port", crashing, "reboot"]).ok();
    let s = json(d.path(), &["--port", crashing, "status"]);
    assert_eq!(s["device"]["state"], "confirmed");
    assert_eq!(s["application_was_running"], true);
}

#[test]
fn a_failed_first_trial_is_left_by_a_fixed_version_or_tried_again() {
    let d = tempdir();
    let crashing = "sim:pico.img?app&crash";
    let good = "sim:pico.img?app";
    write(&d.path().join("v1"), "blink.txt", b"10,10\n");
    let _ = run(
        d.path(),
        &[
            "--port",
            crashing,
            "push",
            "--dir",
            "v1",
            "--version",
            "v1",
            "--boots",
            "1",
        ],
    );
    // Tried again, as a new trial, by a board whose application now survives.
    run(d.path(), &["--port", good, "rollback", "--force"]).ok();
    run(d.path(), &["--port", good, "reboot"]).ok();
    let s = json(d.path(), &["--port", good, "status"]);
    assert_eq!(s["device"]["state"], "confirmed", "{s}");
    assert_eq!(s["device"]["active"]["version"], "v1");
    // A fixed version replaces a failed one.
    let _ = run(
        d.path(),
        &[
            "--port",
            crashing,
            "push",
            "--dir",
            "v1",
            "--version",
            "v1b",
            "--boots",
            "1",
        ],
    );
    write(&d.path().join("v2"), "blink.txt", b"100,400\n");
    let doc = json(
        d.path(),
        &["--port", good, "push", "--dir", "v2", "--version", "v2"],
    );
    assert_eq!(doc["result"], "started");
    let s = json(d.path(), &["--port", good, "status"]);
    assert_eq!(s["device"]["state"], "confirmed");
    assert_eq!(s["device"]["active"]["version"], "v2");
}

#[test]
fn no_reboot_leaves_the_board_in_the_agent() {
    let d = tempdir();
    write(&d.path().join("v1"), "blink.txt", b"100,400\n");
    let doc = ota_in(d.path())
        .port(APP)
        .args(&["push", "--dir", "v1", "--version", "v1", "--no-reboot"])
        .json();
    assert_eq!(doc["result"], "committed");
    // The agent still serves: no touch needed.
    let s = ota_in(d.path()).port(APP).args(&["status"]).json();
    assert_eq!(s["application_was_running"], false);
    // ota reboot hands over to the application, which starts v1.
    ota_in(d.path()).port(APP).args(&["reboot"]).ok();
    let s = ota_in(d.path()).port(APP).args(&["status"]).json();
    assert_eq!(s["application_was_running"], true);
    assert_eq!(s["device"]["active"]["version"], "v1");
}

#[test]
fn a_slot_without_an_application_image_leaves_the_agent_in_charge() {
    let d = tempdir();
    let img = d.path().join("garbage.img");
    // A slot holding bytes that are no vector table.
    let mut flash = vec![0xFFu8; 2 * 1024 * 1024];
    let slot = ota_agent::board::APP_SLOT_BASE as usize;
    flash[slot..slot + 64].copy_from_slice(&content(9, 64));
    std::fs::write(&img, &flash).unwrap();
    let doc = ota_in(d.path())
        .port("sim:garbage.img")
        .args(&["status"])
        .json();
    assert_eq!(doc["device"]["app"], "invalid");
    assert_eq!(doc["application_was_running"], false);
    let text = ota_in(d.path())
        .port("sim:garbage.img")
        .args(&["status"])
        .ok()
        .stdout;
    assert!(
        text.contains("the slot holds no application image: the agent stays in charge"),
        "{text}"
    );

    let doc = ota_in(d.path())
        .port("sim:empty.img")
        .args(&["status"])
        .json();
    assert_eq!(doc["device"]["app"], "empty");
}

#[test]
fn ota_agent_sim_over_rfc2217_carries_the_touch_on_the_one_connection() {
    let d = tempdir();
    let sim = Sim::start(d.path(), "tcp.img", &["--listen", "127.0.0.1:0", "--app"]);
    let port = sim.port.replace("tcp:", "rfc2217://");
    let s = ota_in(d.path()).port(&port).args(&["status"]).json();
    assert_eq!(s["application_was_running"], true);
    write(&d.path().join("v1"), "blink.txt", b"100,400\n");
    let doc = ota_in(d.path())
        .port(&port)
        .args(&["push", "--dir", "v1", "--version", "v1"])
        .json();
    assert_eq!(doc["result"], "started");
    let s = ota_in(d.path()).port(&port).args(&["status"]).json();
    assert_eq!(s["application_was_running"], true);
    assert_eq!(s["device"]["active"]["version"], "v1");
    assert_eq!(s["device"]["state"], "confirmed");
}

/// The slot image ota makes of an ELF is the tree entry `.ota/app.bin`.
fn image_of(d: &std::path::Path, port: &str) -> Option<serde_json::Value> {
    let ls = ota_in(d).port(port).args(&["ls", "--long"]).json();
    ls["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == ".ota/app.bin")
        .cloned()
}

#[test]
fn push_app_puts_the_image_in_the_tree_and_the_slot() {
    let d = tempdir();
    std::fs::write(d.path().join("v1.elf"), elf::application(&content(1, 9000))).unwrap();
    std::fs::write(d.path().join("v2.elf"), elf::application(&content(2, 9000))).unwrap();
    write(&d.path().join("files"), "blink.txt", b"100,400\n");
    let port = "sim:pico.img";
    let doc = ota_in(d.path())
        .port(port)
        .args(&[
            "push",
            "--dir",
            "files",
            "--app",
            "v1.elf",
            "--version",
            "v1",
        ])
        .json();
    assert_eq!(doc["image"]["state"], "new");
    assert_eq!(doc["files_sent"], 2);
    let s = ota_in(d.path()).port(port).args(&["status"]).json();
    assert_eq!(s["device"]["app"], "valid", "the image is in the slot");
    assert_eq!(s["device"]["image"], "installed");
    assert_eq!(s["application_was_running"], true);
    let v1 = image_of(d.path(), port).expect("the tree carries the image");

    // A files-only push keeps the image: nothing of it is sent.
    write(&d.path().join("files"), "blink.txt", b"50,50\n");
    let doc = ota_in(d.path())
        .port(port)
        .args(&["push", "--dir", "files", "--version", "v1.1"])
        .json();
    assert_eq!(doc["files_sent"], 1);
    assert_eq!(doc["bytes_sent"], 6);
    assert_eq!(image_of(d.path(), port), Some(v1.clone()));

    // The same image again is unchanged; a new build is new, and replaces it.
    let doc = ota_in(d.path())
        .port(port)
        .args(&[
            "push",
            "--dir",
            "files",
            "--app",
            "v1.elf",
            "--version",
            "v1.2",
            "--force",
        ])
        .json();
    assert_eq!(doc["image"]["state"], "unchanged");
    let doc = ota_in(d.path())
        .port(port)
        .args(&[
            "push",
            "--dir",
            "files",
            "--app",
            "v2.elf",
            "--version",
            "v2",
        ])
        .json();
    assert_eq!(doc["image"]["state"], "changed");
    assert_ne!(image_of(d.path(), port), Some(v1));

    // Rolling back brings v1.2's image back with its files.
    ota_in(d.path()).port(port).args(&["rollback"]).ok();
    ota_in(d.path()).port(port).args(&["reboot"]).ok();
    let s = ota_in(d.path()).port(port).args(&["status"]).json();
    assert_eq!(s["device"]["active"]["version"], "v1.2");
    assert_eq!(s["device"]["image"], "installed");
}

#[test]
fn an_elf_not_linked_for_the_slot_is_refused_before_anything_is_sent() {
    let d = tempdir();
    write(&d.path().join("files"), "blink.txt", b"100,400\n");
    std::fs::write(d.path().join("pico.elf"), elf::linked_for_the_agent()).unwrap();
    let r = ota_in(d.path())
        .port("sim:pico.img")
        .args(&["push", "--dir", "files", "--app", "pico.elf"])
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("pico.elf: the application loads at 0x10000100"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("ORIGIN = 0x10040000"), "{}", r.stderr);
    let s = ota_in(d.path())
        .port("sim:pico.img")
        .args(&["status"])
        .json();
    assert_eq!(s["device"]["active"], serde_json::Value::Null);
}

#[test]
fn a_uf2_given_to_app_is_named_as_one() {
    let d = tempdir();
    std::fs::write(
        d.path().join("agent.elf"),
        elf::with_segments(&[(0x1000_0000, &[5u8; 600])]),
    )
    .unwrap();
    std::fs::write(d.path().join("app.elf"), elf::application(&content(3, 900))).unwrap();
    run(
        d.path(),
        &[
            "agent",
            "uf2",
            "agent.elf",
            "--app",
            "app.elf",
            "--out",
            "first.uf2",
        ],
    )
    .ok();
    write(&d.path().join("files"), "blink.txt", b"100,400\n");
    let said =
        "first.uf2 is a UF2 file; --app takes the application's ELF (the UF2 is made from it)";
    let push = ota_in(d.path()).port("sim:pico.img").args(&[
        "push",
        "--dir",
        "files",
        "--app",
        "first.uf2",
    ]);
    let uf2 = ota_in(d.path()).args(&[
        "agent",
        "uf2",
        "agent.elf",
        "--app",
        "first.uf2",
        "--out",
        "x.uf2",
    ]);
    let install = ota_in(d.path()).args(&[
        "agent",
        "install",
        "--firmware",
        "agent.elf",
        "--app",
        "first.uf2",
    ]);
    for (what, ota) in [
        ("push", push),
        ("agent uf2", uf2),
        ("agent install", install),
    ] {
        let r = ota.run();
        assert_eq!(r.code, 3, "{what}: {}", r.stderr);
        assert!(r.stderr.contains(said), "{what}: {}", r.stderr);
    }
    assert!(
        !d.path().join("pico.img").exists(),
        "the device was touched"
    );
}

#[test]
fn a_slot_rewritten_behind_otas_back_is_reported_and_the_next_push_puts_the_image_back() {
    use std::os::unix::fs::FileExt;
    let d = tempdir();
    std::fs::write(d.path().join("v2.elf"), elf::application(&content(2, 9000))).unwrap();
    write(&d.path().join("files"), "blink.txt", b"100,400\n");
    let port = "sim:pico.img";
    let push = [
        "--port",
        port,
        "push",
        "--dir",
        "files",
        "--app",
        "v2.elf",
        "--version",
        "v2",
    ];
    json(d.path(), &push);
    assert_eq!(
        json(d.path(), &["--port", port, "status"])["device"]["image"],
        "installed"
    );
    // What a debug probe or a UF2 drop does: other bytes in the slot, behind ota's back.
    let img = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(d.path().join("pico.img"))
        .unwrap();
    let at = ota_agent::board::APP_SLOT_BASE as u64;
    let mut installed = vec![0u8; 4096];
    img.read_exact_at(&mut installed, at).unwrap();
    let mut other = installed.clone();
    other[200..260].fill(0x5A);
    img.write_all_at(&other, at).unwrap();
    drop(img);

    let s = json(d.path(), &["--port", port, "status"]);
    assert_eq!(s["device"]["image"], "foreign", "{s}");
    let text = run(d.path(), &["--port", port, "status"]).ok().stdout;
    assert!(
        text.contains(
            "image      the slot holds an image ota did not install (written by a probe or a UF2?)"
        ),
        "{text}"
    );
    // The next push of the image treats the device's as unknown and puts it back.
    let doc = json(d.path(), &push);
    assert_eq!(doc["image"]["state"], "new", "{doc}");
    let s = json(d.path(), &["--port", port, "status"]);
    assert_eq!(s["device"]["image"], "installed", "{s}");
    let mut now = vec![0u8; 4096];
    let img = std::fs::File::open(d.path().join("pico.img")).unwrap();
    img.read_exact_at(&mut now, at).unwrap();
    assert_eq!(now, installed, "the tree's image is in the slot again");
}
