//! A verified tree on the host: every file's bytes on disk, hashed, ready to
//! stream. A `Bundle` can only be built from files that were hashed here, so
//! unverified bytes cannot reach a device by accident.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha1::Digest;

use crate::exit::{fail, Kind};

pub type Sha1 = [u8; 20];
pub type Sha256 = [u8; 32];

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn from_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    // from_str_radix takes a leading `+`: only hex digits are a digest.
    if s.len() != 2 * N || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// One file of a bundle; its hashes were computed from the bytes at `location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    pub path: String,
    pub size: u32,
    pub sha1: Sha1,
    /// The SHA-256 the source listed (a manifest), or that was asked for.
    pub sha256: Option<Sha256>,
    /// The SHA-256 of the bytes hashed here, whatever the source listed: a
    /// board that verifies with SHA-256 only gets it for any source.
    pub sha256_of_bytes: Option<Sha256>,
    location: PathBuf,
}

impl BundleFile {
    /// A file the device already holds (same Git blob SHA-1): it joins the
    /// tree without bytes of its own here, since the agent reuses it.
    pub fn on_device(path: &str, size: u32, sha1: Sha1, sha256: Option<Sha256>) -> BundleFile {
        BundleFile {
            path: path.to_string(),
            size,
            sha1,
            sha256,
            sha256_of_bytes: sha256,
            location: PathBuf::new(),
        }
    }

    pub fn location(&self) -> &Path {
        &self.location
    }

    pub fn open(&self) -> std::io::Result<File> {
        File::open(&self.location)
    }
}

/// What was expected of a file, from a Git tree or a manifest.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expect {
    pub size: Option<u64>,
    pub sha1: Option<Sha1>,
    pub sha256: Option<Sha256>,
}

/// The Git blob SHA-1 of bytes in memory (what `verify_file` computes of a file).
pub fn git_blob_sha1(bytes: &[u8]) -> Sha1 {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    h.finalize().into()
}

/// Hashes the file at `location` (streaming, constant memory) and checks it
/// against `expect`. The error names the file and both hashes.
pub fn verify_file(
    path: &str,
    location: &Path,
    expect: Expect,
    with_sha256: bool,
) -> anyhow::Result<BundleFile> {
    let mut f = File::open(location).map_err(|e| {
        fail(
            Kind::Source,
            format!("{path}: cannot read {}: {e}", location.display()),
        )
    })?;
    let size = f.metadata()?.len();
    if size > u32::MAX as u64 {
        return Err(fail(
            Kind::Source,
            format!("{path}: {size} bytes is larger than a device file can be"),
        ));
    }
    if let Some(want) = expect.size {
        if want != size {
            return Err(fail(
                Kind::Verify,
                format!("{path}: expected {want} bytes, got {size}"),
            ));
        }
    }
    let mut sha1 = sha1::Sha1::new();
    sha1.update(format!("blob {size}\0").as_bytes());
    let mut sha256 = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut seen = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        seen += n as u64;
        sha1.update(&buf[..n]);
        sha256.update(&buf[..n]);
    }
    if seen != size {
        return Err(fail(
            Kind::Source,
            format!("{path}: file changed while it was read"),
        ));
    }
    let sha1: Sha1 = sha1.finalize().into();
    let got256: Sha256 = sha256.finalize().into();
    if let Some(want) = expect.sha1 {
        if want != sha1 {
            return Err(fail(
                Kind::Verify,
                format!("{path}: expected SHA-1 {}, got {}", hex(&want), hex(&sha1)),
            ));
        }
    }
    if let Some(want) = expect.sha256 {
        if want != got256 {
            return Err(fail(
                Kind::Verify,
                format!(
                    "{path}: expected SHA-256 {}, got {}",
                    hex(&want),
                    hex(&got256)
                ),
            ));
        }
    }
    Ok(BundleFile {
        path: path.to_string(),
        size: size as u32,
        sha1,
        sha256: (with_sha256 || expect.sha256.is_some()).then_some(got256),
        sha256_of_bytes: Some(got256),
        location: location.to_path_buf(),
    })
}

/// Checks what the device will record about a tree against what its store
/// keeps (32-byte version, 64-byte ref and commit), before anything is downloaded.
pub fn check_identity(version: &str, git_ref: &str, commit: &str) -> anyhow::Result<()> {
    use ota_agent::layout::{MAX_COMMIT, MAX_REF, MAX_VERSION};
    for (what, value, max) in [
        ("version", version, MAX_VERSION),
        ("ref", git_ref, MAX_REF),
        ("commit", commit, MAX_COMMIT),
    ] {
        if value.len() > max {
            return Err(fail(
                Kind::Source,
                format!(
                    "{what} `{:.80}` is {} bytes; a device records at most {max}",
                    crate::terminal::escape(value),
                    value.len()
                ),
            ));
        }
        if crate::terminal::escape(value) != value {
            return Err(fail(
                Kind::Source,
                format!(
                    "{what} `{}` holds control characters; a device records printable text only",
                    crate::terminal::escape(value)
                ),
            ));
        }
    }
    Ok(())
}

/// The path rule every tree obeys, whatever its source (see
/// `ota_agent::paths`): the offending path named, and the one it clashes with.
pub fn check_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> anyhow::Result<()> {
    ota_agent::paths::check_tree(paths).map_err(|(path, why)| {
        use crate::terminal::escape;
        let why = match why {
            ota_agent::paths::PathProblem::Invalid(e) => e.as_str().to_string(),
            ota_agent::paths::PathProblem::Conflict(ota_agent::paths::Conflict::Duplicate, _) => {
                "listed twice".to_string()
            }
            ota_agent::paths::PathProblem::Conflict(c, other) => {
                format!("{} {}", c.as_str(), escape(other))
            }
        };
        fail(Kind::Source, format!("{}: {why}", escape(path)))
    })
}

/// A verified tree and what it is.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub version: String,
    pub git_ref: String,
    pub commit: String,
    pub post_update: Option<String>,
    pub rollback: Option<String>,
    /// Ed25519 signature over the tree digest, for agents provisioned with release keys.
    pub tree_signature: Option<[u8; 64]>,
    /// What the source had but the bundle leaves out (symbolic links), to tell the user.
    pub skipped: Vec<String>,
    /// Patches to the tree's image that its release published, each checked
    /// against the hash the manifest lists for it.
    pub release_patches: Vec<ReleasePatch>,
    files: Vec<BundleFile>,
}

/// A release's patch from an earlier image (Git blob SHA-1 `from_sha1`, in
/// hex) to the tree's: the agent checks its result against the image's hash.
#[derive(Debug, Clone)]
pub struct ReleasePatch {
    pub from_sha1: String,
    pub from_size: u32,
    pub from_sha256: Sha256,
    pub bytes: Vec<u8>,
}

impl Bundle {
    /// Files sorted by path; duplicate paths and bad paths are refused.
    pub fn new(
        version: String,
        git_ref: String,
        commit: String,
        mut files: Vec<BundleFile>,
    ) -> anyhow::Result<Bundle> {
        check_identity(&version, &git_ref, &commit)?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        check_paths(files.iter().map(|f| f.path.as_str()))?;
        if files.len() > ota_agent::layout::MAX_ENTRIES {
            return Err(fail(
                Kind::Source,
                format!(
                    "{} files: the agent holds at most {}",
                    files.len(),
                    ota_agent::layout::MAX_ENTRIES
                ),
            ));
        }
        Ok(Bundle {
            version,
            git_ref,
            commit,
            post_update: None,
            rollback: None,
            tree_signature: None,
            skipped: Vec::new(),
            release_patches: Vec::new(),
            files,
        })
    }

    pub fn files(&self) -> &[BundleFile] {
        &self.files
    }

    /// The same tree with one more file (kept sorted by path).
    pub fn with_file(&self, f: BundleFile) -> Bundle {
        let mut b = self.clone();
        b.files.push(f);
        b.files.sort_by(|a, b| a.path.cmp(&b.path));
        b
    }

    /// The tree's application image, if it carries one.
    pub fn app_image(&self) -> Option<&BundleFile> {
        self.files
            .iter()
            .find(|f| f.path == ota_agent::layout::APP_IMAGE)
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size as u64).sum()
    }

    /// A content id of the tree: SHA-1 over sorted (path, blob SHA-1) pairs.
    pub fn tree_id(files: &[BundleFile]) -> String {
        let mut h = sha1::Sha1::new();
        for f in files {
            h.update(f.path.as_bytes());
            h.update([0]);
            h.update(f.sha1);
        }
        hex(&h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let b = [0u8, 1, 0xab, 0xff];
        assert_eq!(hex(&b), "0001abff");
        assert_eq!(from_hex::<4>("0001abff"), Some(b));
        assert_eq!(from_hex::<4>("0001abf"), None);
        assert_eq!(from_hex::<4>("+001abff"), None);
        assert_eq!(from_hex::<4>("0001ab-f"), None);
    }

    #[test]
    fn wrong_bytes_name_the_file_and_both_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("util.py");
        std::fs::write(&p, b"print(2)\n").unwrap();
        let want = [0x11; 20];
        let e = verify_file(
            "lib/util.py",
            &p,
            Expect {
                sha1: Some(want),
                ..Default::default()
            },
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("lib/util.py: expected SHA-1 1111"), "{e}");
        assert!(e.contains(", got "), "{e}");
    }

    #[test]
    fn git_blob_sha1_of_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty");
        std::fs::write(&p, b"").unwrap();
        let f = verify_file("empty", &p, Expect::default(), false).unwrap();
        assert_eq!(hex(&f.sha1), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    }
}
