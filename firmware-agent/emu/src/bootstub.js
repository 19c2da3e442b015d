'use strict';
// The boot stub: a small stand-in for the RP2040's 16 KiB mask ROM, built here
// from source (rp2040js ships no bootrom and none may be downloaded).
//
// What firmware built with embassy-rp needs from the ROM, and what this gives:
//
//   0x00  initial SP, reset vector, NMI and HardFault vectors
//   0x10  'M' 'u' 0x01 magic and a version byte
//   0x14  16-bit pointer to the function table: (code, pointer) half-word pairs
//   0x16  16-bit pointer to the data table, in the same form
//   0x18  16-bit pointer to rom_table_lookup(table, code): a real Thumb routine
//         that walks the pairs and returns the pointer, or 0
//
// The reset handler does what the real ROM and boot2 end with: it points VTOR
// at the firmware's vector table (0x10000100, after the 256-byte boot2), loads
// the stack pointer from it and jumps to the firmware's reset handler. boot2
// itself is not run at power-on (rp2040js's flash needs no set-up); the
// firmware runs its RAM copy of boot2 after every flash operation.
//
// Every ROM function is a stub `bkpt #n; bx lr`. rp2040js calls onBreak(n)
// with the PC already past the bkpt; the emulator (src/rom.js) does the work
// on the chip's memory and flash from r0-r3, and the stub returns to the caller.
// rom_table_lookup also starts with a bkpt, so that the emulator can note
// which codes the firmware asks for, and ends in another when a code is
// missing from the table.

const { T, assemble } = require('./thumb');

const STACK_TOP = 0x20042000; // end of SRAM (SRAM4/5 included)
const VTOR = 0xe000ed08;
const FIRMWARE_VECTORS = 0x10000100; // flash start + 256 bytes of boot2
const ROM_VERSION = 3; // as a B2 chip; embassy-rp reads it only for soft-float tables

// bkpt numbers with a meaning of their own; ROM functions count up from 1.
const BKPT = { LOOKUP: 0xfe, MISSING: 0xff, FAULT: 0xfd };

// The ROM functions this stub provides: code, C signature (for people), and
// what the emulator does. IF..CX are what embassy-rp's flash driver calls
// around every operation (CX is replaced by its RAM copy of boot2, but it is
// looked up all the same); the rest are the ROM's public helpers.
const FUNCTIONS = [
  ['IF', 'connect_internal_flash()'],
  ['EX', 'flash_exit_xip()'],
  ['RE', 'flash_range_erase(addr, count, block_size, block_cmd)'],
  ['RP', 'flash_range_program(addr, data, count)'],
  ['FC', 'flash_flush_cache()'],
  ['CX', 'flash_enter_cmd_xip()'],
  ['C4', 'memcpy44(dest, src, n)'],
  ['MC', 'memcpy(dest, src, n)'],
  ['MS', 'memset(ptr, c, n)'],
  ['S4', 'memset4(ptr, c, n)'],
  ['P3', 'popcount32(v)'],
  ['R3', 'reverse32(v)'],
  ['L3', 'clz32(v)'],
  ['T3', 'ctz32(v)'],
  ['UB', 'reset_to_usb_boot(gpio_mask, disable_mask)'],
  ['WV', 'wait_for_vector()'],
].map(([code, signature], i) => ({ code, signature, bkpt: i + 1 }));

const COPYRIGHT = 'ota emulator boot stub (not the RP2040 bootrom)';
const GIT_REVISION = 0;

const code16 = (code) => code.charCodeAt(0) | (code.charCodeAt(1) << 8);
const thumb = (label) => (labels) => labels.get(label) | 1;
const addr = (label) => (labels) => labels.get(label);

function program() {
  return [
    // Vectors: the core fetches SP and PC from here at reset.
    T.word(STACK_TOP),
    T.word(thumb('reset')),
    T.word(thumb('fault')), // NMI
    T.word(thumb('fault')), // HardFault
    // ROM header.
    T.bytes([0x4d, 0x75, 0x01, ROM_VERSION]), // 'M' 'u' 0x01, version
    T.hword(addr('func_table')),
    T.hword(addr('data_table')),
    T.hword(thumb('rom_table_lookup')),
    T.hword(0),

    T.label('reset'),
    T.ldrLit('r0', 'lit_vtor'),
    T.ldrLit('r1', 'lit_vectors'),
    T.str('r1', 'r0', 0), // VTOR = firmware vector table
    T.ldr('r2', 'r1', 0),
    T.mov('sp', 'r2'), // SP = its initial stack pointer
    T.ldr('r3', 'r1', 4),
    T.bx('r3'), // and on to its reset handler

    T.label('fault'),
    T.bkpt(BKPT.FAULT),
    T.b('fault'),

    // u32 rom_table_lookup(const u16 *table, u32 code)
    T.label('rom_table_lookup'),
    T.bkpt(BKPT.LOOKUP), // the emulator notes r1, the code asked for
    T.label('lookup_next'),
    T.ldrh('r2', 'r0', 0),
    T.cmp('r2', 'r1'),
    T.bcond('eq', 'lookup_found'),
    T.cmpi('r2', 0),
    T.bcond('eq', 'lookup_missing'),
    T.adds('r0', 4),
    T.b('lookup_next'),
    T.label('lookup_found'),
    T.ldrh('r0', 'r0', 2),
    T.bx('lr'),
    T.label('lookup_missing'),
    T.bkpt(BKPT.MISSING), // the emulator reports the code; the caller gets 0
    T.movs('r0', 0),
    T.bx('lr'),

    T.align(4),
    T.label('lit_vtor'),
    T.word(VTOR),
    T.label('lit_vectors'),
    T.word(FIRMWARE_VECTORS),

    // Function table: (code, Thumb pointer) pairs, ended by code 0.
    T.label('func_table'),
    ...FUNCTIONS.flatMap((f) => [T.hword(code16(f.code)), T.hword(thumb(`fn_${f.code}`))]),
    T.hword(0),
    T.hword(0),
    // Data table: (code, pointer) pairs, ended by code 0.
    T.label('data_table'),
    T.hword(code16('CR')),
    T.hword(addr('copyright')),
    T.hword(code16('GR')),
    T.hword(addr('git_revision')),
    T.hword(0),
    T.hword(0),

    // The functions: each a breakpoint the emulator serves, then return.
    ...FUNCTIONS.flatMap((f) => [T.label(`fn_${f.code}`), T.bkpt(f.bkpt), T.bx('lr')]),

    T.align(4),
    T.label('git_revision'),
    T.word(GIT_REVISION),
    T.label('copyright'),
    T.asciz(COPYRIGHT),
    T.align(4),
  ];
}

/** Assembles the stub: its bytes, the words rp2040js's loadBootrom takes, and its labels. */
function buildBootStub() {
  const { bytes, labels } = assemble(program(), 0);
  if (bytes.length > 0xffff) throw new Error('the boot stub must fit 16-bit pointers');
  const words = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < words.length; i++) words[i] = bytes.readUInt32LE(i * 4);
  return { bytes, words, labels };
}

const byBkpt = new Map(FUNCTIONS.map((f) => [f.bkpt, f]));

module.exports = { buildBootStub, FUNCTIONS, BKPT, byBkpt, code16, STACK_TOP, FIRMWARE_VECTORS, ROM_VERSION };
