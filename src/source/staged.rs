//! A staged update: a folder of verified files plus a `manifest.json` with
//! each file's size, Git blob SHA-1 and SHA-256, and the source's ref and
//! commit. `ota stage` writes one; `ota push --staged` verifies it again
//! before anything reaches a device (the folder may have travelled).

use std::path::{Path, PathBuf};

use crate::bundle::{verify_file, Bundle, BundleFile, Expect, ReleasePatch};
use crate::exit::{fail, Kind};
use crate::filter::Filter;
use crate::manifest::Manifest;

pub const MANIFEST: &str = "manifest.json";
/// Marks a folder `ota stage` wrote, and so may replace.
pub const MARKER: &str = ".ota-stage";
/// The release's manifest.json as published, kept for its signatures.
pub const SIGNED: &str = "signed-manifest.json";

/// Writes `bundle` into `out` (replacing a previous stage there). The folder
/// appears whole or not at all: it is built beside `out` and renamed.
pub fn write(
    bundle: &Bundle,
    out: &Path,
    signed: Option<&[u8]>,
) -> anyhow::Result<Vec<BundleFile>> {
    check_replaceable(out)?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| fail(Kind::Source, format!("{}: {e}", parent.display())))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stage".into());
    let tmp: PathBuf = parent.join(format!(".{name}.part-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    match fill(bundle, &tmp, signed) {
        Ok(staged) => {
            if out.exists() {
                std::fs::remove_dir_all(out)
                    .map_err(|e| fail(Kind::Source, format!("{}: {e}", out.display())))?;
            }
            std::fs::rename(&tmp, out)
                .map_err(|e| fail(Kind::Source, format!("{}: {e}", out.display())))?;
            Ok(staged)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

/// Only a folder that ota staged (it carries the marker) is ever replaced:
/// never the current folder, one of its parents, or a project that merely
/// has a manifest.json.
fn check_replaceable(out: &Path) -> anyhow::Result<()> {
    let here = std::env::current_dir()
        .ok()
        .and_then(|d| d.canonicalize().ok());
    let target = out.canonicalize().ok();
    if let (Some(here), Some(target)) = (&here, &target) {
        if here.starts_with(target) {
            return Err(fail(
                Kind::Config,
                format!(
                    "{}: is the current folder or one of its parents; choose another --out",
                    out.display()
                ),
            ));
        }
    }
    let empty = std::fs::read_dir(out)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true);
    if out.exists() && !out.join(MARKER).is_file() && !empty {
        return Err(fail(
            Kind::Config,
            format!(
                "{}: exists and is not a folder `ota stage` wrote; choose another --out",
                out.display()
            ),
        ));
    }
    Ok(())
}

/// The stage's files, each verified as copied, its manifest, marker and
/// the release's signed manifest, written into `tmp`.
fn fill(bundle: &Bundle, tmp: &Path, signed: Option<&[u8]>) -> anyhow::Result<Vec<BundleFile>> {
    let mut staged = Vec::new();
    for f in bundle.files() {
        let dest = tmp.join(&f.path);
        if let Some(d) = dest.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::copy(f.location(), &dest)
            .map_err(|e| fail(Kind::Source, format!("{}: {e}", dest.display())))?;
        let expect = Expect {
            size: Some(f.size as u64),
            sha1: Some(f.sha1),
            sha256: f.sha256,
        };
        staged.push(verify_file(&f.path, &dest, expect, true)?);
    }
    let mut m = Manifest::of_files(&bundle.version, &staged);
    m.git_ref = Some(bundle.git_ref.clone());
    m.commit = Some(bundle.commit.clone());
    m.post_update = bundle.post_update.clone();
    m.rollback = bundle.rollback.clone();
    std::fs::write(tmp.join(MANIFEST), m.to_json())?;
    std::fs::write(
        tmp.join(MARKER),
        "written by `ota stage`; `ota stage` may replace this folder\n",
    )?;
    if let Some(raw) = signed {
        std::fs::write(tmp.join(SIGNED), raw)?;
    }
    Ok(staged)
}

/// Reads a staged folder, verifying every file against its manifest.
pub fn load(dir: &Path, filter: &Filter) -> anyhow::Result<Bundle> {
    check_is_stage(dir)?;
    load_listed(dir, &dir.join(MANIFEST), filter)
}

/// The files of `dir` that `manifest` lists (a release signed with `ota
/// manifest sign`), each verified against its size and hashes; what the
/// manifest does not list is left out.
pub fn load_listed(dir: &Path, manifest: &Path, filter: &Filter) -> anyhow::Result<Bundle> {
    if !dir.is_dir() {
        return Err(fail(
            Kind::Source,
            format!("{}: not a folder", dir.display()),
        ));
    }
    let m = Manifest::read(manifest)?;
    let name = manifest.display().to_string();
    let mut files = Vec::new();
    for f in m.files.iter().filter(|f| filter.keeps(&f.path)) {
        let h = m.hashes(&name, f)?;
        let expect = Expect {
            size: Some(h.size),
            sha1: h.sha1,
            sha256: Some(h.sha256),
        };
        files.push(verify_file(
            &f.path,
            &m.location(f, dir, manifest),
            expect,
            true,
        )?);
    }
    let git_ref = m.git_ref.clone().unwrap_or_else(|| "staged".into());
    let commit = m.commit.clone().unwrap_or_else(|| Bundle::tree_id(&files));
    let mut bundle = Bundle::new(m.version.clone(), git_ref, commit, files)?;
    bundle.release_patches = patches_beside(&m, manifest)?;
    bundle.post_update = m.post_update;
    bundle.rollback = m.rollback;
    Ok(bundle)
}

/// The image's patches that sit beside the manifest (as `ota manifest gen
/// --delta-from` wrote them), each checked against its listed size and
/// SHA-256; one that is not there is left out (a stage keeps none).
fn patches_beside(m: &Manifest, manifest: &Path) -> anyhow::Result<Vec<ReleasePatch>> {
    let Some(img) = m.image_entry() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for d in &img.deltas {
        let at = manifest.parent().unwrap_or(Path::new(".")).join(&d.asset);
        let Ok(bytes) = std::fs::read(&at) else {
            continue;
        };
        let size = bytes.len();
        out.push(d.take(bytes).ok_or_else(|| {
            fail(
                Kind::Verify,
                format!(
                    "{}: {size} bytes that do not match the size ({}) and SHA-256 {} lists for it",
                    at.display(),
                    d.size,
                    manifest.display()
                ),
            )
        })?);
    }
    Ok(out)
}

/// A folder `ota stage` did not write is named as such, with the two ways on.
pub fn check_is_stage(dir: &Path) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Err(fail(
            Kind::Source,
            format!("{}: not a folder", dir.display()),
        ));
    }
    if !dir.join(MANIFEST).is_file() {
        return Err(fail(
            Kind::Source,
            format!(
                "{}: not a folder written by `ota stage` (it has no {MANIFEST}); push a plain folder with --dir, or a signed one with --dir and --manifest",
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// The published manifest kept by `ota stage`, if the release had one.
pub fn signed_manifest(dir: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    check_is_stage(dir)?;
    let p = dir.join(SIGNED);
    if !p.exists() {
        return Ok(None);
    }
    crate::manifest::read_capped(&p).map(Some)
}

/// Every staged file must be one the signed manifest lists, with its size and SHA-256.
pub fn check_against(bundle: &Bundle, signed: &[u8]) -> anyhow::Result<()> {
    let m = Manifest::parse(SIGNED, signed)?;
    for f in bundle.files() {
        let listed = m.files.iter().find(|s| s.path == f.path);
        let ok = listed.is_some_and(|s| {
            s.size == f.size as u64
                && m.hashes(SIGNED, s)
                    .is_ok_and(|h| Some(h.sha256) == f.sha256)
        });
        if !ok {
            return Err(fail(
                Kind::Verify,
                format!("{}: not as the signed manifest lists it", f.path),
            ));
        }
    }
    if bundle.post_update != m.post_update || bundle.rollback != m.rollback {
        return Err(fail(
            Kind::Verify,
            "staged hooks (post_update, rollback) are not the signed manifest's",
        ));
    }
    if bundle.version != m.version {
        return Err(fail(
            Kind::Verify,
            format!(
                "staged version {} is not the signed {}",
                bundle.version, m.version
            ),
        ));
    }
    Ok(())
}
