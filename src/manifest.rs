//! `manifest.json`: the seed updater's release manifest, read as it is, and
//! written by ota with the Git blob SHA-1 added.
//!
//! ```json
//! {"version": "v1.0.0",
//!  "files": [{"path": "lib/util.py", "size": 1234, "sha256": "<hex>", "sha1": "<hex>"}],
//!  "post_update": "hooks/post.py", "rollback": "hooks/rollback.py",
//!  "ref": "v1.0.0", "commit": "<sha>", "signature": "<hex>"}
//! ```
//!
//! A tree may carry the application image as the entry `.ota/app.bin`, with
//! the slot address it was linked for and, in a release, the asset that
//! holds it (`ota manifest gen --app`):
//!
//! ```json
//! {"path": ".ota/app.bin", "size": 31400, "sha256": "<hex>", "sha1": "<hex>",
//!  "slot": "0x10040000", "asset": "app.bin"}
//! ```
//!
//! A release may also publish patches that turn images its fleet runs into
//! this one (`ota manifest gen --delta-from OLD`), listed on the image entry:
//!
//! ```json
//! "deltas": [{"from_sha1": "<hex>", "from_sha256": "<hex>", "from_size": 30208,
//!             "asset": "app-from-1f2e3d4c5b6a.patch", "size": 1097, "sha256": "<hex>"}]
//! ```
//!
//! The seed's manifests have no such entry and read as before.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bundle::{from_hex, hex, BundleFile, Sha1, Sha256};
use crate::exit::{fail, Kind};

/// The largest manifest read: one of every file an agent holds, with long
/// paths and both hashes, is under 150 KiB.
pub const MANIFEST_CAP: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// The application image only: the flash address it was linked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// The application image only: the release asset (or, for a manifest
    /// in a folder, the file beside it) that holds the bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// The application image only: patches from earlier images, each a
    /// release asset (or a file beside the manifest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deltas: Vec<DeltaAsset>,
}

/// A patch (ota-delta's format) from the image whose Git blob SHA-1 is
/// `from_sha1` to the entry's image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeltaAsset {
    pub from_sha1: String,
    pub from_sha256: String,
    pub from_size: u64,
    pub asset: String,
    pub size: u64,
    pub sha256: String,
}

impl DeltaAsset {
    /// The hashes decoded: (from_sha1, from_sha256, sha256).
    pub fn decoded(&self) -> Option<(Sha1, Sha256, Sha256)> {
        Some((
            from_hex::<20>(&self.from_sha1)?,
            from_hex::<32>(&self.from_sha256)?,
            from_hex::<32>(&self.sha256)?,
        ))
    }

    /// `bytes` as the patch this entry lists: only with its size and SHA-256.
    pub fn take(&self, bytes: Vec<u8>) -> Option<crate::bundle::ReleasePatch> {
        use sha2::Digest;
        let (from_sha1, from_sha256, sha256) = self.decoded()?;
        let whole =
            bytes.len() as u64 == self.size && sha2::Sha256::digest(&bytes)[..] == sha256[..];
        whole.then(|| crate::bundle::ReleasePatch {
            from_sha1: hex(&from_sha1),
            from_size: self.from_size as u32,
            from_sha256,
            bytes,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: String,
    pub files: Vec<ManifestFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_update: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<String>,
    /// Where the files came from (written by `ota stage`).
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The seed updater's HMAC-SHA256 (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Ed25519 signatures (see `crate::signing`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<serde_json::Value>,
}

/// One manifest entry with its hashes decoded.
#[derive(Debug, Clone, Copy)]
pub struct Hashes {
    pub size: u64,
    pub sha256: Sha256,
    pub sha1: Option<Sha1>,
}

impl Manifest {
    pub fn parse(name: &str, bytes: &[u8]) -> anyhow::Result<Manifest> {
        let m: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| fail(Kind::Source, format!("{name}: not a manifest: {e}")))?;
        crate::bundle::check_identity(
            &m.version,
            m.git_ref.as_deref().unwrap_or(""),
            m.commit.as_deref().unwrap_or(""),
        )
        .map_err(|e| fail(Kind::Source, format!("{name}: {e}")))?;
        for f in &m.files {
            m.hashes(name, f)?;
            check_image_entry(f).map_err(|e| fail(Kind::Source, format!("{name}: {e}")))?;
        }
        crate::bundle::check_paths(m.files.iter().map(|f| f.path.as_str()))
            .map_err(|e| fail(Kind::Source, format!("{name}: {e}")))?;
        for (what, hook) in [("post_update", &m.post_update), ("rollback", &m.rollback)] {
            if let Some(p) = hook {
                ota_agent::paths::check_path(p).map_err(|e| {
                    fail(
                        Kind::Source,
                        format!(
                            "{name}: {what} `{}`: {}",
                            crate::terminal::escape(p),
                            e.as_str()
                        ),
                    )
                })?;
            }
        }
        Ok(m)
    }

    /// Reads a manifest of at most [`MANIFEST_CAP`] bytes.
    pub fn read(path: &Path) -> anyhow::Result<Manifest> {
        let bytes = read_capped(path)?;
        Manifest::parse(&path.display().to_string(), &bytes)
    }
}

/// The slot address as manifests write it.
pub fn slot_text() -> String {
    format!("{:#010x}", crate::uf2::SLOT.start)
}

/// `slot` and `asset` belong to the application image alone; the image is
/// linked for this agent's slot and fits it; an asset is a bare file name.
fn check_image_entry(f: &ManifestFile) -> Result<(), String> {
    use crate::terminal::escape;
    let image = f.path == ota_agent::layout::APP_IMAGE;
    if !image && (f.slot.is_some() || f.asset.is_some() || !f.deltas.is_empty()) {
        return Err(format!(
            "{}: `slot`, `asset` and `deltas` are for the application image ({}) only",
            escape(&f.path),
            ota_agent::layout::APP_IMAGE
        ));
    }
    if !image {
        return Ok(());
    }
    let slot = crate::uf2::SLOT;
    if let Some(s) = &f.slot {
        let at = s
            .strip_prefix("0x")
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        if at != Some(slot.start) {
            return Err(format!(
                "{}: linked for slot `{}`, and the agent's application slot starts at {}; link the application for that address (memory.x FLASH ORIGIN)",
                f.path,
                escape(s),
                slot_text()
            ));
        }
    }
    if f.size > u64::from(slot.end - slot.start) {
        return Err(format!(
            "{}: {} bytes, more than the application slot's {}",
            f.path,
            f.size,
            slot.end - slot.start
        ));
    }
    for a in f.asset.iter().chain(f.deltas.iter().map(|d| &d.asset)) {
        if !bare_name(a) {
            return Err(format!(
                "{}: asset `{}` is not a bare file name (letters, digits, - _ . +, not starting with a dot)",
                f.path,
                escape(a)
            ));
        }
    }
    for d in &f.deltas {
        let slot_size = u64::from(slot.end - slot.start);
        if d.size > slot_size || d.from_size > slot_size {
            return Err(format!(
                "{}: delta `{}`: {} bytes from an image of {}, and the slot holds {slot_size}",
                f.path,
                escape(&d.asset),
                d.size,
                d.from_size
            ));
        }
        if d.decoded().is_none() {
            return Err(format!(
                "{}: delta `{}`: `from_sha1`, `from_sha256` and `sha256` must be hex digests",
                f.path,
                escape(&d.asset)
            ));
        }
    }
    Ok(())
}

fn bare_name(a: &str) -> bool {
    !a.is_empty()
        && a.len() <= 128
        && !a.starts_with('.')
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
}

/// The bytes of a manifest file, at most [`MANIFEST_CAP`] of them; an empty
/// file is an error that says what a manifest is.
pub fn read_capped(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| fail(Kind::Source, format!("{name}: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MANIFEST_CAP + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(Kind::Source, format!("{name}: {e}")))?;
    if bytes.len() as u64 > MANIFEST_CAP {
        return Err(fail(
            Kind::Source,
            format!(
                "{name}: larger than {}, far more than a manifest of every file an agent holds; not read",
                crate::progress::human_bytes(MANIFEST_CAP)
            ),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(fail(
            Kind::Source,
            format!("{name}: empty; a manifest is a JSON object with `version` and `files`"),
        ));
    }
    Ok(bytes)
}

impl Manifest {
    /// The application image's entry, when the tree carries one.
    pub fn image_entry(&self) -> Option<&ManifestFile> {
        self.files
            .iter()
            .find(|f| f.path == ota_agent::layout::APP_IMAGE)
    }

    pub fn hashes(&self, name: &str, f: &ManifestFile) -> anyhow::Result<Hashes> {
        let bad = |what: &str| {
            fail(
                Kind::Source,
                format!("{name}: {}: `{what}` is not a hex digest", f.path),
            )
        };
        let sha256 = from_hex::<32>(&f.sha256).ok_or_else(|| bad("sha256"))?;
        let sha1 = match &f.sha1 {
            Some(s) => Some(from_hex::<20>(s).ok_or_else(|| bad("sha1"))?),
            None => None,
        };
        Ok(Hashes {
            size: f.size,
            sha256,
            sha1,
        })
    }

    /// A manifest describing verified files, with sha1 and sha256 for each.
    pub fn of_files(version: &str, files: &[BundleFile]) -> Manifest {
        Manifest {
            version: version.to_string(),
            files: files
                .iter()
                .map(|f| ManifestFile {
                    path: f.path.clone(),
                    size: f.size as u64,
                    sha256: f.sha256.map(|h| hex(&h)).unwrap_or_default(),
                    sha1: Some(hex(&f.sha1)),
                    slot: (f.path == ota_agent::layout::APP_IMAGE).then(slot_text),
                    asset: None,
                    deltas: Vec::new(),
                })
                .collect(),
            post_update: None,
            rollback: None,
            git_ref: None,
            commit: None,
            signature: None,
            signatures: Vec::new(),
        }
    }

    /// Where the bytes of `f` are for a manifest at `manifest` listing the
    /// folder `dir`: the image's asset sits beside the manifest, as on a
    /// release; every other file at its path in `dir`.
    pub fn location(&self, f: &ManifestFile, dir: &Path, manifest: &Path) -> std::path::PathBuf {
        match &f.asset {
            Some(a) => manifest.parent().unwrap_or(Path::new(".")).join(a),
            None => dir.join(&f.path),
        }
    }

    /// Pretty JSON with a final newline, fields in a fixed order.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_manifest_reads_as_is() {
        let seed = br#"{"version": "v1.0.0",
            "files": [{"path": "lib/util.py", "sha256": "aa00000000000000000000000000000000000000000000000000000000000011", "size": 12}],
            "post_update": "hooks/post.py", "rollback": "hooks/rollback.py", "signature": "00ff"}"#;
        let m = Manifest::parse("manifest.json", seed).unwrap();
        assert_eq!(m.version, "v1.0.0");
        assert_eq!(m.files[0].sha1, None);
        assert_eq!(m.post_update.as_deref(), Some("hooks/post.py"));
        let h = m.hashes("manifest.json", &m.files[0]).unwrap();
        assert_eq!(h.sha256[0], 0xaa);
    }

    #[test]
    fn bad_paths_and_digests_are_refused_with_the_file_named() {
        let e = Manifest::parse(
            "m.json",
            br#"{"version":"1","files":[{"path":"../x","size":1,"sha256":"00"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("m.json") && e.contains("../x"), "{e}");
    }
}
