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
// A connection whose first byte is 0xFF carries one control line instead of
// data, the way ota's tcp: ports ask for what a serial port would show
// (src/device/link/line_control.rs on the host side):
//   \xFFOTA-DESCRIBE\n    -> \xFFOTA {"running":"agent"|"application"|"none"}\n
//   \xFFOTA-TOUCH 1200\n  -> \xFFOTA {"touched":true|false}\n   (open at 1200 baud, then close)
// COBS frames never start with 0xFF, so no data connection is mistaken for one.
// A new connection takes the device from the current one only once it sends
// data, so a control line never cuts off the host that holds the port; with no
// current host it is attached at once (a console that only reads).

const net = require('net');

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

  const control = (s, line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    let answer;
    if (cmd === 'OTA-DESCRIBE') answer = { running: pico.runningImage() };
    else if (cmd === 'OTA-TOUCH') answer = { touched: pico.touch(Number(arg) || 1200) };
    else answer = { error: `unknown control line: ${cmd}` };
    note({ event: 'control', line: line.trim(), answer });
    s.end('\xffOTA ' + JSON.stringify(answer) + '\n', 'latin1');
  };

  const server = net.createServer((s) => {
    s.setNoDelay(true);
    let first = null; // the bytes of a connection that has not said what it is yet
    if (!current) attach(s);
    const onData = (d) => {
      first = first ? Buffer.concat([first, d]) : Buffer.from(d);
      if (first[0] === 0xff) {
        if (current === s) current = null; // a control line, not a host
        const nl = first.indexOf(0x0a);
        if (nl >= 0) {
          s.removeListener('data', onData);
          control(s, first.subarray(1, nl).toString('latin1'));
        }
        return;
      }
      s.removeListener('data', onData);
      if (current !== s) attach(s);
      s.on('data', (more) => forward(s, more));
      forward(s, first);
    };
    s.on('data', onData);
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
