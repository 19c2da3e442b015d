//! The host's model of a store (`ota_agent::model`) against the agent
//! itself: over random sequences of pushes (file counts and sizes, with and
//! without the previous tree dropped first), the model's verdict on each
//! push is the push's outcome, and so is the number of sectors it moves; a refused push
//! leaves both trees reading as before.

mod common;

use common::*;
use ota_agent::layout::SECTOR;
use ota_agent::ram_flash::RamFlash;
use ota_agent::Agent;
use ota_protocol::{ErrorCode, Request};
use proptest::prelude::*;

const SECTORS: u32 = 72;

/// One push: (seed, file sizes), whether the previous tree is dropped first.
type Step = (u64, Vec<u32>, bool);

fn step() -> impl Strategy<Value = Step> {
    let size = prop_oneof![
        0u32..600,
        600u32..SECTOR,
        SECTOR..6 * SECTOR,
        6 * SECTOR..30 * SECTOR,
    ];
    (
        any::<u64>(),
        prop::collection::vec(size, 1..6),
        any::<bool>(),
    )
}

/// A tree: new files from the seed, and some of the last tree's files again.
fn tree(n: usize, (seed, sizes, _): &Step, last: Option<&Tree>) -> Tree {
    let mut files: Vec<(String, Vec<u8>)> = sizes
        .iter()
        .enumerate()
        .map(|(i, &len)| (format!("f{i}.bin"), content(seed ^ i as u64, len as usize)))
        .collect();
    if let Some(last) = last.filter(|_| seed % 3 != 0) {
        let kept = last.files.iter().take((seed % 4) as usize);
        files.extend(kept.map(|(p, b)| (format!("kept/{p}"), b.clone())));
    }
    Tree {
        version: format!("v{n}"),
        files,
        with_sha256: seed % 2 == 0,
        trial_timeout_sec: 0,
    }
}

/// Both trees as they read, with the state.
fn trees(
    agent: &mut Agent<RamFlash>,
) -> (
    Option<(String, Files)>,
    Option<Files>,
    ota_agent::layout::State,
) {
    let store = agent.store_mut();
    let previous = store.previous().map(|t| t.at);
    let previous = previous.map(|at| {
        (0..at.entries)
            .map(|i| {
                let f = store.file(&at, i).unwrap();
                let mut b = vec![0; f.size as usize];
                store.read_file(&f, 0, &mut b).unwrap();
                (f.path.as_str().to_string(), b)
            })
            .collect()
    });
    (active_tree(store), previous, store.state())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn the_model_says_what_the_agent_does(steps in prop::collection::vec(step(), 1..7)) {
        let mut agent = Agent::boot(RamFlash::new(flash_size(SECTORS)), 0, SECTORS, CONFIG).unwrap().0;
        let mut last: Option<Tree> = None;
        for (n, s) in steps.iter().enumerate() {
            let t = tree(n, s, last.as_ref());
            let dropped = s.2 && agent.store().previous().is_some();
            if dropped {
                prop_assert_eq!(call(&mut agent, &Request::DropPrevious), [R::Done]);
            }
            let l = layout(&mut agent);
            prop_assert_eq!(l.free_sectors().unwrap(), agent.store().free_sectors());
            let (begin, entries) = declaration(&t);
            let verdict = l.push(&begin, &entries).unwrap();
            let before = trees(&mut agent);
            let moved = agent.store().moved_sectors;
            match push(&mut agent, &t, 0) {
                Ok(_) => {
                    prop_assert!(verdict.fits, "{} went in; the model said it would not", t.version);
                    prop_assert_eq!(agent.store().moved_sectors - moved, verdict.moved_sectors);
                    prop_assert_eq!(active_tree(agent.store_mut()).unwrap().1, t.files.clone());
                    last = Some(t);
                }
                Err(R::Error(ErrorCode::NoSpace, _)) => {
                    prop_assert!(!verdict.fits, "{} was refused; the model said it fits", t.version);
                    // Refused: the trees read as they did (moves made on the
                    // way may have changed where; the host, told by the
                    // model, never starts such a push).
                    prop_assert_eq!(trees(&mut agent), before);
                }
                Err(e) => prop_assert!(false, "unexpected {:?}", e),
            }
        }
    }
}
