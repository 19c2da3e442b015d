//! What a push would change on the device, computed from the device's file
//! lists: shown by `--dry-run`, and in every push's report.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

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
}

pub fn plan(bundle: &Bundle, active: &[DeviceFile], previous: &[DeviceFile]) -> Plan {
    let on_device: HashMap<&str, &str> = active
        .iter()
        .map(|f| (f.path.as_str(), f.sha1.as_str()))
        .collect();
    let mut held: HashSet<String> = active
        .iter()
        .chain(previous)
        .map(|f| f.sha1.clone())
        .collect();
    let mut p = Plan::default();
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
