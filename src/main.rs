//! The `ota` binary: parse flags, load the config, run a command, and turn
//! its outcome into an exit code (see `ota --help`).

use clap::{CommandFactory, Parser};
use ota::cli::{AgentCommand, Cli, Command, ManifestCommand};
use ota::commands::{self, Ctx};
use ota::config::Config;
use ota::exit::{code_of, kind_of};
use ota::progress::Ui;

fn main() {
    let cli = Cli::parse();
    let json = cli.global.json;
    let code = match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            if json && !commands::json_printed() {
                let doc = serde_json::json!({
                    "result": "error",
                    "kind": kind_of(&e).map(|k| k.name()),
                    "error": format!("{e:#}"),
                });
                let _ = commands::print_json(&doc);
            }
            // Lines kept, but no byte of remote text in the chain drives the terminal.
            let text = format!("{e:#}");
            let safe: Vec<_> = text.split('\n').map(ota::terminal::escape).collect();
            eprintln!("ota: error: {}", safe.join("\n"));
            code_of(&e)
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Completions { shell } = cli.command {
        let mut cmd = Cli::command();
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
    let ctx = Ctx {
        config,
        ui,
        selection,
    };
    match &cli.command {
        Command::Push(args) => commands::push::run(&ctx, args),
        Command::Status => commands::inspect::status(&ctx),
        Command::Devices => commands::devices::run(&ctx),
        Command::Ls { long, previous } => commands::inspect::ls(&ctx, *long, *previous),
        Command::Confirm => commands::inspect::confirm(&ctx),
        Command::Rollback => commands::inspect::rollback(&ctx),
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
        Command::Agent(AgentCommand::Uf2 { elf, out }) => {
            commands::agent::uf2(&ctx, elf, out.as_deref())
        }
        Command::Completions { .. } => unreachable!("handled above"),
    }
}
