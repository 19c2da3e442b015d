//! `ota stage`: an update from GitHub, downloaded and verified into a folder
//! that `ota push --staged` can push to any number of devices later.

use anyhow::Result;
use serde_json::json;

use super::{print_json, Ctx};
use crate::cli::StageArgs;
use crate::progress::human_bytes;
use crate::source::staged;
use crate::update::github;
use crate::update::policy::Policy;

pub fn run(ctx: &Ctx, args: &StageArgs) -> Result<()> {
    let gh = github::connect(&ctx.config, &ctx.ui, &args.github)?;
    let resolved = gh.rt.block_on(gh.gh.resolve())?;
    ctx.ui.detail(&github::describe(&resolved));
    let listing = gh.rt.block_on(gh.gh.listing(&resolved))?;
    for s in &listing.skipped {
        ctx.ui
            .say(&format!("skipped {s}: a device holds regular files only"));
    }
    // Staging keeps the signature for the push to judge: only the filter applies here.
    let policy = Policy::of(&ctx.config, true, true)?;
    let (_, filter) = policy.tree_filter(&ctx.ui, listing.manifest_raw.as_deref())?;
    let (bundle, _temp) = gh.rt.block_on(gh.gh.fetch(&resolved, &listing, &filter))?;
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
            "github": gh.gh.counters.snapshot(),
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
