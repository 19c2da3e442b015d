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

const net = require('net');

function bridge(pico, { host = '127.0.0.1', port = 0, note = () => {} } = {}) {
  let current = null;

  const drop = (s, why) => {
    if (s && !s.destroyed) s.destroy();
    if (current === s) {
      // What the host wrote before it closed still reaches the device, as a
      // tty's close waits for its output to drain.
      current = null;
      note({ event: 'host-disconnected', why });
    }
  };

  const server = net.createServer((s) => {
    s.setNoDelay(true);
    if (current) drop(current, 'replaced by a new connection');
    current = s;
    note({ event: 'host-connected' });
    s.on('data', (d) => {
      if (current !== s) return;
      if (!pico.hostWrite(d)) s.pause(); // the FIFO is full: TCP holds the rest
    });
    s.on('error', () => {});
    s.on('close', () => drop(s, 'closed by the host'));
  });

  pico.on('drain', () => {
    if (current) current.resume();
  });
  pico.on('serial', (bytes) => {
    if (current && !current.destroyed) current.write(bytes);
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
