'use strict';
// The bridge's RFC 2217 server (src/rfc2217.js) on its own: Telnet option
// negotiation without loops, 0xFF escaped both ways, a subnegotiation taken
// in order with the data around it, and the touch (DTR dropped at 1200 baud)
// reported as the line changes a CDC port would see.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { Rfc2217Server } = require('../src/rfc2217');

const IAC = 0xff, SB = 0xfa, SE = 0xf0, WILL = 0xfb, DO = 0xfd, COM = 44;

function server() {
  const log = { out: [], data: [], line: [], order: [] };
  const s = new Rfc2217Server({
    write: (b) => log.out.push(...b),
    data: (b) => {
      log.data.push(...b);
      log.order.push(`data ${b.length}`);
    },
    line: (st) => {
      log.line.push(st);
      log.order.push(`${st.changed} ${st.changed === 'baud' ? st.baud : st.dtr}`);
    },
  });
  return { s, log };
}

const sub = (...b) => [IAC, SB, COM, ...b, IAC, SE];

describe('the RFC 2217 server of the bridge', () => {
  it('takes COM-PORT-OPTION once and reports the modem lines', () => {
    const { s, log } = server();
    s.receive(Buffer.from([IAC, WILL, COM, IAC, WILL, COM]));
    // DO COM-PORT-OPTION once, then NOTIFY-MODEMSTATE (107) with CTS, DSR, CD.
    assert.deepEqual(log.out, [IAC, DO, COM, ...sub(107, 0xb0)]);
  });

  it('unescapes IAC IAC from the host and escapes 0xFF to it', () => {
    const { s, log } = server();
    s.receive(Buffer.from([1, IAC, IAC, 2]));
    assert.deepEqual(log.data, [1, 0xff, 2]);
    s.send(Buffer.from([0xff, 3]));
    assert.deepEqual(log.out, [IAC, IAC, 3]);
  });

  it('answers SET-BAUDRATE and SET-CONTROL, in order with the data, and sees the touch', () => {
    const { s, log } = server();
    const baud1200 = sub(1, 0, 0, 0x04, 0xb0);
    s.receive(Buffer.from([7, ...baud1200, 8, ...sub(5, 9), ...sub(5, 8)]));
    assert.deepEqual(log.order, ['data 1', 'baud 1200', 'data 1', 'dtr false', 'dtr true']);
    const touch = log.line.find((l) => l.changed === 'dtr' && !l.dtr);
    assert.equal(touch.baud, 1200);
    // Each command answered with its code + 100 and the value applied.
    assert.deepEqual(log.out, [...sub(101, 0, 0, 0x04, 0xb0), ...sub(105, 9), ...sub(105, 8)]);
  });

  it('a subnegotiation split across reads is taken whole', () => {
    const { s, log } = server();
    const bytes = sub(1, 0, 1, 0xc2, 0x00); // 115200
    for (const b of bytes) s.receive(Buffer.from([b]));
    assert.deepEqual(log.order, ['baud 115200']);
  });
});
