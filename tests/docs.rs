//! The documentation is checked like code: every relative link in README.md
//! and docs/ reaches a file (and a heading, when it names one), every field of
//! ota_config.example.json is documented, the README stays short, and the
//! blocks a page marks for it run against simulated devices in a temporary
//! folder and print what the page shows.
//!
//! Two kinds of block run: ```` ```sh tested ```` (a bash script that must
//! succeed) and ```` ```console ```` (a session: each `$ command` line runs,
//! and each line shown under it must be among what it printed; a command
//! shown ending in `ota: error: ...` must fail, any other must succeed). The
//! blocks of one page share one folder, in order, which is also their HOME;
//! it starts with a copy of `examples/` and `ota_config.example.json`, and
//! `ota` is on the PATH, as installed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every page under docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// A fenced block: its info string and its lines.
struct Block {
    info: String,
    body: Vec<String>,
}

/// The page's text outside fenced blocks, and its fenced blocks.
fn split(text: &str) -> (Vec<String>, Vec<Block>) {
    let (mut prose, mut blocks) = (Vec::new(), Vec::new());
    let mut open: Option<Block> = None;
    for line in text.lines() {
        let fence = line.trim_start().starts_with("```");
        match (&mut open, fence) {
            (None, true) => {
                open = Some(Block {
                    info: line.trim_start().trim_start_matches('`').trim().to_string(),
                    body: Vec::new(),
                })
            }
            (None, false) => prose.push(line.to_string()),
            (Some(_), true) => blocks.extend(open.take()),
            (Some(b), false) => b.body.push(line.to_string()),
        }
    }
    (prose, blocks)
}

/// Link targets of `[text](target)` in prose, inline code left out.
fn links(prose: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose {
        let mut outside = String::new();
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                outside.push_str(part);
            }
        }
        let mut rest = outside.as_str();
        while let Some(at) = rest.find("](") {
            let tail = &rest[at + 2..];
            let end = tail.find(')').unwrap_or(tail.len());
            out.push(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    out
}

/// The anchor GitHub gives a heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    split(text)
        .0
        .iter()
        .filter(|l| l.starts_with('#'))
        .map(|l| slug(l.trim_start_matches('#')))
        .collect()
}

#[test]
fn every_relative_link_reaches_a_file_and_its_heading() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for target in links(&split(&text).0) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let file = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            let name = page.strip_prefix(root()).unwrap().display().to_string();
            if !file.exists() {
                broken.push(format!("{name}: {target}: no such file"));
            } else if !anchor.is_empty() && file.extension().is_some_and(|x| x == "md") {
                let there = std::fs::read_to_string(&file).unwrap();
                if !anchors(&there).iter().any(|a| a == anchor) {
                    broken.push(format!("{name}: {target}: no such heading"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_is_a_front_door() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines; move detail to docs/"
    );
    // Two commands set a fresh clone up: the main job, and the test suite.
    let (_, blocks) = split(&readme);
    let setup: Vec<&Block> = blocks
        .iter()
        .filter(|b| b.body.iter().any(|l| l.contains("cargo install")))
        .collect();
    assert_eq!(setup.len(), 1, "one block installs ota and pushes");
    assert!(blocks.iter().any(|b| b.body == ["bash .ci/test"]));
    // The first installs ota, then does the main job; run twice, it is up to date.
    let line = setup[0].body.join(" ");
    let (install, push) = line.split_once(" && ").expect("install && push");
    assert_eq!(install, "cargo install --locked --path .");
    assert!(push.starts_with("ota --port 'sim:"), "{push}");
    let dir = workspace();
    let (code, first) = shell(dir.path(), push);
    assert_eq!(code, 0, "{first}");
    assert!(first.contains("1 file(s) sent"), "{first}");
    let (code, again) = shell(dir.path(), push);
    assert_eq!(code, 0, "{again}");
    assert!(again.contains("up to date"), "{again}");
}

#[test]
fn every_config_field_is_documented() {
    let example: serde_json::Value =
        serde_json::from_str(include_str!("../ota_config.example.json")).unwrap();
    let page = std::fs::read_to_string(root().join("docs/configuration.md")).unwrap();
    let rows: Vec<&str> = page.lines().filter(|l| l.starts_with("| `")).collect();
    let missing: Vec<&String> = example
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| {
            let name = format!("`{k}`");
            !rows
                .iter()
                .any(|r| r.split('|').nth(1).is_some_and(|c| c.contains(&name)))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md has no row for {missing:?}"
    );
}

/// Device ids and timings vary from run to run; nothing else may.
fn normalized(line: &str) -> String {
    line.split(' ')
        .map(|w| {
            let hex = w.len() == 16 && w.chars().all(|c| c.is_ascii_hexdigit());
            let secs = w
                .trim_end_matches([',', ';', ')'])
                .strip_suffix('s')
                .is_some_and(|n| n.parse::<f64>().is_ok());
            match (hex, secs) {
                (true, _) => "<id>".to_string(),
                (_, true) => "<secs>".to_string(),
                _ => w.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A folder as a reader of the page has it: the examples, and `ota` installed.
fn workspace() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    copy_tree(&root().join("examples"), &d.path().join("examples"));
    std::fs::copy(
        root().join("ota_config.example.json"),
        d.path().join("ota_config.example.json"),
    )
    .unwrap();
    d
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_name() == "target" {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

fn shell(dir: &Path, script: &str) -> (i32, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_ota")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("HOME", dir)
        .env("OTA_CACHE_DIR", dir.join(".cache"))
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env_remove("OTA_PORT")
        .env_remove("GITHUB_TOKEN")
        .output()
        .expect("bash");
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    (out.status.code().unwrap_or(-1), text)
}

/// Runs a console block's commands; returns what went wrong.
fn session(dir: &Path, body: &[String]) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let Some(cmd) = body[i].strip_prefix("$ ") else {
            wrong.push(format!("{:?} is not under a command", body[i]));
            i += 1;
            continue;
        };
        let shown: Vec<&String> = body[i + 1..]
            .iter()
            .take_while(|l| !l.starts_with("$ "))
            .collect();
        i += 1 + shown.len();
        let (code, printed) = shell(dir, cmd);
        let printed: Vec<String> = printed.lines().map(normalized).collect();
        let fails = shown.iter().any(|l| l.starts_with("ota: error: "));
        if fails == (code == 0) {
            wrong.push(format!(
                "$ {cmd}: exit {code}; printed:\n{}",
                printed.join("\n")
            ));
        }
        for line in shown {
            if !printed.contains(&normalized(line)) {
                wrong.push(format!(
                    "$ {cmd}: the page shows {line:?}; ota printed:\n{}",
                    printed.join("\n")
                ));
            }
        }
    }
    wrong
}

#[test]
fn the_commands_the_pages_mark_run_and_print_what_they_show() {
    let mut wrong = Vec::new();
    let mut ran = 0;
    for page in pages() {
        let name = page.strip_prefix(root()).unwrap().display().to_string();
        let (_, blocks) = split(&std::fs::read_to_string(&page).unwrap());
        let dir = workspace();
        for b in blocks {
            let problems = match b.info.as_str() {
                "console" => session(dir.path(), &b.body),
                "sh tested" => match shell(dir.path(), &b.body.join("\n")) {
                    (0, _) => Vec::new(),
                    (code, out) => vec![format!("exit {code}:\n{out}")],
                },
                _ => continue,
            };
            ran += 1;
            wrong.extend(problems.into_iter().map(|p| format!("{name}: {p}")));
        }
    }
    assert!(ran >= 4, "only {ran} blocks are marked to run");
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
