//! Man pages for `ota` and each of its subcommands (`ota.1`, `ota-push.1`,
//! `ota-agent-install.1`, ...), generated from the same clap definition as
//! `--help`. The copies in `man/` are kept fresh by a test (tests/cli.rs).

use clap::CommandFactory;

/// Every page: file name and roff text.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let mut cmd = crate::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    collect(cmd, &mut out);
    out.sort();
    out
}

fn collect(cmd: clap::Command, out: &mut Vec<(String, Vec<u8>)>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
        collect(sub, out);
    }
    let man = clap_mangen::Man::new(cmd);
    let mut text = Vec::new();
    // Rendering into memory cannot fail.
    let _ = man.render(&mut text);
    out.push((man.get_filename(), text));
}
