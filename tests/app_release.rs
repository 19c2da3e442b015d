//! The application image from every source: `push --app` without `--dir`
//! (the device's files kept, only the image sent), `ota manifest gen --app`
//! and a folder pushed with its manifest, a GitHub release whose manifest
//! names the image's asset, and the same release staged and pushed later;
//! the release's image sent as a delta to a board that runs another build.

#[path = "util/fake_github.rs"]
mod fake_github;
mod util;

use std::path::Path;

use fake_github::{git, FakeGithub};
use util::*;

const PORT: &str = "sim:pico.img";

/// `ota` with a cache of the test's own, for a test that counts downloads.
fn own_cache(d: &Path) -> Ota {
    ota_in(d).env("OTA_CACHE_DIR", d.join("cache"))
}

/// The tree entry that carries the image, as `ota ls --long` shows it.
fn image_of(d: &Path, port: &str) -> Option<(u64, String)> {
    let ls = ota_in(d).port(port).args(&["ls", "--long"]).json();
    ls["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == ".ota/app.bin")
        .map(|f| {
            (
                f["size"].as_u64().unwrap(),
                f["sha1"].as_str().unwrap().into(),
            )
        })
}

/// Two builds of one application: v2 differs from v1 in two slot sectors, a
/// whole one and the last, which holds only 3,808 of the image's bytes.
/// Each test has builds of its own (`seed`): the host's blob cache, shared
/// by the tests, must not answer for another test's image.
fn two_builds(d: &Path, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let v1 = content(seed, 20_000);
    let mut v2 = v1.clone();
    v2[9_000] ^= 0x5A;
    v2[19_990] ^= 0x5A;
    let (v1, v2) = (elf::application(&v1), elf::application(&v2));
    std::fs::write(d.join("v1.elf"), &v1).unwrap();
    std::fs::write(d.join("v2.elf"), &v2).unwrap();
    (v1, v2)
}

#[test]
fn push_app_without_dir_keeps_the_devices_files_and_sends_only_the_image() {
    let d = tempdir();
    two_builds(d.path(), 10);
    write(&d.path().join("files"), "blink.txt", b"100,400\n");
    write(&d.path().join("files"), "lib/big.bin", &content(3, 9_000));
    ota_in(d.path())
        .port(PORT)
        .args(&[
            "push",
            "--dir",
            "files",
            "--app",
            "v1.elf",
            "--version",
            "v1.0.0",
        ])
        .ok();
    let files_before: Vec<_> = device_files(d.path(), PORT)
        .into_iter()
        .filter(|(p, _)| p != ".ota/app.bin")
        .collect();
    let (size, v1_sha1) = image_of(d.path(), PORT).unwrap();

    // Only the image travels, as a delta against the v1 image the host
    // kept; its changed sectors are counted against that image too.
    let doc = ota_in(d.path())
        .port(PORT)
        .args(&["push", "--app", "v2.elf"])
        .json();
    let delta = doc["image"]["delta_bytes"].as_u64().expect("a delta");
    assert!(delta < size / 10, "two changed bytes: {delta} of {size}");
    assert_eq!(
        (doc["files_sent"].as_u64(), doc["bytes_sent"].as_u64()),
        (Some(1), Some(delta))
    );
    assert_eq!(
        (
            doc["image"]["state"].as_str(),
            doc["image"]["sectors_changed"].as_u64(),
            doc["image"]["bytes_changed"].as_u64()
        ),
        (Some("changed"), Some(2), Some(4096 + 3808))
    );
    let s = status(d.path(), PORT);
    let (size2, v2_sha1) = image_of(d.path(), PORT).unwrap();
    assert_eq!(
        s["active"]["version"],
        format!("v1.0.0+app.{}", &v2_sha1[..7])
    );
    assert_eq!((size2, s["image"].as_str()), (size, Some("installed")));
    assert_ne!(v1_sha1, v2_sha1);
    let files_after: Vec<_> = device_files(d.path(), PORT)
        .into_iter()
        .filter(|(p, _)| p != ".ota/app.bin")
        .collect();
    assert_eq!(files_after, files_before, "the files stay as they were");

    // The same image again is up to date; the plan for v1 says what changes.
    let doc = ota_in(d.path())
        .port(PORT)
        .args(&["push", "--app", "v2.elf"])
        .json();
    assert_eq!(doc["result"], "up-to-date");
    let r = ota_in(d.path())
        .port(PORT)
        .args(&["push", "--app", "v1.elf", "--dry-run"])
        .ok();
    // v1 is the previous tree's image: reused, so no delta is made for it.
    assert!(
        r.stderr
            .contains("7.7 KiB of 19.7 KiB changed (2 of 5 slot sectors to rewrite)"),
        "{}",
        r.stderr
    );

    // A device without a tree has no files to keep.
    let r = ota_in(d.path())
        .port("sim:empty.img")
        .args(&["push", "--app", "v1.elf"])
        .run();
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("--dir DIR --app ELF"), "{}", r.stderr);
}

#[test]
fn manifest_gen_app_writes_the_image_beside_the_manifest_and_names_it() {
    let d = tempdir();
    two_builds(d.path(), 20);
    write(&d.path().join("files"), "blink.txt", b"100,400\n");
    let r = run(
        d.path(),
        &[
            "manifest",
            "gen",
            "--version",
            "v1",
            "--root",
            "files",
            "--app",
            "v1.elf",
            "--out",
            "release/manifest.json",
            ".",
        ],
    )
    .ok();
    assert!(
        r.stderr
            .contains("publish it beside the manifest as the asset `app.bin`"),
        "{}",
        r.stderr
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("release/manifest.json")).unwrap())
            .unwrap();
    let entry = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == ".ota/app.bin")
        .expect("the manifest lists the image")
        .clone();
    assert_eq!(entry["asset"], "app.bin");
    assert_eq!(entry["slot"], "0x10040000");
    let image = std::fs::read(d.path().join("release/app.bin")).unwrap();
    assert_eq!(entry["size"].as_u64(), Some(image.len() as u64));
    assert_eq!(
        &image[..4],
        &0x2004_2000u32.to_le_bytes(),
        "the slot image, not the ELF"
    );

    run(
        d.path(),
        &[
            "manifest",
            "verify",
            "release/manifest.json",
            "--dir",
            "files",
        ],
    )
    .ok();
    let doc = ota_in(d.path())
        .port(PORT)
        .args(&[
            "push",
            "--dir",
            "files",
            "--manifest",
            "release/manifest.json",
        ])
        .json();
    assert_eq!(doc["image"]["state"], "new");
    let s = status(d.path(), PORT);
    assert_eq!(
        (s["image"].as_str(), s["app"].as_str()),
        (Some("installed"), Some("valid"))
    );

    // A damaged image beside the manifest is refused before anything is sent.
    let mut bad = image.clone();
    bad[300] ^= 1;
    std::fs::write(d.path().join("release/app.bin"), &bad).unwrap();
    let r = ota_in(d.path())
        .port("sim:other.img")
        .args(&[
            "push",
            "--dir",
            "files",
            "--manifest",
            "release/manifest.json",
        ])
        .run();
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains(".ota/app.bin"), "{}", r.stderr);

    // An ELF linked for another address is refused, naming the file.
    std::fs::write(d.path().join("agent.elf"), elf::linked_for_the_agent()).unwrap();
    let r = run(
        d.path(),
        &[
            "manifest",
            "gen",
            "--version",
            "v2",
            "--app",
            "agent.elf",
            "--out",
            "m2.json",
        ],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("agent.elf: the application loads at 0x10000100"),
        "{}",
        r.stderr
    );
    assert!(!d.path().join("m2.json").exists() && !d.path().join("app.bin").exists());
}

/// A repository tagged v1 whose release carries manifest.json naming the
/// image, and the image as the asset `app.bin` (or without it).
fn release(d: &Path, with_asset: bool, seed: u64) -> FakeGithub {
    release_with(d, with_asset, seed, &[])
}

/// [`release`], with more `ota manifest gen` arguments; every file it
/// writes beside the manifest is published as an asset.
fn release_with(d: &Path, with_asset: bool, seed: u64, more: &[&str]) -> FakeGithub {
    let repo = d.join("repo");
    write(&repo, "blink.txt", b"100,400\n");
    write(&repo, "lib/x.py", b"x = 1\n");
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    git(&repo, &["tag", "v1"]);
    let commit = git(&repo, &["rev-parse", "v1"]).trim().to_string();
    two_builds(d, seed);
    let gen = [
        "manifest",
        "gen",
        "--version",
        "v1",
        "--ref",
        "v1",
        "--commit",
        &commit,
        "--root",
        "repo",
        "--app",
        "v1.elf",
        "--out",
        "out/manifest.json",
        "blink.txt",
        "lib",
    ];
    run(d, &[&gen[..], more].concat()).ok();
    let gh = FakeGithub::start(&repo, "acme", "blinky");
    let manifest = std::fs::read(d.join("out/manifest.json")).unwrap();
    let assets = if with_asset {
        let mut names: Vec<String> = std::fs::read_dir(d.join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n != "manifest.json")
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let bytes = std::fs::read(d.join("out").join(&n)).unwrap();
                (n, bytes)
            })
            .collect()
    } else {
        Vec::new()
    };
    gh.add_release_with_assets("v1", false, false, Some(manifest), assets);
    let config = serde_json::json!({
        "owner": "acme", "repo": "blinky", "api_url": gh.api_url, "raw_url": gh.raw_url,
        "retries": 1, "backoff_sec": 0,
    });
    std::fs::write(d.join("ota_config.json"), config.to_string()).unwrap();
    gh
}

#[test]
fn a_release_asset_carries_the_image_on_the_stable_channel_and_through_a_stage() {
    let d = tempdir();
    let gh = release(d.path(), true, 30);
    let doc = own_cache(d.path()).port(PORT).args(&["push"]).json();
    assert_eq!(
        (doc["result"].as_str(), doc["image"]["state"].as_str()),
        (Some("started"), Some("new"))
    );
    let s = status(d.path(), PORT);
    assert_eq!(
        (s["image"].as_str(), s["active"]["version"].as_str()),
        (Some("installed"), Some("v1"))
    );
    let image = std::fs::read(d.path().join("out/app.bin")).unwrap();
    let (size, _) = image_of(d.path(), PORT).unwrap();
    assert_eq!(size, image.len() as u64);
    // The image came from the release's asset storage, not the raw host.
    assert!(gh
        .log()
        .iter()
        .any(|l| l.host == "storage" && l.path.ends_with(&format!("/asset/{}", 1000 * 10 + 1))));
    assert!(!gh
        .log()
        .iter()
        .any(|l| l.host == "raw" && l.path.contains(".ota")));

    // Staged once, pushed later to another board, verified again.
    run(d.path(), &["stage", "--out", "st"]).ok();
    assert!(d.path().join("st/.ota/app.bin").is_file());
    let doc = ota_in(d.path())
        .port("sim:second.img")
        .args(&["push", "--staged", "st"])
        .json();
    assert_eq!(doc["image"]["state"], "new");
    assert_eq!(status(d.path(), "sim:second.img")["image"], "installed");
}

#[test]
fn a_release_whose_manifest_names_a_missing_asset_is_refused_before_any_download() {
    let d = tempdir();
    let gh = release(d.path(), false, 40);
    let r = ota_in(d.path()).port(PORT).args(&["push"]).run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("names the asset `app.bin` for .ota/app.bin"),
        "{}",
        r.stderr
    );
    assert!(
        !gh.log().iter().any(|l| l.host == "raw"),
        "nothing was downloaded"
    );
    assert!(status(d.path(), PORT)["active"].is_null());
}

/// A board that runs another build (pushed from this host, so its image is
/// in the cache) takes the release's image as a delta against it: only the
/// patch travels to the board on the stable channel.
#[test]
fn a_stable_channel_update_sends_the_image_as_a_delta_against_the_one_the_board_runs() {
    let d = tempdir();
    let _gh = release(d.path(), true, 40);
    write(&d.path().join("files"), "blink.txt", b"100,400\n");
    own_cache(d.path())
        .port(PORT)
        .args(&[
            "push",
            "--dir",
            "files",
            "--app",
            "v2.elf",
            "--version",
            "v0",
        ])
        .ok();
    let doc = own_cache(d.path()).port(PORT).args(&["push"]).json();
    let size = doc["image"]["bytes"].as_u64().unwrap();
    let delta = doc["image"]["delta_bytes"].as_u64().expect("a delta");
    assert!(delta < size / 10, "two bytes differ: {delta} of {size}");
    assert_eq!(doc["files_sent"], 2, "the image and lib/x.py");
    assert!(doc["bytes_sent"].as_u64().unwrap() < delta + 100, "{doc}");
    let s = status(d.path(), PORT);
    assert_eq!(
        (s["image"].as_str(), s["active"]["version"].as_str()),
        (Some("installed"), Some("v1"))
    );
    let image = std::fs::read(d.path().join("out/app.bin")).unwrap();
    assert_eq!(
        image_of(d.path(), PORT).unwrap().1,
        git_blob_sha1_hex(&image),
        "the board holds the release's image"
    );
}

fn git_blob_sha1_hex(bytes: &[u8]) -> String {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_release_patch_from_the_image_the_board_runs_travels_when_the_host_never_held_that_image() {
    let d = tempdir();
    let _gh = release_with(d.path(), true, 50, &["--delta-from", "v2.elf"]);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("out/manifest.json")).unwrap())
            .unwrap();
    let entry = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == ".ota/app.bin")
        .unwrap();
    let delta = &entry["deltas"][0];
    let asset = delta["asset"].as_str().unwrap();
    let patch = std::fs::read(d.path().join("out").join(asset)).unwrap();
    assert_eq!(delta["size"], patch.len());
    runs_v2_from_another_host(d.path());
    let doc = own_cache(d.path()).port(PORT).args(&["push"]).json();
    assert_eq!(doc["image"]["delta_from"], "release", "{doc}");
    assert_eq!(doc["image"]["delta_bytes"], patch.len(), "{doc}");
    assert!(
        doc["bytes_sent"].as_u64().unwrap() < patch.len() as u64 + 100,
        "{doc}"
    );
    let image = std::fs::read(d.path().join("out/app.bin")).unwrap();
    assert_eq!(
        image_of(d.path(), PORT).unwrap().1,
        git_blob_sha1_hex(&image),
        "the board holds the release's image"
    );
}

#[test]
fn a_release_patch_that_does_not_match_its_listed_hash_is_refused_before_anything_is_sent() {
    let d = tempdir();
    let gh = release_with(d.path(), true, 60, &["--delta-from", "v2.elf"]);
    let manifest = std::fs::read(d.path().join("out/manifest.json")).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let asset = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|f| f["deltas"][0]["asset"].as_str())
        .unwrap()
        .to_string();
    let mut patch = std::fs::read(d.path().join("out").join(&asset)).unwrap();
    patch[0] ^= 1;
    let image = std::fs::read(d.path().join("out/app.bin")).unwrap();
    gh.add_release_with_assets(
        "v1",
        false,
        false,
        Some(manifest),
        vec![("app.bin".into(), image), (asset.clone(), patch)],
    );
    let r = own_cache(d.path()).port(PORT).args(&["push"]).run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("the delta asset `{asset}`"))
            && r.stderr.contains("nothing was sent"),
        "{}",
        r.stderr
    );
    assert_eq!(status(d.path(), PORT)["active"], serde_json::Value::Null);
}

#[test]
fn a_folder_pushed_with_its_manifest_sends_the_patch_written_beside_it() {
    let d = tempdir();
    let _gh = release_with(d.path(), false, 70, &["--delta-from", "v2.elf"]);
    runs_v2_from_another_host(d.path());
    let doc = own_cache(d.path())
        .port(PORT)
        .args(&["push", "--dir", "repo", "--manifest", "out/manifest.json"])
        .json();
    assert_eq!(doc["image"]["delta_from"], "release", "{doc}");
    assert_eq!(status(d.path(), PORT)["active"]["version"], "v1");
}

/// The board runs v2, put there from another host (another cache): this
/// host never held that image.
fn runs_v2_from_another_host(d: &Path) {
    write(&d.join("files"), "blink.txt", b"100,400\n");
    ota_in(d)
        .env("OTA_CACHE_DIR", d.join("other-host"))
        .port(PORT)
        .args(&[
            "push",
            "--dir",
            "files",
            "--app",
            "v2.elf",
            "--version",
            "v0",
        ])
        .ok();
}
