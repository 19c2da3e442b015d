//! `ota status`, `ota ls`, `ota confirm`, `ota rollback`, `ota reboot`:
//! looking at the device and the small requests that change its state.

use anyhow::Result;
use ota_protocol::{Request, TreeSel};
use serde_json::json;

use super::{print_json, print_line, Ctx};
use crate::device::client::TreeSummary;
use crate::device::DeviceInfo;
use crate::progress::human_bytes;

fn tree_line(t: &Option<TreeSummary>) -> String {
    match t {
        None => "none".into(),
        Some(t) => {
            let commit = if t.commit.len() > 12 {
                &t.commit[..12]
            } else {
                &t.commit
            };
            format!(
                "{} (ref {}, commit {commit}, {} files, {})",
                t.version,
                t.git_ref,
                t.files,
                human_bytes(t.bytes)
            )
        }
    }
}

pub fn state_line(i: &DeviceInfo) -> String {
    match i.boots_left {
        Some(n) => format!("trial, {n} boot(s) left to confirm"),
        None => i.state.clone(),
    }
}

pub fn status(ctx: &Ctx) -> Result<()> {
    let mut c = ctx.connect()?;
    let i = c.hello()?;
    if ctx.ui.json {
        return print_json(&json!({ "port": c.name(), "device": i }));
    }
    let lines = [
        format!("device     {} on {}", i.device_id, c.name()),
        format!("agent      {} (protocol {})", i.agent_version, i.protocol),
        format!("active     {}", tree_line(&i.active)),
        format!("state      {}", state_line(&i)),
        format!("previous   {}", tree_line(&i.previous)),
        format!(
            "flash      {} free of {}",
            human_bytes(i.free_bytes),
            human_bytes(i.capacity_bytes)
        ),
    ];
    for l in lines {
        print_line(&l)?;
    }
    if let Some(s) = i.session {
        print_line(&format!(
            "session    unfinished update {s:08x} (the next push replaces it)"
        ))?;
    }
    Ok(())
}

pub fn ls(ctx: &Ctx, long: bool, previous: bool) -> Result<()> {
    let mut c = ctx.connect()?;
    c.hello()?;
    let files = c.list(if previous {
        TreeSel::Previous
    } else {
        TreeSel::Active
    })?;
    if ctx.ui.json {
        return print_json(&json!({ "port": c.name(), "files": files }));
    }
    for f in files {
        if long {
            print_line(&format!("{:>9}  {}  {}", f.size, f.sha1, f.path))?;
        } else {
            print_line(&f.path)?;
        }
    }
    Ok(())
}

pub fn confirm(ctx: &Ctx) -> Result<()> {
    simple(ctx, Request::Confirm, "Confirm", "confirmed")
}

pub fn rollback(ctx: &Ctx) -> Result<()> {
    simple(ctx, Request::Rollback, "Rollback", "rolled back")
}

pub fn reboot(ctx: &Ctx) -> Result<()> {
    simple(ctx, Request::Reboot, "Reboot", "rebooting")
}

fn simple(ctx: &Ctx, req: Request<'_>, what: &str, done: &str) -> Result<()> {
    let mut c = ctx.connect()?;
    c.hello()?;
    c.simple(&req, what)?;
    let after = if matches!(req, Request::Reboot) {
        None
    } else {
        Some(c.hello()?)
    };
    if ctx.ui.json {
        return print_json(&json!({ "port": c.name(), "result": done, "device": after }));
    }
    match after {
        Some(i) => ctx.ui.say(&format!(
            "{done}: active {} ({})",
            tree_line(&i.active),
            state_line(&i)
        )),
        None => ctx.ui.say(done),
    }
    Ok(())
}
