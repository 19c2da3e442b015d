//! `ota bootsel` and `ota agent install` against simulated parts: the agent
//! served by `ota agent sim`, and a folder that looks like the boot ROM's
//! RPI-RP2 drive, played by the test (it takes the copied UF2, goes away, and
//! the board comes back as the agent).

mod util;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use util::*;

const UF2_MAGIC: [u32; 3] = [0x0A32_4655, 0x9E5D_5157, 0x0AB1_6F30];
const WAIT: Duration = Duration::from_secs(30);

/// A UF2 of `n` RP2040 blocks at the start of flash.
fn uf2(n: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut b = vec![0u8; 512];
        let words = [
            UF2_MAGIC[0],
            UF2_MAGIC[1],
            0x2000,
            0x1000_0000 + i * 256,
            256,
            i,
            n,
            0xE48B_FF56,
        ];
        for (k, w) in words.iter().enumerate() {
            b[k * 4..k * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        b[32..288].fill(i as u8 + 1);
        b[508..].copy_from_slice(&UF2_MAGIC[2].to_le_bytes());
        out.extend(b);
    }
    out
}

fn make_drive(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("INFO_UF2.TXT"),
        "UF2 Bootloader v3.0\r\nModel: Raspberry Pi RP2\r\nBoard-ID: RPI-RP2\r\n",
    )
    .unwrap();
}

/// Plays the boot ROM: waits for the UF2 on the drive to be whole, checks
/// it byte for byte, then the drive goes away.
fn rom_takes(drive: &Path, want: &[u8]) {
    let file = drive.join("OTA-AGENT.UF2");
    let deadline = Instant::now() + WAIT;
    while std::fs::metadata(&file).map_or(0, |m| m.len()) < want.len() as u64 {
        assert!(Instant::now() < deadline, "the UF2 never arrived whole");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(std::fs::read(&file).unwrap(), want, "the UF2 copied whole");
    std::fs::remove_file(drive.join("INFO_UF2.TXT")).unwrap();
}

/// Lines a child writes on stderr, as they come.
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn wait_line(rx: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains(needle) => return l,
            Ok(_) => {}
            Err(_) => panic!("no line with {needle:?}"),
        }
    }
}

/// `ota agent sim --pty --by-id DIR` with its stderr readable.
fn sim_with_log(cwd: &Path, flash: &str, by_id: &Path) -> (Child, String, mpsc::Receiver<String>) {
    let mut child = ota_in(cwd)
        .args(&["agent", "sim", "--flash", flash, "--pty", "--by-id"])
        .arg(by_id)
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let log = stderr_lines(&mut child);
    (child, line.trim().to_string(), log)
}

#[test]
fn bootsel_sends_the_agent_to_its_boot_rom() {
    let d = tempdir();
    let by_id = d.path().join("by-id");
    let (mut sim, pty, log) = sim_with_log(d.path(), "board.img", &by_id);
    let serial = status(d.path(), &pty)["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = ota_in(d.path())
        .env("OTA_SERIAL_BY_ID", &by_id)
        .args(&["--serial", &serial, "bootsel"])
        .ok();
    assert!(
        r.stderr
            .contains(&format!("{serial}: sent to BOOTSEL mode")),
        "{}",
        r.stderr
    );
    wait_line(&log, "BOOTSEL requested (1 so far)");
    let _ = sim.kill();
    let _ = sim.wait();
}

#[test]
fn install_copies_the_uf2_whole_onto_the_drive_and_reports_the_agent_that_came_up() {
    let d = tempdir();
    let drive = d.path().join("RPI-RP2");
    make_drive(&drive);
    let by_id = d.path().join("by-id");
    std::fs::create_dir_all(&by_id).unwrap();
    let image = uf2(5);
    std::fs::write(d.path().join("agent.uf2"), &image).unwrap();
    let install = ota_in(d.path())
        .env("OTA_RPI_RP2_DRIVES", &drive)
        .env("OTA_SERIAL_BY_ID", &by_id)
        .args(&["--json", "agent", "install", "--firmware", "agent.uf2"])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    rom_takes(&drive, &image);
    // The board restarts into the new agent.
    let sim = Sim::start(
        d.path(),
        "board.img",
        &["--pty", "--by-id", by_id.to_str().unwrap()],
    );
    let r: Run = install.wait_with_output().unwrap().into();
    let doc = r.ok().json();
    let serial = status(d.path(), &sim.port)["device_id"].clone();
    assert_eq!(doc["result"], "installed", "{doc}");
    assert_eq!(doc["serial"], serial);
    assert_eq!(doc["via"], drive.display().to_string());
    assert_eq!(doc["device"]["state"], "empty");
}

#[test]
fn install_all_sends_a_running_agent_to_bootsel_first() {
    let d = tempdir();
    let drive = d.path().join("RPI-RP2");
    let by_id = d.path().join("by-id");
    let (mut sim, pty, log) = sim_with_log(d.path(), "board.img", &by_id);
    let serial = status(d.path(), &pty)["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    let image = uf2(2);
    std::fs::write(d.path().join("agent.uf2"), &image).unwrap();
    let install = ota_in(d.path())
        .env("OTA_RPI_RP2_DRIVES", &drive)
        .env("OTA_SERIAL_BY_ID", &by_id)
        .args(&["--all", "agent", "install", "--firmware", "agent.uf2"])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The agent is asked for BOOTSEL; then its drive appears.
    wait_line(&log, "BOOTSEL requested (1 so far)");
    make_drive(&drive);
    rom_takes(&drive, &image);
    let r: Run = install.wait_with_output().unwrap().into();
    let r = r.ok();
    assert!(
        r.stderr
            .contains(&format!("{serial}: running the agent; sent to BOOTSEL")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("{serial}: agent sim-")),
        "{}",
        r.stderr
    );
    let _ = sim.kill();
    let _ = sim.wait();
}

#[test]
fn install_without_a_board_in_bootsel_says_what_to_do() {
    let d = tempdir();
    std::fs::write(d.path().join("agent.uf2"), uf2(1)).unwrap();
    let r = ota_in(d.path())
        .env("OTA_RPI_RP2_DRIVES", d.path().join("none"))
        .env("OTA_SERIAL_BY_ID", d.path().join("none"))
        .args(&["agent", "install", "--firmware", "agent.uf2"])
        .run();
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("no Pico in BOOTSEL mode"), "{}", r.stderr);
    assert!(r.stderr.contains("hold BOOTSEL"), "{}", r.stderr);
}

#[test]
fn bootsel_touches_an_application_at_1200_baud_then_asks_the_agent_it_reboots_into() {
    use serialport::{SerialPort, TTYPort};
    let d = tempdir();
    let by_id = d.path().join("by-id");
    std::fs::create_dir_all(&by_id).unwrap();
    let serial = status(d.path(), "sim:board.img")["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    // The application's port: a pseudo-terminal named by a by-id link.
    let (master, slave) = TTYPort::pair().unwrap();
    let app_link = by_id.join(format!("usb-ota_demo_app_{serial}-if00"));
    std::os::unix::fs::symlink(slave.name().unwrap(), &app_link).unwrap();
    drop(slave);
    let bootsel = ota_in(d.path())
        .env("OTA_SERIAL_BY_ID", &by_id)
        .args(&["--serial", &serial, "bootsel"])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The application sees its port set to 1200 baud (the master reads the
    // terminal's settings), and reboots into the agent.
    let deadline = Instant::now() + WAIT;
    while master.baud_rate().unwrap_or(0) != 1200 {
        assert!(Instant::now() < deadline, "no 1200-baud touch");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::remove_file(&app_link).unwrap();
    drop(master);
    let (mut sim, _pty, log) = sim_with_log(d.path(), "board.img", &by_id);
    let r: Run = bootsel.wait_with_output().unwrap().into();
    let r = r.ok();
    assert!(
        r.stderr
            .contains(&format!("{serial}: sent to BOOTSEL mode")),
        "{}",
        r.stderr
    );
    wait_line(&log, "BOOTSEL requested (1 so far)");
    let _ = sim.kill();
    let _ = sim.wait();
}

#[test]
fn devices_lists_a_board_in_bootsel_mode_by_its_drive() {
    let d = tempdir();
    let drive = d.path().join("RPI-RP2");
    make_drive(&drive);
    let r = ota_in(d.path())
        .env("OTA_RPI_RP2_DRIVES", &drive)
        .env("OTA_SERIAL_BY_ID", d.path().join("none"))
        .args(&["--json", "devices"])
        .run();
    let doc = r.ok().json();
    let found = doc["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["port"] == drive.display().to_string())
        .unwrap_or_else(|| panic!("{doc}"))
        .clone();
    assert!(
        found["kind"].as_str().unwrap().contains("BOOTSEL"),
        "{found}"
    );
}

#[test]
fn bootsel_on_micropython_calls_machine_bootloader_at_its_repl() {
    use serialport::{SerialPort, TTYPort};
    let d = tempdir();
    let by_id = d.path().join("by-id");
    std::fs::create_dir_all(&by_id).unwrap();
    let serial = "e6614c311b7e6f35";
    let (mut master, slave) = TTYPort::pair().unwrap();
    let tty = slave.name().unwrap();
    std::os::unix::fs::symlink(
        &tty,
        by_id.join(format!("usb-MicroPython_Board_in_FS_mode_{serial}-if00")),
    )
    .unwrap();
    drop(slave);
    // The board side stays open (not exclusively), so what ota writes waits
    // for the test to read it after ota closed the port.
    let _held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&tty)
        .unwrap();
    let r = ota_in(d.path())
        .env("OTA_SERIAL_BY_ID", &by_id)
        .args(&["--serial", serial, "bootsel"])
        .run();
    let r = r.ok();
    assert!(r.stderr.contains("sent to BOOTSEL mode"), "{}", r.stderr);
    master.set_timeout(Duration::from_millis(200)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + WAIT;
    while !String::from_utf8_lossy(&got).contains("machine.bootloader()\r\n") {
        assert!(
            Instant::now() < deadline,
            "got {:?}",
            String::from_utf8_lossy(&got)
        );
        if let Ok(n) = std::io::Read::read(&mut master, &mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert!(got.starts_with(b"\r\x03\x03"), "Ctrl-C first: {got:?}");
}
