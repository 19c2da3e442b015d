//! Ctrl-C and SIGTERM during a push: the first one raises a flag that the
//! push engine reads at each frame boundary, so it stops between frames,
//! leaves the agent's session as it stands (the next push resumes it) and
//! says where the device stands. A second one ends ota at once.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The exit code of an interrupted command (128 + SIGINT, as shells expect).
pub const EXIT_CODE: i32 = 130;

/// Installs the handler; later calls do nothing.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(EXIT_CODE);
        }
    });
}

/// Whether the user asked ota to stop.
pub fn requested() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
