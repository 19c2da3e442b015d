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
    assert!(matches!(&r[..], [R::Error(ErrorCode::BadEntry, _)]), "{r:?}");
    // Nothing to commit: no session was opened.
    let r = call(&mut a, &Request::Commit { boots: 0 });
    assert!(matches!(&r[..], [R::Error(ErrorCode::BadState, _)]), "{r:?}");
    assert_eq!(active_tree(a.store_mut()).unwrap().1, t1.files);
}

#[test]
fn paths_unsafe_on_some_host_are_refused() {
    for bad in ["C:/x.py", "x.py:stream", "CON", "aux.py", "lib/nul.txt", "trail. ", "a./b"] {
        let mut a = fresh();
        call(&mut a, &begin(1, 1));
        let r = call(&mut a, &entry(0, bad));
        assert!(matches!(&r[..], [R::Error(ErrorCode::BadPath, _)]), "{bad:?}: {r:?}");
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
        assert_eq!(call(&mut a, &entry(i as u16, p)), vec![R::Need(true)], "{p}");
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
    assert!(matches!(&r[..], [R::Error(ErrorCode::BadState, _)]), "{r:?}");
}
