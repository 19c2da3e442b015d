//! Device facts in words, shared by the commands that print them: a tree,
//! the trial state, what the trial history came to.

use crate::device::agent::client::{TreeStatus, TreeSummary};
use crate::device::DeviceInfo;
use crate::progress::human_bytes;
use crate::terminal::escape;

pub fn tree_line(t: &Option<TreeSummary>) -> String {
    match t {
        None => "none".into(),
        Some(t) => {
            let commit = if t.commit.len() > 12 && t.commit.is_char_boundary(12) {
                &t.commit[..12]
            } else {
                &t.commit
            };
            format!(
                "{} (ref {}, commit {}, {} files, {})",
                escape(&t.version),
                escape(&t.git_ref),
                escape(commit),
                t.files,
                human_bytes(t.bytes)
            )
        }
    }
}

/// The ways on from a tree that failed its trial with nothing to fall back to.
pub const FAILED_ADVICE: &str = "the agent stays in charge: push a fixed version, try this one \
     again with `ota rollback --force`, or accept it with `ota confirm`";

pub fn state_line(i: &DeviceInfo) -> String {
    match i.boots_left {
        Some(n) => format!("trial, {n} boot(s) left to confirm"),
        None if i.state == TreeStatus::Failed => format!("failed; {FAILED_ADVICE}"),
        None => i.state.to_string(),
    }
}

/// What the trial history says, in one line: `v2 failed its trial (3
/// boots) and was rolled back to v1`; `None` when there is nothing to say.
pub fn history_line(i: &DeviceInfo) -> Option<String> {
    let version = |t: &Option<TreeSummary>| {
        t.as_ref()
            .map_or("(none)".to_string(), |t| t.version.clone())
    };
    if i.state == TreeStatus::Failed {
        let n = i.history.active_failed_boots.unwrap_or(0);
        let before = match (&i.previous, i.history.previous_failed_boots) {
            (Some(p), Some(_)) => format!(
                "{}, the tree before it, failed its own: no good tree to fall back to",
                p.version
            ),
            _ => "no earlier tree to fall back to".to_string(),
        };
        return Some(format!(
            "{} failed its trial ({n} boot{}); {before}",
            version(&i.active),
            if n == 1 { "" } else { "s" },
        ));
    }
    if let Some(n) = i.history.previous_failed_boots {
        return Some(format!(
            "{} failed its trial ({n} boot{}) and was rolled back to {}",
            version(&i.previous),
            if n == 1 { "" } else { "s" },
            version(&i.active)
        ));
    }
    i.history.active_failed_boots.map(|n| {
        format!(
            "{} failed a trial ({n} boot{}) before and was put back by a forced rollback",
            version(&i.active),
            if n == 1 { "" } else { "s" }
        )
    })
}
