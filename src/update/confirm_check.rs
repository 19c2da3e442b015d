//! Before a MicroPython board waits for a trial tree to confirm: does the
//! tree's main.py (or the first module it imports) call
//! `ota_boot.confirm()`? A tree that never does would make ota wait the
//! whole confirmation timeout for nothing, so the user is told first.

use crate::bundle::{Bundle, BundleFile};

/// Whether `main.py`, or the first module it imports, mentions `confirm(`.
/// `None` when the tree has no main.py (nothing runs it to confirm).
pub fn main_confirms(bundle: &Bundle) -> Option<bool> {
    let main = read(find(bundle, "main.py")?)?;
    if main.contains("confirm(") {
        return Some(true);
    }
    let first = main.lines().find_map(first_import);
    let confirms = first.is_some_and(|m| {
        let m = m.replace('.', "/");
        [
            format!("{m}.py"),
            format!("lib/{m}.py"),
            format!("{m}/__init__.py"),
            format!("lib/{m}/__init__.py"),
        ]
        .iter()
        .filter_map(|p| find(bundle, p).and_then(read))
        .any(|src| src.contains("confirm("))
    });
    Some(confirms)
}

/// The module of an `import m` or `from m import x` line (not ota_boot's).
fn first_import(line: &str) -> Option<String> {
    let line = line.trim();
    let rest = line
        .strip_prefix("import ")
        .or_else(|| line.strip_prefix("from "))?;
    let m = rest.split([' ', ',']).next()?.trim();
    (!m.is_empty() && m != "ota_boot").then(|| m.to_string())
}

fn find<'b>(bundle: &'b Bundle, path: &str) -> Option<&'b BundleFile> {
    bundle.files().iter().find(|f| f.path == path)
}

fn read(f: &BundleFile) -> Option<String> {
    std::fs::read(f.location())
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::first_import;

    #[test]
    fn the_first_import_is_the_application_module() {
        assert_eq!(first_import("import app"), Some("app".into()));
        assert_eq!(
            first_import("from shop.web import run"),
            Some("shop.web".into())
        );
        assert_eq!(first_import("import ota_boot"), None);
        assert_eq!(first_import("print(1)"), None);
    }
}
