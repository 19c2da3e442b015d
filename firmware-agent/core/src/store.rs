//! The content-addressed flash store: the root journal, the two trees it
//! names, and the sectors they use.
//!
//! Invariant: the newest valid journal record is the whole committed state.
//! Every change of state is one record append, so a power cut leaves either
//! the old record or the new one; sectors that no committed tree references
//! are free, whatever bytes they hold.

use embedded_storage::nor_flash::NorFlash;

use crate::bitmap::Bitmap;
use crate::hash::{FileHasher, Sha1};
use crate::layout::*;
use crate::Error;

pub type SectorMap = Bitmap<{ MAX_SECTORS / 32 }>;

/// What the boot decision did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootOutcome {
    /// No tree, or a confirmed tree: nothing to decide.
    Normal,
    /// The active tree is in trial; this boot used one of its boots.
    Trial { boots_left: u8 },
    /// The trial tree ran out of boots; the previous tree is active again.
    RolledBack,
    /// The active tree failed its trial and there is nothing to fall back
    /// to: the agent stays in charge.
    Failed,
}

/// A committed tree, as loaded at open.
#[derive(Debug, Clone, Copy)]
pub struct Tree {
    pub at: TreeRef,
    pub header: TreeHeader,
}

pub struct Store<F> {
    flash: F,
    base: u32,
    sectors: u32,
    record: Record,
    /// Next journal slot: (sector 0 or 1, slot). A full sector means the
    /// next append erases the other sector first.
    next: (u32, usize),
    active: Option<Tree>,
    previous: Option<Tree>,
    used: SectorMap,
    keys: Keys,
    /// Trees the journal named that failed their CRC (flash decay, not power cuts).
    pub corrupt_trees: u8,
    /// Sectors only the previous tree uses: what dropping it frees.
    previous_only: u32,
    /// Sectors copied to make room (see `compact.rs`) since the store was opened.
    pub moved_sectors: u32,
}

impl<F: NorFlash> Store<F> {
    /// Opens the store in `sectors` 4 KiB sectors at byte `base` of `flash`.
    /// Blank or foreign flash opens as an empty store.
    pub fn open(flash: F, base: u32, sectors: u32) -> Result<Self, Error> {
        let sane = (SECTOR as usize).is_multiple_of(F::ERASE_SIZE)
            && PAGE.is_multiple_of(F::WRITE_SIZE)
            && RECORD.is_multiple_of(F::WRITE_SIZE)
            && F::READ_SIZE == 1
            && base.is_multiple_of(SECTOR)
            && sectors > JOURNAL_SECTORS + 1
            && sectors as usize <= MAX_SECTORS
            && (base as u64 + sectors as u64 * SECTOR as u64) <= flash.capacity() as u64;
        if !sane {
            return Err(Error::Geometry);
        }
        let mut store = Store {
            flash,
            base,
            sectors,
            record: Record {
                seq: 0,
                active: None,
                previous: None,
                state: State::Empty,
                keys: None,
                active_signed: false,
                previous_signed: false,
                slot: Slot::Unmanaged,
                original: None,
                history: History::default(),
                security_version: 0,
                key_changes: 0,
            },
            next: (1, RECORDS_PER_SECTOR),
            keys: Keys::default(),
            active: None,
            previous: None,
            used: SectorMap::new(),
            corrupt_trees: 0,
            previous_only: 0,
            moved_sectors: 0,
        };
        store.scan_journal()?;
        store.load_trees()?;
        Ok(store)
    }

    fn scan_journal(&mut self) -> Result<(), Error> {
        let mut newest: Option<(Record, u32)> = None;
        let mut last_used = [None::<usize>; 2];
        let mut buf = [0u8; RECORD];
        for sector in 0..JOURNAL_SECTORS {
            for slot in 0..RECORDS_PER_SECTOR {
                self.read(self.journal_offset(sector, slot), &mut buf)?;
                if buf.iter().any(|&b| b != 0xFF) {
                    last_used[sector as usize] = Some(slot);
                }
                if let Some(r) = Record::decode(&buf) {
                    if newest.is_none_or(|(n, _)| r.seq > n.seq) {
                        newest = Some((r, sector));
                    }
                }
            }
        }
        if let Some((record, sector)) = newest {
            self.record = record;
            let slot = last_used[sector as usize].map_or(0, |s| s + 1);
            self.next = (sector, slot);
        }
        Ok(())
    }

    fn load_trees(&mut self) -> Result<(), Error> {
        self.used.clear();
        self.used.set_range(0, JOURNAL_SECTORS as usize);
        self.active = self.load_tree(self.record.active)?;
        let before_previous = self.used.count();
        self.previous = self.load_tree(self.record.previous)?;
        self.previous_only = self.used.count() - before_previous;
        if let Some(o) = self.record.original {
            let end = o.first_sector as u32 + o.sectors as u32;
            if o.first_sector as u32 >= JOURNAL_SECTORS && end <= self.sectors {
                self.used
                    .set_range(o.first_sector as usize, o.sectors as usize);
            }
        }
        self.keys = Keys::default();
        if let Some(sector) = self.record.keys.filter(|&s| (s as u32) < self.sectors) {
            let mut b = [0u8; KEYS_RECORD];
            self.read(self.sector_offset(sector as u32), &mut b)?;
            // A keys sector is written whole before the record naming it, so
            // a bad one is decay, not a power cut: fail closed, refuse everything.
            self.keys = Keys::decode(&b).unwrap_or(Keys {
                count: u8::MAX,
                ..Keys::default()
            });
            self.used.set(sector as usize);
        }
        Ok(())
    }

    /// The provisioned release keys (none: unsigned trees are accepted).
    /// A damaged keys sector reads as keys that match nothing.
    pub fn keys(&self) -> &[[u8; 32]] {
        if self.keys.count == u8::MAX {
            return &[];
        }
        self.keys.as_slice()
    }

    /// True when trees must be signed.
    pub fn provisioned(&self) -> bool {
        self.keys.count > 0
    }

    /// How many release keys are provisioned (255: the keys sector is damaged).
    pub fn key_count(&self) -> u8 {
        self.keys.count
    }

    /// Replaces the release keys: a new keys sector, then one journal record.
    pub fn provision(&mut self, keys: &[[u8; 32]]) -> Result<(), Error> {
        if keys.len() > crate::signature::MAX_KEYS {
            return Err(Error::BadEntry);
        }
        // Counted in the record that switches the keys: the change and its
        // count are one atomic step.
        let key_changes = self.record.key_changes.wrapping_add(1);
        if keys.is_empty() {
            return self.append(Record {
                keys: None,
                key_changes,
                ..self.record
            });
        }
        let mut k = Keys {
            count: keys.len() as u8,
            ..Keys::default()
        };
        k.keys[..keys.len()].copy_from_slice(keys);
        let mut sector = None;
        for s in JOURNAL_SECTORS..self.sectors {
            if !self.used.get(s as usize) {
                sector = Some(s);
                break;
            }
        }
        let sector = sector.ok_or(Error::NoSpace)?;
        self.erase_sector(sector)?;
        self.program(self.sector_offset(sector), &k.encode())?;
        self.append(Record {
            keys: Some(sector as u16),
            key_changes,
            ..self.record
        })
    }

    /// Reads a tree's header, checks its CRC, and marks its sectors used.
    fn load_tree(&mut self, at: Option<TreeRef>) -> Result<Option<Tree>, Error> {
        let Some(at) = at else { return Ok(None) };
        let in_range = (at.entries as usize) <= MAX_ENTRIES
            && at.first_sector as u32 >= JOURNAL_SECTORS
            && at.first_sector as u32 + tree_sectors(at.entries as usize) <= self.sectors;
        if !in_range {
            self.corrupt_trees += 1;
            return Ok(None);
        }
        let mut hbuf = [0u8; TREE_HEADER];
        let base = self.sector_offset(at.first_sector as u32);
        self.read(base, &mut hbuf)?;
        let mut crc = CRC32.digest();
        crc.update(&hbuf);
        let mut ebuf = [0u8; ENTRY];
        let mut extents = SectorMap::new();
        let mut ok = TreeHeader::decode(&hbuf).filter(|h| h.entries == at.entries);
        for i in 0..at.entries as usize {
            if ok.is_none() {
                break;
            }
            self.read(base + (TREE_HEADER + i * ENTRY) as u32, &mut ebuf)?;
            crc.update(&ebuf);
            match FileRecord::decode(&ebuf) {
                Some(f) if f.size == 0 => {}
                Some(f) if f.first_sector as u32 + f.sectors() <= self.sectors => {
                    extents.set_range(f.first_sector as usize, f.sectors() as usize)
                }
                _ => ok = None,
            }
        }
        match ok {
            Some(header) if crc.finalize() == at.crc => {
                for s in 0..self.sectors as usize {
                    if extents.get(s) {
                        self.used.set(s);
                    }
                }
                self.used.set_range(
                    at.first_sector as usize,
                    tree_sectors(at.entries as usize) as usize,
                );
                Ok(Some(Tree { at, header }))
            }
            _ => {
                self.corrupt_trees += 1;
                Ok(None)
            }
        }
    }

    /// The boot decision: spend one trial boot, or roll back when none is
    /// left. A tree that ran out of boots with nothing good to fall back to
    /// (no previous tree, or one that failed its own trial) is marked failed,
    /// and a failed tree is never handed over to.
    pub fn boot(&mut self) -> Result<BootOutcome, Error> {
        match self.record.state {
            State::Trial { boots_left: 0 } => {
                // Remembered, so that the failed tree is never taken for a good one.
                let failed = self.record.history.trial_boots.unwrap_or(0);
                let h = self.record.history;
                if self.previous.is_some() && h.previous_failed.is_none() {
                    // A previous tree that never confirmed goes back in as a
                    // trial, and this boot is its first.
                    let state = h.previous_trial.map_or(State::Confirmed, |n| State::Trial {
                        boots_left: n.saturating_sub(1),
                    });
                    self.swap(state, |h| History {
                        trial_boots: h.previous_trial,
                        previous_failed: Some(failed),
                        ..h.swapped()
                    })?;
                    return Ok(BootOutcome::RolledBack);
                }
                self.append(Record {
                    state: State::Failed,
                    history: History {
                        active_failed: Some(failed),
                        ..h
                    },
                    ..self.record
                })?;
                Ok(BootOutcome::Failed)
            }
            State::Trial { boots_left } => {
                let boots_left = boots_left - 1;
                self.append(Record {
                    state: State::Trial { boots_left },
                    ..self.record
                })?;
                Ok(BootOutcome::Trial { boots_left })
            }
            State::Failed => Ok(BootOutcome::Failed),
            _ => Ok(BootOutcome::Normal),
        }
    }

    /// Keep the active tree: one in trial, or one that failed its trial
    /// (accepted as it is).
    pub fn confirm(&mut self) -> Result<(), Error> {
        match self.record.state {
            State::Trial { .. } | State::Failed => self.append(Record {
                state: State::Confirmed,
                history: History {
                    trial_boots: None,
                    active_failed: None,
                    ..self.record.history
                },
                ..self.record
            }),
            State::Confirmed => Ok(()),
            State::Empty => Err(Error::NotTrial),
        }
    }

    /// Swap the active and previous trees. The tree rolled back to is
    /// confirmed, unless it was replaced while still in trial: then it is
    /// in trial again, with the boots it had been given.
    pub fn rollback(&mut self) -> Result<(), Error> {
        let h = self.record.history;
        let state = h
            .previous_trial
            .map_or(State::Confirmed, |n| State::Trial { boots_left: n });
        self.swap(state, |h| History {
            trial_boots: h.previous_trial,
            ..h.swapped()
        })
    }

    /// Swaps the active and previous trees in one record, with `state` and
    /// the history `history` makes of the old one. A tree that leaves while
    /// in trial is remembered as never confirmed.
    fn swap(&mut self, state: State, history: impl Fn(History) -> History) -> Result<(), Error> {
        if self.record.previous.is_none() || self.previous.is_none() {
            return Err(Error::NoPrevious);
        }
        let leaving_trial = self.leaving_trial();
        self.append(Record {
            seq: 0,
            active: self.record.previous,
            previous: self.record.active,
            state,
            keys: self.record.keys,
            active_signed: self.record.previous_signed,
            previous_signed: self.record.active_signed,
            history: History {
                previous_trial: leaving_trial,
                ..history(self.record.history)
            },
            ..self.record
        })
    }

    /// The boots of the active tree's trial when it is in one (a trial from
    /// a record older than the history counts as one boot).
    fn leaving_trial(&self) -> Option<u8> {
        match self.record.state {
            State::Trial { .. } => Some(self.record.history.trial_boots.unwrap_or(1).max(1)),
            _ => None,
        }
    }

    /// A rollback a host asked for: a provisioned agent goes back only to a
    /// tree whose signature it checked (the boot's own rollback always may),
    /// and never silently onto a tree that failed its trial: that takes
    /// `trial` boots, and the tree goes in as a trial again.
    pub fn rollback_requested(&mut self, trial: Option<u8>) -> Result<(), Error> {
        if self.provisioned() && !self.record.previous_signed {
            return Err(Error::Unsigned);
        }
        let older = self.previous.as_ref().is_some_and(|t| {
            crate::signature::security_version(t.header.version.as_str()) < self.security_version()
        });
        if self.provisioned() && older {
            return Err(Error::Downgrade);
        }
        if self.record.state == State::Failed && self.previous.is_none() {
            // Nothing to go back to: try the failed tree again, as a new trial.
            return match trial {
                Some(boots) if boots > 0 => self.append(Record {
                    state: State::Trial { boots_left: boots },
                    history: History {
                        trial_boots: Some(boots),
                        ..self.record.history
                    },
                    ..self.record
                }),
                _ => Err(Error::NoPrevious),
            };
        }
        match trial {
            None if self.record.history.previous_failed.is_some() => Err(Error::FailedTrial),
            None | Some(0) => self.rollback(),
            Some(boots) => self.swap(State::Trial { boots_left: boots }, |h| History {
                trial_boots: Some(boots),
                ..h.swapped()
            }),
        }
    }

    /// Forgets the previous tree, so that its sectors are free for a new
    /// one: one record. Refused while the active tree is in trial, since the
    /// previous tree is then what the device falls back to.
    pub fn drop_previous(&mut self) -> Result<(), Error> {
        if matches!(self.record.state, State::Trial { .. }) {
            return Err(Error::BadState);
        }
        if self.record.previous.is_none() {
            return Ok(());
        }
        self.append(Record {
            previous: None,
            previous_signed: false,
            history: History {
                previous_failed: None,
                previous_trial: None,
                ..self.record.history
            },
            ..self.record
        })
    }

    /// Names the same two trees at new places (their files moved to make
    /// room): one record, nothing else of the state changes.
    pub(crate) fn relocate(
        &mut self,
        active: Option<TreeRef>,
        previous: Option<TreeRef>,
    ) -> Result<(), Error> {
        self.append(Record {
            active,
            previous,
            ..self.record
        })
    }

    /// Whether a tree with this header is the active tree again (same
    /// version, ref and commit): committing it must not push out the previous one.
    pub fn is_active_tree(&self, h: &TreeHeader) -> bool {
        self.active.as_ref().is_some_and(|a| {
            a.header.version == h.version
                && a.header.git_ref == h.git_ref
                && a.header.commit == h.commit
        })
    }

    /// Make `tree` active, the active tree previous: the atomic switch.
    /// The tree to fall back to stays one that ran well: an active tree still
    /// in trial never confirmed, so it is dropped and the previous one kept.
    /// The same tree again (`same`, a forced push of what runs) keeps the
    /// previous tree too: it is still the real version to go back to.
    pub(crate) fn commit(
        &mut self,
        tree: TreeRef,
        boots: u8,
        signed: bool,
        same: bool,
    ) -> Result<(), Error> {
        let h = self.record.history;
        let on_trial = matches!(self.record.state, State::Trial { .. } | State::Failed);
        let keep = same || on_trial;
        let (previous, previous_signed, previous_failed, previous_trial) =
            match (keep, self.record.previous) {
                (true, Some(p)) => (
                    Some(p),
                    self.record.previous_signed,
                    h.previous_failed,
                    h.previous_trial,
                ),
                // Nothing else to keep: the tree replaced becomes the
                // previous one, with what its trial came to so far.
                _ => (
                    self.record.active,
                    self.record.active_signed,
                    h.active_failed,
                    self.leaving_trial(),
                ),
            };
        self.append(Record {
            seq: 0,
            active: Some(tree),
            previous,
            state: if boots == 0 {
                State::Confirmed
            } else {
                State::Trial { boots_left: boots }
            },
            active_signed: signed,
            previous_signed,
            history: History {
                trial_boots: (boots > 0).then_some(boots),
                active_failed: None,
                previous_failed,
                previous_trial,
            },
            ..self.record
        })
    }

    /// The security version `record` must carry: raised to its active
    /// tree's when that tree is signed and confirmed (a trial tree raises it
    /// only once it confirms, so rolling back from a trial stays possible).
    fn raised_security(&mut self, record: &Record) -> Result<u32, Error> {
        let Some(at) = record.active.filter(|_| {
            record.active_signed && record.state == State::Confirmed && record.keys.is_some()
        }) else {
            return Ok(record.security_version);
        };
        let mut hbuf = [0u8; TREE_HEADER];
        self.read(self.sector_offset(at.first_sector as u32), &mut hbuf)?;
        let tree = TreeHeader::decode(&hbuf).map_or(0, |h| {
            crate::signature::security_version(h.version.as_str())
        });
        Ok(record.security_version.max(tree))
    }

    /// The security version: signed trees older than it are refused. A
    /// signed tree confirmed by the application (`crate::confirm`, which
    /// leaves the raise to the agent) counts at once; the journal takes the
    /// raised value with its next record.
    pub fn security_version(&self) -> u32 {
        let pending = self.active.as_ref().filter(|_| {
            self.record.active_signed
                && self.record.state == State::Confirmed
                && self.record.keys.is_some()
        });
        pending.map_or(self.record.security_version, |t| {
            let tree = crate::signature::security_version(t.header.version.as_str());
            self.record.security_version.max(tree)
        })
    }

    /// Key changes made: the count a key-change authorisation must name.
    pub fn key_changes(&self) -> u32 {
        self.record.key_changes
    }

    pub(crate) fn append(&mut self, mut record: Record) -> Result<(), Error> {
        record.seq = self.record.seq.wrapping_add(1);
        record.security_version = self.raised_security(&record)?;
        let (mut sector, mut slot) = self.next;
        if slot >= RECORDS_PER_SECTOR {
            sector = 1 - sector;
            slot = 0;
            // Claim the slot before touching flash, so that a failed erase or
            // write is never followed by a write over a half-programmed slot.
            self.next = (sector, RECORDS_PER_SECTOR);
            let at = self.sector_offset(sector);
            self.flash
                .erase(at, at + SECTOR)
                .map_err(|_| Error::Flash)?;
        }
        self.next = (sector, slot + 1);
        self.flash
            .write(self.journal_offset(sector, slot), &record.encode())
            .map_err(|_| Error::Flash)?;
        self.record = record;
        self.load_trees()
    }

    pub fn record(&self) -> &Record {
        &self.record
    }

    pub fn state(&self) -> State {
        self.record.state
    }

    pub fn active(&self) -> Option<&Tree> {
        self.active.as_ref()
    }

    pub fn previous(&self) -> Option<&Tree> {
        self.previous.as_ref()
    }

    pub fn sectors(&self) -> u32 {
        self.sectors
    }

    pub fn used(&self) -> &SectorMap {
        &self.used
    }

    pub fn free_sectors(&self) -> u32 {
        self.sectors - self.used.count()
    }

    /// Sectors that dropping the previous tree would free (those no other
    /// tree, journal or keys record uses).
    pub fn previous_only_sectors(&self) -> u32 {
        self.previous_only
    }

    /// The `i`-th file of `tree`.
    pub fn file(&mut self, tree: &TreeRef, i: u16) -> Result<FileRecord, Error> {
        let mut buf = [0u8; ENTRY];
        let at = self.sector_offset(tree.first_sector as u32)
            + (TREE_HEADER + i as usize * ENTRY) as u32;
        self.read(at, &mut buf)?;
        FileRecord::decode(&buf).ok_or(Error::Corrupt)
    }

    /// A file of the active tree by path.
    pub fn find_path(&mut self, path: &str) -> Result<Option<FileRecord>, Error> {
        let Some(tree) = self.active.map(|t| t.at) else {
            return Ok(None);
        };
        for i in 0..tree.entries {
            let f = self.file(&tree, i)?;
            if f.path.as_str() == path {
                return Ok(Some(f));
            }
        }
        Ok(None)
    }

    /// A file with this Git blob SHA-1 in the active or the previous tree.
    pub fn find_sha1(&mut self, sha1: &Sha1, size: u32) -> Result<Option<FileRecord>, Error> {
        for tree in [self.active, self.previous].into_iter().flatten() {
            for i in 0..tree.at.entries {
                let f = self.file(&tree.at, i)?;
                if &f.sha1 == sha1 && f.size == size && f.size > 0 {
                    return Ok(Some(f));
                }
            }
        }
        Ok(None)
    }

    /// Reads file bytes at `offset` into `buf`; returns how many were read.
    pub fn read_file(
        &mut self,
        f: &FileRecord,
        offset: u32,
        buf: &mut [u8],
    ) -> Result<usize, Error> {
        if offset >= f.size {
            return Ok(0);
        }
        let n = buf.len().min((f.size - offset) as usize);
        let at = self.sector_offset(0) + f.start() + offset;
        self.read(at, &mut buf[..n])?;
        Ok(n)
    }

    /// Hashes a file's extent as it stands in flash.
    pub fn hash_extent(&mut self, f: &FileRecord, with_sha256: bool) -> Result<FileHasher, Error> {
        let mut h = FileHasher::new(f.size, with_sha256);
        let mut buf = [0u8; PAGE];
        let mut off = 0;
        while off < f.size {
            let n = self.read_file(f, off, &mut buf)?;
            h.update(&buf[..n]);
            off += n as u32;
        }
        Ok(h)
    }

    /// `version.json` of the active tree, as the seed updater wrote it:
    /// `{"version":…,"ref":…,"commit":…}`. Returns the bytes written to `buf`.
    pub fn version_json(&self, buf: &mut [u8; VERSION_JSON_MAX]) -> usize {
        crate::version_json::write(self.active.as_ref().map(|t| &t.header), buf)
    }

    pub(crate) fn erase_sector(&mut self, sector: u32) -> Result<(), Error> {
        let at = self.sector_offset(sector);
        self.flash.erase(at, at + SECTOR).map_err(|_| Error::Flash)
    }

    pub(crate) fn program(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Error> {
        self.flash.write(offset, bytes).map_err(|_| Error::Flash)
    }

    pub(crate) fn read(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), Error> {
        self.flash.read(offset, buf).map_err(|_| Error::Flash)
    }

    pub fn sector_offset(&self, sector: u32) -> u32 {
        self.base + sector * SECTOR
    }

    fn journal_offset(&self, sector: u32, slot: usize) -> u32 {
        self.sector_offset(sector) + (slot * RECORD) as u32
    }

    /// Gives the flash back (a simulated power cut or reboot in tests).
    pub fn into_flash(self) -> F {
        self.flash
    }

    pub fn flash_mut(&mut self) -> &mut F {
        &mut self.flash
    }
}
