//! Rendering push progress: an indicatif bar on a terminal, one plain line
//! per file when stderr is a pipe or a CI log, nothing with `--json` or `-q`.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::device::events::Event;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bar,
    Lines,
    Silent,
}

/// How the user asked to be spoken to.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub json: bool,
    pub quiet: bool,
    pub verbose: u8,
}

impl Ui {
    pub fn mode(&self) -> Mode {
        if self.json || self.quiet {
            Mode::Silent
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }

    /// A line for people, on stderr (never with --json or -q).
    pub fn say(&self, line: &str) {
        if !self.json && !self.quiet {
            eprintln!("{line}");
        }
    }

    /// A line for `-v`.
    pub fn detail(&self, line: &str) {
        if self.verbose > 0 && !self.json {
            eprintln!("{line}");
        }
    }
}

pub struct Progress {
    mode: Mode,
    bar: Option<ProgressBar>,
    started: Instant,
    total: u64,
    done: u64,
}

impl Progress {
    pub fn new(ui: Ui) -> Progress {
        Progress {
            mode: ui.mode(),
            bar: None,
            started: Instant::now(),
            total: 0,
            done: 0,
        }
    }

    pub fn handle(&mut self, ev: Event) {
        match (self.mode, ev) {
            (Mode::Silent, _) => {}
            (_, Event::Planned { files, bytes }) => {
                self.total = bytes;
                if files == 0 {
                    eprintln!("nothing to send: the device holds every file already");
                } else {
                    eprintln!("sending {files} file(s), {}", human_bytes(bytes));
                }
                if self.mode == Mode::Bar && files > 0 {
                    let bar = ProgressBar::new(bytes);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{bar:30.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {wide_msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    self.bar = Some(bar);
                }
            }
            (Mode::Bar, Event::FileStart { path, .. }) => {
                if let Some(b) = &self.bar {
                    b.set_message(path);
                }
            }
            (Mode::Lines, Event::FileStart { path, size }) => {
                eprintln!("  {path} ({})", human_bytes(size as u64))
            }
            (_, Event::Sent { bytes }) => {
                self.done += bytes;
                if let Some(b) = &self.bar {
                    b.inc(bytes);
                }
            }
            (_, Event::FileDone { .. }) => {}
            (_, Event::Retrying { reason }) => self.line(&format!("retrying: {reason}")),
            (_, Event::Committing) => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
                if self.total > 0 {
                    let secs = self.started.elapsed().as_secs_f64();
                    eprintln!("sent {} in {secs:.1}s; committing", human_bytes(self.done));
                } else {
                    eprintln!("committing");
                }
            }
            (_, Event::Rebooting) => eprintln!("rebooting the device"),
            (_, Event::WaitingForConfirm) => eprintln!("waiting for the new version to confirm"),
        }
    }

    fn line(&self, s: &str) {
        match &self.bar {
            Some(b) => b.println(s),
            None => eprintln!("{s}"),
        }
    }
}

pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
