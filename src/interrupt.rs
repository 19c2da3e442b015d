//! Ctrl-C and SIGTERM. While a push streams to a device (a [`Graceful`]
//! guard is alive), the first one raises a flag that the push engine reads
//! at each frame boundary, so it stops between frames, leaves the agent's
//! session as it stands (the next push resumes it) and says where the
//! device stands. Outside that, or at a second one, ota ends at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static GRACEFUL: AtomicUsize = AtomicUsize::new(0);

/// The exit code of an interrupted command (128 + SIGINT, as shells expect).
pub const EXIT_CODE: i32 = 130;

/// Installs the handler; later calls do nothing.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        let again = INTERRUPTED.swap(true, Ordering::SeqCst);
        if again || GRACEFUL.load(Ordering::SeqCst) == 0 {
            eprintln!("ota: interrupted");
            std::process::exit(EXIT_CODE);
        }
    });
}

/// Whether the user asked ota to stop.
pub fn requested() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// While alive, an interruption waits for the next frame boundary.
pub struct Graceful(());

impl Graceful {
    pub fn new() -> Graceful {
        GRACEFUL.fetch_add(1, Ordering::SeqCst);
        Graceful(())
    }
}

impl Default for Graceful {
    fn default() -> Self {
        Graceful::new()
    }
}

impl Drop for Graceful {
    fn drop(&mut self) {
        GRACEFUL.fetch_sub(1, Ordering::SeqCst);
    }
}
