//! Fuzzes the patch applier with arbitrary patches against an old image
//! taken from the input: it must never panic, never ask for bytes outside
//! the old image, never make more bytes than the patch's header declares,
//! and a patch it finishes must have made exactly that many. Half the runs
//! start from a valid patch of the old image to an edited copy, with bytes
//! of the input flipped into it, so that the fuzzer gets past the magic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ota_delta::{make, Applier, PatchIo};

struct Bounded<'a> {
    old: &'a [u8],
    made: usize,
}

impl PatchIo for Bounded<'_> {
    type Error = ();
    fn read_old(&mut self, at: u32, buf: &mut [u8]) -> Result<(), ()> {
        let at = at as usize;
        assert!(at + buf.len() <= self.old.len(), "read past the old image");
        buf.copy_from_slice(&self.old[at..at + buf.len()]);
        Ok(())
    }
    fn write_new(&mut self, bytes: &[u8]) -> Result<(), ()> {
        self.made += bytes.len();
        assert!(self.made <= 1 << 24, "more than any header could declare");
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&how, rest)) = data.split_first() else { return };
    let (old, tail) = rest.split_at(rest.len() / 2);
    let patch = if how & 1 == 0 {
        tail.to_vec()
    } else {
        let mut new = old.to_vec();
        new.extend_from_slice(&tail[..tail.len().min(64)]);
        if let Some(b) = new.get_mut(old.len() / 3) {
            *b ^= how;
        }
        let mut p = make(old, &new);
        for (i, &b) in tail.iter().enumerate().take(8) {
            let at = (b as usize * 31 + i * 7) % p.len();
            p[at] ^= how.rotate_left(i as u32) | 1;
        }
        p
    };
    let mut io = Bounded { old, made: 0 };
    let mut a = Applier::new(old.len() as u32);
    let piece = 1 + (how as usize >> 1) % 97;
    for p in patch.chunks(piece) {
        if a.feed(p, &mut io).is_err() {
            return;
        }
    }
    if let Ok(size) = a.finish(&mut io) {
        assert_eq!(size as usize, io.made, "a finished patch made what it declared");
    }
});
