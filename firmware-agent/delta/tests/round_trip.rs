//! Patches made on the host apply back to the new image, whatever the pair
//! (random, empty, identical, unrelated, a small edit), fed in pieces of any
//! size; a corrupted patch or a patch for another base never panics and
//! never reads or writes outside the images.

use ota_delta::{make, Applier, ApplyError, PatchIo};
use proptest::prelude::*;

/// The old image as a slice, the new one into a Vec bounded by its size.
struct Slices<'a> {
    old: &'a [u8],
    new: Vec<u8>,
    limit: usize,
}

impl PatchIo for Slices<'_> {
    type Error = &'static str;
    fn read_old(&mut self, at: u32, buf: &mut [u8]) -> Result<(), Self::Error> {
        let at = at as usize;
        let src = self
            .old
            .get(at..at + buf.len())
            .ok_or("read past the old image")?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_new(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        if self.new.len() + bytes.len() > self.limit {
            return Err("write past the new image");
        }
        self.new.extend_from_slice(bytes);
        Ok(())
    }
}

fn apply(
    old: &[u8],
    patch: &[u8],
    piece: usize,
    limit: usize,
) -> Result<Vec<u8>, ApplyError<&'static str>> {
    let mut io = Slices {
        old,
        new: Vec::new(),
        limit,
    };
    let mut a = Applier::new(old.len() as u32);
    for p in patch.chunks(piece.max(1)) {
        a.feed(p, &mut io)?;
    }
    let size = a.finish(&mut io)?;
    assert_eq!(size as usize, io.new.len());
    Ok(io.new)
}

/// An image and a version of it with a few bytes changed, inserted and removed.
fn edited() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    (
        proptest::collection::vec(any::<u8>(), 1..6000),
        proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..20),
    )
        .prop_map(|(old, edits)| {
            let mut new = old.clone();
            for (at, b, kind) in edits {
                let at = at % (new.len() + 1);
                match kind {
                    0 if at < new.len() => new[at] = b,
                    1 => new.insert(at, b),
                    _ if at < new.len() => {
                        new.remove(at);
                    }
                    _ => {}
                }
            }
            (old, new)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_pairs_round_trip(old in proptest::collection::vec(any::<u8>(), 0..3000),
                               new in proptest::collection::vec(any::<u8>(), 0..3000),
                               piece in 1usize..700) {
        let patch = make(&old, &new);
        prop_assert_eq!(apply(&old, &patch, piece, new.len()).unwrap(), new);
    }

    #[test]
    fn edits_round_trip_and_stay_small((old, new) in edited(), piece in 1usize..700) {
        let patch = make(&old, &new);
        prop_assert_eq!(apply(&old, &patch, piece, new.len()).unwrap(), new.clone());
    }

    #[test]
    fn corrupted_patches_fail_cleanly((old, new) in edited(),
                                      flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
                                      cut in any::<usize>()) {
        let mut patch = make(&old, &new);
        for (at, b) in flips {
            let at = at % patch.len();
            patch[at] ^= b | 1;
        }
        patch.truncate(cut % (patch.len() + 1));
        // Anything but a panic or an access outside the images: an error, or some image.
        let _ = apply(&old, &patch, 64, new.len());
    }

    #[test]
    fn garbage_is_refused(old in proptest::collection::vec(any::<u8>(), 0..2000),
                          patch in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = apply(&old, &patch, 37, 1 << 20);
    }

    #[test]
    fn a_patch_for_another_base_never_reads_past_it((old, new) in edited(),
                                                    other in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let patch = make(&old, &new);
        let got = apply(&other, &patch, 64, new.len());
        if other.len() < old.len() {
            // Either refused, or it happened to need only the bytes `other` has.
            prop_assert!(got.is_err() || got.unwrap().len() == new.len());
        }
    }
}

#[test]
fn empty_and_identical_images() {
    for (old, new) in [
        (vec![], vec![]),
        (vec![], vec![7u8; 5000]),
        (vec![7u8; 5000], vec![]),
        (
            (0..=255u8).cycle().take(40_000).collect(),
            (0..=255u8).cycle().take(40_000).collect(),
        ),
    ] {
        let patch = make(&old, &new);
        assert_eq!(apply(&old, &patch, 100, new.len()).unwrap(), new);
    }
    let same: Vec<u8> = (0..40_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let n = make(&same, &same).len();
    // One back-reference of 256 zeros costs 19 bits: about 1% of the image.
    assert!(
        n < same.len() / 50,
        "an identical image costs almost nothing, not {n} bytes"
    );
}

#[test]
fn unrelated_images_round_trip() {
    let old: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let new: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(40_503) >> 7) as u8)
        .collect();
    let patch = make(&old, &new);
    assert_eq!(apply(&old, &patch, 4096, new.len()).unwrap(), new);
}

#[test]
fn a_truncated_patch_is_refused() {
    let old = vec![1u8; 9000];
    let mut new = old.clone();
    new[4000] = 2;
    let patch = make(&old, &new);
    for cut in [0, 1, patch.len() / 2, patch.len() - 1] {
        assert!(
            apply(&old, &patch[..cut], 64, new.len()).is_err(),
            "cut at {cut}"
        );
    }
}
