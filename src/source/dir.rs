//! A folder on the host as an update: the developer's working tree.
//! Version-control folders are skipped; the config's filters apply.
//! Symbolic links are never followed (a link to ~/.ssh must not reach a
//! device or a release): they are left out, and the caller is told.

use std::path::Path;

use crate::bundle::{verify_file, Bundle, Expect};
use crate::exit::{fail, Kind};
use crate::filter::Filter;

const SKIPPED: &[&str] = &[".git", ".hg", ".svn", ".jj", "__pycache__"];
/// How `walk` reports a symbolic link it left out (a NUL cannot start a path).
const SYMLINK_MARK: &str = "\0symlink:";

/// Splits `walk`'s output into files and the symbolic links left out.
pub fn split_symlinks(walked: Vec<String>) -> (Vec<String>, Vec<String>) {
    let (links, files): (Vec<String>, Vec<String>) = walked
        .into_iter()
        .partition(|p| p.starts_with(SYMLINK_MARK));
    (
        files,
        links
            .into_iter()
            .map(|l| l[SYMLINK_MARK.len()..].to_string())
            .collect(),
    )
}

/// Hashes every kept file under `root`; `extra` files (an application
/// image) join the tree and its content id.
pub fn load(
    root: &Path,
    filter: &Filter,
    version: Option<&str>,
    extra: Vec<crate::bundle::BundleFile>,
) -> anyhow::Result<Bundle> {
    if !root.is_dir() {
        return Err(fail(
            Kind::Source,
            format!("{}: not a folder", root.display()),
        ));
    }
    let mut walked = Vec::new();
    walk(root, "", filter, &mut walked)?;
    let (paths, links) = split_symlinks(walked);
    let mut files = Vec::with_capacity(paths.len());
    for rel in paths {
        files.push(verify_file(
            &rel,
            &root.join(&rel),
            Expect::default(),
            false,
        )?);
    }
    files.extend(extra);
    let id = Bundle::tree_id(&{
        let mut f = files.clone();
        f.sort_by(|a, b| a.path.cmp(&b.path));
        f
    });
    let version = version.map_or_else(|| format!("dir-{}", &id[..8]), str::to_string);
    let mut bundle = Bundle::new(version, "dir".into(), id, files)?;
    bundle.skipped = links
        .into_iter()
        .map(|l| format!("{l} (symbolic link)"))
        .collect();
    Ok(bundle)
}

/// Adds the kept files under `dir` (whose path in the tree is `prefix`) to `out`.
pub fn walk(
    dir: &Path,
    prefix: &str,
    filter: &Filter,
    out: &mut Vec<String>,
) -> anyhow::Result<()> {
    let read = std::fs::read_dir(dir)
        .map_err(|e| fail(Kind::Source, format!("{}: {e}", dir.display())))?;
    let mut entries: Vec<_> = read.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let Some(name) = name.to_str() else {
            return Err(fail(
                Kind::Source,
                format!("{}: file name is not UTF-8", e.path().display()),
            ));
        };
        let rel = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        let kind = e.file_type()?;
        if kind.is_symlink() {
            if filter.keeps(&rel) {
                out.push(format!("{SYMLINK_MARK}{rel}"));
            }
        } else if kind.is_dir() {
            if !SKIPPED.contains(&name) {
                walk(&e.path(), &rel, filter, out)?;
            }
        } else if kind.is_file() && filter.keeps(&rel) {
            out.push(rel);
        }
    }
    Ok(())
}
