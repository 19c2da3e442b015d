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

use super::github::{describe, runtime, source};
use super::inspect::state_line;
use super::report::{self, Outcome};
use super::{on_each, Ctx, Target};
use crate::bundle::Bundle;
use crate::cache::Cache;
use crate::cli::PushArgs;
use crate::device::agent::push::{push, PushOptions};
use crate::device::{Client, DeviceFile, DeviceInfo};
use crate::exit::{fail, Kind};
use crate::plan::{plan, store_layout, Plan, Space};
use crate::progress::{human_bytes, Progress};
use crate::source::github::{Github, Resolved, TempFolder};
use crate::source::{dir, staged};
use ota_agent::model::StoreLayout;

/// What the update is, known before any download.
struct Want {
    version: String,
    git_ref: String,
    commit: String,
    /// Folders carry no commit of their own: their version must match too.
    match_version: bool,
}

/// Refuses what the config's `pubkey` does not allow. Returns whether the
/// update is signed (then it is also held to anti-rollback).
/// The slot image of `--app`, kept in the host's blob cache: the next push
/// of another build finds it there and counts the sectors that differ.
fn app_image_file(args: &PushArgs) -> Result<Option<crate::bundle::BundleFile>> {
    let Some(elf) = &args.app else {
        return Ok(None);
    };
    let bytes = crate::app_image::from_file(elf)?;
    let cache = Cache::new(Cache::default_root());
    let cached = || -> std::io::Result<std::path::PathBuf> {
        let part = cache.temp_blob()?;
        std::fs::write(&part, &bytes)?;
        let sha1 = crate::bundle::git_blob_sha1(&bytes);
        let at = cache.blob(&sha1);
        std::fs::rename(&part, &at)?;
        Ok(at)
    };
    let at = cached().map_err(|e| {
        fail(
            Kind::Source,
            format!(
                "{}: the image could not be kept: {e}",
                cache.root().display()
            ),
        )
    })?;
    let file = crate::bundle::verify_file(
        ota_agent::layout::APP_IMAGE,
        &at,
        crate::bundle::Expect::default(),
        true,
    )?;
    Ok(Some(file))
}

/// The slot sectors whose bytes differ, which are all the agent rewrites, when
/// the device's image is in the host's cache: (bytes of the new image in
/// them, how many, of how many). The last sector may hold less than 4 KiB.
fn changed_sectors(
    old_sha1: &str,
    new: &crate::bundle::BundleFile,
) -> Option<(usize, usize, usize)> {
    let cache = Cache::new(Cache::default_root());
    let old = std::fs::read(cache.blob(&crate::bundle::from_hex(old_sha1)?)).ok()?;
    let new = std::fs::read(new.location()).ok()?;
    (crate::bundle::hex(&crate::bundle::git_blob_sha1(&old)) == old_sha1).then_some(())?;
    let sector = ota_agent::layout::SECTOR as usize;
    fn at(b: &[u8], i: usize, sector: usize) -> &[u8] {
        b.get(i * sector..((i + 1) * sector).min(b.len()))
            .unwrap_or(&[])
    }
    let sectors = new.len().div_ceil(sector);
    let changed: Vec<usize> = (0..sectors)
        .filter(|&i| at(&old, i, sector) != at(&new, i, sector))
        .collect();
    let bytes = changed.iter().map(|&i| at(&new, i, sector).len()).sum();
    Some((bytes, changed.len(), sectors))
}

/// A files-only update for a device whose tree carries an application image
/// keeps that image (reused, nothing sent): the image and the files it reads
/// stay one tree. A signed release names its own image, or none.
fn carry_image(bundle: &Bundle, active: &[DeviceFile]) -> Option<Bundle> {
    if bundle.app_image().is_some() || bundle.tree_signature.is_some() {
        return None;
    }
    let f = active
        .iter()
        .find(|f| f.path == ota_agent::layout::APP_IMAGE)?;
    Some(bundle.with_file(kept(f)?))
}

/// A file of the device's tree, joining the new tree as it is (reused).
fn kept(f: &DeviceFile) -> Option<crate::bundle::BundleFile> {
    let sha1 = crate::bundle::from_hex(&f.sha1)?;
    let sha256 = f.sha256.as_deref().and_then(crate::bundle::from_hex);
    Some(crate::bundle::BundleFile::on_device(
        &f.path, f.size, sha1, sha256,
    ))
}

/// `--app` without `--dir`: the device's files as they are, with the new
/// image. Only the image travels; the version says which image it is.
fn image_only(
    image: &Bundle,
    before: &DeviceInfo,
    active: &[DeviceFile],
    args: &PushArgs,
) -> Result<Bundle> {
    let (Some(tree), Some(img)) = (before.active.as_ref(), image.app_image()) else {
        return Err(fail(
            Kind::Refused,
            "the device holds no tree to keep the files of: push the files with the image (--dir DIR --app ELF)",
        ));
    };
    let mut files = vec![img.clone()];
    for f in active
        .iter()
        .filter(|f| f.path != ota_agent::layout::APP_IMAGE)
    {
        files.push(kept(f).ok_or_else(|| {
            fail(
                Kind::Device,
                format!("{}: the device lists a bad SHA-1", f.path),
            )
        })?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let id = Bundle::tree_id(&files);
    let version = match &args.version {
        Some(v) => v.clone(),
        None => image_version(&tree.version, &crate::bundle::hex(&img.sha1)),
    };
    Bundle::new(version, tree.git_ref.clone(), id, files)
}

/// `v1.2.0` with image `1a2b3c4…` is `v1.2.0+app.1a2b3c4`, within the 32
/// bytes a device keeps; an earlier image suffix is replaced.
fn image_version(files_version: &str, image_sha1: &str) -> String {
    let suffix = format!("+app.{}", &image_sha1[..7]);
    let base = files_version.split("+app.").next().unwrap_or("");
    let mut end = base
        .len()
        .min(ota_agent::layout::MAX_VERSION - suffix.len());
    while !base.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{suffix}", &base[..end])
}

/// The device's active tree already carries this image.
fn same_image(bundle: &Bundle, active: &[DeviceFile]) -> bool {
    let Some(img) = bundle.app_image() else {
        return false;
    };
    active
        .iter()
        .any(|f| f.path == ota_agent::layout::APP_IMAGE && f.sha1 == crate::bundle::hex(&img.sha1))
}

/// What the push does to the application image, in one clause.
fn image_line(bundle: &Bundle, active: &[DeviceFile]) -> Option<(String, Value)> {
    let img = bundle.app_image()?;
    let on_device = active
        .iter()
        .find(|f| f.path == ota_agent::layout::APP_IMAGE);
    let same = on_device.is_some_and(|f| f.sha1 == crate::bundle::hex(&img.sha1));
    let sectors = on_device
        .filter(|_| !same)
        .and_then(|old| changed_sectors(&old.sha1, img));
    let (state, text) = match on_device {
        Some(_) if same => ("unchanged", "unchanged".to_string()),
        Some(_) => (
            "changed",
            match sectors {
                Some((bytes, n, of)) => format!(
                    "{} of {} changed ({n} of {of} slot sectors to rewrite)",
                    human_bytes(bytes as u64),
                    human_bytes(img.size as u64)
                ),
                None => format!(
                    "new build, {}; the agent rewrites only the slot sectors that differ",
                    human_bytes(img.size as u64)
                ),
            },
        ),
        None => ("new", format!("new, {}", human_bytes(img.size as u64))),
    };
    Some((
        format!("application image: {text}"),
        json!({
            "state": state,
            "bytes": img.size,
            "sha1": crate::bundle::hex(&img.sha1),
            "sectors_changed": sectors.map(|s| s.1),
            "bytes_changed": sectors.map(|s| s.0),
            "sectors": img.size.div_ceil(ota_agent::layout::SECTOR),
        }),
    ))
}

fn check_unsigned(ctx: &Ctx, args: &PushArgs, what: &str) -> Result<bool> {
    if ctx.config.pubkeys.is_empty() || args.allow_unsigned {
        return Ok(false);
    }
    Err(fail(
        Kind::Verify,
        format!("{what} is not signed, and the config's `pubkey` requires signed updates; pass --allow-unsigned to push it anyway"),
    ))
}

/// `v1.2.3` and `1.2.3` alike; `None` when it is not a semantic version.
fn semver_of(v: &str) -> Option<semver::Version> {
    semver::Version::parse(v.strip_prefix(['v', 'V']).unwrap_or(v)).ok()
}

impl Want {
    fn of(b: &Bundle, match_version: bool) -> Want {
        Want {
            version: b.version.clone(),
            git_ref: b.git_ref.clone(),
            commit: b.commit.clone(),
            match_version,
        }
    }

    fn runs_on(&self, info: &DeviceInfo) -> bool {
        info.active.as_ref().is_some_and(|a| {
            a.commit == self.commit
                && a.git_ref == self.git_ref
                && (!self.match_version || a.version == self.version)
        })
    }
}

enum Source {
    Ready(Bundle),
    Github {
        gh: Box<Github>,
        rt: tokio::runtime::Runtime,
        resolved: Resolved,
    },
}

pub fn run(ctx: &Ctx, args: &PushArgs) -> Result<()> {
    let started = Instant::now();
    crate::interrupt::install();
    let keys = super::manifest::keys(ctx, &[])?;
    let mut signed = false;
    let image = app_image_file(args)?;
    let extra: Vec<_> = image.iter().cloned().collect();
    let (source, want) = if let (None, Some(img)) = (&args.dir, &image) {
        check_unsigned(ctx, args, "an application image")?;
        let b = Bundle::new(
            "app".into(),
            "app".into(),
            Bundle::tree_id(std::slice::from_ref(img)),
            vec![img.clone()],
        )?;
        // Each device is checked against its own image once its files are listed.
        let w = Want {
            version: b.version.clone(),
            git_ref: String::new(),
            commit: String::new(),
            match_version: true,
        };
        (Source::Ready(b), w)
    } else if let (Some(d), Some(m)) = (&args.dir, &args.manifest) {
        let (b, by) = listed_folder(ctx, d, m, &keys)?;
        signed = by;
        let w = Want::of(&b, true);
        (Source::Ready(b), w)
    } else if let Some(d) = &args.dir {
        check_unsigned(ctx, args, &format!("folder {}", d.display()))?;
        let b = dir::load(d, &ctx.config.filter, args.version.as_deref(), extra)?;
        for s in &b.skipped {
            ctx.ui.say(&format!("skipped {s}: never followed"));
        }
        ctx.ui.detail(&format!(
            "{}: {} files, {}",
            d.display(),
            b.files().len(),
            human_bytes(b.total_bytes())
        ));
        let w = Want::of(&b, true);
        (Source::Ready(b), w)
    } else if let Some(d) = &args.staged {
        let raw = staged::signed_manifest(d)?;
        let (tree_sig, filter) = super::github::signed_tree(ctx, raw.as_deref(), &keys)?;
        let mut b = staged::load(d, &filter)?;
        b.tree_signature =
            super::github::bound_signature(ctx, raw.as_deref(), tree_sig, &b.git_ref, &b.commit);
        if !keys.is_empty() {
            match staged::signed_manifest(d)? {
                Some(raw) => {
                    let by = super::manifest::require_signed(
                        &raw,
                        &format!("{}", d.join(staged::SIGNED).display()),
                        &keys,
                    )?;
                    staged::check_against(&b, &raw)?;
                    ctx.ui.detail(&format!("signed by {}", by.line()));
                    signed = true;
                }
                None => {
                    check_unsigned(ctx, args, &format!("staged update {}", d.display()))?;
                }
            }
        }
        ctx.ui.detail(&format!(
            "{}: {} verified files, version {}",
            d.display(),
            b.files().len(),
            b.version
        ));
        let w = Want::of(&b, false);
        (Source::Ready(b), w)
    } else {
        let rt = runtime()?;
        let gh = {
            // octocrab's client starts tasks of its own: build it inside the runtime.
            let _inside = rt.enter();
            source(ctx, &args.github)?
        };
        let resolved = rt.block_on(gh.resolve())?;
        ctx.ui.detail(&describe(&resolved));
        if resolved.manifest_asset.is_none() {
            check_unsigned(
                ctx,
                args,
                &format!("release {} (it has no manifest.json)", resolved.version),
            )?;
        }
        let w = Want {
            version: resolved.version.clone(),
            git_ref: resolved.git_ref.clone(),
            commit: resolved.commit.clone(),
            match_version: false,
        };
        (
            Source::Github {
                gh: Box::new(gh),
                rt,
                resolved,
            },
            w,
        )
    };

    let targets = ctx.targets()?;
    // Ask every device first: a fleet that is up to date downloads nothing.
    let connected = on_each(&targets, |t| {
        let mut c = ctx.connect_to(t)?;
        let info = c.hello()?;
        Ok((c, info))
    });
    let any_needs = connected
        .iter()
        .any(|r| matches!(r, Ok((_, i)) if args.force || !want.runs_on(i)));
    let (bundle, github_stats, _temp): (Option<Bundle>, Value, Option<TempFolder>) = match source {
        Source::Ready(b) => (Some(b), json!(null), None),
        Source::Github {
            mut gh,
            rt,
            resolved,
        } => {
            if any_needs {
                gh.limits = crate::source::github::Limits::of_devices(
                    connected
                        .iter()
                        .filter_map(|r| r.as_ref().ok().map(|(_, i)| i)),
                );
                let listing = rt.block_on(gh.listing(&resolved))?;
                if let (false, Some(raw)) = (keys.is_empty(), &listing.manifest_raw) {
                    let what = format!("manifest.json of {}", resolved.version);
                    let by = super::manifest::require_signed(raw, &what, &keys)?;
                    ctx.ui.detail(&format!("{what}: signed by {}", by.line()));
                    signed = true;
                }
                for s in &listing.skipped {
                    ctx.ui
                        .say(&format!("skipped {s}: a device holds regular files only"));
                }
                let (tree_sig, filter) =
                    super::github::signed_tree(ctx, listing.manifest_raw.as_deref(), &keys)?;
                let (mut b, temp) = rt.block_on(gh.fetch(&resolved, &listing, &filter))?;
                b.tree_signature = super::github::bound_signature(
                    ctx,
                    listing.manifest_raw.as_deref(),
                    tree_sig,
                    &b.git_ref,
                    &b.commit,
                );
                (Some(b), gh.counters.snapshot(), temp)
            } else {
                (None, gh.counters.snapshot(), None)
            }
        }
    };
    let extra = if github_stats.is_null() {
        json!({})
    } else {
        json!({ "github": github_stats })
    };

    if bundle.as_ref().is_some_and(|b| b.files().is_empty()) {
        return Err(fail(
            Kind::Source,
            "the update has no files: pushing it would empty the device; check --dir and the config's allow, ignore and paths",
        ));
    }
    let multi = ctx.multi() || args.junit.is_some();
    let bars = MultiProgress::new();
    let jobs: Vec<(Target, Result<(Client, DeviceInfo)>)> =
        targets.into_iter().zip(connected).collect();
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(target, conn)| {
                let (bundle, want, extra, bars) = (bundle.as_ref(), &want, &extra, &bars);
                let signed = signed;
                s.spawn(move || {
                    let mut progress = if multi {
                        Progress::in_multi(ctx.ui, bars, &target.label())
                    } else {
                        Progress::new(ctx.ui)
                    };
                    let result = conn.and_then(|(mut c, before)| {
                        if signed {
                            refuse_downgrade(
                                &before,
                                bundle.map_or(&want.version, |b| &b.version),
                                args,
                            )?;
                        }
                        push_one(
                            ctx,
                            &mut c,
                            &before,
                            bundle,
                            want,
                            args,
                            extra.clone(),
                            &mut progress,
                        )
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
    });

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
    report::finish(ctx.ui.json, multi, "push", outcomes)
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

/// The plan, with the agent's own verdict on room; refuses a tree that
/// does not fit before any byte is sent, and with `--drop-previous` drops
/// the previous tree only when the tree then fits.
fn plan_room(
    ctx: &Ctx,
    c: &mut Client,
    before: &DeviceInfo,
    bundle: &Bundle,
    (active, previous): (&[DeviceFile], &mut Vec<DeviceFile>),
    args: &PushArgs,
    label: &str,
) -> Result<Plan> {
    let layout = device_layout(c, before, active, previous)?;
    let free = free_sectors(before);
    let only = sectors_of(before.previous_only_bytes);
    let p = plan(bundle, active, previous, free, only, layout.as_ref());
    if p.space.fits || args.dry_run {
        return Ok(p);
    }
    check_space(c, before, &p.space, args.drop_previous)?;
    // The previous tree is gone: nothing of it can be reused now.
    ctx.ui.say(&format!(
        "{label}{}: dropped the previous tree {} to make room; it can no longer be rolled back to",
        c.name(),
        before.previous.as_ref().map_or("", |t| t.version.as_str())
    ));
    previous.clear();
    let now = c.hello()?;
    let layout = layout.map(|l| l.without_previous());
    Ok(plan(
        bundle,
        active,
        previous,
        free_sectors(&now),
        0,
        layout.as_ref(),
    ))
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

/// `--dir DIR --manifest FILE`: the files the manifest lists, checked
/// against it, with its tree signature for provisioned agents. Returns the
/// bundle and whether a key of the config's `pubkey` signed it.
fn listed_folder(
    ctx: &Ctx,
    dir: &std::path::Path,
    manifest: &std::path::Path,
    keys: &[crate::signing::PublicKey],
) -> Result<(Bundle, bool)> {
    let raw = std::fs::read(manifest)
        .map_err(|e| fail(Kind::Source, format!("{}: {e}", manifest.display())))?;
    let (tree_sig, filter) = super::github::signed_tree(ctx, Some(&raw), keys)?;
    let mut b = staged::load_listed(dir, manifest, &filter)?;
    b.tree_signature = tree_sig;
    let signed = if keys.is_empty() {
        false
    } else {
        let what = manifest.display().to_string();
        let by = super::manifest::require_signed(&raw, &what, keys)?;
        ctx.ui.detail(&format!("{what}: signed by {}", by.line()));
        true
    };
    ctx.ui.detail(&format!(
        "{}: {} files checked against {}, version {}{}",
        dir.display(),
        b.files().len(),
        manifest.display(),
        b.version,
        if b.tree_signature.is_some() {
            ", signed for devices"
        } else {
            ""
        }
    ));
    Ok((b, signed))
}

/// Anti-rollback: a signed version lower than the device's is refused.
fn refuse_downgrade(before: &DeviceInfo, to: &str, args: &PushArgs) -> Result<()> {
    let Some(active) = before.active.as_ref() else {
        return Ok(());
    };
    if args.allow_downgrade {
        return Ok(());
    }
    if let (Some(new), Some(old)) = (semver_of(to), semver_of(&active.version)) {
        if new < old {
            return Err(fail(
                Kind::Verify,
                format!(
                    "{to} is older than {} on the device: refusing a downgrade (pass --allow-downgrade to install it)",
                    active.version
                ),
            ));
        }
    }
    Ok(())
}

/// One device: up-to-date check, plan, push, verdict. Prints the human
/// summary line; returns the device's JSON record.
#[allow(clippy::too_many_arguments)]
fn push_one(
    ctx: &Ctx,
    c: &mut Client,
    before: &DeviceInfo,
    bundle: Option<&Bundle>,
    want: &Want,
    args: &PushArgs,
    extra: Value,
    progress: &mut Progress,
) -> Result<Value> {
    let started = Instant::now();
    // After a reboot or a drop, only this board may answer for it.
    c.expect_id = Some(before.device_id.clone());
    let from = before.active.as_ref().map(|a| a.version.clone());
    let mut doc = json!({
        "port": c.name(),
        "device_id": before.device_id,
        "from_version": from,
        "to_version": want.version,
        "ref": want.git_ref,
        "commit": want.commit,
        "files_sent": 0,
        "bytes_sent": 0,
    });
    if let (Some(d), Value::Object(e)) = (doc.as_object_mut(), extra) {
        d.extend(e);
    }
    let label = if ctx.multi() {
        format!("[{}] ", c.name())
    } else {
        String::new()
    };

    if want.runs_on(before) && !args.force {
        doc["result"] = json!("up-to-date");
        doc["seconds"] = json!(started.elapsed().as_secs_f64());
        ctx.ui.say(&format!(
            "{label}{}: up to date ({}, {})",
            c.name(),
            want.version,
            state_line(before)
        ));
        return Ok(doc);
    }
    let bundle = bundle.ok_or_else(|| {
        fail(
            Kind::Source,
            "internal: no bundle fetched for a device that needs it",
        )
    })?;
    doc["to_version"] = json!(bundle.version);

    let active = c.list(TreeSel::Active)?;
    let mut previous = c.list(TreeSel::Previous)?;
    let kept_files = match (&args.dir, &args.app) {
        (None, Some(_)) => Some(image_only(bundle, before, &active, args)?),
        _ => None,
    };
    let bundle = kept_files.as_ref().unwrap_or(bundle);
    if kept_files.is_some() && !args.force && same_image(bundle, &active) {
        doc["result"] = json!("up-to-date");
        doc["to_version"] = json!(before.active.as_ref().map(|a| a.version.clone()));
        doc["seconds"] = json!(started.elapsed().as_secs_f64());
        ctx.ui.say(&format!(
            "{label}{}: up to date (the slot's image is this one; {})",
            c.name(),
            state_line(before)
        ));
        return Ok(doc);
    }
    doc["to_version"] = json!(bundle.version);
    let carried = carry_image(bundle, &active);
    let bundle = carried.as_ref().unwrap_or(bundle);
    if let Some((line, value)) = image_line(bundle, &active) {
        ctx.ui.say(&format!("{label}{line}"));
        doc["image"] = value;
    }
    let p = plan_room(
        ctx,
        c,
        before,
        bundle,
        (&active, &mut previous),
        args,
        &label,
    )?;

    if args.dry_run {
        doc["result"] = json!("dry-run");
        doc["plan"] = json!(p);
        let ui = &ctx.ui;
        ui.say(&format!(
            "{label}dry run: {} -> {} on {}",
            crate::terminal::escape(from.as_deref().unwrap_or("(empty)")),
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
            human_bytes(p.bytes_to_send),
            p.files_to_send,
            p.unchanged
        ));
        ui.say(&format!(
            "{label}{}",
            space_line(&p.space, before, args.drop_previous)
        ));
        return Ok(doc);
    }

    let config = &ctx.config;
    let opts = PushOptions {
        boots: args.boots.unwrap_or(config.trial_boots),
        window: config.window,
        chunk: config.chunk.min(before.max_chunk as u32),
        reboot: !args.no_reboot,
        confirm_timeout: config.confirm_timeout,
        reconnect_timeout: config.device_timeout,
        resume: before.session,
        moved_sectors: p.space.moved_sectors,
    };
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
    if outcome.confirmed == Some(false) {
        let state = outcome.device.as_ref().map_or(String::new(), state_line);
        return Err(fail(
            Kind::Device,
            format!(
                "{}: {} was installed but did not confirm within {}s ({state}); it rolls back by itself when its boots run out",
                c.name(),
                bundle.version,
                ctx.config.confirm_timeout.as_secs()
            ),
        ));
    }
    let result = match (outcome.confirmed, outcome.handed_over) {
        (Some(true), _) => "confirmed",
        (_, true) => "started",
        _ => "committed",
    };
    doc["result"] = json!(result);
    doc["plan"] = json!(p);
    doc["files_sent"] = json!(outcome.files_sent);
    doc["bytes_sent"] = json!(outcome.bytes_sent);
    doc["bytes_resumed"] = json!(outcome.bytes_resumed);
    doc["files_reused"] = json!(outcome.files_reused);
    doc["resends"] = json!(outcome.resends);
    doc["reconnects"] = json!(outcome.reconnects);
    doc["wire"] = json!(c.stats);
    doc["seconds"] = json!(seconds);
    doc["device"] = json!(outcome.device);
    let state = outcome.device.as_ref().map_or(String::new(), state_line);
    let what = match outcome.confirmed {
        Some(true) => "confirmed".to_string(),
        Some(false) => format!(
            "NOT confirmed within {}s ({state})",
            config.confirm_timeout.as_secs()
        ),
        None if outcome.handed_over => {
            "the application runs it on trial and confirms it (`ota status` shows it)".to_string()
        }
        None => "committed; it starts at the next boot".to_string(),
    };
    ctx.ui.say(&format!(
        "{label}{} -> {} on {}: {} file(s) sent ({}), {} reused, {seconds:.1}s; {what}",
        crate::terminal::escape(from.as_deref().unwrap_or("(empty)")),
        bundle.version,
        c.name(),
        outcome.files_sent,
        human_bytes(outcome.bytes_sent),
        outcome.files_reused,
    ));
    if let Some(b) = c.stats.board {
        ctx.ui.say(&format!(
            "{label}on a real {} this would take about {:.1}s (flash {:.1}s, USB {:.1}s, agent CPU {:.1}s; modeled)",
            b.model, b.seconds, b.flash_seconds, b.link_seconds, b.cpu_seconds
        ));
    }
    Ok(doc)
}
