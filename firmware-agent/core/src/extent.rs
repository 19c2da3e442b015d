//! Where a session puts new file extents, and how it erases their sectors:
//! a whole 64 KiB block with one erase when nothing in that block is worth
//! keeping and the session needs enough of it, else one 4 KiB sector at a
//! time, each as a file (or the tree record) first enters it.
//!
//! The rule that keeps this crash-safe: a block is erased whole only when
//! none of its sectors is used by a committed tree, the journal or the keys
//! record, and none has been written by this session. Its sectors are then
//! referenced by nothing, so a power cut in the middle of the erase tears
//! only bytes nothing references; and no byte the session already wrote
//! (its tree record, a file already verified, a file being sent again) is
//! lost. The sectors it erased beyond what the session had allocated stay
//! blank for the session's next extents, which go there first.
//!
//! A block erase costs one W25Q16JV 150 ms where a sector erase costs 45 ms
//! (datasheet rev. H, §9.6, typical tBE2 and tSE), so a block pays once the
//! session needs four of its sectors: the tree record of a 50-file tree and
//! the file changed beside it take one block erase instead of six sector
//! erases. On a driver that erases sector by sector it costs sixteen sector
//! erases. Allocation packs new extents into sectors a block erase of this
//! session left blank, then into blocks that hold nothing committed, but
//! only while the rest of the tree is sure to fit afterwards, so the
//! preference never turns an update that fits into one that does not.

use embedded_storage::nor_flash::NorFlash;

use crate::layout::{JOURNAL_SECTORS, SECTOR};
use crate::store::{SectorMap, Store};
use crate::Error;

/// Sectors in one 64 KiB erase block.
pub const BLOCK_SECTORS: u32 = 16;
const BLOCK: u32 = BLOCK_SECTORS * SECTOR;
/// Sectors of a block the session must need before one block erase (150 ms)
/// beats sector erases (45 ms each): four.
const BLOCK_PAYS: u32 = 4;

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

    /// Sectors a block erase of this session left blank and nothing wrote since.
    pub fn fresh(&self) -> &SectorMap {
        &self.fresh
    }

    /// Counts `sector` as written by something else of this session (a
    /// move that makes room): no file may take it for blank.
    pub fn claim(&mut self, sector: u32) {
        self.fresh.clear_bit(sector as usize);
        self.written.set(sector as usize);
    }

    /// Makes `sector` ready to be programmed from its first byte on, and
    /// counts it as written. Erases its whole 64 KiB block when nothing in it
    /// is committed or written by this session and the session allocated at
    /// least `BLOCK_PAYS` of its sectors, else the sector alone; erases
    /// nothing when a block erase of this session left it blank.
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
/// block lies wholly inside the store, holds nothing committed or written
/// by this session, and this session allocated `BLOCK_PAYS` of its sectors.
fn erasable_block<F: NorFlash>(
    store: &Store<F>,
    allocated: &SectorMap,
    written: &SectorMap,
    sector: u32,
) -> Option<u32> {
    let first = block_start(store, sector)?;
    let sectors = first..first + BLOCK_SECTORS;
    let clean = sectors
        .clone()
        .all(|s| !written.get(s as usize) && !store.used().get(s as usize));
    let needed = sectors.filter(|&s| allocated.get(s as usize)).count() as u32;
    (clean && needed >= BLOCK_PAYS).then_some(first)
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
/// session uses: the first fit in sectors this session's block erases left
/// blank (`fresh`), then in blocks holding nothing committed, when, with
/// those sectors taken, a free run of `rest` sectors (room for the rest of
/// the tree) is still left; otherwise the first fit anywhere.
pub(crate) fn allocate<F: NorFlash>(
    store: &Store<F>,
    allocated: &SectorMap,
    (written, fresh): (&SectorMap, &SectorMap),
    n: u32,
    rest: Option<u32>,
) -> Option<u32> {
    if let Some(rest) = rest {
        let blank = first_fit(store, allocated, n, |s| fresh.get(s as usize));
        let clean = || first_fit(store, allocated, n, |s| in_clean_block(store, written, s));
        for at in [blank, clean()].into_iter().flatten() {
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
