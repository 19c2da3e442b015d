//! `sim:FILE?model=pico-w`: the simulated Pico keeps the time a real board
//! would take, and `ota push --json` carries it in `wire.board`. Only the
//! model's bookkeeping is checked here; its figures belong to the bench
//! (`cargo bench --bench push`).

mod util;

use util::*;

fn push_json(cwd: &std::path::Path, port: &str, version: &str) -> serde_json::Value {
    run(
        cwd,
        &[
            "--port",
            port,
            "--json",
            "push",
            "--dir",
            "app",
            "--version",
            version,
        ],
    )
    .ok()
    .json()
}

#[test]
fn a_modeled_sim_reports_board_time_and_a_plain_one_does_not() {
    let d = tempdir();
    make_tree(&d.path().join("app"), 6, 3);
    write(&d.path().join("app"), "big.bin", &content(9, 100 * 1024));

    let doc = push_json(d.path(), "sim:pico.img?model=pico-w", "v1");
    assert_eq!(doc["result"], "confirmed");
    let board = &doc["wire"]["board"];
    assert_eq!(board["model"], "pico-w", "{doc:#}");
    let parts: f64 = [
        "flash_seconds",
        "link_seconds",
        "cpu_seconds",
        "idle_seconds",
    ]
    .iter()
    .map(|k| board[k].as_f64().unwrap())
    .sum();
    let total = board["seconds"].as_f64().unwrap();
    assert!(total > 0.0 && (total - parts).abs() < 1e-6, "{board:#}");
    // The firmware erases whole 64 KiB blocks where it can, sectors elsewhere.
    assert!(board["block_erases"].as_u64().unwrap() >= 1, "{board:#}");
    assert!(board["sector_erases"].as_u64().unwrap() >= 1, "{board:#}");
    assert_eq!(board["reboots"], 1);

    // The same image without a model: the same push, no board figures.
    write(&d.path().join("app"), "big.bin", &content(10, 100 * 1024));
    let doc = push_json(d.path(), "sim:pico.img", "v2");
    assert_eq!(doc["result"], "confirmed");
    assert!(doc["wire"].get("board").is_none(), "{doc:#}");
}

#[test]
fn a_block_erase_driver_erases_whole_blocks_of_a_large_file() {
    let d = tempdir();
    make_tree(&d.path().join("app"), 3, 4);
    write(&d.path().join("app"), "big.bin", &content(11, 300 * 1024));
    let doc = push_json(d.path(), "sim:pico.img?model=pico-w-block-erase", "v1");
    let board = &doc["wire"]["board"];
    assert!(board["block_erases"].as_u64().unwrap() >= 4, "{board:#}");
}
