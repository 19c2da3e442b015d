//! `ota push`: from a folder to the device, with a plan, progress and a report.

use std::time::Instant;

use anyhow::Result;
use ota_protocol::TreeSel;
use serde_json::json;

use super::inspect::state_line;
use super::{print_json, Ctx};
use crate::bundle::Bundle;
use crate::cli::PushArgs;
use crate::device::push::{push, PushOptions};
use crate::device::DeviceInfo;
use crate::exit::{fail, Kind};
use crate::plan::plan;
use crate::progress::{human_bytes, Progress};
use crate::source;

pub fn run(ctx: &Ctx, args: &PushArgs) -> Result<()> {
    let Some(dir) = &args.dir else {
        return Err(fail(Kind::Config, "ota push needs --dir DIR"));
    };
    let bundle = source::dir::load(dir, &ctx.config.filter, args.version.as_deref())?;
    ctx.ui.detail(&format!(
        "{}: {} files, {}, version {}",
        dir.display(),
        bundle.files().len(),
        human_bytes(bundle.total_bytes()),
        bundle.version
    ));
    push_bundle(ctx, &bundle, args)
}

fn runs(info: &DeviceInfo, bundle: &Bundle) -> bool {
    info.active
        .as_ref()
        .is_some_and(|a| a.commit == bundle.commit && a.version == bundle.version)
}

pub fn push_bundle(ctx: &Ctx, bundle: &Bundle, args: &PushArgs) -> Result<()> {
    let started = Instant::now();
    let mut c = ctx.connect()?;
    let before = c.hello()?;
    let from = before.active.as_ref().map(|a| a.version.clone());
    let base = json!({
        "port": c.name(),
        "device_id": before.device_id,
        "from_version": from,
        "to_version": bundle.version,
        "ref": bundle.git_ref,
        "commit": bundle.commit,
    });

    if runs(&before, bundle) && !args.force {
        if ctx.ui.json {
            let mut doc = base;
            doc["result"] = json!("up-to-date");
            doc["files_sent"] = json!(0);
            doc["bytes_sent"] = json!(0);
            return print_json(&doc);
        }
        ctx.ui.say(&format!(
            "{}: up to date ({}, {})",
            c.name(),
            bundle.version,
            state_line(&before)
        ));
        return Ok(());
    }

    let active = c.list(TreeSel::Active)?;
    let previous = c.list(TreeSel::Previous)?;
    let p = plan(bundle, &active, &previous);

    if args.dry_run {
        if ctx.ui.json {
            let mut doc = base;
            doc["result"] = json!("dry-run");
            doc["plan"] = json!(p);
            return print_json(&doc);
        }
        let ui = &ctx.ui;
        ui.say(&format!(
            "dry run: {} -> {} on {}",
            from.as_deref().unwrap_or("(empty)"),
            bundle.version,
            c.name()
        ));
        for (label, list) in [
            ("add", &p.added),
            ("change", &p.changed),
            ("reuse", &p.reused),
            ("remove", &p.removed),
        ] {
            for path in list {
                ui.say(&format!("  {label:<7} {path}"));
            }
        }
        ui.say(&format!(
            "{} to send in {} file(s); {} unchanged; nothing was changed on the device",
            human_bytes(p.bytes_to_send),
            p.files_to_send,
            p.unchanged
        ));
        return Ok(());
    }

    let config = &ctx.config;
    let opts = PushOptions {
        boots: args.boots.unwrap_or(config.trial_boots),
        window: config.window,
        chunk: config.chunk.min(before.max_chunk as u32),
        reboot: !args.no_reboot,
        confirm_timeout: config.confirm_timeout,
        reconnect_timeout: config.device_timeout,
    };
    let mut progress = Progress::new(ctx.ui);
    let outcome = push(&mut c, bundle, &opts, &mut |e| progress.handle(e))?;
    let seconds = started.elapsed().as_secs_f64();

    if outcome.rolled_back {
        return Err(fail(
            Kind::Refused,
            format!(
                "{}: {} did not confirm and the device rolled back to {}",
                c.name(),
                bundle.version,
                outcome
                    .device
                    .as_ref()
                    .and_then(|d| d.active.as_ref())
                    .map_or("(none)", |a| a.version.as_str())
            ),
        ));
    }
    let result = match outcome.confirmed {
        Some(true) => "confirmed",
        Some(false) => "unconfirmed",
        None => "committed",
    };
    if ctx.ui.json {
        let mut doc = base;
        doc["result"] = json!(result);
        doc["plan"] = json!(p);
        doc["files_sent"] = json!(outcome.files_sent);
        doc["bytes_sent"] = json!(outcome.bytes_sent);
        doc["files_reused"] = json!(outcome.files_reused);
        doc["resends"] = json!(outcome.resends);
        doc["reconnects"] = json!(outcome.reconnects);
        doc["wire"] = json!(c.stats);
        doc["seconds"] = json!(seconds);
        doc["device"] = json!(outcome.device);
        return print_json(&doc);
    }
    let state = outcome.device.as_ref().map_or(String::new(), state_line);
    let what = match outcome.confirmed {
        Some(true) => "confirmed".to_string(),
        Some(false) => format!(
            "NOT confirmed within {}s ({state})",
            config.confirm_timeout.as_secs()
        ),
        None => "committed; it starts at the next boot".to_string(),
    };
    ctx.ui.say(&format!(
        "{} -> {} on {}: {} file(s) sent ({}), {} reused, {:.1}s; {what}",
        from.as_deref().unwrap_or("(empty)"),
        bundle.version,
        c.name(),
        outcome.files_sent,
        human_bytes(outcome.bytes_sent),
        outcome.files_reused,
        seconds
    ));
    Ok(())
}
