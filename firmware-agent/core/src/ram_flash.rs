//! A NOR flash in RAM for tests: strict about NOR rules, and able to cut the
//! power in the middle of any operation.
//!
//! Rules enforced: erase only whole 4 KiB sectors; program only 4-byte aligned
//! words that are fully erased (no second program of a word, so a bit can
//! only go 1→0 once per erase). A power cut at operation k tears it: a write
//! programs a prefix of its words and part of the next one, an erase leaves
//! each byte erased, unchanged, or arbitrary. Every operation after the cut
//! fails, as on a board with no power.

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RamFlashError {
    NotAligned,
    OutOfBounds,
    /// Programming a word that is not erased.
    NotErased,
    /// The power was cut.
    PowerCut,
}

impl NorFlashError for RamFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            RamFlashError::NotAligned => NorFlashErrorKind::NotAligned,
            RamFlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            _ => NorFlashErrorKind::Other,
        }
    }
}

#[derive(Clone)]
pub struct RamFlash {
    mem: Vec<u8>,
    ops: u64,
    cut_at: Option<u64>,
    dead: bool,
    rng: u64,
}

impl RamFlash {
    /// An erased flash of `size` bytes.
    pub fn new(size: usize) -> RamFlash {
        RamFlash {
            mem: vec![0xFF; size],
            ops: 0,
            cut_at: None,
            dead: false,
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// Erase and program operations so far.
    pub fn ops(&self) -> u64 {
        self.ops
    }

    /// Cut the power during operation number `op` (counting from the current
    /// count), tearing it with randomness drawn from `seed`.
    pub fn cut_at(&mut self, op: u64, seed: u64) {
        self.cut_at = Some(self.ops + op);
        self.rng = seed | 1;
    }

    /// True once the power has been cut.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Power comes back: the flash keeps whatever the cut left.
    pub fn power_on(&mut self) {
        self.dead = false;
        self.cut_at = None;
    }

    pub fn bytes(&self) -> &[u8] {
        &self.mem
    }

    /// The bytes themselves, as a UF2 drop would change them (no NOR rules).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.mem
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: deterministic for a seed, good enough to tear bytes.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Counts an operation; true when the power dies during it.
    fn step(&mut self) -> Result<bool, RamFlashError> {
        if self.dead {
            return Err(RamFlashError::PowerCut);
        }
        let cut = self.cut_at == Some(self.ops);
        self.ops += 1;
        Ok(cut)
    }
}

impl ErrorType for RamFlash {
    type Error = RamFlashError;
}

impl ReadNorFlash for RamFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        if self.dead {
            return Err(RamFlashError::PowerCut);
        }
        let o = offset as usize;
        let src = self
            .mem
            .get(o..o + bytes.len())
            .ok_or(RamFlashError::OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl NorFlash for RamFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 4096;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let (from, to) = (from as usize, to as usize);
        if from % Self::ERASE_SIZE != 0 || to % Self::ERASE_SIZE != 0 || from > to {
            return Err(RamFlashError::NotAligned);
        }
        if to > self.mem.len() {
            return Err(RamFlashError::OutOfBounds);
        }
        if self.step()? {
            for i in from..to {
                let r = self.next_random();
                self.mem[i] = match r % 3 {
                    0 => 0xFF,
                    1 => self.mem[i],
                    _ => (r >> 8) as u8,
                };
            }
            self.dead = true;
            return Err(RamFlashError::PowerCut);
        }
        self.mem[from..to].fill(0xFF);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let o = offset as usize;
        if !o.is_multiple_of(Self::WRITE_SIZE) || !bytes.len().is_multiple_of(Self::WRITE_SIZE) {
            return Err(RamFlashError::NotAligned);
        }
        if o + bytes.len() > self.mem.len() {
            return Err(RamFlashError::OutOfBounds);
        }
        if self.mem[o..o + bytes.len()].iter().any(|&b| b != 0xFF) {
            return Err(RamFlashError::NotErased);
        }
        if self.step()? {
            let whole = (self.next_random() as usize) % (bytes.len() + 1);
            for (d, &b) in self.mem[o..o + whole].iter_mut().zip(bytes) {
                *d &= b;
            }
            if whole < bytes.len() {
                let mask = self.next_random() as u8;
                self.mem[o + whole] &= bytes[whole] | mask;
            }
            self.dead = true;
            return Err(RamFlashError::PowerCut);
        }
        for (d, &b) in self.mem[o..o + bytes.len()].iter_mut().zip(bytes) {
            *d &= b;
        }
        Ok(())
    }
}
