//! What goes wrong when ota talks to a device, as types. The device layer
//! says what happened and on which device; the command layer chooses the
//! exit code (`exit::kind_of`) and adds advice (`commands::advice`). Which
//! failures the push engine retries is one explicit match: [`DeviceError::retryable`].

use ota_protocol::ErrorCode;
use thiserror::Error;

/// One failure of device work; each message names the device or port.
#[derive(Debug, Error)]
pub enum DeviceError {
    /// The link failed, closed, or could not be opened.
    #[error("{0}")]
    Link(String),
    /// A request went unanswered within its deadline.
    #[error("{0}")]
    NoAnswer(String),
    /// Another program holds the port.
    #[error("{0}")]
    Busy(String),
    /// No device where one was looked for.
    #[error("{0}")]
    NotFound(String),
    /// A different board answered than the one this work is for.
    #[error("{0}")]
    OtherBoard(String),
    /// Something answers there, but not as an ota agent (silence, a REPL, an
    /// application's text, an application that does not reach the agent).
    #[error("{0}")]
    NotAnAgent(String),
    /// The agent answered and refused the request.
    #[error("{message}")]
    Refused {
        code: Option<ErrorCode>,
        message: String,
    },
    /// The agent rejected the bytes it received, again and again (hash or read-back).
    #[error("{0}")]
    Rejected(String),
    /// The device broke the protocol or reported something impossible.
    #[error("{0}")]
    Faulty(String),
    /// The work may or may not have taken effect: the device did not say.
    #[error("{0}")]
    Unsure(String),
    /// A port spec or device option is malformed.
    #[error("{0}")]
    BadSpec(String),
    /// A file of the update could not be read while it was being sent.
    #[error("{0}")]
    Unreadable(String),
    /// The user stopped the work between two frames.
    #[error("{0}")]
    Interrupted(String),
}

impl DeviceError {
    /// Whether reconnecting and asking again may help: a failed link, a lost
    /// answer, or a port another program is letting go of. A different board, a refusal or a faulty device
    /// answers the same way the next time.
    pub fn retryable(&self) -> bool {
        match self {
            DeviceError::Link(_) | DeviceError::NoAnswer(_) | DeviceError::Busy(_) => true,
            DeviceError::NotFound(_)
            | DeviceError::OtherBoard(_)
            | DeviceError::NotAnAgent(_)
            | DeviceError::Refused { .. }
            | DeviceError::Rejected(_)
            | DeviceError::Faulty(_)
            | DeviceError::Unsure(_)
            | DeviceError::BadSpec(_)
            | DeviceError::Unreadable(_)
            | DeviceError::Interrupted(_) => false,
        }
    }

    /// The same failure, said in other words (a link failure when `err` holds none).
    pub fn restate(err: &anyhow::Error, message: String) -> anyhow::Error {
        use DeviceError::*;
        match DeviceError::of(err) {
            Some(Refused { code, .. }) => refused(*code, message),
            Some(NoAnswer(_)) => NoAnswer(message).into(),
            Some(Busy(_)) => Busy(message).into(),
            Some(NotFound(_)) => NotFound(message).into(),
            Some(OtherBoard(_)) => OtherBoard(message).into(),
            Some(NotAnAgent(_)) => NotAnAgent(message).into(),
            Some(Rejected(_)) => Rejected(message).into(),
            Some(Faulty(_)) => Faulty(message).into(),
            Some(Unsure(_)) => Unsure(message).into(),
            Some(BadSpec(_)) => BadSpec(message).into(),
            Some(Unreadable(_)) => Unreadable(message).into(),
            Some(Interrupted(_)) => Interrupted(message).into(),
            Some(Link(_)) | None => Link(message).into(),
        }
    }

    /// The device error in an error chain, if any (the outermost).
    pub fn of(err: &anyhow::Error) -> Option<&DeviceError> {
        err.chain().find_map(|e| e.downcast_ref::<DeviceError>())
    }
}

/// Shorthands that build the error as the `anyhow::Error` device code returns.
pub fn link(m: impl Into<String>) -> anyhow::Error {
    DeviceError::Link(m.into()).into()
}
pub fn no_answer(m: impl Into<String>) -> anyhow::Error {
    DeviceError::NoAnswer(m.into()).into()
}
pub fn busy(m: impl Into<String>) -> anyhow::Error {
    DeviceError::Busy(m.into()).into()
}
pub fn not_found(m: impl Into<String>) -> anyhow::Error {
    DeviceError::NotFound(m.into()).into()
}
pub fn other_board(m: impl Into<String>) -> anyhow::Error {
    DeviceError::OtherBoard(m.into()).into()
}
pub fn not_an_agent(m: impl Into<String>) -> anyhow::Error {
    DeviceError::NotAnAgent(m.into()).into()
}
pub fn refused(code: Option<ErrorCode>, m: impl Into<String>) -> anyhow::Error {
    DeviceError::Refused {
        code,
        message: m.into(),
    }
    .into()
}
pub fn rejected(m: impl Into<String>) -> anyhow::Error {
    DeviceError::Rejected(m.into()).into()
}
pub fn faulty(m: impl Into<String>) -> anyhow::Error {
    DeviceError::Faulty(m.into()).into()
}
pub fn unsure(m: impl Into<String>) -> anyhow::Error {
    DeviceError::Unsure(m.into()).into()
}
pub fn bad_spec(m: impl Into<String>) -> anyhow::Error {
    DeviceError::BadSpec(m.into()).into()
}
pub fn unreadable(m: impl Into<String>) -> anyhow::Error {
    DeviceError::Unreadable(m.into()).into()
}
pub fn interrupted(m: impl Into<String>) -> anyhow::Error {
    DeviceError::Interrupted(m.into()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_failed_link_or_a_lost_answer_is_retried() {
        assert!(DeviceError::Link("x".into()).retryable());
        assert!(DeviceError::NoAnswer("x".into()).retryable());
        assert!(DeviceError::Busy("x".into()).retryable());
        assert!(!DeviceError::OtherBoard("x".into()).retryable());
        assert!(!DeviceError::Faulty("x".into()).retryable());
        let e = refused(Some(ErrorCode::NoSpace), "full");
        assert!(!DeviceError::of(&e).unwrap().retryable());
        let wrapped = link("cut").context("while pushing");
        assert!(DeviceError::of(&wrapped).unwrap().retryable());
    }
}
