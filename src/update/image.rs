//! The application image of an update: the slot image of `--app` kept in
//! the host's cache, an image-only tree that keeps the device's files, the
//! image a files-only update carries over, the delta against the image the
//! device runs, and what a push does to the slot.

use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};
use sha2::Digest;

use crate::bundle::{Bundle, BundleFile};
use crate::cache::Cache;
use crate::device::agent::client::ImageStatus;
use crate::device::agent::push::Patch;
use crate::device::{DeviceFile, DeviceInfo};
use crate::exit::{fail, Kind};
use crate::progress::human_bytes;

/// The slot image of `--app`, kept in the host's blob cache: the next push
/// of another build finds it there and counts the sectors that differ.
pub fn app_image_file(elf: Option<&Path>) -> Result<Option<BundleFile>> {
    let Some(elf) = elf else {
        return Ok(None);
    };
    let bytes = crate::app_image::from_file(elf)?;
    let cache = Cache::new(Cache::default_root());
    let cached = || -> std::io::Result<std::path::PathBuf> {
        let part = cache.temp_blob()?;
        std::fs::write(&part, &bytes)?;
        let sha1 = crate::bundle::git_blob_sha1(&bytes);
        let at = cache.blob(&sha1);
        std::fs::rename(&part, &at)?;
        Ok(at)
    };
    let at = cached().map_err(|e| {
        fail(
            Kind::Source,
            format!(
                "{}: the image could not be kept: {e}",
                cache.root().display()
            ),
        )
    })?;
    let file = crate::bundle::verify_file(
        ota_agent::layout::APP_IMAGE,
        &at,
        crate::bundle::Expect::default(),
        true,
    )?;
    Ok(Some(file))
}

/// The device's image from the host's cache, by the Git blob SHA-1 the
/// device lists: only when the cached bytes hash to it.
fn cached_image(sha1: &str) -> Option<Vec<u8>> {
    let cache = Cache::new(Cache::default_root());
    let old = std::fs::read(cache.blob(&crate::bundle::from_hex(sha1)?)).ok()?;
    (crate::bundle::hex(&crate::bundle::git_blob_sha1(&old)) == sha1).then_some(old)
}

/// The patch that turns the image the device's slot runs into the
/// update's, when the device takes patches (protocol 1.6), its slot holds
/// its active tree's image, that image is in the host's cache, the device
/// holds the new image nowhere (in either tree, it is reused, not sent) and
/// the patch is smaller than the image.
pub fn delta_for(
    bundle: &Bundle,
    (active, previous): (&[DeviceFile], &[DeviceFile]),
    before: &DeviceInfo,
) -> Option<Patch> {
    if !takes_patches(&before.protocol) || before.micropython() {
        return None;
    }
    if before.image != ImageStatus::Installed {
        return None;
    }
    let img = bundle.app_image()?;
    let on_device = active
        .iter()
        .find(|f| f.path == ota_agent::layout::APP_IMAGE)?;
    let sha1 = crate::bundle::hex(&img.sha1);
    if active.iter().chain(previous).any(|f| f.sha1 == sha1) {
        return None;
    }
    let Some(old) = cached_image(&on_device.sha1) else {
        return release_patch(bundle, &img.path, &on_device.sha1);
    };
    let new = std::fs::read(img.location()).ok()?;
    let bytes = ota_delta::make(&old, &new);
    (bytes.len() < new.len()).then(|| Patch {
        path: img.path.clone(),
        base_size: old.len() as u32,
        base_sha256: sha2::Sha256::digest(&old).into(),
        bytes,
        from_release: false,
    })
}

/// The patch the update's release published from the image the device
/// runs (Git blob SHA-1 `from_sha1`), for a host that never held that image.
fn release_patch(bundle: &Bundle, path: &str, from_sha1: &str) -> Option<Patch> {
    let p = bundle
        .release_patches
        .iter()
        .find(|p| p.from_sha1 == from_sha1)?;
    Some(Patch {
        path: path.to_string(),
        base_size: p.from_size,
        base_sha256: p.from_sha256,
        bytes: p.bytes.clone(),
        from_release: true,
    })
}

/// Whether an agent of this protocol version ("1.6") takes Patch: 1.6 on.
/// An older one is sent the whole image, without being asked.
fn takes_patches(protocol: &str) -> bool {
    let minor = protocol
        .strip_prefix("1.")
        .and_then(|m| m.parse::<u16>().ok());
    minor.is_some_and(|m| m >= 6)
}

/// The slot sectors whose bytes differ, which are all the agent rewrites, when
/// the device's image is in the host's cache: (bytes of the new image in
/// them, how many, of how many). The last sector may hold less than 4 KiB.
fn changed_sectors(old_sha1: &str, new: &BundleFile) -> Option<(usize, usize, usize)> {
    let old = cached_image(old_sha1)?;
    let new = std::fs::read(new.location()).ok()?;
    let sector = ota_agent::layout::SECTOR as usize;
    fn at(b: &[u8], i: usize, sector: usize) -> &[u8] {
        b.get(i * sector..((i + 1) * sector).min(b.len()))
            .unwrap_or(&[])
    }
    let sectors = new.len().div_ceil(sector);
    let changed: Vec<usize> = (0..sectors)
        .filter(|&i| at(&old, i, sector) != at(&new, i, sector))
        .collect();
    let bytes = changed.iter().map(|&i| at(&new, i, sector).len()).sum();
    Some((bytes, changed.len(), sectors))
}

/// A files-only update for a device whose tree carries an application image
/// keeps that image (reused, nothing sent): the image and the files it reads
/// stay one tree. A signed release names its own image, or none.
pub fn carry_image(bundle: &Bundle, active: &[DeviceFile]) -> Option<Bundle> {
    if bundle.app_image().is_some() || bundle.tree_signature.is_some() {
        return None;
    }
    let f = active
        .iter()
        .find(|f| f.path == ota_agent::layout::APP_IMAGE)?;
    Some(bundle.with_file(kept(f)?))
}

/// A file of the device's tree, joining the new tree as it is (reused).
fn kept(f: &DeviceFile) -> Option<BundleFile> {
    let sha1 = crate::bundle::from_hex(&f.sha1)?;
    let sha256 = f.sha256.as_deref().and_then(crate::bundle::from_hex);
    Some(BundleFile::on_device(&f.path, f.size, sha1, sha256))
}

/// `--app` without `--dir`: the device's files as they are, with the new
/// image. Only the image travels; the version says which image it is.
pub fn image_only(
    image: &Bundle,
    before: &DeviceInfo,
    active: &[DeviceFile],
    version: Option<&str>,
) -> Result<Bundle> {
    let (Some(tree), Some(img)) = (before.active.as_ref(), image.app_image()) else {
        return Err(fail(
            Kind::Refused,
            "the device holds no tree to keep the files of: push the files with the image (--dir DIR --app ELF)",
        ));
    };
    let mut files = vec![img.clone()];
    for f in active
        .iter()
        .filter(|f| f.path != ota_agent::layout::APP_IMAGE)
    {
        files.push(kept(f).ok_or_else(|| {
            fail(
                Kind::Device,
                format!("{}: the device lists a bad SHA-1", f.path),
            )
        })?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let id = Bundle::tree_id(&files);
    let version = match version {
        Some(v) => v.to_string(),
        None => image_version(&tree.version, &crate::bundle::hex(&img.sha1)),
    };
    Bundle::new(version, tree.git_ref.clone(), id, files)
}

/// `v1.2.0` with image `1a2b3c4…` is `v1.2.0+app.1a2b3c4`, within the 32
/// bytes a device keeps; an earlier image suffix is replaced.
fn image_version(files_version: &str, image_sha1: &str) -> String {
    let suffix = format!("+app.{}", &image_sha1[..7]);
    let base = files_version.split("+app.").next().unwrap_or("");
    let mut end = base
        .len()
        .min(ota_agent::layout::MAX_VERSION - suffix.len());
    while !base.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{suffix}", &base[..end])
}

/// The device's active tree already carries this image.
pub fn same_image(bundle: &Bundle, active: &[DeviceFile]) -> bool {
    let Some(img) = bundle.app_image() else {
        return false;
    };
    active
        .iter()
        .any(|f| f.path == ota_agent::layout::APP_IMAGE && f.sha1 == crate::bundle::hex(&img.sha1))
}

/// What the push does to the application image, in one clause (`delta`:
/// the patch that travels in its place, if any).
pub fn image_line(
    bundle: &Bundle,
    active: &[DeviceFile],
    delta: Option<&Patch>,
) -> Option<(String, Value)> {
    let img = bundle.app_image()?;
    let on_device = active
        .iter()
        .find(|f| f.path == ota_agent::layout::APP_IMAGE);
    let same = on_device.is_some_and(|f| f.sha1 == crate::bundle::hex(&img.sha1));
    let sectors = on_device
        .filter(|_| !same)
        .and_then(|old| changed_sectors(&old.sha1, img));
    let (state, text) = match on_device {
        Some(_) if same => ("unchanged", "unchanged".to_string()),
        Some(_) => (
            "changed",
            match (sectors, delta) {
                (Some((_, n, of)), Some(d)) => format!(
                    "delta {} for {} ({n} of {of} slot sectors to rewrite)",
                    human_bytes(d.bytes.len() as u64),
                    human_bytes(img.size as u64)
                ),
                (Some((bytes, n, of)), None) => format!(
                    "{} of {} changed ({n} of {of} slot sectors to rewrite)",
                    human_bytes(bytes as u64),
                    human_bytes(img.size as u64)
                ),
                (None, Some(d)) => format!(
                    "delta {} for {} (the release's patch from the image the board runs)",
                    human_bytes(d.bytes.len() as u64),
                    human_bytes(img.size as u64)
                ),
                (None, None) => format!(
                    "new build, {}; the agent rewrites only the slot sectors that differ",
                    human_bytes(img.size as u64)
                ),
            },
        ),
        None => ("new", format!("new, {}", human_bytes(img.size as u64))),
    };
    Some((
        format!("application image: {text}"),
        json!({
            "state": state,
            "bytes": img.size,
            "sha1": crate::bundle::hex(&img.sha1),
            "sectors_changed": sectors.map(|s| s.1),
            "bytes_changed": sectors.map(|s| s.0),
            "delta_bytes": delta.map(|d| d.bytes.len()),
            "delta_from": delta.map(|d| if d.from_release { "release" } else { "host" }),
            "sectors": img.size.div_ceil(ota_agent::layout::SECTOR),
        }),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_agents_of_protocol_1_6_on_take_patches() {
        for (version, takes) in [
            ("1.5", false),
            ("1.2", false),
            ("1.6", true),
            ("1.12", true),
        ] {
            assert_eq!(super::takes_patches(version), takes, "{version}");
        }
        for version in ["2.0", "", "1", "1.x"] {
            assert!(!super::takes_patches(version), "{version}");
        }
    }
}
