//! The application's confirm (`ota_agent::confirm`): the one journal record
//! it appends is the record `Store::confirm` appends, wherever the journal
//! stands (a sector wrapping included), a provisioned device's security
//! version counts the confirmed signed tree as the store's own confirm does,
//! the board's way (the journal read in place, a whole page programmed)
//! writes the same record and touches nothing else, and a power cut at any
//! of its flash operations leaves the trial or the confirmed tree, nothing
//! else.

mod common;

use common::*;
use ota_agent::layout::{crc32_small, State, CRC32, RECORDS_PER_SECTOR};
use ota_agent::ram_flash::RamFlash;
use ota_agent::{confirm, Agent, Store};

const SECTORS: u32 = 64;

fn open(flash: RamFlash) -> Store<RamFlash> {
    Store::open(flash, 0, SECTORS).unwrap()
}

/// A device with `v1` confirmed and `v2` in trial, after `extra` more
/// journal records (boots spent and rolled back by forced rollbacks).
fn in_trial(extra: usize) -> RamFlash {
    let mut agent = Agent::new(open(RamFlash::new(flash_size(SECTORS))), CONFIG);
    push(
        &mut agent,
        &Tree::new("v1", vec![("a".into(), content(1, 900))]),
        0,
    )
    .unwrap();
    push(
        &mut agent,
        &Tree::new("v2", vec![("a".into(), content(2, 900))]),
        250,
    )
    .unwrap();
    let mut store = agent.into_store();
    for _ in 0..extra {
        store.boot().unwrap();
    }
    store.into_flash()
}

#[test]
fn the_small_crc_is_the_table_crc() {
    for len in [0usize, 1, 7, 60, 64, 255, 4096] {
        let bytes = content(len as u64, len);
        assert_eq!(crc32_small(&bytes), CRC32.checksum(&bytes), "{len} bytes");
    }
}

#[test]
fn the_record_is_the_one_the_store_writes_wherever_the_journal_stands() {
    // Records before the wrap, the last slot of a sector, and after it.
    for extra in [
        0,
        RECORDS_PER_SECTOR - 4,
        RECORDS_PER_SECTOR - 3,
        RECORDS_PER_SECTOR + 5,
    ] {
        let flash = in_trial(extra);
        let mut by_store = open(flash.clone());
        assert!(matches!(by_store.state(), State::Trial { .. }));
        by_store.confirm().unwrap();
        let mut small = flash.clone();
        assert!(confirm::confirm(&mut small, 0).unwrap());
        let by_app = open(small);
        assert_eq!(by_app.record(), by_store.record(), "after {extra} records");
        assert_eq!(by_app.state(), State::Confirmed);
        // Nothing more to confirm: the journal is left alone.
        let mut again = by_app.into_flash();
        let ops = again.ops();
        assert!(!confirm::confirm(&mut again, 0).unwrap());
        assert_eq!(again.ops(), ops);
    }
    let mut empty = RamFlash::new(flash_size(SECTORS));
    assert!(!confirm::confirm(&mut empty, 0).unwrap());
}

/// What the board does (ota-app's `Ota::confirm`): the journal read in
/// place, the sector erased when the newest one is full, then the whole page
/// holding the slot programmed as the boot ROM does (NOR: AND into it).
fn confirm_in_place(flash: &mut RamFlash) -> bool {
    let Some(newest) = confirm::scan_in(flash.bytes()) else {
        return false;
    };
    let Some(record) = confirm::confirmed(&newest) else {
        return false;
    };
    let (at, erase) = newest.next_slot();
    let mem = flash.bytes_mut();
    if erase {
        mem[at as usize..(at + 4096) as usize].fill(0xFF);
    }
    let (page_at, page) = confirm::page_for(at, &record);
    assert_eq!(page_at % 256, 0);
    for (d, s) in mem[page_at as usize..].iter_mut().zip(page) {
        *d &= s;
    }
    true
}

#[test]
fn the_record_written_in_place_is_the_one_the_store_writes() {
    let mut wraps = 0;
    // Every place the journal can stand in its first two rounds.
    for extra in 0..RECORDS_PER_SECTOR + 8 {
        let flash = in_trial(extra);
        let mut by_store = open(flash.clone());
        by_store.confirm().unwrap();
        let mut board = flash.clone();
        assert!(confirm_in_place(&mut board));
        // Every other byte of the journal is left as it was (but a sector
        // erased at the wrap): a torn new record falls back to the one before.
        let (at, erase) = confirm::scan_in(flash.bytes()).unwrap().next_slot();
        wraps += erase as u32;
        let kept = |i: usize| match erase {
            true => !(at as usize..at as usize + 4096).contains(&i),
            false => !(at as usize..at as usize + 64).contains(&i),
        };
        let journal = 0..2 * 4096;
        assert!(journal
            .filter(|&i| kept(i))
            .all(|i| board.bytes()[i] == flash.bytes()[i]));
        let by_app = open(board);
        assert_eq!(by_app.record(), by_store.record(), "after {extra} records");
        let mut again = by_app.into_flash();
        assert!(!confirm_in_place(&mut again), "nothing more to confirm");
    }
    assert_eq!(wraps, 1, "one of them stands at the end of its sector");
}

#[test]
fn a_signed_tree_confirmed_by_the_application_raises_the_security_version() {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let mut agent = Agent::new(open(RamFlash::new(flash_size(SECTORS))), CONFIG);
    agent
        .store_mut()
        .provision(&[key.verifying_key().to_bytes()])
        .unwrap();
    let v1 = Tree::new("v1.0.0", vec![("a".into(), content(1, 900))]);
    let v2 = Tree::new("v2.1.0", vec![("a".into(), content(2, 900))]);
    push_signed(&mut agent, &v1, 0, Some(&key)).unwrap();
    push_signed(&mut agent, &v2, 3, Some(&key)).unwrap();
    let flash = agent.into_store().into_flash();
    let mut by_store = open(flash.clone());
    by_store.confirm().unwrap();
    let mut small = flash;
    assert!(confirm::confirm(&mut small, 0).unwrap());
    let mut by_app = open(small);
    assert_eq!(by_app.security_version(), by_store.security_version());
    assert_eq!(by_app.security_version(), 2 << 20 | 1 << 10);
    // The store's next record writes it into the journal.
    by_app.drop_previous().unwrap();
    assert_eq!(by_app.record().security_version, 2 << 20 | 1 << 10);
}

#[test]
fn a_power_cut_in_the_confirm_leaves_the_trial_or_the_confirmed_tree() {
    // At the wrap the confirm erases a sector, then writes: two operations.
    for extra in [0, RECORDS_PER_SECTOR - 3] {
        let flash = in_trial(extra);
        let ops = {
            let mut f = flash.clone();
            confirm::confirm(&mut f, 0).unwrap();
            f.ops() - flash.ops()
        };
        let (mut trial, mut confirmed) = (0, 0);
        for k in 0..ops {
            let mut f = flash.clone();
            f.cut_at(k, k * 7919 + 1);
            assert!(confirm::confirm(&mut f, 0).is_err());
            f.power_on();
            let store = open(f);
            assert_eq!(store.active().unwrap().header.version.as_str(), "v2");
            match store.state() {
                State::Trial { .. } => trial += 1,
                State::Confirmed => confirmed += 1,
                other => panic!("cut at {k}: {other:?}"),
            }
        }
        assert!(trial > 0, "a cut before the record leaves the trial");
        println!("power cuts in the application's confirm ({extra} records before): {trial} trial, {confirmed} confirmed");
    }
}
