//! `cargo bench --bench push`: what a push costs on the wire, on the host,
//! and (through the board model of `src/device/sim/board_model.rs`) on a real
//! Pico W, beside the bounds the USB link and the flash chip set.
//!
//! Sections, all by default, or name some: `cargo bench --bench push -- tree sweep`.
//!
//! - `tree`         a 1 MiB tree of typical files (50 files, 1-100 KiB, mostly text) and one 1 MiB file
//! - `incremental`  the same tree after one file of fifty changed
//! - `sweep`        chunk size x window, to pick the defaults
//! - `throughput`   a 10 MiB tree to `sim:` and over TCP (issue 3)
//! - `memory`       host peak memory for 1, 10 and 50 MiB trees
//! - `fleet`        1, 4 and 8 simulated boards at once with `ota --port ... push` (issue 8)
//! - `space`        flash each tree takes as stored, against one extent per file and the floor
//!
//! Measures, never asserts. Runs that need a clean process (memory, TCP)
//! are child processes of this binary (`__push`, `__agent`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ota::bundle::Bundle;
use ota::config::Config;
use ota::device::agent::client::{Client, WireStats};
use ota::device::agent::push::{push, PushOptions, PushOutcome};
use ota::device::link::transport::{Tcp, Transport};
use ota::device::sim::board_model::{BoardModel, BoardTime, LinkTiming};
use ota::device::sim::{SimDevice, SimImage, SimTransport};
use ota::filter::Filter;
use ota::source::dir;
use ota_agent::board::FLASH_SIZE;
use ota_agent::timed_flash::FlashTiming;
use ota_protocol::{decode_request, encode_frame, Decoder, Reply, Request, TreeSel};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;
/// Room for a 10 MiB tree: the store takes at most 16 MiB (4096 sectors).
const BIG_FLASH: usize = 16 * MIB as usize;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let result = match args.first().map(String::as_str) {
        Some("__agent") => child_agent(&args[1..]),
        Some("__push") => child_push(&args[1..]),
        _ => run(&args),
    };
    if let Err(e) = result {
        eprintln!("bench failed: {e:#}");
        std::process::exit(1);
    }
}

fn run(sections: &[String]) -> anyhow::Result<()> {
    let want = |s: &str| sections.is_empty() || sections.iter().any(|a| a == s);
    let work = tempfile::Builder::new().prefix("ota-bench-").tempdir()?;
    let w = work.path();
    let started = Instant::now();
    println!("# ota push benchmarks\n");
    print_model();
    if want("tree") {
        tree_section(w)?;
    }
    if want("incremental") {
        incremental_section(w)?;
    }
    if want("sweep") {
        sweep_section(w)?;
    }
    if want("throughput") {
        throughput_section(w)?;
    }
    if want("memory") {
        memory_section(w)?;
    }
    if want("fleet") {
        fleet_section(w)?;
    }
    if want("space") {
        space_section(w)?;
    }
    println!(
        "\n(all sections: {:.0} s of wall time)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ---------------------------------------------------------------- space

/// What each tree takes in the store, counted by the agent's own rule
/// (`ota_agent::space`: small files share sectors, page by page; larger
/// ones take extents of whole sectors), beside one extent per file (the
/// store before small files were packed) and everything packed byte to
/// byte (the floor). A Pico W's store has 318 sectors for trees.
fn space_section(w: &Path) -> anyhow::Result<()> {
    use ota_agent::layout::sectors_for;
    use ota_agent::space::{extent_sectors, record_sectors, tree_need};
    println!("\n## Space: sectors of 4 KiB each tree takes (a Pico W store has 318 for trees)\n");
    println!("| tree | files | bytes | one extent per file | as stored (small files packed) | floor (all bytes packed) | packing saves |");
    println!("|---|---|---|---|---|---|---|");
    let typical = w.join("space-typical");
    typical_tree(&typical, 50, MIB, 1)?;
    let one = w.join("space-one");
    write_file(
        &one.join("firmware.bin"),
        &binary_bytes(&mut Rng(7), MIB as usize),
    )?;
    let tiny = w.join("space-tiny");
    let _ = std::fs::remove_dir_all(&tiny);
    for i in 0..400 {
        write_file(
            &tiny.join(format!("f{i:03}.txt")),
            format!("file{i:04}").as_bytes(),
        )?;
    }
    let small = w.join("space-small");
    sized_tree(&small, 200, 200 * 1500, 3)?;
    for (name, root) in [
        ("50 typical files, 1 MiB", &typical),
        ("one 1 MiB file", &one),
        ("200 files of 1.5 KB", &small),
        ("400 files of 8 B", &tiny),
    ] {
        let b = load(root)?;
        let sizes: Vec<u32> = b.files().iter().map(|f| f.size).collect();
        let bytes: u64 = sizes.iter().map(|&s| s as u64).sum();
        let record = record_sectors(sizes.len());
        let before = record + sizes.iter().map(|&s| extent_sectors(s)).sum::<u32>();
        let now = tree_need(sizes.len(), sizes.iter().copied());
        let floor = record + sectors_for(bytes);
        println!(
            "| {name} | {} | {} | {before} | {now} | {floor} | {} sectors ({}) |",
            sizes.len(),
            human(bytes),
            before - now,
            human((before - now) as u64 * 4096)
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- the model

fn print_model() {
    let f = FlashTiming::W25Q16JV;
    let l = LinkTiming::USB_FULL_SPEED;
    let c = BoardModel::PICO_W.cpu;
    println!(
        "Board model (src/device/sim/board_model.rs, firmware-agent/core/src/timed_flash.rs):"
    );
    println!(
        "- flash W25Q16JV typical: page program {:.1} ms, 4 KiB sector erase {} ms, 64 KiB block erase {} ms",
        f.page_program_ns as f64 / 1e6,
        f.sector_erase_ns / 1_000_000,
        f.block_erase_ns / 1_000_000
    );
    println!(
        "- link USB full-speed bulk: {:.0} B/s ceiling (19 x 64 B per 1 ms frame), {:.1} ms turnaround when the host waits",
        l.raw_bytes_per_s(),
        l.turnaround_ns as f64 / 1e6
    );
    println!(
        "- agent CPU: {} cycles per byte received at {} MHz (measured in rp2040js)",
        c.cycles_per_byte,
        c.hz / 1_000_000
    );
    println!("- the RP2040 does one thing at a time: link, CPU and flash times add up");
    println!(
        "- boards: `pico-w` = the firmware as built (4 KiB chunks, its driver erases 64 KiB blocks where it can);"
    );
    println!(
        "  `sectors only` = embassy-rp's driver, which erases 4 KiB sectors only; `1k` = the earlier 1 KiB link buffer\n"
    );
}

/// The board configurations the tables compare.
fn boards() -> [(&'static str, BoardModel, u32); 3] {
    let sectors = BoardModel {
        flash: FlashTiming::W25Q16JV.sectors_only(),
        ..BoardModel::PICO_W
    };
    [
        ("pico-w", BoardModel::PICO_W, 4096),
        ("pico-w sectors only", sectors, 4096),
        ("pico-w 1k", BoardModel::PICO_W.with_max_chunk(1024), 1024),
    ]
}

// ------------------------------------------------------------ tree section

fn tree_section(w: &Path) -> anyhow::Result<()> {
    let d = Config::default();
    println!(
        "## 1 MiB: a tree of 50 typical files, and one file (defaults: chunk {}, window {})\n",
        d.chunk, d.window
    );
    let tree = w.join("tree-1m");
    let files = typical_tree(&tree, 50, MIB, 1)?;
    let (text, bin) = files.iter().fold(
        (0, 0),
        |(t, b), f| {
            if f.1 {
                (t, b + 1)
            } else {
                (t + 1, b)
            }
        },
    );
    let one = w.join("one-1m");
    write_file(
        &one.join("firmware.bin"),
        &binary_bytes(&mut Rng(7), MIB as usize),
    )?;
    println!(
        "tree: {} files ({text} text, {bin} binary), {}; file: 1 binary file, 1 MiB\n",
        files.len(),
        human(dir_bytes(&tree)?)
    );
    let agent = AgentProcess::start(w, FLASH_SIZE)?;
    let mut rows = Vec::new();
    for (label, root) in [("tree", &tree), ("file", &one)] {
        let bundle = load(root)?;
        let payload = bundle.total_bytes();
        let host = child_push_run(&format!("tcp:{}", agent.addr), root, d.chunk, d.window)?;
        agent.reset_flash()?;
        let mut modeled = Vec::new();
        for (name, model, chunk) in boards() {
            let image = bench_image(w, &format!("{label}-{name}"), FLASH_SIZE).with_model(model);
            let r = push_in_process(&image, &bundle, chunk, d.window)?;
            modeled.push((name, chunk, r));
        }
        rows.push((label, payload, host, modeled));
    }
    agent.stop();

    type Row = (
        &'static str,
        u64,
        HashMap<String, String>,
        Vec<(&'static str, u32, Run)>,
    );
    let cell = |f: &dyn Fn(&Row) -> String| -> String {
        rows.iter().map(f).collect::<Vec<_>>().join(" | ")
    };
    println!("| | tree | file |");
    println!("|---|---|---|");
    println!("| payload | {} |", cell(&|r: &Row| human(r.1)));
    // The wire does not depend on the flash: one row per chunk size.
    for i in [0, 2] {
        let chunk = boards()[i].2;
        println!(
            "| wire bytes per payload byte, chunk {chunk} (host to board only) | {} |",
            cell(&|r: &Row| {
                let s = &r.3[i].2.stats;
                format!(
                    "{:.4} ({:.4})",
                    (s.bytes_out + s.bytes_in) as f64 / r.1 as f64,
                    s.bytes_out as f64 / r.1 as f64
                )
            })
        );
        println!(
            "| frames out / replies / acknowledgements waited on, chunk {chunk} | {} |",
            cell(&|r: &Row| {
                let run = &r.3[i].2;
                format!(
                    "{} / {} / {}",
                    run.stats.frames_out,
                    run.stats.frames_in,
                    run.board.map_or(0, |b| b.host_waits)
                )
            })
        );
    }
    println!(
        "| host CPU: push over TCP (hashing the files before) | {} |",
        cell(&|r: &Row| format!(
            "{} ms ({} ms)",
            r.2.get("push_cpu_ms").map_or("n/a", String::as_str),
            r.2.get("load_cpu_ms").map_or("n/a", String::as_str)
        ))
    );
    println!(
        "| host and simulated agent CPU, `sim:` in one thread | {} |",
        cell(&|r: &Row| format!("{:.0} ms", r.3[0].2.cpu.as_secs_f64() * 1e3))
    );
    for (i, (name, _, chunk)) in boards().iter().enumerate() {
        println!(
            "| **modeled board time**, {name} (chunk {chunk}) | {} |",
            cell(&|r: &Row| board_cell(&r.3[i].2, r.1))
        );
    }
    println!(
        "| bound: link raw rate (payload at 1,216,000 B/s) | {} |",
        cell(&|r: &Row| format!(
            "{:.2} s",
            r.1 as f64 / LinkTiming::USB_FULL_SPEED.raw_bytes_per_s()
        ))
    );
    println!(
        "| bound: flash program + erase, 64 KiB blocks | {} |",
        cell(&|r: &Row| format!("{:.2} s", FlashTiming::W25Q16JV.bound_ns(r.1) as f64 / 1e9))
    );
    println!(
        "| bound: flash program + erase, 4 KiB sectors (embassy-rp's driver) | {} |",
        cell(&|r: &Row| format!(
            "{:.2} s",
            FlashTiming::W25Q16JV.sectors_only().bound_ns(r.1) as f64 / 1e9
        ))
    );
    println!();
    for (label, payload, _, modeled) in &rows {
        for (name, _, r) in modeled {
            let Some(b) = r.board else { continue };
            let bound = flash_bound_of(name, *payload);
            println!(
                "{label} on {name}: modeled {:.2} s = flash {:.2} + link {:.2} + CPU {:.2} + idle {:.2}; {:.2}x the flash bound of its driver ({:.2} s); {} block + {} sector erases",
                b.seconds, b.flash_seconds, b.link_seconds, b.cpu_seconds, b.idle_seconds,
                b.seconds / bound, bound, b.block_erases, b.sector_erases
            );
        }
    }
    println!();
    Ok(())
}

/// The flash bound for the board named: block erases only where its driver has them.
fn flash_bound_of(name: &str, bytes: u64) -> f64 {
    let f = if name.contains("sectors") {
        FlashTiming::W25Q16JV.sectors_only()
    } else {
        FlashTiming::W25Q16JV
    };
    f.bound_ns(bytes) as f64 / 1e9
}

fn board_cell(r: &Run, payload: u64) -> String {
    match r.board {
        Some(b) => format!(
            "{:.2} s ({:.0} KiB/s)",
            b.seconds,
            payload as f64 / 1024.0 / b.seconds
        ),
        None => "n/a".into(),
    }
}

// ----------------------------------------------------- incremental section

fn incremental_section(w: &Path) -> anyhow::Result<()> {
    let d = Config::default();
    println!("## Incremental: one file of fifty changed (defaults)\n");
    let tree = w.join("tree-incr");
    let files = typical_tree(&tree, 50, MIB, 2)?;
    // The changed file: a text file of typical size (the median).
    let mut text: Vec<_> = files.iter().filter(|f| !f.1).collect();
    text.sort_by_key(|f| f.2);
    let (changed, _, size) = text[text.len() / 2].clone();
    println!(
        "| board | first push | after changing `{changed}` ({}) |",
        human(size)
    );
    println!("|---|---|---|");
    for (name, model, chunk) in boards() {
        let image = bench_image(w, &format!("incr-{name}"), FLASH_SIZE).with_model(model);
        let _ = std::fs::remove_file(&image.path);
        // Fresh copy of the tree for each board: the change below edits it.
        let root = w.join(format!("tree-incr-{name}"));
        copy_tree(&tree, &root)?;
        let first = push_in_process(&image, &load_as(&root, "v1")?, chunk, d.window)?;
        let path = root.join(&changed);
        let mut bytes = std::fs::read(&path)?;
        bytes.extend_from_slice(b"\n# changed\n");
        std::fs::write(&path, bytes)?;
        let second = push_in_process(&image, &load_as(&root, "v2")?, chunk, d.window)?;
        println!(
            "| {name} | {} in {} files, {} | {} in {} file, {}; {} reused |",
            human(first.outcome.bytes_sent),
            first.outcome.files_sent,
            secs(&first),
            human(second.outcome.bytes_sent),
            second.outcome.files_sent,
            secs(&second),
            second.outcome.files_reused
        );
    }
    println!();
    Ok(())
}

fn secs(r: &Run) -> String {
    r.board
        .map_or("n/a".into(), |b| format!("modeled {:.2} s", b.seconds))
}

// ----------------------------------------------------------- sweep section

fn sweep_section(w: &Path) -> anyhow::Result<()> {
    println!("## Sweep: chunk x window, 1 MiB tree of 50 files\n");
    println!("Modeled on a Pico W (4 KiB chunks as built), with embassy-rp's sector-erase driver and with the block erases of the driver as built.\n");
    let tree = w.join("tree-1m");
    if !tree.exists() {
        typical_tree(&tree, 50, MIB, 1)?;
    }
    let bundle = load(&tree)?;
    let payload = bundle.total_bytes();
    let sectors = BoardModel {
        flash: FlashTiming::W25Q16JV.sectors_only(),
        ..BoardModel::PICO_W
    };
    let blocks = BoardModel::PICO_W.with_max_chunk(4096);
    println!("| chunk | window | wire/payload | frames out | host waits | modeled, sectors | modeled, blocks | sim wall |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut best: Option<(f64, u32, u32)> = None;
    for chunk in [256u32, 512, 1024, 2048, 4096] {
        for window in [1u32, 2, 4, 8, 16] {
            let a = push_in_process(
                &bench_image(w, "sweep-a", FLASH_SIZE).with_model(sectors),
                &bundle,
                chunk,
                window,
            )?;
            let b = push_in_process(
                &bench_image(w, "sweep-b", FLASH_SIZE).with_model(blocks),
                &bundle,
                chunk,
                window,
            )?;
            let (ta, tb) = (
                a.board.map_or(0.0, |x| x.seconds),
                b.board.map_or(0.0, |x| x.seconds),
            );
            let overhead = (a.stats.bytes_out + a.stats.bytes_in) as f64 / payload as f64;
            println!(
                "| {chunk} | {window} | {overhead:.4} | {} | {} | {ta:.2} s | {tb:.2} s | {:.0} ms |",
                a.stats.frames_out,
                a.board.map_or(0, |x| x.host_waits),
                a.wall.as_secs_f64() * 1e3
            );
            if best.is_none_or(|(t, _, _)| tb < t - 1e-3) {
                best = Some((tb, chunk, window));
            }
        }
    }
    if let Some((t, chunk, window)) = best {
        println!("\nfastest modeled (blocks): chunk {chunk}, window {window}: {t:.2} s\n");
    }
    Ok(())
}

// ------------------------------------------------------ throughput section

fn throughput_section(w: &Path) -> anyhow::Result<()> {
    let d = Config::default();
    println!(
        "## Throughput: a 10 MiB tree (320 files), host side (chunk {}, window {}; no board model)\n",
        d.chunk, d.window
    );
    println!("`sim:` runs the agent in the pushing process (a 16 MiB flash image in memory); TCP serves the same simulated agent from another process, like `ota agent sim --listen`. Each push runs in a fresh child process; peak memory is its VmHWM.\n");
    let tree = w.join("tree-10m");
    sized_tree(&tree, 320, 10 * MIB, 3)?;
    println!("| link | push wall | throughput | wire/payload | host CPU (push) | host peak RSS |");
    println!("|---|---|---|---|---|---|");
    let sim = bench_image(w, "tp-sim", BIG_FLASH);
    let r = child_push_run(
        &format!("sim16:{}", sim.path.display()),
        &tree,
        d.chunk,
        d.window,
    )?;
    throughput_row("`sim:` (agent in process)", &r);
    let agent = AgentProcess::start(w, BIG_FLASH)?;
    let r = child_push_run(&format!("tcp:{}", agent.addr), &tree, d.chunk, d.window)?;
    agent.stop();
    throughput_row("TCP to `ota agent sim`-like server", &r);
    println!();
    Ok(())
}

fn throughput_row(label: &str, r: &HashMap<String, String>) {
    let get = |k: &str| r.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let payload = get("payload");
    let wall = get("push_wall_ms") / 1e3;
    println!(
        "| {label} | {:.2} s | {:.1} MiB/s | {:.4} | {:.0} ms | {} |",
        wall,
        payload / MIB as f64 / wall,
        (get("bytes_out") + get("bytes_in")) / payload,
        get("push_cpu_ms"),
        human(get("vmhwm_kb") as u64 * KIB)
    );
}

// ---------------------------------------------------------- memory section

fn memory_section(w: &Path) -> anyhow::Result<()> {
    let d = Config::default();
    println!("## Host peak memory against tree size\n");
    println!("Each push runs in a fresh child process against a sink agent (it acknowledges every byte and keeps none: no store holds 50 MiB), so the figure is the host's alone: hashing the tree, planning, streaming.\n");
    println!("| tree | files | peak RSS (VmHWM) | push wall |");
    println!("|---|---|---|---|");
    for (mib, files) in [(1u64, 50usize), (10, 320), (50, 400)] {
        let tree = w.join(format!("mem-{mib}m"));
        sized_tree(&tree, files, mib * MIB, 10 + mib)?;
        let r = child_push_run("sink", &tree, d.chunk, d.window)?;
        let kb = r
            .get("vmhwm_kb")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let wall = r
            .get("push_wall_ms")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        println!(
            "| {mib} MiB | {files} | {} | {:.2} s |",
            human(kb * KIB),
            wall / 1e3
        );
        std::fs::remove_dir_all(&tree)?;
    }
    println!();
    Ok(())
}

// ----------------------------------------------------------- fleet section

fn fleet_section(w: &Path) -> anyhow::Result<()> {
    println!("## Fleet: the same 1 MiB tree to 1, 4 and 8 simulated boards\n");
    println!("`ota --port sim:A?model=pico-w --port sim:B?model=pico-w ... --json push` (the binary, one thread per board; images on tmpfs when there is one). Wall time is this host's; the modeled time is the slowest board's, each on its own USB port.\n");
    let tree = w.join("tree-1m");
    if !tree.exists() {
        typical_tree(&tree, 50, MIB, 1)?;
    }
    let shm = Path::new("/dev/shm");
    let images = if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("ota-bench-")
            .tempdir_in(shm)?
    } else {
        tempfile::Builder::new()
            .prefix("ota-bench-fleet-")
            .tempdir_in(w)?
    };
    println!("| boards | wall | modeled, slowest board | bytes sent |");
    println!("|---|---|---|---|");
    for n in [1usize, 4, 8] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ota"));
        cmd.current_dir(images.path());
        for i in 0..n {
            let img = images.path().join(format!("fleet-{n}-{i}.img"));
            cmd.arg("--port")
                .arg(format!("sim:{}?model=pico-w", img.display()));
        }
        cmd.args(["--json", "push", "--dir"]).arg(&tree);
        cmd.args(["--version", "v1"]);
        let t = Instant::now();
        let out = cmd.stderr(Stdio::null()).output()?;
        let wall = t.elapsed();
        if !out.status.success() {
            println!(
                "| {n} | failed: {} | | |",
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
            );
            continue;
        }
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let records: Vec<&serde_json::Value> = match doc["devices"].as_array() {
            Some(a) => a.iter().collect(),
            None => vec![&doc],
        };
        let slowest = records
            .iter()
            .filter_map(|r| r["wire"]["board"]["seconds"].as_f64())
            .fold(0.0, f64::max);
        let sent: u64 = records
            .iter()
            .filter_map(|r| r["bytes_sent"].as_u64())
            .sum();
        println!(
            "| {n} | {:.2} s | {:.2} s | {} |",
            wall.as_secs_f64(),
            slowest,
            human(sent)
        );
    }
    println!();
    Ok(())
}

// ----------------------------------------------------------- pushing

struct Run {
    outcome: PushOutcome,
    stats: WireStats,
    board: Option<BoardTime>,
    wall: Duration,
    /// This thread's CPU: the host and the in-process simulated agent.
    cpu: Duration,
}

fn options(chunk: u32, window: u32) -> PushOptions {
    let d = Config::default();
    PushOptions {
        boots: d.trial_boots,
        trial_timeout_sec: 0,
        window,
        chunk,
        reboot: true,
        confirm_timeout: d.confirm_timeout,
        reconnect_timeout: d.device_timeout,
        resume: None,
        moved_sectors: 0,
        every_sha256: false,
        patch: None,
        keep_local: false,
        look_ahead: false,
    }
}

/// An `ota push` against `sim:` in this process: connect, hello, list both
/// trees (as the command does for its plan), push, reboot, confirm.
fn push_in_process(
    image: &SimImage,
    bundle: &Bundle,
    chunk: u32,
    window: u32,
) -> anyhow::Result<Run> {
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    let t = SimTransport::open(image, true)?;
    let mut c = Client::new(Box::new(t), Config::default().device_timeout);
    let info = c.hello()?;
    c.list(TreeSel::Active)?;
    c.list(TreeSel::Previous)?;
    let opts = options(chunk.min(info.max_chunk as u32), window);
    let outcome = push(&mut c, bundle, &opts, &mut |_| {})?;
    let wall = t0.elapsed();
    let cpu = thread_cpu()
        .zip(cpu0)
        .map_or(Duration::ZERO, |(a, b)| a - b);
    Ok(Run {
        outcome,
        board: c.stats.board,
        stats: c.stats,
        wall,
        cpu,
    })
}

fn bench_image(w: &Path, name: &str, flash_size: usize) -> SimImage {
    let path = w.join(format!("{name}.img"));
    let _ = std::fs::remove_file(&path);
    SimImage {
        durable: false,
        flash_size,
        ..SimImage::new(path)
    }
}

fn load(root: &Path) -> anyhow::Result<Bundle> {
    dir::load(root, &Filter::default(), Some("v1"), Vec::new())
}

fn load_as(root: &Path, version: &str) -> anyhow::Result<Bundle> {
    dir::load(root, &Filter::default(), Some(version), Vec::new())
}

// ------------------------------------------------------- child processes

/// `__push TARGET DIR CHUNK WINDOW`: hash DIR and push it to TARGET
/// (`tcp:ADDR`, `sim16:IMAGE`, or `sink`); print `key=value` figures.
fn child_push(args: &[String]) -> anyhow::Result<()> {
    let [target, root, chunk, window] = args else {
        anyhow::bail!("usage: __push TARGET DIR CHUNK WINDOW");
    };
    let (chunk, window): (u32, u32) = (chunk.parse()?, window.parse()?);
    let cpu0 = thread_cpu();
    let bundle = load(Path::new(root))?;
    let cpu1 = thread_cpu();
    let transport: Box<dyn Transport> = if let Some(addr) = target.strip_prefix("tcp:") {
        Box::new(Tcp::open(addr, Duration::from_secs(10))?)
    } else if let Some(image) = target.strip_prefix("sim16:") {
        let mut image = SimImage::new(image);
        image.durable = false;
        image.flash_size = BIG_FLASH;
        Box::new(SimTransport::open(&image, true)?)
    } else {
        Box::new(Sink::new())
    };
    let t0 = Instant::now();
    let mut c = Client::new(transport, Duration::from_secs(30));
    let info = c.hello()?;
    let sink = target == "sink";
    let mut opts = options(chunk.min(info.max_chunk as u32), window);
    // The sink keeps nothing, so nothing reboots into the new tree.
    opts.reboot = !sink;
    let outcome = push(&mut c, &bundle, &opts, &mut |_| {})?;
    let wall = t0.elapsed();
    let cpu2 = thread_cpu();
    let ms = |a: Option<Duration>, b: Option<Duration>| {
        a.zip(b).map_or("n/a".to_string(), |(a, b)| {
            format!("{:.1}", (a - b).as_secs_f64() * 1e3)
        })
    };
    println!(
        "payload={} bytes_sent={} bytes_out={} bytes_in={} frames_out={} push_wall_ms={:.1} load_cpu_ms={} push_cpu_ms={} vmhwm_kb={}",
        bundle.total_bytes(),
        outcome.bytes_sent,
        c.stats.bytes_out,
        c.stats.bytes_in,
        c.stats.frames_out,
        wall.as_secs_f64() * 1e3,
        ms(cpu1, cpu0),
        ms(cpu2, cpu1),
        vm_hwm_kb().unwrap_or(0)
    );
    Ok(())
}

fn child_push_run(
    target: &str,
    root: &Path,
    chunk: u32,
    window: u32,
) -> anyhow::Result<HashMap<String, String>> {
    let out = Command::new(std::env::current_exe()?)
        .arg("__push")
        .arg(target)
        .arg(root)
        .arg(chunk.to_string())
        .arg(window.to_string())
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        anyhow::bail!("child push to {target} failed");
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// `__agent IMAGE FLASH_BYTES`: the simulated agent served on TCP, as
/// `ota agent sim --listen` serves it (a reboot drops the connection), on a
/// flash image of the size given, not synced to disk. Prints its address.
fn child_agent(args: &[String]) -> anyhow::Result<()> {
    let [image, size] = args else {
        anyhow::bail!("usage: __agent IMAGE FLASH_BYTES");
    };
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let mut image = SimImage::new(image);
    image.durable = false;
    image.flash_size = size.parse()?;
    let mut device: Option<SimDevice> = None;
    for stream in listener.incoming() {
        let mut stream = stream?;
        // A request to start over on a blank flash: the next push is a first one.
        let mut peek = [0u8; 5];
        stream.set_nodelay(true)?;
        if stream.peek(&mut peek).is_ok_and(|n| n == 5) && &peek == b"RESET" {
            device = None;
            let _ = std::fs::remove_file(&image.path);
            stream.write_all(b"OK")?;
            continue;
        }
        let d = match &mut device {
            Some(d) => d,
            None => device.insert(SimDevice::boot_image(&image, true)?),
        };
        let mut buf = [0u8; 4096];
        let mut out = Vec::new();
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            out.clear();
            let rebooted = d.receive(&buf[..n], &mut out)?;
            stream.write_all(&out)?;
            if rebooted {
                let _ = stream.shutdown(std::net::Shutdown::Both);
                break;
            }
        }
    }
    Ok(())
}

/// The simulated agent in a child process, on TCP.
struct AgentProcess {
    child: Child,
    addr: String,
}

impl AgentProcess {
    fn start(w: &Path, flash_size: usize) -> anyhow::Result<AgentProcess> {
        let image = w.join(format!("agent-{flash_size}.img"));
        let _ = std::fs::remove_file(&image);
        let mut child = Command::new(std::env::current_exe()?)
            .arg("__agent")
            .arg(&image)
            .arg(flash_size.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        BufReader::new(stdout).read_line(&mut line)?;
        Ok(AgentProcess {
            child,
            addr: line.trim().to_string(),
        })
    }

    /// Blank flash for the next push.
    fn reset_flash(&self) -> anyhow::Result<()> {
        let mut s = TcpStream::connect(&self.addr)?;
        s.write_all(b"RESET")?;
        let mut ok = [0u8; 2];
        s.read_exact(&mut ok)?;
        Ok(())
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An agent that acknowledges every byte and keeps none: the host's side
/// of a push of any size, alone. Its Info is a real (empty) agent's.
struct Sink {
    decoder: Box<Decoder<8192>>,
    sizes: Vec<u32>,
    version: String,
    commit: String,
    out: Vec<u8>,
    info_agent: SimAgentInfo,
}

/// A real agent on a small RAM flash, only to answer Hello.
struct SimAgentInfo(ota_agent::Agent<ota_agent::ram_flash::RamFlash>);

impl Sink {
    fn new() -> Sink {
        let flash = ota_agent::ram_flash::RamFlash::new(64 * 4096);
        let config = ota_agent::AgentConfig {
            agent_version: "bench-sink",
            device_id: [0; 8],
            max_chunk: ota_protocol::MAX_CHUNK as u16,
            app: ota_protocol::AppSlot::Empty,
            boot_id: 1,
        };
        let agent = ota_agent::Agent::boot(flash, 0, 64, config)
            .expect("a blank RAM flash opens")
            .0;
        Sink {
            decoder: Box::new(Decoder::new()),
            sizes: Vec::new(),
            version: String::new(),
            commit: String::new(),
            out: Vec::new(),
            info_agent: SimAgentInfo(agent),
        }
    }

    fn reply(&mut self, r: &Reply<'_>) {
        let mut scratch = [0u8; 1024];
        let mut frame = [0u8; 1200];
        if let Ok(n) = encode_frame(r, &mut scratch, &mut frame) {
            self.out.extend_from_slice(&frame[..n]);
        }
    }

    fn handle(&mut self, body: &[u8]) {
        let Some(req) = decode_request(body) else {
            return;
        };
        match req {
            Request::Begin(b) => {
                self.sizes = vec![0; b.entries as usize];
                self.version = b.version.into();
                self.commit = b.commit.into();
                self.reply(&Reply::Ready { session: b.session });
            }
            Request::Entry(e) => {
                if let Some(s) = self.sizes.get_mut(e.index as usize) {
                    *s = e.size;
                }
                self.reply(&Reply::Need {
                    index: e.index,
                    need: e.size > 0,
                });
            }
            Request::Data {
                entry,
                offset,
                bytes,
            } => {
                let end = offset + bytes.len() as u32;
                self.reply(&Reply::Ack { entry, offset: end });
                if self.sizes.get(entry as usize) == Some(&end) {
                    self.reply(&Reply::FileDone { entry });
                }
            }
            Request::Commit { boots } => self.reply(&Reply::Committed { boots }),
            Request::ListFiles { .. } => self.reply(&Reply::ListEnd { total: 0 }),
            Request::Query { entry } => self.reply(&Reply::Ack { entry, offset: 0 }),
            Request::Hello { .. } => {
                let mut out = Vec::new();
                let mut emit = |r: &Reply<'_>| {
                    let mut scratch = [0u8; 1024];
                    let mut frame = [0u8; 1200];
                    if let Ok(n) = encode_frame(r, &mut scratch, &mut frame) {
                        out.extend_from_slice(&frame[..n]);
                    }
                };
                self.info_agent.0.handle(&req, &mut emit);
                self.out.extend_from_slice(&out);
            }
            _ => self.reply(&Reply::Done),
        }
    }
}

impl Transport for Sink {
    fn send(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        while !bytes.is_empty() {
            let (n, frame) = self.decoder.feed(bytes);
            bytes = &bytes[n..];
            if let Some(body) = frame {
                let body = body.to_vec();
                self.handle(&body);
            }
        }
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], _timeout: Duration) -> std::io::Result<usize> {
        let n = buf.len().min(self.out.len());
        buf[..n].copy_from_slice(&self.out[..n]);
        self.out.drain(..n);
        Ok(n)
    }

    fn reconnect(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    fn name(&self) -> String {
        "sink".into()
    }

    fn synchronous(&self) -> bool {
        true
    }
}

// ------------------------------------------------------------- measuring

/// This thread's CPU time so far (Linux: /proc/thread-self/schedstat, in ns).
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// This process's peak resident memory (Linux: VmHWM in /proc/self/status).
fn vm_hwm_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn human(bytes: u64) -> String {
    if bytes >= MIB {
        format!("{:.2} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= KIB {
        format!("{:.1} KiB", bytes as f64 / KIB as f64)
    } else {
        format!("{bytes} B")
    }
}

// ------------------------------------------------------------- trees

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
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
    "for", "in", "range", "led", "value", "network", "wlan", "config", "json", "load", "print",
    "try", "except", "OSError", "None", "True", "False", "while", "class", "state", "pattern",
    "blink", "update", "version", "=", "==", "(", ")", ":", "0", "1", "255", "\"ok\"",
];

/// Text like source code: words, indentation, lines.
fn text_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    while out.len() < len {
        let indent = (rng.next() % 3) as usize * 4;
        out.extend(std::iter::repeat_n(b' ', indent));
        for _ in 0..(rng.next() % 9 + 2) {
            out.extend_from_slice(WORDS[(rng.next() % WORDS.len() as u64) as usize].as_bytes());
            out.push(b' ');
        }
        out.push(b'\n');
    }
    out.truncate(len);
    out
}

fn binary_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(len);
    out
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::write(path, bytes)?;
    Ok(())
}

/// `files` typical application files under `root`, `total` bytes in all:
/// sizes log-uniform between 1 and 100 KiB, four in five text (sources,
/// JSON, HTML), one in five binary (fonts, images, .mpy). Returns (path,
/// binary, size) per file.
fn typical_tree(
    root: &Path,
    files: usize,
    total: u64,
    seed: u64,
) -> anyhow::Result<Vec<(String, bool, u64)>> {
    let _ = std::fs::remove_dir_all(root);
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (lo, hi) = (KIB as f64, 100.0 * KIB as f64);
    let raw: Vec<f64> = (0..files)
        .map(|_| lo * (hi / lo).powf(rng.unit()))
        .collect();
    let scale = total as f64 / raw.iter().sum::<f64>();
    let mut sizes: Vec<u64> = raw
        .iter()
        .map(|s| (s * scale).clamp(lo, hi) as u64)
        .collect();
    // Land on the total exactly: adjust the files that have room, largest first.
    let mut diff = total as i64 - sizes.iter().sum::<u64>() as i64;
    let mut order: Vec<usize> = (0..files).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    for i in order {
        if diff == 0 {
            break;
        }
        let room = if diff > 0 {
            (hi as i64 - sizes[i] as i64).min(diff)
        } else {
            -(sizes[i] as i64 - lo as i64).min(-diff)
        };
        sizes[i] = (sizes[i] as i64 + room) as u64;
        diff -= room;
    }
    let text_names = [
        "main.py",
        "lib/util.py",
        "lib/net.py",
        "config.json",
        "www/index.html",
        "lib/drivers/sensor.py",
        "README.txt",
    ];
    let bin_names = ["assets/font.bin", "assets/logo.raw", "lib/fast.mpy"];
    let mut out = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        let binary = i % 5 == 4;
        let base = if binary {
            bin_names[i % bin_names.len()]
        } else {
            text_names[i % text_names.len()]
        };
        let (stem, ext) = base.rsplit_once('.').unwrap_or((base, "txt"));
        let path = format!("{stem}{i}.{ext}");
        let bytes = if binary {
            binary_bytes(&mut rng, size as usize)
        } else {
            text_bytes(&mut rng, size as usize)
        };
        write_file(&root.join(&path), &bytes)?;
        out.push((path, binary, size));
    }
    Ok(out)
}

/// `files` binary files of about equal size, `total` bytes in all (trees
/// that only need a size: throughput and memory).
fn sized_tree(root: &Path, files: usize, total: u64, seed: u64) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(root);
    let mut rng = Rng(seed | 1);
    let each = total / files as u64;
    for i in 0..files {
        let size = if i + 1 == files {
            total - each * (files as u64 - 1)
        } else {
            each
        };
        write_file(
            &root.join(format!("d{}/f{i}.bin", i % 16)),
            &binary_bytes(&mut rng, size as usize),
        )?;
    }
    Ok(())
}

fn dir_bytes(root: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(root)? {
        let e = e?;
        let m = e.metadata()?;
        total += if m.is_dir() {
            dir_bytes(&e.path())?
        } else {
            m.len()
        };
    }
    Ok(total)
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dst: PathBuf = to.join(e.file_name());
        if e.metadata()?.is_dir() {
            copy_tree(&e.path(), &dst)?;
        } else {
            std::fs::copy(e.path(), dst)?;
        }
    }
    Ok(())
}
