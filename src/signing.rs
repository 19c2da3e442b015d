//! Release signatures. The canonical form of a manifest is what the seed
//! updater signed: the manifest without its signature fields, serialized as
//! Python's `json.dumps(m, sort_keys=True, separators=(",", ":"))` (keys
//! sorted at every level, no spaces, non-ASCII escaped as `\uXXXX`).
//!
//! Two kinds of signature over it:
//! - Ed25519, in `signatures: [{"alg": "ed25519", "key": "ed25519:<hex>", "sig": "<hex>"}]`:
//!   only the holder of the secret key can sign, and devices carry only public keys.
//! - HMAC-SHA256 keyed by a shared secret, in `signature` (the seed's format),
//!   kept for existing fleets; weaker: every holder of the key can sign.

use std::path::Path;

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use hmac::Mac;
use serde_json::Value;

use ota_agent::signature::TreeDigest;

use crate::bundle::{from_hex, hex};
use crate::exit::{fail, Kind};
use crate::manifest::Manifest;

const PUBLIC_PREFIX: &str = "ed25519:";
const SECRET_PREFIX: &str = "ota-ed25519-secret:";

/// The canonical JSON text of `v`, as Python's json.dumps writes it.
pub fn canonical(v: &Value) -> anyhow::Result<String> {
    let mut out = String::new();
    write_canonical(v, &mut out)?;
    Ok(out)
}

fn write_canonical(v: &Value, out: &mut String) -> anyhow::Result<()> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_f64() {
                return Err(fail(Kind::Source, format!("manifest: number {n} is not an integer; signed manifests hold integers only")));
            }
            out.push_str(&n.to_string());
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(&map[k], out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// The bytes every signature covers: the manifest without `signature` and `signatures`.
pub fn signed_bytes(manifest: &Value) -> anyhow::Result<String> {
    let mut m = manifest.clone();
    if let Some(o) = m.as_object_mut() {
        o.remove("signature");
        o.remove("signatures");
    }
    canonical(&m)
}

/// The seed's HMAC-SHA256, hex, keyed by the UTF-8 bytes of `key`.
pub fn hmac_hex(key: &str, canonical: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(canonical.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// An Ed25519 public key, written `ed25519:<64 hex digits>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    pub fn parse(text: &str) -> Option<PublicKey> {
        let hexpart = text.trim().strip_prefix(PUBLIC_PREFIX)?;
        let bytes = from_hex::<32>(hexpart)?;
        VerifyingKey::from_bytes(&bytes).ok()?;
        Some(PublicKey(bytes))
    }

    /// A key given inline, or the path of a `.pub` file.
    pub fn load(spec: &str) -> anyhow::Result<PublicKey> {
        if let Some(k) = PublicKey::parse(spec) {
            return Ok(k);
        }
        let text = std::fs::read_to_string(spec).map_err(|e| {
            fail(
                Kind::Config,
                format!(
                    "public key `{spec}`: not an ed25519:<hex> key, and not a readable file ({e})"
                ),
            )
        })?;
        PublicKey::parse(&text).ok_or_else(|| {
            fail(
                Kind::Config,
                format!("{spec}: not an ota public key (ed25519:<64 hex digits>)"),
            )
        })
    }

    pub fn line(&self) -> String {
        format!("{PUBLIC_PREFIX}{}", hex(&self.0))
    }
}

/// An Ed25519 secret key file, created with 0600 permissions.
pub struct SecretKey(SigningKey);

impl SecretKey {
    pub fn generate() -> anyhow::Result<SecretKey> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)
            .map_err(|e| fail(Kind::Config, format!("no randomness for a key: {e}")))?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    pub fn read(path: &Path) -> anyhow::Result<SecretKey> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| fail(Kind::Config, format!("{}: {e}", path.display())))?;
        let seed = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .and_then(from_hex::<32>)
            .ok_or_else(|| {
                fail(
                    Kind::Config,
                    format!(
                        "{}: not an ota secret key (made by `ota keygen`)",
                        path.display()
                    ),
                )
            })?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    pub fn file_text(&self) -> String {
        format!("{SECRET_PREFIX}{}\n", hex(&self.0.to_bytes()))
    }

    pub fn sign(&self, bytes: &[u8]) -> [u8; 64] {
        self.0.sign(bytes).to_bytes()
    }
}

/// The digest a provisioned agent checks: version, ref and commit (empty
/// when the manifest does not name them), hooks, and each file's path, size,
/// Git blob SHA-1 and SHA-256, in path order. `None` when a file lacks its
/// SHA-1 (a manifest from the seed's generator).
pub fn tree_digest(m: &Manifest) -> anyhow::Result<Option<[u8; 32]>> {
    let mut files: Vec<_> = m.files.iter().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut d = TreeDigest::new(
        &m.version,
        m.git_ref.as_deref().unwrap_or(""),
        m.commit.as_deref().unwrap_or(""),
        m.post_update.as_deref(),
        m.rollback.as_deref(),
        files.len() as u16,
    );
    for f in files {
        let h = m.hashes("manifest", f)?;
        let Some(sha1) = h.sha1 else { return Ok(None) };
        d.add(&f.path, f.size as u32, &sha1, Some(&h.sha256));
    }
    Ok(Some(d.finish()))
}

/// Adds (or replaces) this key's Ed25519 signatures in `manifest`: over the
/// canonical form, and over the tree digest for provisioned agents. Returns
/// false when no tree signature could be made (files without a SHA-1).
pub fn sign_ed25519(manifest: &mut Value, key: &SecretKey) -> anyhow::Result<bool> {
    let bytes = signed_bytes(manifest)?;
    let sig = key.sign(bytes.as_bytes());
    let parsed: Manifest = serde_json::from_value(manifest.clone())
        .map_err(|e| fail(Kind::Source, format!("manifest: {e}")))?;
    let tree = tree_digest(&parsed)?.map(|d| key.sign(&d));
    let me = key.public().line();
    let obj = manifest
        .as_object_mut()
        .ok_or_else(|| fail(Kind::Source, "manifest is not a JSON object"))?;
    let list = obj
        .entry("signatures")
        .or_insert_with(|| Value::Array(Vec::new()));
    let arr = list
        .as_array_mut()
        .ok_or_else(|| fail(Kind::Source, "manifest: `signatures` is not a list"))?;
    arr.retain(|s| s["key"] != me.as_str());
    arr.push(serde_json::json!({ "alg": "ed25519", "key": me, "sig": hex(&sig) }));
    if let Some(t) = tree {
        arr.push(serde_json::json!({ "alg": "ed25519-tree", "key": me, "sig": hex(&t) }));
    }
    Ok(tree.is_some())
}

/// The tree signature to send to agents: one by a key in `keys` (any, when
/// `keys` is empty) that verifies over the manifest's tree digest.
pub fn tree_signature(manifest: &Value, keys: &[PublicKey]) -> anyhow::Result<Option<[u8; 64]>> {
    let parsed: Manifest = serde_json::from_value(manifest.clone())
        .map_err(|e| fail(Kind::Source, format!("manifest: {e}")))?;
    let Some(digest) = tree_digest(&parsed)? else {
        return Ok(None);
    };
    let Some(list) = manifest.get("signatures").and_then(Value::as_array) else {
        return Ok(None);
    };
    for s in list.iter().filter(|s| s["alg"] == "ed25519-tree") {
        let key = s["key"].as_str().and_then(PublicKey::parse);
        let sig = s["sig"].as_str().and_then(from_hex::<64>);
        let (Some(key), Some(sig)) = (key, sig) else {
            continue;
        };
        if (keys.is_empty() || keys.contains(&key))
            && ota_agent::signature::signed_by_any(&[key.0], &digest, &sig)
        {
            return Ok(Some(sig));
        }
    }
    Ok(None)
}

/// The key among `keys` that validly signed `manifest`, if any.
pub fn verify_ed25519(manifest: &Value, keys: &[PublicKey]) -> anyhow::Result<Option<PublicKey>> {
    let bytes = signed_bytes(manifest)?;
    let Some(list) = manifest.get("signatures").and_then(Value::as_array) else {
        return Ok(None);
    };
    for s in list {
        if s["alg"] != "ed25519" {
            continue;
        }
        let (Some(key), Some(sig)) = (
            s["key"].as_str().and_then(PublicKey::parse),
            s["sig"].as_str().and_then(from_hex::<64>),
        ) else {
            continue;
        };
        if !keys.contains(&key) {
            continue;
        }
        let vk = VerifyingKey::from_bytes(&key.0)
            .map_err(|e| fail(Kind::Verify, format!("bad public key: {e}")))?;
        if vk
            .verify(
                bytes.as_bytes(),
                &ed25519_dalek::Signature::from_bytes(&sig),
            )
            .is_ok()
        {
            return Ok(Some(key));
        }
    }
    Ok(None)
}

/// True when `manifest` carries a valid seed-style HMAC for `key`.
pub fn verify_hmac(manifest: &Value, key: &str) -> anyhow::Result<bool> {
    let Some(sig) = manifest.get("signature").and_then(Value::as_str) else {
        return Ok(false);
    };
    let want = hmac_hex(key, &signed_bytes(manifest)?);
    Ok(want.eq_ignore_ascii_case(sig))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed with Python 3: json.dumps(m, sort_keys=True, separators=(",", ":")) and hmac/sha256.
    #[test]
    fn canonical_form_and_hmac_match_the_seed_updater() {
        let m: Value = serde_json::json!({
            "version": "v1.0.0",
            "files": [
                {"path": "lib/util.py", "sha256": "a".repeat(64), "size": 1234},
                {"path": "caf\u{e9}/\u{1F600}.py", "sha256": "b".repeat(64), "size": 0}
            ],
            "post_update": "hooks/post.py",
            "rollback": "hooks/rollback.py",
            "signature": "ignored"
        });
        let c = signed_bytes(&m).unwrap();
        assert_eq!(
            c,
            format!(
                r#"{{"files":[{{"path":"lib/util.py","sha256":"{}","size":1234}},{{"path":"caf\u00e9/\ud83d\ude00.py","sha256":"{}","size":0}}],"post_update":"hooks/post.py","rollback":"hooks/rollback.py","version":"v1.0.0"}}"#,
                "a".repeat(64),
                "b".repeat(64)
            )
        );
        assert_eq!(
            hmac_hex("s3cret-k\u{e9}y", &c),
            "48a985388db71bff66f942408fc3ea5e2d68ea90d1dfc7c2cdf2354ed577878e"
        );
    }

    #[test]
    fn ed25519_signs_and_verifies_and_any_change_breaks_it() {
        let k = SecretKey::generate().unwrap();
        let other = SecretKey::generate().unwrap();
        let mut m = serde_json::json!({"version": "v1", "files": []});
        assert!(sign_ed25519(&mut m, &k).unwrap(), "a tree signature too");
        assert!(tree_signature(&m, &[k.public()]).unwrap().is_some());
        assert_eq!(verify_ed25519(&m, &[k.public()]).unwrap(), Some(k.public()));
        assert_eq!(verify_ed25519(&m, &[other.public()]).unwrap(), None);
        m["version"] = serde_json::json!("v2");
        assert_eq!(verify_ed25519(&m, &[k.public()]).unwrap(), None);
    }

    /// The host's digest (from a manifest) and the agent's (from Begin and
    /// the entries) agree, and cover version, ref, commit, hooks and files.
    #[test]
    fn tree_digest_test_vector() {
        let m: Manifest = serde_json::from_value(serde_json::json!({
            "version": "v1.2.0", "ref": "v1.2.0",
            "commit": "0123456789abcdef0123456789abcdef01234567",
            "post_update": "hooks/post.py",
            "files": [
                {"path": "main.py", "size": 3, "sha256": "b".repeat(64), "sha1": "a".repeat(40)},
                {"path": "hooks/post.py", "size": 0, "sha256": "d".repeat(64), "sha1": "c".repeat(40)}
            ]
        }))
        .unwrap();
        let host = tree_digest(&m).unwrap().unwrap();
        let mut agent = TreeDigest::new(
            "v1.2.0",
            "v1.2.0",
            "0123456789abcdef0123456789abcdef01234567",
            Some("hooks/post.py"),
            None,
            2,
        );
        agent.add("hooks/post.py", 0, &[0xcc; 20], Some(&[0xdd; 32]));
        agent.add("main.py", 3, &[0xaa; 20], Some(&[0xbb; 32]));
        assert_eq!(host, agent.finish());
        // Computed independently with Python 3 (hashlib, struct) from the format above.
        assert_eq!(
            hex(&host),
            "a03396929789ff6b7db73851a76c687d67ec32a27e2a3f6e969429a07f9b05b5"
        );
        for (field, value) in [("ref", "v1.2.1"), ("commit", "ff"), ("version", "v1.2.1")] {
            let mut other = m.clone();
            match field {
                "ref" => other.git_ref = Some(value.into()),
                "commit" => other.commit = Some(value.into()),
                _ => other.version = value.into(),
            }
            assert_ne!(tree_digest(&other).unwrap().unwrap(), host, "{field}");
        }
    }

    #[test]
    fn key_text_round_trips() {
        let k = SecretKey::generate().unwrap();
        assert_eq!(PublicKey::parse(&k.public().line()), Some(k.public()));
        assert!(k.public().line().len() < 80, "one short line");
    }
}
