//! 64 KiB block erases: a session erases a whole block only when nothing in
//! it is committed or already written by the session, so no erase ever
//! touches a sector that a committed tree, the journal or a file of the
//! session uses; and files land where their blocks can be erased whole.

mod common;

use common::*;
use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
use ota_agent::layout::{JOURNAL_SECTORS, SECTOR};
use ota_agent::ram_flash::{RamFlash, RamFlashError};
use ota_agent::timed_flash::{FlashTiming, TimedFlash};

/// A RAM flash that notes every erase, as (first sector, sectors).
struct Recording {
    inner: RamFlash,
    erases: Vec<(u32, u32)>,
}

impl ErrorType for Recording {
    type Error = RamFlashError;
}

impl ReadNorFlash for Recording {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.inner.read(offset, bytes)
    }
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
}

impl NorFlash for Recording {
    const WRITE_SIZE: usize = RamFlash::WRITE_SIZE;
    const ERASE_SIZE: usize = RamFlash::ERASE_SIZE;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.erases.push((from / SECTOR, (to - from) / SECTOR));
        self.inner.erase(from, to)
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.inner.write(offset, bytes)
    }
}

#[test]
fn a_large_file_on_a_fresh_store_is_erased_in_blocks() {
    // 96 sectors: six 64 KiB blocks, the journal in the first.
    let flash = TimedFlash::new(RamFlash::new(flash_size(96)), FlashTiming::W25Q16JV);
    let mut agent = boot(flash, 96).0;
    let tree = Tree::new(
        "v1",
        vec![
            ("a.py".into(), content(1, 3000)),
            ("big.bin".into(), content(2, 200 * 1024)),
            ("c.txt".into(), content(3, 9000)),
        ],
    );
    push(&mut agent, &tree, 0).unwrap();
    let work = agent.store_mut().flash_mut().work();
    // 212 KiB of files packed from sector 16 (the first block holds the
    // journal and the tree record): three whole blocks, then one more block
    // for the six sectors the files reach in the fourth (six sector erases
    // would cost 270 ms, the block 150 ms; its ten other sectors were free);
    // and the tree record's sector and the journal's first sector.
    assert_eq!(work.block_erases, 4, "{work:?}");
    assert_eq!(work.sector_erases, 1 + 1, "{work:?}");
    assert_eq!(active_tree(agent.store_mut()).unwrap().1, tree.files);
}

#[test]
fn a_block_is_erased_whole_for_the_last_sectors_of_a_file_once_that_pays() {
    // As in power_cut.rs: a.py at sector 16, big.bin on to sector 71. The
    // block of sectors 64..80 holds nothing committed: one 150 ms erase for
    // its eight sectors instead of eight of 45 ms.
    let flash = TimedFlash::new(RamFlash::new(flash_size(96)), FlashTiming::W25Q16JV);
    let mut agent = boot(flash, 96).0;
    let old = Tree::new("v1", vec![("c.txt".into(), content(3, 9000))]);
    push(&mut agent, &old, 0).unwrap();
    let before = agent.store_mut().flash_mut().work();
    let tree = Tree::new(
        "v2",
        vec![
            ("a.py".into(), content(4, 3100)),
            ("big.bin".into(), content(2, 220 * 1024)),
            ("c.txt".into(), content(3, 9000)),
        ],
    );
    push(&mut agent, &tree, 0).unwrap();
    let work = agent.store_mut().flash_mut().work();
    assert_eq!(work.block_erases - before.block_erases, 4, "{work:?}");
    assert_eq!(active_tree(agent.store_mut()).unwrap().1, tree.files);
}

#[test]
fn a_sectors_only_driver_still_gets_correct_bytes() {
    let timing = FlashTiming::W25Q16JV.sectors_only();
    let flash = TimedFlash::new(RamFlash::new(flash_size(96)), timing);
    let mut agent = boot(flash, 96).0;
    let tree = Tree::new("v1", vec![("big.bin".into(), content(2, 150 * 1024))]);
    push(&mut agent, &tree, 0).unwrap();
    assert_eq!(agent.store_mut().flash_mut().work().block_erases, 0);
    assert_eq!(active_tree(agent.store_mut()).unwrap().1, tree.files);
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A tree of up to 9 files, at most 150 KiB, some kept from `from`.
fn random_tree(rng: &mut Rng, version: String, from: Option<&Tree>) -> Tree {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(old) = from {
        for f in &old.files {
            if rng.below(3) > 0 {
                files.push(f.clone());
            }
        }
    }
    let mut total: usize = files.iter().map(|f| f.1.len()).sum();
    for i in 0..rng.below(5) + 1 {
        let len = match rng.below(6) {
            0 => rng.below(70 * 1024) as usize + 40 * 1024,
            _ => rng.below(12 * 1024) as usize,
        };
        if files.len() >= 9 || total + len > 150 * 1024 {
            break;
        }
        total += len;
        files.push((
            format!("f{i}-{}.bin", rng.next() % 1000),
            content(rng.next(), len),
        ));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|a, b| a.0 == b.0);
    Tree::new(&version, files)
}

#[test]
fn no_erase_touches_a_committed_sector_over_many_updates() {
    const SECTORS: u32 = 192;
    let flash = Recording {
        inner: RamFlash::new(flash_size(SECTORS)),
        erases: Vec::new(),
    };
    let mut agent = boot(flash, SECTORS).0;
    let mut rng = Rng(0x0B10_C4E5_A5E0_0001);
    let mut tree: Option<Tree> = None;
    let (mut blocks, mut sectors) = (0, 0);
    for n in 0..300 {
        let next = random_tree(&mut rng, format!("v{n}"), tree.as_ref());
        // The journal erases its own sectors as it wraps: everything else counts.
        let committed: Vec<u32> = (JOURNAL_SECTORS..SECTORS)
            .filter(|&s| agent.store().used().get(s as usize))
            .collect();
        agent.store_mut().flash_mut().erases.clear();
        push(&mut agent, &next, 0).unwrap_or_else(|e| panic!("update {n}: {e:?}"));
        for &(first, count) in &agent.store_mut().flash_mut().erases {
            if count == 16 {
                blocks += 1;
            } else {
                sectors += count;
            }
            for s in first..first + count {
                assert!(
                    !committed.contains(&s),
                    "update {n}: erase of sectors {first}+{count} touched committed sector {s}"
                );
            }
        }
        // Every few updates, a reboot: the store opens on what is in flash.
        if n % 7 == 0 {
            let flash = agent.into_store().into_flash();
            agent = reopen(flash, SECTORS);
        }
        assert_eq!(
            active_tree(agent.store_mut()).unwrap().1,
            next.files,
            "update {n}"
        );
        tree = Some(next);
    }
    println!(
        "300 updates: {blocks} block erases, {sectors} sector erases, none on a committed sector"
    );
    assert!(blocks > 0);
}
