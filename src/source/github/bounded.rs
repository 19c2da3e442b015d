//! Bounds on a body read from the network, so that no server can hold ota
//! or its memory: a size cap, no bytes for `stall` is a failure, and after a
//! grace period the transfer must keep an average rate (a body dripping one
//! byte a second ends, not only one that stops).

use std::time::{Duration, Instant};

/// The slowest average rate accepted after the grace period: 16 KiB/s, far
/// below any working link, far above a server that drips.
pub const MIN_RATE: u64 = 16 * 1024;

/// Why a body was given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    /// More than `cap` bytes.
    TooLarge { cap: u64 },
    /// No byte for this long.
    Stalled(Duration),
    /// `got` bytes in `secs` seconds: slower than [`MIN_RATE`].
    TooSlow { got: u64, secs: u64 },
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::TooLarge { cap } => write!(
                f,
                "sent more than {}, the most ota reads for this answer",
                crate::progress::human_bytes(*cap)
            ),
            Bound::Stalled(d) => write!(f, "sent nothing for {}s", d.as_secs()),
            Bound::TooSlow { got, secs } => write!(
                f,
                "sent {got} bytes in {secs}s, slower than {} KiB/s",
                MIN_RATE / 1024
            ),
        }
    }
}

/// The pace of one body.
#[derive(Debug, Clone)]
pub struct Pace {
    start: Instant,
    last: Instant,
    got: u64,
    cap: u64,
    stall: Duration,
}

impl Pace {
    /// A body of at most `cap` bytes; `stall` is both the longest silence
    /// and the grace before the rate floor applies.
    pub fn new(cap: u64, stall: Duration) -> Pace {
        let now = Instant::now();
        Pace {
            start: now,
            last: now,
            got: 0,
            cap,
            stall,
        }
    }

    /// When the next bytes must have come, and what it means if they do not.
    fn deadline(&self) -> (Instant, Bound) {
        let silent = self.last + self.stall;
        let rate = self.start
            + self.stall
            + Duration::from_millis(self.got.saturating_mul(1000) / MIN_RATE);
        if silent <= rate {
            (silent, Bound::Stalled(self.stall))
        } else {
            let secs = rate.saturating_duration_since(self.start).as_secs();
            (
                rate,
                Bound::TooSlow {
                    got: self.got,
                    secs,
                },
            )
        }
    }

    /// Awaits `next` (the body's next chunk) within the bounds.
    pub async fn next<T>(&self, next: impl std::future::Future<Output = T>) -> Result<T, Bound> {
        let (at, why) = self.deadline();
        tokio::time::timeout_at(at.into(), next)
            .await
            .map_err(|_| why)
    }

    /// Counts `n` more bytes; over the cap is an error.
    pub fn add(&mut self, n: usize) -> Result<(), Bound> {
        self.got += n as u64;
        self.last = Instant::now();
        if self.got > self.cap {
            return Err(Bound::TooLarge { cap: self.cap });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_enforced() {
        let mut p = Pace::new(10, Duration::from_secs(5));
        assert_eq!(p.add(10), Ok(()));
        assert_eq!(p.add(1), Err(Bound::TooLarge { cap: 10 }));
    }

    #[test]
    fn silence_comes_first_until_enough_bytes_make_the_rate_floor_later() {
        let p = Pace::new(u64::MAX, Duration::from_secs(5));
        assert_eq!(p.deadline().1, Bound::Stalled(Duration::from_secs(5)));
        let mut p = Pace::new(u64::MAX, Duration::from_secs(5));
        p.add(100 * MIN_RATE as usize).unwrap();
        // 100 s of budget earned: silence decides.
        assert!(matches!(p.deadline().1, Bound::Stalled(_)));
        let mut p = Pace::new(u64::MAX, Duration::from_secs(5));
        p.last = p.start + Duration::from_secs(20);
        // Bytes keep coming but few: the rate floor decides.
        assert!(matches!(p.deadline().1, Bound::TooSlow { .. }));
    }
}
