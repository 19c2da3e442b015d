//! `ota push`: from GitHub, a staged folder or a local folder to the device,
//! with an "up to date" check first, a plan, progress and a report.

use std::time::Instant;

use anyhow::Result;
use ota_protocol::TreeSel;
use serde_json::{json, Value};

use super::github::{describe, runtime, source};
use super::inspect::state_line;
use super::{print_json, Ctx};
use crate::bundle::Bundle;
use crate::cli::PushArgs;
use crate::device::push::{push, PushOptions};
use crate::device::{Client, DeviceInfo};
use crate::exit::{fail, Kind};
use crate::plan::plan;
use crate::progress::{human_bytes, Progress};
use crate::source::{dir, staged};

pub fn run(ctx: &Ctx, args: &PushArgs) -> Result<()> {
    if let Some(d) = &args.dir {
        let bundle = dir::load(d, &ctx.config.filter, args.version.as_deref())?;
        ctx.ui.detail(&format!(
            "{}: {} files, {}",
            d.display(),
            bundle.files().len(),
            human_bytes(bundle.total_bytes())
        ));
        let (mut c, before) = connect(ctx)?;
        let same = runs(&before, &bundle.commit, None)
            && before
                .active
                .as_ref()
                .is_some_and(|a| a.version == bundle.version);
        return push_bundle(ctx, &mut c, &before, &bundle, args, same, json!({}));
    }
    if let Some(d) = &args.staged {
        let bundle = staged::load(d, &ctx.config.filter)?;
        ctx.ui.detail(&format!(
            "{}: {} verified files, version {}",
            d.display(),
            bundle.files().len(),
            bundle.version
        ));
        let (mut c, before) = connect(ctx)?;
        let same = runs(&before, &bundle.commit, Some(&bundle.git_ref));
        return push_bundle(ctx, &mut c, &before, &bundle, args, same, json!({}));
    }
    // From GitHub: resolve (API only), and ask the device before downloading anything.
    let rt = runtime()?;
    // octocrab's client starts tasks of its own: build it inside the runtime.
    let _inside = rt.enter();
    let gh = source(ctx, &args.github)?;
    let resolved = rt.block_on(gh.resolve())?;
    ctx.ui.detail(&describe(&resolved));
    let (mut c, before) = connect(ctx)?;
    if runs(&before, &resolved.commit, Some(&resolved.git_ref)) && !args.force {
        return up_to_date(
            ctx,
            &c,
            &before,
            &resolved.version,
            &resolved.git_ref,
            &resolved.commit,
            gh.counters.snapshot(),
        );
    }
    let listing = rt.block_on(gh.listing(&resolved))?;
    for s in &listing.skipped {
        ctx.ui
            .say(&format!("skipped {s}: a device holds regular files only"));
    }
    let (bundle, _temp) = rt.block_on(gh.fetch(&resolved, &listing, &ctx.config.filter))?;
    ctx.ui
        .detail(&format!("github: {}", gh.counters.snapshot()));
    push_bundle(
        ctx,
        &mut c,
        &before,
        &bundle,
        args,
        false,
        json!({ "github": gh.counters.snapshot() }),
    )
}

fn connect(ctx: &Ctx) -> Result<(Client, DeviceInfo)> {
    let mut c = ctx.connect()?;
    let info = c.hello()?;
    Ok((c, info))
}

/// Does the device already run this commit (and ref)?
fn runs(info: &DeviceInfo, commit: &str, git_ref: Option<&str>) -> bool {
    info.active
        .as_ref()
        .is_some_and(|a| a.commit == commit && git_ref.is_none_or(|r| a.git_ref == r))
}

fn up_to_date(
    ctx: &Ctx,
    c: &Client,
    before: &DeviceInfo,
    version: &str,
    git_ref: &str,
    commit: &str,
    extra: Value,
) -> Result<()> {
    if ctx.ui.json {
        let mut doc = json!({
            "result": "up-to-date",
            "port": c.name(),
            "device_id": before.device_id,
            "from_version": before.active.as_ref().map(|a| a.version.clone()),
            "to_version": version,
            "ref": git_ref,
            "commit": commit,
            "files_sent": 0,
            "bytes_sent": 0,
        });
        merge(&mut doc, extra);
        return print_json(&doc);
    }
    ctx.ui.say(&format!(
        "{}: up to date ({version}, {})",
        c.name(),
        state_line(before)
    ));
    Ok(())
}

fn merge(doc: &mut Value, extra: Value) {
    if let (Some(d), Value::Object(e)) = (doc.as_object_mut(), extra) {
        d.extend(e);
    }
}

fn push_bundle(
    ctx: &Ctx,
    c: &mut Client,
    before: &DeviceInfo,
    bundle: &Bundle,
    args: &PushArgs,
    same: bool,
    extra: Value,
) -> Result<()> {
    let started = Instant::now();
    if same && !args.force {
        return up_to_date(
            ctx,
            c,
            before,
            &bundle.version,
            &bundle.git_ref,
            &bundle.commit,
            extra,
        );
    }
    let from = before.active.as_ref().map(|a| a.version.clone());
    let mut doc = json!({
        "port": c.name(),
        "device_id": before.device_id,
        "from_version": from,
        "to_version": bundle.version,
        "ref": bundle.git_ref,
        "commit": bundle.commit,
    });
    merge(&mut doc, extra);

    let active = c.list(TreeSel::Active)?;
    let previous = c.list(TreeSel::Previous)?;
    let p = plan(bundle, &active, &previous);

    if args.dry_run {
        if ctx.ui.json {
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
    let outcome = push(c, bundle, &opts, &mut |e| progress.handle(e))?;
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
