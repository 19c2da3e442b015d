//! `ota new`: a complete application project from the template kept in
//! `template/`. Every file is written into a fresh folder beside the target
//! and renamed into place at the end, so a failure leaves nothing half-made.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::exit::{fail, Kind};

const CARGO_TOML: &str = include_str!("template/Cargo.toml.in");
const CARGO_CONFIG: &str = include_str!("template/config.toml");
const MEMORY_X: &str = include_str!("template/memory.x");
const BUILD_RS: &str = include_str!("template/build.rs");
const MAIN_RS: &str = include_str!("template/main.rs");
const README: &str = include_str!("template/README.md");
const GREETING: &str = include_str!("template/greeting.txt");
const WIFI_BUILD_RS: &str = include_str!("template/wifi/build.rs");
const WIFI_MAIN_RS: &str = include_str!("template/wifi/main.rs");
const WIFI_DEPENDENCIES: &str = include_str!("template/wifi/dependencies.toml");
const WIFI_README: &str = include_str!("template/wifi/README.md");
const WIFI_NVRAM: &str = include_str!("template/wifi/nvram.txt");
/// The agent firmware's lock file: a new project starts from the versions of
/// embassy the agent is built and tested with (cargo drops what it does not
/// use and adds what it lacks), and can share the agent's compiled crates.
const CARGO_LOCK: &str = include_str!("../../firmware-agent/pico/Cargo.lock");

/// The version of ota-app this ota writes projects for.
pub const OTA_APP_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Which project to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// USB console, files, confirm: any RP2040 board.
    Plain,
    /// The Pico W's CYW43439 too, its firmware as files of the tree.
    Wifi,
}

/// Where the project takes `ota-app` from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtaApp {
    /// crates.io, by version.
    Registry,
    /// A local checkout's `firmware-agent/app` (the version is kept for publishing).
    Path(PathBuf),
}

impl OtaApp {
    /// The checkout this ota was built from, when it is still there.
    pub fn of_build() -> Option<PathBuf> {
        let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware-agent/app");
        app.join("Cargo.toml").is_file().then_some(app)
    }

    fn dependency_line(&self) -> String {
        let features = r#"features = ["rp2040", "defmt"]"#;
        match self {
            OtaApp::Registry => {
                format!(r#"ota-app = {{ version = "{OTA_APP_VERSION}", {features} }}"#)
            }
            OtaApp::Path(p) => format!(
                r#"ota-app = {{ version = "{OTA_APP_VERSION}", path = "{}", {features} }}"#,
                toml_escape(&p.display().to_string())
            ),
        }
    }
}

fn toml_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The package name a folder gives: cargo's rules, checked before anything is written.
pub fn package_name(dir: &Path) -> Result<String> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !ok {
        return Err(fail(
            Kind::Config,
            format!(
                "{}: the folder's name is the package name, which must start with a letter and hold only letters, digits, - and _; pick another folder name",
                dir.display()
            ),
        ));
    }
    Ok(name)
}

/// The project's files, path and contents, for `variant`.
pub fn files(name: &str, variant: Variant, ota_app: &OtaApp) -> Vec<(&'static str, Vec<u8>)> {
    let wifi = variant == Variant::Wifi;
    let cargo_toml = CARGO_TOML
        .replace("{{name}}", name)
        .replace("{{ota_app}}", &ota_app.dependency_line())
        .replace(
            "{{extra_dependencies}}",
            if wifi { WIFI_DEPENDENCIES } else { "" },
        );
    let readme = README
        .replace("{{name}}", name)
        .replace("{{readme_extra}}", if wifi { WIFI_README } else { "" });
    let mut out = vec![
        ("Cargo.toml", cargo_toml.into_bytes()),
        ("Cargo.lock", CARGO_LOCK.into()),
        (".cargo/config.toml", CARGO_CONFIG.into()),
        ("memory.x", MEMORY_X.into()),
        (
            "build.rs",
            if wifi { WIFI_BUILD_RS } else { BUILD_RS }.into(),
        ),
        (
            "src/main.rs",
            if wifi { WIFI_MAIN_RS } else { MAIN_RS }.into(),
        ),
        ("README.md", readme.into_bytes()),
        (".gitignore", gitignore(wifi).into()),
        ("files/greeting.txt", GREETING.into()),
    ];
    if wifi {
        out.push(("files/cyw43/nvram.bin", nvram()));
    }
    out
}

/// The build's output, and the CYW43 blob that build.rs copies in at each
/// build (from its crate, under its own licence: not the project's to commit).
fn gitignore(wifi: bool) -> &'static str {
    match wifi {
        true => "/target\n/files/cyw43/43439A0.bin\n/files/cyw43/43439A0_clm.bin\n",
        false => "/target\n",
    }
}

/// The board settings as the chip takes them: NUL after each, one more at the end.
fn nvram() -> Vec<u8> {
    let mut out = Vec::new();
    for line in WIFI_NVRAM.lines().filter(|l| !l.is_empty()) {
        out.extend_from_slice(line.as_bytes());
        out.push(0);
    }
    out.push(0);
    out
}

/// Writes the project into `dir`, which must not exist yet (or be empty).
/// Returns the paths written, relative to `dir`.
pub fn create(dir: &Path, variant: Variant, ota_app: &OtaApp) -> Result<Vec<&'static str>> {
    let name = package_name(dir)?;
    if fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(fail(
            Kind::Config,
            format!(
                "{}: the folder exists and is not empty; nothing was written: give a new folder",
                dir.display()
            ),
        ));
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).with_context(|| format!("create {}", parent.display()))?;
    let staging = parent.join(format!(".{name}.ota-new.{}", std::process::id()));
    let written = write_all(&staging, &files(&name, variant, ota_app));
    let moved = written.and_then(|list| {
        if dir.exists() {
            fs::remove_dir(dir)
                .with_context(|| format!("replace the empty folder {}", dir.display()))?;
        }
        fs::rename(&staging, dir)
            .with_context(|| format!("move the project to {}", dir.display()))?;
        Ok(list)
    });
    if moved.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    moved
}

/// Every file under `root`, made fresh.
fn write_all(root: &Path, list: &[(&'static str, Vec<u8>)]) -> Result<Vec<&'static str>> {
    fs::create_dir(root).with_context(|| format!("make {}", root.display()))?;
    for (path, bytes) in list {
        let at = root.join(path);
        fs::create_dir_all(at.parent().expect("a file in a folder"))
            .and_then(|_| fs::write(&at, bytes))
            .with_context(|| format!("write {}", at.display()))?;
    }
    Ok(list.iter().map(|(p, _)| *p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ota_agent::board::{APP_SLOT_BASE, APP_SLOT_SIZE, XIP_BASE};

    #[test]
    fn the_templates_memory_x_is_the_boards_slot() {
        let origin = format!("ORIGIN = {:#010x}", XIP_BASE + APP_SLOT_BASE);
        let length = format!("LENGTH = {}K", APP_SLOT_SIZE / 1024);
        assert!(
            MEMORY_X.contains(&format!("FLASH : {origin}, {length}")),
            "{MEMORY_X}"
        );
    }

    #[test]
    fn the_wifi_project_carries_the_nvram_and_keeps_the_blob_out_of_git() {
        let app = OtaApp::Path(PathBuf::from("/x/app"));
        let list = files("p", Variant::Wifi, &app);
        let get = |p: &str| &list.iter().find(|(q, _)| *q == p).expect(p).1;
        let nvram = get("files/cyw43/nvram.bin");
        assert!(nvram.starts_with(b"NVRAMRev=") && nvram.ends_with(b"\0\0"));
        assert_eq!(
            nvram.iter().filter(|&&b| b == 0).count(),
            WIFI_NVRAM.lines().count() + 1
        );
        let ignore = String::from_utf8(get(".gitignore").clone()).unwrap();
        assert!(ignore.contains("/files/cyw43/43439A0.bin"), "{ignore}");
        let toml = String::from_utf8(get("Cargo.toml").clone()).unwrap();
        assert!(
            toml.contains(r#"path = "/x/app""#) && toml.contains("cyw43-firmware"),
            "{toml}"
        );
        let plain = files("p", Variant::Plain, &OtaApp::Registry);
        assert!(!plain.iter().any(|(p, _)| p.starts_with("files/cyw43")));
    }
}
