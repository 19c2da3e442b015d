//! File hashing as GitHub and the seed's manifests define it: the Git blob
//! SHA-1 (`"blob <size>\0"` then the bytes) and, when declared, a plain SHA-256.

use sha1::Digest;

pub type Sha1 = [u8; 20];
pub type Sha256 = [u8; 32];

/// Hashes one file incrementally, in constant memory.
#[derive(Clone)]
pub struct FileHasher {
    sha1: sha1::Sha1,
    sha256: Option<sha2::Sha256>,
}

impl FileHasher {
    pub fn new(size: u32, with_sha256: bool) -> Self {
        let mut sha1 = sha1::Sha1::new();
        let mut header = [0u8; 16];
        sha1.update(blob_header(size, &mut header));
        FileHasher {
            sha1,
            sha256: with_sha256.then(sha2::Sha256::new),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.sha1.update(bytes);
        if let Some(h) = &mut self.sha256 {
            h.update(bytes);
        }
    }

    /// The Git blob SHA-1 and, when asked for, the SHA-256 of the bytes so far.
    pub fn finish(self) -> (Sha1, Option<Sha256>) {
        (
            self.sha1.finalize().into(),
            self.sha256.map(|h| h.finalize().into()),
        )
    }

    /// True when the bytes hashed so far match both declared hashes.
    pub fn matches(self, sha1: &Sha1, sha256: Option<&Sha256>) -> bool {
        let got1: Sha1 = self.sha1.finalize().into();
        let ok256 = match (self.sha256, sha256) {
            (Some(h), Some(want)) => {
                let got: Sha256 = h.finalize().into();
                &got == want
            }
            (None, None) => true,
            _ => false,
        };
        &got1 == sha1 && ok256
    }
}

/// `"blob <size>\0"` written into `buf`.
fn blob_header(size: u32, buf: &mut [u8; 16]) -> &[u8] {
    buf[..5].copy_from_slice(b"blob ");
    let mut digits = [0u8; 10];
    let mut n = size;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let d = &digits[i..];
    buf[5..5 + d.len()].copy_from_slice(d);
    buf[5 + d.len()] = 0;
    &buf[..6 + d.len()]
}

/// The Git blob SHA-1 of `bytes`.
pub fn git_blob_sha1(bytes: &[u8]) -> Sha1 {
    let mut h = sha1::Sha1::new();
    let mut header = [0u8; 16];
    h.update(blob_header(bytes.len() as u32, &mut header));
    h.update(bytes);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_blob_matches_git() {
        // `git hash-object /dev/null`
        let want = [
            0xe6, 0x9d, 0xe2, 0x9b, 0xb2, 0xd1, 0xd6, 0x43, 0x4b, 0x8b, 0x29, 0xae, 0x77, 0x5a,
            0xd8, 0xc2, 0xe4, 0x8c, 0x53, 0x91,
        ];
        assert_eq!(git_blob_sha1(b""), want);
        assert!(FileHasher::new(0, false).matches(&want, None));
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: [u8; 1000] = core::array::from_fn(|i| (i * 7) as u8);
        let mut h = FileHasher::new(1000, false);
        for c in data.chunks(33) {
            h.update(c);
        }
        assert!(h.matches(&git_blob_sha1(&data), None));
    }
}
