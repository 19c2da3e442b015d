//! How many store sectors a tree takes: the one counting rule that the
//! agent's session allocates by and the host plans with, so that a push the
//! host lets through is one the agent has room for, and one it refuses
//! would not have fitted.
//!
//! Each file is one contiguous range of flash (an application reads it in
//! place). A file of a sector or more takes an extent of whole 4 KiB
//! sectors; smaller files are packed: in the order the tree declares them,
//! each takes whole 256-byte pages of a shared sector, the next free ones
//! of the sector opened last, or a new sector when they do not fit (pages
//! are never shared, so every page is programmed once). An empty file takes
//! nothing; content the device already holds (the same Git blob and size,
//! in the active or the previous tree, or earlier in the same tree) takes
//! nothing either. The tree record takes a 512-byte header and 256 bytes per
//! file, rounded up to whole sectors.

use crate::layout::{sectors_for, tree_sectors, PAGE, SECTOR};

/// Pages of one sector.
const SECTOR_PAGES: u32 = SECTOR / PAGE as u32;

/// Whether a file of `size` bytes is packed with others into a shared sector.
pub const fn packs(size: u32) -> bool {
    size > 0 && size < SECTOR
}

/// Sectors spanned by `size` bytes starting `offset` bytes into a sector.
pub const fn span_sectors(offset: u16, size: u32) -> u32 {
    if size == 0 {
        return 0;
    }
    sectors_for(offset as u64 + size as u64)
}

/// Places small files into shared sectors, in declaration order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Packer {
    /// Pages of the sector opened last that are taken (a full sector when none is open).
    used: u32,
    opened: bool,
}

impl Packer {
    pub const fn new() -> Packer {
        Packer {
            used: 0,
            opened: false,
        }
    }

    /// Where a small file of `size` bytes goes: `(new_sector, page)`, the
    /// page it starts at in the sector opened last (a new one when
    /// `new_sector`).
    pub fn place(&mut self, size: u32) -> (bool, u32) {
        let pages = (size as usize).div_ceil(PAGE) as u32;
        let new = !self.opened || self.used + pages > SECTOR_PAGES;
        if new {
            self.opened = true;
            self.used = 0;
        }
        let page = self.used;
        self.used += pages;
        (new, page)
    }
}

/// Sectors of one file's extent.
pub const fn extent_sectors(size: u32) -> u32 {
    sectors_for(size as u64)
}

/// Sectors of the record of a tree of `entries` files.
pub const fn record_sectors(entries: usize) -> u32 {
    tree_sectors(entries)
}

/// Sectors a tree of `entries` files takes beyond what the device holds,
/// given the sizes of its distinct contents the device does not hold, in
/// the order the tree declares them.
pub fn tree_need(entries: usize, new_contents: impl IntoIterator<Item = u32>) -> u32 {
    let mut packer = Packer::new();
    let mut sectors = record_sectors(entries);
    for size in new_contents {
        if packs(size) {
            sectors += packer.place(size).0 as u32;
        } else {
            sectors += extent_sectors(size);
        }
    }
    sectors
}

/// Bytes in `sectors` sectors.
pub const fn sector_bytes(sectors: u32) -> u64 {
    sectors as u64 * SECTOR as u64
}
