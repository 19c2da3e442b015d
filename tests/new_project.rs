//! `ota new` and `cargo run` as a new user meets them: a project written
//! outside the checkout, built by plain cargo for the slot (sharing the
//! firmware's target folder, so embassy is not compiled again), and run
//! through its own runner line against a simulated board: first install,
//! unchanged, one changed line. The --wifi project builds, its CYW43
//! firmware landing in files/ rather than in the image.

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use util::*;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// cargo, with `ota` first on PATH and the firmware's target folder.
fn cargo(project: &Path, args: &[&str], port: Option<&str>) -> Run {
    let bin = Path::new(env!("CARGO_BIN_EXE_ota")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()));
    c.current_dir(project)
        .args(args)
        .env("PATH", path)
        .env(
            "CARGO_TARGET_DIR",
            repo().join("firmware-agent/pico/target"),
        )
        .env(
            "OTA_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("ota-cache"),
        )
        .env_remove("OTA_PORT")
        .stdin(Stdio::null());
    if let Some(p) = port {
        c.env("OTA_PORT", p);
    }
    c.output().expect("cargo runs").into()
}

fn new_project(parent: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let app = repo().join("firmware-agent/app");
    let mut args = vec!["new", name, "--ota-app", app.to_str().unwrap()];
    args.extend_from_slice(extra);
    let r = run(parent, &args).ok();
    assert!(r.stderr.contains("ota-app: "), "{}", r.stderr);
    parent.join(name)
}

/// The files a push listed as sent (the lines under "sending N file(s)").
fn sent(stderr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut listing = false;
    for line in stderr.lines() {
        if line.starts_with("sending ") {
            listing = true;
        } else if listing && line.starts_with("  ") {
            out.push(line.trim().split(' ').next().unwrap().to_string());
        } else {
            listing = false;
        }
    }
    out.sort();
    out
}

#[test]
fn a_new_project_builds_outside_the_checkout_and_cargo_run_pushes_what_changed() {
    let d = tempdir();
    let project = new_project(d.path(), "hello-ota", &[]);
    for f in [
        "Cargo.toml",
        ".cargo/config.toml",
        "memory.x",
        "build.rs",
        "src/main.rs",
        "files/greeting.txt",
        "README.md",
    ] {
        assert!(project.join(f).is_file(), "{f} written");
    }
    let config = std::fs::read_to_string(project.join(".cargo/config.toml")).unwrap();
    assert!(config.contains("runner = \"ota run\""), "{config}");
    cargo(&project, &["build", "--release"], None).ok();

    let port = format!("sim:{}?app", d.path().join("board.img").display());
    let first = cargo(&project, &["run", "--release"], Some(&port)).ok();
    assert_eq!(
        sent(&first.stderr),
        [".ota/app.bin", "greeting.txt"],
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains("(empty) -> dir-"),
        "first install: {}",
        first.stderr
    );
    assert!(
        first
            .stderr
            .contains("has no application console to follow"),
        "{}",
        first.stderr
    );

    let again = cargo(&project, &["run", "--release"], Some(&port)).ok();
    assert!(sent(&again.stderr).is_empty(), "{}", again.stderr);
    assert!(
        again.stderr.contains("up to date"),
        "unchanged: {}",
        again.stderr
    );

    let main = project.join("src/main.rs");
    let src = std::fs::read_to_string(&main).unwrap();
    let changed = src.replace("Duration::from_secs(3)", "Duration::from_secs(4)");
    assert_ne!(
        src, changed,
        "the template holds the line this test changes"
    );
    std::fs::write(&main, changed).unwrap();
    let third = cargo(&project, &["run", "--release"], Some(&port)).ok();
    assert_eq!(
        sent(&third.stderr),
        [".ota/app.bin"],
        "the image alone: {}",
        third.stderr
    );
    the_log_line_decodes_with_the_elf(
        &repo().join("firmware-agent/pico/target/thumbv6m-none-eabi/release/hello-ota"),
    );
    let held: Vec<String> = device_files(d.path(), &port)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert!(held.contains(&"greeting.txt".to_string()), "{held:?}");
}

#[test]
fn a_new_project_refuses_a_folder_in_use_and_a_name_cargo_would_refuse() {
    let d = tempdir();
    write(&d.path().join("taken"), "keep.txt", b"mine\n");
    let r = run(d.path(), &["new", "taken"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("taken: the folder exists and is not empty; nothing was written"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_dir(d.path().join("taken")).unwrap().count(),
        1
    );
    let r = run(d.path(), &["new", "1st"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("must start with a letter"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_dir(d.path()).unwrap().count(),
        1,
        "nothing left behind"
    );
}

#[test]
fn the_wifi_project_builds_with_the_cyw43_firmware_as_files_of_the_tree() {
    let d = tempdir();
    let project = new_project(d.path(), "wifi-ota", &["--wifi"]);
    cargo(&project, &["build", "--release"], None).ok();
    let blob = std::fs::metadata(project.join("files/cyw43/43439A0.bin")).unwrap();
    assert_eq!(
        blob.len(),
        231_077,
        "the CYW43439 firmware, from the cyw43-firmware crate"
    );
    assert_eq!(
        std::fs::metadata(project.join("files/cyw43/43439A0_clm.bin"))
            .unwrap()
            .len(),
        984
    );
    let nvram = std::fs::read(project.join("files/cyw43/nvram.bin")).unwrap();
    assert!(
        nvram.starts_with(b"NVRAMRev=") && nvram.ends_with(b"\0\0"),
        "NUL-separated settings"
    );
    let elf = repo().join("firmware-agent/pico/target/thumbv6m-none-eabi/release/wifi-ota");
    let image = std::fs::metadata(&elf).unwrap();
    assert!(image.is_file());
    let port = format!("sim:{}?app", d.path().join("board.img").display());
    let r = cargo(&project, &["run", "--release"], Some(&port)).ok();
    let files = sent(&r.stderr);
    assert!(
        files.contains(&"cyw43/43439A0.bin".to_string()),
        "{}",
        r.stderr
    );
    // The blob is a file of the tree, not part of the image.
    let image_line = r
        .stderr
        .lines()
        .find(|l| l.contains(".ota/app.bin ("))
        .unwrap();
    let kib: f64 = image_line
        .split('(')
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(kib < 200.0, "image {kib} KiB holds no 231 KB blob");
}

/// The template logs with defmt: its ELF carries the table, and a frame of
/// its log line, as defmt's encoder puts it on the wire, decodes to text.
fn the_log_line_decodes_with_the_elf(elf: &Path) {
    let bytes = std::fs::read(elf).unwrap();
    let table = defmt_decoder::Table::parse(&bytes)
        .unwrap()
        .expect("a .defmt section");
    let doc = serde_json::to_value(&table).unwrap();
    let (index, _) = doc["entries"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, e)| {
            e["string"]["string"]
                .as_str()
                .unwrap()
                .starts_with("{=str} {=str} {=str} #{=u32}")
        })
        .expect("the template's log line in the table");
    let index: u16 = index.parse().unwrap();
    let mut args = Vec::new();
    for s in ["hello-ota", "v1", "trial"] {
        args.extend_from_slice(&(s.len() as u32).to_le_bytes());
        args.extend_from_slice(s.as_bytes());
    }
    args.extend_from_slice(&3u32.to_le_bytes());
    let greeting = "Hello from the files of the tree.";
    args.extend_from_slice(&(greeting.len() as u32).to_le_bytes());
    args.extend_from_slice(greeting.as_bytes());
    let mut wire = Vec::new();
    let mut e = defmt::Encoder::new();
    e.start_frame(|b| wire.extend_from_slice(b));
    e.write(&index.to_le_bytes(), |b| wire.extend_from_slice(b));
    e.write(&args, |b| wire.extend_from_slice(b));
    e.end_frame(|b| wire.extend_from_slice(b));
    let mut lines = ota::console_lines::ConsoleLines::with_elf(elf).unwrap();
    let shown = String::from_utf8(lines.feed(&wire)).unwrap();
    assert_eq!(shown, format!("INFO  hello-ota v1 trial #3: {greeting}\n"));
}
