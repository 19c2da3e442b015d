//! A timing model of a board behind the simulated agent: what the same
//! exchange would take on a Raspberry Pi Pico W over USB.
//!
//! The simulated agent runs the real agent code on a flash image; this
//! model adds up, for each request, the time a board would spend receiving
//! it over USB full-speed CDC, running the agent (hashing, framing) on its
//! Cortex-M0+, and erasing and programming its W25Q16JV; and, when the host
//! has to wait for a reply before it can send more, the round trip. On an
//! RP2040 these never overlap: the firmware handles one USB packet at a time
//! and a flash operation stalls the CPU (code runs from that flash), so the
//! board is a single queue and the model adds its times up.
//!
//! It measures; it never changes what the agent does. Reboots (a board's
//! restart and USB re-enumeration, a second or two) are counted, not timed.

use std::collections::VecDeque;

use ota_agent::timed_flash::{FlashTiming, FlashWork};
use serde::Serialize;

/// The link: USB 2.0 full speed, bulk endpoints of a CDC-ACM port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkTiming {
    /// wMaxPacketSize of the bulk endpoints: 64 bytes at full speed
    /// (USB 2.0 §5.8.3; the firmware's `packets::PACKET`).
    pub packet: u32,
    /// Full 64-byte bulk transactions in one 1 ms frame. USB 2.0 Table 5-9
    /// ("Full-speed Non-isochronous Transaction Limits"): at most 19, so
    /// 1,216,000 payload bytes a second at best; each costs 13 bytes of
    /// protocol overhead (token, data PID and CRC, handshake, inter-packet
    /// gaps) besides its payload.
    pub packets_per_frame: u32,
    /// A full-speed frame: 1 ms (USB 2.0 §8.4.3.1).
    pub frame_ns: u64,
    /// Protocol overhead of one transaction, in bytes (Table 5-9: 13).
    pub overhead_bytes: u32,
    /// When the host waits for a reply before it sends again: time from the
    /// reply's last packet to the next request's first at the device. An
    /// assumption, not a measurement: one full-speed frame (1 ms, USB 2.0
    /// §8.4.3.1), the granularity at which a host controller schedules the
    /// next transfer. Host stacks add 0.1 to 1 ms more (the tty layer's
    /// flip buffer, a thread wake-up); measure it on the bench's host.
    pub turnaround_ns: u64,
}

impl LinkTiming {
    pub const USB_FULL_SPEED: LinkTiming = LinkTiming {
        packet: 64,
        packets_per_frame: 19,
        frame_ns: 1_000_000,
        overhead_bytes: 13,
        turnaround_ns: 1_000_000,
    };

    /// The link's ceiling in payload bytes a second (Table 5-9: 1,216,000).
    pub fn raw_bytes_per_s(&self) -> f64 {
        (self.packet * self.packets_per_frame) as f64 * 1e9 / self.frame_ns as f64
    }

    /// Bus time of one full packet's transaction.
    fn full_packet_ns(&self) -> u64 {
        self.frame_ns / self.packets_per_frame as u64
    }

    /// Bus time of one transfer of `bytes` bytes: full packets, a short one,
    /// and a zero-length packet when the transfer fills its last packet
    /// (how the firmware ends its replies; the host's writes do the same).
    pub fn transfer_ns(&self, bytes: usize) -> u64 {
        let packet = self.packet as u64;
        let bytes = bytes as u64;
        let full = bytes / packet;
        let short = bytes % packet;
        let full_ns = self.full_packet_ns();
        let short_ns =
            full_ns * (short + self.overhead_bytes as u64) / (packet + self.overhead_bytes as u64);
        // A short or zero-length packet ends the transfer.
        full * full_ns + short_ns
    }
}

/// The agent's processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTiming {
    /// The RP2040's system clock as the firmware runs it (embassy-rp's default).
    pub hz: u64,
    /// Agent cycles per byte the host sends: USB packet handling, COBS,
    /// CRC-32, postcard, the Git blob SHA-1 as bytes arrive (once: each page
    /// is read back and compared as it is programmed, not hashed again).
    /// Measured, not assumed, together with `cycles_per_reply`: both are
    /// fitted to the release firmware run in rp2040js with the W25Q16JV's
    /// flash timing (`node bench.js boardtime` in firmware-agent/emu), so
    /// that this model's time matches the emulated time of the 1 MiB tree
    /// (50 files, 6.15 s) and the 1 MiB file (5.73 s) within 0.1% (0.5% in
    /// the next run, 2% for a one-file change): 11 cycles a byte and
    /// 297,000 a reply. They are what the agent spends beyond this model's
    /// link time, which the emulator's USB (a transfer completes 10 µs
    /// after it is armed) does not take, so they are not the agent's own
    /// split: the firmware's count is 186 cycles a byte of
    /// payload in all for the 1 MiB file (`node bench.js profile`). rp2040js
    /// counts instruction cycles but not XIP cache misses (the agent runs
    /// from SRAM, so only its reads of the store meet them).
    pub cycles_per_byte: u64,
    /// Agent cycles per reply it sends, on top of the bytes: decoding and
    /// answering the request, the page programs and erases it waited on
    /// around the boot ROM's routines, and handing the reply to USB. See
    /// `cycles_per_byte` for how it was measured.
    pub cycles_per_reply: u64,
}

impl CpuTiming {
    pub const RP2040: CpuTiming = CpuTiming {
        hz: 125_000_000,
        cycles_per_byte: 11,
        cycles_per_reply: 297_000,
    };

    pub fn ns_for(&self, bytes: usize) -> u64 {
        (bytes as u128 * self.cycles_per_byte as u128 * 1_000_000_000 / self.hz as u128) as u64
    }

    /// Time to produce one reply, besides its bytes.
    pub fn reply_ns(&self) -> u64 {
        self.cycles_per_reply * 1_000_000_000 / self.hz
    }
}

/// A board: flash, link, processor, and the largest Data payload its
/// firmware takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardModel {
    pub name: &'static str,
    pub flash: FlashTiming,
    pub link: LinkTiming,
    pub cpu: CpuTiming,
    /// The firmware's Data payload limit (its link buffer): what the
    /// simulated agent announces in Info, so the host sends what a board takes.
    pub max_chunk: u16,
}

impl BoardModel {
    /// A Pico W running `firmware-agent/pico` as it is built today: 4 KiB
    /// chunks, and its flash driver (`block_flash.rs`), which has the boot
    /// ROM erase each whole 64 KiB block with one D8h command. Checked
    /// against the firmware in the emulator with the W25Q16JV's timing
    /// (`firmware-agent/emu/bench.js boardtime`).
    pub const PICO_W: BoardModel = BoardModel {
        name: "pico-w",
        flash: FlashTiming::W25Q16JV,
        link: LinkTiming::USB_FULL_SPEED,
        cpu: CpuTiming::RP2040,
        max_chunk: 4096,
    };

    /// The same board: its driver now erases 64 KiB blocks (D8h). The name
    /// stays so that ports written for it still parse.
    pub const PICO_W_BLOCK_ERASE: BoardModel = BoardModel {
        name: "pico-w-block-erase",
        flash: FlashTiming::W25Q16JV,
        ..BoardModel::PICO_W
    };

    pub const ALL: [BoardModel; 2] = [BoardModel::PICO_W, BoardModel::PICO_W_BLOCK_ERASE];

    pub fn by_name(name: &str) -> Option<BoardModel> {
        BoardModel::ALL.into_iter().find(|m| m.name == name)
    }

    /// The same board with a firmware that takes Data payloads of `chunk` bytes.
    pub fn with_max_chunk(self, chunk: u16) -> BoardModel {
        BoardModel {
            max_chunk: chunk,
            ..self
        }
    }
}

/// What an exchange with a modeled board took, as the board would see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BoardTime {
    pub model: &'static str,
    /// The board's own clock, from the link's first request to its last
    /// reply: the sum of the four parts below.
    pub seconds: f64,
    /// The flash chip busy erasing and programming.
    pub flash_seconds: f64,
    /// Bytes on the USB bus, both ways.
    pub link_seconds: f64,
    /// The agent's processor at work.
    pub cpu_seconds: f64,
    /// The board idle, waiting for the host's next request.
    pub idle_seconds: f64,
    pub sector_erases: u64,
    pub block_erases: u64,
    pub page_programs: u64,
    /// Times the host had to wait for a reply before it could go on.
    pub host_waits: u64,
    /// Restarts requested (not timed).
    pub reboots: u32,
}

/// The running clock of one modeled board and its host.
pub struct BoardClock {
    model: BoardModel,
    /// When the host is ready to send its next request.
    host_ns: u64,
    /// When the board has finished all it was given.
    board_ns: u64,
    link_ns: u64,
    cpu_ns: u64,
    idle_ns: u64,
    flash: FlashWork,
    host_waits: u64,
    reboots: u32,
    /// Replies on their way to the host, with the time each arrives there.
    replies: VecDeque<(u64, Vec<u8>)>,
}

impl BoardClock {
    pub fn new(model: BoardModel) -> BoardClock {
        BoardClock {
            model,
            host_ns: 0,
            board_ns: 0,
            link_ns: 0,
            cpu_ns: 0,
            idle_ns: 0,
            flash: FlashWork::default(),
            host_waits: 0,
            reboots: 0,
            replies: VecDeque::new(),
        }
    }

    pub fn model(&self) -> &BoardModel {
        &self.model
    }

    /// The host sent `sent` bytes; the board took them, did `flash` work,
    /// and answered `reply` (possibly nothing).
    pub fn exchange(&mut self, sent: usize, flash: &FlashWork, reply: Vec<u8>, rebooted: bool) {
        let link = &self.model.link;
        // The request reaches the board half a turnaround after the host
        // sent it, or when the board is done with what came before.
        let ready = self.host_ns + link.turnaround_ns / 2;
        if ready > self.board_ns {
            self.idle_ns += ready - self.board_ns;
        }
        let mut t = ready.max(self.board_ns);
        let receive = link.transfer_ns(sent);
        let cpu = self.model.cpu.ns_for(sent);
        t += receive + cpu + flash.busy_ns;
        self.link_ns += receive;
        self.cpu_ns += cpu;
        self.flash = self.flash.plus(flash);
        if !reply.is_empty() {
            let answer = link.transfer_ns(reply.len());
            let cpu = self.model.cpu.reply_ns();
            t += cpu + answer;
            self.cpu_ns += cpu;
            self.link_ns += answer;
            self.replies.push_back((t + link.turnaround_ns / 2, reply));
        }
        if rebooted {
            self.reboots += 1;
        }
        self.board_ns = t;
    }

    /// Hands the host the next reply (or `max` bytes of it); the host's
    /// clock moves to when it arrived. Empty when no reply is on its way.
    pub fn take_reply(&mut self, max: usize) -> Vec<u8> {
        let Some((at, bytes)) = self.replies.front_mut() else {
            return Vec::new();
        };
        if *at > self.host_ns {
            self.host_waits += 1;
            self.host_ns = *at;
        }
        if bytes.len() <= max {
            let (_, bytes) = self.replies.pop_front().unwrap_or_default();
            return bytes;
        }
        bytes.drain(..max).collect()
    }

    /// Forgets replies not yet read (the host reconnected).
    pub fn drop_replies(&mut self) {
        self.replies.clear();
    }

    pub fn time(&self) -> BoardTime {
        let s = |ns: u64| ns as f64 / 1e9;
        BoardTime {
            model: self.model.name,
            seconds: s(self.board_ns),
            flash_seconds: s(self.flash.busy_ns),
            link_seconds: s(self.link_ns),
            cpu_seconds: s(self.cpu_ns),
            idle_seconds: s(self.idle_ns),
            sector_erases: self.flash.sector_erases,
            block_erases: self.flash.block_erases,
            page_programs: self.flash.page_programs,
            host_waits: self.host_waits,
            reboots: self.reboots,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_ceiling_is_table_5_9() {
        let l = LinkTiming::USB_FULL_SPEED;
        assert_eq!(l.raw_bytes_per_s().round(), 1_216_000.0);
        // 19 full packets fill a frame, and a zero-length packet ends the
        // transfer; a 10-byte reply is one short packet.
        let full = 1_000_000 / 19;
        assert_eq!(l.transfer_ns(19 * 64), 19 * full + full * 13 / 77);
        assert_eq!(l.transfer_ns(18 * 64 + 63), 18 * full + full * 76 / 77);
        assert!(l.transfer_ns(10) < l.transfer_ns(64));
        assert!(
            l.transfer_ns(0) > 0,
            "a zero-length packet still takes the bus"
        );
    }

    #[test]
    fn a_pipelined_host_keeps_the_board_busy_and_a_waiting_host_costs_a_turnaround() {
        let model = BoardModel::PICO_W;
        let work = FlashWork {
            busy_ns: 1_000_000,
            ..FlashWork::default()
        };
        // Two requests sent back to back: the second queues behind the first.
        let mut c = BoardClock::new(model);
        c.exchange(1000, &work, vec![0; 10], false);
        c.exchange(1000, &work, vec![0; 10], false);
        let pipelined = c.time();
        assert_eq!(pipelined.host_waits, 0);
        // The same two, the host reading the first reply before sending the second.
        let mut c = BoardClock::new(model);
        c.exchange(1000, &work, vec![0; 10], false);
        assert_eq!(c.take_reply(1024).len(), 10);
        c.exchange(1000, &work, vec![0; 10], false);
        while !c.take_reply(1024).is_empty() {}
        let waiting = c.time();
        assert_eq!(waiting.host_waits, 2);
        let extra = waiting.idle_seconds - pipelined.idle_seconds;
        assert!((extra - 1e-3).abs() < 1e-6, "one turnaround: {extra}");
        assert_eq!(waiting.flash_seconds, 0.002);
    }

    #[test]
    fn models_by_name() {
        assert_eq!(BoardModel::by_name("pico-w"), Some(BoardModel::PICO_W));
        assert!(BoardModel::by_name("pico-w").unwrap().flash.block_erase);
        assert!(
            BoardModel::by_name("pico-w-block-erase")
                .unwrap()
                .flash
                .block_erase
        );
        assert_eq!(BoardModel::by_name("esp32"), None);
    }
}
