//! A minimal host for core tests: drives an Agent with requests, without
//! framing; starts it as a board does (fresh, at a reset, or again within
//! one boot); and writes the requests the tests send by hand.
#![allow(dead_code)]

use embedded_storage::nor_flash::NorFlash;
use ota_agent::hash::git_blob_sha1;
use ota_agent::layout::SECTOR;
use ota_agent::ram_flash::RamFlash;
use ota_agent::{Agent, AgentConfig, BootOutcome, Store};
use ota_protocol::{Begin, Entry, ErrorCode, Reply, Request};
use sha2::Digest;

pub const CONFIG: AgentConfig = AgentConfig {
    agent_version: "test",
    device_id: [1, 2, 3, 4, 5, 6, 7, 8],
    max_chunk: 1024,
    app: ota_protocol::AppSlot::Empty,
    boot_id: 1,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum R {
    Ready,
    Need(bool),
    Ack(u32),
    FileDone,
    Committed,
    Done,
    Error(ErrorCode, String),
    Other,
}

pub fn call<F: NorFlash>(agent: &mut Agent<F>, req: &Request<'_>) -> Vec<R> {
    let mut out = Vec::new();
    agent.handle(req, &mut |r: &Reply<'_>| {
        out.push(match r {
            Reply::Ready { .. } => R::Ready,
            Reply::Need { need, .. } => R::Need(*need),
            Reply::Ack { offset, .. } => R::Ack(*offset),
            Reply::FileDone { .. } => R::FileDone,
            Reply::Committed { .. } => R::Committed,
            Reply::Done => R::Done,
            Reply::Error { code, detail, .. } => R::Error(*code, detail.to_string()),
            _ => R::Other,
        })
    });
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    pub version: String,
    pub files: Vec<(String, Vec<u8>)>,
    pub with_sha256: bool,
    /// What Begin asks: seconds the application has to confirm (0: none).
    pub trial_timeout_sec: u16,
}

impl Tree {
    pub fn new(version: &str, files: Vec<(String, Vec<u8>)>) -> Tree {
        Tree {
            version: version.into(),
            files,
            with_sha256: false,
            trial_timeout_sec: 0,
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub files: usize,
    pub bytes: usize,
}

/// Pushes `tree` and commits it in trial for `boots` boots.
pub fn push<F: NorFlash>(agent: &mut Agent<F>, tree: &Tree, boots: u8) -> Result<Sent, R> {
    push_signed(agent, tree, boots, None)
}

const GIT_REF: &str = "main";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// The tree signature of `tree` as `push` declares it, by `key`.
pub fn tree_signature(tree: &Tree, key: &ed25519_dalek::SigningKey) -> ota_protocol::Signature {
    use ed25519_dalek::Signer;
    let mut d = ota_agent::signature::TreeDigest::new(
        &tree.version,
        GIT_REF,
        COMMIT,
        None,
        None,
        tree.files.len() as u16,
    );
    for (p, b) in &tree.files {
        let sha256: Option<[u8; 32]> = tree.with_sha256.then(|| sha2::Sha256::digest(b).into());
        d.add(p, b.len() as u32, &git_blob_sha1(b), sha256.as_ref());
    }
    ota_protocol::Signature(key.sign(&d.finish()).to_bytes())
}

/// [`push`], with the tree signed by `key` when given.
pub fn push_signed<F: NorFlash>(
    agent: &mut Agent<F>,
    tree: &Tree,
    boots: u8,
    key: Option<&ed25519_dalek::SigningKey>,
) -> Result<Sent, R> {
    let total: u64 = tree.files.iter().map(|f| f.1.len() as u64).sum();
    let begin = Request::Begin(Begin {
        session: 7,
        entries: tree.files.len() as u16,
        total_bytes: total,
        version: &tree.version,
        git_ref: GIT_REF,
        commit: COMMIT,
        post_update: None,
        rollback: None,
        signature: key.map(|k| tree_signature(tree, k)),
        trial_timeout_sec: tree.trial_timeout_sec,
    });
    expect(call(agent, &begin), &[R::Ready])?;
    let mut needed = Vec::new();
    for (i, (path, bytes)) in tree.files.iter().enumerate() {
        let sha256 = tree.with_sha256.then(|| sha2::Sha256::digest(bytes).into());
        let e = Request::Entry(Entry {
            index: i as u16,
            path,
            size: bytes.len() as u32,
            sha1: git_blob_sha1(bytes),
            sha256,
        });
        match call(agent, &e).as_slice() {
            [R::Need(true)] => needed.push(i),
            [R::Need(false)] => {}
            [other, ..] => return Err(other.clone()),
            [] => return Err(R::Other),
        }
    }
    let mut sent = Sent::default();
    for i in needed {
        let bytes = &tree.files[i].1;
        sent.files += 1;
        let mut offset = 0usize;
        for chunk in bytes.chunks(1024) {
            let data = Request::Data {
                entry: i as u16,
                offset: offset as u32,
                bytes: chunk,
            };
            let replies = call(agent, &data);
            offset += chunk.len();
            sent.bytes += chunk.len();
            let want: Vec<R> = if offset == bytes.len() {
                vec![R::Ack(offset as u32), R::FileDone]
            } else {
                vec![R::Ack(offset as u32)]
            };
            expect(replies, &want)?;
        }
    }
    expect(call(agent, &Request::Commit { boots }), &[R::Committed])?;
    Ok(sent)
}

fn expect(got: Vec<R>, want: &[R]) -> Result<(), R> {
    if got == want {
        Ok(())
    } else {
        Err(got.into_iter().next().unwrap_or(R::Other))
    }
}

/// The active tree as (path, bytes), read back from flash with every hash checked.
pub type Files = Vec<(String, Vec<u8>)>;

pub fn active_tree<F: NorFlash>(store: &mut Store<F>) -> Option<(String, Files)> {
    let t = *store.active()?;
    let mut files = Vec::new();
    for i in 0..t.at.entries {
        let f = store.file(&t.at, i).unwrap();
        let mut bytes = vec![0; f.size as usize];
        store.read_file(&f, 0, &mut bytes).unwrap();
        assert_eq!(
            git_blob_sha1(&bytes),
            f.sha1,
            "{} does not hash to its SHA-1",
            f.path.as_str()
        );
        files.push((f.path.as_str().to_string(), bytes));
    }
    Some((t.header.version.as_str().to_string(), files))
}

/// Deterministic file contents.
pub fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A store of `sectors` sectors at offset 0.
pub fn flash_size(sectors: u32) -> usize {
    (sectors * SECTOR) as usize
}

/// A board fresh from the factory: a blank RAM flash of `sectors`, booted.
pub fn fresh(sectors: u32) -> Agent<RamFlash> {
    boot(RamFlash::new(flash_size(sectors)), sectors).0
}

/// The agent starting on `flash` (a store of `sectors` at offset 0) as at a
/// reset: the boot decision first.
pub fn boot<F: NorFlash>(flash: F, sectors: u32) -> (Agent<F>, BootOutcome) {
    Agent::boot(flash, 0, sectors, CONFIG).expect("the store opens after any power cut")
}

/// `agent`'s board reset: the same flash, booted again.
pub fn reboot<F: NorFlash>(agent: Agent<F>, sectors: u32) -> (Agent<F>, BootOutcome) {
    boot(agent.into_store().into_flash(), sectors)
}

/// The agent on `flash` without a boot decision: another session of the same boot.
pub fn reopen<F: NorFlash>(flash: F, sectors: u32) -> Agent<F> {
    let store = Store::open(flash, 0, sectors).expect("the store opens after any power cut");
    Agent::new(store, CONFIG)
}

/// Begin of an unsigned update `v9` of `entries` files and `total` bytes.
pub fn begin<'a>(entries: u16, total: u64) -> Request<'a> {
    Request::Begin(Begin {
        session: 1,
        entries,
        total_bytes: total,
        version: "v9",
        git_ref: "main",
        commit: "c",
        post_update: None,
        rollback: None,
        signature: None,
        trial_timeout_sec: 0,
    })
}

/// The entry `index` at `path` for a file of `bytes` (its SHA-1, no SHA-256).
pub fn file_entry<'a>(index: u16, path: &'a str, bytes: &[u8]) -> Request<'a> {
    Request::Entry(Entry {
        index,
        path,
        size: bytes.len() as u32,
        sha1: git_blob_sha1(bytes),
        sha256: None,
    })
}

/// `bytes` of entry `entry` at `offset`.
pub fn data_at(entry: u16, offset: u32, bytes: &[u8]) -> Request<'_> {
    Request::Data {
        entry,
        offset,
        bytes,
    }
}

/// The store's layout as a host reads it: each tree's files (ListFiles)
/// and their places (Layout), over the agent's own replies.
pub fn layout<F: NorFlash>(agent: &mut Agent<F>) -> ota_agent::model::StoreLayout {
    use ota_agent::model::{PlacedFile, StoreLayout, TreeLayout};
    use ota_protocol::TreeSel;
    let mut out = StoreLayout {
        base: 0,
        sectors: agent.store().sectors(),
        keys: None,
        original: None,
        active: None,
        previous: None,
    };
    for tree in [TreeSel::Active, TreeSel::Previous] {
        let mut files = Vec::new();
        agent.handle(&Request::ListFiles { tree }, &mut |r: &Reply<'_>| {
            if let Reply::File {
                path,
                size,
                sha1,
                sha256,
                ..
            } = r
            {
                files.push(PlacedFile {
                    path: path.to_string(),
                    size: *size,
                    sha1: *sha1,
                    sha256: *sha256,
                    first_sector: 0,
                    offset: 0,
                });
            }
        });
        let mut record = None;
        agent.handle(&Request::Layout { tree }, &mut |r: &Reply<'_>| match r {
            Reply::Placed {
                index,
                first_sector,
                offset,
            } => {
                files[*index as usize].first_sector = *first_sector;
                files[*index as usize].offset = *offset;
            }
            Reply::LayoutEnd {
                base,
                record: r,
                keys,
                original,
            } => {
                (out.base, out.keys, out.original) = (*base, *keys, *original);
                record = *r;
            }
            _ => {}
        });
        let t = record.map(|record| TreeLayout { record, files });
        match tree {
            TreeSel::Active => out.active = t,
            TreeSel::Previous => out.previous = t,
        }
    }
    out
}

/// The Begin and Entries `push` declares for `tree`.
pub fn declaration(tree: &Tree) -> (Begin<'_>, Vec<Entry<'_>>) {
    let total: u64 = tree.files.iter().map(|f| f.1.len() as u64).sum();
    let begin = Begin {
        session: 7,
        entries: tree.files.len() as u16,
        total_bytes: total,
        version: &tree.version,
        git_ref: GIT_REF,
        commit: COMMIT,
        post_update: None,
        rollback: None,
        signature: None,
        trial_timeout_sec: tree.trial_timeout_sec,
    };
    let entries = tree
        .files
        .iter()
        .enumerate()
        .map(|(i, (path, bytes))| Entry {
            index: i as u16,
            path,
            size: bytes.len() as u32,
            sha1: git_blob_sha1(bytes),
            sha256: tree.with_sha256.then(|| sha2::Sha256::digest(bytes).into()),
        })
        .collect();
    (begin, entries)
}
