//! `ota push`: from GitHub, a staged folder or a local folder to one device
//! or many. The update is resolved, downloaded and verified once; each
//! device is asked first whether it already runs it, then streamed to in
//! parallel with its own progress and its own record in the report.

use std::time::Instant;

use anyhow::Result;
use indicatif::MultiProgress;
use ota_agent::space;
use ota_protocol::{Request, TreeSel};
use serde_json::{json, Value};

use super::render::{history_line, state_line, FAILED_ADVICE};
use super::report::{self, Outcome};
use super::{on_each, Ctx, Target};
use crate::bundle::Bundle;
use crate::cli::PushArgs;
use crate::device::agent::client::{ImageStatus, TreeStatus};
use crate::device::agent::push::{push, Patch, PushOptions, PushOutcome};
use crate::device::{Client, DeviceFile, DeviceInfo};
use crate::exit::{fail, Kind};
use crate::plan::{plan, store_layout, Plan, Space};
use crate::progress::{human_bytes, Progress};
use crate::update::{self, image, Fetched, Update, Want};
use ota_agent::model::StoreLayout;

/// What a caller that follows the push (`ota run`, `push --monitor`) needs to know of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pushed {
    /// A board's application shows no USB port: there is no console to follow.
    pub application_without_usb: bool,
}

pub fn run(ctx: &Ctx, args: &PushArgs) -> Result<Pushed> {
    let started = Instant::now();
    crate::interrupt::install();
    if let Some(d) = &args.stray {
        return Err(fail(
            Kind::Config,
            format!(
                "`ota push {0}`: a folder to push goes with --dir: `ota push --dir {0}`",
                d.display()
            ),
        ));
    }
    let mut update = update::resolve(&ctx.config, &ctx.ui, &request(args))?;
    let targets = report::targets_or_junit(
        ctx.targets(),
        args.junit.as_deref(),
        "ota push",
        started.elapsed().as_secs_f64(),
    )?;
    // Ask every device first: a fleet that is up to date downloads nothing.
    let connected = on_each(&targets, |t| {
        let mut c = ctx.connect_to(t)?;
        let info = c.hello()?;
        Ok((c, info))
    });
    let any_needs = connected
        .iter()
        .any(|r| matches!(r, Ok((_, i)) if args.force || !update.want.runs_on(i, args.keep_local)));
    let infos = connected
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|(_, i)| i));
    let fetched = update.fetch(&ctx.ui, infos, any_needs)?;
    if fetched
        .bundle
        .as_ref()
        .is_some_and(|b| b.files().is_empty())
    {
        return Err(fail(
            Kind::Source,
            "the update has no files: pushing it would empty the device; check --dir and the config's allow, ignore and paths",
        ));
    }
    let jobs = targets.into_iter().zip(connected).collect();
    let outcomes = push_all(ctx, args, &update, &fetched, jobs);
    finish(ctx, args, outcomes, started)
}

/// The update that the flags name.
fn request(args: &PushArgs) -> update::Request<'_> {
    update::Request {
        dir: args.dir.as_deref(),
        manifest: args.manifest.as_deref(),
        staged: args.staged.as_deref(),
        app: args.app.as_deref(),
        version: args.version.as_deref(),
        github: &args.github,
        allow_unsigned: args.allow_unsigned,
        allow_downgrade: args.allow_downgrade,
    }
}

type Job = (Target, Result<(Client, DeviceInfo)>);

/// Every device at once, each with its own progress; outcomes in target order.
fn push_all(
    ctx: &Ctx,
    args: &PushArgs,
    update: &Update,
    fetched: &Fetched,
    jobs: Vec<Job>,
) -> Vec<Outcome> {
    let multi = ctx.multi() || args.junit.is_some();
    let bars = MultiProgress::new();
    let extra = update::github_stats(fetched);
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(target, conn)| {
                let (bars, extra) = (&bars, &extra);
                s.spawn(move || {
                    let mut progress = if multi {
                        Progress::in_multi(ctx.ui, bars, &target.label())
                    } else {
                        Progress::new(ctx.ui)
                    };
                    let result = conn.and_then(|(mut c, before)| {
                        let job = One {
                            ctx,
                            args,
                            want: &update.want,
                            bundle: fetched.bundle.as_ref(),
                        };
                        if update.signed {
                            let to = job.bundle.map_or(&job.want.version, |b| &b.version);
                            update.policy.refuse_downgrade(&before, to)?;
                        }
                        job.push(&mut c, &before, extra.clone(), &mut progress)
                    });
                    Outcome {
                        device: target.label(),
                        port: target.spec.to_string(),
                        result,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("push worker"))
            .collect()
    })
}

/// The JUnit file, the fleet's summary line and the report.
fn finish(ctx: &Ctx, args: &PushArgs, outcomes: Vec<Outcome>, started: Instant) -> Result<Pushed> {
    let multi = ctx.multi() || args.junit.is_some();
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &args.junit {
        report::write_junit(path, "ota push", &outcomes, seconds)?;
    }
    if multi {
        let ok = outcomes.iter().filter(|o| o.result.is_ok()).count();
        ctx.ui.say(&format!(
            "{ok} of {} device(s) updated in {seconds:.1}s",
            outcomes.len()
        ));
    }
    let pushed = Pushed {
        application_without_usb: outcomes.iter().any(|o| {
            o.result
                .as_ref()
                .is_ok_and(|v| v["application_without_usb"] == true)
        }),
    };
    report::finish(ctx.ui.json, multi, "push", outcomes)?;
    Ok(pushed)
}

fn free_sectors(i: &DeviceInfo) -> u32 {
    sectors_of(i.free_bytes)
}

fn sectors_of(bytes: u64) -> u32 {
    (bytes / ota_agent::layout::SECTOR as u64) as u32
}

fn kib(sectors: u32) -> u64 {
    space::sector_bytes(sectors) / 1024
}

/// The dry run's space line: what the tree takes against what is free;
/// with `drop` (--drop-previous), as the push would find it: once the
/// previous tree is dropped, when only that makes it fit.
fn space_line(s: &Space, before: &DeviceInfo, drop: bool) -> String {
    let previous = before.previous.as_ref().map_or("", |t| t.version.as_str());
    // In trial the previous tree is what the device falls back to: not dropped.
    if drop && !s.fits && s.fits_without_previous && before.boots_left.is_none() {
        return format!(
            "flash: needs {} KiB ({} sectors of 4 KiB), {} KiB free once the previous tree {previous} is dropped: {}",
            kib(s.needed_without_previous_sectors),
            s.needed_without_previous_sectors,
            kib(s.free_without_previous_sectors),
            match s.moved_without_previous_sectors {
                0 => "it fits".to_string(),
                n => format!("fits after moving {} KiB", kib(n)),
            }
        );
    }
    let head = format!(
        "flash: needs {} KiB ({} sectors of 4 KiB), {} KiB free",
        kib(s.needed_sectors),
        s.needed_sectors,
        kib(s.free_sectors)
    );
    let moving = |sectors: u32| match sectors {
        0 => String::new(),
        n => format!(" after moving {} KiB", kib(n)),
    };
    match (s.fits, s.fits_without_previous) {
        (true, _) if s.moved_sectors > 0 => format!("{head}: fits{}", moving(s.moved_sectors)),
        (true, _) => format!("{head}: it fits"),
        (false, true) => format!(
            "{head}: it fits only once the previous tree {previous} is dropped (push --drop-previous){}",
            moving(s.moved_without_previous_sectors)
        ),
        (false, false) => format!(
            "{head}: it does not fit, even with the previous tree dropped ({} KiB free then{})",
            kib(s.free_without_previous_sectors),
            split(s)
        ),
    }
}

/// Why a tree that the free sectors would hold does not fit: where that is so.
fn split(s: &Space) -> &'static str {
    if s.modelled && s.needed_without_previous_sectors <= s.free_without_previous_sectors {
        ", in holes that moving files cannot join into the runs each file needs"
    } else {
        ""
    }
}

/// Refuses, before any byte is sent, a tree that does not fit; with
/// `drop` and room once the previous tree is gone, drops that tree.
fn check_space(c: &mut Client, before: &DeviceInfo, s: &Space, drop: bool) -> Result<()> {
    let name = c.name();
    let need = format!(
        "{name}: the update needs {} KiB of flash and {} KiB is free (files of 4 KiB or more take whole sectors)",
        kib(s.needed_sectors),
        kib(s.free_sectors)
    );
    if !s.fits_without_previous {
        let room = if before.previous.is_some() {
            format!(
                ", {} KiB with the previous tree dropped",
                kib(s.free_without_previous_sectors)
            )
        } else {
            String::new()
        };
        return Err(fail(
            Kind::Refused,
            format!(
                "{need}{room}{}; nothing was sent: remove files or make them smaller",
                split(s)
            ),
        ));
    }
    if !drop {
        return Err(fail(
            Kind::Refused,
            format!(
                "{need}; nothing was sent: pass --drop-previous to free the {} KiB the previous tree {} holds (it can then no longer be rolled back to)",
                kib(s.free_without_previous_sectors - s.free_sectors),
                before.previous.as_ref().map_or("", |t| t.version.as_str())
            ),
        ));
    }
    if let (Some(active), Some(_)) = (&before.active, before.boots_left) {
        return Err(fail(
            Kind::Refused,
            format!(
                "{need}; nothing was sent: {} is still in trial and the previous tree is what the device falls back to; confirm it (`ota confirm`) first, then push with --drop-previous",
                active.version
            ),
        ));
    }
    c.simple(&Request::DropPrevious, "DropPrevious")
}

/// One device's push: what it is given, shared by its steps.
struct One<'a> {
    ctx: &'a Ctx,
    args: &'a PushArgs,
    want: &'a Want,
    /// `None` when nothing was fetched (every device ran the update already).
    bundle: Option<&'a Bundle>,
}

/// The tree this device gets, and what it holds now.
struct ForDevice {
    bundle: Bundle,
    active: Vec<DeviceFile>,
    previous: Vec<DeviceFile>,
    /// The application image as a delta against the one the device runs.
    patch: Option<Patch>,
}

impl One<'_> {
    fn label(&self, c: &Client) -> String {
        if self.ctx.multi() {
            format!("[{}] ", c.name())
        } else {
            String::new()
        }
    }

    /// One device: up-to-date check, plan, push, verdict. Prints the human
    /// summary line; returns the device's JSON record.
    fn push(
        &self,
        c: &mut Client,
        before: &DeviceInfo,
        extra: Value,
        progress: &mut Progress,
    ) -> Result<Value> {
        let started = Instant::now();
        // After a reboot or a drop, only this board may answer for it.
        c.expect_id = Some(before.device_id.clone());
        let mut doc = self.record(c, before, extra);
        let label = self.label(c);
        // A slot written behind ota's back does not hold what the device runs.
        let slot_differs = before.image == ImageStatus::Foreign && self.args.app.is_some();
        let kept = self.kept_local(c, before, &mut doc);
        if self.want.runs_on(before, kept) && !self.args.force && !slot_differs {
            doc["result"] = json!("up-to-date");
            doc["seconds"] = json!(started.elapsed().as_secs_f64());
            self.ctx.ui.say(&format!(
                "{label}{}: up to date ({}, {})",
                c.name(),
                self.want.version,
                state_line(before)
            ));
            return Ok(doc);
        }
        let Some(tree) = self.tree_for(c, before, &mut doc)? else {
            doc["seconds"] = json!(started.elapsed().as_secs_f64());
            return Ok(doc);
        };
        let p = self.plan_with_room(c, before, &tree)?;
        if self.args.dry_run {
            self.dry_run(c, before, &tree, &p);
            doc["result"] = json!("dry-run");
            doc["plan"] = json!(p);
            return Ok(doc);
        }
        let opts = self.options(before, &p, tree.patch.clone());
        let trial = opts.boots > 0 && opts.reboot && before.micropython();
        if trial && update::confirm_check::main_confirms(&tree.bundle) == Some(false) {
            self.ctx.ui.say(&format!(
                "{label}{}: main.py does not call ota_boot.confirm(): waiting {}s for it; push --boots 0 to confirm at once",
                c.name(),
                opts.confirm_timeout.as_secs()
            ));
        }
        let outcome = push(c, &tree.bundle, &opts, &mut |e| progress.handle(e))?;
        let seconds = started.elapsed().as_secs_f64();
        if let Some(why) = &outcome.delta_refused {
            self.ctx.ui.say(&format!(
                "{label}application image: the agent refused the delta ({why}); it was sent whole"
            ));
            doc["image"]["delta_bytes"] = Value::Null;
            doc["image"]["delta_refused"] = json!(why);
        }
        let result = self.verdict(c, &tree.bundle, &outcome)?;
        doc["result"] = json!(result);
        doc["plan"] = json!(p);
        fill_record(&mut doc, c, &outcome, seconds);
        self.summary(c, before, &tree.bundle, &outcome, seconds);
        Ok(doc)
    }

    /// With `--keep-local`, names the files changed on the board outside
    /// ota that the push leaves as they are (in the record too); whether
    /// there are some.
    fn kept_local(&self, c: &Client, before: &DeviceInfo, doc: &mut Value) -> bool {
        let kept = update::changed_outside(before);
        if !self.args.keep_local || kept.is_empty() {
            return false;
        }
        self.ctx.ui.say(&format!(
            "{}{}: {}: changed on the board outside ota, kept as they are (--keep-local)",
            self.label(c),
            c.name(),
            crate::terminal::escape(&kept.join(" "))
        ));
        doc["kept_local"] = json!(kept);
        true
    }

    /// The record's fields known before anything is sent.
    fn record(&self, c: &Client, before: &DeviceInfo, extra: Value) -> Value {
        let mut doc = json!({
            "port": c.name(),
            "device_id": before.device_id,
            "from_version": before.active.as_ref().map(|a| a.version.clone()),
            "to_version": self.want.version,
            "ref": self.want.git_ref,
            "commit": self.want.commit,
            "files_sent": 0,
            "bytes_sent": 0,
        });
        if let (Some(d), Value::Object(e)) = (doc.as_object_mut(), extra) {
            d.extend(e);
        }
        doc
    }

    /// The tree this device gets: the update, or for `--app` alone the
    /// device's files with the new image; a files-only update carries the
    /// device's image over. `None` when the device's slot holds the image already.
    fn tree_for(
        &self,
        c: &mut Client,
        before: &DeviceInfo,
        doc: &mut Value,
    ) -> Result<Option<ForDevice>> {
        let bundle = self.bundle.ok_or_else(|| {
            fail(
                Kind::Source,
                "internal: no bundle fetched for a device that needs it",
            )
        })?;
        doc["to_version"] = json!(bundle.version);
        let active = c.list(TreeSel::Active)?;
        let previous = c.list(TreeSel::Previous)?;
        let image_alone = self.args.dir.is_none() && self.args.app.is_some();
        // A slot written behind ota's back holds no image the host knows:
        // nothing is "unchanged" and no sector is counted against the cache.
        let known: Vec<DeviceFile> = match before.image {
            ImageStatus::Foreign => active
                .iter()
                .filter(|f| f.path != ota_agent::layout::APP_IMAGE)
                .cloned()
                .collect(),
            _ => active.clone(),
        };
        let bundle = match image_alone {
            true => image::image_only(bundle, before, &active, self.args.version.as_deref())?,
            false => bundle.clone(),
        };
        let label = self.label(c);
        if image_alone && !self.args.force && image::same_image(&bundle, &known) {
            doc["result"] = json!("up-to-date");
            doc["to_version"] = json!(before.active.as_ref().map(|a| a.version.clone()));
            self.ctx.ui.say(&format!(
                "{label}{}: up to date (the slot's image is this one; {})",
                c.name(),
                state_line(before)
            ));
            return Ok(None);
        }
        doc["to_version"] = json!(bundle.version);
        let bundle = image::carry_image(&bundle, &active).unwrap_or(bundle);
        let patch = match self.args.no_delta {
            true => None,
            false => image::delta_for(&bundle, (&known, &previous), before),
        };
        if let Some((line, value)) = image::image_line(&bundle, &known, patch.as_ref()) {
            self.ctx.ui.say(&format!("{label}{line}"));
            doc["image"] = value;
        }
        Ok(Some(ForDevice {
            bundle,
            active,
            previous,
            patch,
        }))
    }

    /// The plan, with the agent's own verdict on room; refuses a tree that
    /// does not fit before any byte is sent, and with `--drop-previous`
    /// drops the previous tree only when the tree then fits (nothing of it
    /// can be reused then).
    fn plan_with_room(&self, c: &mut Client, before: &DeviceInfo, t: &ForDevice) -> Result<Plan> {
        let layout = device_layout(c, before, &t.active, &t.previous)?;
        let free = free_sectors(before);
        let held = sectors_of(before.previous_only_bytes);
        let p = plan(
            &t.bundle,
            &t.active,
            &t.previous,
            free,
            held,
            layout.as_ref(),
        );
        if p.space.fits || self.args.dry_run {
            return Ok(p);
        }
        check_space(c, before, &p.space, self.args.drop_previous)?;
        self.ctx.ui.say(&format!(
            "{}{}: dropped the previous tree {} to make room; it can no longer be rolled back to",
            self.label(c),
            c.name(),
            before.previous.as_ref().map_or("", |t| t.version.as_str())
        ));
        let now = c.hello()?;
        let layout = layout.map(|l| l.without_previous());
        Ok(plan(
            &t.bundle,
            &t.active,
            &[],
            free_sectors(&now),
            0,
            layout.as_ref(),
        ))
    }

    /// What a dry run prints: each file's fate, the bytes to send, the space.
    fn dry_run(&self, c: &Client, before: &DeviceInfo, t: &ForDevice, p: &Plan) {
        let bundle = &t.bundle;
        // A delta travels in place of the image.
        let to_send = match (&t.patch, bundle.app_image()) {
            (Some(d), Some(img)) => {
                p.bytes_to_send.saturating_sub(img.size as u64) + d.bytes.len() as u64
            }
            _ => p.bytes_to_send,
        };
        let (ui, label) = (&self.ctx.ui, self.label(c));
        let from = before.active.as_ref().map(|a| a.version.as_str());
        ui.say(&format!(
            "{label}dry run: {} -> {} on {}",
            crate::terminal::escape(from.unwrap_or("(empty)")),
            bundle.version,
            c.name()
        ));
        for (what, list) in [
            ("add", &p.added),
            ("change", &p.changed),
            ("reuse", &p.reused),
            ("remove", &p.removed),
        ] {
            for path in list {
                ui.say(&format!("{label}  {what:<7} {path}"));
            }
        }
        ui.say(&format!(
            "{label}{} to send in {} file(s); {} unchanged; nothing was changed on the device",
            human_bytes(to_send),
            p.files_to_send,
            p.unchanged
        ));
        ui.say(&format!(
            "{label}{}",
            space_line(&p.space, before, self.args.drop_previous)
        ));
    }

    fn options(&self, before: &DeviceInfo, p: &Plan, patch: Option<Patch>) -> PushOptions {
        let config = &self.ctx.config;
        PushOptions {
            boots: self.args.boots.unwrap_or(config.trial_boots),
            trial_timeout_sec: self
                .args
                .trial_timeout
                .unwrap_or_else(|| config.trial_timeout.as_secs().min(u16::MAX as u64) as u16),
            window: config.window,
            chunk: config.chunk.min(before.max_chunk as u32),
            reboot: !self.args.no_reboot,
            confirm_timeout: config.confirm_timeout,
            reconnect_timeout: config.device_timeout,
            resume: before.session,
            moved_sectors: p.space.moved_sectors,
            every_sha256: before.micropython(),
            patch,
            keep_local: self.args.keep_local,
            look_ahead: before.micropython(),
        }
    }

    /// How the push ended: `confirmed`, `started` or `committed`; a rollback,
    /// a reboot never taken or a missing confirmation is an error.
    fn verdict(&self, c: &Client, bundle: &Bundle, outcome: &PushOutcome) -> Result<&'static str> {
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
        if outcome.not_restarted {
            return Err(fail(
                Kind::Device,
                format!(
                    "{}: {} is committed, but {}; it starts the new tree at its next reset (`ota reboot`, or unplug it)",
                    c.name(),
                    bundle.version,
                    crate::device::agent::reboot::not_taken(),
                ),
            ));
        }
        let failed = outcome
            .device
            .as_ref()
            .filter(|d| d.state == TreeStatus::Failed);
        if let Some(d) = failed {
            return Err(fail(
                Kind::Device,
                format!(
                    "{}: {}; {}",
                    c.name(),
                    history_line(d)
                        .unwrap_or_else(|| format!("{} failed its trial", bundle.version)),
                    FAILED_ADVICE
                ),
            ));
        }
        if let (Some(false), Some(why)) = (outcome.confirmed, &outcome.ended_unconfirmed) {
            let state = outcome.device.as_ref().map_or(String::new(), state_line);
            return Err(fail(
                Kind::Device,
                format!(
                    "{}: {} was installed but did not confirm: {} ({state}); it rolls back by itself when its boots run out. \
                     Call `ota_boot.confirm()` once it runs well, or push with --boots 0 to confirm at once",
                    c.name(),
                    bundle.version,
                    crate::terminal::escape(why),
                ),
            ));
        }
        if outcome.confirmed == Some(false) {
            let state = outcome.device.as_ref().map_or(String::new(), state_line);
            return Err(fail(
                Kind::Device,
                format!(
                    "{}: {} was installed but did not confirm within {}s ({state}); it rolls back by itself when its boots run out",
                    c.name(),
                    bundle.version,
                    self.ctx.config.confirm_timeout.as_secs()
                ),
            ));
        }
        Ok(match (outcome.confirmed, outcome.handed_over) {
            (Some(true), _) => "confirmed",
            (_, true) => "started",
            _ => "committed",
        })
    }

    /// The human summary line, and the modeled board time when there is one.
    fn summary(
        &self,
        c: &Client,
        before: &DeviceInfo,
        bundle: &Bundle,
        outcome: &PushOutcome,
        seconds: f64,
    ) {
        let label = self.label(c);
        let from = before.active.as_ref().map(|a| a.version.as_str());
        let what = match outcome.confirmed {
            Some(_) => "confirmed".to_string(),
            None if outcome.handed_over && outcome.app_without_usb => {
                "the application runs it on trial and confirms it; it shows no USB port, \
                 so `ota status` reaches the board at its next power-on (reset or replug it then)"
                    .to_string()
            }
            None if outcome.handed_over => {
                "the application runs it on trial and confirms it (`ota status` shows it)"
                    .to_string()
            }
            None => "committed; it starts at the next boot".to_string(),
        };
        self.ctx.ui.say(&format!(
            "{label}{} -> {} on {}: {} file(s) sent ({}), {} reused, {seconds:.1}s; {what}",
            crate::terminal::escape(from.unwrap_or("(empty)")),
            bundle.version,
            c.name(),
            outcome.files_sent,
            human_bytes(outcome.bytes_sent),
            outcome.files_reused,
        ));
        if let Some(b) = c.stats.board {
            self.ctx.ui.say(&format!(
                "{label}on a real {} this would take about {:.1}s (flash {:.1}s, USB {:.1}s, agent CPU {:.1}s; modeled)",
                b.model, b.seconds, b.flash_seconds, b.link_seconds, b.cpu_seconds
            ));
        }
    }
}

/// Where the device's files lie, for the agent's own allocator; `None`
/// from an agent that does not say (older than protocol 1.4), or whose
/// layout does not add up to the free flash it reports.
fn device_layout(
    c: &mut Client,
    before: &DeviceInfo,
    active: &[DeviceFile],
    previous: &[DeviceFile],
) -> Result<Option<StoreLayout>> {
    let Some(a) = c.layout(before, TreeSel::Active, active)? else {
        return Ok(None);
    };
    let Some(p) = c.layout(before, TreeSel::Previous, previous)? else {
        return Ok(None);
    };
    let sectors = sectors_of(before.capacity_bytes);
    let layout = store_layout(sectors, (active, &a), (previous, &p));
    Ok(layout.filter(|l| l.free_sectors().ok() == Some(free_sectors(before))))
}

/// The record's fields that the push filled in.
fn fill_record(doc: &mut Value, c: &Client, outcome: &PushOutcome, seconds: f64) {
    doc["files_sent"] = json!(outcome.files_sent);
    doc["bytes_sent"] = json!(outcome.bytes_sent);
    doc["bytes_resumed"] = json!(outcome.bytes_resumed);
    doc["files_reused"] = json!(outcome.files_reused);
    doc["resends"] = json!(outcome.resends);
    doc["reconnects"] = json!(outcome.reconnects);
    doc["application_without_usb"] = json!(outcome.app_without_usb);
    doc["wire"] = json!(c.stats);
    doc["seconds"] = json!(seconds);
    doc["device"] = json!(outcome.device);
}
