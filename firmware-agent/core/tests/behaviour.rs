//! What the agent promises, one behaviour a test: reuse, verification,
//! trial boots and rollback, path rules, space checks, resume, the journal.

mod common;

use common::*;
use ota_agent::hash::git_blob_sha1;
use ota_agent::layout::{State, VERSION_JSON_MAX};
use ota_agent::ram_flash::RamFlash;
use ota_agent::{Agent, BootOutcome};
use ota_protocol::{Begin, Entry, ErrorCode, Request};

const SECTORS: u32 = 192;

fn files(n: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            (
                format!("app/f{i:02}.py"),
                content(seed + i as u64, 300 + i * 97),
            )
        })
        .collect()
}

#[test]
fn same_tree_again_sends_nothing() {
    let mut a = fresh(SECTORS);
    let t = Tree::new("v1", files(12, 0));
    assert_eq!(push(&mut a, &t, 0).unwrap().files, 12);
    assert_eq!(push(&mut a, &t, 0).unwrap(), Sent::default());
}

#[test]
fn changed_file_alone_is_sent_and_rename_sends_nothing() {
    let mut a = fresh(SECTORS);
    let mut t = Tree::new("v1", files(50, 0));
    push(&mut a, &t, 0).unwrap();
    t.files[7].1 = content(999, 1234);
    let sent = push(&mut a, &t, 0).unwrap();
    assert_eq!(
        sent,
        Sent {
            files: 1,
            bytes: 1234
        }
    );
    t.files[3].0 = "elsewhere/renamed.py".into();
    assert_eq!(push(&mut a, &t, 0).unwrap(), Sent::default());
    assert_eq!(active_tree(a.store_mut()).unwrap().1, t.files);
}

#[test]
fn content_shared_within_one_update_is_sent_once() {
    let mut a = fresh(SECTORS);
    let same = content(5, 5000);
    let t = Tree::new(
        "v1",
        vec![("a.bin".into(), same.clone()), ("b.bin".into(), same)],
    );
    assert_eq!(push(&mut a, &t, 0).unwrap().files, 1);
    assert_eq!(active_tree(a.store_mut()).unwrap().1, t.files);
}

#[test]
fn empty_files_arrive() {
    let mut a = fresh(SECTORS);
    let t = Tree::new(
        "v1",
        vec![
            ("lib/__init__.py".into(), vec![]),
            ("main.py".into(), b"print(1)".to_vec()),
        ],
    );
    push(&mut a, &t, 0).unwrap();
    assert_eq!(active_tree(a.store_mut()).unwrap().1, t.files);
}

#[test]
fn wrong_bytes_fail_the_file_and_leave_the_device_as_it_was() {
    let mut a = fresh(SECTORS);
    let t1 = Tree::new("v1", files(3, 0));
    push(&mut a, &t1, 0).unwrap();
    let good = content(77, 3000);
    let mut bad = good.clone();
    bad[2000] ^= 1;
    assert_eq!(call(&mut a, &begin(1, 3000)), vec![R::Ready]);
    let e = file_entry(0, "x.bin", &good);
    assert_eq!(call(&mut a, &e), vec![R::Need(true)]);
    assert_eq!(
        call(&mut a, &data_at(0, 0, &bad[..2048])),
        vec![R::Ack(2048)]
    );
    let r = call(&mut a, &data_at(0, 2048, &bad[2048..]));
    assert!(
        matches!(&r[..], [R::Error(ErrorCode::HashMismatch, _)]),
        "{r:?}"
    );
    // Not committable, and a reboot finds the old tree.
    assert!(matches!(
        &call(&mut a, &Request::Commit { boots: 0 })[..],
        [R::Error(ErrorCode::BadState, _)]
    ));
    let (mut a, _) = reboot(a, SECTORS);
    assert_eq!(active_tree(a.store_mut()).unwrap().1, t1.files);
    // The file can be sent again, correctly, in the same session.
    let mut a2 = a;
    assert_eq!(call(&mut a2, &begin(1, 3000)), vec![R::Ready]);
    assert_eq!(call(&mut a2, &e), vec![R::Need(true)]);
    assert_eq!(
        call(&mut a2, &data_at(0, 0, &good)),
        vec![R::Ack(3000), R::FileDone]
    );
    assert_eq!(
        call(&mut a2, &Request::Commit { boots: 0 }),
        vec![R::Committed]
    );
}

#[test]
fn resends_and_gaps_are_answered_with_the_written_offset() {
    let mut a = fresh(SECTORS);
    let data = content(1, 5000);
    call(&mut a, &begin(1, 5000));
    let e = file_entry(0, "d", &data);
    call(&mut a, &e);
    assert_eq!(
        call(&mut a, &data_at(0, 0, &data[..1000])),
        vec![R::Ack(1000)]
    );
    // A gap: the agent says where it stands.
    assert_eq!(
        call(&mut a, &data_at(0, 3000, &data[3000..4000])),
        vec![R::Ack(1000)]
    );
    // A duplicate: same answer, nothing written twice.
    assert_eq!(
        call(&mut a, &data_at(0, 0, &data[..1000])),
        vec![R::Ack(1000)]
    );
    assert_eq!(
        call(&mut a, &Request::Query { entry: 0 }),
        vec![R::Ack(1000)]
    );
    assert_eq!(
        call(&mut a, &data_at(0, 1000, &data[1000..])),
        vec![R::Ack(5000), R::FileDone]
    );
    assert_eq!(
        call(&mut a, &Request::Query { entry: 0 }),
        vec![R::Ack(5000), R::FileDone]
    );
    assert_eq!(a.info().session, Some(1));
    assert_eq!(
        call(&mut a, &Request::Commit { boots: 0 }),
        vec![R::Committed]
    );
    assert_eq!(a.info().session, None);
}

#[test]
fn trial_tree_is_rolled_back_when_its_boots_run_out() {
    let mut a = fresh(SECTORS);
    let t1 = Tree::new("v1", files(4, 0));
    let t2 = Tree::new("v2", files(4, 100));
    push(&mut a, &t1, 0).unwrap();
    push(&mut a, &t2, 3).unwrap();
    assert_eq!(a.store().state(), State::Trial { boots_left: 3 });
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let (b, o) = reboot(a, SECTORS);
        a = b;
        outcomes.push(o);
    }
    assert_eq!(
        outcomes,
        [
            BootOutcome::Trial { boots_left: 2 },
            BootOutcome::Trial { boots_left: 1 },
            BootOutcome::Trial { boots_left: 0 },
            BootOutcome::RolledBack
        ]
    );
    assert_eq!(
        active_tree(a.store_mut()).unwrap(),
        ("v1".to_string(), t1.files)
    );
    assert_eq!(a.store().state(), State::Confirmed);
}

#[test]
fn confirmed_trial_stays() {
    let mut a = fresh(SECTORS);
    push(&mut a, &Tree::new("v1", files(2, 0)), 0).unwrap();
    push(&mut a, &Tree::new("v2", files(2, 9)), 1).unwrap();
    let (mut a, o) = reboot(a, SECTORS);
    assert_eq!(o, BootOutcome::Trial { boots_left: 0 });
    assert_eq!(call(&mut a, &Request::Confirm), vec![R::Done]);
    let (mut a, o) = reboot(a, SECTORS);
    assert_eq!(o, BootOutcome::Normal);
    assert_eq!(active_tree(a.store_mut()).unwrap().0, "v2");
}

#[test]
fn rollback_on_request_swaps_trees() {
    let mut a = fresh(SECTORS);
    assert!(matches!(
        &call(&mut a, &Request::Rollback)[..],
        [R::Error(ErrorCode::NoPrevious, _)]
    ));
    let t1 = Tree::new("v1", files(3, 0));
    let t2 = Tree::new("v2", files(3, 50));
    push(&mut a, &t1, 0).unwrap();
    push(&mut a, &t2, 0).unwrap();
    assert_eq!(call(&mut a, &Request::Rollback), vec![R::Done]);
    assert_eq!(
        active_tree(a.store_mut()).unwrap(),
        ("v1".to_string(), t1.files.clone())
    );
    let (mut a, _) = reboot(a, SECTORS);
    assert_eq!(active_tree(a.store_mut()).unwrap().0, "v1");
    assert_eq!(a.store().previous().unwrap().header.version.as_str(), "v2");
}

#[test]
fn bad_and_duplicate_paths_are_refused() {
    for bad in ["/abs", "a/../b", "a//b", "", "a\\b"] {
        let mut a = fresh(SECTORS);
        call(&mut a, &begin(1, 1));
        let e = file_entry(0, bad, b"x");
        assert!(
            matches!(&call(&mut a, &e)[..], [R::Error(ErrorCode::BadPath, _)]),
            "{bad:?}"
        );
    }
    let mut a = fresh(SECTORS);
    call(&mut a, &begin(2, 2));
    let e = |i| file_entry(i, "same.py", b"x");
    assert_eq!(call(&mut a, &e(0)), vec![R::Need(true)]);
    assert!(matches!(
        &call(&mut a, &e(1))[..],
        [R::Error(ErrorCode::DuplicatePath, _)]
    ));
}

#[test]
fn an_update_that_cannot_fit_is_refused_before_any_file_is_written() {
    let mut a = fresh(SECTORS);
    let t1 = Tree::new("v1", files(3, 0));
    push(&mut a, &t1, 0).unwrap();
    let r = call(&mut a, &begin(1, 10 * 1024 * 1024));
    assert!(matches!(&r[..], [R::Error(ErrorCode::NoSpace, _)]), "{r:?}");
    let r = call(&mut a, &begin(600, 600));
    assert!(
        matches!(&r[..], [R::Error(ErrorCode::TooManyEntries, _)]),
        "{r:?}"
    );
    // Fits in total, but not next to the trees the device keeps: refused at the entry.
    let big = content(3, 450 * 1024);
    assert_eq!(call(&mut a, &begin(2, 750 * 1024)), vec![R::Ready]);
    let e = |i, p| file_entry(i, p, &big);
    assert_eq!(call(&mut a, &e(0, "a")), vec![R::Need(true)]);
    let big2 = content(4, 300 * 1024);
    let e2 = file_entry(1, "b", &big2);
    assert!(matches!(
        &call(&mut a, &e2)[..],
        [R::Error(ErrorCode::NoSpace, _)]
    ));
    let (mut a, _) = reboot(a, SECTORS);
    assert_eq!(active_tree(a.store_mut()).unwrap().1, t1.files);
}

#[test]
fn bootsel_answers_done_asks_for_the_boot_rom_and_changes_nothing() {
    let mut a = fresh(SECTORS);
    let t = Tree::new("v1", files(2, 7));
    push(&mut a, &t, 0).unwrap();
    a.handle(&begin(1, 10), &mut |_| {});
    assert!(a.info().session.is_some());
    let mut replies = Vec::new();
    let action = a.handle(&Request::Bootsel, &mut |r| replies.push(format!("{r:?}")));
    assert_eq!(action, ota_agent::Action::Bootsel);
    assert_eq!(replies, ["Done"]);
    assert_eq!(a.info().session, None, "the unfinished session is dropped");
    let (mut a, _) = reboot(a, SECTORS);
    assert_eq!(active_tree(a.store_mut()).unwrap().1, t.files);
}

#[test]
fn unknown_major_version_gets_an_error_not_silence() {
    let mut a = fresh(SECTORS);
    let r = call(&mut a, &Request::Hello { major: 2, minor: 0 });
    assert!(
        matches!(&r[..], [R::Error(ErrorCode::UnsupportedVersion, _)]),
        "{r:?}"
    );
}

#[test]
fn version_json_is_presented_as_the_seed_wrote_it() {
    let mut a = fresh(SECTORS);
    push(&mut a, &Tree::new("v1.2.3", files(1, 0)), 0).unwrap();
    let mut buf = [0u8; VERSION_JSON_MAX];
    let n = a.store().version_json(&mut buf);
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        r#"{"version":"v1.2.3","ref":"main","commit":"0123456789abcdef0123456789abcdef01234567"}"#
    );
}

#[test]
fn sha256_is_checked_when_declared() {
    let mut a = fresh(SECTORS);
    let mut t = Tree::new("v1", files(3, 0));
    t.with_sha256 = true;
    push(&mut a, &t, 0).unwrap();
    let data = content(8, 100);
    call(&mut a, &begin(1, 100));
    let e = Request::Entry(Entry {
        index: 0,
        path: "x",
        size: 100,
        sha1: git_blob_sha1(&data),
        sha256: Some([0; 32]),
    });
    call(&mut a, &e);
    let r = call(&mut a, &data_at(0, 0, &data));
    assert!(
        matches!(&r[..], [R::Error(ErrorCode::HashMismatch, _)]),
        "{r:?}"
    );
}

#[test]
fn journal_wraps_and_survives_cuts_at_the_wrap() {
    let mut a = fresh(SECTORS);
    push(&mut a, &Tree::new("v1", files(2, 0)), 0).unwrap();
    push(&mut a, &Tree::new("v2", files(2, 5)), 0).unwrap();
    // Each rollback is one record: 300 of them wrap the two journal sectors twice.
    for i in 0..300 {
        assert_eq!(
            call(&mut a, &Request::Rollback),
            vec![R::Done],
            "rollback {i}"
        );
    }
    let (mut a, _) = reboot(a, SECTORS);
    assert_eq!(active_tree(a.store_mut()).unwrap().0, "v2");
    // Cut at each of the next 300 operations (crossing a wrap): one tree or the other, always.
    let base = a.into_store().into_flash();
    for k in 0..2 {
        for n in 0..300u64 {
            let mut flash = base.clone();
            flash.cut_at(k + 2 * n, n);
            let mut a = reopen(flash, SECTORS);
            while call(&mut a, &Request::Rollback) == vec![R::Done] {}
            let mut flash = a.into_store().into_flash();
            flash.power_on();
            let mut a = boot(flash, SECTORS).0;
            let v = active_tree(a.store_mut()).unwrap().0;
            assert!(v == "v1" || v == "v2");
            assert_eq!(call(&mut a, &Request::Rollback), vec![R::Done]);
        }
    }
}

#[test]
fn garbage_flash_opens_as_an_empty_store() {
    let mut flash = RamFlash::new(flash_size(SECTORS));
    let noise = content(42, flash_size(SECTORS));
    embedded_storage::nor_flash::NorFlash::write(&mut flash, 0, &noise).unwrap();
    let mut a = boot(flash, SECTORS).0;
    assert_eq!(a.store().state(), State::Empty);
    let t = Tree::new("v1", files(5, 0));
    push(&mut a, &t, 0).unwrap();
    let (mut a, _) = reboot(a, SECTORS);
    assert_eq!(active_tree(a.store_mut()).unwrap().1, t.files);
}

mod provisioned {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};
    use ota_agent::signature::{keys_message, TreeDigest};
    use ota_protocol::Signature;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn provision(
        a: &mut Agent<RamFlash>,
        keys: &[&SigningKey],
        auth: Option<&SigningKey>,
    ) -> Vec<R> {
        let raw: Vec<[u8; 32]> = keys.iter().map(|k| k.verifying_key().to_bytes()).collect();
        let count = a.store().key_changes();
        let auth = auth.map(|k| {
            Signature(
                k.sign(&keys_message(&CONFIG.device_id, count, &raw))
                    .to_bytes(),
            )
        });
        call(
            a,
            &Request::Provision {
                keys: &raw.concat(),
                auth,
            },
        )
    }

    /// Begin and entries for `tree`, signed by `signer` (or not).
    fn declare(a: &mut Agent<RamFlash>, tree: &Tree, signer: Option<&SigningKey>) -> Vec<R> {
        let mut d = TreeDigest::new(&tree.version, "v", "c", None, None, tree.files.len() as u16);
        for (p, b) in &tree.files {
            d.add(p, b.len() as u32, &git_blob_sha1(b), None);
        }
        let digest = d.finish();
        let begin = Request::Begin(Begin {
            session: 2,
            entries: tree.files.len() as u16,
            total_bytes: tree.files.iter().map(|f| f.1.len() as u64).sum(),
            version: &tree.version,
            git_ref: "v",
            commit: "c",
            post_update: None,
            rollback: None,
            signature: signer.map(|k| Signature(k.sign(&digest).to_bytes())),
            trial_timeout_sec: 0,
        });
        let mut out = call(a, &begin);
        for (i, (p, b)) in tree.files.iter().enumerate() {
            let e = file_entry(i as u16, p, b);
            out.extend(call(a, &e));
        }
        out
    }

    #[test]
    fn a_provisioned_agent_takes_signed_trees_only() {
        let mut a = fresh(SECTORS);
        let (k, other) = (key(1), key(2));
        assert_eq!(provision(&mut a, &[&k], None), vec![R::Done]);
        assert_eq!(a.info().keys, 1);
        let t = Tree::new("v1", files(3, 0));
        // No signature: refused at Begin, before anything is written.
        let r = declare(&mut a, &t, None);
        assert!(matches!(&r[0], R::Error(ErrorCode::Unsigned, _)), "{r:?}");
        // Signed by a key the agent does not hold: refused once the tree is known.
        let r = declare(&mut a, &t, Some(&other));
        assert!(
            matches!(r.last(), Some(R::Error(ErrorCode::Unsigned, _))),
            "{r:?}"
        );
        assert_eq!(a.info().session, None, "the session is dropped");
        // Signed: accepted, and the data may follow.
        let r = declare(&mut a, &t, Some(&k));
        assert!(
            r.iter().all(|x| matches!(x, R::Ready | R::Need(_))),
            "{r:?}"
        );
        // Keys survive a reboot.
        let (a, _) = reboot(a, SECTORS);
        assert_eq!(a.info().keys, 1);
    }

    /// Declares and sends `tree` (signed by `signer`) and commits it, confirmed.
    fn push_signed(a: &mut Agent<RamFlash>, tree: &Tree, signer: &SigningKey) {
        let r = declare(a, tree, Some(signer));
        for (i, need) in r.iter().skip(1).enumerate() {
            if *need == R::Need(true) {
                let data = data_at(i as u16, 0, &tree.files[i].1);
                assert!(call(a, &data).contains(&R::FileDone));
            }
        }
        assert_eq!(call(a, &Request::Commit { boots: 0 }), vec![R::Committed]);
    }

    #[test]
    fn a_host_cannot_roll_a_provisioned_agent_back_onto_an_unchecked_tree() {
        let mut a = fresh(SECTORS);
        let k = key(1);
        let (t1, t2, t3) = (
            Tree::new("v1", files(2, 0)),
            Tree::new("v2", files(2, 30)),
            Tree::new("v3", files(2, 60)),
        );
        push(&mut a, &t1, 0).unwrap();
        provision(&mut a, &[&k], None);
        push_signed(&mut a, &t2, &k);
        let r = call(&mut a, &Request::Rollback);
        assert!(matches!(&r[0], R::Error(ErrorCode::Unsigned, _)), "{r:?}");
        assert_eq!(active_tree(a.store_mut()).unwrap().0, "v2");
        push_signed(&mut a, &t3, &k);
        // v3 confirmed raised the security version: v2 is older now.
        let r = call(&mut a, &Request::Rollback);
        assert!(matches!(&r[0], R::Error(ErrorCode::Downgrade, _)), "{r:?}");
        assert_eq!(active_tree(a.store_mut()).unwrap().0, "v3");
    }

    #[test]
    fn changing_keys_needs_a_signature_by_a_held_key() {
        let mut a = fresh(SECTORS);
        let (k, other) = (key(1), key(2));
        provision(&mut a, &[&k], None);
        let r = provision(&mut a, &[&other], None);
        assert!(matches!(&r[0], R::Error(ErrorCode::Unsigned, _)), "{r:?}");
        let r = provision(&mut a, &[&other], Some(&other));
        assert!(matches!(&r[0], R::Error(ErrorCode::Unsigned, _)), "{r:?}");
        assert_eq!(provision(&mut a, &[&other], Some(&k)), vec![R::Done]);
        assert_eq!(provision(&mut a, &[], Some(&other)), vec![R::Done]);
        assert_eq!(a.info().keys, 0);
    }

    #[test]
    fn a_power_cut_while_provisioning_leaves_the_old_keys_or_the_new() {
        let mut a = fresh(SECTORS);
        provision(&mut a, &[&key(1)], None);
        let base = a.into_store().into_flash();
        let old = [key(1).verifying_key().to_bytes()];
        let new = [
            key(2).verifying_key().to_bytes(),
            key(3).verifying_key().to_bytes(),
        ];
        for k in 0..3 {
            let mut flash = base.clone();
            flash.cut_at(k, k + 1);
            let mut a = reopen(flash, SECTORS);
            let raw = new.concat();
            let auth = Some(Signature(
                key(1)
                    .sign(&keys_message(
                        &CONFIG.device_id,
                        a.store().key_changes(),
                        &new,
                    ))
                    .to_bytes(),
            ));
            call(&mut a, &Request::Provision { keys: &raw, auth });
            let mut flash = a.into_store().into_flash();
            flash.power_on();
            let a = boot(flash, SECTORS).0;
            let keys = a.store().keys().to_vec();
            // The key count moves with the keys, in the same record.
            let n = a.store().key_changes();
            assert!(
                (keys == old && n == 1) || (keys == new && n == 2),
                "cut at {k}: {keys:?}, {n} changes"
            );
        }
    }
}

#[test]
fn a_tree_that_never_confirmed_is_not_kept_to_roll_back_to() {
    let mut a = fresh(SECTORS);
    let (t1, t2, t3) = (
        Tree::new("v1", files(2, 0)),
        Tree::new("v2", files(2, 40)),
        Tree::new("v3", files(2, 80)),
    );
    push(&mut a, &t1, 0).unwrap();
    // v2 is committed in trial but never confirmed before v3 arrives.
    push(&mut a, &t2, 3).unwrap();
    push(&mut a, &t3, 3).unwrap();
    assert_eq!(a.store().previous().unwrap().header.version.as_str(), "v1");
    assert_eq!(call(&mut a, &Request::Rollback), vec![R::Done]);
    assert_eq!(
        active_tree(a.store_mut()).unwrap(),
        ("v1".to_string(), t1.files)
    );
}

#[test]
fn small_files_share_sectors_page_by_page_each_one_contiguous_range() {
    let mut a = fresh(SECTORS);
    let free = a.store().free_sectors();
    let tiny: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| (format!("t{i:02}.txt"), content(i, 8 + i as usize * 30)))
        .collect();
    push(&mut a, &Tree::new("v1", tiny.clone()), 0).unwrap();
    let used = free - a.store().free_sectors();
    let counted = ota_agent::space::tree_need(tiny.len(), tiny.iter().map(|f| f.1.len() as u32));
    assert_eq!(
        used, counted,
        "the shared rule counts what the session took"
    );
    assert!(used < 12, "40 small files share sectors: {used} sectors");
    let (_, files) = active_tree(a.store_mut()).unwrap();
    assert_eq!(files, tiny);
    // No two files share a page, and each lies inside one sector.
    let t = a.store().active().unwrap().at;
    let mut ranges = Vec::new();
    for i in 0..t.entries {
        let f = a.store_mut().file(&t, i).unwrap();
        assert_eq!(f.offset % 256, 0);
        assert_eq!(f.sectors(), 1);
        ranges.push((f.start(), f.start() + f.size.div_ceil(256) * 256));
    }
    ranges.sort();
    assert!(ranges.windows(2).all(|w| w[0].1 <= w[1].0), "{ranges:?}");
    // After a reboot the packed files still read back, and a new tree reuses them.
    let (mut a, _) = reboot(a, SECTORS);
    let sent = push(&mut a, &Tree::new("v2", tiny.clone()), 0).unwrap();
    assert_eq!(sent.files, 0);
}

#[test]
fn a_small_file_is_not_written_twice_in_one_session() {
    let mut a = fresh(SECTORS);
    let bytes = content(5, 600);
    let begin = Request::Begin(Begin {
        session: 9,
        entries: 1,
        total_bytes: 600,
        version: "v1",
        git_ref: "main",
        commit: "c",
        post_update: None,
        rollback: None,
        signature: None,
        trial_timeout_sec: 0,
    });
    call(&mut a, &begin);
    let entry = Request::Entry(Entry {
        index: 0,
        path: "a.txt",
        size: 600,
        sha1: [0; 20],
        sha256: None,
    });
    assert_eq!(call(&mut a, &entry), vec![R::Need(true)]);
    // Wrong bytes: the hash fails once the file is complete.
    let r = call(&mut a, &data_at(0, 0, &bytes));
    assert!(
        matches!(&r[..], [R::Error(ErrorCode::HashMismatch, _)]),
        "{r:?}"
    );
    // Sent again from byte 0: its pages are programmed, so it is refused, not rewritten.
    let r = call(&mut a, &data_at(0, 0, &bytes));
    assert!(
        matches!(&r[..], [R::Error(ErrorCode::BadState, d)] if d.contains("push again")),
        "{r:?}"
    );
}
