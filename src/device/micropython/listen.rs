//! Listening to a board while ota waits for one answer: every wait has a
//! deadline and a byte budget, what is kept of the board's output is
//! bounded, and a search resumes where the last one stopped. A board that
//! floods or trickles therefore costs ota time in proportion to what it
//! sent, never more memory than [`KEPT`], and never more than the wait.

use std::io;
use std::time::{Duration, Instant};

use crate::device::link::transport::Transport;

/// The most a board may send while ota waits for one answer: an honest
/// board sends a few hundred bytes; a program printing in a loop, far more.
pub const BUDGET: u64 = 16 << 20;

/// The most of a board's output kept during a wait (the newest bytes).
pub const KEPT: usize = 64 << 10;

/// A search for one pattern in a buffer that only grows at its end (and
/// loses bytes at its front): each call looks only at what is new.
pub struct Search<'p> {
    pat: &'p [u8],
    from: usize,
}

impl<'p> Search<'p> {
    pub fn new(pat: &'p [u8]) -> Search<'p> {
        Search { pat, from: 0 }
    }

    /// Where `pat` starts in `hay`, looking from where the last call stopped.
    pub fn find(&mut self, hay: &[u8]) -> Option<usize> {
        let start = self.from.min(hay.len());
        if let Some(i) = hay[start..]
            .windows(self.pat.len())
            .position(|w| w == self.pat)
        {
            return Some(start + i);
        }
        // A match may still end in bytes not read yet.
        self.from = hay.len().saturating_sub(self.pat.len().saturating_sub(1));
        None
    }

    /// `n` bytes left the front of the buffer.
    fn dropped(&mut self, n: usize) {
        self.from = self.from.saturating_sub(n);
    }
}

/// One wait for an answer: its deadline, and what the board sent meanwhile.
pub struct Wait<'a> {
    /// What ota waits for, as messages name it ("the raw REPL's banner").
    pub what: &'a str,
    pub deadline: Instant,
    started: Instant,
    /// Bytes read during this wait, kept or not.
    pub read: u64,
    /// The most this wait reads.
    pub budget: u64,
}

impl<'a> Wait<'a> {
    pub fn new(what: &'a str, timeout: Duration) -> Wait<'a> {
        Wait::until(what, Instant::now() + timeout)
    }

    pub fn until(what: &'a str, deadline: Instant) -> Wait<'a> {
        Wait {
            what,
            deadline,
            started: Instant::now(),
            read: 0,
            budget: BUDGET,
        }
    }

    /// The same wait going on for something else, by `deadline`: what was
    /// read and when it began still count.
    pub fn then(&self, what: &'a str, deadline: Instant) -> Wait<'a> {
        Wait {
            what,
            deadline,
            ..*self
        }
    }

    /// Reads what the board sends next into `seen` (dropping its oldest
    /// bytes beyond [`KEPT`], and telling `searches`). `Ok(false)` when the
    /// deadline has passed; an error when the board sent more than [`BUDGET`].
    pub fn more(
        &mut self,
        t: &mut dyn Transport,
        seen: &mut Vec<u8>,
        searches: &mut [&mut Search<'_>],
    ) -> io::Result<bool> {
        Ok(self.read_more(t, seen, searches)?.is_some())
    }

    /// [`Wait::more`], saying how many bytes came (the last ones of `seen`).
    pub fn read_more(
        &mut self,
        t: &mut dyn Transport,
        seen: &mut Vec<u8>,
        searches: &mut [&mut Search<'_>],
    ) -> io::Result<Option<usize>> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let mut buf = [0u8; 4096];
        let n = t.recv(&mut buf, left)?;
        self.read += n as u64;
        if self.read > self.budget {
            return Err(self.flooded(seen));
        }
        seen.extend_from_slice(&buf[..n]);
        if seen.len() > KEPT {
            let cut = seen.len() - KEPT / 2;
            seen.drain(..cut);
            for s in searches.iter_mut() {
                s.dropped(cut);
            }
        }
        Ok(Some(n))
    }

    /// The error for a board that sent too much, or kept sending until the
    /// deadline, without the answer.
    pub fn flooded(&self, seen: &[u8]) -> io::Error {
        io::Error::other(format!(
            "the board sent {} in {:.1}s while ota waited for {}; is a program printing in a loop? \
             (it ended with {})",
            size(self.read),
            self.started.elapsed().as_secs_f32(),
            self.what,
            shown(seen)
        ))
    }

    /// The error for a wait that ended at its deadline.
    pub fn timed_out(&self, seen: &[u8]) -> io::Error {
        let sent = match self.read {
            0 => "the board sent nothing".to_string(),
            n => format!(
                "the board sent {} instead, ending with {}",
                size(n),
                shown(seen)
            ),
        };
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "ota waited {:.1}s for {}; {sent}",
                self.started.elapsed().as_secs_f32(),
                self.what
            ),
        )
    }
}

/// Reads until `pat` arrives; returns what came before it (at most [`KEPT`]
/// bytes of it) and leaves what came after in `seen`. `Ok(None)` at the deadline.
pub fn read_until(
    t: &mut dyn Transport,
    seen: &mut Vec<u8>,
    pat: &[u8],
    wait: &mut Wait<'_>,
) -> io::Result<Option<Vec<u8>>> {
    let mut search = Search::new(pat);
    loop {
        if let Some(at) = search.find(seen) {
            let rest = seen.split_off(at + pat.len());
            return Ok(Some(std::mem::replace(seen, rest)));
        }
        if !wait.more(t, seen, &mut [&mut search])? {
            return Ok(None);
        }
    }
}

/// Reads whatever arrives until the line stays quiet for `quiet`; an error
/// when the board is still sending at the wait's deadline, or past the budget.
pub fn drain(t: &mut dyn Transport, quiet: Duration, wait: &mut Wait<'_>) -> io::Result<()> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = wait.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(wait.flooded(&seen));
        }
        let n = t.recv(&mut buf, quiet.min(left))?;
        if n == 0 && left > quiet {
            return Ok(());
        }
        wait.read += n as u64;
        if wait.read > wait.budget {
            return Err(wait.flooded(&seen));
        }
        seen.extend_from_slice(&buf[..n]);
        if seen.len() > KEPT {
            seen.drain(..seen.len() - KEPT / 2);
        }
    }
}

/// A byte count as people read it.
pub fn size(n: u64) -> String {
    match n {
        0..=9_999 => format!("{n} bytes"),
        10_000..=9_999_999 => format!("{} KiB", n >> 10),
        _ => format!("{} MiB", n >> 20),
    }
}

/// The last of what a board sent, quoted, for a message.
pub fn shown(b: &[u8]) -> String {
    let tail = &b[b.len().saturating_sub(1200)..];
    let s = String::from_utf8_lossy(tail);
    let s = s.trim();
    let tail: String = s
        .chars()
        .rev()
        .take(120)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if tail.is_empty() {
        "nothing".into()
    } else {
        format!("{tail:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A board that sends `byte` without end, `per_read` at a time.
    struct Endless {
        byte: u8,
        per_read: usize,
    }

    impl Transport for Endless {
        fn send(&mut self, _: &[u8]) -> io::Result<()> {
            Ok(())
        }
        fn recv(&mut self, buf: &mut [u8], _: Duration) -> io::Result<usize> {
            let n = self.per_read.min(buf.len());
            buf[..n].fill(self.byte);
            Ok(n)
        }
        fn reconnect(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn name(&self) -> String {
            "endless".into()
        }
    }

    #[test]
    fn a_flood_is_cut_at_the_budget_and_what_is_kept_stays_bounded() {
        let mut t = Endless {
            byte: b'x',
            per_read: 4096,
        };
        let mut seen = Vec::new();
        let mut wait = Wait::new("the banner", Duration::from_secs(3600));
        let e = read_until(&mut t, &mut seen, b"banner", &mut wait).unwrap_err();
        assert!(e.to_string().starts_with("the board sent 16 MiB in"), "{e}");
        assert!(
            e.to_string().contains("while ota waited for the banner"),
            "{e}"
        );
        assert!(seen.len() <= KEPT);
        assert!(wait.read > BUDGET && wait.read <= BUDGET + 4096);
    }

    #[test]
    fn a_trickle_ends_at_the_deadline() {
        let mut t = Endless {
            byte: b'.',
            per_read: 1,
        };
        let mut seen = Vec::new();
        let mut wait = Wait::new("the banner", Duration::from_millis(20));
        assert!(read_until(&mut t, &mut seen, b"banner", &mut wait)
            .unwrap()
            .is_none());
        let e = wait.timed_out(&seen).to_string();
        assert!(e.contains("for the banner; the board sent"), "{e}");
    }

    #[test]
    fn a_search_finds_a_pattern_split_across_reads() {
        let mut s = Search::new(b"OTA-PONG");
        let mut hay = b"xxxxOTA-".to_vec();
        assert_eq!(s.find(&hay), None);
        hay.extend_from_slice(b"PONGyy");
        assert_eq!(s.find(&hay), Some(4));
    }

    #[test]
    fn a_search_looks_only_at_what_is_new() {
        let mut s = Search::new(b"ab");
        let hay = vec![b'x'; 1000];
        assert_eq!(s.find(&hay), None);
        assert_eq!(s.from, 999);
        s.dropped(500);
        assert_eq!(s.from, 499);
    }
}
