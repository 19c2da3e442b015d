//! `ota agent ...`: the simulated agent server.

use anyhow::Result;

use super::{print_line, Ctx};
use crate::cli::SimArgs;
use crate::device::serve;

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
        Some(addr) => serve::serve_tcp(&args.flash, auto_confirm, addr, &mut announce),
        None => serve::serve_pty(&args.flash, auto_confirm, &mut announce),
    }
}
