//! The application image sent as a patch against the image the slot holds
//! (protocol 1.6's Patch): applied as it streams into the store, verified
//! like any file before the commit (a provisioned agent takes it in a signed
//! tree), then installed as any image is. A patch
//! for another base, a corrupted patch, or one that makes other bytes is
//! refused with the device on its old tree, and the image may then be sent
//! whole in the same session; a power cut at every flash operation of a
//! patched push and its install leaves the old tree or the new one.

mod common;

use common::*;
use ota_agent::layout::{APP_IMAGE, SECTOR};
use ota_agent::ram_flash::RamFlash;
use ota_agent::slot::install;
use ota_agent::{Agent, Store};
use ota_protocol::{ErrorCode, Request};
use sha2::Digest;

/// A small slot at the start of the test flash, the store after it.
const SLOT: std::ops::Range<u32> = 0..16 * SECTOR;
const BASE: u32 = SLOT.end;
const SECTORS: u32 = 96;

fn agent(flash: RamFlash) -> Agent<RamFlash> {
    let store = Store::open(flash, BASE, SECTORS).expect("store opens after any power cut");
    let mut agent = Agent::new(store, CONFIG);
    agent.set_slot_base(SLOT.start);
    agent
}

/// An image of about `sectors` sectors (vector table first, like a real one).
fn image(seed: u64, sectors: u32) -> Vec<u8> {
    let mut img = content(seed, (sectors * SECTOR) as usize + 300);
    img[..4].copy_from_slice(&0x2004_2000u32.to_le_bytes());
    img[4..8].copy_from_slice(&(0x1004_00C1u32).to_le_bytes());
    img
}

/// `old` with a one-function change: a few bytes edited, the rest moved by 12.
fn next_build(old: &[u8]) -> Vec<u8> {
    let mut new = old.to_vec();
    new[9000..9012].copy_from_slice(b"changed code");
    new.splice(12_000..12_000, *b"twelve bytes");
    new
}

fn tree(version: &str, img: &[u8]) -> Tree {
    Tree::new(
        version,
        vec![
            ("blink.txt".to_string(), version.as_bytes().to_vec()),
            (APP_IMAGE.to_string(), img.to_vec()),
        ],
    )
}

/// A board running `v1` with image `img`, installed in its slot.
fn running(img: &[u8]) -> RamFlash {
    let mut a = agent(RamFlash::new((BASE + SECTORS * SECTOR) as usize));
    push(&mut a, &tree("v1", img), 0).expect("first push");
    install(a.store_mut(), SLOT).expect("install");
    a.into_store().into_flash()
}

fn patch_request(entry: u16, base: &[u8], size: usize) -> Request<'static> {
    Request::Patch {
        entry,
        base_size: base.len() as u32,
        base_sha256: sha2::Sha256::digest(base).into(),
        size: size as u32,
    }
}

/// Declares `t`; returns the index of the image entry, or the refusal.
fn try_declare(a: &mut Agent<RamFlash>, t: &Tree) -> Result<u16, Vec<R>> {
    try_declare_signed(a, t, None)
}

fn try_declare_signed(
    a: &mut Agent<RamFlash>,
    t: &Tree,
    signature: Option<ota_protocol::Signature>,
) -> Result<u16, Vec<R>> {
    let (mut begin, entries) = declaration(t);
    begin.signature = signature;
    let ready = call(a, &Request::Begin(begin));
    if ready != [R::Ready] {
        return Err(ready);
    }
    for e in &entries {
        let need = call(a, &Request::Entry(e.clone()));
        if !matches!(need.as_slice(), [R::Need(_)]) {
            return Err(need);
        }
    }
    Ok(entries.iter().position(|e| e.path == APP_IMAGE).unwrap() as u16)
}

fn declare(a: &mut Agent<RamFlash>, t: &Tree) -> u16 {
    try_declare(a, t).expect("declared")
}

/// Sends `bytes` as entry `i`'s Data in frames of 700; the last replies.
fn send(a: &mut Agent<RamFlash>, i: u16, bytes: &[u8]) -> Vec<R> {
    let mut last = Vec::new();
    for (k, chunk) in bytes.chunks(700).enumerate() {
        let data = Request::Data {
            entry: i,
            offset: (k * 700) as u32,
            bytes: chunk,
        };
        last = call(a, &data);
        if matches!(last.last(), Some(R::Error(..))) {
            break;
        }
    }
    last
}

/// The files that need sending besides the image, whole.
fn send_the_rest(a: &mut Agent<RamFlash>, t: &Tree, image: u16) {
    for (i, (_, bytes)) in t.files.iter().enumerate() {
        if i as u16 != image {
            send(a, i as u16, bytes);
        }
    }
}

/// Pushes `t` with its image as a patch against the slot's `old`, commits.
fn push_patched(a: &mut Agent<RamFlash>, t: &Tree, old: &[u8]) -> Result<(), Vec<R>> {
    let img = &t.files.iter().find(|f| f.0 == APP_IMAGE).unwrap().1;
    let patch = ota_delta::make(old, img);
    let i = try_declare(a, t)?;
    send_the_rest(a, t, i);
    let ready = call(a, &patch_request(i, old, patch.len()));
    if ready != [R::Ack(0)] {
        return Err(ready);
    }
    let done = send(a, i, &patch);
    if done != [R::Ack(patch.len() as u32), R::FileDone] {
        return Err(done);
    }
    match call(a, &Request::Commit { boots: 0 }).as_slice() {
        [R::Committed] => Ok(()),
        other => Err(other.to_vec()),
    }
}

fn slot_holds(a: &mut Agent<RamFlash>, img: &[u8]) -> bool {
    &a.store_mut().flash_mut().bytes()[..img.len()] == img
}

#[test]
fn a_patched_image_is_verified_committed_and_installed() {
    let v1 = image(1, 6);
    let v2 = next_build(&v1);
    let mut a = agent(running(&v1));
    let t2 = tree("v2", &v2);
    push_patched(&mut a, &t2, &v1).expect("patched push");
    assert_eq!(active_tree(a.store_mut()).unwrap().1, t2.files);
    install(a.store_mut(), SLOT).expect("install");
    assert!(slot_holds(&mut a, &v2), "the slot runs the new build");
    // The next build patches against v2, now in the slot.
    let v3 = next_build(&v2);
    push_patched(&mut a, &tree("v3", &v3), &v2).expect("second patched push");
}

/// A provisioned agent takes a patched image of a signed tree: the patch's
/// result is checked against the entry the signature covers.
#[test]
fn a_signed_tree_with_a_patched_image_is_taken_by_a_provisioned_agent() {
    use ed25519_dalek::SigningKey;
    let v1 = image(1, 6);
    let v2 = next_build(&v1);
    let mut a = agent(running(&v1));
    let key = SigningKey::from_bytes(&[5; 32]);
    let keys = [key.verifying_key().to_bytes()];
    let provision = Request::Provision {
        keys: &keys.concat(),
        auth: None,
    };
    assert_eq!(call(&mut a, &provision), [R::Done]);
    let t2 = tree("v2", &v2);
    // Unsigned, the tree is refused before any byte of the patch.
    assert!(matches!(
        try_declare(&mut a, &t2).unwrap_err().as_slice(),
        [R::Error(ErrorCode::Unsigned, _)]
    ));
    let i = try_declare_signed(&mut a, &t2, Some(tree_signature(&t2, &key))).expect("signed");
    send_the_rest(&mut a, &t2, i);
    let patch = ota_delta::make(&v1, &v2);
    assert_eq!(
        call(&mut a, &patch_request(i, &v1, patch.len())),
        [R::Ack(0)]
    );
    assert_eq!(
        send(&mut a, i, &patch),
        [R::Ack(patch.len() as u32), R::FileDone]
    );
    assert_eq!(call(&mut a, &Request::Commit { boots: 0 }), [R::Committed]);
    assert_eq!(active_tree(a.store_mut()).unwrap().1, t2.files);
}

#[test]
fn a_patch_for_another_base_is_refused_and_the_image_goes_whole() {
    let v1 = image(1, 6);
    let v2 = next_build(&v1);
    let mut a = agent(running(&v1));
    let t2 = tree("v2", &v2);
    let i = declare(&mut a, &t2);
    send_the_rest(&mut a, &t2, i);
    let other = image(9, 6);
    match call(&mut a, &patch_request(i, &other, 100)).as_slice() {
        [R::Error(ErrorCode::BadBase, _)] => {}
        got => panic!("a base the slot does not hold: {got:?}"),
    }
    assert_eq!(active_tree(a.store_mut()).unwrap().0, "v1");
    // The same session takes the image whole.
    assert_eq!(send(&mut a, i, &v2), [R::Ack(v2.len() as u32), R::FileDone]);
    assert_eq!(call(&mut a, &Request::Commit { boots: 0 }), [R::Committed]);
    assert_eq!(active_tree(a.store_mut()).unwrap().1, t2.files);
}

#[test]
fn a_corrupted_patch_or_a_wrong_result_leaves_the_old_tree() {
    let v1 = image(1, 6);
    let v2 = next_build(&v1);
    let t2 = tree("v2", &v2);
    let good = ota_delta::make(&v1, &v2);
    // A patch made from another build: it applies, but makes other bytes.
    let mut near = v1.clone();
    near[3000..3016].copy_from_slice(b"another build...");
    let wrong = ota_delta::make(&near, &v2);
    let mut corrupt = good.clone();
    for k in (20..corrupt.len()).step_by(97) {
        corrupt[k] ^= 0x5A;
    }
    for (name, patch) in [("corrupted", &corrupt), ("made for another base", &wrong)] {
        let mut a = agent(running(&v1));
        let i = declare(&mut a, &t2);
        send_the_rest(&mut a, &t2, i);
        assert_eq!(
            call(&mut a, &patch_request(i, &v1, patch.len())),
            [R::Ack(0)]
        );
        match send(&mut a, i, patch).last() {
            Some(R::Error(ErrorCode::BadPatch | ErrorCode::HashMismatch, _)) => {}
            got => panic!("{name}: {got:?}"),
        }
        assert_eq!(call(&mut a, &Request::Commit { boots: 0 }).len(), 1);
        assert_eq!(active_tree(a.store_mut()).unwrap().0, "v1", "{name}");
        // After a power cycle too: nothing of it was committed.
        let mut b = agent(a.into_store().into_flash());
        assert_eq!(active_tree(b.store_mut()).unwrap().0, "v1", "{name}");
        // A fresh session takes the good patch.
        push_patched(&mut b, &t2, &v1).expect("then the good patch");
    }
}

#[test]
fn power_cut_at_every_operation_of_a_patched_push_and_its_install() {
    let v1 = image(1, 5);
    let v2 = next_build(&v1);
    let (t1, t2) = (tree("v1", &v1), tree("v2", &v2));
    let base = running(&v1);
    let run = |flash: RamFlash| {
        let mut a = agent(flash);
        if push_patched(&mut a, &t2, &v1).is_ok() && !a.store_mut().flash_mut().is_dead() {
            let _ = install(a.store_mut(), SLOT);
        }
        a.into_store().into_flash()
    };
    let ops = run(base.clone()).ops() - base.ops();
    let (mut saw_old, mut saw_new) = (0, 0);
    for k in 0..ops {
        let mut flash = base.clone();
        flash.cut_at(k, k * 7919 + 1);
        let mut flash = run(flash);
        assert!(flash.is_dead(), "cut at op {k} falls inside the sequence");
        flash.power_on();
        let mut a = agent(flash);
        let (version, files) = active_tree(a.store_mut()).expect("a tree");
        if version == "v1" {
            assert_eq!(files, t1.files);
            assert!(
                slot_holds(&mut a, &v1),
                "cut at op {k}: the slot still runs v1"
            );
            saw_old += 1;
            // The next patched push goes through as if nothing had happened.
            push_patched(&mut a, &t2, &v1).unwrap_or_else(|e| panic!("after cut at op {k}: {e:?}"));
        } else {
            assert_eq!(files, t2.files, "cut at op {k}");
            saw_new += 1;
        }
        install(a.store_mut(), SLOT).expect("the next boot finishes the install");
        assert!(
            slot_holds(&mut a, &v2),
            "cut at op {k}: the slot ends up with v2"
        );
    }
    println!("power cuts: {ops} operations of a patched push and its install: {saw_old} left v1, {saw_new} v2");
    assert!(saw_old > 0 && saw_new > 0);
}
