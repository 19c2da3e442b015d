//! An update from GitHub: the command line's GitHub flags over the config,
//! the source built inside a runtime of its own, and the one-line
//! description of what a channel resolved to.

use anyhow::Result;

use crate::cache::Cache;
use crate::cli::GithubArgs;
use crate::config::{Channel, Config};
use crate::exit::{fail, Kind};
use crate::progress::Ui;
use crate::source::github::{Github, Resolved};

/// The config with the command line's GitHub flags applied.
pub fn config_with(config: &Config, args: &GithubArgs) -> Config {
    let mut c = config.clone();
    if let Some(ch) = &args.channel {
        c.channel = if ch == "developer" {
            Channel::Developer
        } else {
            Channel::Stable
        };
    }
    if let Some(t) = &args.tag {
        c.tag = Some(t.clone());
        if args.channel.is_none() {
            c.channel = Channel::Stable;
        }
    }
    if let Some(b) = &args.branch {
        c.branch = b.clone();
    }
    if let Some(t) = args.token.as_ref().filter(|t| !t.is_empty()) {
        c.token = Some(t.clone());
    }
    c
}

/// The GitHub source and the runtime that drives it.
pub struct Connected {
    pub gh: Github,
    pub rt: tokio::runtime::Runtime,
}

/// Builds the source for these flags. octocrab's client starts tasks of
/// its own, so it is built inside the runtime.
pub fn connect(config: &Config, ui: &Ui, args: &GithubArgs) -> Result<Connected> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            fail(
                Kind::Source,
                format!("cannot start the network runtime: {e}"),
            )
        })?;
    let gh = {
        let _inside = rt.enter();
        let config = config_with(config, args);
        let cache = Cache::new(Cache::default_root());
        ui.detail(&format!("cache: {}", cache.root().display()));
        Github::new(&config, cache, !args.no_cache, args.wait_rate_limit)?
    };
    Ok(Connected { gh, rt })
}

/// `stable channel: v1.2.0 (refs/tags/v1.2.0, commit 1a2b3c4d5e6f, with manifest.json)`.
pub fn describe(r: &Resolved) -> String {
    let short = &r.commit[..12.min(r.commit.len())];
    let mode = if r.manifest_asset.is_some() {
        ", with manifest.json"
    } else {
        ""
    };
    format!(
        "{:?} channel: {} ({}, commit {short}{mode})",
        r.channel, r.version, r.git_ref
    )
    .to_lowercase()
}
