//! What a provisioned agent checks before it accepts a tree: an Ed25519
//! signature, by one of its release keys, over the tree digest.
//!
//! The digest is computed the same way by `ota manifest sign` (from the
//! manifest) and by the agent (from Begin and the entries as they arrive),
//! so the board needs neither JSON nor the manifest itself. It covers the
//! version, ref and commit, the hooks, and every file's path, size, Git blob
//! SHA-1 and SHA-256, in path order.
//!
//! A provisioned agent also keeps a security version, the release number of
//! the newest signed tree it confirmed, and refuses older signed trees; and a
//! count of key changes, which every key-change authorisation names, so that
//! none can be replayed.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::hash::{Sha1, Sha256 as Sha256Bytes};

const TREE_DOMAIN: &[u8] = b"ota-tree-v2\n";
const KEYS_DOMAIN: &[u8] = b"ota-keys-v2\n";
/// The most release keys an agent holds.
pub const MAX_KEYS: usize = 4;

/// Incremental tree digest.
#[derive(Clone)]
pub struct TreeDigest(Sha256);

fn put_text(h: &mut Sha256, s: &str) {
    let b = s.as_bytes();
    h.update([b.len().min(255) as u8]);
    h.update(&b[..b.len().min(255)]);
}

impl TreeDigest {
    pub fn new(
        version: &str,
        git_ref: &str,
        commit: &str,
        post_update: Option<&str>,
        rollback: Option<&str>,
        entries: u16,
    ) -> TreeDigest {
        let mut h = Sha256::new();
        h.update(TREE_DOMAIN);
        put_text(&mut h, version);
        put_text(&mut h, git_ref);
        put_text(&mut h, commit);
        put_text(&mut h, post_update.unwrap_or(""));
        put_text(&mut h, rollback.unwrap_or(""));
        h.update(entries.to_le_bytes());
        TreeDigest(h)
    }

    pub fn add(&mut self, path: &str, size: u32, sha1: &Sha1, sha256: Option<&Sha256Bytes>) {
        put_text(&mut self.0, path);
        self.0.update(size.to_le_bytes());
        self.0.update(sha1);
        match sha256 {
            Some(h) => {
                self.0.update([1]);
                self.0.update(h);
            }
            None => self.0.update([0]),
        }
    }

    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// The message a key change is signed over: the device, how many key changes
/// it has made, and the new key set (bound to the device and to its count,
/// so an authorisation can be replayed neither on another board nor later).
pub fn keys_message(device_id: &[u8; 8], key_changes: u32, keys: &[[u8; 32]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(KEYS_DOMAIN);
    h.update(device_id);
    h.update(key_changes.to_le_bytes());
    h.update([keys.len() as u8]);
    for k in keys {
        h.update(k);
    }
    h.finalize().into()
}

/// True when `key` is a usable Ed25519 public key.
pub fn valid_key(key: &[u8; 32]) -> bool {
    VerifyingKey::from_bytes(key).is_ok()
}

/// True when `sig` over `message` verifies with one of `keys`.
pub fn signed_by_any(keys: &[[u8; 32]], message: &[u8], sig: &[u8; 64]) -> bool {
    let sig = Signature::from_bytes(sig);
    keys.iter()
        .filter_map(|k| VerifyingKey::from_bytes(k).ok())
        .any(|k| k.verify(message, &sig).is_ok())
}

/// The security version of a release: its number MAJOR.MINOR.PATCH (a
/// leading `v` allowed, a pre-release or build suffix ignored), packed so
/// that it orders as the releases do; 0 for a version with no number
/// (`main-1a2b3c4`), which a device holding a numbered release refuses.
pub fn security_version(version: &str) -> u32 {
    let v = version.strip_prefix(['v', 'V']).unwrap_or(version);
    let end = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let mut parts = v[..end].split('.').map(|p| p.parse::<u32>().ok());
    let mut part = || parts.next().flatten().map_or(0, |n| n.min(1023));
    let (major, minor, patch) = (part(), part(), part());
    major << 20 | minor << 10 | patch
}

#[cfg(test)]
mod tests {
    use super::security_version as sv;

    #[test]
    fn security_versions_order_as_releases_do() {
        assert_eq!(sv("v1.2.3"), 1 << 20 | 2 << 10 | 3);
        assert_eq!(sv("1.2.3"), sv("v1.2.3"));
        assert_eq!(sv("v1.2.3-rc1"), sv("v1.2.3"));
        assert!(sv("v1.10.0") > sv("v1.9.9"));
        assert!(sv("v2") > sv("v1.99.99"));
        assert_eq!(sv("v2"), sv("v2.0.0"));
        assert_eq!(sv("main-1a2b3c4"), 0);
        assert_eq!(sv(""), 0);
        assert_eq!(sv("v99999.1"), 1023 << 20 | 1 << 10);
    }
}
