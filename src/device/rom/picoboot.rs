//! The RP2040 boot ROM's PICOBOOT interface (RP2040 datasheet §2.8.5): the
//! vendor USB interface a Pico in BOOTSEL mode (2e8a:0003) offers beside its
//! RPI-RP2 drive. `ota agent install` writes a UF2's pages to flash through
//! it where no drive is mounted (a headless CI runner), reads them back, and
//! reboots the board into what it wrote.
//!
//! A command is 32 bytes on the bulk OUT endpoint; a data phase follows in
//! the direction bit 7 of the command id names; then the device acknowledges
//! with a zero-length packet in the other direction. Nothing here prints.

use std::time::Duration;

use nusb::transfer::{Buffer, Bulk, ControlOut, ControlType, Direction, In, Out, Recipient};
use nusb::MaybeFuture;
use thiserror::Error;

use crate::device::rom::bootsel::BootselUsb;

/// First word of every command (`PICOBOOT_MAGIC`).
pub const MAGIC: u32 = 0x431F_D10B;
pub const CMD_LEN: usize = 32;
/// Flash is erased in 4 KiB sectors and written in 256-byte pages.
pub const SECTOR: u32 = 4096;
pub const PAGE: u32 = 256;
/// The interface's control request that clears a stalled command (`PICOBOOT_IF_RESET`).
pub const IF_RESET: u8 = 0x41;
/// Largest data phase one WRITE or READ carries here.
const MAX_TRANSFER: u32 = 4096;
const TIMEOUT: Duration = Duration::from_secs(5);

/// The commands `ota` sends, with their arguments (datasheet Table 174).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// 0x01: 1 = exclusive (the drive is ejected from the host's view while flashing).
    ExclusiveAccess(u8),
    /// 0x02: boot at `pc` with stack `sp` after `delay_ms` (pc 0: a normal flash boot).
    Reboot { pc: u32, sp: u32, delay_ms: u32 },
    /// 0x03: erase `size` bytes of flash at `addr` (both 4 KiB aligned).
    FlashErase { addr: u32, size: u32 },
    /// 0x84: read `size` bytes at `addr` (an IN data phase).
    Read { addr: u32, size: u32 },
    /// 0x05: write `size` bytes at `addr` (an OUT data phase; pages of 256 bytes).
    Write { addr: u32, size: u32 },
    /// 0x06: leave XIP mode, so the flash takes commands.
    ExitXip,
}

impl Command {
    pub fn id(self) -> u8 {
        match self {
            Command::ExclusiveAccess(_) => 0x01,
            Command::Reboot { .. } => 0x02,
            Command::FlashErase { .. } => 0x03,
            Command::Read { .. } => 0x84,
            Command::Write { .. } => 0x05,
            Command::ExitXip => 0x06,
        }
    }

    /// Bytes of the data phase that follows the command.
    pub fn transfer_len(self) -> u32 {
        match self {
            Command::Read { size, .. } | Command::Write { size, .. } => size,
            _ => 0,
        }
    }

    /// The 32-byte command: magic, token, id, argument size, two zero bytes,
    /// transfer length, then up to 16 bytes of arguments, all little endian.
    pub fn encode(self, token: u32) -> [u8; CMD_LEN] {
        let mut args = Vec::with_capacity(16);
        match self {
            Command::ExclusiveAccess(mode) => args.push(mode),
            Command::Reboot { pc, sp, delay_ms } => {
                for w in [pc, sp, delay_ms] {
                    args.extend_from_slice(&w.to_le_bytes());
                }
            }
            Command::FlashErase { addr, size }
            | Command::Read { addr, size }
            | Command::Write { addr, size } => {
                args.extend_from_slice(&addr.to_le_bytes());
                args.extend_from_slice(&size.to_le_bytes());
            }
            Command::ExitXip => {}
        }
        let mut out = [0u8; CMD_LEN];
        out[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        out[4..8].copy_from_slice(&token.to_le_bytes());
        out[8] = self.id();
        out[9] = args.len() as u8;
        out[12..16].copy_from_slice(&self.transfer_len().to_le_bytes());
        out[16..16 + args.len()].copy_from_slice(&args);
        out
    }
}

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PicobootError {
    #[error("cannot open the BOOTSEL board over USB: {0} (on Linux, a udev rule must give you access to 2e8a:0003)")]
    Open(String),
    #[error(
        "the BOOTSEL board has no PICOBOOT interface (vendor class 0xFF with two bulk endpoints)"
    )]
    NoInterface,
    #[error("PICOBOOT {what} failed: {detail}")]
    Transfer { what: String, detail: String },
    #[error("flash at {addr:#010x} reads back differently from what was written")]
    Verify { addr: u32 },
    #[error("the UF2 holds no page for the RP2040's flash")]
    Empty,
}

/// The interface's two bulk endpoints: one OUT transfer (empty: a
/// zero-length packet), one IN transfer of up to `len` bytes.
pub trait Link {
    fn write(&mut self, bytes: &[u8]) -> Result<(), String>;
    fn read(&mut self, len: usize) -> Result<Vec<u8>, String>;
}

/// The real interface, through nusb.
pub struct UsbLink {
    /// Held so the interface stays claimed.
    _iface: nusb::Interface,
    out: nusb::Endpoint<Bulk, Out>,
    inp: nusb::Endpoint<Bulk, In>,
}

impl Link for UsbLink {
    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let c = self.out.transfer_blocking(Buffer::from(bytes), TIMEOUT);
        c.status.map_err(|e| e.to_string())
    }

    fn read(&mut self, len: usize) -> Result<Vec<u8>, String> {
        let buf = self.inp.allocate(len.div_ceil(64).max(1) * 64);
        let c = self.inp.transfer_blocking(buf, TIMEOUT);
        let got = c.buffer[..c.actual_len].to_vec();
        c.status.map_err(|e| e.to_string())?;
        Ok(got)
    }
}

/// A PICOBOOT session over a link.
pub struct Picoboot<L> {
    link: L,
    token: u32,
}

fn transfer_err(what: &str, e: impl std::fmt::Display) -> PicobootError {
    PicobootError::Transfer {
        what: what.to_string(),
        detail: e.to_string(),
    }
}

impl Picoboot<UsbLink> {
    pub fn open(dev: &BootselUsb) -> Result<Picoboot<UsbLink>, PicobootError> {
        let device = dev
            .info
            .open()
            .wait()
            .map_err(|e| PicobootError::Open(e.to_string()))?;
        let config = device
            .active_configuration()
            .map_err(|e| PicobootError::Open(e.to_string()))?;
        let mut found = None;
        for alt in config.interface_alt_settings() {
            if alt.class() != 0xFF {
                continue;
            }
            let eps: Vec<_> = alt.endpoints().collect();
            let out = eps.iter().find(|e| e.direction() == Direction::Out);
            let inp = eps.iter().find(|e| e.direction() == Direction::In);
            if let (Some(o), Some(i)) = (out, inp) {
                found = Some((alt.interface_number(), o.address(), i.address()));
            }
        }
        let (number, out_addr, in_addr) = found.ok_or(PicobootError::NoInterface)?;
        let iface = device
            .detach_and_claim_interface(number)
            .wait()
            .map_err(|e| PicobootError::Open(e.to_string()))?;
        let out = iface
            .endpoint::<Bulk, Out>(out_addr)
            .map_err(|e| PicobootError::Open(e.to_string()))?;
        let inp = iface
            .endpoint::<Bulk, In>(in_addr)
            .map_err(|e| PicobootError::Open(e.to_string()))?;
        // Clears whatever an earlier host left half done.
        iface
            .control_out(
                ControlOut {
                    control_type: ControlType::Vendor,
                    recipient: Recipient::Interface,
                    request: IF_RESET,
                    value: 0,
                    index: u16::from(number),
                    data: &[],
                },
                TIMEOUT,
            )
            .wait()
            .map_err(|e| transfer_err("interface reset", e))?;
        Ok(Picoboot::over(UsbLink {
            _iface: iface,
            out,
            inp,
        }))
    }
}

impl<L: Link> Picoboot<L> {
    pub fn over(link: L) -> Picoboot<L> {
        Picoboot { link, token: 1 }
    }

    pub fn into_link(self) -> L {
        self.link
    }

    /// Sends one command with its OUT data (or reads its IN data), then takes the acknowledgement.
    fn command(&mut self, cmd: Command, data: &[u8]) -> Result<Vec<u8>, PicobootError> {
        let what = format!("{cmd:?}");
        let err = |e: String| transfer_err(&what, e);
        let bytes = cmd.encode(self.token);
        self.token = self.token.wrapping_add(1);
        self.link.write(&bytes).map_err(err)?;
        if cmd.id() & 0x80 != 0 {
            let len = cmd.transfer_len() as usize;
            let mut read = Vec::with_capacity(len);
            while read.len() < len {
                read.extend(self.link.read(len - read.len()).map_err(err)?);
            }
            // The host acknowledges an IN command with an empty OUT packet.
            self.link.write(&[]).map_err(err)?;
            return Ok(read);
        }
        if !data.is_empty() {
            self.link.write(data).map_err(err)?;
        }
        self.link.read(0).map_err(err)?;
        Ok(Vec::new())
    }

    /// Erases, writes and reads back every page, then reboots into the new
    /// firmware. `progress` gets (bytes done, bytes total).
    pub fn flash(
        &mut self,
        pages: &[(u32, Vec<u8>)],
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), PicobootError> {
        let runs = runs(pages);
        if runs.is_empty() {
            return Err(PicobootError::Empty);
        }
        let total: u64 = runs.iter().map(|(_, d)| d.len() as u64).sum();
        self.command(Command::ExclusiveAccess(1), &[])?;
        self.command(Command::ExitXip, &[])?;
        let mut done = 0u64;
        for (addr, data) in &runs {
            for (i, chunk) in data.chunks(MAX_TRANSFER as usize).enumerate() {
                let at = addr + i as u32 * MAX_TRANSFER;
                let size = chunk.len() as u32;
                self.command(Command::FlashErase { addr: at, size }, &[])?;
                self.command(Command::Write { addr: at, size }, chunk)?;
                let back = self.command(Command::Read { addr: at, size }, &[])?;
                if back.get(..chunk.len()) != Some(chunk) {
                    return Err(PicobootError::Verify { addr: at });
                }
                done += u64::from(size);
                progress(done, total);
            }
        }
        self.command(
            Command::Reboot {
                pc: 0,
                sp: 0,
                delay_ms: 500,
            },
            &[],
        )?;
        Ok(())
    }
}

/// Pages grouped into runs of whole 4 KiB sectors, so each erase covers
/// only sectors the UF2 writes; bytes of a sector that no page fills are 0xFF
/// (as erased flash reads).
pub fn runs(pages: &[(u32, Vec<u8>)]) -> Vec<(u32, Vec<u8>)> {
    let mut sectors: std::collections::BTreeMap<u32, Vec<u8>> = Default::default();
    for (addr, data) in pages {
        let base = addr & !(SECTOR - 1);
        let s = sectors
            .entry(base)
            .or_insert_with(|| vec![0xFF; SECTOR as usize]);
        let at = (addr - base) as usize;
        let n = data.len().min(SECTOR as usize - at);
        s[at..at + n].copy_from_slice(&data[..n]);
    }
    let mut out: Vec<(u32, Vec<u8>)> = Vec::new();
    for (base, bytes) in sectors {
        match out.last_mut() {
            Some((start, run)) if *start + run.len() as u32 == base => run.extend(bytes),
            _ => out.push((base, bytes)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn commands_follow_the_documented_layout() {
        // struct picoboot_cmd: dMagic, dToken, bCmdId, bCmdSize, _unused (u16),
        // dTransferLength, then the 16-byte argument union.
        let c = Command::FlashErase {
            addr: 0x1000_0000,
            size: 0x2000,
        }
        .encode(7);
        assert_eq!(word(&c, 0), 0x431F_D10B);
        assert_eq!(&c[0..4], &[0x0B, 0xD1, 0x1F, 0x43]);
        assert_eq!(word(&c, 4), 7, "token");
        assert_eq!(c[8], 0x03, "PC_FLASH_ERASE");
        assert_eq!(c[9], 8, "range_cmd: dAddr, dSize");
        assert_eq!(&c[10..12], &[0, 0]);
        assert_eq!(word(&c, 12), 0, "no data phase");
        assert_eq!(word(&c, 16), 0x1000_0000);
        assert_eq!(word(&c, 20), 0x2000);
        assert!(c[24..].iter().all(|&b| b == 0));

        let w = Command::Write {
            addr: 0x1000_0100,
            size: 256,
        }
        .encode(8);
        assert_eq!((w[8], w[9], word(&w, 12)), (0x05, 8, 256));
        let r = Command::Read {
            addr: 0x1000_0100,
            size: 4096,
        }
        .encode(9);
        assert_eq!((r[8], r[9], word(&r, 12)), (0x84, 8, 4096));
        assert_eq!(r[8] & 0x80, 0x80, "bit 7: data flows to the host");

        let e = Command::ExclusiveAccess(1).encode(1);
        assert_eq!((e[8], e[9], e[16]), (0x01, 1, 1));
        let x = Command::ExitXip.encode(2);
        assert_eq!((x[8], x[9]), (0x06, 0));
        assert!(x[12..].iter().all(|&b| b == 0));

        let b = Command::Reboot {
            pc: 0,
            sp: 0x2004_2000,
            delay_ms: 500,
        }
        .encode(3);
        assert_eq!((b[8], b[9]), (0x02, 12));
        assert_eq!(
            (word(&b, 16), word(&b, 20), word(&b, 24)),
            (0, 0x2004_2000, 500)
        );
    }

    /// The boot ROM's side, from the datasheet: a command, its data phase,
    /// the acknowledgement the other way; flash that must be erased (after
    /// EXIT_XIP, with exclusive access) before it is written.
    struct FakeRom {
        flash: Vec<u8>,
        exclusive: bool,
        xip_off: bool,
        pending: Option<[u8; CMD_LEN]>,
        phase: Phase,
        log: Vec<u8>,
        rebooted: Option<(u32, u32, u32)>,
    }

    #[derive(PartialEq, Debug)]
    enum Phase {
        Idle,
        DataOut,
        DataIn,
        AckIn,
        AckOut,
    }

    impl FakeRom {
        fn new() -> FakeRom {
            FakeRom {
                flash: vec![0u8; 0x40000],
                exclusive: false,
                xip_off: false,
                pending: None,
                phase: Phase::Idle,
                log: Vec::new(),
                rebooted: None,
            }
        }

        fn range(c: &[u8; CMD_LEN]) -> (usize, usize) {
            let addr = word(c, 16);
            assert!(addr >= 0x1000_0000, "flash addresses are XIP addresses");
            ((addr - 0x1000_0000) as usize, word(c, 20) as usize)
        }

        fn run(&mut self, c: [u8; CMD_LEN]) {
            assert_eq!(word(&c, 0), MAGIC);
            self.log.push(c[8]);
            match c[8] {
                0x01 => self.exclusive = c[16] == 1,
                0x06 => self.xip_off = true,
                0x03 => {
                    assert!(
                        self.exclusive && self.xip_off,
                        "erase needs exclusive access and XIP off"
                    );
                    let (at, n) = FakeRom::range(&c);
                    assert_eq!((at % 4096, n % 4096), (0, 0), "erase on sector bounds");
                    self.flash[at..at + n].fill(0xFF);
                }
                0x02 => self.rebooted = Some((word(&c, 16), word(&c, 20), word(&c, 24))),
                _ => {}
            }
        }
    }

    impl Link for FakeRom {
        fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
            match self.phase {
                Phase::Idle => {
                    let c: [u8; CMD_LEN] = bytes.try_into().map_err(|_| "not 32 bytes")?;
                    self.run(c);
                    self.phase = match (c[8] & 0x80 != 0, word(&c, 12)) {
                        (true, _) => Phase::DataIn,
                        (false, 0) => Phase::AckIn,
                        (false, _) => Phase::DataOut,
                    };
                    self.pending = Some(c);
                }
                Phase::DataOut => {
                    let c = self.pending.unwrap();
                    let (at, n) = FakeRom::range(&c);
                    assert_eq!(bytes.len(), n, "the whole data phase");
                    assert_eq!(at % 256, 0, "writes on page bounds");
                    let erased = self.flash[at..at + n].iter().all(|&b| b == 0xFF);
                    assert!(erased, "write to flash that was not erased");
                    self.flash[at..at + n].copy_from_slice(bytes);
                    self.phase = Phase::AckIn;
                }
                Phase::AckOut => {
                    assert!(
                        bytes.is_empty(),
                        "an IN command is acknowledged with an empty packet"
                    );
                    self.phase = Phase::Idle;
                }
                ref p => panic!("host wrote during {p:?}"),
            }
            Ok(())
        }

        fn read(&mut self, _len: usize) -> Result<Vec<u8>, String> {
            match self.phase {
                Phase::AckIn => {
                    self.phase = Phase::Idle;
                    Ok(Vec::new())
                }
                Phase::DataIn => {
                    let (at, n) = FakeRom::range(&self.pending.unwrap());
                    self.phase = Phase::AckOut;
                    Ok(self.flash[at..at + n].to_vec())
                }
                ref p => panic!("host read during {p:?}"),
            }
        }
    }

    #[test]
    fn flashing_erases_writes_reads_back_and_reboots_in_the_documented_order() {
        let pages = vec![
            (0x1000_0000, vec![0xB2u8; 256]),
            (0x1000_0100, (0..=255u8).collect()),
            (0x1000_5000, vec![0x42u8; 256]),
        ];
        let mut p = Picoboot::over(FakeRom::new());
        let mut seen = Vec::new();
        p.flash(&pages, &mut |done, total| seen.push((done, total)))
            .unwrap();
        let rom = p.into_link();
        assert_eq!(
            rom.log,
            [0x01, 0x06, 0x03, 0x05, 0x84, 0x03, 0x05, 0x84, 0x02],
            "exclusive, exit XIP, then erase/write/read per sector run, then reboot"
        );
        assert_eq!(&rom.flash[..256], &[0xB2u8; 256][..]);
        assert_eq!(rom.flash[0x1ff], 255);
        assert!(rom.flash[0x200..0x1000].iter().all(|&b| b == 0xFF));
        assert_eq!(&rom.flash[0x5000..0x5100], &[0x42u8; 256][..]);
        assert!(
            rom.flash[0x1000..0x5000].iter().all(|&b| b == 0),
            "untouched"
        );
        assert_eq!(rom.rebooted, Some((0, 0, 500)), "a normal boot from flash");
        assert_eq!(seen, [(4096, 8192), (8192, 8192)]);
    }

    #[test]
    fn a_read_back_that_differs_is_an_error_naming_the_address() {
        struct Flaky(FakeRom);
        impl Link for Flaky {
            fn write(&mut self, b: &[u8]) -> Result<(), String> {
                self.0.write(b)
            }
            fn read(&mut self, len: usize) -> Result<Vec<u8>, String> {
                let mut r = self.0.read(len)?;
                if let Some(b) = r.get_mut(7) {
                    *b ^= 1;
                }
                Ok(r)
            }
        }
        let mut p = Picoboot::over(Flaky(FakeRom::new()));
        let e = p
            .flash(&[(0x1000_2000, vec![1u8; 256])], &mut |_, _| {})
            .unwrap_err();
        assert!(
            matches!(e, PicobootError::Verify { addr: 0x1000_2000 }),
            "{e}"
        );
        assert_eq!(p.into_link().0.rebooted, None, "no reboot into a bad image");
    }

    #[test]
    fn pages_become_whole_sector_runs() {
        let pages = vec![
            (0x1000_0000, vec![1u8; 256]),
            (0x1000_0100, vec![2u8; 256]),
            (0x1000_1000, vec![3u8; 256]),
            (0x1000_3000, vec![4u8; 256]),
        ];
        let r = runs(&pages);
        assert_eq!(r.len(), 2, "0x0000..0x2000 and 0x3000..0x4000");
        assert_eq!(r[0].0, 0x1000_0000);
        assert_eq!(r[0].1.len(), 8192);
        assert_eq!(&r[0].1[..256], &[1u8; 256][..]);
        assert_eq!(&r[0].1[256..512], &[2u8; 256][..]);
        assert!(r[0].1[512..4096].iter().all(|&b| b == 0xFF));
        assert_eq!(&r[0].1[4096..4352], &[3u8; 256][..]);
        assert_eq!((r[1].0, r[1].1.len()), (0x1000_3000, 4096));
    }
}
