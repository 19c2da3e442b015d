//! Free flash split into holes is compacted: a file that no hole takes goes
//! in once committed files have moved out of its way, every tree reading as
//! before; and a power cut at any flash operation of a compacting session
//! leaves every tree whole and the next push going through.

mod common;

use common::*;
use ota_agent::board::STORE_SECTORS;
use ota_agent::layout::{TreeRef, SECTOR};
use ota_agent::ram_flash::RamFlash;
use ota_agent::{Agent, Store};
use ota_protocol::Request;

fn boot(flash: RamFlash, sectors: u32) -> Agent<RamFlash> {
    Agent::boot(flash, 0, sectors, CONFIG)
        .expect("store opens after any power cut")
        .0
}

/// Every file of the tree at `at`, each checked against its SHA-1.
fn tree_files(store: &mut Store<RamFlash>, at: TreeRef) -> Files {
    (0..at.entries)
        .map(|i| {
            let f = store.file(&at, i).unwrap();
            let mut bytes = vec![0; f.size as usize];
            store.read_file(&f, 0, &mut bytes).unwrap();
            assert_eq!(
                ota_agent::hash::git_blob_sha1(&bytes),
                f.sha1,
                "{} does not hash to its SHA-1",
                f.path.as_str()
            );
            (f.path.as_str().to_string(), bytes)
        })
        .collect()
}

fn previous_files(store: &mut Store<RamFlash>) -> Option<Files> {
    let at = store.previous()?.at;
    Some(tree_files(store, at))
}

fn one(version: &str, path: &str, seed: u64, len: usize) -> Tree {
    Tree::new(version, vec![(path.into(), content(seed, len))])
}

/// The sequence a new user tried on a simulated Pico W: 500 KB, then
/// 100 KB, then one 700 KB file. With the previous tree dropped, 292
/// sectors are free in holes of 124 and 168: the 700 KB file goes in once
/// the 100 KB one has moved, and both trees read as they did before.
#[test]
fn a_file_no_hole_takes_goes_in_after_a_move() {
    let mut agent = boot(RamFlash::new(flash_size(STORE_SECTORS)), STORE_SECTORS);
    let v1 = one("v1", "a.bin", 1, 500_000);
    let v2 = one("v2", "b.bin", 2, 100_000);
    let v3 = one("v3", "c.bin", 3, 700_000);
    push(&mut agent, &v1, 0).unwrap();
    push(&mut agent, &v2, 0).unwrap();
    let refused = push(&mut agent, &v3, 0).unwrap_err();
    assert!(
        matches!(&refused, R::Error(ota_protocol::ErrorCode::NoSpace, _)),
        "{refused:?}"
    );
    assert_eq!(previous_files(agent.store_mut()), Some(v1.files.clone()));
    assert_eq!(call(&mut agent, &Request::DropPrevious), [R::Done]);
    assert_eq!(agent.store().free_sectors(), 292);
    assert_eq!(agent.store().moved_sectors, 0);

    push(&mut agent, &v3, 0).expect("fits once b.bin has moved");
    // b.bin (25 sectors) and the record of v2 (1) were copied.
    assert_eq!(agent.store().moved_sectors, 26);
    assert_eq!(active_tree(agent.store_mut()).unwrap().1, v3.files);
    assert_eq!(previous_files(agent.store_mut()), Some(v2.files.clone()));
    // Reopened from flash, both trees still read.
    let mut agent = boot(agent.into_store().into_flash(), STORE_SECTORS);
    assert_eq!(active_tree(agent.store_mut()).unwrap().1, v3.files);
    assert_eq!(previous_files(agent.store_mut()), Some(v2.files));
}

/// Moves files of both trees and a shared file: the previous tree keeps
/// reading as itself, content shared by both trees stays shared.
#[test]
fn moves_keep_both_trees_and_shared_content() {
    const SECTORS: u32 = 64;
    let mut agent = boot(RamFlash::new(flash_size(SECTORS)), SECTORS);
    let shared = ("lib/shared.py".to_string(), content(9, 3 * SECTOR as usize));
    let v1 = Tree::new(
        "v1",
        vec![
            ("a.bin".into(), content(1, 12 * SECTOR as usize)),
            shared.clone(),
        ],
    );
    let v2 = Tree::new(
        "v2",
        vec![
            ("b.bin".into(), content(2, 9 * SECTOR as usize)),
            shared.clone(),
            ("small.txt".into(), content(4, 300)),
        ],
    );
    let v3 = Tree::new(
        "v3",
        vec![
            ("b.bin".into(), content(2, 9 * SECTOR as usize)),
            ("small.txt".into(), content(4, 300)),
        ],
    );
    for t in [&v1, &v2, &v3] {
        push(&mut agent, t, 0).unwrap();
    }
    // v1 is gone; v2 (previous) and v3 share b.bin and small.txt.
    let big = Tree::new(
        "v4",
        vec![("big.bin".into(), content(5, 30 * SECTOR as usize))],
    );
    push(&mut agent, &big, 0).expect("fits after moves");
    assert!(agent.store().moved_sectors > 0);
    assert_eq!(active_tree(agent.store_mut()).unwrap().1, big.files);
    assert_eq!(previous_files(agent.store_mut()), Some(v3.files));
}

/// The tree a compacting session pushes, and the device before it: 64
/// sectors holding two trees in holes that no 33-sector file fits.
fn compacting_update() -> (RamFlash, Tree, Tree) {
    const SECTORS: u32 = 64;
    let mut agent = boot(RamFlash::new(flash_size(SECTORS)), SECTORS);
    let v1 = Tree::new(
        "v1",
        vec![
            ("a.bin".into(), content(1, 14 * SECTOR as usize)),
            ("keep.py".into(), content(7, 5000)),
        ],
    );
    let v2 = Tree::new(
        "v2",
        vec![
            ("b.bin".into(), content(2, 10 * SECTOR as usize)),
            ("keep.py".into(), content(7, 5000)),
        ],
    );
    let v3 = Tree::new(
        "v3",
        vec![
            ("b.bin".into(), content(2, 10 * SECTOR as usize)),
            ("c.py".into(), content(3, 2000)),
        ],
    );
    for t in [&v1, &v2, &v3] {
        push(&mut agent, t, 0).unwrap();
    }
    let new = Tree::new(
        "v4",
        vec![
            ("big.bin".into(), content(4, 33 * SECTOR as usize)),
            ("c.py".into(), content(3, 2000)),
        ],
    );
    (agent.into_store().into_flash(), v3, new)
}

/// A cut inside the push never commits it (its last operation is the
/// commit record): the old tree stays active, at its old place or at the
/// place a finished round of moves gave it, and the previous tree with it.
#[test]
fn power_cut_at_every_operation_of_a_compacting_session() {
    const SECTORS: u32 = 64;
    let (base, old, new) = compacting_update();
    let mut before = boot(base.clone(), SECTORS);
    let previous = previous_files(before.store_mut());
    let placed = before.store().active().unwrap().at;

    let mut dry = boot(base.clone(), SECTORS);
    push(&mut dry, &new, 0).expect("update without a cut");
    assert!(dry.store().moved_sectors > 0, "the session compacts");
    let ops = dry.into_store().into_flash().ops() - base.ops();

    let mut after_moves = 0;
    for k in 0..ops {
        let mut flash = base.clone();
        flash.cut_at(k, k * 7919 + 5);
        let mut agent = boot(flash, SECTORS);
        assert!(
            push(&mut agent, &new, 0).is_err(),
            "cut at op {k} falls inside the push"
        );
        let mut flash = agent.into_store().into_flash();
        flash.power_on();
        let mut agent = boot(flash, SECTORS);
        let (version, files) = active_tree(agent.store_mut()).expect("a tree is active");
        assert_eq!(
            (version.as_str(), &files),
            (old.version.as_str(), &old.files),
            "cut at op {k}"
        );
        assert_eq!(previous_files(agent.store_mut()), previous, "cut at op {k}");
        after_moves += usize::from(agent.store().active().unwrap().at != placed);
        // The next push goes through as if nothing had happened.
        push(&mut agent, &new, 0).unwrap_or_else(|e| panic!("push after cut at op {k}: {e:?}"));
        assert_eq!(active_tree(agent.store_mut()).unwrap().1, new.files);
        assert_eq!(previous_files(agent.store_mut()), Some(old.files.clone()));
    }
    println!("power cuts: {ops} operations of a compacting update swept, {after_moves} after its moves were journaled; every tree read as before");
    assert!(after_moves > 0 && after_moves < ops as usize);
}
