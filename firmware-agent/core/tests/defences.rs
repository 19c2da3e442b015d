//! The agent defends itself from a host it cannot trust: empty trees, paths
//! no host OS or device file system can hold side by side.

mod common;

use common::*;
use ota_agent::hash::git_blob_sha1;
use ota_agent::ram_flash::RamFlash;
use ota_agent::{Agent, SESSION_IDLE_MS};
use ota_protocol::{Begin, Entry, ErrorCode, Request};

const SECTORS: u32 = 192;

fn fresh() -> Agent<RamFlash> {
    Agent::boot(RamFlash::new(flash_size(SECTORS)), 0, SECTORS, CONFIG)
        .unwrap()
        .0
}

fn begin<'a>(entries: u16, total: u64) -> Request<'a> {
    Request::Begin(Begin {
        session: 1,
        entries,
        total_bytes: total,
        version: "v9",
        git_ref: "main",
        commit: "c",
        post_update: None,
        rollback: None,
        signature: None,
        trial_timeout_sec: 0,
    })
}

fn entry(index: u16, path: &str) -> Request<'_> {
    Request::Entry(Entry {
        index,
        path,
        size: 1,
        sha1: git_blob_sha1(&[b'a' + index as u8]),
        sha256: None,
    })
}

#[test]
fn an_empty_begin_is_refused_and_the_device_keeps_its_tree() {
    let mut a = fresh();
    let t1 = Tree::new("v1", vec![("main.py".into(), content(1, 100))]);
    push(&mut a, &t1, 0).unwrap();
    let r = call(&mut a, &begin(0, 0));
    assert!(
        matches!(&r[..], [R::Error(ErrorCode::BadEntry, _)]),
        "{r:?}"
    );
    // Nothing to commit: no session was opened.
    let r = call(&mut a, &Request::Commit { boots: 0 });
    assert!(
        matches!(&r[..], [R::Error(ErrorCode::BadState, _)]),
        "{r:?}"
    );
    assert_eq!(active_tree(a.store_mut()).unwrap().1, t1.files);
}

#[test]
fn paths_unsafe_on_some_host_are_refused() {
    for bad in [
        "C:/x.py",
        "x.py:stream",
        "CON",
        "aux.py",
        "lib/nul.txt",
        "trail. ",
        "a./b",
    ] {
        let mut a = fresh();
        call(&mut a, &begin(1, 1));
        let r = call(&mut a, &entry(0, bad));
        assert!(
            matches!(&r[..], [R::Error(ErrorCode::BadPath, _)]),
            "{bad:?}: {r:?}"
        );
    }
}

#[test]
fn paths_in_conflict_with_an_earlier_entry_are_refused() {
    let cases: &[(&[&str], usize)] = &[
        (&["main.py", "Main.py"], 1),
        (&["lib", "lib/util.py"], 1),
        (&["lib/util.py", "lib"], 1),
        (&["LIB/a/b.py", "x.py", "lib/a"], 2),
        (&["a/b/c.py", "A/B"], 1),
    ];
    for (paths, bad) in cases {
        let mut a = fresh();
        call(&mut a, &begin(paths.len() as u16, paths.len() as u64));
        for (i, p) in paths.iter().enumerate() {
            let r = call(&mut a, &entry(i as u16, p));
            if i == *bad {
                assert!(
                    matches!(&r[..], [R::Error(ErrorCode::DuplicatePath, _)]),
                    "{paths:?}: {r:?}"
                );
            } else {
                assert_eq!(r, vec![R::Need(true)], "{paths:?} at {p}");
            }
        }
    }
    // Neighbours that only look alike are fine.
    let ok = ["lib/a.py", "library.py", "lib2/x", "lib/b.py"];
    let mut a = fresh();
    call(&mut a, &begin(ok.len() as u16, ok.len() as u64));
    for (i, p) in ok.iter().enumerate() {
        assert_eq!(
            call(&mut a, &entry(i as u16, p)),
            vec![R::Need(true)],
            "{p}"
        );
    }
}

#[test]
fn an_idle_session_is_dropped_and_a_request_restarts_the_count() {
    let mut a = fresh();
    assert_eq!(call(&mut a, &begin(1, 1)), vec![R::Ready]);
    assert!(!a.idle(SESSION_IDLE_MS - 1));
    assert_eq!(call(&mut a, &entry(0, "main.py")), vec![R::Need(true)]);
    assert!(!a.idle(SESSION_IDLE_MS - 1));
    assert!(a.info().session.is_some());
    assert!(a.idle(1));
    assert_eq!(a.info().session, None);
    let r = call(&mut a, &entry(0, "main.py"));
    assert!(
        matches!(&r[..], [R::Error(ErrorCode::BadState, _)]),
        "{r:?}"
    );
}

mod security {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};
    use ota_agent::signature::{keys_message, security_version};
    use ota_protocol::Signature;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn provision(a: &mut Agent<RamFlash>, new: &SigningKey, auth: Option<&SigningKey>) -> Vec<R> {
        let raw = [new.verifying_key().to_bytes()];
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

    fn tree(version: &str, seed: u64) -> Tree {
        Tree::new(version, vec![("main.py".into(), content(seed, 300))])
    }

    #[test]
    fn a_signed_tree_older_than_the_confirmed_release_is_refused_whatever_the_host_says() {
        let mut a = fresh();
        let k = key(1);
        provision(&mut a, &k, None);
        push_signed(&mut a, &tree("v2.0.0", 1), 0, Some(&k)).unwrap();
        assert_eq!(a.info().security_version, security_version("v2.0.0"));
        let older = push_signed(&mut a, &tree("v1.9.9", 2), 0, Some(&k));
        assert!(
            matches!(older, Err(R::Error(ErrorCode::Downgrade, _))),
            "{older:?}"
        );
        // A build without a release number is older than any release.
        let dev = push_signed(&mut a, &tree("main-1a2b3c4", 3), 0, Some(&k));
        assert!(
            matches!(dev, Err(R::Error(ErrorCode::Downgrade, _))),
            "{dev:?}"
        );
        // The same release again, and newer ones, are fine.
        push_signed(&mut a, &tree("v2.0.0", 4), 0, Some(&k)).unwrap();
        push_signed(&mut a, &tree("v2.1.0", 5), 3, Some(&k)).unwrap();
        assert_eq!(active_tree(a.store_mut()).unwrap().0, "v2.1.0");
    }

    #[test]
    fn a_trial_raises_the_security_version_only_once_it_confirms() {
        let mut a = fresh();
        let k = key(1);
        provision(&mut a, &k, None);
        push_signed(&mut a, &tree("v1.0.0", 1), 0, Some(&k)).unwrap();
        push_signed(&mut a, &tree("v1.1.0", 2), 3, Some(&k)).unwrap();
        assert_eq!(a.info().security_version, security_version("v1.0.0"));
        // A trial may still be rolled back onto the release before it.
        assert_eq!(call(&mut a, &Request::Rollback), vec![R::Done]);
        push_signed(&mut a, &tree("v1.1.0", 2), 3, Some(&k)).unwrap();
        assert_eq!(call(&mut a, &Request::Confirm), vec![R::Done]);
        assert_eq!(a.info().security_version, security_version("v1.1.0"));
        let r = call(&mut a, &Request::Rollback);
        assert!(
            matches!(&r[..], [R::Error(ErrorCode::Downgrade, _)]),
            "{r:?}"
        );
        // It survives a reboot.
        let flash = a.into_store().into_flash();
        let a = Agent::boot(flash, 0, SECTORS, CONFIG).unwrap().0;
        assert_eq!(a.info().security_version, security_version("v1.1.0"));
    }

    #[test]
    fn a_key_change_authorisation_cannot_be_replayed() {
        let mut a = fresh();
        let (k1, k2) = (key(1), key(2));
        provision(&mut a, &k1, None);
        assert_eq!(a.info().key_changes, 1);
        // Authorised by k1 while the count is 1: k1 -> k2.
        let raw1 = [k2.verifying_key().to_bytes()];
        let auth = Some(Signature(
            k1.sign(&keys_message(&CONFIG.device_id, 1, &raw1))
                .to_bytes(),
        ));
        let change = Request::Provision {
            keys: &raw1.concat(),
            auth,
        };
        assert_eq!(call(&mut a, &change), vec![R::Done]);
        // Back to k1 (authorised by k2), then the old authorisation again: refused.
        assert_eq!(provision(&mut a, &k1, Some(&k2)), vec![R::Done]);
        assert_eq!(a.info().key_changes, 3);
        let r = call(&mut a, &change);
        assert!(
            matches!(&r[..], [R::Error(ErrorCode::Unsigned, _)]),
            "{r:?}"
        );
        assert_eq!(a.store().keys(), &[k1.verifying_key().to_bytes()]);
    }
}
