//! The agent's USB side: CDC-ACM descriptors, and the loop that feeds the
//! bytes the host sends to the agent and sends back the frames it answers.
//!
//! The port carries protocol frames and nothing else: never write logs or
//! text here, the host parses every byte as frames.

use core::cell::RefCell;
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use embassy_rp::peripherals::USB;
use embassy_rp::usb::Driver;
use embassy_rp::watchdog::Watchdog;
use embassy_time::{with_timeout, Duration, Instant, Timer};
use embassy_usb::class::cdc_acm::CdcAcmClass;
use ota_agent::{link_buffer_for, Action, Agent, AgentLink};

use crate::packets::{packets, PACKET};

/// USB vendor id: pid.codes, which hands out free product ids to open projects.
pub const VID: u16 = 0x1209;
/// USB product id 0x0001 is pid.codes' shared *test* id, fine for development
/// and for this repository. A product that ships must request its own PID
/// from pid.codes (a pull request to github.com/pidcodes/pidcodes.github.com
/// for an open-source project) or use its company's VID, and change it here
/// and in the host's port discovery at the same time.
pub const PID: u16 = 0x0001;
pub const MANUFACTURER: &str = "ota";
pub const PRODUCT: &str = "ota agent";

/// Receive buffer for Data frames with 4 KiB payloads: 3 KiB more RAM than
/// 1 KiB frames buy a wire overhead of 1.4% instead of 3.2% (see
/// docs/performance.md).
pub const LINK_BUFFER: usize = link_buffer_for(4096);
pub type Link = AgentLink<LINK_BUFFER>;

pub use crate::block_flash::StoreFlash;
pub type Class<'d> = CdcAcmClass<'d, Driver<'d, USB>>;

/// Time the host gets to read the last replies before a requested reboot.
const REBOOT_DELAY: Duration = Duration::from_millis(50);
/// Longest wait for the host to take the replies before a requested reboot.
const REBOOT_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);
/// Replies that do not fit [`Outbox`] are written while the agent is still
/// answering (a long ListFiles); a host that takes none of them for this long
/// has gone away, and the rest of that answer is dropped.
const STALL_TIMEOUT: Duration = Duration::from_millis(500);
/// How often a silent link tells the agent that time passed.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// How long after a power-on the agent waits for a USB host to configure
/// it before the host window (a PC enumerates a full-speed device well
/// within this).
const ENUMERATION_CAP: Duration = Duration::from_millis(1000);
/// Replies waiting to be written. Holds any single reply frame and the usual
/// burst (Ack, FileDone); only a long file list goes beyond it.
const OUTBOX: usize = 2048;

/// Serves the host: packets in, frames out, reboot on request. With a
/// `window`, returns when no host has sent a byte by then; otherwise, and
/// once a host has spoken, never returns.
///
/// The agent sits in a `RefCell` shared with the reboot path; no borrow is
/// ever held across an `await`.
pub async fn serve(
    class: &mut Class<'_>,
    agent: &RefCell<Agent<StoreFlash>>,
    watchdog: &RefCell<Watchdog>,
    window: Option<Duration>,
) {
    let mut link = Link::new();
    let mut outbox = Outbox::new();
    let mut packet = [0u8; PACKET];
    // The first packet, when it came within the window: it is served below.
    let mut pending = None;
    if let Some(window) = window {
        // The window opens once a USB host has configured the device, so
        // that a slow enumeration does not eat it; a board on a charger,
        // which no host ever configures, hands over after the cap.
        if with_timeout(ENUMERATION_CAP, class.wait_connection())
            .await
            .is_err()
        {
            return;
        }
        match with_timeout(window, class.read_packet(&mut packet)).await {
            Err(_) => return,
            Ok(Ok(n)) => pending = Some(n),
            Ok(Err(_)) => {}
        }
    }
    loop {
        if pending.is_none() {
            class.wait_connection().await;
            link.reset();
            outbox.clear();
        }
        loop {
            let n = match pending.take() {
                Some(n) => n,
                None => match with_timeout(IDLE_POLL, class.read_packet(&mut packet)).await {
                    Ok(Ok(n)) => n,
                    Ok(Err(_)) => break, // unplugged or reset: wait for the host again
                    Err(_) => {
                        // Silence: the agent drops a session idle for SESSION_IDLE_MS.
                        agent.borrow_mut().idle(IDLE_POLL.as_millis() as u32);
                        continue;
                    }
                },
            };
            let action = {
                let mut agent = agent.borrow_mut();
                let mut send = |frame: &[u8]| outbox.push(frame, class);
                link.receive(&mut agent, &packet[..n], &mut send).1
            };
            if action == Action::Reboot {
                // Restart once the Done reply has left; a host that closed the
                // port at once does not hold the reboot up for long.
                let _ = with_timeout(REBOOT_FLUSH_TIMEOUT, outbox.flush(class)).await;
                Timer::after(REBOOT_DELAY).await;
                if agent.borrow().left_as_found() {
                    crate::handover::mark_visit(&mut watchdog.borrow_mut());
                }
                reboot(&mut watchdog.borrow_mut());
            }
            if action == Action::Bootsel {
                let _ = with_timeout(REBOOT_FLUSH_TIMEOUT, outbox.flush(class)).await;
                Timer::after(REBOOT_DELAY).await;
                // Both interfaces (the RPI-RP2 drive and PICOBOOT), no activity LED.
                embassy_rp::rom_data::reset_to_usb_boot(0, 0);
            }
            if outbox.flush(class).await.is_err() {
                break;
            }
        }
    }
}

/// Restarts the whole chip (everything but the oscillators) through the
/// watchdog, as a power-on would, so the host sees the device re-enumerate.
pub fn reboot(watchdog: &mut Watchdog) -> ! {
    watchdog.trigger_reset();
    loop {
        cortex_m::asm::nop();
    }
}

/// Reply bytes on their way to the host.
struct Outbox {
    buf: [u8; OUTBOX],
    len: usize,
    /// The host stopped taking packets during this answer: drop the rest.
    stalled: bool,
}

impl Outbox {
    const fn new() -> Self {
        Outbox {
            buf: [0; OUTBOX],
            len: 0,
            stalled: false,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
        self.stalled = false;
    }

    /// Queues one frame. Called from inside the agent, which cannot wait: when
    /// the frame does not fit, what is queued goes out first, synchronously.
    fn push(&mut self, frame: &[u8], class: &mut Class<'_>) {
        if self.stalled {
            return;
        }
        if self.len + frame.len() > OUTBOX {
            let queued = &self.buf[..self.len];
            let ok = packets(queued).all(|p| write_blocking(class, p, STALL_TIMEOUT));
            self.len = 0;
            if !ok {
                self.stalled = true;
                return;
            }
        }
        // Every reply frame is far smaller than the outbox (REPLY_MAX is 512).
        let n = frame.len().min(OUTBOX - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&frame[..n]);
        self.len += n;
    }

    /// Writes what is queued, ending the transfer with a short or empty packet.
    async fn flush(&mut self, class: &mut Class<'_>) -> Result<(), ()> {
        let len = core::mem::replace(&mut self.len, 0);
        let stalled = core::mem::replace(&mut self.stalled, false);
        for p in packets(&self.buf[..len]) {
            class.write_packet(p).await.map_err(|_| ())?;
        }
        if stalled {
            Err(())
        } else {
            Ok(())
        }
    }
}

/// Writes one packet without yielding to the executor, polling the endpoint
/// until the host has taken the previous packet or `timeout` passes. Only for
/// the rare answer that overflows the outbox; dropping the pending write is
/// safe, as embassy-rp copies the packet only once the endpoint is free.
fn write_blocking(class: &mut Class<'_>, packet: &[u8], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut write = pin!(class.write_packet(packet));
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match write.as_mut().poll(&mut cx) {
            Poll::Ready(r) => return r.is_ok(),
            Poll::Pending if Instant::now() >= deadline => return false,
            Poll::Pending => {}
        }
    }
}
