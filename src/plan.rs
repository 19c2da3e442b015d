//! What a push would change on the device, computed from the device's file
//! lists: shown by `--dry-run`, and in every push's report. Its flash need
//! is counted by the agent's own rule (`ota_agent::space`), so a push that
//! would not fit is refused before any byte is sent.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use ota_agent::space;

use crate::bundle::{hex, Bundle};
use crate::device::DeviceFile;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Plan {
    /// New paths whose content the device does not hold.
    pub added: Vec<String>,
    /// Existing paths with new content the device does not hold.
    pub changed: Vec<String>,
    /// New or changed paths whose content the device already holds (renames, reverts).
    pub reused: Vec<String>,
    /// Paths on the device that the new tree drops.
    pub removed: Vec<String>,
    pub unchanged: usize,
    pub files_to_send: usize,
    pub bytes_to_send: u64,
    pub space: Space,
}

/// The flash a push needs against what the device has, in 4 KiB sectors.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Space {
    /// Sectors the new tree takes: its record and the extents of content the device lacks.
    pub needed_sectors: u32,
    /// Sectors free now.
    pub free_sectors: u32,
    /// Sectors the new tree takes once the previous tree is dropped (it
    /// can no longer lend content).
    pub needed_without_previous_sectors: u32,
    /// Sectors free once the previous tree is dropped.
    pub free_without_previous_sectors: u32,
    /// Whether the tree fits beside both trees the device holds.
    pub fits: bool,
    /// Whether it fits once the previous tree is dropped.
    pub fits_without_previous: bool,
}

impl Space {
    /// Counts what `bundle` needs on a device holding `active` and
    /// `previous` with `free` sectors free, `previous_only` of them more
    /// once the previous tree is dropped (the agent says how many).
    pub fn count(
        bundle: &Bundle,
        active: &[DeviceFile],
        previous: &[DeviceFile],
        free: u32,
        previous_only: u32,
    ) -> Space {
        let need = |held: &[&[DeviceFile]]| {
            let mut seen: HashSet<(String, u32)> = held
                .iter()
                .flat_map(|t| t.iter())
                .map(|f| (f.sha1.clone(), f.size))
                .collect();
            let new = bundle
                .files()
                .iter()
                .filter(|f| f.size > 0 && seen.insert((hex(&f.sha1), f.size)))
                .map(|f| f.size);
            space::tree_need(bundle.files().len(), new.collect::<Vec<_>>())
        };
        let needed = need(&[active, previous]);
        let needed_without = need(&[active]);
        let free_without = free + previous_only;
        Space {
            needed_sectors: needed,
            free_sectors: free,
            needed_without_previous_sectors: needed_without,
            free_without_previous_sectors: free_without,
            fits: needed <= free,
            fits_without_previous: needed_without <= free_without,
        }
    }
}

pub fn plan(
    bundle: &Bundle,
    active: &[DeviceFile],
    previous: &[DeviceFile],
    free_sectors: u32,
    previous_only_sectors: u32,
) -> Plan {
    let on_device: HashMap<&str, &str> = active
        .iter()
        .map(|f| (f.path.as_str(), f.sha1.as_str()))
        .collect();
    let mut held: HashSet<String> = active
        .iter()
        .chain(previous)
        .map(|f| f.sha1.clone())
        .collect();
    let mut p = Plan {
        space: Space::count(
            bundle,
            active,
            previous,
            free_sectors,
            previous_only_sectors,
        ),
        ..Plan::default()
    };
    for f in bundle.files() {
        let sha1 = hex(&f.sha1);
        match on_device.get(f.path.as_str()) {
            Some(&s) if s == sha1 => p.unchanged += 1,
            _ if f.size == 0 || held.contains(&sha1) => p.reused.push(f.path.clone()),
            Some(_) => {
                p.changed.push(f.path.clone());
                p.files_to_send += 1;
                p.bytes_to_send += f.size as u64;
                held.insert(sha1);
            }
            None => {
                p.added.push(f.path.clone());
                p.files_to_send += 1;
                p.bytes_to_send += f.size as u64;
                held.insert(sha1);
            }
        }
    }
    let wanted: HashSet<&str> = bundle.files().iter().map(|f| f.path.as_str()).collect();
    p.removed = active
        .iter()
        .filter(|f| !wanted.contains(f.path.as_str()))
        .map(|f| f.path.clone())
        .collect();
    p
}
