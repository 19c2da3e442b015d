//! The blink pattern, as `blink.txt` spells it.
//!
//! Plain `core` code with no hardware in it, so that its tests run on the
//! host: `rustc --edition 2021 --test src/pattern.rs -o /tmp/pattern && /tmp/pattern`.

const MAX_STEPS: usize = 8;
/// Longest `blink.txt` read; a longer file is not a pattern.
pub const MAX_TEXT: usize = 64;

/// LED times in milliseconds, alternately on and off, starting with on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern {
    steps: [u16; MAX_STEPS],
    len: usize,
}

impl Pattern {
    /// Half a second on, half a second off.
    pub const DEFAULT: Pattern = Pattern {
        steps: [500, 500, 0, 0, 0, 0, 0, 0],
        len: 2,
    };

    /// Parses `"500,500"`-style text: up to 8 times of 1 to 60000 ms,
    /// separated by commas, blanks or new lines. A single time blinks evenly.
    /// Anything else gives `None`.
    pub fn parse(text: &[u8]) -> Option<Pattern> {
        if text.len() > MAX_TEXT {
            return None;
        }
        let text = core::str::from_utf8(text).ok()?;
        let mut p = Pattern {
            steps: [0; MAX_STEPS],
            len: 0,
        };
        let tokens = text
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|t| !t.is_empty());
        for t in tokens {
            let ms: u16 = t.parse().ok()?;
            if !(1..=60_000).contains(&ms) || p.len == MAX_STEPS {
                return None;
            }
            p.steps[p.len] = ms;
            p.len += 1;
        }
        match p.len {
            0 => None,
            1 => {
                p.steps[1] = p.steps[0];
                p.len = 2;
                Some(p)
            }
            _ => Some(p),
        }
    }

    /// The times in order; each one flips the LED.
    pub fn steps(&self) -> &[u16] {
        &self.steps[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_off_pairs_and_longer_patterns() {
        assert_eq!(Pattern::parse(b"500,500").unwrap().steps(), &[500, 500]);
        assert_eq!(
            Pattern::parse(b" 100, 200 ,100\n1000\n").unwrap().steps(),
            &[100, 200, 100, 1000]
        );
        assert_eq!(Pattern::parse(b"250").unwrap().steps(), &[250, 250]);
        assert_eq!(Pattern::parse(b"1,2,3,4,5,6,7,8").unwrap().steps().len(), 8);
        assert_eq!(Pattern::DEFAULT.steps(), &[500, 500]);
    }

    #[test]
    fn anything_else_is_not_a_pattern() {
        for bad in [
            &b""[..],
            b" ,\n",
            b"fast",
            b"500,-1",
            b"0,500",
            b"60001",
            b"1,2,3,4,5,6,7,8,9",
            b"\xff\xfe",
            &[b'1'; MAX_TEXT + 1],
        ] {
            assert_eq!(Pattern::parse(bad), None, "{:?}", core::str::from_utf8(bad));
        }
    }
}
