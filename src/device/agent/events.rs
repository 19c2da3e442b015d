//! Progress of device work, as events. The device code emits them; the
//! command layer renders them (a progress bar, plain lines, or nothing).

#[derive(Debug, Clone)]
pub enum Event {
    /// The device said what it lacks: these files and bytes will be sent.
    Planned {
        files: usize,
        bytes: u64,
    },
    FileStart {
        path: String,
        size: u32,
    },
    /// More payload bytes of the current file were acknowledged.
    Sent {
        bytes: u64,
    },
    FileDone {
        path: String,
    },
    /// The link failed; ota is resending or reconnecting.
    Retrying {
        reason: String,
    },
    Committing,
    Rebooting,
    /// Waiting for the agent to come back and confirm.
    WaitingForConfirm,
    /// The agent still held this update's unfinished session: it goes on
    /// from there, with these files already complete.
    Resumed {
        files_done: usize,
    },
}

pub type Events<'a> = &'a mut dyn FnMut(Event);
