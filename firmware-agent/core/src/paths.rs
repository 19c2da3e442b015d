//! Path rules shared by the agent and the host: what a file in a tree may be
//! called. One rule for every host OS (Windows, macOS, Linux) and every device
//! file system (a MicroPython board's FAT included), so that no tree can hold
//! a path that some host cannot stage or some device cannot store.

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    Empty,
    TooLong,
    Absolute,
    /// `.`, `..` or an empty segment (`a//b`, `a/`).
    BadSegment,
    /// A backslash, NUL or other control character.
    BadChar,
    /// A `:` (a drive letter, an alternate data stream) or another character
    /// Windows refuses in a name (`<>"|?*`).
    WindowsChar,
    /// CON, PRN, AUX, NUL, COM1-9 or LPT1-9, with or without an extension.
    Reserved,
    /// A segment ending in a dot or a space (Windows drops them).
    BadEnding,
}

impl PathError {
    pub fn as_str(self) -> &'static str {
        match self {
            PathError::Empty => "path is empty",
            PathError::TooLong => "path is longer than 120 bytes",
            PathError::Absolute => "path must be relative",
            PathError::BadSegment => "path has an empty, '.' or '..' segment",
            PathError::BadChar => "path has a backslash or a control character",
            PathError::WindowsChar => "path has a ':' or one of <>\"|?* (not valid on Windows)",
            PathError::Reserved => {
                "path has a name Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9)"
            }
            PathError::BadEnding => "path has a name ending in a dot or a space",
        }
    }
}

/// Checks a tree path: UTF-8 (given), relative, `/`-separated, no `.`, `..`
/// or empty segments, at most [`crate::layout::MAX_PATH`] bytes, and every
/// segment a name that Windows, macOS and FAT accept.
pub fn check_path(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.len() > crate::layout::MAX_PATH {
        return Err(PathError::TooLong);
    }
    if path.starts_with('/') {
        return Err(PathError::Absolute);
    }
    if path.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(PathError::BadChar);
    }
    for s in path.split('/') {
        check_segment(s)?;
    }
    Ok(())
}

fn check_segment(s: &str) -> Result<(), PathError> {
    if s.is_empty() || s == "." || s == ".." {
        return Err(PathError::BadSegment);
    }
    if s.chars()
        .any(|c| matches!(c, ':' | '<' | '>' | '"' | '|' | '?' | '*'))
    {
        return Err(PathError::WindowsChar);
    }
    if s.ends_with('.') || s.ends_with(' ') {
        return Err(PathError::BadEnding);
    }
    // Windows reserves the name before the first dot, whatever follows
    // (`aux.py`, `con.tar.gz`), and ignores trailing spaces before it.
    let stem = s.split('.').next().unwrap_or(s).trim_end_matches(' ');
    if reserved(stem) {
        return Err(PathError::Reserved);
    }
    Ok(())
}

fn reserved(stem: &str) -> bool {
    let b = stem.as_bytes();
    match b.len() {
        3 => ["CON", "PRN", "AUX", "NUL"]
            .iter()
            .any(|r| stem.eq_ignore_ascii_case(r)),
        4 => {
            // Bytes, not str slices: a 4-byte stem may be one character.
            let head = &b[..3];
            (head.eq_ignore_ascii_case(b"COM") || head.eq_ignore_ascii_case(b"LPT"))
                && (b'1'..=b'9').contains(&b[3])
        }
        _ => false,
    }
}

/// Why two paths of one tree cannot live side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The same path twice.
    Duplicate,
    /// Paths that differ only in case: one file on Windows, macOS and FAT.
    Case,
    /// One path is a file and, up to case, a folder of the other.
    FileAndFolder,
}

impl Conflict {
    pub fn as_str(self) -> &'static str {
        match self {
            Conflict::Duplicate => "listed twice",
            Conflict::Case => "differs only in case from",
            Conflict::FileAndFolder => "is a file and a folder of",
        }
    }
}

/// Characters of a path folded to one case, the way case-insensitive file
/// systems compare names.
fn folded(path: &str) -> impl Iterator<Item = char> + '_ {
    path.chars().flat_map(char::to_lowercase)
}

/// Whether `a` and `b` (both valid paths of files in one tree) conflict.
pub fn conflict(a: &str, b: &str) -> Option<Conflict> {
    if a == b {
        return Some(Conflict::Duplicate);
    }
    if folded(a).eq(folded(b)) {
        return Some(Conflict::Case);
    }
    if is_folder_of(a, b) || is_folder_of(b, a) {
        return Some(Conflict::FileAndFolder);
    }
    None
}

/// `dir` names, up to case, a folder holding `path`.
fn is_folder_of(dir: &str, path: &str) -> bool {
    let mut p = folded(path);
    folded(dir).all(|c| p.next() == Some(c)) && p.next() == Some('/')
}

/// Hash of a path folded to one case: equal for paths that differ only in case.
pub fn folded_hash(path: &str) -> u32 {
    // FNV-1a: small, no table, the same on the agent and the host.
    let mut h: u32 = 0x811c_9dc5;
    let mut buf = [0u8; 4];
    for c in folded(path) {
        for b in c.encode_utf8(&mut buf).bytes() {
            h = (h ^ b as u32).wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// The folders holding `path`, nearest last: `a`, `a/b` for `a/b/c.py`.
pub fn folders(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// Checks a whole tree: every path valid, and no two in conflict. The host's
/// check before any download; the agent applies the same rule entry by entry.
#[cfg(feature = "std")]
pub fn check_tree<'a>(
    paths: impl IntoIterator<Item = &'a str>,
) -> Result<(), (&'a str, PathProblem<'a>)> {
    use std::collections::HashMap;
    let mut seen: HashMap<u32, Vec<&'a str>> = HashMap::new();
    let mut all = Vec::new();
    for p in paths {
        check_path(p).map_err(|e| (p, PathProblem::Invalid(e)))?;
        let bucket = seen.entry(folded_hash(p)).or_default();
        if let Some(q) = bucket.iter().find(|q| conflict(q, p).is_some()) {
            return Err((
                p,
                PathProblem::Conflict(conflict(q, p).unwrap_or(Conflict::Case), q),
            ));
        }
        bucket.push(p);
        all.push(p);
    }
    for &p in &all {
        for dir in folders(p) {
            if let Some(q) = seen.get(&folded_hash(dir)).and_then(|b| {
                b.iter()
                    .find(|q| conflict(q, p) == Some(Conflict::FileAndFolder))
            }) {
                return Err((q, PathProblem::Conflict(Conflict::FileAndFolder, p)));
            }
        }
    }
    Ok(())
}

/// What [`check_tree`] found wrong with a path.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProblem<'a> {
    Invalid(PathError),
    /// In conflict with this other path.
    Conflict(Conflict, &'a str),
}

#[cfg(feature = "std")]
impl core::fmt::Display for PathProblem<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PathProblem::Invalid(e) => f.write_str(e.as_str()),
            PathProblem::Conflict(c, other) => write!(f, "{} {other}", c.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_paths() {
        for p in [
            "main.py",
            "lib/util.py",
            "a/b/c.d",
            "été.txt",
            ".hidden",
            "console.py",
            "com10.py",
            "lpt0",
            "auxiliary/x.py",
            "😀",
            "é.py",
            "caf\u{e9}/\u{1F600}.py",
        ] {
            assert_eq!(check_path(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn refuses_bad_paths() {
        assert_eq!(check_path(""), Err(PathError::Empty));
        assert_eq!(check_path("/etc"), Err(PathError::Absolute));
        assert_eq!(check_path("a/../b"), Err(PathError::BadSegment));
        assert_eq!(check_path("./a"), Err(PathError::BadSegment));
        assert_eq!(check_path("a//b"), Err(PathError::BadSegment));
        assert_eq!(check_path("a/"), Err(PathError::BadSegment));
        assert_eq!(check_path("a\\b"), Err(PathError::BadChar));
        assert_eq!(check_path("a\nb"), Err(PathError::BadChar));
        assert_eq!(check_path(&"x".repeat(121)), Err(PathError::TooLong));
    }

    #[test]
    fn refuses_paths_some_host_cannot_write() {
        for p in [
            "C:/x.py",
            "c:x.py",
            "x.py:stream",
            "a/b:c",
            "what?.py",
            "a<b",
            "p|q",
        ] {
            assert_eq!(check_path(p), Err(PathError::WindowsChar), "{p}");
        }
        for p in [
            "CON",
            "aux.py",
            "lib/nul.txt",
            "Com1",
            "LPT9.tar.gz",
            "prn .py/x",
            "con .py",
        ] {
            assert_eq!(check_path(p), Err(PathError::Reserved), "{p}");
        }
        for p in ["trail. ", "trail.", "dir./x.py", "x "] {
            assert_eq!(check_path(p), Err(PathError::BadEnding), "{p}");
        }
    }

    #[test]
    fn no_input_panics() {
        // Every string of up to 4 of these characters (one to four UTF-8 bytes each).
        let alphabet = ['a', 'C', '1', '.', ' ', '/', ':', 'é', '€', '😀', 'İ'];
        let mut words = vec![String::new()];
        for _ in 0..4 {
            words = words
                .iter()
                .flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}")))
                .collect();
            for w in &words {
                let _ = check_path(w);
                let _ = conflict(w, "a/b");
                let _ = conflict("a", w);
                let _ = folders(w).count();
                let _ = folded_hash(w);
            }
        }
    }

    #[test]
    fn conflicts_between_two_paths() {
        assert_eq!(conflict("main.py", "main.py"), Some(Conflict::Duplicate));
        assert_eq!(conflict("Main.py", "main.py"), Some(Conflict::Case));
        assert_eq!(conflict("ÉTÉ.txt", "été.txt"), Some(Conflict::Case));
        assert_eq!(
            conflict("lib", "lib/util.py"),
            Some(Conflict::FileAndFolder)
        );
        assert_eq!(
            conflict("lib/a/b.py", "LIB/a"),
            Some(Conflict::FileAndFolder)
        );
        assert_eq!(conflict("lib", "library.py"), None);
        assert_eq!(conflict("lib/x", "lib/y"), None);
        assert_eq!(folded_hash("Main.PY"), folded_hash("main.py"));
        assert_eq!(folders("a/b/c.py").collect::<Vec<_>>(), ["a", "a/b"]);
    }

    #[test]
    fn whole_trees() {
        assert_eq!(check_tree(["a.py", "lib/x.py", "lib/y.py"]), Ok(()));
        assert_eq!(
            check_tree(["main.py", "Main.py"]),
            Err(("Main.py", PathProblem::Conflict(Conflict::Case, "main.py")))
        );
        assert_eq!(
            check_tree(["lib/util.py", "lib"]),
            Err((
                "lib",
                PathProblem::Conflict(Conflict::FileAndFolder, "lib/util.py")
            ))
        );
        assert_eq!(
            check_tree(["Lib", "lib/a/util.py"]),
            Err((
                "Lib",
                PathProblem::Conflict(Conflict::FileAndFolder, "lib/a/util.py")
            ))
        );
        assert!(matches!(
            check_tree(["ok.py", "CON"]),
            Err(("CON", PathProblem::Invalid(_)))
        ));
    }
}
