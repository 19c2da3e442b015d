//! `allow`, `ignore` and `paths` from the config, with the seed updater's
//! meaning: an entry matches a path exactly or as a directory prefix
//! (`lib` and `lib/` both match `lib/x.py`), and `ignore` wins over `allow`.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub allow: Vec<String>,
    pub ignore: Vec<String>,
    pub paths: Vec<String>,
}

fn matches(entry: &str, path: &str) -> bool {
    let entry = entry.trim_start_matches("./").trim_end_matches('/');
    if entry.is_empty() {
        return true;
    }
    path == entry || (path.starts_with(entry) && path.as_bytes().get(entry.len()) == Some(&b'/'))
}

impl Filter {
    /// True when `path` (relative, `/`-separated) belongs in the update.
    pub fn keeps(&self, path: &str) -> bool {
        // The application image is the tree's code, not one of its files:
        // allow, ignore and paths select files, and never drop the image.
        if path == ota_agent::layout::APP_IMAGE {
            return true;
        }
        if self.ignore.iter().any(|e| matches(e, path)) {
            return false;
        }
        let allowed = self.allow.is_empty() || self.allow.iter().any(|e| matches(e, path));
        let in_paths = self.paths.is_empty() || self.paths.iter().any(|e| matches(e, path));
        allowed && in_paths
    }

    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.ignore.is_empty() && self.paths.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(allow: &[&str], ignore: &[&str], paths: &[&str]) -> Filter {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        Filter {
            allow: v(allow),
            ignore: v(ignore),
            paths: v(paths),
        }
    }

    #[test]
    fn prefix_matches_whole_segments_only() {
        let filter = f(&["lib"], &[], &[]);
        assert!(filter.keeps("lib/x.py"));
        assert!(filter.keeps("lib"));
        assert!(!filter.keeps("library/x.py"));
        assert!(!filter.keeps("main.py"));
        assert!(f(&["lib/"], &[], &[]).keeps("lib/x.py"));
    }

    #[test]
    fn ignore_wins_over_allow() {
        let filter = f(&["lib/"], &["lib/test"], &[]);
        assert!(filter.keeps("lib/x.py"));
        assert!(!filter.keeps("lib/test/t.py"));
    }

    #[test]
    fn paths_restrict_further() {
        let filter = f(&[], &["README.md"], &["main.py", "lib"]);
        assert!(filter.keeps("main.py"));
        assert!(filter.keeps("lib/a.py"));
        assert!(!filter.keeps("tools/x.py"));
        assert!(!filter.keeps("README.md"));
        assert!(f(&[], &[], &[]).keeps("anything"));
    }
}
