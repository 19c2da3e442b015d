//! The `ota` binary: parse flags, load the config, run a command, and turn
//! its outcome into an exit code (see `ota --help`).

use ota::cli::{AgentCommand, Cli, Command, ManifestCommand};
use ota::commands::{self, Ctx};
use ota::config::Config;
use ota::exit::{code_of, kind_of};
use ota::progress::Ui;

fn main() {
    let cli = ota::cli::parse();
    let json = cli.global.json;
    let code = match dispatch(cli) {
        Ok(()) => 0,
        Err(e) => {
            if json && !commands::json_printed() {
                let doc = serde_json::json!({
                    "result": "error",
                    "kind": kind_of(&e).map(|k| k.name()),
                    "error": commands::advice::describe(&e),
                });
                let _ = commands::print_json(&doc);
            }
            // Lines kept, but no byte of remote text in the chain drives the terminal.
            let text = commands::advice::describe(&e);
            let safe: Vec<_> = text.split('\n').map(ota::terminal::escape).collect();
            eprintln!("ota: error: {}", safe.join("\n"));
            code_of(&e)
        }
    };
    std::process::exit(code);
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    if let Command::Completions { shell } = cli.command {
        let mut cmd = ota::cli::command();
        clap_complete::generate(shell, &mut cmd, "ota", &mut std::io::stdout());
        return Ok(());
    }
    let g = cli.global;
    let config = Config::load(g.config.as_deref())?;
    let selection = commands::Selection {
        ports: g.port,
        serials: g.serial,
        all: g.all,
    };
    let ui = Ui {
        json: g.json,
        quiet: g.quiet,
        verbose: g.verbose.max(config.debug as u8),
    };
    for note in config.notes() {
        ui.detail(&note);
    }
    for warning in config.warnings() {
        ui.warn(&warning);
    }
    let ctx = Ctx {
        config,
        ui,
        selection,
    };
    match &cli.command {
        Command::Push(args) if args.monitor => {
            // Which board to follow is settled before the push, while its agent answers.
            let follow = commands::monitor::follow_of(&ctx)?;
            if commands::push::run(&ctx, args)?.application_without_usb {
                ctx.ui.say(commands::run::NO_USB_CONSOLE);
                return Ok(());
            }
            let plain = ota::console_lines::ConsoleLines::plain();
            commands::monitor::monitor(&ctx, &follow, plain, &[commands::monitor::QUIT])
        }
        Command::Push(args) => commands::push::run(&ctx, args).map(|_| ()),
        Command::Status => commands::inspect::status(&ctx),
        Command::Devices => commands::devices::run(&ctx),
        Command::Ls { long, previous } => commands::inspect::ls(&ctx, *long, *previous),
        Command::Confirm => commands::inspect::confirm(&ctx),
        Command::Rollback { force, boots } => commands::inspect::rollback(&ctx, *force, *boots),
        Command::Reboot => commands::inspect::reboot(&ctx),
        Command::Stage(args) => commands::stage::run(&ctx, args),
        Command::Manifest(ManifestCommand::Gen(args)) => commands::manifest::gen(&ctx, args),
        Command::Manifest(ManifestCommand::Verify(args)) => commands::manifest::verify(&ctx, args),
        Command::Manifest(ManifestCommand::Sign(args)) => commands::manifest::sign(&ctx, args),
        Command::Keygen { out } => commands::manifest::keygen(&ctx, out),
        Command::Provision { pubkey, clear, key } => {
            commands::inspect::provision(&ctx, pubkey, *clear, key.as_deref())
        }
        Command::Agent(AgentCommand::Sim(args)) => commands::agent::sim(&ctx, args),
        Command::Agent(AgentCommand::Uf2 { elf, app, out }) => {
            commands::agent::uf2(&ctx, elf, app.as_deref(), out.as_deref())
        }
        Command::Agent(AgentCommand::Install(args)) => commands::install::run(&ctx, args),
        Command::Bootsel => commands::bootsel::run(&ctx),
        Command::Monitor(args) => commands::monitor::run(&ctx, args),
        Command::New(args) => commands::new::run(&ctx, args),
        Command::Run(args) => run(&ctx, args),
        Command::Completions { .. } => unreachable!("handled above"),
    }
}

/// `ota run`: the push, then the console (unless asked not to, or the port
/// has none). The push's outcome is the exit code; the console only follows.
fn run(ctx: &Ctx, args: &ota::cli::RunArgs) -> anyhow::Result<()> {
    let push = commands::run::push_args(ctx, args)?;
    let note = commands::run::no_console(ctx)?;
    let follow = match (&note, args.no_monitor) {
        (None, false) => Some(commands::monitor::follow_of(ctx)?),
        _ => None,
    };
    if commands::push::run(ctx, &push)?.application_without_usb {
        if !args.no_monitor {
            ctx.ui.say(commands::run::NO_USB_CONSOLE);
        }
        return Ok(());
    }
    match (follow, note) {
        (Some(f), _) => {
            let lines = ota::console_lines::ConsoleLines::for_elf(&args.elf);
            let quit = &[commands::monitor::QUIT, commands::monitor::CTRL_C];
            commands::monitor::monitor(ctx, &f, lines, quit)
        }
        (None, Some(note)) if !args.no_monitor => {
            ctx.ui.say(&note);
            Ok(())
        }
        _ => Ok(()),
    }
}
