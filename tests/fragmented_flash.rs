//! Free flash split into holes, end to end on `sim:`: the dry run, the
//! refusal before any byte is sent and the push run the agent's own
//! allocator, so they agree; the agent moves files to join holes; and
//! `--drop-previous` drops nothing unless the push then fits.

mod util;

use std::path::Path;

use proptest::prelude::*;
use util::*;

fn push<'a>(dir: &'a str, version: &'a str) -> Vec<&'a str> {
    vec![
        "--port",
        "sim:p.img",
        "push",
        "--dir",
        dir,
        "--version",
        version,
    ]
}

/// A folder holding just these files.
fn tree(root: &Path, name: &str, files: &[(&str, u64, usize)]) {
    let dir = root.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    for &(path, seed, len) in files {
        write(&dir, path, &content(seed, len));
    }
}

fn dry_run(root: &Path, dir: &str, version: &str) -> serde_json::Value {
    run(
        root,
        &[&["--json"][..], &push(dir, version), &["--dry-run"]].concat(),
    )
    .ok()
    .json()
}

/// What a new user tried: 500 KB, then 100 KB, then one 700 KB file. Free
/// flash without the previous tree is 1168 KiB, in holes of 496 and 672
/// KiB; the 700 KB file goes in once the 100 KB one has moved.
#[test]
fn five_hundred_then_one_hundred_then_seven_hundred_kb() {
    let d = tempdir();
    tree(d.path(), "v1", &[("a.bin", 1, 500_000)]);
    tree(d.path(), "v2", &[("b.bin", 2, 100_000)]);
    tree(d.path(), "v3", &[("c.bin", 3, 700_000)]);
    run(d.path(), &push("v1", "v1")).ok();
    run(d.path(), &push("v2", "v2")).ok();

    let dry = dry_run(d.path(), "v3", "v3");
    let space = &dry["plan"]["space"];
    assert_eq!(space["modelled"], true);
    assert_eq!(space["needed_sectors"], 172);
    assert_eq!(space["fits"], false);
    assert_eq!(space["fits_without_previous"], true);
    assert_eq!(space["free_without_previous_sectors"], 292);
    // b.bin (25 sectors) and the record of v2 (1).
    assert_eq!(space["moved_without_previous_sectors"], 26);
    let human = run(d.path(), &[&push("v3", "v3")[..], &["--dry-run"]].concat()).ok();
    assert!(
        human.stderr.contains(
            "flash: needs 688 KiB (172 sectors of 4 KiB), 672 KiB free: it fits only once the previous tree v1 is dropped (push --drop-previous) after moving 104 KiB"
        ),
        "{}",
        human.stderr
    );

    let args = [&push("v3", "v3")[..], &["--dry-run", "--drop-previous"]].concat();
    let human = run(d.path(), &args).ok();
    assert!(
        human.stderr.contains(
            "flash: needs 688 KiB (172 sectors of 4 KiB), 1168 KiB free once the previous tree v1 is dropped: fits after moving 104 KiB"
        ),
        "{}",
        human.stderr
    );

    let r = run(d.path(), &push("v3", "v3"));
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("pass --drop-previous"), "{}", r.stderr);
    let s = status(d.path(), "sim:p.img");
    assert_eq!(
        (&s["active"]["version"], &s["previous"]["version"]),
        (&"v2".into(), &"v1".into())
    );

    let r = run(
        d.path(),
        &[&push("v3", "v3")[..], &["--drop-previous"]].concat(),
    )
    .ok();
    assert!(
        r.stderr.contains("dropped the previous tree v1"),
        "{}",
        r.stderr
    );
    let s = status(d.path(), "sim:p.img");
    assert_eq!(
        (&s["active"]["version"], &s["previous"]["version"]),
        (&"v3".into(), &"v2".into())
    );
    assert_eq!(
        device_files(d.path(), "sim:p.img"),
        tree_of(&d.path().join("v3"))
    );
    // The moved tree still reads, and rolls back to.
    run(d.path(), &["--port", "sim:p.img", "rollback"]).ok();
    assert_eq!(
        device_files(d.path(), "sim:p.img"),
        tree_of(&d.path().join("v2"))
    );
}

/// The board model counts the moves: the compacting push of c.bin programs
/// the pages of b.bin (100,000 bytes: 391 pages) on top of what the same
/// push programs on an empty device, and erases more (the sectors moved
/// into, beside c.bin's; block erases count as 16 sectors).
#[test]
fn the_board_model_counts_what_the_moves_erase_and_program() {
    let d = tempdir();
    tree(d.path(), "v1", &[("a.bin", 1, 500_000)]);
    tree(d.path(), "v2", &[("b.bin", 2, 100_000)]);
    tree(d.path(), "v3", &[("c.bin", 3, 700_000)]);
    let board = |port: &str, args: &[&str]| {
        let r = run(
            d.path(),
            &[
                &[
                    "--json",
                    "--port",
                    port,
                    "push",
                    "--dir",
                    "v3",
                    "--version",
                    "v3",
                ][..],
                args,
            ]
            .concat(),
        )
        .ok();
        let j = r.json();
        let b = &j["wire"]["board"];
        let erased =
            b["sector_erases"].as_u64().unwrap() + 16 * b["block_erases"].as_u64().unwrap();
        (
            b["page_programs"].as_u64().unwrap(),
            erased,
            j["plan"]["space"]["moved_sectors"].clone(),
        )
    };
    let (plain_pages, plain_erased, moved) = board("sim:fresh.img?model=pico-w", &[]);
    assert_eq!(moved, 0);
    for v in ["v1", "v2"] {
        run(
            d.path(),
            &["--port", "sim:p.img", "push", "--dir", v, "--version", v],
        )
        .ok();
    }
    let (pages, erased, moved) = board("sim:p.img?model=pico-w", &["--drop-previous"]);
    assert_eq!(moved, 26);
    assert!(
        pages >= plain_pages + 391,
        "{pages} pages programmed, {plain_pages} without moves"
    );
    assert!(
        erased > plain_erased,
        "{erased} sectors erased, {plain_erased} without moves"
    );
}

/// With both trees kept, a tree that no hole takes fits after moves (of
/// b.bin, which both trees hold, and c.bin): the dry run says how much
/// moves, the push does it, both trees read.
#[test]
fn a_tree_beside_both_trees_fits_after_moving_files() {
    let d = tempdir();
    tree(d.path(), "v1", &[("a.bin", 1, 400_000)]);
    tree(d.path(), "v2", &[("b.bin", 2, 100_000)]);
    tree(
        d.path(),
        "v3",
        &[("b.bin", 2, 100_000), ("c.bin", 3, 50_000)],
    );
    tree(d.path(), "v4", &[("d.bin", 4, 800_000)]);
    for v in ["v1", "v2", "v3"] {
        run(d.path(), &push(v, v)).ok();
    }
    let dry = dry_run(d.path(), "v4", "v4");
    let space = &dry["plan"]["space"];
    assert_eq!(space["fits"], true, "{space}");
    let moved = space["moved_sectors"].as_u64().unwrap();
    assert!(moved > 0, "{space}");
    let human = run(d.path(), &[&push("v4", "v4")[..], &["--dry-run"]].concat()).ok();
    assert!(
        human
            .stderr
            .contains(&format!(": fits after moving {} KiB", moved * 4)),
        "{}",
        human.stderr
    );
    let r = run(d.path(), &[&["--json"][..], &push("v4", "v4")].concat()).ok();
    assert_eq!(r.json()["plan"]["space"]["moved_sectors"], moved);
    assert_eq!(
        device_files(d.path(), "sim:p.img"),
        tree_of(&d.path().join("v4"))
    );
    run(d.path(), &["--port", "sim:p.img", "rollback"]).ok();
    assert_eq!(
        device_files(d.path(), "sim:p.img"),
        tree_of(&d.path().join("v3"))
    );
}

/// `--drop-previous` for a tree that would not fit even then drops nothing:
/// the device keeps its rollback target.
#[test]
fn drop_previous_drops_nothing_when_the_push_would_not_fit_anyway() {
    let d = tempdir();
    tree(d.path(), "v1", &[("a.bin", 1, 500_000)]);
    tree(d.path(), "v2", &[("b.bin", 2, 100_000)]);
    tree(d.path(), "v3", &[("c.bin", 3, 1_250_000)]);
    run(d.path(), &push("v1", "v1")).ok();
    run(d.path(), &push("v2", "v2")).ok();
    let r = run(
        d.path(),
        &[&push("v3", "v3")[..], &["--drop-previous"]].concat(),
    );
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("nothing was sent"), "{}", r.stderr);
    assert!(!r.stderr.contains("dropped the previous"), "{}", r.stderr);
    let s = status(d.path(), "sim:p.img");
    assert_eq!(
        (&s["active"]["version"], &s["previous"]["version"]),
        (&"v2".into(), &"v1".into())
    );
}

/// One push: new files (seed, sizes), how many of the last tree's files it
/// keeps, and whether it passes --drop-previous.
type Step = (u64, Vec<usize>, usize, bool);

fn step() -> impl Strategy<Value = Step> {
    let size = prop_oneof![0usize..3000, 3000usize..120_000, 120_000usize..700_000];
    (
        any::<u64>(),
        prop::collection::vec(size, 1..4),
        0usize..3,
        any::<bool>(),
    )
}

/// What a refused push must leave as it was.
fn device(root: &Path) -> (serde_json::Value, Vec<(String, String)>) {
    let s = status(root, "sim:p.img");
    let what = serde_json::json!([s["active"], s["previous"], s["free_bytes"], s["state"]]);
    (what, device_files(root, "sim:p.img"))
}

proptest! {
    // Each case runs the ota binary a few dozen times.
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// Over random push sequences (file counts and sizes, with and without
    /// --drop-previous), the dry run's verdict is the push's outcome, and a
    /// refused push changes nothing on the device.
    #[test]
    fn the_dry_run_says_what_the_push_does(steps in prop::collection::vec(step(), 3..8)) {
        let d = tempdir();
        let mut last: Vec<(String, Vec<u8>)> = Vec::new();
        for (n, (seed, sizes, keep, drop)) in steps.iter().enumerate() {
            let name = format!("t{n}");
            let dir = d.path().join(&name);
            let mut files: Vec<(String, Vec<u8>)> = last.iter().take(*keep).cloned().collect();
            for (i, &len) in sizes.iter().enumerate() {
                files.push((format!("n{n}_{i}.bin"), content(seed ^ i as u64, len)));
            }
            for (path, bytes) in &files {
                write(&dir, path, bytes);
            }
            let dry = dry_run(d.path(), &name, &name);
            let space = &dry["plan"]["space"];
            prop_assert_eq!(&space["modelled"], &serde_json::json!(true));
            let fits = space["fits"] == true || (*drop && space["fits_without_previous"] == true);
            let before = device(d.path());
            let mut args = push(&name, &name);
            if *drop {
                args.push("--drop-previous");
            }
            let r = run(d.path(), &args);
            if fits {
                prop_assert_eq!(r.code, 0, "the dry run said {} fits: {}", name, r.stderr);
                prop_assert_eq!(device_files(d.path(), "sim:p.img"), tree_of(&dir));
                last = files;
            } else {
                prop_assert_eq!(r.code, 6, "the dry run said {} does not fit: {}", name, r.stderr);
                prop_assert!(r.stderr.contains("nothing was sent"), "{}", r.stderr);
                prop_assert_eq!(device(d.path()), before);
            }
        }
    }
}
