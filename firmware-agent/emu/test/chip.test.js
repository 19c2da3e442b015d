'use strict';
// The emulated chip's resets and idle pacing, with tiny firmwares assembled
// here: a reset through the SCB, the watchdog's trigger the way embassy-rp
// pulls it, a watchdog timeout, and a firmware that only sleeps; the XIP
// checks: out of XIP mode, and an agent that runs from SRAM touching its own
// flash again.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const { T, assemble } = require('../src/thumb');
const { Pico, IDLE_LEAD_NS } = require('../src/pico');
const { buildBootStub } = require('../src/bootstub');

const WATCHDOG_CTRL = 0x40058000;
const WATCHDOG_LOAD = 0x40058004;

/** A firmware: 256 bytes of boot2, then vectors at 0x10000100 and `code` as its reset handler. */
function firmware(code, literals) {
  const { bytes } = assemble(
    [
      T.word(0x20042000),
      T.word((labels) => labels.get('main') | 1),
      T.label('main'),
      ...code,
      T.align(4),
      ...Object.entries(literals).flatMap(([name, v]) => [T.label(name), T.word(v)]),
    ],
    0x10000100,
  );
  return [
    { offset: 0, bytes: Buffer.alloc(256) },
    { offset: 0x100, bytes },
  ];
}

/** Boots `segments`, collects notes until `until(note, notes)` is true, then stops. */
function runUntil(segments, until, timeoutMs = 10000) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-chip-'));
  const pico = new Pico({ segments, flashFile: path.join(dir, 'flash.img') });
  const notes = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`timed out; notes: ${JSON.stringify(notes)}`)), timeoutMs);
    const finish = (err) => {
      clearTimeout(timer);
      pico.stop();
      fs.rmSync(dir, { recursive: true, force: true });
      if (err) reject(err);
      else resolve({ notes, pico });
    };
    pico.on('note', (n) => {
      if (n.event === 'rp2040js') return;
      notes.push(n);
      if (until(n, notes)) finish();
    });
    pico.powerOn();
  });
}

const secondBoot = (n) => n.event === 'boot' && n.boot === 2;

test('an SCB reset (AIRCR.SYSRESETREQ) restarts the chip', async () => {
  const fw = firmware([T.ldrLit('r0', 'aircr'), T.ldrLit('r1', 'req'), T.str('r1', 'r0'), T.label('spin'), T.b('spin')], {
    aircr: 0xe000ed0c,
    req: 0x05fa0004,
  });
  const { notes } = await runUntil(fw, secondBoot);
  assert.deepEqual(
    notes.filter((n) => n.event === 'reset').map((n) => n.reason),
    ['SCB reset (SYSRESETREQ)'],
  );
});

test("embassy-rp's trigger_reset (enable with LOAD 0, then TRIGGER) is one forced reset", async () => {
  const fw = firmware(
    [
      T.ldrLit('r0', 'ctrl'),
      T.ldrLit('r1', 'enable'),
      T.str('r1', 'r0'),
      T.ldrLit('r1', 'trigger'),
      T.str('r1', 'r0'),
      T.label('spin'),
      T.b('spin'),
    ],
    { ctrl: WATCHDOG_CTRL, enable: 1 << 30, trigger: 0x80000000 },
  );
  const { notes } = await runUntil(fw, secondBoot);
  assert.deepEqual(
    notes.filter((n) => n.event === 'reset').map((n) => n.reason),
    ['watchdog trigger'],
  );
});

test('a watchdog that is not fed resets the chip when it runs out, in emulated time', async () => {
  // LOAD 2000: 1 ms (the RP2040 counts down twice per 1 us tick, erratum E1).
  const fw = firmware(
    [
      T.ldrLit('r0', 'load'),
      T.ldrLit('r1', 'ticks'),
      T.str('r1', 'r0'),
      T.ldrLit('r0', 'ctrl'),
      T.ldrLit('r1', 'enable'),
      T.str('r1', 'r0'),
      T.label('sleep'),
      T.wfi(),
      T.b('sleep'),
    ],
    { load: WATCHDOG_LOAD, ticks: 2000, ctrl: WATCHDOG_CTRL, enable: 1 << 30 },
  );
  const { notes } = await runUntil(fw, secondBoot);
  const resets = notes.filter((n) => n.event === 'reset');
  assert.deepEqual(resets.map((n) => n.reason), ['watchdog timeout']);
  assert.ok(resets[0].t >= 0.001 && resets[0].t < 0.002, `reset at ${resets[0].t} s`);
});

test('a sleeping firmware: emulated time keeps to wall time, a few ms ahead at most', async () => {
  const fw = firmware([T.label('sleep'), T.wfi(), T.b('sleep')], {});
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-chip-'));
  const pico = new Pico({ segments: fw, flashFile: path.join(dir, 'flash.img') });
  try {
    const start = performance.now();
    pico.powerOn();
    const samples = [];
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 10));
      samples.push({ emu: pico.clock.nanos / 1e6, wall: performance.now() - start });
    }
    for (const s of samples) assert.ok(s.emu <= s.wall + IDLE_LEAD_NS / 1e6, `emulated ${s.emu} ms at ${s.wall} ms of wall time`);
    const last = samples.at(-1);
    assert.ok(last.emu >= last.wall / 2, `emulated time moves on while the firmware sleeps (${last.emu} ms at ${last.wall} ms)`);
  } finally {
    pico.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('code in XIP flash that calls flash_exit_xip faults at its next fetch', async () => {
  // The ROM's stub returns into flash-resident code while the flash is out
  // of XIP mode: on a chip that fetch fails, so the emulator reports it.
  const ex = buildBootStub().labels.get('fn_EX') | 1;
  const fw = firmware(
    [
      T.ldrLit('r3', 'ex'),
      T.ldrLit('r2', 'back'),
      T.mov('lr', 'r2'),
      T.bx('r3'),
      T.label('after'),
      T.b('after'),
    ],
    { ex, back: (labels) => labels.get('after') | 1 },
  );
  const { notes } = await runUntil(fw, (n) => n.event === 'xip-fault');
  const fault = notes.find((n) => n.event === 'xip-fault');
  assert.ok(fault.address >= 0x10000100 && fault.address < 0x10000200, JSON.stringify(fault));
  assert.equal(fault.address, fault.pc);
});

test('XIP is back once the SSI is enabled again (boot2) or flash_enter_cmd_xip runs', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-chip-'));
  const pico = new Pico({ segments: firmware([T.label('spin'), T.b('spin')], {}), flashFile: path.join(dir, 'flash.img') });
  const notes = [];
  pico.on('note', (n) => notes.push(n));
  pico.powerOn();
  pico.romCall('EX');
  pico.mcu.writeUint32(0x18000008, 1); // SSIENR = 1: how boot2 ends
  pico.mcu.readUint32(0x10000100);
  pico.romCall('EX');
  pico.romCall('CX');
  pico.mcu.readUint32(0x10000100);
  pico.romCall('EX');
  pico.mcu.readUint32(0x10000100); // out of XIP mode: a fault
  pico.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(
    notes.filter((n) => n.event === 'xip-fault').map((n) => n.address),
    [0x10000100],
  );
});

test('once code has run from SRAM, a fetch from the agent\'s flash is an xip-fault', async () => {
  // Writes two `bx lr` into SRAM, calls them, and comes back to XIP, as an
  // agent that still ran code from flash after its loader would.
  const fw = firmware(
    [
      T.ldrLit('r0', 'ram'),
      T.ldrLit('r1', 'bxlr'),
      T.str('r1', 'r0'),
      T.ldrLit('r2', 'back'),
      T.mov('lr', 'r2'),
      T.adds('r0', 1),
      T.bx('r0'),
      T.label('after'),
      T.b('after'),
    ],
    { ram: 0x20000000, bxlr: 0x47704770, back: (labels) => labels.get('after') | 1 },
  );
  const { notes } = await runUntil(fw, (n) => n.event === 'xip-fault');
  const fault = notes.find((n) => n.event === 'xip-fault');
  assert.equal(fault.kind, 'fetch');
  assert.ok(fault.address >= 0x10000100 && fault.address < 0x10000200, JSON.stringify(fault));
});

test('while the agent serves USB from SRAM, a read of its own flash is an xip-fault; the store and slot are not', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-chip-'));
  const pico = new Pico({ segments: firmware([T.label('spin'), T.b('spin')], {}), flashFile: path.join(dir, 'flash.img') });
  const notes = [];
  pico.on('note', (n) => notes.push(n));
  pico.powerOn();
  pico.ramEntered = true;
  pico.guardAgent(); // what USB configuration does for an agent running from SRAM
  pico.mcu.readUint32(0x10040000); // the slot
  pico.mcu.readUint32(0x100c0000); // the store
  pico.mcu.readUint8(0x13000010); // boot2, through the uncached alias
  pico.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  const faults = notes.filter((n) => n.event === 'xip-fault');
  assert.deepEqual(faults.map((n) => [n.address, n.kind]), [[0x13000010, 'read']]);
});
