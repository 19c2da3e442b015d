//! From an ELF that cargo built to the project it came from, and the folder
//! of files that travels with its image: `[package.metadata.ota] files` in
//! the project's Cargo.toml. Reads only; never writes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::exit::{fail, Kind};

/// A project's folder of files, and the Cargo.toml that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFiles {
    pub manifest: PathBuf,
    pub files: PathBuf,
}

/// The files folder of the project that built `elf`. Cargo's runner is
/// started with CARGO_MANIFEST_DIR set to the package (`manifest_dir`), which
/// is asked first; then the folders above the ELF (a target folder inside
/// the project), then those above `cwd`. `None` when no Cargo.toml found
/// has `[package.metadata.ota] files`.
pub fn files_of(
    elf: &Path,
    manifest_dir: Option<&Path>,
    cwd: &Path,
) -> Result<Option<ProjectFiles>> {
    let mut starts: Vec<PathBuf> = manifest_dir.map(Path::to_path_buf).into_iter().collect();
    if let Ok(elf) = elf.canonicalize() {
        starts.extend(elf.parent().map(Path::to_path_buf));
    }
    starts.push(cwd.to_path_buf());
    for start in starts {
        for dir in start.ancestors() {
            let manifest = dir.join("Cargo.toml");
            if !manifest.is_file() {
                continue;
            }
            if let Some(files) = files_entry(&manifest)? {
                return Ok(Some(ProjectFiles {
                    files: dir.join(files),
                    manifest,
                }));
            }
            break; // the nearest package decides
        }
    }
    Ok(None)
}

/// `[package.metadata.ota] files` of one Cargo.toml, when it has one.
fn files_entry(manifest: &Path) -> Result<Option<String>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("read {}", manifest.display()))?;
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e| {
        fail(
            Kind::Config,
            format!(
                "{}: not valid TOML ({e}); fix it, cargo refuses it too",
                manifest.display()
            ),
        )
    })?;
    let Some(item) = doc
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("ota"))
        .and_then(|o| o.get("files"))
    else {
        return Ok(None);
    };
    match item.as_str() {
        Some(s) if !s.is_empty() => Ok(Some(s.to_string())),
        _ => Err(fail(
            Kind::Config,
            format!(
                "{}: [package.metadata.ota] files must be a folder name in quotes, such as files = \"files\"",
                manifest.display()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(root: &Path, metadata: &str) {
        std::fs::create_dir_all(root.join("target/thumbv6m-none-eabi/release")).unwrap();
        let toml = format!("[package]\nname = \"p\"\nversion = \"0.1.0\"\n{metadata}");
        std::fs::write(root.join("Cargo.toml"), toml).unwrap();
    }

    #[test]
    fn the_elf_leads_to_its_project_and_its_files_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        project(&root, "[package.metadata.ota]\nfiles = \"assets\"\n");
        let elf = root.join("target/thumbv6m-none-eabi/release/p");
        std::fs::write(&elf, b"").unwrap();
        let found = files_of(&elf, None, Path::new("/")).unwrap().unwrap();
        assert_eq!(found.files, root.join("assets"));
        assert_eq!(found.manifest, root.join("Cargo.toml"));
        // A shared target folder elsewhere: cargo's CARGO_MANIFEST_DIR names the project.
        let found = files_of(Path::new("/nowhere/p"), Some(&root), Path::new("/")).unwrap();
        assert_eq!(found.unwrap().files, root.join("assets"));
    }

    #[test]
    fn a_project_without_the_entry_has_no_files_and_a_bad_entry_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        project(&root, "");
        assert_eq!(
            files_of(Path::new("/nowhere/p"), Some(&root), &root).unwrap(),
            None
        );
        project(&root, "[package.metadata.ota]\nfiles = 3\n");
        let e = files_of(Path::new("/nowhere/p"), Some(&root), &root).unwrap_err();
        assert!(
            format!("{e:#}").contains("[package.metadata.ota] files must be"),
            "{e:#}"
        );
    }
}
