//! Rendering push progress: an indicatif bar on a terminal, one plain line
//! per file when stderr is a pipe or a CI log, nothing with `--json` or `-q`.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::device::agent::events::Event;

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

    /// A warning: on stderr unless -q, with --json too.
    pub fn warn(&self, line: &str) {
        if !self.quiet {
            eprintln!("ota: warning: {line}");
        }
    }

    /// A line for `-v`.
    pub fn detail(&self, line: &str) {
        if self.verbose > 0 && !self.json {
            eprintln!("{line}");
        }
    }
}

/// Renders one device's push. With several devices each gets its own bar
/// (under one MultiProgress) or its own prefixed lines.
pub struct Progress {
    mode: Mode,
    bar: Option<ProgressBar>,
    multi: Option<MultiProgress>,
    prefix: String,
    started: Instant,
    total: u64,
    done: u64,
}

/// A push that ends without committing (an error, Ctrl-C) takes its bar
/// off the screen, so that the message after it stands alone.
impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Progress {
    pub fn new(ui: Ui) -> Progress {
        Progress {
            mode: ui.mode(),
            bar: None,
            multi: None,
            prefix: String::new(),
            started: Instant::now(),
            total: 0,
            done: 0,
        }
    }

    /// One of several devices pushed at once, named `label`.
    pub fn in_multi(ui: Ui, multi: &MultiProgress, label: &str) -> Progress {
        let mut p = Progress::new(ui);
        p.multi = Some(multi.clone());
        p.prefix = format!("[{label}] ");
        p
    }

    pub fn handle(&mut self, ev: Event) {
        match (self.mode, ev) {
            (Mode::Silent, _) => {}
            (_, Event::Planned { files, bytes }) => {
                self.total = bytes;
                if files == 0 {
                    self.line("nothing to send: the device holds every file already");
                } else {
                    self.line(&format!("sending {files} file(s), {}", human_bytes(bytes)));
                }
                if self.mode == Mode::Bar && files > 0 {
                    let bar = ProgressBar::new(bytes);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix}{bar:30.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {wide_msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar.set_prefix(self.prefix.clone());
                    self.bar = Some(match &self.multi {
                        Some(m) => m.add(bar),
                        None => bar,
                    });
                }
            }
            (Mode::Bar, Event::FileStart { path, .. }) => {
                if let Some(b) = &self.bar {
                    b.set_message(crate::terminal::escape(&path).into_owned());
                }
            }
            (Mode::Lines, Event::FileStart { path, size }) => {
                let path = crate::terminal::escape(&path);
                self.line(&format!("  {path} ({})", human_bytes(size as u64)))
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
                    self.line(&format!(
                        "sent {} in {secs:.1}s; committing",
                        human_bytes(self.done)
                    ));
                } else {
                    self.line("committing");
                }
            }
            (_, Event::Rebooting) => self.line("rebooting the device"),
            (_, Event::WaitingForConfirm) => self.line("waiting for the new version to confirm"),
            (_, Event::Resumed { files_done }) => self.line(&format!(
                "resuming the unfinished push of this update ({files_done} file(s) already on the device)"
            )),
        }
    }

    fn line(&self, s: &str) {
        let s = format!("{}{s}", self.prefix);
        match (&self.bar, &self.multi) {
            (Some(b), _) => b.println(s),
            (None, Some(m)) if self.mode == Mode::Bar => {
                let _ = m.println(s);
            }
            _ => eprintln!("{s}"),
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
