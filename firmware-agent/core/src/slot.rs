//! The application slot: what the active tree says should run there, and the
//! copy that puts it there at boot.
//!
//! The image travels and is verified like any file of the tree (it is the
//! entry [`APP_IMAGE`]); the store keeps it, immutable, while a tree names
//! it. At boot the agent copies it into the slot, but only the sectors that
//! differ, reads the slot back against the image's hashes, and only then
//! records in the journal that the slot holds it. The record says "writing"
//! before the first slot sector is touched, so a copy cut short by a power
//! cut leaves a slot that is never run, and the next boot simply copies
//! again from the untouched source.
//!
//! A tree without an image runs the image that was in the slot before ota
//! first wrote one (flashed by UF2): that image is saved into the store
//! before it is overwritten, and copied back when such a tree is active again.

use core::ops::Range;

use embedded_storage::nor_flash::NorFlash;

use crate::hash::FileHasher;
use crate::layout::{sectors_for, FileRecord, Original, Record, Slot, APP_IMAGE, PAGE, SECTOR};
use crate::store::Store;
use crate::Error;

/// What [`install`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// The tree names no image and none was saved: the slot stays as it is.
    Nothing,
    /// The slot already held the image.
    Unchanged,
    /// The image was copied: `sectors` slot sectors erased and written, of
    /// `of` it spans.
    Written { sectors: u32, of: u32 },
}

/// What the slot should hold for the active tree, and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub slot: Slot,
    /// Where the image's first byte is, from the start of the store.
    pub start: u32,
    pub size: u32,
    sha1: [u8; 20],
    sha1_prefix: Option<[u8; 4]>,
    sha256: Option<[u8; 32]>,
}

/// The active tree's image entry, if it has one.
pub fn active_image<F: NorFlash>(store: &mut Store<F>) -> Result<Option<FileRecord>, Error> {
    store.find_path(APP_IMAGE)
}

/// What the slot should hold now: the active tree's image, else the saved
/// original, else nothing.
pub fn target<F: NorFlash>(store: &mut Store<F>) -> Result<Option<Target>, Error> {
    if let Some(f) = active_image(store)? {
        let mut id = [0u8; 7];
        id.copy_from_slice(&f.sha1[..7]);
        return Ok(Some(Target {
            slot: Slot::Image(id),
            start: f.start(),
            size: f.size,
            sha1: f.sha1,
            sha1_prefix: None,
            sha256: f.sha256,
        }));
    }
    Ok(store.record().original.map(|o| Target {
        slot: Slot::Original,
        start: o.first_sector as u32 * SECTOR,
        size: o.size,
        sha1: [0; 20],
        sha1_prefix: Some(o.sha1),
        sha256: None,
    }))
}

/// True when the slot holds what the active tree wants, completely.
pub fn matches<F: NorFlash>(store: &mut Store<F>) -> Result<bool, Error> {
    Ok(match target(store)? {
        Some(t) => store.record().slot == t.slot,
        None => store.record().slot != Slot::Writing,
    })
}

/// What the agent does before it hands over: the active tree's image into
/// the slot. A tree on trial whose image cannot be put in place, or whose
/// slot then holds no application (`holds` reads what it holds, as the
/// platform sees it), fails its trial at once and the previous tree, with
/// its image, is tried. True when the slot holds the active tree's
/// application, ready to run.
pub fn prepare<F: NorFlash>(
    store: &mut Store<F>,
    slot: Range<u32>,
    mut holds: impl FnMut(&mut Store<F>) -> ota_protocol::AppSlot,
) -> bool {
    for _ in 0..2 {
        let installed = install(store, slot.clone());
        if installed.is_ok()
            && holds(store) == ota_protocol::AppSlot::Valid
            && matches(store).unwrap_or(false)
        {
            return true;
        }
        let on_trial = matches!(store.state(), crate::layout::State::Trial { .. });
        if !on_trial || store.rollback().is_err() {
            return false;
        }
    }
    false
}

/// True when the journal says the slot (from byte `slot_base` of the
/// store's flash) holds the active tree's image but it holds other bytes.
/// A quick look, not a hash: the image's first and last sectors against the
/// store's copy (a probe or a UF2 rewrites the vector table and the end, and
/// a different length moves the end).
pub fn written_behind<F: NorFlash>(store: &mut Store<F>, slot_base: u32) -> Result<bool, Error> {
    let Some(t) = target(store)?.filter(|t| store.record().slot == t.slot) else {
        return Ok(false);
    };
    let src = store.sector_offset(0) + t.start;
    let last = sectors_for(t.size as u64).saturating_sub(1);
    let (mut want, mut have) = ([0u8; PAGE], [0u8; PAGE]);
    for i in [0, last] {
        let len = (t.size - i * SECTOR).min(SECTOR);
        for page in (0..SECTOR).step_by(PAGE) {
            page_of(store, src + i * SECTOR, page, len, &mut want)?;
            store.read(slot_base + i * SECTOR + page, &mut have)?;
            if want != have {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Puts what the active tree wants into the slot (`slot`: byte offsets in the
/// same flash as the store). Every step is one journal record or a write to
/// sectors nothing committed references, so a power cut anywhere leaves the
/// old image, or a slot recorded as being written (never run), or the new one.
pub fn install<F: NorFlash>(store: &mut Store<F>, slot: Range<u32>) -> Result<Installed, Error> {
    let Some(t) = target(store)? else {
        return Ok(Installed::Nothing);
    };
    if store.record().slot == t.slot {
        return Ok(Installed::Unchanged);
    }
    if t.size == 0 || t.size > slot.end - slot.start {
        return Err(Error::BadEntry);
    }
    if matches!(t.slot, Slot::Image(_)) && store.record().slot == Slot::Unmanaged {
        keep_original(store, &slot)?;
    }
    store.append(Record {
        slot: Slot::Writing,
        ..*store.record()
    })?;
    let of = sectors_for(t.size as u64);
    let mut written = 0;
    for i in 0..of {
        if copy_sector(store, &t, slot.start + i * SECTOR, i)? {
            written += 1;
        }
    }
    verify(store, &t, slot.start)?;
    let both_have_images = both_trees_have_images(store)?;
    store.append(Record {
        slot: t.slot,
        original: if both_have_images {
            None
        } else {
            store.record().original
        },
        ..*store.record()
    })?;
    Ok(Installed::Written {
        sectors: written,
        of,
    })
}

/// Copies sector `i` of the image when the slot's differs; true when it did.
fn copy_sector<F: NorFlash>(
    store: &mut Store<F>,
    t: &Target,
    at: u32,
    i: u32,
) -> Result<bool, Error> {
    let src = store.sector_offset(0) + t.start + i * SECTOR;
    let len = (t.size - i * SECTOR).min(SECTOR);
    let (mut want, mut have) = ([0xFFu8; PAGE], [0u8; PAGE]);
    let mut same = true;
    for page in (0..SECTOR).step_by(PAGE) {
        page_of(store, src, page, len, &mut want)?;
        store.read(at + page, &mut have)?;
        if want != have {
            same = false;
            break;
        }
    }
    if same {
        return Ok(false);
    }
    store
        .flash_mut()
        .erase(at, at + SECTOR)
        .map_err(|_| Error::Flash)?;
    for page in (0..len).step_by(PAGE) {
        page_of(store, src, page, len, &mut want)?;
        if want.iter().any(|&b| b != 0xFF) {
            store.program(at + page, &want)?;
        }
    }
    Ok(true)
}

/// The image's bytes for one page of a sector, erased (0xFF) past its end.
fn page_of<F: NorFlash>(
    store: &mut Store<F>,
    src: u32,
    page: u32,
    len: u32,
    buf: &mut [u8; PAGE],
) -> Result<(), Error> {
    buf.fill(0xFF);
    if page < len {
        let n = (len - page).min(PAGE as u32) as usize;
        store.read(src + page, &mut buf[..n])?;
    }
    Ok(())
}

/// Hashes the slot as written against the image's hashes.
fn verify<F: NorFlash>(store: &mut Store<F>, t: &Target, at: u32) -> Result<(), Error> {
    let mut h = FileHasher::new(t.size, t.sha256.is_some());
    let mut buf = [0u8; PAGE];
    let mut off = 0;
    while off < t.size {
        let n = (t.size - off).min(PAGE as u32) as usize;
        store.read(at + off, &mut buf[..n])?;
        h.update(&buf[..n]);
        off += n as u32;
    }
    let (sha1, sha256) = h.finish();
    let ok = match t.sha1_prefix {
        Some(prefix) => sha1[..4] == prefix,
        None => sha1 == t.sha1 && t.sha256.is_none_or(|want| sha256 == Some(want)),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::ReadbackMismatch)
    }
}

fn both_trees_have_images<F: NorFlash>(store: &mut Store<F>) -> Result<bool, Error> {
    let trees = [store.active().map(|t| t.at), store.previous().map(|t| t.at)];
    for tree in trees {
        let Some(tree) = tree else { return Ok(false) };
        let mut found = false;
        for i in 0..tree.entries {
            if store.file(&tree, i)?.path.as_str() == APP_IMAGE {
                found = true;
                break;
            }
        }
        if !found {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Saves the image a UF2 put in the slot before ota first overwrites it: as
/// many sectors as it uses, into free sectors of the store, then one record.
fn keep_original<F: NorFlash>(store: &mut Store<F>, slot: &Range<u32>) -> Result<(), Error> {
    if store.record().original.is_some() {
        return Ok(());
    }
    let mut vectors = [0u8; 8];
    store.read(slot.start, &mut vectors)?;
    if crate::board::slot_holds(&vectors) != ota_protocol::AppSlot::Valid {
        return Ok(()); // nothing worth keeping ran there
    }
    let size = used_length(store, slot)?;
    let n = sectors_for(size as u64);
    let first = free_run(store, n).ok_or(Error::NoSpace)?;
    let mut buf = [0u8; PAGE];
    let mut h = FileHasher::new(size, false);
    for i in 0..n {
        store.erase_sector(first + i)?;
        for page in (0..SECTOR).step_by(PAGE) {
            let off = i * SECTOR + page;
            if off >= size {
                break;
            }
            store.read(slot.start + off, &mut buf)?;
            let n = ((size - off) as usize).min(PAGE);
            h.update(&buf[..n]);
            let to = store.sector_offset(first + i) + page;
            store.program(to, &buf)?;
        }
    }
    let (sha1, _) = h.finish();
    store.append(Record {
        original: Some(Original {
            first_sector: first as u16,
            sectors: n as u16,
            size,
            sha1: [sha1[0], sha1[1], sha1[2], sha1[3]],
        }),
        ..*store.record()
    })
}

/// Bytes of the slot up to its last page that is not erased.
fn used_length<F: NorFlash>(store: &mut Store<F>, slot: &Range<u32>) -> Result<u32, Error> {
    let mut buf = [0u8; PAGE];
    let mut end = 0;
    let mut at = slot.start;
    while at < slot.end {
        store.read(at, &mut buf)?;
        if buf.iter().any(|&b| b != 0xFF) {
            end = at + PAGE as u32 - slot.start;
        }
        at += PAGE as u32;
    }
    Ok(end)
}

/// The first run of `n` free sectors.
fn free_run<F: NorFlash>(store: &Store<F>, n: u32) -> Option<u32> {
    let used = store.used();
    let mut start = crate::layout::JOURNAL_SECTORS;
    let mut len = 0;
    for s in crate::layout::JOURNAL_SECTORS..store.sectors() {
        if used.get(s as usize) {
            start = s + 1;
            len = 0;
        } else {
            len += 1;
            if len == n {
                return Some(start);
            }
        }
    }
    None
}
