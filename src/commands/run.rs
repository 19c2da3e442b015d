//! `ota run ELF`, cargo's runner: the push it makes (the image, and the files
//! of the project that built it), and whether a console follows. main.rs
//! chains it with the push and the monitor, so the three stay one path.

use anyhow::Result;

use super::Ctx;
use crate::cli::{GithubArgs, PushArgs, RunArgs};
use crate::device::PortSpec;
use crate::exit::{fail, Kind};
use crate::project;

/// The push `ota run` makes: the ELF as the application, beside the files
/// folder (`--dir`, else the project's `[package.metadata.ota] files`).
pub fn push_args(ctx: &Ctx, args: &RunArgs) -> Result<PushArgs> {
    if let Some(first) = args.rest.first() {
        return Err(fail(
            Kind::Config,
            format!("ota run: `{first}`: an application takes no arguments; flags for ota go in the runner line of .cargo/config.toml"),
        ));
    }
    if !args.elf.is_file() {
        return Err(fail(
            Kind::Config,
            format!(
                "{}: no such ELF; build it first (`cargo run` does)",
                args.elf.display()
            ),
        ));
    }
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => files_folder(ctx, args)?,
    };
    Ok(PushArgs {
        dir: Some(dir),
        stray: None,
        staged: None,
        github: GithubArgs::default(),
        manifest: None,
        version: None,
        app: Some(args.elf.clone()),
        dry_run: false,
        force: false,
        no_reboot: false,
        boots: args.boots,
        trial_timeout: None,
        junit: None,
        allow_unsigned: false,
        allow_downgrade: false,
        monitor: false,
        drop_previous: false,
        no_delta: args.no_delta,
        keep_local: false,
    })
}

/// The project's files folder, found from the ELF.
fn files_folder(ctx: &Ctx, args: &RunArgs) -> Result<std::path::PathBuf> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(std::path::PathBuf::from);
    let cwd = std::env::current_dir()?;
    let found = project::files_of(&args.elf, manifest_dir.as_deref(), &cwd)?.ok_or_else(|| {
        fail(
            Kind::Config,
            format!(
                "{}: found no Cargo.toml with [package.metadata.ota] files = \"FOLDER\" for it; add that to the project's Cargo.toml or pass --dir FOLDER",
                args.elf.display()
            ),
        )
    })?;
    if !found.files.is_dir() {
        return Err(fail(
            Kind::Config,
            format!(
                "{}: [package.metadata.ota] files names {}, which is not a folder; make it (it may be empty)",
                found.manifest.display(),
                found.files.display()
            ),
        ));
    }
    ctx.ui.detail(&format!(
        "files: {} (from {})",
        found.files.display(),
        found.manifest.display()
    ));
    Ok(found.files)
}

/// Said instead of following the console of an application without USB.
pub const NO_USB_CONSOLE: &str =
    "the application shows no USB port, so there is no console to follow";

/// Why no console follows the push, when the port has none (a `sim:`
/// port): the note to print instead.
pub fn no_console(ctx: &Ctx) -> Result<Option<String>> {
    let port = ctx.selection.ports.first().or(ctx.config.port.as_ref());
    Ok(match port.map(|p| PortSpec::parse(p)).transpose()? {
        None | Some(PortSpec::Serial(_)) | Some(PortSpec::Tcp(_)) => None,
        Some(other) => Some(format!(
            "{other} has no application console to follow; ota run returns (a serial port shows the log)"
        )),
    })
}
