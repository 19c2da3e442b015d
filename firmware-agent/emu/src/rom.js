'use strict';
// What the boot stub's ROM functions do, run by the emulator when the stub's
// `bkpt #n` reaches rp2040js's onBreak(n). Arguments are in r0-r3 as the
// AAPCS passes them; a result goes back in r0. The stub's `bx lr` returns.

const { byBkpt, BKPT } = require('./bootstub');
const { eraseSteps, programNs } = require('./flash_timing');

const FLASH_BASE = 0x10000000;

/** A flash address as the ROM takes it: an offset, or an XIP address. */
const flashOffset = (a) => (a >= FLASH_BASE && a < 0x14000000 ? a & 0xffffff : a);

function popcount(v) {
  let n = 0;
  for (v >>>= 0; v; v &= v - 1) n++;
  return n;
}

function reverse32(v) {
  let r = 0;
  for (let i = 0; i < 32; i++) r = (r << 1) | ((v >>> i) & 1);
  return r >>> 0;
}

const clz32 = (v) => Math.clz32(v >>> 0);
const ctz32 = (v) => (v >>> 0 === 0 ? 32 : 31 - Math.clz32((v & -v) >>> 0));

/**
 * Serves a breakpoint. `chip` gives `mcu` (the rp2040js RP2040) and the flash
 * operations `erase(offset, count)` and `program(offset, bytes)`, which keep the flash file up to date, and
 * `flashBusy(ns, op)`, the time the chip takes (src/flash_timing.js); `note(event)` reports things worth knowing.
 * Returns false when the firmware cannot go on (a fault, an unknown bkpt).
 */
function serveBreak(n, chip) {
  const { mcu } = chip;
  const r = mcu.core.registers;
  if (n === BKPT.LOOKUP) {
    chip.romLookup(codeName(r[1]));
    return true;
  }
  if (n === BKPT.MISSING) {
    chip.note({ event: 'rom-missing', code: codeName(r[1]) });
    return true;
  }
  if (n === BKPT.FAULT) {
    chip.note({ event: 'halt', why: 'HardFault or NMI before the firmware set VTOR' });
    return false;
  }
  const f = byBkpt.get(n);
  if (!f) {
    chip.note({ event: 'halt', why: `bkpt #${n} at ${hex(mcu.core.PC - 2)}` });
    return false;
  }
  chip.romCall(f.code);
  const [a, b, c] = [r[0] >>> 0, r[1] >>> 0, r[2] >>> 0];
  switch (f.code) {
    case 'IF': // the flash pins and SSI: nothing to set up in rp2040js
    case 'EX': // leave XIP mode: rp2040js's flash is always readable
    case 'FC': // flush the XIP cache: rp2040js has none
    case 'CX': // back to XIP mode
      return true;
    case 'RE': {
      // The ROM issues each erase command and polls the chip until it is done.
      const steps = eraseSteps(flashOffset(a), b, c, r[3] & 0xff);
      if (!steps) {
        chip.note({ event: 'halt', why: `flash_range_erase: no W25Q16JV erase of ${c} bytes by command ${hex(r[3] & 0xff)}` });
        return false;
      }
      for (const s of steps) {
        chip.erase(s.offset, s.size);
        chip.flashBusy(s.ns, `erase ${hex(s.cmd)}`);
      }
      return true;
    }
    case 'RP': {
      const data = new Uint8Array(c);
      for (let i = 0; i < c; i++) data[i] = mcu.readUint8(b + i);
      chip.program(flashOffset(a), data);
      chip.flashBusy(programNs(flashOffset(a), c), 'program');
      return true;
    }
    case 'C4':
    case 'MC':
      for (let i = 0; i < c; i++) mcu.writeUint8(a + i, mcu.readUint8(b + i));
      return true; // r0 = dest, as it came in
    case 'MS':
    case 'S4':
      for (let i = 0; i < c; i++) mcu.writeUint8(a + i, b & 0xff);
      return true;
    case 'P3':
      r[0] = popcount(a);
      return true;
    case 'R3':
      r[0] = reverse32(a);
      return true;
    case 'L3':
      r[0] = clz32(a);
      return true;
    case 'T3':
      r[0] = ctz32(a);
      return true;
    case 'UB':
      // reset_to_usb_boot never returns: the real chip restarts into the ROM's
      // USB bootloader (the RPI-RP2 drive and PICOBOOT), which rp2040js cannot
      // play. Report the call with its arguments and stop the firmware here.
      chip.note({ event: 'reset-to-usb-boot', gpio_activity_mask: a, disable_interface_mask: b });
      return false;
    default: // WV: nothing here can stand in for it
      chip.note({ event: 'halt', why: `ROM function ${f.code} (${f.signature}) is not emulated` });
      return false;
  }
}

const codeName = (v) => String.fromCharCode(v & 0xff, (v >> 8) & 0xff);
const hex = (v) => '0x' + (v >>> 0).toString(16);

module.exports = { serveBreak, flashOffset, popcount, reverse32, clz32, ctz32 };
