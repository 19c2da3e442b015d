//! What a push would change on the device, computed from the device's file
//! lists: shown by `--dry-run`, and in every push's report. Whether it fits
//! is the agent's own answer: its session runs on a model of the device's
//! store (`ota_agent::model`, built from where the agent says its files
//! lie), with the same allocation and the same moves that join holes of
//! free flash. So the dry run, the refusal before any byte is sent and the
//! push agree. An agent older than protocol 1.4 does not say where its
//! files lie: then the sectors are counted (`ota_agent::space`), which
//! cannot see holes.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use ota_agent::model::{PlacedFile, StoreLayout, TreeLayout, Verdict};
use ota_agent::space;
use ota_protocol::{Begin, Entry};

use crate::bundle::{from_hex, hex, Bundle};
use crate::device::agent::client::Placement;
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
    /// Sectors of files the agent moves to join holes of free flash
    /// (beside both trees; once the previous tree is dropped).
    pub moved_sectors: u32,
    pub moved_without_previous_sectors: u32,
    /// Whether the agent's own allocator decided (false: an older agent,
    /// whose sectors were only counted).
    pub modelled: bool,
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
            moved_sectors: 0,
            moved_without_previous_sectors: 0,
            modelled: false,
        }
    }

    /// The agent's own verdict: its session run on `layout`, as the store
    /// stands and with the previous tree dropped. `None` when the model
    /// refuses the tree for another reason than room (the push then hears
    /// that reason from the agent itself).
    pub fn modelled(counted: Space, bundle: &Bundle, layout: &StoreLayout) -> Option<Space> {
        let files = bundle.files();
        let begin = Begin {
            session: 0,
            entries: u16::try_from(files.len()).ok()?,
            total_bytes: bundle.total_bytes(),
            version: &bundle.version,
            git_ref: &bundle.git_ref,
            commit: &bundle.commit,
            post_update: bundle.post_update.as_deref(),
            rollback: bundle.rollback.as_deref(),
            signature: None,
            // The deadline does not change the room a tree takes.
            trial_timeout_sec: 0,
        };
        let entries: Vec<Entry<'_>> = files
            .iter()
            .enumerate()
            .map(|(i, f)| Entry {
                index: i as u16,
                path: &f.path,
                size: f.size,
                sha1: f.sha1,
                sha256: f.sha256,
            })
            .collect();
        let run = |l: &StoreLayout| -> Option<Verdict> { l.push(&begin, &entries).ok() };
        let now = run(layout)?;
        let dropped = match layout.previous {
            Some(_) => run(&layout.without_previous())?,
            None => now,
        };
        Some(Space {
            free_sectors: now.free_sectors,
            free_without_previous_sectors: dropped.free_sectors,
            fits: now.fits,
            fits_without_previous: dropped.fits,
            // Moves made before a refusal are no part of any push.
            moved_sectors: if now.fits { now.moved_sectors } else { 0 },
            moved_without_previous_sectors: if dropped.fits {
                dropped.moved_sectors
            } else {
                0
            },
            modelled: true,
            ..counted
        })
    }
}

/// The device's store as its agent reported it: each tree's files and
/// where they lie. `None` when a place is missing or a hash unreadable.
pub fn store_layout(
    sectors: u32,
    active: (&[DeviceFile], &Placement),
    previous: (&[DeviceFile], &Placement),
) -> Option<StoreLayout> {
    let tree = |(files, at): (&[DeviceFile], &Placement)| -> Option<Option<TreeLayout>> {
        let Some(record) = at.record else {
            return Some(None);
        };
        let placed = files.iter().zip(&at.places).map(|(f, place)| {
            let (first_sector, offset) = (*place)?;
            Some(PlacedFile {
                path: f.path.clone(),
                size: f.size,
                sha1: from_hex::<20>(&f.sha1)?,
                sha256: match &f.sha256 {
                    Some(h) => Some(from_hex::<32>(h)?),
                    None => None,
                },
                first_sector,
                offset,
            })
        });
        let files = placed.collect::<Option<Vec<_>>>()?;
        Some(Some(TreeLayout { record, files }))
    };
    let at = active.1;
    Some(StoreLayout {
        base: at.base,
        sectors,
        keys: at.keys,
        original: at.original,
        active: tree(active)?,
        previous: tree(previous)?,
    })
}

pub fn plan(
    bundle: &Bundle,
    active: &[DeviceFile],
    previous: &[DeviceFile],
    free_sectors: u32,
    previous_only_sectors: u32,
    layout: Option<&StoreLayout>,
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
    let counted = Space::count(
        bundle,
        active,
        previous,
        free_sectors,
        previous_only_sectors,
    );
    let space = layout
        .and_then(|l| Space::modelled(counted, bundle, l))
        .unwrap_or(counted);
    let mut p = Plan {
        space,
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
