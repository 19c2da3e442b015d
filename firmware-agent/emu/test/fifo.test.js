'use strict';
// The host side of the CDC bridge, without a chip: bytes reach the OUT
// endpoint in order, through a FIFO of 512 bytes, and only when the firmware
// has armed a read.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Pico, HOST_FIFO } = require('../src/pico');

function fakePico() {
  const pico = new Pico({ flashFile: '/nonexistent' });
  const reads = [];
  pico.mcu = { usbCtrl: { endpointReadDone: (ep, buf) => reads.push({ ep, buf: Buffer.from(buf) }) } };
  pico.running = true;
  return { pico, reads };
}

test('host bytes wait for an armed read, in order, 512 at most in the FIFO', () => {
  const { pico, reads } = fakePico();
  let drained = 0;
  pico.on('drain', () => drained++);
  const data = Buffer.from(Array.from({ length: 2000 }, (_, i) => i & 0xff));
  assert.equal(pico.hostWrite(data.subarray(0, 1000)), false, 'more than the FIFO holds: the caller must wait');
  assert.equal(pico.fifoBytes, HOST_FIFO);
  assert.equal(reads.length, 0, 'nothing is delivered before the firmware arms a read');
  pico.hostWrite(data.subarray(1000));

  const got = [];
  while (got.length < data.length) {
    pico.pendingRead = { ep: 2, size: 64 };
    pico.deliver();
    const r = reads.shift();
    assert.equal(r.ep, 2);
    assert.ok(r.buf.length > 0 && r.buf.length <= 64);
    assert.ok(pico.fifoBytes <= HOST_FIFO);
    got.push(...r.buf);
  }
  assert.deepEqual(Buffer.from(got), data);
  assert.equal(drained, 1, "'drain' once the backlog has gone into the FIFO");

  pico.pendingRead = { ep: 2, size: 64 };
  pico.deliver();
  assert.equal(reads.length, 0, 'no empty packets: the read waits for data');
  pico.hostWrite(Buffer.from('x'));
  assert.deepEqual(reads.shift().buf, Buffer.from('x'));
});

test('a device reset drops what the host sent and the device had not taken', () => {
  const { pico, reads } = fakePico();
  pico.hostWrite(Buffer.alloc(700, 1));
  pico.hostFlush();
  pico.hostWrite(Buffer.from('new'));
  pico.pendingRead = { ep: 1, size: 64 };
  pico.deliver();
  assert.deepEqual(reads.shift().buf, Buffer.from('new'));
});
