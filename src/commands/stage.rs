//! `ota stage`: an update from GitHub, downloaded and verified into a folder
//! that `ota push --staged` can push to any number of devices later.

use anyhow::Result;
use serde_json::json;

use super::github::{describe, runtime, source};
use super::{print_json, Ctx};
use crate::cli::StageArgs;
use crate::progress::human_bytes;
use crate::source::staged;

pub fn run(ctx: &Ctx, args: &StageArgs) -> Result<()> {
    let rt = runtime()?;
    // octocrab's client starts tasks of its own: build it inside the runtime.
    let _inside = rt.enter();
    let gh = source(ctx, &args.github)?;
    let resolved = rt.block_on(gh.resolve())?;
    ctx.ui.detail(&describe(&resolved));
    let listing = rt.block_on(gh.listing(&resolved))?;
    for s in &listing.skipped {
        ctx.ui
            .say(&format!("skipped {s}: a device holds regular files only"));
    }
    let keys = super::manifest::keys(ctx, &[])?;
    let (_, filter) = super::github::signed_tree(ctx, listing.manifest_raw.as_deref(), &keys)?;
    let (bundle, _temp) = rt.block_on(gh.fetch(&resolved, &listing, &filter))?;
    let files = staged::write(&bundle, &args.out, listing.manifest_raw.as_deref())?;
    if ctx.ui.json {
        return print_json(&json!({
            "result": "staged",
            "out": args.out.display().to_string(),
            "version": bundle.version,
            "ref": bundle.git_ref,
            "commit": bundle.commit,
            "files": files.len(),
            "bytes": bundle.total_bytes(),
            "github": gh.counters.snapshot(),
        }));
    }
    ctx.ui.say(&format!(
        "staged {} ({} files, {}) in {}",
        bundle.version,
        files.len(),
        human_bytes(bundle.total_bytes()),
        args.out.display()
    ));
    Ok(())
}
