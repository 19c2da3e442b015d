//! What the MicroPython agent says of its board beyond the protocol's
//! fields: it names them in Info's `agent_version`, as comma-separated
//! words after what it is (`micropython 1.24.1, agent 0.1.0, sha1, hook,
//! own boot.py, changed main.py lib/x.py`). Words it does not know are
//! ignored, so an older agent simply says less.

/// The board's facts, from a MicroPython agent's `agent_version`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BoardFacts {
    /// `micropython 1.24.1, agent 0.1.0, sha1`: what it is.
    pub what: String,
    /// `sha1` or `sha256`: the hash it checks files with.
    pub hash: String,
    /// `/boot.py` is ota's hook (None: the agent did not say).
    pub hook: Option<bool>,
    /// The board's own boot.py is kept as `/.ota/boot_user.py`, run after the hook.
    pub own_boot: Option<bool>,
    /// Files of the active tree that the board holds with another size, or
    /// not at all: changed outside ota. A trailing `...` means more.
    pub changed: Vec<String>,
}

impl BoardFacts {
    /// `None` for an agent that is not the MicroPython one.
    pub fn parse(agent_version: &str) -> Option<BoardFacts> {
        if !agent_version.starts_with("micropython") {
            return None;
        }
        let words: Vec<&str> = agent_version.split(", ").collect();
        let mut f = BoardFacts {
            what: words[..words.len().min(3)].join(", "),
            hash: words.get(2).copied().unwrap_or("sha1").to_string(),
            ..Default::default()
        };
        for w in &words[words.len().min(3)..] {
            match *w {
                "hook" => f.hook = Some(true),
                "no hook" => f.hook = Some(false),
                "own boot.py" => f.own_boot = Some(true),
                "no own boot.py" => f.own_boot = Some(false),
                _ => {
                    if let Some(paths) = w.strip_prefix("changed ") {
                        f.changed = paths.split(' ').map(str::to_string).collect();
                    }
                }
            }
        }
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::BoardFacts;

    #[test]
    fn the_words_after_what_it_is_are_facts() {
        let f = BoardFacts::parse(
            "micropython 1.29.0, agent 0.1.0, sha256, hook, no own boot.py, changed main.py lib/a.py",
        )
        .unwrap();
        assert_eq!(f.what, "micropython 1.29.0, agent 0.1.0, sha256");
        assert_eq!(f.hash, "sha256");
        assert_eq!((f.hook, f.own_boot), (Some(true), Some(false)));
        assert_eq!(f.changed, ["main.py", "lib/a.py"]);
    }

    #[test]
    fn an_older_agent_says_less_and_the_pico_agent_nothing() {
        let f = BoardFacts::parse("micropython 1.24.1, agent 0.1.0, sha1").unwrap();
        assert_eq!((f.hook, f.own_boot, f.changed.len()), (None, None, 0));
        assert_eq!(BoardFacts::parse("0.1.0+pico"), None);
    }
}
