//! A folder on the host as an update: the developer's working tree.
//! Version-control folders are skipped; the config's filters apply.

use std::path::Path;

use crate::bundle::{verify_file, Bundle, Expect};
use crate::exit::{fail, Kind};
use crate::filter::Filter;

const SKIPPED: &[&str] = &[".git", ".hg", ".svn", ".jj", "__pycache__"];

/// Hashes every kept file under `root`.
pub fn load(root: &Path, filter: &Filter, version: Option<&str>) -> anyhow::Result<Bundle> {
    if !root.is_dir() {
        return Err(fail(
            Kind::Source,
            format!("{}: not a folder", root.display()),
        ));
    }
    let mut paths = Vec::new();
    walk(root, "", filter, &mut paths)?;
    let mut files = Vec::with_capacity(paths.len());
    for rel in paths {
        files.push(verify_file(
            &rel,
            &root.join(&rel),
            Expect::default(),
            false,
        )?);
    }
    let id = Bundle::tree_id(&{
        let mut f = files.clone();
        f.sort_by(|a, b| a.path.cmp(&b.path));
        f
    });
    let version = version.map_or_else(|| format!("dir-{}", &id[..8]), str::to_string);
    Bundle::new(version, "dir".into(), id, files)
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
        let meta = std::fs::metadata(e.path())?;
        if meta.is_dir() {
            if !SKIPPED.contains(&name) {
                walk(&e.path(), &rel, filter, out)?;
            }
        } else if meta.is_file() && filter.keeps(&rel) {
            out.push(rel);
        }
    }
    Ok(())
}
