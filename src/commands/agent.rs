//! `ota agent ...`: the simulated agent server, and the firmware's UF2 image.

use anyhow::Result;

use std::path::Path;

use serde_json::json;

use super::{print_json, print_line, Ctx};
use crate::cli::SimArgs;
use crate::device::serve;
use crate::exit::{fail, Kind};
use crate::progress::human_bytes;

pub fn sim(ctx: &Ctx, args: &SimArgs) -> Result<()> {
    let auto_confirm = !args.no_auto_confirm;
    let ui = ctx.ui;
    let mut announce = |where_: &str| {
        // The first line on stdout is where to connect; scripts and tests read it.
        let _ = print_line(where_);
        ui.say(&format!(
            "simulated agent on {where_} (flash {}); stop with Ctrl-C",
            args.flash.display()
        ));
    };
    match &args.listen {
        Some(addr) => serve::serve_tcp(
            &args.flash,
            auto_confirm,
            addr,
            args.idle_timeout.map(std::time::Duration::from_secs),
            &mut announce,
        ),
        None => serve::serve_pty(
            &args.flash,
            auto_confirm,
            args.by_id.as_deref(),
            &mut announce,
        ),
    }
}

/// Writes the UF2 of a firmware ELF, and reports its flash and RAM use.
pub fn uf2(ctx: &Ctx, elf: &Path, out: Option<&Path>) -> Result<()> {
    let bytes =
        std::fs::read(elf).map_err(|e| fail(Kind::Source, format!("{}: {e}", elf.display())))?;
    let image = crate::uf2::elf_to_uf2(&bytes)
        .map_err(|e| fail(Kind::Source, format!("{}: {e}", elf.display())))?;
    let sizes = crate::elf::section_sizes(&bytes)
        .map_err(|e| fail(Kind::Source, format!("{}: {e}", elf.display())))?;
    let out = out.map_or_else(|| elf.with_extension("uf2"), Path::to_path_buf);
    let tmp = out.with_extension("uf2.part");
    std::fs::write(&tmp, &image)
        .map_err(|e| fail(Kind::Source, format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &out)
        .map_err(|e| fail(Kind::Source, format!("{}: {e}", out.display())))?;
    let blocks = image.len() / crate::uf2::BLOCK;
    if ctx.ui.json {
        return print_json(&json!({
            "uf2": out.display().to_string(),
            "blocks": blocks,
            "text": sizes.text,
            "data": sizes.data,
            "bss": sizes.bss,
            "flash_bytes": sizes.text + sizes.data,
            "ram_bytes": sizes.data + sizes.bss,
        }));
    }
    print_line(&format!(
        "{}: {blocks} blocks; firmware uses {} of flash (text {} + data {}) and {} of static RAM (data {} + bss {})",
        out.display(),
        human_bytes(sizes.text + sizes.data),
        sizes.text,
        sizes.data,
        human_bytes(sizes.data + sizes.bss),
        sizes.data,
        sizes.bss
    ))
}
