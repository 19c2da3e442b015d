//! Confirming the active tree from the application: the one journal record
//! [`Store::confirm`](crate::Store::confirm) appends, written by code small
//! enough for an application to carry. It works on the record's bytes: the
//! newest whole record, copied with its sequence number, state and trial
//! history changed, sealed again. No tree is loaded, no record decoded in
//! full, no sector counted.
//!
//! Keep it in step with the store: the record it writes must decode as the
//! one `Store::confirm` would write, but for the security version (the tests
//! hold the two equal), and it must only ever append, as every change of
//! the journal does.

use embedded_storage::nor_flash::NorFlash;

use crate::layout::{
    seal_record, RecordHead, State, JOURNAL_SECTORS, PAGE, RECORD, RECORDS_PER_SECTOR,
    RECORD_BOOTS, RECORD_HISTORY, RECORD_STATE, SECTOR,
};
use crate::Error;

/// The newest whole record of a journal and where the next one goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Newest {
    pub head: RecordHead,
    pub bytes: [u8; RECORD],
    /// The journal sector of the newest record, and the slot in it after
    /// the last written one (`RECORDS_PER_SECTOR` when the sector is full).
    pub sector: u32,
    pub slot: usize,
}

impl Newest {
    /// Where the next record goes, as an offset in the journal, and whether
    /// its sector must be erased first (the newest one's sector is full).
    pub fn next_slot(&self) -> (u32, bool) {
        match self.slot < RECORDS_PER_SECTOR {
            true => (self.sector * SECTOR + (self.slot * RECORD) as u32, false),
            false => ((1 - self.sector) * SECTOR, true),
        }
    }
}

/// The newest whole record, read one record at a time by `read` (offset in
/// the journal, bytes to fill). `None`: the journal holds none.
pub fn scan(
    mut read: impl FnMut(u32, &mut [u8; RECORD]) -> Result<(), Error>,
) -> Result<Option<Newest>, Error> {
    let mut newest: Option<(RecordHead, [u8; RECORD], u32)> = None;
    let mut last_used = [None::<usize>; JOURNAL_SECTORS as usize];
    let mut buf = [0u8; RECORD];
    for sector in 0..JOURNAL_SECTORS {
        for slot in 0..RECORDS_PER_SECTOR {
            read(sector * SECTOR + (slot * RECORD) as u32, &mut buf)?;
            if buf.iter().any(|&b| b != 0xFF) {
                last_used[sector as usize] = Some(slot);
            }
            if let Some(head) = RecordHead::read(&buf) {
                if newest.is_none_or(|(n, _, _)| head.seq > n.seq) {
                    newest = Some((head, buf, sector));
                }
            }
        }
    }
    Ok(newest.map(|(head, bytes, sector)| {
        let slot = last_used[sector as usize].map_or(0, |s| s + 1);
        Newest {
            head,
            bytes,
            sector,
            slot,
        }
    }))
}

/// [`scan`] over a journal in place (an application reads it through XIP).
pub fn scan_in(journal: &[u8]) -> Option<Newest> {
    scan(|at, buf| {
        let at = at as usize;
        let src = journal.get(at..at + RECORD).ok_or(Error::Geometry)?;
        buf.copy_from_slice(src);
        Ok(())
    })
    .ok()
    .flatten()
}

/// The record that confirms the tree of `newest`, in trial (or failed) until
/// now; `None` when there is nothing to confirm.
pub fn confirmed(newest: &Newest) -> Option<[u8; RECORD]> {
    if !matches!(newest.head.state, State::Trial { .. } | State::Failed) {
        return None;
    }
    // The security version a signed tree raises once confirmed is left to
    // the agent (`Store::security_version` counts it from this record on,
    // and its next record writes it): parsing versions here would cost the
    // application more flash than all the rest.
    let mut b = newest.bytes;
    b[4..8].copy_from_slice(&newest.head.seq.wrapping_add(1).to_le_bytes());
    b[RECORD_STATE] = (b[RECORD_STATE] & 0xC0) | 1;
    b[RECORD_BOOTS] = 0;
    // The trial is over: neither the boots it was given nor a failed one count.
    b[RECORD_HISTORY] = 0xFF;
    b[RECORD_HISTORY + 1] = 0xFF;
    seal_record(&mut b);
    Some(b)
}

/// Confirms the active tree, in trial (or failed) until now, with one record
/// append. Ok(false): there was nothing to confirm (no tree, or confirmed).
pub fn confirm<F: NorFlash>(flash: &mut F, base: u32) -> Result<bool, Error> {
    let newest = scan(|at, buf| flash.read(base + at, buf).map_err(|_| Error::Flash))?;
    let Some(newest) = newest else {
        return Ok(false);
    };
    let Some(record) = confirmed(&newest) else {
        return Ok(false);
    };
    let (at, erase) = newest.next_slot();
    if erase {
        flash
            .erase(base + at, base + at + SECTOR)
            .map_err(|_| Error::Flash)?;
    }
    flash.write(base + at, &record).map_err(|_| Error::Flash)?;
    Ok(true)
}

/// The flash page that holds the record slot at `at`, as a page program
/// writes it (the boot ROM programs whole pages): the record in its place,
/// 0xFF everywhere else, which leaves the page's other records as they are.
pub fn page_for(at: u32, record: &[u8; RECORD]) -> (u32, [u8; PAGE]) {
    let mut page = [0xFF; PAGE];
    let within = at as usize % PAGE;
    page[within..within + RECORD].copy_from_slice(record);
    (at - within as u32, page)
}
