//! A code change travels as its difference: `ota push --app` (and so
//! `ota run`) sends the application image as a patch against the image the
//! device runs, found in the host's cache by the hash the device lists,
//! when the agent takes patches (protocol 1.6) and the patch is smaller;
//! `--no-delta` sends it whole; a cached file whose hash differs is never
//! used; a slot that does not hold the base makes the agent refuse the
//! patch, and ota sends the whole image by itself and says so. Against the
//! simulated Pico, which runs the agent's own core.

mod util;

use util::*;

const PORT: &str = "sim:pico.img";

/// A 30 KB application body, and the same with a one-function change: a
/// few bytes edited and everything after them moved by 12 bytes.
fn builds() -> (Vec<u8>, Vec<u8>) {
    let v1 = content(1, 30_000);
    let mut v2 = v1.clone();
    v2[9_000..9_012].copy_from_slice(b"changed code");
    v2.splice(12_000..12_000, *b"twelve bytes");
    (v1, v2)
}

fn push_app(
    d: &std::path::Path,
    elf: &str,
    version: &str,
    more: &[&str],
    cache: &std::path::Path,
) -> util::Run {
    let mut args = vec![
        "--json",
        "push",
        "--dir",
        "files",
        "--app",
        elf,
        "--version",
        version,
    ];
    args.extend_from_slice(more);
    ota_in(d)
        .port(PORT)
        .env("OTA_CACHE_DIR", cache)
        .args(&args)
        .run()
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempdir();
    let (v1, v2) = builds();
    std::fs::write(d.path().join("v1.elf"), elf::application(&v1)).unwrap();
    std::fs::write(d.path().join("v2.elf"), elf::application(&v2)).unwrap();
    let mut v3 = v2.clone();
    v3[20_000..20_005].copy_from_slice(b"third");
    std::fs::write(d.path().join("v3.elf"), elf::application(&v3)).unwrap();
    write(&d.path().join("files"), "blink.txt", b"100,400\n");
    let cache = d.path().join("cache");
    let doc = push_app(d.path(), "v1.elf", "v1", &[], &cache).ok().json();
    assert_eq!(doc["image"]["state"], "new");
    (d, cache)
}

fn image_sha1(d: &std::path::Path) -> String {
    let ls = ota_in(d).port(PORT).args(&["ls", "--long"]).json();
    let f = ls["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == ".ota/app.bin")
        .cloned();
    f.expect("the tree carries the image")["sha1"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_new_build_travels_as_a_delta_and_runs() {
    let (d, cache) = setup();
    let run = push_app(d.path(), "v2.elf", "v2", &[], &cache).ok();
    let doc = run.json();
    let image = &doc["image"];
    assert_eq!(image["state"], "changed");
    let delta = image["delta_bytes"].as_u64().expect("a delta travels");
    let size = image["bytes"].as_u64().unwrap();
    assert!(
        delta * 4 < size,
        "a one-function change is a small patch: {delta} of {size}"
    );
    assert!(doc["bytes_sent"].as_u64().unwrap() < size, "{doc}");
    assert_eq!(
        image_sha1(d.path()),
        image["sha1"].as_str().unwrap(),
        "the device holds the new build"
    );
    let s = ota_in(d.path()).port(PORT).args(&["status"]).json();
    assert_eq!(s["device"]["image"], "installed");
    assert_eq!(s["device"]["app"], "valid");

    // A dry run counts the patch, not the image, among the bytes to send.
    let dry = |json: bool| {
        let mut args = vec![
            "push",
            "--dir",
            "files",
            "--app",
            "v3.elf",
            "--version",
            "v3",
            "--dry-run",
        ];
        if json {
            args.insert(0, "--json");
        }
        ota_in(d.path())
            .port(PORT)
            .env("OTA_CACHE_DIR", &cache)
            .args(&args)
            .ok()
    };
    let planned = dry(true).json()["image"]["delta_bytes"]
        .as_u64()
        .expect("a delta");
    assert!(planned < 1024, "{planned}");
    let text = dry(false).stderr;
    assert!(
        text.contains(&format!("\n{planned} B to send in 1 file(s)")),
        "{text}"
    );

    // The text says what travels.
    let back = ota_in(d.path())
        .port(PORT)
        .env("OTA_CACHE_DIR", &cache)
        .args(&[
            "push",
            "--dir",
            "files",
            "--app",
            "v3.elf",
            "--version",
            "v3",
        ])
        .ok()
        .stderr;
    assert!(
        back.contains("application image: delta ") && back.contains(" slot sectors to rewrite)"),
        "{back}"
    );

    // Back to v2, which the device keeps in its previous tree: reused, no delta.
    let doc = push_app(d.path(), "v2.elf", "v4", &[], &cache).ok().json();
    assert!(doc["image"]["delta_bytes"].is_null(), "{doc}");
    assert_eq!(doc["bytes_sent"], 0, "{doc}");
}

#[test]
fn no_delta_sends_the_whole_image() {
    let (d, cache) = setup();
    let doc = push_app(d.path(), "v2.elf", "v2", &["--no-delta"], &cache)
        .ok()
        .json();
    assert!(doc["image"]["delta_bytes"].is_null(), "{doc}");
    assert!(doc["bytes_sent"].as_u64().unwrap() >= doc["image"]["bytes"].as_u64().unwrap());
}

#[test]
fn a_cached_image_whose_hash_differs_is_never_patched_against() {
    let (d, cache) = setup();
    // Every cached blob rewritten: none hashes to its name any more.
    for e in walk(&cache) {
        std::fs::write(&e, b"not the image").unwrap();
    }
    let doc = push_app(d.path(), "v2.elf", "v2", &[], &cache).ok().json();
    assert!(doc["image"]["delta_bytes"].is_null(), "{doc}");
    assert_eq!(image_sha1(d.path()), doc["image"]["sha1"].as_str().unwrap());
}

#[test]
fn a_slot_that_does_not_hold_the_base_gets_the_whole_image_and_ota_says_so() {
    let (d, cache) = setup();
    // A byte in the middle of the slot changed behind ota's back: the
    // agent's quick look (first and last sectors) still sees its image.
    let img = d.path().join("pico.img");
    let mut flash = std::fs::read(&img).unwrap();
    let at = ota_agent::board::APP_SLOT_BASE as usize + 3 * 4096 + 17;
    flash[at] ^= 0xFF;
    std::fs::write(&img, flash).unwrap();
    let run = ota_in(d.path())
        .port(PORT)
        .env("OTA_CACHE_DIR", &cache)
        .args(&[
            "push",
            "--dir",
            "files",
            "--app",
            "v2.elf",
            "--version",
            "v2",
        ])
        .ok();
    assert!(
        run.stderr.contains("application image: delta "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("the agent refused the delta")
            && run.stderr.contains("it was sent whole"),
        "{}",
        run.stderr
    );
    let doc = push_app(d.path(), "v3.elf", "v3", &[], &cache).ok().json();
    assert!(
        doc["image"]["delta_bytes"].as_u64().is_some(),
        "the slot holds v2 now: {doc}"
    );
    let s = ota_in(d.path()).port(PORT).args(&["status"]).json();
    assert_eq!(s["device"]["image"], "installed");
}

/// Builds that differ every 600 bytes: a patch of several frames.
fn scattered_builds() -> (Vec<u8>, Vec<u8>) {
    let v1 = content(7, 60_000);
    let mut v2 = v1.clone();
    for at in (0..v2.len()).step_by(600) {
        v2[at] ^= 0xA5;
    }
    (v1, v2)
}

/// A patched push through a relay that flips and drops bytes: it ends with
/// the new image, or with a clean error and the device on its old tree;
/// either way the next push finishes the job.
#[test]
fn a_patched_push_over_a_faulty_link_ends_whole_or_not_at_all() {
    use util::relay::{Faults, Relay};
    let (v1, v2) = scattered_builds();
    let (mut whole, mut delta) = (0, 0);
    for seed in 0..4u64 {
        let d = tempdir();
        std::fs::write(
            d.path().join("ota_config.json"),
            r#"{"device_timeout_sec": 2, "chunk": 1024}"#,
        )
        .unwrap();
        std::fs::write(d.path().join("v1.elf"), elf::application(&v1)).unwrap();
        std::fs::write(d.path().join("v2.elf"), elf::application(&v2)).unwrap();
        write(&d.path().join("files"), "blink.txt", b"100,400\n");
        let cache = d.path().join("cache");
        let local = "sim:relay.img";
        let direct = |args: &[&str]| {
            ota_in(d.path())
                .port(local)
                .env("OTA_CACHE_DIR", &cache)
                .args(args)
                .run()
        };
        direct(&[
            "push",
            "--dir",
            "files",
            "--app",
            "v1.elf",
            "--version",
            "v1",
            "--boots",
            "0",
        ])
        .ok();
        let v1_sha1 = image_sha1_at(d.path(), local);
        // A files-only change committed without a reboot leaves the board in
        // its agent (the image stays installed): the same board, served on
        // a TCP port behind the relay, is found there. The push through it
        // commits without a reboot too: a plain TCP link carries no touch
        // to reach the agent under the application again.
        write(&d.path().join("files"), "blink.txt", b"50,50\n");
        direct(&["push", "--dir", "files", "--version", "v1.1", "--no-reboot"]).ok();
        let mut sim = Sim::tcp(d.path(), "relay.img");
        let faults = Faults {
            seed,
            corrupt: 40,
            drop: 50,
            ..Faults::default()
        };
        let relay = Relay::start(&sim.port, faults, None);
        let r = ota_in(d.path())
            .port(&relay.addr)
            .env("OTA_CACHE_DIR", &cache)
            .args(&[
                "--json",
                "push",
                "--dir",
                "files",
                "--app",
                "v2.elf",
                "--version",
                "v2",
                "--no-reboot",
            ])
            .run();
        drop(relay);
        sim.kill();
        if r.code == 0 {
            let doc = r.json();
            match doc["image"]["delta_bytes"].as_u64() {
                Some(_) => delta += 1,
                None => whole += 1,
            }
            assert_eq!(
                image_sha1_at(d.path(), local),
                doc["image"]["sha1"].as_str().unwrap()
            );
        } else {
            assert_eq!(r.code, 5, "a link failure is a device error: {}", r.stderr);
            assert_eq!(
                image_sha1_at(d.path(), local),
                v1_sha1,
                "a failed push changed the image"
            );
            let args = [
                "--json",
                "push",
                "--dir",
                "files",
                "--app",
                "v2.elf",
                "--version",
                "v2",
            ];
            let doc = direct(&args).ok().json();
            assert!(
                doc["image"]["delta_bytes"].as_u64().is_some(),
                "then a delta again: {doc}"
            );
        }
    }
    println!("patched pushes over a faulty link: {delta} as deltas, {whole} sent whole after a refusal, the rest retried");
}

fn image_sha1_at(d: &std::path::Path, port: &str) -> String {
    let ls = ota_in(d).port(port).args(&["ls", "--long"]).json();
    let f = ls["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == ".ota/app.bin")
        .cloned();
    f.expect("the tree carries the image")["sha1"]
        .as_str()
        .unwrap()
        .to_string()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
