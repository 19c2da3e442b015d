//! The protocol is written three times: in Rust (firmware-agent/protocol), in
//! the MicroPython agent (firmware-agent/micropython/ota_agent.py, by hand)
//! and in docs/protocol.md. This test holds the other two equal to the Rust
//! one: message tags, error codes, the version, the limits, and the page's
//! example frames. The numbers are read from what the Rust encoder writes, not
//! from a list kept beside it.

use std::collections::BTreeMap;

use ota_protocol::{
    encode_frame, Begin, Decoder, Entry, ErrorCode, Info, Reply, Request, TreeSel, TreeState,
    MAX_CHUNK, MAX_PATH, PROTOCOL_MAJOR, PROTOCOL_MINOR,
};

const PYTHON: &str = include_str!("../firmware-agent/micropython/ota_agent.py");
const DOC: &str = include_str!("../docs/protocol.md");

/// The postcard body of a message: its first byte is the variant's tag
/// (every tag is below 128, so its varint is one byte).
fn tag_of<M: serde::Serialize>(msg: &M) -> u64 {
    let (mut scratch, mut frame) = (vec![0u8; 1024], vec![0u8; 1200]);
    let n = encode_frame(msg, &mut scratch, &mut frame).unwrap();
    let mut d = Decoder::<1200>::new();
    let (_, body) = d.feed(&frame[..n]);
    let body = body.expect("a frame");
    assert!(body[0] < 0x80);
    body[0] as u64
}

/// `ListFiles` as the Python agent names it: `LIST_FILES`.
fn upper_snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn request_name(r: &Request<'_>) -> &'static str {
    // No wildcard: a new request does not compile until it is listed here and below.
    match r {
        Request::Hello { .. } => "Hello",
        Request::ListFiles { .. } => "ListFiles",
        Request::Begin(_) => "Begin",
        Request::Entry(_) => "Entry",
        Request::Data { .. } => "Data",
        Request::Query { .. } => "Query",
        Request::Commit { .. } => "Commit",
        Request::Reboot => "Reboot",
        Request::Confirm => "Confirm",
        Request::Rollback => "Rollback",
        Request::Abort => "Abort",
        Request::Provision { .. } => "Provision",
        Request::Bootsel => "Bootsel",
        Request::DropPrevious => "DropPrevious",
        Request::RollbackTrial { .. } => "RollbackTrial",
        Request::Layout { .. } => "Layout",
        Request::Patch { .. } => "Patch",
    }
}

/// Every request, by name, with the tag the encoder gives it.
fn requests() -> BTreeMap<String, u64> {
    let begin = Begin {
        session: 1,
        entries: 1,
        total_bytes: 1,
        version: "v",
        git_ref: "r",
        commit: "c",
        post_update: None,
        rollback: None,
        signature: None,
        trial_timeout_sec: 0,
    };
    let entry = Entry {
        index: 0,
        path: "p",
        size: 0,
        sha1: [0; 20],
        sha256: None,
    };
    let all = [
        Request::Hello { major: 1, minor: 0 },
        Request::ListFiles {
            tree: TreeSel::Active,
        },
        Request::Begin(begin),
        Request::Entry(entry),
        Request::Data {
            entry: 0,
            offset: 0,
            bytes: b"x",
        },
        Request::Query { entry: 0 },
        Request::Commit { boots: 0 },
        Request::Reboot,
        Request::Confirm,
        Request::Rollback,
        Request::Abort,
        Request::Provision {
            keys: &[],
            auth: None,
        },
        Request::Bootsel,
        Request::DropPrevious,
        Request::RollbackTrial { boots: 1 },
        Request::Layout {
            tree: TreeSel::Active,
        },
        Request::Patch {
            entry: 0,
            base_size: 0,
            base_sha256: [0; 32],
            size: 0,
        },
    ];
    all.iter()
        .map(|r| (request_name(r).to_string(), tag_of(r)))
        .collect()
}

fn reply_name(r: &Reply<'_>) -> &'static str {
    match r {
        Reply::Info(_) => "Info",
        Reply::File { .. } => "File",
        Reply::ListEnd { .. } => "ListEnd",
        Reply::Ready { .. } => "Ready",
        Reply::Need { .. } => "Need",
        Reply::Ack { .. } => "Ack",
        Reply::FileDone { .. } => "FileDone",
        Reply::Committed { .. } => "Committed",
        Reply::Done => "Done",
        Reply::Error { .. } => "Error",
        Reply::Placed { .. } => "Placed",
        Reply::LayoutEnd { .. } => "LayoutEnd",
    }
}

fn info() -> Info<'static> {
    Info {
        major: 1,
        minor: 3,
        agent_version: "a",
        device_id: [0; 8],
        sector_size: 4096,
        sectors: 1,
        free_sectors: 1,
        max_entries: 1,
        max_path: 1,
        max_chunk: 1,
        state: TreeState::Empty,
        active: None,
        previous: None,
        session: None,
        keys: 0,
        app: ota_protocol::AppSlot::Empty,
        image: ota_protocol::ImageState::None,
        history: Default::default(),
        previous_only_sectors: 0,
        security_version: 0,
        key_changes: 0,
        boot_id: 1,
    }
}

fn replies() -> BTreeMap<String, u64> {
    let all = [
        Reply::Info(info()),
        Reply::File {
            index: 0,
            path: "p",
            size: 0,
            sha1: [0; 20],
            sha256: None,
        },
        Reply::ListEnd { total: 0 },
        Reply::Ready { session: 0 },
        Reply::Need {
            index: 0,
            need: true,
        },
        Reply::Ack {
            entry: 0,
            offset: 0,
        },
        Reply::FileDone { entry: 0 },
        Reply::Committed { boots: 0 },
        Reply::Done,
        Reply::Error {
            code: ErrorCode::Malformed,
            entry: None,
            detail: "",
        },
        Reply::Placed {
            index: 0,
            first_sector: 0,
            offset: 0,
        },
        Reply::LayoutEnd {
            base: 0,
            record: None,
            keys: None,
            original: None,
        },
    ];
    all.iter()
        .map(|r| (reply_name(r).to_string(), tag_of(r)))
        .collect()
}

fn code_name(c: ErrorCode) -> &'static str {
    match c {
        ErrorCode::UnsupportedVersion => "UnsupportedVersion",
        ErrorCode::Malformed => "Malformed",
        ErrorCode::BadState => "BadState",
        ErrorCode::BadPath => "BadPath",
        ErrorCode::DuplicatePath => "DuplicatePath",
        ErrorCode::TooManyEntries => "TooManyEntries",
        ErrorCode::NoSpace => "NoSpace",
        ErrorCode::BadEntry => "BadEntry",
        ErrorCode::HashMismatch => "HashMismatch",
        ErrorCode::ReadbackMismatch => "ReadbackMismatch",
        ErrorCode::Flash => "Flash",
        ErrorCode::NoPrevious => "NoPrevious",
        ErrorCode::NotTrial => "NotTrial",
        ErrorCode::Busy => "Busy",
        ErrorCode::Unsigned => "Unsigned",
        ErrorCode::FailedTrial => "FailedTrial",
        ErrorCode::Downgrade => "Downgrade",
        ErrorCode::BadBase => "BadBase",
        ErrorCode::BadPatch => "BadPatch",
    }
}

/// Every error code, by name, with its number: the byte after Error's tag.
fn error_codes() -> BTreeMap<String, u64> {
    use ErrorCode::*;
    let all = [
        UnsupportedVersion,
        Malformed,
        BadState,
        BadPath,
        DuplicatePath,
        TooManyEntries,
        NoSpace,
        BadEntry,
        HashMismatch,
        ReadbackMismatch,
        Flash,
        NoPrevious,
        NotTrial,
        Busy,
        Unsigned,
        FailedTrial,
        Downgrade,
        BadBase,
        BadPatch,
    ];
    all.iter()
        .map(|&code| {
            let r = Reply::Error {
                code,
                entry: None,
                detail: "",
            };
            // The code is the message's second field: encode it alone the same way.
            let n = tag_of(&(code,));
            assert_eq!(tag_of(&r), 9);
            (code_name(code).to_string(), n)
        })
        .collect()
}

/// The Python agent's top-level integer constants: `A, B = 1, 2` and `A = 1`.
fn python_constants() -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in PYTHON.lines() {
        if line.starts_with([' ', '#']) {
            continue;
        }
        let Some((names, values)) = line.split_once(" = ") else {
            continue;
        };
        let names: Vec<&str> = names.split(',').map(str::trim).collect();
        let values: Vec<Option<u64>> = values.split(',').map(|v| v.trim().parse().ok()).collect();
        if names.len() != values.len() || values.iter().any(Option::is_none) {
            continue;
        }
        for (n, v) in names.into_iter().zip(values) {
            out.insert(n.to_string(), v.unwrap());
        }
    }
    out
}

#[test]
fn the_micropython_agent_numbers_messages_and_errors_as_the_protocol_does() {
    let py = python_constants();
    let mut wrong = Vec::new();
    let mut named = [0usize; 3];
    let kinds = [
        ("request", requests(), ""),
        ("reply", replies(), ""),
        ("error code", error_codes(), "E_"),
    ];
    for (k, (kind, rust, prefix)) in kinds.iter().enumerate() {
        for (name, tag) in rust {
            let py_name = format!("{prefix}{}", upper_snake(name));
            match py.get(&py_name) {
                Some(v) if v == tag => named[k] += 1,
                Some(v) => wrong.push(format!("{kind} {py_name} is {v} in Python, {tag} in Rust")),
                None => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // What the Python agent must name: every reply but 1.4's layout replies
    // (its file system places files: a host asks it for no Layout), and the
    // requests and error codes of protocol 1.0 (it refuses the later requests).
    assert_eq!(
        named[1],
        replies().len() - 2,
        "the Python agent names every reply but Placed and LayoutEnd"
    );
    assert!(named[0] >= 11, "the Python agent names Hello to Abort");
    assert!(named[2] >= 13, "the Python agent names the 1.0 error codes");
    // And no constant that looks like a protocol number but matches no Rust name.
    let known: Vec<String> = kinds
        .iter()
        .flat_map(|(_, m, p)| m.keys().map(move |n| format!("{p}{}", upper_snake(n))))
        .collect();
    for name in py.keys().filter(|n| n.starts_with("E_")) {
        assert!(
            known.contains(name),
            "{name} is no error code of the protocol"
        );
    }
}

#[test]
fn the_micropython_agent_speaks_this_version_within_the_limits() {
    let py = python_constants();
    assert_eq!(py["MAJOR"], PROTOCOL_MAJOR as u64, "MAJOR");
    // It may speak an earlier minor version: a host asks it only what that version has.
    assert!(py["MINOR"] <= PROTOCOL_MINOR as u64, "MINOR");
    assert!(
        py["MINOR"] >= 3,
        "MINOR: the MicroPython agent speaks 1.3 at least"
    );
    assert_eq!(py["MAX_CHUNK"], MAX_CHUNK as u64, "MAX_CHUNK");
    assert_eq!(py["MAX_PATH"], MAX_PATH as u64, "MAX_PATH");
    assert!(
        py["MAX_ENTRIES"] <= u16::MAX as u64,
        "MAX_ENTRIES fits Info's u16"
    );
}

/// Rows `| N | Name | ...` of the table under `heading`.
fn doc_table(heading: &str) -> BTreeMap<String, u64> {
    let at = DOC
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("docs/protocol.md has no {heading:?}"));
    let mut out = BTreeMap::new();
    for line in DOC[at + heading.len() + 2..].lines() {
        if line.starts_with('#') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if let [_, n, name, ..] = cells[..] {
            if let Ok(n) = n.parse() {
                out.insert(name.to_string(), n);
            }
        }
    }
    out
}

#[test]
fn the_protocol_page_lists_every_message_and_code_with_its_number() {
    assert_eq!(
        doc_table("### Requests"),
        requests(),
        "docs/protocol.md, Requests"
    );
    assert_eq!(
        doc_table("### Replies"),
        replies(),
        "docs/protocol.md, Replies"
    );
    assert_eq!(
        doc_table("## Error codes"),
        error_codes(),
        "docs/protocol.md, Error codes"
    );
    let version = format!("This is version {PROTOCOL_MAJOR}.{PROTOCOL_MINOR} of the protocol.");
    assert!(DOC.contains(&version), "docs/protocol.md says {version:?}");
}

/// One message as a whole frame, as it goes on the wire.
fn frame<M: serde::Serialize>(msg: &M) -> Vec<u8> {
    let (mut scratch, mut out) = (vec![0u8; 64], vec![0u8; 80]);
    let n = encode_frame(msg, &mut scratch, &mut out).unwrap();
    out.truncate(n);
    out
}

#[test]
fn the_protocol_pages_example_frames_are_what_the_encoder_writes() {
    let want = [
        frame(&Request::Hello {
            major: PROTOCOL_MAJOR,
            minor: PROTOCOL_MINOR,
        }),
        frame(&Reply::Done),
    ];
    let shown: Vec<Vec<u8>> = DOC
        .lines()
        .filter_map(|l| l.trim().strip_prefix("on the wire"))
        .map(|hex| {
            hex.split_whitespace()
                .map(|b| u8::from_str_radix(b, 16).unwrap())
                .collect()
        })
        .collect();
    assert_eq!(shown, want, "docs/protocol.md's example frames");
}
