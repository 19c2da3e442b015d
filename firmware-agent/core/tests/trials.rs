//! What a trial comes to when the application never confirms: a first tree
//! with nothing to fall back to fails and stays failed (never "confirmed"),
//! a tree replaced while in trial is still unconfirmed when it comes back,
//! and a host that only looks changes nothing an agent must count.

mod common;

use common::*;
use ota_agent::layout::State;
use ota_agent::ram_flash::RamFlash;
use ota_agent::{Agent, BootOutcome};
use ota_protocol::{ErrorCode, Request, TreeSel, TreeState};

const SECTORS: u32 = 96;

fn fresh() -> Agent<RamFlash> {
    Agent::boot(RamFlash::new(flash_size(SECTORS)), 0, SECTORS, CONFIG)
        .unwrap()
        .0
}

fn reboot(agent: Agent<RamFlash>) -> (Agent<RamFlash>, BootOutcome) {
    Agent::boot(agent.into_store().into_flash(), 0, SECTORS, CONFIG).unwrap()
}

/// Boots `n` times; the outcome of each.
fn boots(mut a: Agent<RamFlash>, n: usize) -> (Agent<RamFlash>, Vec<BootOutcome>) {
    let mut outcomes = Vec::new();
    for _ in 0..n {
        let (b, o) = reboot(a);
        a = b;
        outcomes.push(o);
    }
    (a, outcomes)
}

fn tree(version: &str, seed: u64) -> Tree {
    Tree::new(version, vec![("main.py".into(), content(seed, 3000))])
}

#[test]
fn a_first_trial_that_never_confirms_fails_and_is_never_called_confirmed() {
    let mut a = fresh();
    push(&mut a, &tree("v1", 1), 3).unwrap();
    let (a, outcomes) = boots(a, 5);
    use BootOutcome::*;
    assert_eq!(
        outcomes,
        [
            Trial { boots_left: 2 },
            Trial { boots_left: 1 },
            Trial { boots_left: 0 },
            Failed,
            Failed
        ]
    );
    assert_eq!(a.store().state(), State::Failed);
    assert_eq!(a.info().state, TreeState::Failed);
    assert_eq!(a.info().history.active_failed, Some(3));
    assert_eq!(a.store().active().unwrap().header.version.as_str(), "v1");
    assert!(a.store().previous().is_none());
}

#[test]
fn a_failed_tree_is_accepted_by_confirm_or_tried_again_by_a_forced_rollback() {
    let mut a = fresh();
    push(&mut a, &tree("v1", 1), 1).unwrap();
    let (mut a, _) = boots(a, 2);
    assert_eq!(a.store().state(), State::Failed);
    // Nothing to roll back to: a plain rollback says so.
    assert!(matches!(
        &call(&mut a, &Request::Rollback)[..],
        [R::Error(ErrorCode::NoPrevious, _)]
    ));
    assert_eq!(
        call(&mut a, &Request::RollbackTrial { boots: 2 }),
        vec![R::Done]
    );
    assert_eq!(a.store().state(), State::Trial { boots_left: 2 });
    let (mut a, _) = boots(a, 3);
    assert_eq!(a.store().state(), State::Failed);
    assert_eq!(call(&mut a, &Request::Confirm), vec![R::Done]);
    let (a, outcome) = reboot(a);
    assert_eq!(outcome, BootOutcome::Normal);
    assert_eq!(a.store().state(), State::Confirmed);
    assert_eq!(a.info().history.active_failed, None);
}

#[test]
fn a_fixed_version_replaces_a_failed_one_and_never_falls_back_onto_it() {
    let mut a = fresh();
    push(&mut a, &tree("v1", 1), 1).unwrap();
    let (mut a, _) = boots(a, 2);
    push(&mut a, &tree("v2", 2), 1).unwrap();
    assert_eq!(a.store().previous().unwrap().header.version.as_str(), "v1");
    assert_eq!(a.info().history.previous_failed, Some(1));
    // v2 fails too: v1 failed before, so the device does not go back to it.
    let (a, outcomes) = boots(a, 2);
    assert_eq!(outcomes[1], BootOutcome::Failed);
    assert_eq!(a.store().active().unwrap().header.version.as_str(), "v2");
    assert_eq!(a.store().state(), State::Failed);
}

#[test]
fn a_tree_replaced_in_trial_comes_back_in_trial() {
    let mut a = fresh();
    push(&mut a, &tree("v1", 1), 3).unwrap();
    push(&mut a, &tree("v2", 2), 3).unwrap();
    assert_eq!(a.store().previous().unwrap().header.version.as_str(), "v1");
    assert_eq!(a.store().record().history.previous_trial, Some(3));
    assert_eq!(call(&mut a, &Request::Rollback), vec![R::Done]);
    assert_eq!(a.store().state(), State::Trial { boots_left: 3 });
    assert_eq!(a.info().history.trial_boots, Some(3));
    // v2 left in trial too, and is remembered so.
    assert_eq!(a.store().record().history.previous_trial, Some(3));
}

#[test]
fn a_rollback_at_boot_onto_a_tree_replaced_in_trial_starts_its_trial() {
    let mut a = fresh();
    push(&mut a, &tree("v1", 1), 2).unwrap();
    push(&mut a, &tree("v2", 2), 1).unwrap();
    let (a, outcomes) = boots(a, 2);
    assert_eq!(outcomes[1], BootOutcome::RolledBack);
    assert_eq!(a.store().active().unwrap().header.version.as_str(), "v1");
    // The rolling-back boot is the first of v1's two.
    assert_eq!(a.store().state(), State::Trial { boots_left: 1 });
    let (a, outcomes) = boots(a, 2);
    // v1 runs out too, and v2 failed: nothing good is left.
    assert_eq!(
        outcomes,
        [BootOutcome::Trial { boots_left: 0 }, BootOutcome::Failed]
    );
    assert_eq!(a.store().active().unwrap().header.version.as_str(), "v1");
}

#[test]
fn looking_leaves_the_agent_as_found_and_any_change_does_not() {
    let mut a = fresh();
    push(&mut a, &tree("v1", 1), 3).unwrap();
    let (mut a, _) = reboot(a);
    for _ in 0..10 {
        call(&mut a, &Request::Hello { major: 1, minor: 5 });
        call(
            &mut a,
            &Request::ListFiles {
                tree: TreeSel::Active,
            },
        );
    }
    assert!(a.left_as_found());
    assert_eq!(a.store().state(), State::Trial { boots_left: 2 });
    assert_eq!(call(&mut a, &Request::Confirm), vec![R::Done]);
    assert!(!a.left_as_found());
}
