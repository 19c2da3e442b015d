//! Installing a tree's application image into the slot: only the sectors
//! that differ are rewritten, an unchanged image costs no flash write, the
//! image a UF2 put there first is kept and comes back with a tree that has
//! none, and a power cut at every flash operation of an install leaves a
//! slot that holds the old image, the new one, or is recorded as unfinished
//! (never run) and is finished by the next boot.

mod common;

use common::*;
use ota_agent::layout::{Slot, APP_IMAGE, SECTOR};
use ota_agent::ram_flash::RamFlash;
use ota_agent::slot::{install, matches, Installed};
use ota_agent::{Agent, Store};

/// A small slot at the start of the test flash, the store after it.
const SLOT: std::ops::Range<u32> = 0..16 * SECTOR;
const BASE: u32 = SLOT.end;
const SECTORS: u32 = 96;

fn open(flash: RamFlash) -> Store<RamFlash> {
    Store::open(flash, BASE, SECTORS).expect("store opens after any power cut")
}

fn blank() -> RamFlash {
    RamFlash::new((BASE + SECTORS * SECTOR) as usize)
}

/// An image of `sectors` sectors and a bit (vector table first, like a real one).
fn image(seed: u64, sectors: u32) -> Vec<u8> {
    let mut img = content(seed, (sectors * SECTOR) as usize + 300);
    img[..4].copy_from_slice(&0x2004_2000u32.to_le_bytes());
    img[4..8].copy_from_slice(&(0x1004_00C1u32).to_le_bytes());
    img
}

fn tree(version: &str, img: Option<&[u8]>) -> Tree {
    let mut files = vec![("blink.txt".to_string(), version.as_bytes().to_vec())];
    if let Some(img) = img {
        files.push((APP_IMAGE.to_string(), img.to_vec()));
    }
    Tree::new(version, files)
}

fn commit(flash: RamFlash, t: &Tree, boots: u8) -> RamFlash {
    let mut agent = Agent::new(open(flash), CONFIG);
    push(&mut agent, t, boots).expect("push");
    agent.into_store().into_flash()
}

#[test]
fn the_image_is_copied_once_and_an_unchanged_one_costs_nothing() {
    let v1 = image(1, 5);
    let mut store = open(commit(blank(), &tree("v1", Some(&v1)), 0));
    assert!(!matches(&mut store).unwrap());
    assert_eq!(
        install(&mut store, SLOT).unwrap(),
        Installed::Written { sectors: 6, of: 6 }
    );
    assert_eq!(&store.flash_mut().bytes()[..v1.len()], &v1[..]);
    assert!(matches(&mut store).unwrap());
    let ops = store.flash_mut().ops();
    assert_eq!(install(&mut store, SLOT).unwrap(), Installed::Unchanged);
    assert_eq!(
        store.flash_mut().ops(),
        ops,
        "an unchanged image writes nothing"
    );

    // A new tree with the same image (a files-only update) changes nothing either.
    let flash = commit(store.into_flash(), &tree("v1.1", Some(&v1)), 0);
    let mut store = open(flash);
    let ops = store.flash_mut().ops();
    assert_eq!(install(&mut store, SLOT).unwrap(), Installed::Unchanged);
    assert_eq!(store.flash_mut().ops(), ops);
}

#[test]
fn a_small_change_rewrites_only_the_sectors_it_touched() {
    let v1 = image(1, 5);
    let mut v2 = v1.clone();
    v2[3 * SECTOR as usize + 17] ^= 0x55; // one function, one sector
    let mut store = open(commit(blank(), &tree("v1", Some(&v1)), 0));
    install(&mut store, SLOT).unwrap();
    let mut store = open(commit(store.into_flash(), &tree("v2", Some(&v2)), 3));
    assert_eq!(
        install(&mut store, SLOT).unwrap(),
        Installed::Written { sectors: 1, of: 6 }
    );
    assert_eq!(&store.flash_mut().bytes()[..v2.len()], &v2[..]);
    assert_eq!(store.record().slot, Slot::Image(sha7(&v2)));
}

#[test]
fn the_uf2_image_is_kept_and_comes_back_with_a_tree_that_has_none() {
    // A UF2 put an application in the slot; ota's first tree has files only.
    let uf2 = image(7, 2);
    let mut flash = blank();
    {
        let mut store = open(flash);
        store.flash_mut().bytes_mut()[..uf2.len()].copy_from_slice(&uf2);
        flash = store.into_flash();
    }
    let mut store = open(commit(flash, &tree("v1", None), 0));
    assert_eq!(install(&mut store, SLOT).unwrap(), Installed::Nothing);
    assert_eq!(store.record().slot, Slot::Unmanaged);

    // The first tree with an image: the UF2's is saved before it is overwritten.
    let v2 = image(2, 4);
    let mut store = open(commit(store.into_flash(), &tree("v2", Some(&v2)), 3));
    install(&mut store, SLOT).unwrap();
    assert_eq!(&store.flash_mut().bytes()[..v2.len()], &v2[..]);
    let original = store.record().original.expect("the UF2 image is kept");
    assert_eq!(original.size as usize, uf2.len().div_ceil(256) * 256);

    // v2 fails its trial: rolled back to v1, which runs the UF2's image again.
    store.rollback().unwrap();
    assert!(matches!(
        install(&mut store, SLOT).unwrap(),
        Installed::Written { .. }
    ));
    assert_eq!(&store.flash_mut().bytes()[..uf2.len()], &uf2[..]);
    assert_eq!(store.record().slot, Slot::Original);
    // The kept image survives a reopen (its sectors are in use).
    let mut store = open(store.into_flash());
    assert_eq!(store.record().original, Some(original));
    assert!(matches(&mut store).unwrap());
}

fn sha7(bytes: &[u8]) -> [u8; 7] {
    let sha1 = ota_agent::hash::git_blob_sha1(bytes);
    sha1[..7].try_into().unwrap()
}

fn slot_holds(store: &mut Store<RamFlash>, img: &[u8]) -> bool {
    &store.flash_mut().bytes()[..img.len()] == img
}

#[test]
fn power_cut_at_every_operation_of_an_install() {
    let v1 = image(1, 5);
    let mut v2 = image(2, 7);
    v2[..SECTOR as usize].copy_from_slice(&v1[..SECTOR as usize]); // a sector in common
    let mut store = open(commit(blank(), &tree("v1", Some(&v1)), 0));
    install(&mut store, SLOT).unwrap();
    let base = commit(store.into_flash(), &tree("v2", Some(&v2)), 3);

    let mut dry = open(base.clone());
    install(&mut dry, SLOT).unwrap();
    let ops = dry.flash_mut().ops() - base.ops();

    let (mut old, mut unfinished, mut new) = (0, 0, 0);
    for k in 0..ops {
        let mut flash = base.clone();
        flash.cut_at(k, k * 7919 + 1);
        let mut store = open(flash);
        assert!(
            install(&mut store, SLOT).is_err(),
            "cut at op {k} falls inside the install"
        );
        let mut flash = store.into_flash();
        flash.power_on();
        let mut store = open(flash);
        match store.record().slot {
            Slot::Image(id) if id == sha7(&v1) => {
                assert!(
                    slot_holds(&mut store, &v1),
                    "cut at {k}: recorded v1, slot is not v1"
                );
                old += 1;
            }
            Slot::Image(id) if id == sha7(&v2) => {
                assert!(
                    slot_holds(&mut store, &v2),
                    "cut at {k}: recorded v2, slot is not v2"
                );
                new += 1;
            }
            Slot::Writing => {
                assert!(
                    !matches(&mut store).unwrap(),
                    "an unfinished slot never matches"
                );
                unfinished += 1;
            }
            other => panic!("cut at {k}: slot recorded as {other:?}"),
        }
        // The next boot finishes the job from the untouched source.
        install(&mut store, SLOT).unwrap_or_else(|e| panic!("install after cut at {k}: {e:?}"));
        assert!(
            slot_holds(&mut store, &v2),
            "after the cut at {k}, the slot is v2"
        );
        assert_eq!(store.record().slot, Slot::Image(sha7(&v2)));
    }
    println!(
        "power cuts: {ops} operations of a slot install swept: {old} left the old image, \
         {unfinished} an unfinished slot (never run, finished at the next boot), {new} the new"
    );
    // The last operation is the record that names the new image: a cut tears it.
    assert!(old > 0 && unfinished > 0);
}

#[test]
fn a_slot_written_behind_the_agents_back_is_seen_kept_and_replaced_at_the_next_commit() {
    use ota_protocol::ImageState;
    let v2 = image(2, 5);
    let mut store = open(commit(blank(), &tree("v2", Some(&v2)), 0));
    install(&mut store, SLOT).unwrap();
    let mut agent = Agent::new(store, CONFIG);
    agent.set_slot_base(SLOT.start);
    assert_eq!(agent.image_state(), ImageState::Installed);
    // A UF2 of another build: its own last sector, the vector table kept.
    let other = image(1, 5);
    let last = (v2.len() as u32 / SECTOR * SECTOR) as usize;
    agent.store_mut().flash_mut().bytes_mut()[last..other.len()].copy_from_slice(&other[last..]);
    assert_eq!(agent.image_state(), ImageState::Foreign);
    // It still runs: a boot does not copy over it.
    assert_eq!(
        install(agent.store_mut(), SLOT).unwrap(),
        Installed::Unchanged
    );
    assert_eq!(agent.image_state(), ImageState::Foreign);
    // The next commit of a tree with an image has it copied in again.
    push(&mut agent, &tree("v2", Some(&v2)), 0).unwrap();
    assert_eq!(agent.store().record().slot, Slot::Writing);
    assert!(matches!(
        install(agent.store_mut(), SLOT).unwrap(),
        Installed::Written { sectors: 1, of: 6 }
    ));
    assert_eq!(&agent.store_mut().flash_mut().bytes()[..v2.len()], &v2[..]);
    assert_eq!(agent.image_state(), ImageState::Installed);
}
