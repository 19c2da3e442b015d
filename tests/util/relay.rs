//! A TCP relay between ota and an agent that injects link faults: flipped
//! bytes, dropped reads, a cut connection, lost Reboot requests, and (for
//! fleets) a link that never comes back. With `single`, it plays an ordinary
//! one-connection forwarder (socat without fork, ser2net): it serves one
//! client at a time and takes the next only when that one ends.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};

#[derive(Clone, Copy, Default)]
pub struct Faults {
    pub seed: u64,
    /// One in `corrupt` forwarded reads gets a flipped byte (0: never).
    pub corrupt: u64,
    /// One in `drop` forwarded reads is dropped whole (0: never).
    pub drop: u64,
    /// Cut the first connection after this many bytes towards the agent (0: never).
    pub cut_after: u64,
    /// After the cut, every new connection is closed at once: the device is gone for good.
    pub gone_after_cut: bool,
    /// Once the milestone is reached on the first connection, forward nothing
    /// more towards the agent until [`Relay::release`] (a test acts meanwhile).
    pub hold_at_milestone: bool,
    /// The first this many Reboot requests towards the agent are lost
    /// (on each data connection).
    pub lose_reboots: u32,
    /// One connection at a time: the next client waits until the current one ends.
    pub single: bool,
}

/// The bytes of a Reboot request's frame, as ota sends it.
fn reboot_frame() -> Vec<u8> {
    let (mut scratch, mut frame) = ([0u8; 64], [0u8; 64]);
    let n = ota_protocol::encode_frame(&ota_protocol::Request::Reboot, &mut scratch, &mut frame)
        .unwrap();
    frame[..n].to_vec()
}

/// `bytes` without the first Reboot frame in them, if there is one.
fn without_reboot(bytes: &[u8]) -> Option<Vec<u8>> {
    let frame = reboot_frame();
    let at = bytes.windows(frame.len()).position(|w| w == frame)?;
    Some([&bytes[..at], &bytes[at + frame.len()..]].concat())
}

/// A TCP relay with faults. `upstream` may change (the agent restarted elsewhere).
pub struct Relay {
    pub addr: String,
    pub upstream: Arc<Mutex<String>>,
    /// Bytes forwarded towards the agent so far.
    pub to_agent: Arc<AtomicU64>,
    /// Clients accepted so far.
    pub connections: Arc<AtomicU64>,
    gate: Gate,
}

/// Closed while the relay holds the link (see `Faults::hold_at_milestone`).
type Gate = Arc<(Mutex<bool>, Condvar)>;

fn rng(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

impl Relay {
    pub fn start(
        upstream: &str,
        faults: Faults,
        milestone: Option<(u64, mpsc::Sender<()>)>,
    ) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("tcp:{}", listener.local_addr().unwrap());
        let upstream = Arc::new(Mutex::new(upstream.trim_start_matches("tcp:").to_string()));
        let to_agent = Arc::new(AtomicU64::new(0));
        let (up, count) = (upstream.clone(), to_agent.clone());
        let milestone = Arc::new(Mutex::new(milestone));
        let gate: Gate = Arc::new((Mutex::new(false), Condvar::new()));
        let gate2 = gate.clone();
        let data_connections = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let accepted = connections.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                accepted.fetch_add(1, Ordering::SeqCst);
                let (up, count, milestone) = (up.clone(), count.clone(), milestone.clone());
                let (data_connections, gate) = (data_connections.clone(), gate2.clone());
                let serve = move || {
                    relay_connection(
                        client,
                        &up,
                        faults,
                        &data_connections,
                        (count, milestone, gate),
                    )
                };
                match faults.single {
                    true => serve(),
                    false => drop(std::thread::spawn(serve)),
                }
            }
        });
        Relay {
            addr,
            upstream,
            to_agent,
            connections,
            gate,
        }
    }

    /// Lets a held link go on.
    pub fn release(&self) {
        let (open, cv) = &*self.gate;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }
}

type Milestone = Arc<Mutex<Option<(u64, mpsc::Sender<()>)>>>;

fn wait_open(gate: &Gate) {
    let (open, cv) = &**gate;
    let mut g = open.lock().unwrap();
    while !*g {
        g = cv.wait(g).unwrap();
    }
}

/// One client: the faults, the first connection its cut and its hold.
fn relay_connection(
    mut client: TcpStream,
    up: &Mutex<String>,
    faults: Faults,
    data_connections: &AtomicU64,
    (count, milestone, gate): (Arc<AtomicU64>, Milestone, Gate),
) {
    let mut first = [0u8; 512];
    let n = match client.read(&mut first) {
        Ok(n) if n > 0 => n,
        _ => return,
    };
    let target = up.lock().unwrap().clone();
    let index = data_connections.fetch_add(1, Ordering::SeqCst);
    if index > 0 && faults.gone_after_cut {
        return;
    }
    let Ok(mut agent) = TcpStream::connect(&target) else {
        return;
    };
    // As ota and the agent do: small frames go out at once, not after an ACK.
    let _ = client.set_nodelay(true);
    let _ = agent.set_nodelay(true);
    let cut = if index == 0 { faults.cut_after } else { 0 };
    let seed = faults.seed + index;
    if agent.write_all(&first[..n]).is_err() {
        return;
    }
    count.fetch_add(n as u64, Ordering::SeqCst);
    let hold = (index == 0 && faults.hold_at_milestone).then_some(gate);
    let (c2, a2) = (client.try_clone().unwrap(), agent.try_clone().unwrap());
    let back = std::thread::spawn(move || pump(a2, c2, faults, seed ^ 0xABCD, 0, None));
    pump(
        client,
        agent,
        faults,
        seed,
        cut,
        Some((count, milestone, hold)),
    );
    let _ = back.join();
}

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    f: Faults,
    mut seed: u64,
    cut: u64,
    count: Option<(Arc<AtomicU64>, Milestone, Option<Gate>)>,
) {
    let mut buf = [0u8; 512];
    let mut sent = 0u64;
    let mut lose_reboots = if count.is_some() { f.lose_reboots } else { 0 };
    seed |= 1;
    loop {
        let mut n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if lose_reboots > 0 {
            if let Some(kept) = without_reboot(&buf[..n]) {
                lose_reboots -= 1;
                buf[..kept.len()].copy_from_slice(&kept);
                n = kept.len();
            }
        }
        if f.drop > 0 && rng(&mut seed).is_multiple_of(f.drop) {
            continue;
        }
        if f.corrupt > 0 && rng(&mut seed).is_multiple_of(f.corrupt) {
            let i = (rng(&mut seed) as usize) % n;
            buf[i] ^= 0x5A;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        sent += n as u64;
        if let Some((total, milestone, hold)) = &count {
            let t = total.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
            let mut m = milestone.lock().unwrap();
            if m.as_ref().is_some_and(|(at, _)| t >= *at) {
                let (_, tx) = m.take().unwrap();
                drop(m);
                let _ = tx.send(());
                if let Some(gate) = hold {
                    wait_open(gate);
                }
            }
        }
        if cut > 0 && sent >= cut {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
