//! `ota new DIR`: writes an application project for the slot from the
//! template (see src/project/template.rs), and says where its ota-app comes from.

use anyhow::Result;

use super::Ctx;
use crate::cli::NewArgs;
use crate::project::{self, OtaApp, Variant};

pub fn run(ctx: &Ctx, args: &NewArgs) -> Result<()> {
    let variant = if args.wifi {
        Variant::Wifi
    } else {
        Variant::Plain
    };
    let (ota_app, note) = match (&args.ota_app, OtaApp::of_build()) {
        (Some(p), _) => {
            let p = std::path::absolute(p)?;
            (
                OtaApp::Path(p.clone()),
                format!("ota-app: {} (--ota-app)", p.display()),
            )
        }
        (None, Some(p)) => (
            OtaApp::Path(p.clone()),
            format!(
                "ota-app: {}, the checkout this ota was built from (--ota-app PATH for another)",
                p.display()
            ),
        ),
        (None, None) => (
            OtaApp::Registry,
            format!(
                "ota-app: version {} from crates.io",
                project::template::OTA_APP_VERSION
            ),
        ),
    };
    let written = project::create(&args.dir, variant, &ota_app)?;
    let dir = args.dir.display();
    ctx.ui.say(&format!(
        "created {dir}: {} file(s){}",
        written.len(),
        if args.wifi {
            ", the Pico W variant"
        } else {
            ""
        }
    ));
    for path in &written {
        ctx.ui.detail(&format!("  {path}"));
    }
    ctx.ui.say(&note);
    ctx.ui.say(&format!(
        "next: cd {dir} && cargo run --release (OTA_PORT names the board; `ota agent install` puts the agent on it once)"
    ));
    Ok(())
}
