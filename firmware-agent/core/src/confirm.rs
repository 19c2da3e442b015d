//! Confirming the active tree from the application: the one journal record
//! [`Store::confirm`](crate::Store::confirm) appends, written by code small
//! enough for an application to carry. It reads the journal and nothing
//! else of the store: no tree is loaded, no sector counted.
//!
//! Keep it in step with the store: the record it writes must be the one
//! `Store::confirm` would, but for the security version (the tests hold
//! the two equal), and it must only
//! ever append, as every change of the journal does.

use embedded_storage::nor_flash::NorFlash;

use crate::layout::{History, Record, State, JOURNAL_SECTORS, RECORD, RECORDS_PER_SECTOR, SECTOR};
use crate::Error;

/// The newest valid journal record, and where the next one goes: (journal
/// sector, slot), the slot `RECORDS_PER_SECTOR` when that sector is full.
pub fn newest<F: NorFlash>(flash: &mut F, base: u32) -> Result<Option<Found>, Error> {
    let mut newest: Option<(Record, u32)> = None;
    let mut last_used = [None::<usize>; JOURNAL_SECTORS as usize];
    let mut buf = [0u8; RECORD];
    for sector in 0..JOURNAL_SECTORS {
        for slot in 0..RECORDS_PER_SECTOR {
            let at = base + sector * SECTOR + (slot * RECORD) as u32;
            flash.read(at, &mut buf).map_err(|_| Error::Flash)?;
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
    Ok(newest.map(|(r, sector)| {
        let slot = last_used[sector as usize].map_or(0, |s| s + 1);
        (r, (sector, slot))
    }))
}

/// The newest record and where the next goes, as [`newest`] found them.
pub type Found = (Record, (u32, usize));

/// Confirms the active tree, in trial (or failed) until now, with one record
/// append. Ok(false): there was nothing to confirm (no tree, or confirmed).
pub fn confirm<F: NorFlash>(flash: &mut F, base: u32) -> Result<bool, Error> {
    match newest(flash, base)? {
        Some(found) => confirm_found(flash, base, found),
        None => Ok(false),
    }
}

/// [`confirm`] with the journal already read (an application reads it in
/// place at start; nothing but itself writes it while it runs).
pub fn confirm_found<F: NorFlash>(flash: &mut F, base: u32, found: Found) -> Result<bool, Error> {
    let (record, (mut sector, mut slot)) = found;
    if !matches!(record.state, State::Trial { .. } | State::Failed) {
        return Ok(false);
    }
    // The security version a signed tree raises once confirmed is left to
    // the agent (`Store::security_version` counts it from this record on,
    // and its next record writes it): parsing versions here would cost the
    // application more flash than all the rest.
    let next = Record {
        seq: record.seq.wrapping_add(1),
        state: State::Confirmed,
        history: History {
            trial_boots: None,
            active_failed: None,
            ..record.history
        },
        ..record
    };
    if slot >= RECORDS_PER_SECTOR {
        sector = 1 - sector;
        slot = 0;
        let at = base + sector * SECTOR;
        flash.erase(at, at + SECTOR).map_err(|_| Error::Flash)?;
    }
    let at = base + sector * SECTOR + (slot * RECORD) as u32;
    flash.write(at, &next.encode()).map_err(|_| Error::Flash)?;
    Ok(true)
}
