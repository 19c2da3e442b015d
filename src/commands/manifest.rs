//! `ota manifest gen | verify | sign` and `ota keygen`: what release
//! engineers run in CI to publish updates that devices will accept.

use std::path::{Component, Path, PathBuf};

use anyhow::Result;
use serde_json::{json, Value};

use super::{print_json, print_line, Ctx};
use crate::bundle::{verify_file, BundleFile, Expect};
use crate::cli::{ManifestGenArgs, ManifestSignArgs, ManifestVerifyArgs};
use crate::exit::{fail, Kind};
use crate::manifest::Manifest;
use crate::signing::{self, SecretKey};
use crate::source::dir;

/// `a/./b/` → `a/b`; refuses absolute paths and `..`.
fn normalize(p: &str) -> Result<String> {
    let mut parts = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(s) => parts.push(
                s.to_str()
                    .ok_or_else(|| fail(Kind::Config, format!("{p}: not UTF-8")))?
                    .to_string(),
            ),
            Component::CurDir => {}
            _ => {
                return Err(fail(
                    Kind::Config,
                    format!("{p}: paths must be relative to --root, without `..`"),
                ))
            }
        }
    }
    Ok(parts.join("/"))
}

pub fn gen(ctx: &Ctx, args: &ManifestGenArgs) -> Result<()> {
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut paths = listed_paths(ctx, args, &root)?;
    let image = match &args.app {
        Some(app) => Some(write_image(ctx, args, app)?),
        None => None,
    };
    if let Some(written) = image
        .as_ref()
        .and_then(|f| f.location().canonicalize().ok())
    {
        // A second run must not list the image it wrote as one of the files.
        paths.retain(|p| root.join(p).canonicalize().ok().as_ref() != Some(&written));
    }
    let (mut paths, links) = dir::split_symlinks(paths);
    for l in links {
        ctx.ui
            .say(&format!("skipped {l}: a symbolic link (never followed)"));
    }
    paths.sort();
    paths.dedup();
    let mut files = Vec::with_capacity(paths.len());
    for p in &paths {
        files.push(verify_file(p, &root.join(p), Expect::default(), true)?);
    }
    files.extend(image);
    let mut m = manifest_of(args, &files, &paths)?;
    if let Some(img) = files
        .iter()
        .find(|f| f.path == ota_agent::layout::APP_IMAGE)
    {
        let deltas = write_deltas(ctx, args, img)?;
        if let Some(e) = m.files.iter_mut().find(|f| f.path == img.path) {
            e.deltas = deltas;
        }
    }
    let text = m.to_json();
    if args.out.as_os_str() == "-" {
        print!("{text}");
        return Ok(());
    }
    write_atomic(&args.out, text.as_bytes())?;
    ctx.ui.say(&format!(
        "{}: {} files, version {}",
        args.out.display(),
        files.len(),
        args.version
    ));
    Ok(())
}

/// The paths the arguments name under `root`, folders walked through the config's filter.
fn listed_paths(ctx: &Ctx, args: &ManifestGenArgs, root: &Path) -> Result<Vec<String>> {
    let mut paths = Vec::new();
    for p in &args.paths {
        let rel = normalize(p)?;
        let full = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        if full.is_dir() {
            dir::walk(&full, &rel, &ctx.config.filter, &mut paths)?;
        } else if full.is_file() {
            if ctx.config.filter.keeps(&rel) {
                paths.push(rel);
            }
        } else {
            return Err(fail(
                Kind::Source,
                format!("{}: no such file or folder", full.display()),
            ));
        }
    }
    Ok(paths)
}

/// The manifest of `files`, with the image's asset, the hooks (each one of
/// `paths`) and the ref and commit the arguments name.
fn manifest_of(args: &ManifestGenArgs, files: &[BundleFile], paths: &[String]) -> Result<Manifest> {
    let mut m = Manifest::of_files(&args.version, files);
    for f in &mut m.files {
        if f.path == ota_agent::layout::APP_IMAGE {
            f.asset = Some(args.app_asset.clone());
        }
    }
    // The same checks as every reader of the manifest: a bad asset name is found now.
    Manifest::parse(&args.out.display().to_string(), m.to_json().as_bytes())?;
    for (hook, name) in [
        (&args.post_update, "--post-update"),
        (&args.rollback, "--rollback"),
    ] {
        if let Some(h) = hook {
            let h = normalize(h)?;
            if !paths.contains(&h) {
                return Err(fail(
                    Kind::Config,
                    format!("{name} {h}: not one of the files in the manifest"),
                ));
            }
        }
    }
    m.git_ref = args.git_ref.clone();
    m.commit = args.commit.clone();
    m.post_update = args.post_update.as_deref().map(normalize).transpose()?;
    m.rollback = args.rollback.as_deref().map(normalize).transpose()?;
    Ok(m)
}

/// The slot image of `--app`, written beside the manifest (in the current
/// folder for `--out -`) under the asset's name, whole or not at all.
fn write_image(ctx: &Ctx, args: &ManifestGenArgs, app: &Path) -> Result<BundleFile> {
    let image = crate::app_image::from_file(app)?;
    let beside = beside_manifest(args);
    std::fs::create_dir_all(beside)
        .map_err(|e| fail(Kind::Config, format!("{}: {e}", beside.display())))?;
    let at = beside.join(&args.app_asset);
    let tmp = at.with_extension("bin.part");
    std::fs::write(&tmp, &image)
        .map_err(|e| fail(Kind::Config, format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &at).map_err(|e| fail(Kind::Config, format!("{}: {e}", at.display())))?;
    ctx.ui.say(&format!(
        "{}: application image, {}; publish it beside the manifest as the asset `{}`",
        at.display(),
        crate::progress::human_bytes(image.len() as u64),
        args.app_asset
    ));
    verify_file(ota_agent::layout::APP_IMAGE, &at, Expect::default(), true)
}

/// The folder the manifest's assets go in: beside it (the current folder
/// for `--out -`).
fn beside_manifest(args: &ManifestGenArgs) -> &Path {
    match args.out.parent() {
        _ if args.out.as_os_str() == "-" => Path::new("."),
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A patch from each `--delta-from` image to the new one, written beside
/// the manifest as `app-from-<its sha1, 12 digits>.patch`, whole or not at all.
fn write_deltas(
    ctx: &Ctx,
    args: &ManifestGenArgs,
    img: &BundleFile,
) -> Result<Vec<crate::manifest::DeltaAsset>> {
    use sha2::Digest;
    let new = std::fs::read(img.location())
        .map_err(|e| fail(Kind::Source, format!("{}: {e}", img.location().display())))?;
    let mut out: Vec<crate::manifest::DeltaAsset> = Vec::new();
    for from in &args.delta_from {
        let old = crate::app_image::from_file(from)?;
        let from_sha1 = crate::bundle::hex(&crate::bundle::git_blob_sha1(&old));
        if from_sha1 == crate::bundle::hex(&img.sha1)
            || out.iter().any(|d| d.from_sha1 == from_sha1)
        {
            ctx.ui.say(&format!(
                "{}: the same image as --app or another --delta-from; no patch for it",
                from.display()
            ));
            continue;
        }
        let patch = ota_delta::make(&old, &new);
        let asset = format!("app-from-{}.patch", &from_sha1[..12]);
        let at = beside_manifest(args).join(&asset);
        write_file(&at, &patch)?;
        ctx.ui.say(&format!(
            "{}: delta from {}, {} for {}; publish it beside the manifest as the asset `{asset}`",
            at.display(),
            from.display(),
            crate::progress::human_bytes(patch.len() as u64),
            crate::progress::human_bytes(new.len() as u64),
        ));
        out.push(crate::manifest::DeltaAsset {
            from_sha1,
            from_sha256: crate::bundle::hex(&sha2::Sha256::digest(&old)),
            from_size: old.len() as u64,
            asset,
            size: patch.len() as u64,
            sha256: crate::bundle::hex(&sha2::Sha256::digest(&patch)),
        });
    }
    Ok(out)
}

/// Writes `bytes` to `path` through a temporary file beside it.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes)
        .map_err(|e| fail(Kind::Config, format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| fail(Kind::Config, format!("{}: {e}", path.display())))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("json.part");
    std::fs::write(&tmp, bytes)
        .map_err(|e| fail(Kind::Config, format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| fail(Kind::Config, format!("{}: {e}", path.display())))?;
    Ok(())
}

fn read_value(path: &Path) -> Result<(Value, Manifest)> {
    let bytes = crate::manifest::read_capped(path)?;
    let name = path.display().to_string();
    let m = Manifest::parse(&name, &bytes)?;
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|e| fail(Kind::Source, format!("{name}: {e}")))?;
    Ok((v, m))
}

pub fn verify(ctx: &Ctx, args: &ManifestVerifyArgs) -> Result<()> {
    let (value, m) = read_value(&args.manifest)?;
    let name = args.manifest.display().to_string();
    let mut problems: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for f in &m.files {
        if !seen.insert(f.path.as_str()) {
            problems.push(format!("{}: listed twice", f.path));
        }
    }
    if let Some(dir) = &args.dir {
        check_files(&m, &name, dir, &args.manifest, &mut problems)?;
    }
    for (hook, label) in [(&m.post_update, "post_update"), (&m.rollback, "rollback")] {
        if let Some(h) = hook {
            if !m.files.iter().any(|f| &f.path == h) {
                problems.push(format!("{label} {h}: not one of the listed files"));
            }
        }
    }
    let keys = crate::update::policy::trusted_keys(&ctx.config, &args.pubkey)?;
    let mut signed_by = None;
    if !keys.is_empty() {
        match signing::verify_ed25519(&value, &keys)? {
            Some(k) => signed_by = Some(k.line()),
            None => problems
                .push("signature: no valid Ed25519 signature by the given key(s)".to_string()),
        }
    }
    let mut hmac_ok = None;
    if let Some(k) = &args.hmac_key {
        let ok = signing::verify_hmac(&value, k)?;
        hmac_ok = Some(ok);
        if !ok {
            problems.push("signature: the HMAC-SHA256 `signature` does not match".to_string());
        }
    }
    if ctx.ui.json {
        print_json(&json!({
            "manifest": name,
            "version": m.version,
            "files": m.files.len(),
            "ok": problems.is_empty(),
            "problems": problems,
            "signed_by": signed_by,
            "hmac_valid": hmac_ok,
        }))?;
    } else {
        for p in &problems {
            print_line(p)?;
        }
        if problems.is_empty() {
            let sig = match (&signed_by, hmac_ok) {
                (Some(k), _) => format!("signed by {k}"),
                (None, Some(true)) => "HMAC signature valid".to_string(),
                _ if m.signatures.is_empty() && m.signature.is_none() => "unsigned".to_string(),
                _ => "signature not checked (give --pubkey or --hmac-key)".to_string(),
            };
            ctx.ui.say(&format!(
                "{name}: version {}, {} files, all good; {sig}",
                m.version,
                m.files.len()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(fail(
            Kind::Verify,
            format!("{name}: {} problem(s) found", problems.len()),
        ))
    }
}

/// Each listed file in `dir` against its size and hashes; what is wrong joins `problems`.
fn check_files(
    m: &Manifest,
    name: &str,
    dir: &Path,
    manifest: &Path,
    problems: &mut Vec<String>,
) -> Result<()> {
    for f in &m.files {
        let h = m.hashes(name, f)?;
        let at = m.location(f, dir, manifest);
        if !at.is_file() {
            problems.push(format!("{}: missing from {}", f.path, dir.display()));
            continue;
        }
        let expect = Expect {
            size: Some(h.size),
            sha1: h.sha1,
            sha256: Some(h.sha256),
        };
        if let Err(e) = verify_file(&f.path, &at, expect, true) {
            problems.push(format!("{e}"));
        }
        check_deltas(f, manifest, problems);
    }
    Ok(())
}

/// Each patch the image entry lists, beside the manifest, against its size and SHA-256.
fn check_deltas(f: &crate::manifest::ManifestFile, manifest: &Path, problems: &mut Vec<String>) {
    for d in &f.deltas {
        let at = manifest.parent().unwrap_or(Path::new(".")).join(&d.asset);
        match std::fs::read(&at).map(|b| d.take(b)) {
            Err(e) => problems.push(format!("{}: delta {}: {e}", f.path, at.display())),
            Ok(None) => problems.push(format!(
                "{}: delta {}: does not match its listed size ({}) and SHA-256",
                f.path,
                at.display(),
                d.size
            )),
            Ok(Some(_)) => {}
        }
    }
}

pub fn sign(ctx: &Ctx, args: &ManifestSignArgs) -> Result<()> {
    let (mut value, m) = read_value(&args.manifest)?;
    if let Some(k) = &args.key {
        let key = SecretKey::read(k)?;
        let tree = signing::sign_ed25519(&mut value, &key)?;
        ctx.ui.say(&format!(
            "signed {} with {}",
            m.version,
            key.public().line()
        ));
        if !tree {
            ctx.ui.say(
                "warning: some files have no sha1, so no signature for devices was made and agents \
                 provisioned with keys will refuse this release; regenerate it with `ota manifest gen`",
            );
        }
    }
    if let Some(k) = &args.hmac_key {
        let sig = signing::hmac_hex(k, &signing::signed_bytes(&value)?);
        value["signature"] = json!(sig);
        ctx.ui
            .say(&format!("added the HMAC-SHA256 signature to {}", m.version));
    }
    let mut text = serde_json::to_string_pretty(&value)?;
    text.push('\n');
    write_atomic(
        args.out.as_deref().unwrap_or(&args.manifest),
        text.as_bytes(),
    )
}

pub fn keygen(ctx: &Ctx, out: &Path) -> Result<()> {
    let key = SecretKey::generate()?;
    let public = PathBuf::from(format!("{}.pub", out.display()));
    for p in [out, public.as_path()] {
        if p.exists() {
            return Err(fail(
                Kind::Config,
                format!("{}: exists; not overwriting a key", p.display()),
            ));
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(out)
        .map_err(|e| fail(Kind::Config, format!("{}: {e}", out.display())))?;
    std::io::Write::write_all(&mut f, key.file_text().as_bytes())?;
    f.sync_all()?;
    std::fs::write(&public, format!("{}\n", key.public().line()))?;
    if ctx.ui.json {
        return print_json(
            &json!({ "secret": out.display().to_string(), "public": public.display().to_string(), "key": key.public().line() }),
        );
    }
    ctx.ui.say(&format!(
        "wrote {} (secret, keep it safe) and {}",
        out.display(),
        public.display()
    ));
    print_line(&key.public().line())
}
