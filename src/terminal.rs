//! Text from a server or a device, made safe to print: no byte of it can
//! move the cursor, change colours, ring the bell, overwrite a line or
//! reorder what follows on a terminal.

use std::borrow::Cow;

/// `s` with every control character (C0, DEL, C1) and every bidirectional
/// override written out as a visible escape (`\e`, `\r`, `\u{202e}`).
/// Ordinary text, non-ASCII letters included, is returned as it is.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\x1b' => out.push_str("\\e"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_untouched() {
        for s in ["v1.2.3", "lib/été.py", "main-abc1234", ""] {
            assert!(matches!(escape(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn controls_are_written_out() {
        assert_eq!(
            escape("v1\x1b[31mRED\x07\n\rfake"),
            "v1\\e[31mRED\\u{7}\\n\\rfake"
        );
        assert_eq!(
            escape("a\u{9b}b\u{202e}c\x7f"),
            "a\\u{9b}b\\u{202e}c\\u{7f}"
        );
    }
}
