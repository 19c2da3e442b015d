//! Path rules shared by the agent and the host: what a file in a tree may be called.

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
}

impl PathError {
    pub fn as_str(self) -> &'static str {
        match self {
            PathError::Empty => "path is empty",
            PathError::TooLong => "path is longer than 120 bytes",
            PathError::Absolute => "path must be relative",
            PathError::BadSegment => "path has an empty, '.' or '..' segment",
            PathError::BadChar => "path has a backslash or a control character",
        }
    }
}

/// Checks a tree path: UTF-8 (given), relative, `/`-separated, no `.`, `..`
/// or empty segments, at most [`crate::layout::MAX_PATH`] bytes.
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
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(PathError::BadSegment);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_paths() {
        for p in ["main.py", "lib/util.py", "a/b/c.d", "été.txt", ".hidden"] {
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
}
