//! Man pages for `ota` and each of its subcommands (`ota.1`, `ota-push.1`,
//! `ota-agent-install.1`, ...), generated from the same clap definition as
//! `--help` (examples and exit codes included). The copies in `man/` are
//! kept fresh by a test (tests/cli.rs).

use clap::{Arg, ArgAction};

/// Every page: file name and roff text.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let mut cmd = crate::cli::command().disable_help_subcommand(true);
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
    let usage = synopsis(&cmd);
    let man = clap_mangen::Man::new(cmd.override_usage(usage));
    let mut text = Vec::new();
    // Rendering into memory cannot fail.
    let _ = man.render(&mut text);
    out.push((man.get_filename(), text));
}

/// The SYNOPSIS line with each option's value name (`[--dir DIR]`), which
/// clap_mangen's own leaves out: `ota push [--dir DIR] [--port PORT]... `.
fn synopsis(cmd: &clap::Command) -> String {
    let grouped: Vec<Vec<&Arg>> = cmd
        .get_groups()
        .filter(|g| g.is_required_set())
        .map(|g| {
            g.get_args()
                .filter_map(|id| cmd.get_arguments().find(|a| a.get_id() == id))
                .collect()
        })
        .collect();
    let in_group = |a: &Arg| grouped.iter().flatten().any(|g| g.get_id() == a.get_id());
    let mut options: Vec<&Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional() && !in_group(a))
        .collect();
    // The command's own options first, then the global ones.
    options.sort_by_key(|a| (a.is_global_set(), a.get_display_order()));
    let mut words = vec![cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string()];
    words.extend(options.iter().map(|a| option_word(a)));
    for group in &grouped {
        let alternatives: Vec<String> = group.iter().map(|a| flag_and_value(a)).collect();
        words.push(format!("({})", alternatives.join(" | ")));
    }
    for a in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let name = value_name(a);
        let many = if takes_many(a) { "..." } else { "" };
        words.push(match a.is_required_set() {
            true => format!("{name}{many}"),
            false => format!("[{name}]{many}"),
        });
    }
    if cmd.has_subcommands() {
        words.push("COMMAND".to_string());
    }
    words.join(" ")
}

/// `[--port PORT]...`, `--version V`, `[-v|--verbose]...`.
fn option_word(a: &Arg) -> String {
    let word = flag_and_value(a);
    let many = if takes_many(a) { "..." } else { "" };
    if a.is_required_set() {
        format!("{word}{many}")
    } else {
        format!("[{word}]{many}")
    }
}

fn flag_and_value(a: &Arg) -> String {
    let flag = match (a.get_short(), a.get_long()) {
        (Some(s), Some(l)) => format!("-{s}|--{l}"),
        (Some(s), None) => format!("-{s}"),
        (None, Some(l)) => format!("--{l}"),
        (None, None) => String::new(),
    };
    let takes_value = a.get_num_args().is_some_and(|n| n.takes_values());
    if takes_value && !a.is_positional() {
        format!("{flag} {}", value_name(a))
    } else {
        flag
    }
}

fn value_name(a: &Arg) -> String {
    a.get_value_names()
        .map(|names| {
            names
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| a.get_id().as_str().to_uppercase())
}

fn takes_many(a: &Arg) -> bool {
    matches!(a.get_action(), ArgAction::Append | ArgAction::Count)
}
