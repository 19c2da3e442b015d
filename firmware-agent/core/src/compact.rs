//! Making room for an extent that no hole offers: committed files (of the
//! active and the previous tree) are moved out of one window of the store,
//! so that the window becomes one free run. The application does not run
//! while the agent does, so nothing reads a file while it moves.
//!
//! Never touches a sector that a committed tree uses before the journal
//! says so. A round copies up to `MOVES_PER_ROUND` extents into free
//! sectors outside the window, reads each copy back against its source,
//! writes new records of both trees naming the copies, and switches to
//! those records with one journal record, of the same format every commit
//! writes (only the trees' places change). A power cut before that record
//! leaves the old trees whole; after it, the new ones; either way every
//! tree reads as it did, and the sectors left behind are simply free.
//!
//! The window is the run of `n` sectors whose moves copy the fewest sectors
//! (the lowest such run on a tie), among the runs holding nothing that
//! cannot move: the journal, the keys sector, the saved original image, and
//! whatever the session allocated or its declared entries refer to. The
//! host runs this same code on a model of the device's store
//! (`ota_agent::model`), so it knows before sending a byte whether, and at
//! what cost, a tree fits.

use embedded_storage::nor_flash::NorFlash;

use crate::extent::Erasure;
use crate::layout::*;
use crate::store::{SectorMap, Store};
use crate::Error;

/// Extents moved under one journal record: bounds the RAM a round needs.
const MOVES_PER_ROUND: usize = 16;

#[derive(Clone, Copy, Default)]
struct Move {
    from: u32,
    to: u32,
    len: u32,
}

/// What the trees hold, sector by sector, for one round.
struct Map {
    /// First sectors of file extents.
    starts: SectorMap,
    /// Sectors of the two tree records: rewritten by every round anyway.
    records: SectorMap,
    /// Sectors that cannot move.
    stuck: SectorMap,
    /// Sectors nothing uses or holds.
    free: SectorMap,
    sectors: u32,
}

impl Map {
    fn read<F: NorFlash>(store: &mut Store<F>, pinned: &SectorMap) -> Result<Map, Error> {
        let sectors = store.sectors();
        let mut m = Map {
            starts: SectorMap::new(),
            records: SectorMap::new(),
            stuck: pinned.clone(),
            free: SectorMap::new(),
            sectors,
        };
        m.stuck.set_range(0, JOURNAL_SECTORS as usize);
        let record = *store.record();
        if let Some(k) = record.keys {
            m.stuck.set(k as usize);
        }
        if let Some(o) = record.original {
            m.stuck
                .set_range(o.first_sector as usize, o.sectors as usize);
        }
        let trees = [store.active().map(|t| t.at), store.previous().map(|t| t.at)];
        for at in trees.into_iter().flatten() {
            let n = tree_sectors(at.entries as usize) as usize;
            m.records.set_range(at.first_sector as usize, n);
            for i in 0..at.entries {
                let f = store.file(&at, i)?;
                if f.size > 0 {
                    m.starts.set(f.first_sector as usize);
                }
            }
        }
        for s in 0..sectors as usize {
            if !store.used().get(s) && !pinned.get(s) {
                m.free.set(s);
            }
        }
        Ok(m)
    }

    /// A sector of a file extent that may move.
    fn movable(&self, s: u32) -> bool {
        let s = s as usize;
        !self.free.get(s) && !self.records.get(s) && !self.stuck.get(s)
    }

    /// The extent holding movable sector `s`: (first sector, sectors).
    fn unit(&self, s: u32) -> (u32, u32) {
        let mut first = s;
        while first > 0 && !self.starts.get(first as usize) && self.movable(first - 1) {
            first -= 1;
        }
        let mut end = first + 1;
        while end < self.sectors && self.movable(end) && !self.starts.get(end as usize) {
            end += 1;
        }
        (first, end - first)
    }

    /// Sectors the moves out of `[w, w + n)` copy; `None` when something in
    /// it cannot move.
    fn cost(&self, w: u32, n: u32) -> Option<u32> {
        let (mut cost, mut s) = (0, w);
        while s < w + n {
            if self.stuck.get(s as usize) {
                return None;
            }
            if self.movable(s) {
                let (first, len) = self.unit(s);
                cost += len;
                s = first + len;
            } else {
                s += 1;
            }
        }
        Some(cost)
    }

    /// The cheapest window of `n` sectors whose moves fit in the free
    /// sectors outside it, beside `records` sectors of new tree records.
    fn window(&self, n: u32, records: u32) -> Option<u32> {
        let free = self.free.count();
        let mut best: Option<(u32, u32)> = None;
        for w in JOURNAL_SECTORS..=self.sectors.saturating_sub(n) {
            let Some(cost) = self.cost(w, n) else {
                continue;
            };
            let inside = (w..w + n).filter(|&s| self.free.get(s as usize)).count() as u32;
            if free - inside >= cost + records && best.is_none_or(|(c, _)| cost < c) {
                best = Some((cost, w));
            }
        }
        best.map(|(_, w)| w)
    }
}

/// Frees a run of `n` sectors by moving committed extents out of it.
/// `pinned` holds what the session allocated or refers to; sectors the
/// moves write are claimed from `erasure`. Returns false, having moved
/// nothing, when no window can be emptied; an error part way leaves the
/// trees whole (some of them moved).
pub(crate) fn make_room<F: NorFlash>(
    store: &mut Store<F>,
    pinned: &SectorMap,
    erasure: &mut Erasure,
    n: u32,
) -> Result<bool, Error> {
    let records = [store.active(), store.previous()]
        .into_iter()
        .flatten()
        .map(|t| tree_sectors(t.at.entries as usize))
        .sum();
    let Some(w) = Map::read(store, pinned)?.window(n, records) else {
        return Ok(false);
    };
    loop {
        let map = Map::read(store, pinned)?;
        let in_window = |s: u32| s >= w && s < w + n;
        let mut moves = [Move::default(); MOVES_PER_ROUND];
        let mut count = 0;
        let mut s = w;
        while s < w + n && count < MOVES_PER_ROUND {
            if map.movable(s) {
                let (from, len) = map.unit(s);
                moves[count] = Move { from, to: 0, len };
                count += 1;
                s = from + len;
            } else {
                s += 1;
            }
        }
        let records_inside = (w..w + n).any(|s| map.records.get(s as usize));
        if count == 0 && !records_inside {
            return Ok(true);
        }
        let mut taken = SectorMap::new();
        for m in moves[..count].iter_mut() {
            m.to = destination(&map, &taken, &in_window, m.len).ok_or(Error::NoSpace)?;
            taken.set_range(m.to as usize, m.len as usize);
            copy(store, erasure, *m)?;
        }
        relocate(
            store,
            erasure,
            &map,
            &mut taken,
            &in_window,
            &moves[..count],
        )?;
    }
}

/// First run of `len` free sectors outside the window, not taken yet.
fn destination(
    map: &Map,
    taken: &SectorMap,
    in_window: &impl Fn(u32) -> bool,
    len: u32,
) -> Option<u32> {
    let mut run = 0;
    for s in JOURNAL_SECTORS..map.sectors {
        if map.free.get(s as usize) && !taken.get(s as usize) && !in_window(s) {
            run += 1;
            if run == len {
                return Some(s + 1 - len);
            }
        } else {
            run = 0;
        }
    }
    None
}

/// Copies one extent page by page, then reads the copy back against its source.
fn copy<F: NorFlash>(store: &mut Store<F>, erasure: &mut Erasure, m: Move) -> Result<(), Error> {
    let mut page = [0u8; PAGE];
    let mut back = [0u8; PAGE];
    let pages = SECTOR / PAGE as u32;
    for i in 0..m.len {
        claim(store, erasure, m.to + i)?;
        for p in 0..pages {
            let from = store.sector_offset(m.from + i) + p * PAGE as u32;
            let to = store.sector_offset(m.to + i) + p * PAGE as u32;
            store.read(from, &mut page)?;
            if page.iter().any(|&b| b != 0xFF) {
                store.program(to, &page)?;
            }
            store.read(to, &mut back)?;
            if back != page {
                return Err(Error::ReadbackMismatch);
            }
        }
        store.moved_sectors += 1;
    }
    Ok(())
}

/// Erases a sector for a move; no file of the session may count on it being blank.
fn claim<F: NorFlash>(store: &mut Store<F>, erasure: &mut Erasure, s: u32) -> Result<(), Error> {
    erasure.claim(s);
    store.erase_sector(s)
}

/// Writes new records of both trees naming the moved extents, then
/// switches to them with one journal record.
fn relocate<F: NorFlash>(
    store: &mut Store<F>,
    erasure: &mut Erasure,
    map: &Map,
    taken: &mut SectorMap,
    in_window: &impl Fn(u32) -> bool,
    moves: &[Move],
) -> Result<(), Error> {
    let active = store.active().map(|t| t.at);
    let previous = store.previous().map(|t| t.at);
    let mut new_active = None;
    if let Some(at) = active {
        new_active = Some(rewrite(store, erasure, map, taken, in_window, moves, at)?);
    }
    let new_previous = match previous {
        Some(p) if Some(p) == active => new_active,
        Some(p) => Some(rewrite(store, erasure, map, taken, in_window, moves, p)?),
        None => None,
    };
    store.relocate(new_active, new_previous)
}

/// A copy of the tree record at `at` with its files' extents moved.
fn rewrite<F: NorFlash>(
    store: &mut Store<F>,
    erasure: &mut Erasure,
    map: &Map,
    taken: &mut SectorMap,
    in_window: &impl Fn(u32) -> bool,
    moves: &[Move],
    at: TreeRef,
) -> Result<TreeRef, Error> {
    let n = tree_sectors(at.entries as usize);
    let first = destination(map, taken, in_window, n).ok_or(Error::NoSpace)?;
    taken.set_range(first as usize, n as usize);
    for s in first..first + n {
        claim(store, erasure, s)?;
    }
    let (from, to) = (
        store.sector_offset(at.first_sector as u32),
        store.sector_offset(first),
    );
    let mut header = [0u8; TREE_HEADER];
    store.read(from, &mut header)?;
    store.program(to, &header)?;
    let mut crc = CRC32.digest();
    crc.update(&header);
    for i in 0..at.entries {
        let mut f = store.file(&at, i)?;
        if let Some(m) = moves
            .iter()
            .find(|m| (m.from..m.from + m.len).contains(&(f.first_sector as u32)))
        {
            f.first_sector = (m.to + (f.first_sector as u32 - m.from)) as u16;
        }
        let bytes = f.encode();
        store.program(to + (TREE_HEADER + i as usize * ENTRY) as u32, &bytes)?;
        crc.update(&bytes);
    }
    store.moved_sectors += n;
    Ok(TreeRef {
        first_sector: first as u16,
        entries: at.entries,
        crc: crc.finalize(),
    })
}
