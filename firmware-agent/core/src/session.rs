//! An update in progress: the target tree being declared, files being
//! received, hashed, written and read back, and the commit that switches to it.
//! Each byte is hashed once, as it arrives; each page is read back as soon as
//! it is programmed and compared with the bytes hashed, which proves the flash
//! holds the file without reading and hashing all of it again.
//!
//! A file may come as a patch against the image the slot holds
//! (patch_in.rs): the image it makes goes through the same page writer,
//! hashes and read-back as bytes sent whole.
//!
//! Never touches a sector that a committed tree uses, and never writes the
//! journal before every needed file has been read back and matched its hashes.

use embedded_storage::nor_flash::NorFlash;
use ota_protocol::{Begin, Entry};

use crate::bitmap::Bitmap;
use crate::compact::make_room;
use crate::extent::{allocate, Erasure};
use crate::hash::{git_blob_sha1, FileHasher};
use crate::layout::*;
use crate::patch_in::{Base, PatchIn};
use crate::paths::{check_path, conflict, folded_hash, folders, Conflict};
use crate::signature::{signed_by_any, TreeDigest};
use crate::space::{packs, Packer};
use crate::store::{SectorMap, Store};
use crate::Error;

type EntryMap = Bitmap<{ MAX_ENTRIES / 32 }>;

/// 4096 bits (512 bytes): few false hits for up to 512 paths of a few folders each.
const FOLDER_BLOOM_WORDS: usize = 128;

/// The file being received.
struct Current {
    entry: u16,
    out: Out,
    /// Set when the file comes as a patch (patch_in.rs).
    patch: Option<PatchIn>,
}

/// The file's bytes on their way into flash.
struct Out {
    file: FileRecord,
    pos: u32,
    hasher: FileHasher,
    page: [u8; PAGE],
    page_len: usize,
}

pub struct Session {
    pub id: u32,
    tree: TreeRef,
    declared: u16,
    crc: crc::Digest<'static, u32>,
    /// Case-folded hash of each declared path, to find duplicates (and
    /// paths that differ only in case) without reading flash.
    path_hash: [u32; MAX_ENTRIES],
    /// Folders of the declared paths, as a Bloom filter of their folded
    /// hashes: a new file named like one of them is looked up in flash.
    folder_bloom: Bitmap<FOLDER_BLOOM_WORDS>,
    /// First four bytes of each declared SHA-1, to find shared content.
    sha_prefix: [u32; MAX_ENTRIES],
    need: EntryMap,
    done: EntryMap,
    /// Sectors this session allocated (its tree record and new extents).
    allocated: SectorMap,
    /// Sectors this session erased and wrote: which erases may take a whole block.
    erasure: Erasure,
    /// Bytes of the entries not declared yet (Begin's total less those
    /// declared): the room the rest of the tree may still need.
    bytes_left: u64,
    /// Where small files go, and the sector it opened last.
    packer: Packer,
    pack_sector: u16,
    /// Small files with a page programmed: their pages cannot be written
    /// again without erasing the files that share their sector.
    started: EntryMap,
    current: Option<Current>,
    digest: TreeDigest,
    signature: Option<[u8; 64]>,
    /// A provisioned agent checked this tree's signature.
    verified: bool,
}

/// What a Data request came to.
pub enum DataOutcome {
    /// Bytes up to `offset` are written (of a patch: taken); send from there.
    Ack { offset: u32 },
    /// The file is complete and verified; `size` is the last offset to
    /// acknowledge: the file's size, or its patch's.
    Done { size: u32 },
}

impl Session {
    /// Checks the target tree and reserves its record. Nothing a committed
    /// tree uses is touched; on error nothing at all is written.
    pub fn begin<F: NorFlash>(store: &mut Store<F>, b: &Begin<'_>) -> Result<Session, Error> {
        let entries = b.entries as usize;
        if entries == 0 {
            // The host refuses empty trees too; an agent does not rely on it.
            return Err(Error::EmptyTree);
        }
        if entries > MAX_ENTRIES {
            return Err(Error::TooManyEntries);
        }
        if store.provisioned() && b.signature.is_none() {
            return Err(Error::Unsigned);
        }
        let (Some(version), Some(git_ref), Some(commit)) = (
            Text::new(b.version),
            Text::new(b.git_ref),
            Text::new(b.commit),
        ) else {
            return Err(Error::BadText);
        };
        let hook = |p: Option<&str>| -> Result<Text<MAX_PATH>, Error> {
            match p {
                None => Ok(Text::EMPTY),
                Some(p) => {
                    check_path(p).map_err(|_| Error::BadPath)?;
                    Text::new(p).ok_or(Error::BadPath)
                }
            }
        };
        let header = TreeHeader {
            entries: b.entries,
            total_bytes: b.total_bytes,
            version,
            git_ref,
            commit,
            post_update: hook(b.post_update)?,
            rollback: hook(b.rollback)?,
            trial_timeout_sec: b.trial_timeout_sec,
        };
        let record_sectors = crate::space::record_sectors(entries);
        // Every file must sit in flash at once: a tree larger than the whole
        // data area can never fit, whatever is reused.
        let data_area = store.sectors() - JOURNAL_SECTORS - record_sectors.min(store.sectors());
        if sectors_for(b.total_bytes) > data_area {
            return Err(Error::NoSpace);
        }
        let mut allocated = SectorMap::new();
        let mut erasure = Erasure::new();
        let first = place(
            store,
            &allocated,
            &mut erasure,
            (record_sectors, None),
            |_| Ok(SectorMap::new()),
        )?;
        allocated.set_range(first as usize, record_sectors as usize);
        // The record's block is erased whole when that pays (see extent.rs):
        // the files that follow go into the sectors it leaves blank.
        for s in first..first + record_sectors {
            erasure.prepare(store, &allocated, s)?;
        }
        let bytes = header.encode();
        store.program(store.sector_offset(first), &bytes)?;
        let mut crc = CRC32.digest();
        crc.update(&bytes);
        if store.provisioned()
            && crate::signature::security_version(b.version) < store.security_version()
        {
            return Err(Error::Downgrade);
        }
        let digest = TreeDigest::new(
            b.version,
            b.git_ref,
            b.commit,
            b.post_update,
            b.rollback,
            b.entries,
        );
        let signature = b.signature.map(|s| s.0);
        let verified = entries == 0 && check_signature(store, digest.clone(), signature.as_ref())?;
        Ok(Session {
            id: b.session,
            tree: TreeRef {
                first_sector: first as u16,
                entries: b.entries,
                crc: 0,
            },
            declared: 0,
            crc,
            path_hash: [0; MAX_ENTRIES],
            folder_bloom: Bitmap::new(),
            sha_prefix: [0; MAX_ENTRIES],
            need: EntryMap::new(),
            done: EntryMap::new(),
            allocated,
            erasure,
            bytes_left: b.total_bytes,
            packer: Packer::new(),
            pack_sector: NO_SECTOR,
            started: EntryMap::new(),
            current: None,
            digest,
            signature,
            verified,
        })
    }

    /// Declares the next entry; returns whether its bytes must be sent.
    pub fn entry<F: NorFlash>(
        &mut self,
        store: &mut Store<F>,
        e: &Entry<'_>,
    ) -> Result<bool, Error> {
        if e.index != self.declared || e.index >= self.tree.entries {
            return Err(Error::BadEntry);
        }
        check_path(e.path).map_err(|_| Error::BadPath)?;
        let path = Text::new(e.path).ok_or(Error::BadPath)?;
        let i = e.index as usize;
        let path_hash = folded_hash(e.path);
        self.check_conflicts(store, e.path, path_hash)?;
        let mut file = FileRecord {
            path,
            size: e.size,
            sha1: e.sha1,
            sha256: e.sha256,
            first_sector: NO_SECTOR,
            offset: 0,
        };
        let need = if e.size == 0 {
            let empty = FileHasher::new(0, e.sha256.is_some());
            if git_blob_sha1(&[]) != e.sha1 || !empty.matches(&e.sha1, e.sha256.as_ref()) {
                return Err(Error::HashMismatch);
            }
            false
        } else if let Some((sector, offset)) = self.find_shared(store, e)? {
            file.first_sector = sector;
            file.offset = offset;
            false
        } else if packs(e.size) {
            let (sector, offset) = self.pack(store, e.size)?;
            file.first_sector = sector;
            file.offset = offset;
            true
        } else {
            let n = crate::space::extent_sectors(e.size);
            // Room the entries after this one may need, at most.
            let rest = sectors_for(self.bytes_left.saturating_sub(e.size as u64))
                + (self.tree.entries - self.declared - 1) as u32;
            let first = self.place(store, n, rest)?;
            if first > u16::MAX as u32 - n {
                return Err(Error::NoSpace);
            }
            self.allocated.set_range(first as usize, n as usize);
            file.first_sector = first as u16;
            true
        };
        let bytes = file.encode();
        store.program(self.entry_offset(store, e.index), &bytes)?;
        self.crc.update(&bytes);
        self.path_hash[i] = path_hash;
        for dir in folders(e.path) {
            self.folder_bloom.set(bloom_bit(folded_hash(dir)));
        }
        self.sha_prefix[i] = u32le(&e.sha1);
        if need {
            self.need.set(i);
        } else {
            self.done.set(i);
        }
        self.bytes_left = self.bytes_left.saturating_sub(e.size as u64);
        self.declared += 1;
        self.digest.add(e.path, e.size, &e.sha1, e.sha256.as_ref());
        if self.declared == self.tree.entries {
            // The whole tree is known: a provisioned agent checks it now,
            // before any file byte is written.
            self.verified = check_signature(store, self.digest.clone(), self.signature.as_ref())?;
        }
        Ok(need)
    }

    /// Room for a small file: the next pages of the sector opened last, or
    /// a new sector. Returns the sector and the byte offset in it.
    fn pack<F: NorFlash>(&mut self, store: &mut Store<F>, size: u32) -> Result<(u16, u16), Error> {
        let mut packer = self.packer;
        let (new, page) = packer.place(size);
        if new {
            let rest = sectors_for(self.bytes_left.saturating_sub(size as u64))
                + (self.tree.entries - self.declared - 1) as u32;
            let at = self.place(store, 1, rest)?;
            if at >= NO_SECTOR as u32 {
                return Err(Error::NoSpace);
            }
            self.allocated.set(at as usize);
            self.pack_sector = at as u16;
        }
        self.packer = packer;
        Ok((self.pack_sector, (page as usize * PAGE) as u16))
    }

    /// Where `n` sectors of this session go, `rest` more still to come
    /// (see `place`).
    fn place<F: NorFlash>(
        &mut self,
        store: &mut Store<F>,
        n: u32,
        rest: u32,
    ) -> Result<u32, Error> {
        let (tree, declared, allocated) = (self.tree, self.declared, &self.allocated);
        place(
            store,
            allocated,
            &mut self.erasure,
            (n, Some(rest)),
            |store| {
                // What the session refers to stays where its entries say.
                let mut pinned = allocated.clone();
                for j in 0..declared {
                    let f = store.file(&tree, j)?;
                    if f.size > 0 {
                        pinned.set_range(f.first_sector as usize, f.sectors() as usize);
                    }
                }
                Ok(pinned)
            },
        )
    }

    /// Refuses a path that conflicts with one declared before: the same up
    /// to case, a file named like a folder of an earlier one, or one of
    /// whose folders is an earlier file. Hashes in RAM pick the candidates;
    /// the tree record in flash decides.
    fn check_conflicts<F: NorFlash>(
        &self,
        store: &mut Store<F>,
        path: &str,
        path_hash: u32,
    ) -> Result<(), Error> {
        let earlier = self.declared as usize;
        let as_folder = self.folder_bloom.get(bloom_bit(path_hash));
        for j in 0..earlier {
            let h = self.path_hash[j];
            let maybe = as_folder || h == path_hash || folders(path).any(|d| folded_hash(d) == h);
            if !maybe {
                continue;
            }
            let other = store.file(&self.tree, j as u16)?;
            match conflict(other.path.as_str(), path) {
                None => {}
                Some(Conflict::Duplicate) => return Err(Error::DuplicatePath),
                Some(Conflict::Case) => return Err(Error::CaseConflict),
                Some(Conflict::FileAndFolder) => return Err(Error::FileAndFolder),
            }
        }
        Ok(())
    }

    /// An extent already holding this content: in a committed tree, or
    /// declared earlier in this session. Returns its sector and offset.
    fn find_shared<F: NorFlash>(
        &self,
        store: &mut Store<F>,
        e: &Entry<'_>,
    ) -> Result<Option<(u16, u16)>, Error> {
        if let Some(f) = store.find_sha1(&e.sha1, e.size)? {
            // Same Git blob, so same bytes; a SHA-256 the store never checked
            // is checked now, against flash, before it is recorded.
            if let Some(want) = &e.sha256 {
                if f.sha256.as_ref() != Some(want)
                    && !store.hash_extent(&f, true)?.matches(&e.sha1, Some(want))
                {
                    return Err(Error::HashMismatch);
                }
            }
            return Ok(Some((f.first_sector, f.offset)));
        }
        let prefix = u32le(&e.sha1);
        for j in 0..self.declared {
            if self.sha_prefix[j as usize] == prefix {
                let f = store.file(&self.tree, j)?;
                if f.sha1 == e.sha1 && f.size == e.size && f.size > 0 {
                    if e.sha256.is_some() && f.sha256 != e.sha256 {
                        return Err(Error::HashMismatch);
                    }
                    return Ok(Some((f.first_sector, f.offset)));
                }
            }
        }
        Ok(None)
    }

    /// The tree record being written.
    pub fn tree(&self) -> TreeRef {
        self.tree
    }

    /// Where entry `index` stands: bytes written so far.
    pub fn progress(&self, index: u16) -> Result<u32, Error> {
        if index >= self.declared {
            return Err(Error::BadEntry);
        }
        if self.done.get(index as usize) {
            return Ok(u32::MAX);
        }
        Ok(match &self.current {
            Some(Current {
                entry,
                patch: Some(p),
                ..
            }) if *entry == index => p.taken,
            Some(c) if c.entry == index => c.out.pos,
            _ => 0,
        })
    }

    /// Takes file bytes. Data must come in order within a file; anything
    /// else (a resend, a gap) is answered with where the file stands.
    pub fn data<F: NorFlash>(
        &mut self,
        store: &mut Store<F>,
        index: u16,
        offset: u32,
        bytes: &[u8],
    ) -> Result<DataOutcome, Error> {
        if let Some(at) = self.start_file(store, index, offset)? {
            return Ok(DataOutcome::Ack { offset: at });
        }
        let cur = self.current.as_mut().ok_or(Error::BadState)?;
        let (erasure, allocated) = (&mut self.erasure, &self.allocated);
        let taken = match &mut cur.patch {
            None => {
                let mut flushed = false;
                let r = write_out(store, erasure, allocated, &mut cur.out, bytes, &mut flushed);
                if flushed && packs(cur.out.file.size) {
                    self.started.set(cur.entry as usize);
                }
                r.map(|()| (cur.out.pos, cur.out.pos == cur.out.file.size))
            }
            Some(p) if bytes.len() as u64 + offset as u64 > p.size as u64 => Err(Error::BadEntry),
            Some(p) => {
                let out = &mut cur.out;
                let mut write = |store: &mut Store<F>, b: &[u8]| {
                    if b.len() as u64 + out.pos as u64 > out.file.size as u64 {
                        return Err(Error::BadPatch); // more than the entry declares
                    }
                    write_out(store, erasure, allocated, out, b, &mut false)
                };
                let done = p.take(store, bytes, &mut write);
                done.map(|done| (p.taken, done))
            }
        };
        let (at, done) = match taken {
            Ok(t) => t,
            Err(e) => {
                self.current = None;
                return Err(e);
            }
        };
        if !done {
            return Ok(DataOutcome::Ack { offset: at });
        }
        let Some(cur) = self.current.take() else {
            return Err(Error::BadState);
        };
        let f = cur.out.file;
        if cur.out.pos != f.size {
            return Err(Error::BadPatch);
        }
        if !cur.out.hasher.matches(&f.sha1, f.sha256.as_ref()) {
            return Err(Error::HashMismatch);
        }
        self.done.set(index as usize);
        Ok(DataOutcome::Done { size: at })
    }

    /// Makes `index` the file in progress when Data at `offset` may go on
    /// with it; `Some(where it stands)` when the Data is to be answered
    /// with that alone (a resend, a gap, a file already complete).
    fn start_file<F: NorFlash>(
        &mut self,
        store: &mut Store<F>,
        index: u16,
        offset: u32,
    ) -> Result<Option<u32>, Error> {
        if self.declared != self.tree.entries {
            return Err(Error::BadState);
        }
        if index >= self.declared {
            return Err(Error::BadEntry);
        }
        if self.done.get(index as usize) {
            return Ok(Some(store.file(&self.tree, index)?.size));
        }
        if self.current.as_ref().is_none_or(|c| c.entry != index) {
            if offset != 0 {
                return Ok(Some(0));
            }
            self.open(store, index)?;
        }
        let at = self.progress(index)?;
        Ok((offset != at).then_some(at))
    }

    /// Starts receiving file `index` from its first byte.
    fn open<F: NorFlash>(&mut self, store: &mut Store<F>, index: u16) -> Result<(), Error> {
        if self.started.get(index as usize) {
            // Its pages are programmed and its sector holds other files.
            return Err(Error::Rewrite);
        }
        let file = store.file(&self.tree, index)?;
        self.current = Some(Current {
            entry: index,
            out: Out {
                hasher: FileHasher::new(file.size, file.sha256.is_some()),
                file,
                pos: 0,
                page: [0xFF; PAGE],
                page_len: 0,
            },
            patch: None,
        });
        Ok(())
    }

    /// Entry `index`, needed and not started, comes as a patch of `size`
    /// bytes against `base` (protocol 1.6). A slot that does not hold the
    /// base is `BadBase`, and the entry stays as it was.
    pub fn patch<F: NorFlash>(
        &mut self,
        store: &mut Store<F>,
        index: u16,
        base: Base,
        size: u32,
    ) -> Result<(), Error> {
        if self.declared != self.tree.entries {
            return Err(Error::BadState);
        }
        if index >= self.declared || !self.need.get(index as usize) {
            return Err(Error::BadEntry);
        }
        if self.done.get(index as usize) {
            return Err(Error::BadState);
        }
        let file = store.file(&self.tree, index)?;
        if packs(file.size) || size == 0 {
            // A small file's pages cannot be written twice: it goes whole.
            return Err(Error::BadState);
        }
        let patch = PatchIn::open(store, base, size)?;
        self.open(store, index)?;
        if let Some(cur) = self.current.as_mut() {
            cur.patch = Some(patch);
        }
        Ok(())
    }

    /// Every entry declared and every needed file verified in flash.
    pub fn complete(&self) -> bool {
        self.declared == self.tree.entries && self.need.is_subset_of(&self.done)
    }

    /// Switches the device to this tree: one journal record.
    pub fn commit<F: NorFlash>(self, store: &mut Store<F>, boots: u8) -> Result<(), Error> {
        if !self.complete() {
            return Err(Error::BadState);
        }
        let tree = TreeRef {
            crc: self.crc.finalize(),
            ..self.tree
        };
        // The tree record is read back too: a record that will not load
        // after the switch would leave the device with no tree at all.
        let mut crc = CRC32.digest();
        let mut buf = [0u8; ENTRY];
        let base = store.sector_offset(tree.first_sector as u32);
        let mut at = 0u32;
        let end = (TREE_HEADER + tree.entries as usize * ENTRY) as u32;
        while at < end {
            store.read(base + at, &mut buf)?;
            crc.update(&buf);
            at += ENTRY as u32;
        }
        if crc.finalize() != tree.crc {
            return Err(Error::ReadbackMismatch);
        }
        let mut hbuf = [0u8; TREE_HEADER];
        store.read(base, &mut hbuf)?;
        let same = TreeHeader::decode(&hbuf).is_some_and(|h| store.is_active_tree(&h));
        store.commit(tree, boots, self.verified, same)
    }

    fn entry_offset<F: NorFlash>(&self, store: &Store<F>, index: u16) -> u32 {
        store.sector_offset(self.tree.first_sector as u32)
            + (TREE_HEADER + index as usize * ENTRY) as u32
    }
}

/// Where `n` new sectors go (`rest` more may follow): a hole that takes
/// them, else one made by moving committed files out of the way
/// (compact.rs), never moving what `pinned` marks.
fn place<F: NorFlash>(
    store: &mut Store<F>,
    allocated: &SectorMap,
    erasure: &mut Erasure,
    (n, rest): (u32, Option<u32>),
    pinned: impl FnOnce(&mut Store<F>) -> Result<SectorMap, Error>,
) -> Result<u32, Error> {
    let fit = |store: &Store<F>, e: &Erasure| {
        allocate(store, allocated, (e.written(), e.fresh()), n, rest)
    };
    if let Some(at) = fit(store, erasure) {
        return Ok(at);
    }
    let pinned = pinned(store)?;
    if !make_room(store, &pinned, erasure, n)? {
        return Err(Error::NoSpace);
    }
    fit(store, erasure).ok_or(Error::NoSpace)
}

fn bloom_bit(hash: u32) -> usize {
    (hash as usize) % (FOLDER_BLOOM_WORDS * 32)
}

/// Ok(true) when a provisioned agent verified the signature; Ok(false) when
/// the agent holds no keys (nothing to check).
fn check_signature<F: NorFlash>(
    store: &Store<F>,
    digest: TreeDigest,
    sig: Option<&[u8; 64]>,
) -> Result<bool, Error> {
    if !store.provisioned() {
        return Ok(false);
    }
    match sig {
        Some(sig) if signed_by_any(store.keys(), &digest.finish(), sig) => Ok(true),
        _ => Err(Error::Unsigned),
    }
}

/// Hashes `bytes` and puts them into the file's pages, programming each
/// page once it is full or the file ends (`flushed` then says so: a small
/// file's sector is shared from its first page on).
fn write_out<F: NorFlash>(
    store: &mut Store<F>,
    erasure: &mut Erasure,
    allocated: &SectorMap,
    cur: &mut Out,
    bytes: &[u8],
    flushed: &mut bool,
) -> Result<(), Error> {
    if bytes.len() as u64 + cur.pos as u64 > cur.file.size as u64 {
        return Err(Error::BadEntry);
    }
    cur.hasher.update(bytes);
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = rest.len().min(PAGE - cur.page_len);
        cur.page[cur.page_len..cur.page_len + n].copy_from_slice(&rest[..n]);
        cur.page_len += n;
        cur.pos += n as u32;
        rest = &rest[n..];
        if cur.page_len == PAGE || cur.pos == cur.file.size {
            *flushed = true;
            flush_page(store, erasure, allocated, cur)?;
        }
    }
    Ok(())
}

/// Programs the current page, making each sector ready (erased, alone or
/// with its whole 64 KiB block) as the file enters it.
fn flush_page<F: NorFlash>(
    store: &mut Store<F>,
    erasure: &mut Erasure,
    allocated: &SectorMap,
    cur: &mut Out,
) -> Result<(), Error> {
    let page_start = (cur.pos - 1) / PAGE as u32 * PAGE as u32;
    let sector = cur.file.first_sector as u32 + page_start / SECTOR;
    if packs(cur.file.size) {
        // A shared sector is made ready once, by whichever of its files
        // comes first; its other files' pages are still blank then.
        if page_start == 0 && !erasure.written().get(sector as usize) {
            erasure.prepare(store, allocated, sector)?;
        }
    } else if page_start.is_multiple_of(SECTOR) {
        erasure.prepare(store, allocated, sector)?;
    }
    let at = store.sector_offset(0) + cur.file.start() + page_start;
    store.program(at, &cur.page)?;
    let n = cur.page_len;
    let mut back = [0u8; PAGE];
    store.read(at, &mut back[..n])?;
    if back[..n] != cur.page[..n] {
        return Err(Error::ReadbackMismatch);
    }
    cur.page = [0xFF; PAGE];
    cur.page_len = 0;
    Ok(())
}
