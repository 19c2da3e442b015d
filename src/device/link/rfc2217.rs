//! `rfc2217://HOST:PORT`: a serial port on another machine through an RFC
//! 2217 (Telnet COM Port Control) server such as ser2net, pyserial's
//! PortManager, a labgrid exporter, `ota agent sim --listen` or the emulator
//! bridge. One TCP connection carries the data (0xFF escaped as RFC 2217
//! requires) and the line control the 1200-baud touch needs: SET-BAUDRATE
//! 1200, then SET-CONTROL DTR off. The Telnet state machines are the
//! `rfc2217` crate's; this file only does the socket I/O and the deadlines.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rfc2217::{Client, ComPortState, Event, ModemState, PortSettings};

use crate::device::error;
use crate::device::link::line_control::TOUCH_BAUD;
use crate::device::link::transport::Transport;

/// The line a session runs at; a USB CDC port ignores it, a UART bridge
/// (ser2net in front of a USB-serial adapter) needs it.
pub const DATA_BAUD: u32 = 115_200;

pub struct Rfc2217 {
    addr: String,
    conn: Option<Conn>,
    connect_timeout: Duration,
    /// Serial data received and not handed out yet.
    pending: Vec<u8>,
}

struct Conn {
    sock: TcpStream,
    client: Client,
    /// The server's modem lines, when it reports them.
    modem: Option<ModemState>,
}

impl Rfc2217 {
    pub fn open(addr: &str, connect_timeout: Duration) -> anyhow::Result<Rfc2217> {
        let mut t = Rfc2217::unopened(addr, connect_timeout);
        t.open_within(connect_timeout)
            .map_err(|e| error::link(format!("rfc2217://{addr}: cannot connect: {e}")))?;
        Ok(t)
    }

    /// The link, not yet connected: `open_within` or `reconnect` opens it.
    pub fn unopened(addr: &str, connect_timeout: Duration) -> Rfc2217 {
        Rfc2217 {
            addr: addr.to_string(),
            conn: None,
            connect_timeout,
            pending: Vec::new(),
        }
    }

    /// Connects. A server in front of a board that is off USB (resetting,
    /// enumerating, or running an application without USB) has no port to
    /// open and closes at once: it is tried again for `patience`, and the
    /// error is then one that [`closed`] recognises.
    pub fn open_within(&mut self, patience: Duration) -> io::Result<()> {
        let deadline = Instant::now() + patience;
        loop {
            match self.reconnect() {
                Ok(()) => return Ok(()),
                Err(e) if closed(&e) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The server's modem lines (CTS, DSR, CD, RI), when it reported them.
    pub fn modem_state(&self) -> Option<ModemState> {
        self.conn.as_ref().and_then(|c| c.modem)
    }

    fn conn(&mut self) -> io::Result<&mut Conn> {
        self.conn.as_mut().ok_or(io::ErrorKind::NotConnected.into())
    }
}

/// The server closed the connection (rather than refusing or not answering it).
pub fn closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

impl Conn {
    fn flush(&mut self) -> io::Result<()> {
        let out = self.client.take_output();
        if !out.is_empty() {
            self.sock.write_all(&out)?;
        }
        Ok(())
    }

    /// One read within `timeout`: the serial data in it (maybe none), with
    /// the server's reports taken and answered. A closed connection is an error.
    fn read(&mut self, timeout: Duration) -> io::Result<Vec<u8>> {
        let mut raw = [0u8; 4096];
        self.sock
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        let n = match self.sock.read(&mut raw) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed by the server",
                ))
            }
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(Vec::new())
            }
            Err(e) => return Err(e),
        };
        let data = self.client.receive(&raw[..n]);
        while let Some(event) = self.client.poll_event() {
            if let Event::ModemState(m) = event {
                self.modem = Some(m);
            }
        }
        self.flush()?;
        Ok(data)
    }

    /// Telnet negotiation until the server takes COM-PORT-OPTION. Data that
    /// arrives meanwhile is kept in `early`.
    fn negotiate(&mut self, addr: &str, timeout: Duration, early: &mut Vec<u8>) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            self.flush()?;
            match self.client.com_port_state() {
                ComPortState::Active => return Ok(()),
                ComPortState::Refused => {
                    return Err(io::Error::other(format!(
                        "{addr} is a Telnet server without RFC 2217 (it refused COM-PORT-OPTION); \
                         for a raw TCP port use tcp:{addr}"
                    )))
                }
                _ => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no RFC 2217 negotiation from {addr} within {}s; \
                         for a raw TCP port use tcp:{addr}",
                        timeout.as_secs_f32()
                    ),
                ));
            }
            early.extend(self.read(left)?);
        }
    }
}

impl Transport for Rfc2217 {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let c = self.conn()?;
        c.client.write_data(bytes);
        c.flush()
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let deadline = Instant::now() + timeout;
        while self.pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let data = self.conn()?.read(left)?;
            self.pending = data;
            if self.pending.is_empty() && Instant::now() >= deadline {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }

    fn reconnect(&mut self) -> io::Result<()> {
        self.conn = None;
        self.pending.clear();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        for addr in std::net::ToSocketAddrs::to_socket_addrs(&self.addr)? {
            let sock = match TcpStream::connect_timeout(&addr, self.connect_timeout) {
                Ok(s) => s,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            sock.set_nodelay(true)?;
            let settings = PortSettings {
                baud_rate: DATA_BAUD,
                ..PortSettings::default()
            };
            let mut conn = Conn {
                sock,
                client: Client::new(settings),
                modem: None,
            };
            let mut early = Vec::new();
            conn.negotiate(&self.addr, self.connect_timeout, &mut early)?;
            conn.client.set_dtr(true);
            conn.flush()?;
            self.pending = early;
            self.conn = Some(conn);
            return Ok(());
        }
        Err(last)
    }

    fn name(&self) -> String {
        format!("rfc2217://{}", self.addr)
    }

    fn blind_touch(&self) -> bool {
        true
    }

    /// SET-BAUDRATE 1200 and SET-CONTROL DTR off (a serial port opened at
    /// 1200 baud and closed), then the data line again. The connection stays
    /// open: a board that resets closes it, an agent answers on it.
    fn touch(&mut self) -> io::Result<()> {
        let c = self.conn()?;
        let mut settings = c.client.requested_settings();
        settings.baud_rate = TOUCH_BAUD;
        c.client.set_port_settings(settings);
        c.client.set_dtr(false);
        settings.baud_rate = DATA_BAUD;
        c.client.set_port_settings(settings);
        c.client.set_dtr(true);
        c.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfc2217::{Server, ServerEvent};
    use std::net::TcpListener;

    /// A server on the crate's other state machine: it records what the
    /// client asked for, and echoes data.
    fn serve(listener: TcpListener) -> std::thread::JoinHandle<(Vec<ServerEvent>, Vec<u8>)> {
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut server = Server::new(PortSettings::default());
            let (mut events, mut data, mut buf) = (Vec::new(), Vec::new(), [0u8; 512]);
            loop {
                // The client closes with replies unread: a reset ends it too.
                let _ = s.write_all(&server.take_output());
                let n = s.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    return (events, data);
                }
                let got = server.receive(&buf[..n]);
                data.extend_from_slice(&got);
                server.write_data(&got);
                while let Some(e) = server.poll_event() {
                    events.push(e);
                }
            }
        })
    }

    #[test]
    fn data_travels_escaped_and_the_touch_is_baud_then_dtr() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = serve(listener);
        let mut t = Rfc2217::open(&addr, Duration::from_secs(5)).unwrap();
        let payload = [0x00, 0xFF, 0x01, 0xFF, 0xFF, 0x02];
        t.send(&payload).unwrap();
        let mut back = Vec::new();
        let mut buf = [0u8; 16];
        while back.len() < payload.len() {
            let n = t.recv(&mut buf, Duration::from_secs(5)).unwrap();
            assert!(n > 0, "the echo came back");
            back.extend_from_slice(&buf[..n]);
        }
        assert_eq!(back, payload);
        t.touch().unwrap();
        // A byte after the touch comes back once the server has taken it all.
        t.send(b"!").unwrap();
        while t.recv(&mut buf, Duration::from_secs(5)).unwrap() == 0 {}
        drop(t);
        let (events, data) = server.join().unwrap();
        assert_eq!(
            data[..payload.len()],
            payload,
            "0xFF unescaped on the server side"
        );
        let line: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                ServerEvent::SettingsChanged(s) => Some(format!("baud {}", s.baud_rate)),
                ServerEvent::Dtr(on) => Some(format!("dtr {on}")),
                _ => None,
            })
            .collect();
        assert_eq!(
            line,
            [
                "baud 115200",
                "dtr true",
                "baud 1200",
                "dtr false",
                "baud 115200",
                "dtr true"
            ]
        );
    }

    #[test]
    fn a_raw_port_is_named_as_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let quiet = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 64];
            while s.read(&mut buf).is_ok_and(|n| n > 0) {}
        });
        let e = Rfc2217::open(&addr, Duration::from_millis(200))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(&format!("use tcp:{addr}")), "{e}");
        quiet.join().unwrap();
    }
}
