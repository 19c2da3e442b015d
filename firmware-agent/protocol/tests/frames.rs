//! Round trips of every message, golden bytes that pin the wire format, and
//! a decoder that survives any byte stream.

use ota_protocol::*;
use proptest::prelude::*;

fn frame<M: serde::Serialize>(m: &M) -> Vec<u8> {
    let mut scratch = [0u8; 8192];
    let mut out = [0u8; 8400];
    let n = encode_frame(m, &mut scratch, &mut out).unwrap();
    out[..n].to_vec()
}

fn decode_all(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut d = Decoder::<8400>::new();
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (n, f) = d.feed(rest);
        if let Some(f) = f {
            out.push(f.to_vec());
        }
        rest = &rest[n..];
    }
    out
}

fn tree<'a>() -> TreeInfo<'a> {
    TreeInfo {
        version: "v1.0.0",
        git_ref: "main",
        commit: "abc",
        files: 3,
        bytes: 999,
    }
}

fn all_requests() -> Vec<Request<'static>> {
    vec![
        Request::Hello { major: 1, minor: 0 },
        Request::ListFiles {
            tree: TreeSel::Active,
        },
        Request::ListFiles {
            tree: TreeSel::Previous,
        },
        Request::Begin(Begin {
            session: 0xDEAD_BEEF,
            entries: 20,
            total_bytes: 1 << 20,
            version: "v1.2.3",
            git_ref: "refs/tags/v1.2.3",
            commit: "0123456789abcdef0123456789abcdef01234567",
            post_update: Some("hooks/post.py"),
            rollback: None,
            signature: None,
            trial_timeout_sec: 0,
        }),
        Request::Entry(Entry {
            index: 3,
            path: "lib/util.py",
            size: 1234,
            sha1: [7; 20],
            sha256: Some([9; 32]),
        }),
        Request::Entry(Entry {
            index: 4,
            path: "a",
            size: 0,
            sha1: [0; 20],
            sha256: None,
        }),
        Request::Data {
            entry: 2,
            offset: 4096,
            bytes: &[1, 0, 2, 0, 0, 3],
        },
        Request::Query { entry: 9 },
        Request::Commit { boots: 3 },
        Request::Reboot,
        Request::Confirm,
        Request::Rollback,
        Request::Abort,
        Request::Bootsel,
        Request::DropPrevious,
        Request::RollbackTrial { boots: 2 },
    ]
}

fn all_replies() -> Vec<Reply<'static>> {
    vec![
        Reply::Info(Info {
            major: 1,
            minor: 0,
            agent_version: "0.1.0",
            device_id: [1, 2, 3, 4, 5, 6, 7, 8],
            sector_size: 4096,
            sectors: 256,
            free_sectors: 200,
            max_entries: 512,
            max_path: 120,
            max_chunk: 1024,
            state: TreeState::Trial { boots_left: 2 },
            active: Some(tree()),
            previous: None,
            session: Some(5),
            keys: 1,
            app: AppSlot::Valid,
            image: ImageState::Installed,
            history: TrialHistory {
                trial_boots: Some(3),
                active_failed: None,
                previous_failed: Some(3),
            },
            previous_only_sectors: 12,
            security_version: 1 << 20,
            key_changes: 2,
            boot_id: 0xB007_0001,
        }),
        Reply::File {
            index: 1,
            path: "main.py",
            size: 10,
            sha1: [3; 20],
            sha256: None,
        },
        Reply::ListEnd { total: 2 },
        Reply::Ready { session: 5 },
        Reply::Need {
            index: 1,
            need: true,
        },
        Reply::Ack {
            entry: 1,
            offset: 2048,
        },
        Reply::FileDone { entry: 1 },
        Reply::Committed { boots: 3 },
        Reply::Done,
        Reply::Error {
            code: ErrorCode::NoSpace,
            entry: Some(4),
            detail: "not enough free flash",
        },
    ]
}

#[test]
fn every_request_round_trips() {
    for r in all_requests() {
        let frames = decode_all(&frame(&r));
        assert_eq!(frames.len(), 1);
        assert_eq!(decode_request(&frames[0]), Some(r));
    }
}

#[test]
fn every_reply_round_trips() {
    for r in all_replies() {
        let frames = decode_all(&frame(&r));
        assert_eq!(frames.len(), 1);
        assert_eq!(decode_reply(&frames[0]), Some(r));
    }
}

/// A 1.2 agent's Info ends before boot_id: it still reads, as boot 0 (unknown).
#[test]
fn an_info_without_boot_id_reads_as_boot_zero() {
    let Reply::Info(info) = all_replies().remove(0) else {
        panic!("the first reply is an Info")
    };
    let body = decode_all(&frame(&Reply::Info(info.clone()))).remove(0);
    let varint_len = 5; // 0xB007_0001 takes five 7-bit groups
    let older = &body[..body.len() - varint_len];
    let Some(Reply::Info(read)) = decode_reply(older) else {
        panic!("an Info without boot_id does not decode")
    };
    assert_eq!(read, Info { boot_id: 0, ..info });
}

/// These bytes are the protocol: if one changes, host and agent of
/// different builds no longer understand each other. Bump PROTOCOL_MAJOR.
#[test]
fn golden_frames() {
    // postcard [0, 1, 0], CRC-32 (zlib's) 0xE65AE853 little endian, COBS, delimiters.
    assert_eq!(
        frame(&Request::Hello { major: 1, minor: 0 }),
        [0, 1, 2, 1, 5, 83, 232, 90, 230, 0]
    );
    assert_eq!(
        frame(&Request::Commit { boots: 3 }),
        [0, 7, 6, 3, 195, 228, 138, 142, 0]
    );
    assert_eq!(
        frame(&Request::Data {
            entry: 2,
            offset: 300,
            bytes: &[0, 1]
        }),
        [0, 6, 4, 2, 172, 2, 2, 6, 1, 130, 4, 182, 79, 0]
    );
    assert_eq!(
        frame(&Reply::Ack {
            entry: 1,
            offset: 1024
        }),
        [0, 7, 5, 1, 128, 8, 96, 85, 2, 34, 0]
    );
    // Added in 1.2 at the end of the enum: tag 12, CRC-32 0xDBB4A3A6.
    assert_eq!(frame(&Request::Bootsel), [0, 6, 12, 166, 163, 180, 219, 0]);
}

#[test]
fn garbage_between_frames_is_skipped_and_counted() {
    let mut stream = b"MicroPython v1.22 on 2024-01-01; Raspberry Pi Pico W\r\n>>> ".to_vec();
    stream.extend(frame(&Request::Confirm));
    stream.extend(b"\x00\x00\xff\xfe garbage \x00");
    stream.extend(frame(&Request::Reboot));
    let mut d = Decoder::<256>::new();
    let mut got = Vec::new();
    let mut rest = &stream[..];
    while !rest.is_empty() {
        let (n, f) = d.feed(rest);
        if let Some(f) = f {
            got.push(format!("{:?}", decode_request(f).unwrap()));
        }
        rest = &rest[n..];
    }
    assert_eq!(got, vec!["Confirm", "Reboot"]);
    assert_eq!(d.stats().frames, 2);
    assert!(d.stats().dropped >= 2);
}

#[test]
fn oversized_frame_is_dropped_and_the_next_one_decodes() {
    let big = vec![0x55u8; 600];
    let mut stream = frame(&Request::Data {
        entry: 0,
        offset: 0,
        bytes: &big,
    });
    stream.extend(frame(&Request::Abort));
    let mut d = Decoder::<128>::new();
    let mut got = Vec::new();
    let mut rest = &stream[..];
    while !rest.is_empty() {
        let (n, f) = d.feed(rest);
        if let Some(f) = f {
            got.push(format!("{:?}", decode_request(f).unwrap()));
        }
        rest = &rest[n..];
    }
    assert_eq!(got, vec!["Abort"]);
    assert_eq!(d.stats().dropped, 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any bytes, split anywhere: no panic, bounded memory (fixed buffer), and
    /// a valid frame after the noise still decodes.
    #[test]
    fn decoder_survives_noise_and_resynchronises(
        noise in proptest::collection::vec(any::<u8>(), 0..3000),
        splits in proptest::collection::vec(1usize..64, 1..50),
    ) {
        let mut stream = noise.clone();
        stream.extend(frame(&Request::Query { entry: 42 }));
        let mut d = Decoder::<512>::new();
        let mut last = None;
        let mut rest = &stream[..];
        let mut i = 0;
        while !rest.is_empty() {
            let take = splits[i % splits.len()].min(rest.len());
            i += 1;
            let mut piece = &rest[..take];
            while !piece.is_empty() {
                let (n, f) = d.feed(piece);
                if let Some(f) = f {
                    last = decode_request(f).map(|m| format!("{m:?}"));
                }
                piece = &piece[n..];
            }
            rest = &rest[take..];
        }
        prop_assert_eq!(last.as_deref(), Some("Query { entry: 42 }"));
    }

    /// One flipped bit anywhere in a frame never yields a different message.
    #[test]
    fn a_flipped_bit_never_passes_as_another_message(bit in 0usize..(8 * 40)) {
        let good = Request::Data { entry: 1, offset: 77, bytes: b"0123456789abcdef0123" };
        let mut f = frame(&good);
        let byte = 1 + (bit / 8) % (f.len() - 2);
        f[byte] ^= 1 << (bit % 8);
        for body in decode_all(&f) {
            if let Some(m) = decode_request(&body) {
                prop_assert_eq!(m, good.clone());
            }
        }
    }

    #[test]
    fn data_of_any_size_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..MAX_CHUNK), offset: u32, entry: u16) {
        let r = Request::Data { entry, offset, bytes: &bytes };
        let f = frame(&r);
        prop_assert!(f.len() <= max_frame_len(bytes.len() + DATA_OVERHEAD));
        let frames = decode_all(&f);
        prop_assert_eq!(decode_request(&frames[0]), Some(r));
    }
}
