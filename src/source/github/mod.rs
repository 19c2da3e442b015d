//! Updates from GitHub: resolve a channel to an immutable commit, list its
//! files (the release's manifest.json, or the Git tree), download what the
//! cache lacks from the raw host, and verify every byte before a Bundle exists.
//!
//! API use is kept small: at most 3 API requests to resolve and list
//! (release, commit, tree or manifest), conditional on cached ETags.

pub mod api;
pub mod bounded;
pub mod download;
mod patches;

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;

use self::api::{Api, Counters, Endpoint, Got, NetPolicy};
use self::download::Raw;
use crate::bundle::{from_hex, verify_file, Bundle, Expect, Sha1};
use crate::cache::Cache;
use crate::config::{Channel, Config};
use crate::exit::{fail, Kind};
use crate::filter::Filter;
use crate::manifest::Manifest;

/// Downloads in flight at once.
const PARALLEL: usize = 4;

/// An update resolved to a commit.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub channel: Channel,
    pub git_ref: String,
    pub commit: String,
    pub version: String,
    /// The release's `manifest.json` asset, if it has one.
    pub manifest_asset: Option<u64>,
    /// Every asset of the release, by name: the manifest may name the one
    /// that holds the application image.
    pub assets: Vec<(String, u64)>,
}

/// A file to fetch, with what it must hash to.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub path: String,
    pub expect: Expect,
    /// The release asset that holds it (the application image), instead of
    /// the file at `path` in the commit.
    pub asset: Option<u64>,
}

/// The files of a resolved update.
#[derive(Debug, Clone)]
pub struct Listing {
    pub files: Vec<Wanted>,
    pub manifest: Option<Manifest>,
    /// The manifest as published, for its signatures.
    pub manifest_raw: Option<Vec<u8>>,
    /// Entries left out: symlinks and submodules, which a device cannot hold.
    pub skipped: Vec<String>,
}

#[derive(Deserialize)]
struct GitTree {
    truncated: bool,
    tree: Vec<GitTreeEntry>,
}

#[derive(Deserialize)]
struct GitTreeEntry {
    path: String,
    mode: String,
    #[serde(rename = "type")]
    kind: String,
    sha: String,
    size: Option<u64>,
}

/// What the devices to update can hold: a listing is checked against it
/// before the first download, so a tree that cannot fit costs no bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_files: usize,
    pub max_bytes: u64,
}

impl Default for Limits {
    /// The largest agent: the store of a Pico W.
    fn default() -> Limits {
        Limits {
            max_files: ota_agent::layout::MAX_ENTRIES,
            max_bytes: ota_agent::board::STORE_SECTORS as u64 * ota_agent::layout::SECTOR as u64,
        }
    }
}

impl Limits {
    /// The most every one of these devices holds.
    pub fn of_devices<'a>(
        infos: impl IntoIterator<Item = &'a crate::device::DeviceInfo>,
    ) -> Limits {
        infos.into_iter().fold(Limits::default(), |l, i| Limits {
            max_files: l.max_files.min(i.max_files as usize),
            max_bytes: l.max_bytes.min(i.capacity_bytes),
        })
    }

    /// Refuses, before any download, what no device here could take.
    pub fn check(&self, files: &[&Wanted]) -> anyhow::Result<()> {
        let nothing = "nothing was downloaded";
        if files.len() > self.max_files {
            return Err(fail(
                Kind::Source,
                format!(
                    "{} files: the agent holds at most {}; {nothing}",
                    files.len(),
                    self.max_files
                ),
            ));
        }
        crate::bundle::check_paths(files.iter().map(|w| w.path.as_str()))
            .map_err(|e| e.context(nothing))?;
        let human = crate::progress::human_bytes;
        let mut total = 0u64;
        for w in files {
            let size = w.expect.size.unwrap_or(0);
            total = total.saturating_add(size);
            if size > self.max_bytes || total > self.max_bytes {
                let what = if size > self.max_bytes {
                    format!("{} is {size} bytes", crate::terminal::escape(&w.path))
                } else {
                    format!("the update is more than {}", human(total))
                };
                return Err(fail(
                    Kind::Source,
                    format!(
                        "{what}, more than the device's flash holds ({}); {nothing}",
                        human(self.max_bytes)
                    ),
                ));
            }
        }
        Ok(())
    }
}

pub struct Github {
    /// Checked before the first download (the devices' own, once known).
    pub limits: Limits,
    api: Api,
    raw: Raw,
    cache: Cache,
    use_cache: bool,
    owner: String,
    repo: String,
    channel: Channel,
    branch: String,
    tag: Option<String>,
    fallback: Option<Channel>,
    pub counters: Arc<Counters>,
}

/// What `owner` and `repo` hold until someone sets them: the seed's
/// placeholders and those of `ota_config.example.json` (a test holds the
/// two lists equal).
pub const OWNER_PLACEHOLDERS: &[&str] = &["YOUR_GITHUB_USERNAME", "your-github-user"];
pub const REPO_PLACEHOLDERS: &[&str] = &["YOUR_REPO_NAME", "your-pico-app"];

/// A config field that must be set, and not to a placeholder (any case).
fn required(
    config: &Config,
    field: &str,
    value: Option<&str>,
    placeholders: &[&str],
    what: &str,
) -> anyhow::Result<String> {
    let file = config
        .file
        .as_ref()
        .map_or("the config".to_string(), |p| p.display().to_string());
    match value {
        None | Some("") => Err(fail(
            Kind::Config,
            format!("{file}: field `{field}` is not set: set it to {what}"),
        )),
        Some(v) if placeholders.iter().any(|p| v.eq_ignore_ascii_case(p)) => Err(fail(
            Kind::Config,
            format!("{file}: field `{field}` is still the placeholder \"{v}\": set it to {what}"),
        )),
        Some(v) => Ok(v.to_string()),
    }
}

/// Removes a folder when dropped (downloads made with `--no-cache`).
pub struct TempFolder(PathBuf);

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Github {
    pub fn new(
        config: &Config,
        cache: Cache,
        use_cache: bool,
        wait_rate_limit: bool,
    ) -> anyhow::Result<Github> {
        let owner = required(
            config,
            "owner",
            config.owner.as_deref(),
            OWNER_PLACEHOLDERS,
            "the GitHub user or organisation",
        )?;
        let repo = required(
            config,
            "repo",
            config.repo.as_deref(),
            REPO_PLACEHOLDERS,
            "the repository name",
        )?;
        // Partial downloads of a killed run are removed at the next.
        cache.clean_stale();
        let counters = Arc::new(Counters::default());
        let policy = NetPolicy {
            retries: config.retries,
            backoff: config.backoff,
            wait_rate_limit,
            has_token: config.token.is_some(),
        };
        let at = Endpoint {
            owner: &owner,
            repo: &repo,
            token: config.token.as_deref(),
            connect_timeout: config.connect_timeout,
            http_timeout: config.http_timeout,
        };
        let api = Api::new(
            &config.api_url,
            at,
            use_cache.then(|| cache.clone()),
            policy.clone(),
            counters.clone(),
        )?;
        let raw = Raw::new(&config.raw_url, at, policy, counters.clone())?;
        Ok(Github {
            limits: Limits::default(),
            api,
            raw,
            cache,
            use_cache,
            owner,
            repo,
            channel: config.channel,
            branch: config.branch.clone(),
            tag: config.tag.clone(),
            fallback: config.fallback_channel,
            counters,
        })
    }

    fn path(&self, rest: &str) -> String {
        format!("/repos/{}/{}/{rest}", self.owner, self.repo)
    }

    /// The channel's target as a commit SHA (API requests only).
    pub async fn resolve(&self) -> anyhow::Result<Resolved> {
        match self.channel {
            Channel::Developer => self.developer().await,
            Channel::Stable => {
                let route = match &self.tag {
                    Some(t) => self.path(&format!("releases/tags/{}", download::encode_path(t))),
                    None => self.path("releases/latest"),
                };
                let release: Option<octocrab::models::repos::Release> =
                    self.api.get_json(&route).await?;
                let Some(release) = release else {
                    if let Some(t) = &self.tag {
                        return Err(self.api.not_found(&format!("release {t}")));
                    }
                    if self.fallback == Some(Channel::Developer) {
                        return self.developer().await;
                    }
                    let hint = if self.api.has_token() {
                        ""
                    } else {
                        " (if the repository is private, a token is needed: set GITHUB_TOKEN or `token`)"
                    };
                    return Err(fail(
                        Kind::Source,
                        format!(
                            "{}: no published release (drafts and prereleases do not count); use channel \"developer\" or set fallback_channel{hint}",
                            self.api.repo_name()
                        ),
                    ));
                };
                if release.draft {
                    return Err(fail(
                        Kind::Source,
                        format!(
                            "{}: release {} is a draft",
                            self.api.repo_name(),
                            crate::terminal::escape(&release.tag_name)
                        ),
                    ));
                }
                let commit = self.commit_of(&release.tag_name).await?;
                crate::bundle::check_identity(&release.tag_name, &release.tag_name, &commit)?;
                Ok(Resolved {
                    channel: Channel::Stable,
                    version: release.tag_name.clone(),
                    git_ref: release.tag_name.clone(),
                    commit,
                    manifest_asset: release
                        .assets
                        .iter()
                        .find(|a| a.name == "manifest.json")
                        .map(|a| a.id.0),
                    assets: release
                        .assets
                        .iter()
                        .map(|a| (a.name.clone(), a.id.0))
                        .collect(),
                })
            }
        }
    }

    async fn developer(&self) -> anyhow::Result<Resolved> {
        let commit = self.commit_of(&self.branch).await?;
        // A device keeps 32 bytes of version: shorten a long branch name, keep the SHA.
        let short = &commit[..7.min(commit.len())];
        let mut branch = self.branch.as_str();
        while branch.len() + 1 + short.len() > ota_agent::layout::MAX_VERSION {
            let mut end = branch.len() - 1;
            while !branch.is_char_boundary(end) {
                end -= 1;
            }
            branch = &branch[..end];
        }
        let version = format!("{branch}-{short}");
        crate::bundle::check_identity(&version, &self.branch, &commit)?;
        Ok(Resolved {
            channel: Channel::Developer,
            version,
            git_ref: self.branch.clone(),
            commit,
            manifest_asset: None,
            assets: Vec::new(),
        })
    }

    /// A tag (annotated or not) or branch as its commit SHA, in one request.
    async fn commit_of(&self, git_ref: &str) -> anyhow::Result<String> {
        let route = self.path(&format!("commits/{}", download::encode_path(git_ref)));
        match self
            .api
            .get(&route, Some("application/vnd.github.sha"))
            .await?
        {
            Got::NotFound => Err(self.api.not_found(&format!("ref {git_ref}"))),
            Got::Body(b) => {
                let sha = String::from_utf8_lossy(&b).trim().to_string();
                if sha.len() < 40 || !sha.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return Err(fail(
                        Kind::Source,
                        format!(
                            "{route}: not a commit SHA: {:.60}",
                            crate::terminal::escape(&sha)
                        ),
                    ));
                }
                Ok(sha)
            }
        }
    }

    /// The files of the update: the release manifest, or the Git tree.
    pub async fn listing(&self, r: &Resolved) -> anyhow::Result<Listing> {
        if let Some(id) = r.manifest_asset {
            let bytes = self.asset_bytes(id, "manifest.json asset").await?;
            let m = Manifest::parse(&format!("{} manifest.json", r.git_ref), &bytes)?;
            let mut files = Vec::new();
            for f in &m.files {
                let h = m.hashes("manifest.json", f)?;
                files.push(Wanted {
                    path: f.path.clone(),
                    expect: Expect {
                        size: Some(h.size),
                        sha1: h.sha1,
                        sha256: Some(h.sha256),
                    },
                    asset: self.asset_of(r, f)?,
                });
            }
            return Ok(Listing {
                files,
                manifest: Some(m),
                manifest_raw: Some(bytes),
                skipped: Vec::new(),
            });
        }
        let route = self.path(&format!("git/trees/{}?recursive=1", r.commit));
        let tree: GitTree = self
            .api
            .get_json(&route)
            .await?
            .ok_or_else(|| self.api.not_found(&format!("tree {}", r.commit)))?;
        if tree.truncated {
            return Err(fail(
                Kind::Source,
                format!(
                    "{}: GitHub truncated the file list of {} (too many files); refusing a partial update — publish a manifest.json with the release instead",
                    self.api.repo_name(),
                    r.git_ref
                ),
            ));
        }
        let mut files = Vec::new();
        let mut skipped = Vec::new();
        for e in tree.tree {
            match (e.kind.as_str(), e.mode.as_str()) {
                ("blob", "120000") => skipped.push(format!("{} (symlink)", e.path)),
                ("blob", _) => files.push(Wanted {
                    asset: None,
                    expect: Expect {
                        size: e.size,
                        sha1: Some(from_hex::<20>(&e.sha).ok_or_else(|| {
                            fail(Kind::Source, format!("{route}: bad sha for {}", e.path))
                        })?),
                        sha256: None,
                    },
                    path: e.path,
                }),
                ("commit", _) => skipped.push(format!("{} (submodule)", e.path)),
                _ => {}
            }
        }
        Ok(Listing {
            files,
            manifest: None,
            manifest_raw: None,
            skipped,
        })
    }

    /// Downloads what the cache lacks (or everything, without the cache),
    /// verifies every file, and returns the verified bundle. The folder guard
    /// must outlive the bundle.
    pub async fn fetch(
        &self,
        r: &Resolved,
        listing: &Listing,
        filter: &Filter,
    ) -> anyhow::Result<(Bundle, Option<TempFolder>)> {
        let wanted: Vec<&Wanted> = listing
            .files
            .iter()
            .filter(|w| filter.keeps(&w.path))
            .collect();
        self.limits.check(&wanted)?;
        if let Some(m) = &listing.manifest {
            crate::bundle::check_identity(&m.version, &r.git_ref, &r.commit)
                .map_err(|e| e.context("nothing was downloaded"))?;
        }
        let temp = if self.use_cache {
            None
        } else {
            let dir =
                self.cache
                    .root()
                    .join("tmp")
                    .join(format!("{}-{}", std::process::id(), r.commit));
            std::fs::create_dir_all(&dir)
                .map_err(|e| fail(Kind::Source, format!("{}: {e}", dir.display())))?;
            Some(TempFolder(dir))
        };
        let jobs = wanted.iter().enumerate().map(|(i, w)| {
            let temp = temp.as_ref().map(|t| t.0.join(format!("{i}")));
            async move {
                let location = self.obtain(r, w, temp).await?;
                Ok::<_, anyhow::Error>((w, location))
            }
        });
        let obtained: Vec<(&&Wanted, PathBuf)> = futures_util::stream::iter(jobs)
            .buffer_unordered(PARALLEL)
            .try_collect()
            .await?;
        let with_sha256 = listing.manifest.is_some();
        let mut files = Vec::with_capacity(obtained.len());
        for (w, location) in obtained {
            files.push(verify_file(&w.path, &location, w.expect, with_sha256)?);
        }
        let mut bundle = Bundle::new(
            r.version.clone(),
            r.git_ref.clone(),
            r.commit.clone(),
            files,
        )?;
        if let Some(m) = &listing.manifest {
            bundle.version = m.version.clone();
            bundle.post_update = m.post_update.clone();
            bundle.rollback = m.rollback.clone();
            bundle.release_patches = self.release_patches(r, m).await?;
        }
        Ok((bundle, temp))
    }

    /// The release asset a manifest entry names, which the release must have.
    fn asset_of(
        &self,
        r: &Resolved,
        f: &crate::manifest::ManifestFile,
    ) -> anyhow::Result<Option<u64>> {
        let Some(name) = &f.asset else {
            return Ok(None);
        };
        match r.assets.iter().find(|(n, _)| n == name) {
            Some((_, id)) => Ok(Some(*id)),
            None => Err(fail(
                Kind::Source,
                format!(
                    "{} release {}: manifest.json names the asset `{}` for {}, and the release has no asset of that name; upload the file `ota manifest gen --app` wrote beside the manifest; nothing was downloaded",
                    self.api.repo_name(),
                    crate::terminal::escape(&r.git_ref),
                    crate::terminal::escape(name),
                    f.path
                ),
            )),
        }
    }

    /// The bytes of release asset `id` (through the API, which redirects to
    /// the storage host); `what` names it when it is not there.
    async fn asset_bytes(&self, id: u64, what: &str) -> anyhow::Result<Vec<u8>> {
        let route = self.path(&format!("releases/assets/{id}"));
        match self
            .api
            .get(&route, Some("application/octet-stream"))
            .await?
        {
            Got::Body(b) => Ok(b),
            Got::NotFound => Err(self.api.not_found(what)),
        }
    }

    /// A release asset's bytes, checked as a raw download is, into `dest`.
    async fn fetch_asset(
        &self,
        id: u64,
        w: &Wanted,
        dest: &std::path::Path,
    ) -> anyhow::Result<Sha1> {
        let bytes = self
            .asset_bytes(id, &format!("asset of {}", w.path))
            .await?;
        std::fs::write(dest, &bytes)
            .map_err(|e| fail(Kind::Source, format!("{}: {e}", dest.display())))?;
        match verify_file(&w.path, dest, w.expect, true) {
            Ok(f) => Ok(f.sha1),
            Err(e) => {
                let _ = std::fs::remove_file(dest);
                let route = self.path(&format!("releases/assets/{id}"));
                Err(e.context(format!("release asset {route}")))
            }
        }
    }

    /// A verified copy of one file: from the cache, or downloaded.
    async fn obtain(
        &self,
        r: &Resolved,
        w: &Wanted,
        temp: Option<PathBuf>,
    ) -> anyhow::Result<PathBuf> {
        if let (true, Some(sha1)) = (self.use_cache, w.expect.sha1) {
            if self.cache.has_blob(&sha1) {
                self.counters
                    .cache_hits
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Ok(self.cache.blob(&sha1));
            }
        }
        match temp {
            Some(dest) => {
                match w.asset {
                    Some(id) => {
                        self.fetch_asset(id, w, &dest).await?;
                    }
                    None => {
                        self.raw.fetch(&r.commit, &w.path, w.expect, &dest).await?;
                    }
                }
                Ok(dest)
            }
            None => {
                let part = self
                    .cache
                    .temp_blob()
                    .map_err(|e| fail(Kind::Source, format!("cache: {e}")))?;
                let sha1: Sha1 = match w.asset {
                    Some(id) => self.fetch_asset(id, w, &part).await?,
                    None => self.raw.fetch(&r.commit, &w.path, w.expect, &part).await?,
                };
                let final_path = self.cache.blob(&sha1);
                std::fs::rename(&part, &final_path)
                    .map_err(|e| fail(Kind::Source, format!("cache: {e}")))?;
                Ok(final_path)
            }
        }
    }
}
