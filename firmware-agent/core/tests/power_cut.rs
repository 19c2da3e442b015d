//! Cuts the power at every flash operation of an update, and at 10,000 random
//! points of random updates, then boots again: the store must open with
//! exactly the old tree or exactly the new one, every file hashing to its SHA-1,
//! and must take the next update as if nothing had happened.

mod common;

use common::*;
use ota_agent::ram_flash::RamFlash;
use ota_agent::{Agent, Store};
use ota_protocol::Request;

const SECTORS: u32 = 96;

fn with_tree(tree: &Tree) -> RamFlash {
    let mut agent = fresh(SECTORS);
    push(&mut agent, tree, 0).expect("first push");
    agent.into_store().into_flash()
}

/// 22 files; the update keeps 10, renames one, changes 6, adds 3, drops 2.
fn realistic_update() -> (Tree, Tree) {
    let mut old = Vec::new();
    for i in 0..22u64 {
        let len = match i {
            0 => 0,
            1 => 1,
            i => ((i * 977) % 9000 + 40) as usize,
        };
        old.push((format!("lib/mod{i:02}.py"), content(i, len)));
    }
    old.push(("main.py".into(), content(100, 1500)));
    let mut new: Vec<(String, Vec<u8>)> = old[..10].to_vec();
    new.push(("lib/renamed.py".into(), old[10].1.clone()));
    for i in 11..17u64 {
        new.push((
            old[i as usize].0.clone(),
            content(1000 + i, (i * 313 % 7000 + 1) as usize),
        ));
    }
    for i in 0..3u64 {
        new.push((
            format!("assets/new{i}.bin"),
            content(2000 + i, 5000 + i as usize * 4096),
        ));
    }
    new.push(("main.py".into(), content(101, 1700)));
    (Tree::new("v1.0.0", old), Tree::new("v1.1.0", new))
}

fn check_old_or_new(store: &mut Store<RamFlash>, old: &Tree, new: &Tree) -> bool {
    let (version, files) = active_tree(store).expect("a tree is active");
    if version == old.version && files == old.files {
        false
    } else if version == new.version && files == new.files {
        true
    } else {
        panic!("active tree is neither old nor new: {version}");
    }
}

#[test]
fn power_cut_at_every_operation_of_an_update() {
    let (old, new) = realistic_update();
    let base = with_tree(&old);

    let mut dry = boot(base.clone(), SECTORS).0;
    let sent = push(&mut dry, &new, 3).expect("update without a cut");
    assert!(
        sent.files < new.files.len(),
        "reused files must not be sent"
    );
    // The update, the reboot that spends a trial boot, and the confirm.
    let ops = update_then_boot(base.clone(), &new, 3, 0).ops() - base.ops();

    let (mut saw_old, mut saw_new) = (0, 0);
    for k in 0..ops {
        let mut flash = base.clone();
        flash.cut_at(k, k * 7919 + 1);
        let mut flash = update_then_boot(flash, &new, 3, 0);
        assert!(flash.is_dead(), "cut at op {k} falls inside the sequence");
        flash.power_on();
        let mut agent = boot(flash, SECTORS).0;
        if check_old_or_new(agent.store_mut(), &old, &new) {
            saw_new += 1;
        } else {
            saw_old += 1;
        }
        // The store takes the next update as if nothing had happened.
        push(&mut agent, &new, 0).unwrap_or_else(|e| panic!("update after cut at op {k}: {e:?}"));
        let (v, files) = active_tree(agent.store_mut()).unwrap();
        assert_eq!((v.as_str(), &files), (new.version.as_str(), &new.files));
    }
    println!("power cuts: {ops} operations of a 23-file update, reboot and confirm swept: {saw_old} left the old tree, {saw_new} the new");
    assert!(saw_old > 0 && saw_new > 0);
}

/// A 220 KiB file and two small ones over a small tree: the session erases
/// whole 64 KiB blocks ahead of the data, the last one with free sectors it
/// has not allocated (see extent.rs). A cut at any operation, inside those
/// block erases too, leaves exactly the old tree or the new one. (a.py at
/// sector 16, big.bin after it to sector 71: the block of sectors 64..80 is
/// erased whole for eight of them.)
#[test]
fn power_cut_during_block_erases_ahead_of_the_data() {
    let old = Tree::new(
        "v1",
        vec![
            ("a.py".into(), content(1, 3000)),
            ("c.txt".into(), content(3, 9000)),
        ],
    );
    let new = Tree::new(
        "v2",
        vec![
            ("a.py".into(), content(4, 3100)),
            ("big.bin".into(), content(2, 220 * 1024)),
            ("c.txt".into(), content(3, 9000)),
        ],
    );
    let base = with_tree(&old);
    let ops = update_then_boot(base.clone(), &new, 3, 0).ops() - base.ops();
    let (mut saw_old, mut saw_new) = (0, 0);
    for k in 0..ops {
        let mut flash = base.clone();
        flash.cut_at(k, k * 104_729 + 3);
        let mut flash = update_then_boot(flash, &new, 3, 0);
        assert!(flash.is_dead(), "cut at op {k} falls inside the sequence");
        flash.power_on();
        let mut agent = boot(flash, SECTORS).0;
        if check_old_or_new(agent.store_mut(), &old, &new) {
            saw_new += 1;
        } else {
            saw_old += 1;
        }
        push(&mut agent, &new, 0).unwrap_or_else(|e| panic!("update after cut at op {k}: {e:?}"));
        assert_eq!(active_tree(agent.store_mut()).unwrap().1, new.files);
    }
    assert!(saw_old > 0 && saw_new > 0);
}

/// A small deterministic generator so that every run cuts at the same places.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn random_tree(rng: &mut Rng, version: String, from: Option<&Tree>) -> Tree {
    let mut files: Vec<(String, Vec<u8>)> = match from {
        Some(t) => t
            .files
            .iter()
            .filter(|_| rng.below(4) != 0)
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    for f in files.iter_mut() {
        match rng.below(5) {
            0 => f.1 = content(rng.next(), rng.below(6000) as usize),
            1 => f.0 = format!("moved/{}", rng.next() % 1000),
            _ => {}
        }
    }
    for _ in 0..rng.below(6) + 1 {
        files.push((
            format!("f{}.py", rng.next() % 1000),
            content(rng.next(), rng.below(7000) as usize),
        ));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|a, b| a.0 == b.0);
    Tree {
        version,
        files,
        with_sha256: rng.below(2) == 0,
        trial_timeout_sec: rng.below(2) as u16 * 60,
    }
}

/// The update, a reboot, then a confirm, a rollback or nothing; stops where the power died.
fn update_then_boot(flash: RamFlash, new: &Tree, boots: u8, then: u64) -> RamFlash {
    let mut agent = reopen(flash, SECTORS);
    let pushed = push(&mut agent, new, boots);
    let flash = agent.into_store().into_flash();
    if pushed.is_err() || flash.is_dead() {
        return flash;
    }
    let mut store = Store::open(flash, 0, SECTORS).unwrap();
    if store.boot().is_err() {
        return store.into_flash();
    }
    let mut agent = Agent::new(store, CONFIG);
    let req = match then {
        0 => Request::Confirm,
        1 => Request::Rollback,
        _ => return agent.into_store().into_flash(),
    };
    call(&mut agent, &req);
    agent.into_store().into_flash()
}

#[test]
fn ten_thousand_random_power_cuts() {
    let mut rng = Rng(0x5EED_0F07A);
    let (mut cuts, mut saw_old, mut saw_new) = (0u32, 0u32, 0u32);
    let mut round = 0;
    while cuts < 10_000 {
        round += 1;
        let old = random_tree(&mut rng, format!("v{round}.0"), None);
        let new = random_tree(&mut rng, format!("v{round}.1"), Some(&old));
        let base = with_tree(&old);
        let boots = [0u8, 1, 3][rng.below(3) as usize];
        let then = rng.below(3);
        let ops = update_then_boot(base.clone(), &new, boots, then).ops() - base.ops();

        // Several cuts per random update keep the set-up cost down.
        for _ in 0..20 {
            let mut flash = base.clone();
            flash.cut_at(rng.below(ops), rng.next());
            let mut flash = update_then_boot(flash, &new, boots, then);
            assert!(flash.is_dead(), "the cut falls inside the sequence");
            cuts += 1;
            flash.power_on();
            let mut agent = boot(flash, SECTORS).0;
            if check_old_or_new(agent.store_mut(), &old, &new) {
                saw_new += 1;
            } else {
                saw_old += 1;
            }
            push(&mut agent, &new, 0).expect("update after a random cut");
        }
    }
    println!("power cuts: {cuts} random cuts over {round} random updates: {saw_old} left the old tree, {saw_new} the new");
    assert!(saw_old > 0 && saw_new > 0);
}

/// The previous tree's files, each checked against its SHA-1.
fn previous_tree(store: &mut Store<RamFlash>) -> Option<(String, common::Files)> {
    let t = *store.previous()?;
    let mut files = Vec::new();
    for i in 0..t.at.entries {
        let f = store.file(&t.at, i).unwrap();
        let mut bytes = vec![0; f.size as usize];
        store.read_file(&f, 0, &mut bytes).unwrap();
        assert_eq!(ota_agent::hash::git_blob_sha1(&bytes), f.sha1);
        files.push((f.path.as_str().to_string(), bytes));
    }
    Some((t.header.version.as_str().to_string(), files))
}

#[test]
fn power_cut_at_every_operation_of_dropping_the_previous_tree() {
    let (old, new) = realistic_update();
    let mut agent = boot(with_tree(&old), SECTORS).0;
    push(&mut agent, &new, 0).expect("second push");
    let base = agent.into_store().into_flash();
    let drop = |flash: RamFlash| {
        let mut agent = reopen(flash, SECTORS);
        call(&mut agent, &Request::DropPrevious);
        agent.into_store().into_flash()
    };
    let done = drop(base.clone());
    let ops = done.ops() - base.ops();
    assert!(ops > 0, "dropping the previous tree writes a record");
    let mut agent = boot(done, SECTORS).0;
    assert!(
        previous_tree(agent.store_mut()).is_none(),
        "uncut, it is dropped"
    );
    assert_eq!(
        call(&mut agent, &Request::Rollback).len(),
        1,
        "nothing to roll back to"
    );
    let (mut kept, mut dropped) = (0, 0);
    for k in 0..ops {
        let mut flash = base.clone();
        flash.cut_at(k, k * 7919 + 1);
        let mut flash = drop(flash);
        assert!(flash.is_dead());
        flash.power_on();
        let mut agent = boot(flash, SECTORS).0;
        let (v, files) = active_tree(agent.store_mut()).expect("the active tree stays");
        assert_eq!((v.as_str(), &files), (new.version.as_str(), &new.files));
        match previous_tree(agent.store_mut()) {
            Some((v, files)) => {
                assert_eq!((v.as_str(), &files), (old.version.as_str(), &old.files));
                kept += 1;
            }
            None => dropped += 1,
        }
        push(&mut agent, &old, 0).expect("update after the cut");
    }
    println!("power cuts: {ops} operations of dropping the previous tree: {kept} kept it, {dropped} dropped it");
    // The drop is one record: a cut inside it leaves the previous tree whole.
    assert_eq!(kept + dropped, ops);
}

#[test]
fn power_cut_at_every_operation_of_a_failed_trial_and_its_rollback() {
    let (old, new) = realistic_update();
    let base = with_tree(&old);
    // A one-boot trial that never confirms: the first boot spends it, the
    // second rolls back and remembers the failure.
    let run = |flash: RamFlash| {
        let mut agent = reopen(flash, SECTORS);
        let pushed = push(&mut agent, &new, 1);
        let mut flash = agent.into_store().into_flash();
        for _ in 0..2 {
            if pushed.is_err() || flash.is_dead() {
                return flash;
            }
            let mut store = Store::open(flash, 0, SECTORS).unwrap();
            let _ = store.boot();
            flash = store.into_flash();
        }
        flash
    };
    let ops = run(base.clone()).ops() - base.ops();
    let mut remembered = 0;
    for k in 0..ops {
        let mut flash = base.clone();
        flash.cut_at(k, k * 7919 + 1);
        let mut flash = run(flash);
        assert!(flash.is_dead());
        flash.power_on();
        let mut agent = boot(flash, SECTORS).0;
        let failed = agent.store().record().history.previous_failed;
        let on_new = check_old_or_new(agent.store_mut(), &old, &new);
        if failed.is_some() {
            // Rolled back: the old tree runs, the failed one is previous, and
            // a plain rollback onto it is refused.
            assert!(!on_new, "a remembered failure means the old tree is back");
            assert_eq!(failed, Some(1));
            let r = call(&mut agent, &Request::Rollback);
            assert!(
                matches!(&r[..], [R::Error(ota_protocol::ErrorCode::FailedTrial, _)]),
                "{r:?}"
            );
            remembered += 1;
        }
        push(&mut agent, &new, 0).expect("update after the cut");
    }
    println!("power cuts: {ops} operations of a failed trial and its rollback: {remembered} remembered the failure");
    assert!(remembered > 0);
}

/// A provisioned agent: a signed update confirmed, with a power cut at every
/// operation. The security version and the key count always match the tree
/// the device holds: the new one raises the version only once confirmed.
#[test]
fn power_cut_at_every_operation_of_a_signed_update_keeps_the_security_counters() {
    use ed25519_dalek::SigningKey;
    use ota_agent::signature::security_version;
    let key = SigningKey::from_bytes(&[9; 32]);
    let (mut old, mut new) = realistic_update();
    (old.version, new.version) = ("v1.0.0".into(), "v1.1.0".into());
    let mut agent = fresh(SECTORS);
    let raw = key.verifying_key().to_bytes();
    call(
        &mut agent,
        &Request::Provision {
            keys: &raw,
            auth: None,
        },
    );
    push_signed(&mut agent, &old, 0, Some(&key)).expect("first push");
    let base = agent.into_store().into_flash();

    let signed_update = |flash: RamFlash| {
        let mut agent = reopen(flash, SECTORS);
        if push_signed(&mut agent, &new, 3, Some(&key)).is_err()
            || agent.store_mut().flash_mut().is_dead()
        {
            return agent.into_store().into_flash();
        }
        call(&mut agent, &Request::Confirm);
        agent.into_store().into_flash()
    };
    let ops = signed_update(base.clone()).ops() - base.ops();
    let (v_old, v_new) = (security_version("v1.0.0"), security_version("v1.1.0"));
    for k in 0..ops {
        let mut flash = base.clone();
        flash.cut_at(k, k * 7919 + 1);
        let mut flash = signed_update(flash);
        assert!(flash.is_dead(), "cut at op {k} falls inside the sequence");
        flash.power_on();
        let mut agent = boot(flash, SECTORS).0;
        let is_new = check_old_or_new(agent.store_mut(), &old, &new);
        let info = agent.info();
        let confirmed = info.state == ota_protocol::TreeState::Confirmed;
        let want = if is_new && confirmed { v_new } else { v_old };
        assert_eq!(info.security_version, want, "cut at op {k}");
        assert_eq!((info.keys, info.key_changes), (1, 1), "cut at op {k}");
    }
}

/// A first tree whose trial fails, with nothing to fall back to, and a
/// second tree pushed while the first was in trial, rolled back from: a cut
/// at every operation leaves a state the device can always explain. The
/// failed tree is never confirmed, and a tree that never confirmed comes
/// back only in trial.
#[test]
fn power_cut_at_every_operation_of_a_failed_first_trial() {
    use ota_agent::layout::State;
    let (old, new) = realistic_update();
    let empty = RamFlash::new(flash_size(SECTORS));
    let run = |flash: RamFlash| {
        let mut agent = Agent::new(Store::open(flash, 0, SECTORS).unwrap(), CONFIG);
        // old in a trial never confirmed, then new pushed over it, then
        // boots until new is rolled back from and old fails too.
        let pushed = push(&mut agent, &old, 1).and_then(|_| push(&mut agent, &new, 1));
        let mut flash = agent.into_store().into_flash();
        for _ in 0..4 {
            if pushed.is_err() || flash.is_dead() {
                return flash;
            }
            let mut store = Store::open(flash, 0, SECTORS).unwrap();
            let _ = store.boot();
            flash = store.into_flash();
        }
        flash
    };
    let whole = run(empty.clone());
    let ops = whole.ops() - empty.ops();
    let end = boot(whole, SECTORS).0;
    assert_eq!(end.store().state(), State::Failed, "both trials failed");
    let mut failed = 0;
    for k in 0..ops {
        let mut flash = empty.clone();
        flash.cut_at(k, k * 7919 + 1);
        let mut flash = run(flash);
        assert!(flash.is_dead());
        flash.power_on();
        let mut agent = boot(flash, SECTORS).0;
        let state = agent.store().state();
        assert_ne!(
            state,
            State::Confirmed,
            "cut at {k}: nothing ever confirmed"
        );
        if agent.store().active().is_some() {
            check_old_or_new(agent.store_mut(), &old, &new);
        }
        if state == State::Failed {
            assert!(agent.store().record().history.active_failed.is_some());
            failed += 1;
        }
        push(&mut agent, &new, 0).expect("update after the cut");
    }
    println!("power cuts: {ops} operations of failed first trials: {failed} left a failed tree");
    assert!(failed > 0);
}
