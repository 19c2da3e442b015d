//! How many store sectors a tree takes: the one counting rule that the
//! agent's session allocates by and the host plans with, so that a push the
//! host lets through is one the agent has room for, and one it refuses
//! would not have fitted.
//!
//! Each file is one contiguous extent of whole 4 KiB sectors (an empty file
//! takes none); content the device already holds (the same Git blob and
//! size, in the active or the previous tree, or earlier in the same tree)
//! takes none either; the tree record takes a 512-byte header and 256 bytes
//! per file, rounded up to whole sectors.

use crate::layout::{sectors_for, tree_sectors, SECTOR};

/// Sectors of one file's extent.
pub const fn extent_sectors(size: u32) -> u32 {
    sectors_for(size as u64)
}

/// Sectors of the record of a tree of `entries` files.
pub const fn record_sectors(entries: usize) -> u32 {
    tree_sectors(entries)
}

/// Sectors a tree of `entries` files takes beyond what the device holds,
/// given the sizes of its distinct contents the device does not hold.
pub fn tree_need(entries: usize, new_contents: impl IntoIterator<Item = u32>) -> u32 {
    record_sectors(entries) + new_contents.into_iter().map(extent_sectors).sum::<u32>()
}

/// Bytes in `sectors` sectors.
pub const fn sector_bytes(sectors: u32) -> u64 {
    sectors as u64 * SECTOR as u64
}
