//! An update, resolved from any source and judged before it reaches a
//! device: a folder (with or without its manifest), a staged bundle, a
//! GitHub channel, or an application image alone. Resolving knows what the
//! update is (version, ref, commit) before any download, so that a fleet
//! that runs it already downloads nothing; fetching then gets the files.

pub mod confirm_check;
pub mod github;
pub mod image;
pub mod policy;

use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};

use crate::bundle::{Bundle, BundleFile};
use crate::cli::GithubArgs;
use crate::config::Config;
use crate::device::DeviceInfo;
use crate::exit::{fail, Kind};
use crate::progress::{human_bytes, Ui};
use crate::source::github::{Limits, Resolved, TempFolder};
use crate::source::{dir, staged};
use policy::Policy;

/// Where the update comes from, as the command line names it.
pub struct Request<'a> {
    pub dir: Option<&'a Path>,
    pub manifest: Option<&'a Path>,
    pub staged: Option<&'a Path>,
    pub app: Option<&'a Path>,
    pub version: Option<&'a str>,
    pub github: &'a GithubArgs,
    pub allow_unsigned: bool,
    pub allow_downgrade: bool,
}

/// What the update is, known before any download.
pub struct Want {
    pub version: String,
    pub git_ref: String,
    pub commit: String,
    /// Folders carry no commit of their own: their version must match too.
    pub match_version: bool,
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

    /// The device runs this update already. A MicroPython board whose
    /// files changed outside ota does not, unless those are to be kept.
    pub fn runs_on(&self, info: &DeviceInfo, keep_local: bool) -> bool {
        info.active.as_ref().is_some_and(|a| {
            a.commit == self.commit
                && a.git_ref == self.git_ref
                && (!self.match_version || a.version == self.version)
        }) && (keep_local || changed_outside(info).is_empty())
    }
}

/// The active tree's files a MicroPython board holds changed outside ota
/// (names it gave; a last `...` means more).
pub fn changed_outside(info: &DeviceInfo) -> Vec<String> {
    crate::device::micropython::facts::BoardFacts::parse(&info.agent_version)
        .map(|f| f.changed)
        .unwrap_or_default()
}

enum Pending {
    Ready(Bundle),
    /// Handed out by [`Update::fetch`].
    Taken,
    Github {
        gh: Box<github::Connected>,
        resolved: Resolved,
    },
}

/// A resolved update, judged by the policy, its files not yet fetched
/// when it comes from GitHub.
pub struct Update {
    pending: Pending,
    pub want: Want,
    /// A trusted key signed it (then anti-rollback applies).
    pub signed: bool,
    pub policy: Policy,
}

/// The update's files, fetched.
pub struct Fetched {
    /// `None` when no device needed it (nothing was downloaded).
    pub bundle: Option<Bundle>,
    /// GitHub's request counters, for the JSON report.
    pub github: Option<Value>,
    /// Where downloaded files wait; removed when dropped.
    pub temp: Option<TempFolder>,
}

/// Resolves the update that `req` names, and judges it.
pub fn resolve(config: &Config, ui: &Ui, req: &Request) -> Result<Update> {
    let policy = Policy::of(config, req.allow_unsigned, req.allow_downgrade)?;
    let image = image::app_image_file(req.app)?;
    let (pending, want, signed) = match (req.dir, req.manifest, req.staged, &image) {
        (None, _, None, Some(img)) => image_alone(&policy, img)?,
        (Some(d), Some(m), _, _) => listed_folder(&policy, ui, d, m)?,
        (Some(d), None, _, _) => folder(config, &policy, ui, d, req.version, image.clone())?,
        (None, _, Some(d), _) => staged_folder(&policy, ui, d)?,
        (None, _, None, None) => from_github(config, &policy, ui, req.github)?,
    };
    Ok(Update {
        pending,
        want,
        signed,
        policy,
    })
}

/// `--app` without `--dir`: the image alone; each device keeps its own
/// files, checked against its own image once they are listed.
fn image_alone(policy: &Policy, img: &BundleFile) -> Result<(Pending, Want, bool)> {
    policy.check_unsigned("an application image")?;
    let b = Bundle::new(
        "app".into(),
        "app".into(),
        Bundle::tree_id(std::slice::from_ref(img)),
        vec![img.clone()],
    )?;
    let w = Want {
        version: b.version.clone(),
        git_ref: String::new(),
        commit: String::new(),
        match_version: true,
    };
    Ok((Pending::Ready(b), w, false))
}

/// `--dir DIR`: the folder's files (and the image of `--app`), filtered.
fn folder(
    config: &Config,
    policy: &Policy,
    ui: &Ui,
    d: &Path,
    version: Option<&str>,
    image: Option<BundleFile>,
) -> Result<(Pending, Want, bool)> {
    policy.judge(ui, &format!("folder {}", d.display()), None)?;
    let b = dir::load(d, &config.filter, version, image.into_iter().collect())?;
    for s in &b.skipped {
        ui.say(&format!("skipped {s}: never followed"));
    }
    ui.detail(&format!(
        "{}: {} files, {}",
        d.display(),
        b.files().len(),
        human_bytes(b.total_bytes())
    ));
    let w = Want::of(&b, true);
    Ok((Pending::Ready(b), w, false))
}

/// `--dir DIR --manifest FILE`: the files the manifest lists, checked
/// against it, with its tree signature for provisioned agents.
fn listed_folder(
    policy: &Policy,
    ui: &Ui,
    dir: &Path,
    manifest: &Path,
) -> Result<(Pending, Want, bool)> {
    let raw = std::fs::read(manifest)
        .map_err(|e| fail(Kind::Source, format!("{}: {e}", manifest.display())))?;
    let name = manifest.display().to_string();
    let verdict = policy.judge(ui, &name, Some((&name, &raw)))?;
    let mut b = staged::load_listed(dir, manifest, &verdict.filter)?;
    b.tree_signature = verdict.tree_signature;
    ui.detail(&format!(
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
    let w = Want::of(&b, true);
    Ok((Pending::Ready(b), w, verdict.signed))
}

/// `--staged DIR`: what `ota stage` verified and wrote, checked against
/// the signed manifest it kept.
fn staged_folder(policy: &Policy, ui: &Ui, d: &Path) -> Result<(Pending, Want, bool)> {
    let raw = staged::signed_manifest(d)?;
    let name = d.join(staged::SIGNED).display().to_string();
    let verdict = policy.judge(
        ui,
        &format!("staged update {}", d.display()),
        raw.as_deref().map(|r| (name.as_str(), r)),
    )?;
    let mut b = staged::load(d, &verdict.filter)?;
    b.tree_signature = policy.bind(
        ui,
        raw.as_deref(),
        verdict.tree_signature,
        &b.git_ref,
        &b.commit,
    );
    if let (true, Some(raw)) = (verdict.signed, &raw) {
        staged::check_against(&b, raw)?;
    }
    ui.detail(&format!(
        "{}: {} verified files, version {}",
        d.display(),
        b.files().len(),
        b.version
    ));
    let w = Want::of(&b, false);
    Ok((Pending::Ready(b), w, verdict.signed))
}

/// A GitHub channel: resolved to a commit in one request, before any
/// download. A release without a manifest is judged unsigned here already.
fn from_github(
    config: &Config,
    policy: &Policy,
    ui: &Ui,
    args: &GithubArgs,
) -> Result<(Pending, Want, bool)> {
    if config.file.is_none() && config.owner.is_none() {
        return Err(fail(
            Kind::Config,
            "nothing to push: no --dir, --staged or --app was given, and there is no ota_config.json here to name a GitHub repository; push a folder with `ota push --dir DIR`, or write ota_config.json with `owner` and `repo` to push that repository's releases (docs/configuration.md)",
        ));
    }
    let gh = github::connect(config, ui, args)?;
    let resolved = gh.rt.block_on(gh.gh.resolve())?;
    ui.detail(&github::describe(&resolved));
    if resolved.manifest_asset.is_none() {
        policy.check_unsigned(&format!(
            "release {} (it has no manifest.json)",
            resolved.version
        ))?;
    }
    let w = Want {
        version: resolved.version.clone(),
        git_ref: resolved.git_ref.clone(),
        commit: resolved.commit.clone(),
        match_version: false,
    };
    let pending = Pending::Github {
        gh: Box::new(gh),
        resolved,
    };
    Ok((pending, w, false))
}

impl Update {
    /// The update's files, for the devices that answered (`devices`);
    /// nothing is downloaded unless `needed`.
    pub fn fetch<'a>(
        &mut self,
        ui: &Ui,
        devices: impl Iterator<Item = &'a DeviceInfo>,
        needed: bool,
    ) -> Result<Fetched> {
        let (mut gh, resolved) = match std::mem::replace(&mut self.pending, Pending::Taken) {
            Pending::Ready(b) => {
                return Ok(Fetched {
                    bundle: Some(b),
                    github: None,
                    temp: None,
                })
            }
            Pending::Github { gh, resolved } => (gh, resolved),
            Pending::Taken => {
                return Err(anyhow::anyhow!("internal: the update was fetched twice"))
            }
        };
        if !needed {
            return Ok(Fetched {
                bundle: None,
                github: Some(gh.gh.counters.snapshot()),
                temp: None,
            });
        }
        gh.gh.limits = Limits::of_devices(devices);
        let listing = gh.rt.block_on(gh.gh.listing(&resolved))?;
        let what = format!("manifest.json of {}", resolved.version);
        let raw = listing.manifest_raw.as_deref();
        let verdict = self.policy.judge(
            ui,
            &format!("release {} (it has no manifest.json)", resolved.version),
            raw.map(|r| (what.as_str(), r)),
        )?;
        self.signed = verdict.signed;
        for s in &listing.skipped {
            ui.say(&format!("skipped {s}: a device holds regular files only"));
        }
        let (mut b, temp) = gh
            .rt
            .block_on(gh.gh.fetch(&resolved, &listing, &verdict.filter))?;
        b.tree_signature = self
            .policy
            .bind(ui, raw, verdict.tree_signature, &b.git_ref, &b.commit);
        Ok(Fetched {
            bundle: Some(b),
            github: Some(gh.gh.counters.snapshot()),
            temp,
        })
    }
}

/// The report's extra fields for a fetch: GitHub's request counts, when any.
pub fn github_stats(f: &Fetched) -> Value {
    match &f.github {
        Some(g) => json!({ "github": g }),
        None => json!({}),
    }
}
