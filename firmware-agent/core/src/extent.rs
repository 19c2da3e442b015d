//! Where a session puts new file extents, and how it erases their sectors:
//! a whole 64 KiB block with one erase when nothing in that block is worth
//! keeping, else one 4 KiB sector at a time, each as a file first enters it.
//!
//! The rule that keeps this crash-safe: a block is erased whole only when
//! every one of its sectors was allocated by this session and none has been
//! written yet. Such sectors are referenced by no committed tree, journal or
//! keys record, so a power cut in the middle of the erase tears only bytes
//! nothing references; and no byte the session already wrote (its tree
//! record, a file already verified, a file being sent again) is lost.
//!
//! A block erase costs one W25Q16JV 150 ms where sixteen sector erases cost
//! 720 ms. On a driver that erases sector by sector (embassy-rp's today) it
//! costs the same sixteen sector erases as before, never more, since every
//! sector of the block is needed. Allocation therefore packs new extents
//! into blocks that hold nothing committed, but only while the rest of the
//! tree is sure to fit afterwards, so the preference never turns an update
//! that fits into one that does not.

use embedded_storage::nor_flash::NorFlash;

use crate::layout::{JOURNAL_SECTORS, SECTOR};
use crate::store::{SectorMap, Store};
use crate::Error;

/// Sectors in one 64 KiB erase block.
pub const BLOCK_SECTORS: u32 = 16;
const BLOCK: u32 = BLOCK_SECTORS * SECTOR;

/// What this session has erased and written.
pub(crate) struct Erasure {
    /// Programmed by this session since its last erase: never erased as part of a block.
    written: SectorMap,
    /// Erased by this session (as part of a block) and not programmed since:
    /// ready for a file, no erase needed.
    fresh: SectorMap,
}

impl Erasure {
    pub const fn new() -> Self {
        Erasure {
            written: SectorMap::new(),
            fresh: SectorMap::new(),
        }
    }

    pub fn written(&self) -> &SectorMap {
        &self.written
    }

    /// Notes sectors this session erased and wrote on its own (the tree record).
    pub fn mark_written(&mut self, first: u32, n: u32) {
        self.written.set_range(first as usize, n as usize);
    }

    /// Makes `sector` ready to be programmed from its first byte on, and
    /// counts it as written. Erases its whole 64 KiB block when this session
    /// allocated every sector of it and wrote none yet, else the sector
    /// alone; erases nothing when a block erase of this session left it blank.
    pub fn prepare<F: NorFlash>(
        &mut self,
        store: &mut Store<F>,
        allocated: &SectorMap,
        sector: u32,
    ) -> Result<(), Error> {
        let s = sector as usize;
        if self.fresh.get(s) {
            self.fresh.clear_bit(s);
            self.written.set(s);
            return Ok(());
        }
        match erasable_block(store, allocated, &self.written, sector) {
            Some(first) => {
                let at = store.sector_offset(first);
                store
                    .flash_mut()
                    .erase(at, at + BLOCK)
                    .map_err(|_| Error::Flash)?;
                self.fresh.set_range(first as usize, BLOCK_SECTORS as usize);
                self.fresh.clear_bit(s);
            }
            None => {
                let at = store.sector_offset(sector);
                store
                    .flash_mut()
                    .erase(at, at + SECTOR)
                    .map_err(|_| Error::Flash)?;
            }
        }
        self.written.set(s);
        Ok(())
    }
}

/// The first sector of the 64 KiB flash block holding `sector`, when that
/// block lies wholly inside the store, this session allocated all of its
/// sectors and has written none of them.
fn erasable_block<F: NorFlash>(
    store: &Store<F>,
    allocated: &SectorMap,
    written: &SectorMap,
    sector: u32,
) -> Option<u32> {
    let first = block_start(store, sector)?;
    let ours = (first..first + BLOCK_SECTORS).all(|s| {
        let s = s as usize;
        allocated.get(s) && !written.get(s) && !store.used().get(s)
    });
    ours.then_some(first)
}

/// The first store sector of the aligned 64 KiB block holding `sector`, if
/// the whole block belongs to the store. Alignment is of flash addresses:
/// the chip erases blocks at multiples of 64 KiB.
fn block_start<F: NorFlash>(store: &Store<F>, sector: u32) -> Option<u32> {
    let base = store.sector_offset(0);
    let block_at = store.sector_offset(sector) / BLOCK * BLOCK;
    if block_at < base {
        return None;
    }
    let first = (block_at - base) / SECTOR;
    (first + BLOCK_SECTORS <= store.sectors()).then_some(first)
}

/// True when no sector of `sector`'s block is committed or written by this
/// session: extents packed there can have their blocks erased whole.
fn in_clean_block<F: NorFlash>(store: &Store<F>, written: &SectorMap, sector: u32) -> bool {
    block_start(store, sector).is_some_and(|first| {
        (first..first + BLOCK_SECTORS)
            .all(|s| !store.used().get(s as usize) && !written.get(s as usize))
    })
}

/// Where `n` contiguous sectors go that neither a committed tree nor this
/// session uses: the first fit in blocks holding nothing committed when,
/// with those sectors taken, a free run of `rest` sectors (room for the
/// rest of the tree) is still left; otherwise the first fit anywhere.
pub(crate) fn allocate<F: NorFlash>(
    store: &Store<F>,
    allocated: &SectorMap,
    written: &SectorMap,
    n: u32,
    rest: Option<u32>,
) -> Option<u32> {
    if let Some(rest) = rest {
        let clean = first_fit(store, allocated, n, |s| in_clean_block(store, written, s));
        if let Some(at) = clean {
            if longest_free_run(store, allocated, (at, n)) >= rest {
                return Some(at);
            }
        }
    }
    first_fit(store, allocated, n, |_| true)
}

fn is_free<F: NorFlash>(store: &Store<F>, allocated: &SectorMap, s: u32) -> bool {
    !store.used().get(s as usize) && !allocated.get(s as usize)
}

/// First run of `n` free sectors that all satisfy `ok`.
fn first_fit<F: NorFlash>(
    store: &Store<F>,
    allocated: &SectorMap,
    n: u32,
    ok: impl Fn(u32) -> bool,
) -> Option<u32> {
    let mut run = 0;
    for s in JOURNAL_SECTORS..store.sectors() {
        if is_free(store, allocated, s) && ok(s) {
            run += 1;
            if run == n {
                return Some(s + 1 - n);
            }
        } else {
            run = 0;
        }
    }
    None
}

/// The longest run of free sectors once `taken` (first, count) is taken too.
fn longest_free_run<F: NorFlash>(
    store: &Store<F>,
    allocated: &SectorMap,
    taken: (u32, u32),
) -> u32 {
    let (mut run, mut best) = (0, 0);
    for s in JOURNAL_SECTORS..store.sectors() {
        let in_taken = s >= taken.0 && s < taken.0 + taken.1;
        if is_free(store, allocated, s) && !in_taken {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}
