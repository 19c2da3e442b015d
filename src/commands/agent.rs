//! `ota agent ...`: the simulated agent server, and the firmware's UF2 image.

use anyhow::Result;

use std::path::Path;

use serde_json::json;

use super::{print_json, print_line, Ctx};
use crate::cli::SimArgs;
use crate::device::sim::serve;
use crate::exit::{fail, Kind};
use crate::progress::human_bytes;

pub fn sim(ctx: &Ctx, args: &SimArgs) -> Result<()> {
    let auto_confirm = !args.no_auto_confirm;
    let ui = ctx.ui;
    if args.micropython {
        return crate::device::sim::micropython_board::serve(&args.fs, &mut |port| {
            let _ = print_line(port);
            ui.say(&format!(
                "MicroPython board on {port}, its filesystem in {}; stop with Ctrl-C",
                args.fs.display()
            ));
        });
    }
    let mut announce = |where_: &str| {
        // The first line on stdout is where to connect; scripts and tests read it.
        let _ = print_line(where_);
        ui.say(&format!(
            "simulated agent on {where_} (flash {}); stop with Ctrl-C",
            args.flash.display()
        ));
    };
    // The simulator has no boot ROM: it says so, and starts the agent again.
    let bootsel = move |n: u32| {
        ui.say(&format!(
            "BOOTSEL requested ({n} so far): a board would now be in its boot ROM; the simulated agent starts again"
        ))
    };
    match &args.listen {
        Some(addr) => serve::serve_tcp(
            &crate::device::sim::SimImage {
                app: args.app,
                durable: args.sync,
                ..crate::device::sim::SimImage::new(&args.flash)
            },
            auto_confirm,
            addr,
            args.idle_timeout.map(std::time::Duration::from_secs),
            &mut announce,
            std::sync::Arc::new(bootsel),
        ),
        None => serve::serve_pty(
            &crate::device::sim::SimImage {
                app: args.app_without_usb,
                durable: args.sync,
                ..crate::device::sim::SimImage::new(&args.flash)
            },
            auto_confirm,
            args.by_id.as_deref(),
            &mut announce,
            &mut { bootsel },
        ),
    }
}

/// Writes the UF2 of the agent's ELF, with an application's when given, and
/// reports the flash and RAM each uses.
pub fn uf2(ctx: &Ctx, elf: &Path, app: Option<&Path>, out: Option<&Path>) -> Result<()> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| fail(Kind::Source, format!("{}: {e}", p.display())))
    };
    let agent_bytes = read(elf)?;
    let app_bytes = app.map(crate::app_image::read_app).transpose()?;
    let image = crate::uf2::firmware_uf2(&agent_bytes, app_bytes.as_deref()).map_err(|e| {
        let which = match e {
            crate::uf2::Uf2Error::AppOutsideSlot { .. }
            | crate::uf2::Uf2Error::AppTooBig { .. }
            | crate::uf2::Uf2Error::NoVectorTable => app.unwrap_or(elf),
            _ => elf,
        };
        fail(Kind::Source, format!("{}: {e}", which.display()))
    })?;
    let sizes = |p: &Path, bytes: &[u8]| {
        crate::elf::section_sizes(bytes)
            .map_err(|e| fail(Kind::Source, format!("{}: {e}", p.display())))
    };
    let agent_sizes = sizes(elf, &agent_bytes)?;
    let app_sizes = match (app, &app_bytes) {
        (Some(p), Some(b)) => Some(sizes(p, b)?),
        _ => None,
    };
    let out = out.map_or_else(|| elf.with_extension("uf2"), Path::to_path_buf);
    let tmp = out.with_extension("uf2.part");
    std::fs::write(&tmp, &image)
        .map_err(|e| fail(Kind::Source, format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &out)
        .map_err(|e| fail(Kind::Source, format!("{}: {e}", out.display())))?;
    let blocks = image.len() / crate::uf2::BLOCK;
    let use_json = |s: &crate::elf::Sizes| {
        json!({
            "text": s.text,
            "data": s.data,
            "bss": s.bss,
            "flash_bytes": s.text + s.data,
            "ram_bytes": s.data + s.bss,
        })
    };
    if ctx.ui.json {
        let mut doc = json!({ "uf2": out.display().to_string(), "blocks": blocks });
        doc["agent"] = use_json(&agent_sizes);
        doc["app"] = app_sizes.as_ref().map_or(serde_json::Value::Null, use_json);
        return print_json(&doc);
    }
    let line = |what: &str, s: &crate::elf::Sizes| {
        format!(
            "{what} uses {} of flash (text {} + data {}) and {} of static RAM (data {} + bss {})",
            human_bytes(s.text + s.data),
            s.text,
            s.data,
            human_bytes(s.data + s.bss),
            s.data,
            s.bss
        )
    };
    let mut text = format!(
        "{}: {blocks} blocks; {}",
        out.display(),
        line("agent", &agent_sizes)
    );
    if let Some(s) = &app_sizes {
        text.push_str("; ");
        text.push_str(&line("application", s));
    }
    print_line(&text)
}
