//! What `ota push` and `ota stage` share: GitHub flags over the config, the
//! GitHub source, and a runtime to drive it.

use anyhow::Result;

use super::Ctx;
use crate::cache::Cache;
use crate::cli::GithubArgs;
use crate::config::{Channel, Config};
use crate::exit::{fail, Kind};
use crate::source::github::{Github, Resolved};

/// The config with the command line's GitHub flags applied.
pub fn config_with(ctx: &Ctx, args: &GithubArgs) -> Config {
    let mut c = ctx.config.clone();
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

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            fail(
                Kind::Source,
                format!("cannot start the network runtime: {e}"),
            )
        })
}

pub fn source(ctx: &Ctx, args: &GithubArgs) -> Result<Github> {
    let config = config_with(ctx, args);
    let cache = Cache::new(Cache::default_root());
    ctx.ui.detail(&format!("cache: {}", cache.root().display()));
    Github::new(&config, cache, !args.no_cache, args.wait_rate_limit)
}

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

/// A release signed for devices is installed whole: the config's filters
/// would change the tree the signature covers. Returns the tree signature and
/// the filter to apply.
pub fn signed_tree(
    ctx: &Ctx,
    raw: Option<&[u8]>,
    keys: &[crate::signing::PublicKey],
) -> Result<(Option<[u8; 64]>, crate::filter::Filter)> {
    let Some(raw) = raw else {
        return Ok((None, ctx.config.filter.clone()));
    };
    let value: serde_json::Value = serde_json::from_slice(raw)
        .map_err(|e| fail(Kind::Source, format!("manifest.json: {e}")))?;
    match crate::signing::tree_signature(&value, keys)? {
        Some(sig) => {
            if !ctx.config.filter.is_empty() {
                ctx.ui.say("the release is signed for devices: installing it whole (allow, ignore and paths do not apply)");
            }
            Ok((Some(sig), crate::filter::Filter::default()))
        }
        None => Ok((None, ctx.config.filter.clone())),
    }
}

/// The tree signature to send with an update of this ref and commit. It
/// covers ref and commit as the manifest names them (empty when it does
/// not): one made for others would be refused by every provisioned device,
/// so it is dropped here, and the user told why.
pub fn bound_signature(
    ctx: &Ctx,
    raw: Option<&[u8]>,
    sig: Option<[u8; 64]>,
    git_ref: &str,
    commit: &str,
) -> Option<[u8; 64]> {
    let sig = sig?;
    let m: serde_json::Value = serde_json::from_slice(raw?).ok()?;
    let named = |k: &str| m.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
    if named("ref") == git_ref && named("commit") == commit {
        return Some(sig);
    }
    ctx.ui.say(&format!(
        "the tree signature covers ref `{}` and commit `{}`, not {} at {}: provisioned devices will refuse this update; sign a manifest made with `ota manifest gen --ref {} --commit {}`",
        crate::terminal::escape(named("ref")),
        crate::terminal::escape(named("commit")),
        crate::terminal::escape(git_ref),
        crate::terminal::escape(commit),
        crate::terminal::escape(git_ref),
        crate::terminal::escape(commit),
    ));
    None
}
