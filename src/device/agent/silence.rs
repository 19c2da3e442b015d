//! What a port that does not answer as an agent looks like: nothing at
//! all, a MicroPython REPL, or an application printing text; told from the
//! bytes that came before any valid frame, with what to do about it. And
//! what an agent known to be there looks like when it sends no valid frame.

use std::time::Duration;

use crate::device::error;

/// How many bytes of a port's non-agent output are kept to say what it is.
pub const KEPT: usize = 512;

/// Whether `raw` (what came before any frame) is a MicroPython REPL: it will
/// never turn into an agent, so there is no point in asking again.
pub fn is_repl(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw);
    text.contains(">>>") || text.contains("MicroPython") || text.contains("raw REPL")
}

/// The error for `what` unanswered on port `name` after `waited`; `seen` is
/// what the port sent when it never answered with a valid frame.
pub fn no_answer(name: &str, what: &str, waited: Duration, seen: Option<&[u8]>) -> anyhow::Error {
    let secs = waited.as_secs_f32().round();
    let msg = match seen {
        // It answered as an agent before: this answer was lost.
        None => return error::no_answer(format!("{name}: no answer to {what} within {secs}s")),
        Some([]) if name.starts_with("tcp:") => format!(
            "{name}: nothing answered within {secs}s: no ota agent listens there; a board running its application \
             needs the 1200-baud touch, which a tcp: port cannot carry: use rfc2217://{}",
            &name[4..]
        ),
        Some([]) => format!(
            "{name}: nothing answered within {secs}s: no ota agent listens there; check the port (`ota devices`) or install the agent"
        ),
        Some(raw) if is_repl(raw) => format!(
            "{name}: a MicroPython REPL answers there, not the ota agent; install the agent on the board, or use a port where it runs"
        ),
        Some(raw) => {
            let shown: String = String::from_utf8_lossy(&raw[..raw.len().min(40)])
                .chars()
                .flat_map(char::escape_debug)
                .collect();
            format!(
                "{name}: an application answers there (it sent \"{shown}\"), not the ota agent; reset the board into the agent and try again"
            )
        }
    };
    error::not_an_agent(msg)
}

/// The error for `what` unanswered on port `name` by an agent that is
/// known to be there (it answered before, or was seen starting), but sent
/// `sent` bytes and no valid frame: frames too large, corrupt, or text.
pub fn garbled(
    name: &str,
    what: &str,
    waited: Duration,
    sent: u64,
    bad_frames: u64,
) -> anyhow::Error {
    let secs = waited.as_secs_f32();
    let sent = crate::device::micropython::listen::size(sent);
    let dropped = match bad_frames {
        0 => String::new(),
        n => format!(" ({n} frames dropped as corrupt or too large)"),
    };
    error::faulty(format!(
            "{name}: no answer to {what} after {secs:.1}s: the ota agent sent {sent} but no valid frame{dropped}; \
             its agent is faulty, or a program on the board prints over the link"
        ),
    )
}
