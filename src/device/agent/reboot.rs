//! Asking a device to restart, and knowing whether it heard.
//!
//! The agent answers Reboot with Done and then resets, so the Done is often
//! lost with the link, and a bad link can lose the Reboot itself. Without
//! knowing which, a host would wait for a confirmation that never comes
//! (the device never reset), or ask again and reset a board that did (which
//! spends one of a trial's boots). The agent's `boot_id` tells them apart:
//! an agent that still answers with the boot it had before never took the
//! request, so asking again is safe.

use std::time::{Duration, Instant};

use ota_protocol::Request;

use crate::device::agent::client::{Client, Msg};

/// Reboot requests sent before ota says the device does not take them.
pub const REBOOT_TRIES: u32 = 3;
/// How long the agent's Done may take, before ota asks which boot it is on.
const DONE_WAIT: Duration = Duration::from_millis(500);
/// How long an agent that did not reset takes to answer a Hello.
const PROBE_WAIT: Duration = Duration::from_secs(2);

/// Whether the device took a Reboot request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reboot {
    /// It said Done, went quiet (it is resetting), or answers from a new boot.
    Taken,
    /// It answered every request from the boot it had before: it never reset.
    NotTaken,
}

/// What ota says of a device that answered every Reboot from the boot it was
/// on; the caller says what that means for the user.
pub fn not_taken() -> String {
    format!(
        "the device did not restart: it answered {REBOOT_TRIES} reboot requests from the boot it was on"
    )
}

impl Client {
    /// Asks the device, which answered `boot_id` before, to restart, again
    /// while it answers from that same boot. A `boot_id` of 0 (an agent
    /// older than protocol 1.3) cannot be told apart: one request is sent.
    pub fn reboot(&mut self, boot_id: u32) -> anyhow::Result<Reboot> {
        for _ in 0..REBOOT_TRIES {
            self.send(&Request::Reboot)?;
            if matches!(self.recv(DONE_WAIT.min(self.timeout)), Ok(Some(Msg::Done))) {
                return Ok(Reboot::Taken);
            }
            if boot_id == 0 || self.boot_now() != Some(boot_id) {
                return Ok(Reboot::Taken);
            }
        }
        Ok(Reboot::NotTaken)
    }

    /// The boot an agent answers a Hello from at once; `None` when nothing
    /// answers (the board is resetting, or its application runs).
    fn boot_now(&mut self) -> Option<u32> {
        let hello = Request::Hello {
            major: ota_protocol::PROTOCOL_MAJOR,
            minor: ota_protocol::PROTOCOL_MINOR,
        };
        self.send(&hello).ok()?;
        let until = Instant::now() + PROBE_WAIT.min(self.timeout);
        loop {
            let left = until.checked_duration_since(Instant::now())?;
            match self.recv(left) {
                Ok(Some(Msg::Info(i))) => return Some(i.boot_id),
                Ok(Some(_)) => continue, // a late Done or an error for a damaged frame
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::link::transport::Transport;
    use crate::device::sim::{SimImage, SimTransport};
    use std::io;
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
    use std::sync::Arc;

    /// The simulated agent behind a link that loses the first `lose`
    /// Reboot frames it is given and, with `lose_done`, the Done of the one
    /// it passes (as a reset does); it counts the Reboots it passes.
    struct LosesReboots {
        inner: SimTransport,
        reboot: Vec<u8>,
        lose: u32,
        lose_done: bool,
        passed: Arc<AtomicU32>,
    }

    impl Transport for LosesReboots {
        fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
            if bytes == self.reboot.as_slice() {
                if self.lose > 0 {
                    self.lose -= 1;
                    return Ok(());
                }
                self.passed.fetch_add(1, SeqCst);
                self.inner.send(bytes)?;
                if self.lose_done {
                    // The simulated agent answers at once: this is its Done.
                    self.inner.recv(&mut [0u8; 64], Duration::ZERO)?;
                }
                return Ok(());
            }
            self.inner.send(bytes)
        }
        fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
            self.inner.recv(buf, timeout)
        }
        fn reconnect(&mut self) -> io::Result<()> {
            self.inner.reconnect()
        }
        fn name(&self) -> String {
            self.inner.name()
        }
        fn synchronous(&self) -> bool {
            true
        }
    }

    fn client(lose: u32, lose_done: bool) -> (Client, Arc<AtomicU32>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let image = SimImage::new(dir.path().join("pico.img"));
        let mut scratch = [0u8; 64];
        let mut frame = [0u8; 64];
        let n = ota_protocol::encode_frame(&Request::Reboot, &mut scratch, &mut frame).unwrap();
        let passed = Arc::default();
        let t = LosesReboots {
            inner: SimTransport::open(&image, true).unwrap(),
            reboot: frame[..n].to_vec(),
            lose,
            lose_done,
            passed: Arc::clone(&passed),
        };
        (
            Client::new(Box::new(t), Duration::from_secs(1)),
            passed,
            dir,
        )
    }

    #[test]
    fn a_lost_reboot_is_asked_again_and_a_taken_one_is_not() {
        for (lose, lose_done) in [(0, false), (0, true), (1, true), (REBOOT_TRIES - 1, false)] {
            let case = format!("{lose} Reboot(s) lost, Done lost: {lose_done}");
            let (mut c, passed, _dir) = client(lose, lose_done);
            let before = c.hello().unwrap().boot_id;
            assert_eq!(c.reboot(before).unwrap(), Reboot::Taken, "{case}");
            assert_ne!(c.hello().unwrap().boot_id, before, "{case}");
            assert_eq!(passed.load(SeqCst), 1, "{case}: one reset, never two");
        }
    }

    #[test]
    fn a_device_that_never_takes_it_is_said_to_have_not_reset() {
        let (mut c, passed, _dir) = client(REBOOT_TRIES, false);
        let before = c.hello().unwrap().boot_id;
        assert_eq!(c.reboot(before).unwrap(), Reboot::NotTaken);
        assert_eq!(c.hello().unwrap().boot_id, before);
        assert_eq!(passed.load(SeqCst), 0);
    }
}
