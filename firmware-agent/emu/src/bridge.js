'use strict';
// Bridges the emulated CDC port to a TCP port: what a host writes to the
// socket goes to the firmware's OUT endpoint through the 512-byte host FIFO
// (the socket is paused while the FIFO is full), what the firmware writes to
// its IN endpoint goes to the socket.
//
// One host at a time, as with a serial port: a new connection replaces the
// old one (a host that reconnects may do so before its old socket is gone).
// When the chip resets, the USB device goes away: the bridge closes the
// socket, as a serial port closes when its device unplugs, and the host
// reconnects once the chip is back.
//
// A connection whose first byte is IAC (0xFF, which no COBS frame starts
// with) speaks RFC 2217 (src/rfc2217.js): its data travels escaped, and it
// sets the CDC line's baud rate and DTR, so a host's 1200-baud touch reaches
// a running application (ota's rfc2217://, pyserial, labgrid). Any other
// connection is the raw byte stream (ota's tcp:). RFC 2217 opens the serial
// port itself, so while the board is off USB (resetting, enumerating) such a
// connection is closed at once, as ser2net closes one when its device is gone;
// the host tries again. A new connection takes the
// device once it sends its first bytes; with no current host it is attached
// at once (a console that only reads).

const net = require('net');
const { Rfc2217Server, IAC } = require('./rfc2217');

function bridge(pico, { host = '127.0.0.1', port = 0, note = () => {} } = {}) {
  let current = null;

  const drop = (s, why) => {
    if (!s) return;
    if (!s.destroyed) s.destroy();
    if (current === s) {
      // What the host wrote before it closed still reaches the device, as a
      // tty's close waits for its output to drain.
      current = null;
      note({ event: 'host-disconnected', why });
    }
  };

  const server = net.createServer((s) => {
    s.setNoDelay(true);
    if (!current) attach(s);
    const first = (d) => {
      s.removeListener('data', first);
      if (current !== s) attach(s);
      if (d[0] === IAC) {
        if (pico.runningImage() === 'none') return drop(s, 'no USB device to open');
        const telnet = new Rfc2217Server({
          write: (b) => s.destroyed || s.write(b),
          data: (b) => forward(s, b),
          line: (state) => {
            note({ event: 'rfc2217', ...state });
            pico.hostLine(state);
          },
        });
        s.telnet = telnet;
        s.on('data', (more) => telnet.receive(more));
        telnet.receive(d);
      } else {
        s.on('data', (more) => forward(s, more));
        forward(s, d);
      }
    };
    s.on('data', first);
    s.on('error', () => {});
  });

  const attach = (s) => {
    if (current) drop(current, 'replaced by a new connection');
    current = s;
    note({ event: 'host-connected' });
    s.on('close', () => drop(s, 'closed by the host'));
  };

  const forward = (s, d) => {
    if (current !== s) return;
    if (!pico.hostWrite(d)) s.pause(); // the FIFO is full: TCP holds the rest
  };

  pico.on('drain', () => {
    if (current) current.resume();
  });
  pico.on('serial', (bytes) => {
    if (!current || current.destroyed) return;
    if (current.telnet) current.telnet.send(bytes);
    else current.write(bytes);
  });
  pico.on('reset', () => drop(current, 'device reset'));
  pico.on('stopped', () => {
    drop(current, 'emulator stopped');
    server.close();
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

module.exports = { bridge };
