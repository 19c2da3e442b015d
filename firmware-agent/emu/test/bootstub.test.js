'use strict';
// The boot stub and its assembler, without the firmware: encodings checked
// against a disassembler, and the stub run in rp2040js.

const test = require('node:test');
const assert = require('node:assert/strict');
const { RP2040 } = require('rp2040js');
const { T, assemble } = require('../src/thumb');
const { buildBootStub, FUNCTIONS, BKPT, code16 } = require('../src/bootstub');
const { serveBreak, popcount, reverse32, clz32, ctz32 } = require('../src/rom');

const one = (item, pc = 0) => assemble([item], pc).bytes.readUInt16LE(0);

test('Thumb encodings match the ARMv6-M manual (as llvm-objdump reads them)', () => {
  assert.equal(one(T.movs('r0', 0)), 0x2000);
  assert.equal(one(T.adds('r0', 4)), 0x3004);
  assert.equal(one(T.cmpi('r2', 0)), 0x2a00);
  assert.equal(one(T.cmp('r2', 'r1')), 0x428a);
  assert.equal(one(T.mov('sp', 'r2')), 0x4695);
  assert.equal(one(T.str('r1', 'r0', 0)), 0x6001);
  assert.equal(one(T.ldr('r3', 'r1', 4)), 0x684b);
  assert.equal(one(T.ldrh('r0', 'r0', 2)), 0x8840);
  assert.equal(one(T.bx('lr')), 0x4770);
  assert.equal(one(T.bx('r3')), 0x4718);
  assert.equal(one(T.bkpt(0xfd)), 0xbefd);
  // Branches: target - (pc + 4), in half-words.
  const back = assemble([T.label('x'), T.nop(), T.nop(), T.b('x')], 0).bytes;
  assert.equal(back.readUInt16LE(4), 0xe7fc); // b -8: 0 - (4 + 4)
  const fwd = assemble([T.bcond('eq', 'y'), T.nop(), T.nop(), T.nop(), T.label('y')], 0).bytes;
  assert.equal(fwd.readUInt16LE(0), 0xd002); // beq +4
  // ldr rt, [pc, #imm]: from the word-aligned pc + 4.
  const lit = assemble([T.nop(), T.ldrLit('r0', 'v'), T.align(4), T.label('v'), T.word(0x12345678)], 0).bytes;
  assert.equal(lit.readUInt16LE(2), 0x4800); // ldr r0, [pc, #0]: (2 + 4) & ~3 = 4
  assert.throws(() => one(T.movs('r8', 1)), /only r0-r7/);
  assert.throws(() => one(T.adds('r0', 256)), /does not fit/);
});

test('the stub carries the vectors and the ROM header embassy-rp reads', () => {
  const { bytes, labels } = buildBootStub();
  assert.equal(bytes.readUInt32LE(0), 0x20042000);
  assert.equal(bytes.readUInt32LE(4), labels.get('reset') | 1);
  assert.deepEqual([...bytes.subarray(0x10, 0x13)], [0x4d, 0x75, 0x01]); // 'M' 'u' 1
  assert.equal(bytes.readUInt16LE(0x14), labels.get('func_table'));
  assert.equal(bytes.readUInt16LE(0x16), labels.get('data_table'));
  assert.equal(bytes.readUInt16LE(0x18), labels.get('rom_table_lookup') | 1);
  for (const code of ['IF', 'EX', 'RE', 'RP', 'FC', 'CX', 'C4', 'MC', 'MS']) {
    assert.ok(FUNCTIONS.some((f) => f.code === code), code);
  }
});

/** A chip with the stub as its ROM, running until `bkpt #0xaa` at `stop`. */
function chip() {
  const stub = buildBootStub();
  const mcu = new RP2040();
  mcu.logger = { debug() {}, info() {}, warn() {}, error() {} };
  mcu.loadBootrom(stub.words);
  const STOP = 0x20000000;
  mcu.writeUint16(STOP, 0xbeaa);
  const c = {
    mcu,
    stub,
    STOP,
    lookups: [],
    calls: [],
    notes: [],
    stopped: false,
    romLookup: (code) => c.lookups.push(code),
    romCall: (code) => c.calls.push(code),
    note: (ev) => c.notes.push(ev),
    erase: (off, n) => mcu.flash.fill(0xff, off, off + n),
    program: (off, data) => data.forEach((b, i) => (mcu.flash[off + i] &= b)),
    busy: [],
    flashBusy: (ns, op) => c.busy.push([op, ns]),
  };
  mcu.onBreak = (n) => {
    if (n === 0xaa) c.stopped = true;
    else if (!serveBreak(n, c)) c.stopped = 'halt';
  };
  c.run = (limit = 10000) => {
    c.stopped = false;
    for (let i = 0; i < limit && !c.stopped; i++) mcu.core.executeInstruction();
    assert.equal(c.stopped, true, 'the code ran to its end');
  };
  /** Calls a Thumb function at `addr` with r0.. = args; returns r0. */
  c.call = (addr, ...args) => {
    args.forEach((a, i) => (mcu.core.registers[i] = a >>> 0));
    mcu.core.LR = STOP | 1;
    mcu.core.PC = addr & ~1;
    c.run();
    return mcu.core.registers[0] >>> 0;
  };
  return c;
}

test('the reset handler points VTOR at the firmware and jumps to its reset vector', () => {
  const c = chip();
  const { mcu } = c;
  // A fake firmware: vectors at 0x10000100, reset handler at 0x10000200 = bkpt #0xaa.
  mcu.flashView.setUint32(0x100, 0x20001000, true);
  mcu.flashView.setUint32(0x104, 0x10000201, true);
  mcu.flashView.setUint16(0x200, 0xbeaa, true);
  mcu.core.reset(); // SP and PC from the stub's vectors
  c.run();
  assert.equal(mcu.core.VTOR >>> 0, 0x10000100);
  assert.equal(mcu.core.SP >>> 0, 0x20001000);
  assert.equal(mcu.core.PC >>> 0, 0x10000202); // past the bkpt
});

test('rom_table_lookup walks the table in Thumb code, and every stub is bkpt; bx lr', () => {
  const c = chip();
  const { mcu } = c;
  const lookup = mcu.readUint16(0x18);
  const funcs = mcu.readUint16(0x14);
  for (const f of FUNCTIONS) {
    const ptr = c.call(lookup, funcs, code16(f.code));
    assert.equal(ptr & 1, 1, `${f.code}: a Thumb pointer`);
    assert.equal(mcu.readUint16(ptr & ~1), 0xbe00 | f.bkpt, `${f.code}: bkpt #${f.bkpt}`);
    assert.equal(mcu.readUint16((ptr & ~1) + 2), 0x4770, `${f.code}: bx lr`);
  }
  assert.deepEqual(c.lookups, FUNCTIONS.map((f) => f.code)); // the emulator sees each code asked for
  assert.equal(c.call(lookup, funcs, code16('ZZ')), 0);
  assert.deepEqual(c.notes.at(-1), { event: 'rom-missing', code: 'ZZ' });
  const data = mcu.readUint16(0x16);
  const cr = c.call(lookup, data, code16('CR'));
  let s = '';
  for (let a = cr; mcu.readUint8(a); a++) s += String.fromCharCode(mcu.readUint8(a));
  assert.match(s, /not the RP2040 bootrom/);
});

test('the ROM functions act on flash as NOR does, and on memory', () => {
  const c = chip();
  const { mcu } = c;
  const lookup = mcu.readUint16(0x18);
  const funcs = mcu.readUint16(0x14);
  const fn = (code) => c.call(lookup, funcs, code16(code));
  const [RE, RP, MC, C4, MS] = ['RE', 'RP', 'MC', 'C4', 'MS'].map(fn);

  mcu.flash.fill(0x00, 0x80000, 0x82000);
  c.call(RE, 0x80000, 4096, 1 << 31, 0);
  assert.ok(mcu.flash.subarray(0x80000, 0x81000).every((b) => b === 0xff));
  assert.equal(mcu.flash[0x81000], 0x00, 'only the sector asked for');

  const src = 0x20001000;
  [0xf0, 0x0f, 0xaa, 0x55].forEach((b, i) => mcu.writeUint8(src + i, b));
  c.call(RP, 0x80000, src, 4);
  c.call(RP, 0x10080000, src + 1, 3); // an XIP address works too
  // Programming only clears bits: 0xf0 & 0x0f = 0, 0x0f & 0xaa = 0x0a, ...
  assert.deepEqual([...mcu.flash.subarray(0x80000, 0x80004)], [0x00, 0x0a, 0x00, 0x55]);

  const ret = c.call(MC, 0x20002000, src, 4);
  assert.equal(ret, 0x20002000, 'memcpy returns dest');
  assert.equal(mcu.readUint32(0x20002000), mcu.readUint32(src));
  c.call(C4, 0x20003000, 0x10080000, 4);
  assert.equal(mcu.readUint32(0x20003000), mcu.flashView.getUint32(0x80000, true));
  c.call(MS, 0x20004000, 0x5a, 8);
  assert.equal(mcu.readUint32(0x20004004), 0x5a5a5a5a);
  assert.deepEqual(c.calls, ['RE', 'RP', 'RP', 'MC', 'C4', 'MS']);
});

test('flash_range_erase issues block erases where its block size fits, sectors elsewhere, each taking the chip\'s time', () => {
  const c = chip();
  const { mcu } = c;
  const lookup = mcu.readUint16(0x18);
  const funcs = mcu.readUint16(0x14);
  const [RE, RP] = ['RE', 'RP'].map((code) => c.call(lookup, funcs, code16(code)));
  // 0x8F000..0xA1000: one sector, one whole 64 KiB block, one more sector.
  mcu.flash.fill(0x00, 0x8e000, 0xa2000);
  c.call(RE, 0x8f000, 0x12000, 1 << 16, 0xd8);
  assert.ok(mcu.flash.subarray(0x8f000, 0xa1000).every((b) => b === 0xff));
  assert.equal(mcu.flash[0x8e000], 0x00);
  assert.equal(mcu.flash[0xa1000], 0x00);
  assert.deepEqual(c.busy, [
    ['erase 0x20', 45e6],
    ['erase 0xd8', 150e6],
    ['erase 0x20', 45e6],
  ]);
  c.busy.length = 0;
  c.call(RE, 0x90000, 0x10000, 1 << 31, 0); // embassy-rp's call: sectors only
  assert.equal(c.busy.length, 16);
  c.busy.length = 0;
  c.call(RP, 0x90080, 0x20000000, 512); // straddles three pages
  assert.deepEqual(c.busy, [['program', 3 * 0.4e6]]);
  c.stopped = false;
  mcu.core.registers.set([0x90000, 0x10000, 0x10000, 0x99], 0);
  mcu.core.LR = c.STOP | 1;
  mcu.core.PC = RE & ~1;
  for (let i = 0; i < 10 && !c.stopped; i++) mcu.core.executeInstruction();
  assert.equal(c.stopped, 'halt', 'an erase command the chip lacks stops the firmware');
  assert.match(c.notes.at(-1).why, /no W25Q16JV erase/);
});

test('reset_to_usb_boot is reported with its arguments and stops the firmware', () => {
  const c = chip();
  const lookup = c.mcu.readUint16(0x18);
  const UB = c.call(lookup, c.mcu.readUint16(0x14), code16('UB'));
  c.mcu.core.registers[0] = 0;
  c.mcu.core.registers[1] = 2;
  c.mcu.core.PC = UB & ~1;
  c.mcu.core.LR = c.STOP | 1;
  c.stopped = false;
  for (let i = 0; i < 10 && !c.stopped; i++) c.mcu.core.executeInstruction();
  assert.equal(c.stopped, 'halt', 'the call does not return');
  assert.deepEqual(c.calls, ['UB']);
  assert.deepEqual(c.notes.at(-1), { event: 'reset-to-usb-boot', gpio_activity_mask: 0, disable_interface_mask: 2 });
});

test('the bit helpers', () => {
  assert.equal(popcount(0xf00f0001), 9);
  assert.equal(reverse32(1), 0x80000000);
  assert.equal(reverse32(0x80000000), 1);
  assert.equal(clz32(0), 32);
  assert.equal(clz32(1), 31);
  assert.equal(ctz32(0), 32);
  assert.equal(ctz32(0x80000000), 31);
  assert.equal(BKPT.LOOKUP, 0xfe);
});
