//! What to do next, added where an error leaves a command: the device layer
//! says what happened, and this says which command or flag helps.

use ota_protocol::ErrorCode;

use crate::device::error::DeviceError;

/// The advice for an error chain, when there is something to do about it.
pub fn advice(e: &anyhow::Error) -> Option<&'static str> {
    match DeviceError::of(e)? {
        DeviceError::Refused {
            code: Some(code), ..
        } => match code {
            ErrorCode::NoSpace => Some("run `ota push --dry-run` to see what the update needs"),
            ErrorCode::Unsigned => Some(
                "push a release signed by one of its keys (`ota manifest sign`, then `ota push --dir DIR --manifest manifest.json`)",
            ),
            ErrorCode::FailedTrial => Some("pass --force to try it again as a new trial"),
            _ => None,
        },
        DeviceError::Faulty(_) => Some("run `ota status` and try again"),
        DeviceError::Unsure(_) => Some("run `ota status` to see where it stands"),
        DeviceError::OtherBoard(_) => Some("pick the board with --serial"),
        _ => None,
    }
}

/// The error as a command reports it: its chain, then the advice.
pub fn describe(e: &anyhow::Error) -> String {
    match advice(e) {
        Some(a) => format!("{e:#}; {a}"),
        None => format!("{e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::error;

    #[test]
    fn advice_follows_the_whole_chain() {
        let e = error::refused(Some(ErrorCode::NoSpace), "sim:p.img: no space").context("push");
        assert_eq!(
            describe(&e),
            "push: sim:p.img: no space; run `ota push --dry-run` to see what the update needs"
        );
        assert_eq!(describe(&error::link("cut")), "cut");
    }
}
