//! Ctrl-C and SIGTERM. While a push streams to a device (a [`Graceful`]
//! guard is alive), the first one raises a flag that the push engine reads
//! at each frame boundary, so it stops between frames, leaves the agent's
//! session as it stands (the next push resumes it) and says where the
//! device stands. Outside that, or at a second one, ota ends at once, and
//! takes with it the child processes that must not outlive it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static GRACEFUL: AtomicUsize = AtomicUsize::new(0);
/// Children ended with ota: its exit runs no destructor that could.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// The exit code of an interrupted command (128 + SIGINT, as shells expect).
pub const EXIT_CODE: i32 = 130;

/// Installs the handler; later calls do nothing.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        let again = INTERRUPTED.swap(true, Ordering::SeqCst);
        if again || GRACEFUL.load(Ordering::SeqCst) == 0 {
            eprintln!("ota: interrupted");
            end_children();
            std::process::exit(EXIT_CODE);
        }
    });
}

/// Ends child `pid` (and waits for it) if ota is interrupted or terminated
/// while it runs: the interpreter of `ota agent sim --micropython`, which
/// would otherwise go on without anyone on its terminal.
pub fn end_with_ota(pid: u32) {
    children().push(pid);
}

/// Child `pid` has ended by itself: nothing to do for it at exit.
pub fn forget_child(pid: u32) {
    children().retain(|&p| p != pid);
}

fn children() -> std::sync::MutexGuard<'static, Vec<u32>> {
    CHILDREN.lock().unwrap_or_else(|e| e.into_inner())
}

fn end_children() {
    #[cfg(unix)]
    for &pid in children().iter() {
        // SAFETY: plain system calls on a process id of ota's own child;
        // a null status pointer is allowed.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
            libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0);
        }
    }
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
