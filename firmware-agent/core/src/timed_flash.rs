//! A NOR flash that adds up what its operations would cost on a real chip.
//!
//! `TimedFlash<F>` passes every operation to `F` unchanged and counts, per
//! operation, the chip's typical erase and program times. It is a
//! measuring instrument for the simulated Pico and the benchmarks: the agent
//! never reads these figures, so timing can never change what is written.

use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};

/// Bytes of one program page.
pub const PAGE_BYTES: u32 = 256;
/// Bytes of one 4 KiB sector erase.
pub const SECTOR_BYTES: u32 = 4096;
/// Bytes of one 64 KiB block erase (opcode D8h), aligned on 64 KiB.
pub const BLOCK_BYTES: u32 = 64 * 1024;

/// Typical times of a flash chip, and what its driver does with a long erase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlashTiming {
    /// One page program, 1 to 256 bytes (tPP).
    pub page_program_ns: u64,
    /// One 4 KiB sector erase (tSE).
    pub sector_erase_ns: u64,
    /// One 64 KiB block erase (tBE2).
    pub block_erase_ns: u64,
    /// True when the driver erases a 64 KiB-aligned 64 KiB range with one
    /// block erase; false when it erases such a range sector by sector.
    pub block_erase: bool,
}

impl FlashTiming {
    /// Winbond W25Q16JV, the Pico W's 2 MiB flash. Typical times from the
    /// W25Q16JV datasheet (revision H, 2019-04-08), section 9.6 "AC
    /// Electrical Characteristics":
    ///
    /// | operation                  | symbol | typical | maximum  |
    /// |----------------------------|--------|---------|----------|
    /// | page program (256 bytes)   | tPP    | 0.4 ms  | 3 ms     |
    /// | sector erase (4 KiB)       | tSE    | 45 ms   | 400 ms   |
    /// | block erase (64 KiB)       | tBE2   | 150 ms  | 2,000 ms |
    ///
    /// Typical is what a new part does at room temperature; worn parts drift
    /// towards the maximum. The command, address and data bytes on the QSPI
    /// bus (about 10 µs per page at the RP2040's flash clock) are left out.
    ///
    /// `block_erase` is true: the chip can. Whether a board does depends on
    /// its firmware's driver; see [`FlashTiming::sectors_only`].
    pub const W25Q16JV: FlashTiming = FlashTiming {
        page_program_ns: 400_000,
        sector_erase_ns: 45_000_000,
        block_erase_ns: 150_000_000,
        block_erase: true,
    };

    /// The same chip behind a driver that only ever issues 4 KiB sector
    /// erases. embassy-rp 0.10 (the Pico firmware's HAL) is one: its
    /// `Flash::blocking_erase` calls the boot ROM's `flash_range_erase` with
    /// `block_size = 1 << 31, block_cmd = 0`, so the ROM never uses D8h.
    pub const fn sectors_only(self) -> FlashTiming {
        FlashTiming {
            block_erase: false,
            ..self
        }
    }

    /// Time to erase and program `bytes` bytes at the chip's best: whole
    /// 64 KiB blocks (when the driver can) and whole pages. The flash's
    /// bound for a push of that many bytes.
    pub fn bound_ns(&self, bytes: u64) -> u64 {
        let pages = bytes.div_ceil(PAGE_BYTES as u64);
        let erase = if self.block_erase {
            bytes as u128 * self.block_erase_ns as u128 / BLOCK_BYTES as u128
        } else {
            bytes as u128 * self.sector_erase_ns as u128 / SECTOR_BYTES as u128
        };
        pages * self.page_program_ns + erase as u64
    }
}

/// What a flash did, and how long the chip was busy doing it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlashWork {
    pub sector_erases: u64,
    pub block_erases: u64,
    pub page_programs: u64,
    /// Erase and program calls made by the agent (each one stalls an
    /// RP2040 for its whole duration: code runs from this flash).
    pub calls: u64,
    /// The chip's modeled busy time, in nanoseconds.
    pub busy_ns: u64,
}

impl FlashWork {
    /// The work done since `earlier` (a snapshot of the same counter).
    pub fn since(&self, earlier: &FlashWork) -> FlashWork {
        FlashWork {
            sector_erases: self.sector_erases.saturating_sub(earlier.sector_erases),
            block_erases: self.block_erases.saturating_sub(earlier.block_erases),
            page_programs: self.page_programs.saturating_sub(earlier.page_programs),
            calls: self.calls.saturating_sub(earlier.calls),
            busy_ns: self.busy_ns.saturating_sub(earlier.busy_ns),
        }
    }

    /// Both amounts of work together.
    pub fn plus(&self, other: &FlashWork) -> FlashWork {
        FlashWork {
            sector_erases: self.sector_erases + other.sector_erases,
            block_erases: self.block_erases + other.block_erases,
            page_programs: self.page_programs + other.page_programs,
            calls: self.calls + other.calls,
            busy_ns: self.busy_ns + other.busy_ns,
        }
    }
}

/// `F`, with a running count of what its operations cost on the modeled chip.
pub struct TimedFlash<F> {
    inner: F,
    timing: FlashTiming,
    work: FlashWork,
}

impl<F> TimedFlash<F> {
    pub fn new(inner: F, timing: FlashTiming) -> Self {
        TimedFlash {
            inner,
            timing,
            work: FlashWork::default(),
        }
    }

    /// Everything done so far.
    pub fn work(&self) -> FlashWork {
        self.work
    }

    pub fn timing(&self) -> FlashTiming {
        self.timing
    }

    pub fn inner(&self) -> &F {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut F {
        &mut self.inner
    }

    pub fn into_inner(self) -> F {
        self.inner
    }

    /// Counts an erase of `[from, to)`: whole aligned blocks as block erases
    /// when the driver does that, everything else sector by sector.
    fn count_erase(&mut self, from: u32, to: u32) {
        let t = self.timing;
        let mut at = from;
        while at < to {
            let whole_block =
                t.block_erase && at.is_multiple_of(BLOCK_BYTES) && to - at >= BLOCK_BYTES;
            if whole_block {
                self.work.block_erases += 1;
                self.work.busy_ns += t.block_erase_ns;
                at += BLOCK_BYTES;
            } else {
                self.work.sector_erases += 1;
                self.work.busy_ns += t.sector_erase_ns;
                at += SECTOR_BYTES;
            }
        }
        self.work.calls += 1;
    }

    /// Counts a program of `len` bytes at `offset`: one page program per
    /// page touched, as the chip takes at most one page per command.
    fn count_write(&mut self, offset: u32, len: usize) {
        if len == 0 {
            return;
        }
        let first = offset / PAGE_BYTES;
        let last = (offset as u64 + len as u64 - 1) / PAGE_BYTES as u64;
        let pages = last - first as u64 + 1;
        self.work.page_programs += pages;
        self.work.busy_ns += pages * self.timing.page_program_ns;
        self.work.calls += 1;
    }
}

impl<F: ErrorType> ErrorType for TimedFlash<F> {
    type Error = F::Error;
}

impl<F: ReadNorFlash> ReadNorFlash for TimedFlash<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.inner.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
}

impl<F: NorFlash> NorFlash for TimedFlash<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.inner.erase(from, to)?;
        self.count_erase(from, to);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.inner.write(offset, bytes)?;
        self.count_write(offset, bytes.len());
        Ok(())
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::ram_flash::RamFlash;

    const MS: u64 = 1_000_000;

    #[test]
    fn an_aligned_64k_erase_is_one_block_erase_when_the_driver_can() {
        let mut f = TimedFlash::new(RamFlash::new(256 * 1024), FlashTiming::W25Q16JV);
        f.erase(64 * 1024, 128 * 1024).unwrap();
        assert_eq!(f.work().block_erases, 1);
        assert_eq!(f.work().sector_erases, 0);
        assert_eq!(f.work().busy_ns, 150 * MS);
        // Unaligned: sectors up to the boundary, then a block, then sectors.
        f.erase(124 * 1024, 200 * 1024).unwrap();
        let w = f.work();
        assert_eq!((w.block_erases, w.sector_erases), (2, 1 + 2));
        assert_eq!(w.calls, 2);
    }

    #[test]
    fn a_sectors_only_driver_erases_blocks_sector_by_sector() {
        let timing = FlashTiming::W25Q16JV.sectors_only();
        let mut f = TimedFlash::new(RamFlash::new(256 * 1024), timing);
        f.erase(64 * 1024, 128 * 1024).unwrap();
        assert_eq!(f.work().block_erases, 0);
        assert_eq!(f.work().sector_erases, 16);
        assert_eq!(f.work().busy_ns, 16 * 45 * MS);
    }

    #[test]
    fn each_page_touched_is_one_program() {
        let mut f = TimedFlash::new(RamFlash::new(64 * 1024), FlashTiming::W25Q16JV);
        f.write(0, &[0u8; 256]).unwrap();
        f.write(256 + 128, &[0u8; 256]).unwrap();
        f.write(1024, &[0u8; 32]).unwrap();
        assert_eq!(f.work().page_programs, 1 + 2 + 1);
        assert_eq!(f.work().busy_ns, 4 * 400_000);
        let before = f.work();
        f.write(2048, &[0u8; 4]).unwrap();
        assert_eq!(f.work().since(&before).page_programs, 1);
    }

    #[test]
    fn failed_operations_cost_nothing_and_bytes_pass_through() {
        let mut f = TimedFlash::new(RamFlash::new(8192), FlashTiming::W25Q16JV);
        f.write(0, &[1, 2, 3, 4]).unwrap();
        assert!(f.write(0, &[0, 0, 0, 0]).is_err(), "NOR rules still hold");
        let mut b = [0u8; 4];
        f.read(0, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
        assert_eq!(f.work().page_programs, 1);
    }

    #[test]
    fn the_bound_of_one_mebibyte() {
        let t = FlashTiming::W25Q16JV;
        // 16 blocks of 150 ms and 4096 pages of 0.4 ms.
        assert_eq!(t.bound_ns(1 << 20), 16 * 150 * MS + 4096 * 400_000);
        // 256 sectors of 45 ms and the same pages.
        assert_eq!(
            t.sectors_only().bound_ns(1 << 20),
            256 * 45 * MS + 4096 * 400_000
        );
    }
}
