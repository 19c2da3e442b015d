//! The host's cache, in the user's cache folder: verified blobs by Git
//! SHA-1, and GitHub API answers with their ETags for conditional requests.
//!
//! A blob enters the cache only after it matched its hashes, by an atomic
//! rename, and is hashed again whenever it is used: a damaged cache can cost
//! a download, never a bad file on a device.

use std::path::{Path, PathBuf};

use crate::bundle::{hex, Sha1};

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// `OTA_CACHE_DIR`, else `$XDG_CACHE_HOME/ota`, else `~/.cache/ota`
    /// (`%LOCALAPPDATA%\ota` on Windows).
    pub fn default_root() -> PathBuf {
        if let Some(d) = std::env::var_os("OTA_CACHE_DIR") {
            return PathBuf::from(d);
        }
        if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
            return PathBuf::from(d).join("ota");
        }
        if let Some(d) = std::env::var_os("LOCALAPPDATA") {
            return PathBuf::from(d).join("ota");
        }
        match std::env::var_os("HOME") {
            Some(h) => PathBuf::from(h).join(".cache").join("ota"),
            None => std::env::temp_dir().join("ota-cache"),
        }
    }

    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob(&self, sha1: &Sha1) -> PathBuf {
        self.root.join("blobs").join(hex(sha1))
    }

    pub fn has_blob(&self, sha1: &Sha1) -> bool {
        self.blob(sha1).is_file()
    }

    /// A fresh temporary path in the blob folder (same file system, so the
    /// final rename is atomic).
    pub fn temp_blob(&self) -> std::io::Result<PathBuf> {
        let dir = self.root.join("blobs");
        std::fs::create_dir_all(&dir)?;
        Ok(dir.join(format!(".part-{}-{}", std::process::id(), unique())))
    }

    /// Removes what killed runs left: partial blobs (`.part-PID-N`) and
    /// `--no-cache` download folders (`tmp/PID-COMMIT`) of processes that
    /// are gone, or untouched for longer than any download may take.
    pub fn clean_stale(&self) -> usize {
        let mut removed = 0;
        for (dir, prefix) in [
            (self.root.join("blobs"), ".part-"),
            (self.root.join("tmp"), ""),
        ] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(rest) = name.strip_prefix(prefix) else {
                    continue;
                };
                let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > STALE_AFTER);
                if pid.is_some_and(|p| p != std::process::id() && !process_alive(p)) || old {
                    let p = e.path();
                    let gone = if p.is_dir() {
                        std::fs::remove_dir_all(&p)
                    } else {
                        std::fs::remove_file(&p)
                    };
                    removed += gone.is_ok() as usize;
                }
            }
        }
        removed
    }

    /// The stored answer to a GET of `url`: (etag, body).
    pub fn api_answer(&self, url: &str) -> Option<(String, Vec<u8>)> {
        let text = std::fs::read(self.api_path(url)).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
        let etag = v["etag"].as_str()?.to_string();
        let body = v["body"].as_str()?.as_bytes().to_vec();
        Some((etag, body))
    }

    pub fn store_api_answer(&self, url: &str, etag: &str, body: &[u8]) {
        let Ok(body) = std::str::from_utf8(body) else {
            return;
        };
        let doc = serde_json::json!({ "url": url, "etag": etag, "body": body });
        let path = self.api_path(url);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let tmp = path.with_extension(format!("part-{}", unique()));
        if std::fs::write(&tmp, doc.to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }

    fn api_path(&self, url: &str) -> PathBuf {
        use sha1::Digest;
        self.root
            .join("api")
            .join(hex(&sha1::Sha1::digest(url.as_bytes())))
    }
}

/// Longer than any download may last (its silence and total are bounded
/// far below this): a partial file this old belongs to no running ota.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Whether process `pid` still runs; where that cannot be known, assume it does.
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    t ^ NEXT.fetch_add(1, Ordering::Relaxed).rotate_left(48)
}
