'use strict';
// A tiny two-pass assembler for the handful of Thumb-1 (ARMv6-M) instructions
// the boot stub needs. Each instruction is one 16-bit half-word; the encodings
// follow the ARMv6-M Architecture Reference Manual, section A6.
//
// A program is a list of items made by the helpers below: labels, instructions
// and data. `assemble(items, origin)` lays them out, resolves labels and
// returns { bytes, labels }.

const REG = { r0: 0, r1: 1, r2: 2, r3: 3, r4: 4, r5: 5, r6: 6, r7: 7, r8: 8, r9: 9, r10: 10, r11: 11, r12: 12, sp: 13, lr: 14, pc: 15 };
const COND = { eq: 0, ne: 1, cs: 2, cc: 3, mi: 4, pl: 5, vs: 6, vc: 7, hi: 8, ls: 9, ge: 10, lt: 11, gt: 12, le: 13 };

function reg(name, { low = true } = {}) {
  const r = REG[name];
  if (r === undefined) throw new Error(`unknown register ${name}`);
  if (low && r > 7) throw new Error(`${name}: only r0-r7 here`);
  return r;
}

function imm(value, bits, what) {
  if (!Number.isInteger(value) || value < 0 || value >= 1 << bits) {
    throw new Error(`${what}: ${value} does not fit in ${bits} bits`);
  }
  return value;
}

function signed(value, bits, what) {
  const lim = 1 << (bits - 1);
  if (!Number.isInteger(value) || value < -lim || value >= lim) {
    throw new Error(`${what}: offset ${value} out of range`);
  }
  return value & ((1 << bits) - 1);
}

// An instruction: `size` bytes, and `encode(pc, labels)` giving its half-word.
const insn = (text, encode) => ({ kind: 'insn', text, size: 2, encode });

// Branch offsets and literal addresses are relative to the instruction's
// address plus 4 (the Thumb PC reads two half-words ahead).
const T = {
  label: (name) => ({ kind: 'label', name }),
  align: (n) => ({ kind: 'align', n }),
  word: (value) => ({ kind: 'data', size: 4, value }),
  hword: (value) => ({ kind: 'data', size: 2, value }),
  bytes: (list) => ({ kind: 'bytes', list: Array.from(list) }),
  asciz: (s) => ({ kind: 'bytes', list: [...Buffer.from(s, 'latin1'), 0] }),

  movs: (rd, n) => insn(`movs ${rd}, #${n}`, () => 0x2000 | (reg(rd) << 8) | imm(n, 8, 'movs')),
  adds: (rd, n) => insn(`adds ${rd}, #${n}`, () => 0x3000 | (reg(rd) << 8) | imm(n, 8, 'adds')),
  subs: (rd, n) => insn(`subs ${rd}, #${n}`, () => 0x3800 | (reg(rd) << 8) | imm(n, 8, 'subs')),
  cmpi: (rn, n) => insn(`cmp ${rn}, #${n}`, () => 0x2800 | (reg(rn) << 8) | imm(n, 8, 'cmp')),
  cmp: (rn, rm) => insn(`cmp ${rn}, ${rm}`, () => 0x4280 | (reg(rm) << 3) | reg(rn)),
  // MOV (register), T1: any registers, flags untouched.
  mov: (rd, rm) =>
    insn(`mov ${rd}, ${rm}`, () => {
      const d = reg(rd, { low: false });
      return 0x4600 | ((d >> 3) << 7) | (reg(rm, { low: false }) << 3) | (d & 7);
    }),
  // LDR (literal): the word at label, which must be word aligned and ahead.
  ldrLit: (rt, label) =>
    insn(`ldr ${rt}, =${label}`, (pc, labels) => {
      const base = (pc + 4) & ~3;
      const off = lookup(labels, label) - base;
      if (off & 3) throw new Error(`ldr ${rt}, =${label}: literal not word aligned`);
      return 0x4800 | (reg(rt) << 8) | imm(off >> 2, 8, `ldr ${label}`);
    }),
  ldr: (rt, rn, off = 0) => insn(`ldr ${rt}, [${rn}, #${off}]`, () => 0x6800 | (imm(off / 4, 5, 'ldr') << 6) | (reg(rn) << 3) | reg(rt)),
  str: (rt, rn, off = 0) => insn(`str ${rt}, [${rn}, #${off}]`, () => 0x6000 | (imm(off / 4, 5, 'str') << 6) | (reg(rn) << 3) | reg(rt)),
  ldrh: (rt, rn, off = 0) => insn(`ldrh ${rt}, [${rn}, #${off}]`, () => 0x8800 | (imm(off / 2, 5, 'ldrh') << 6) | (reg(rn) << 3) | reg(rt)),
  b: (label) =>
    insn(`b ${label}`, (pc, labels) => 0xe000 | signed((lookup(labels, label) - (pc + 4)) >> 1, 11, `b ${label}`)),
  bcond: (cond, label) =>
    insn(`b${cond} ${label}`, (pc, labels) => {
      if (COND[cond] === undefined) throw new Error(`unknown condition ${cond}`);
      return 0xd000 | (COND[cond] << 8) | signed((lookup(labels, label) - (pc + 4)) >> 1, 8, `b${cond} ${label}`);
    }),
  bx: (rm) => insn(`bx ${rm}`, () => 0x4700 | (reg(rm, { low: false }) << 3)),
  bkpt: (n) => insn(`bkpt #${n}`, () => 0xbe00 | imm(n, 8, 'bkpt')),
  nop: () => insn('nop', () => 0xbf00),
  wfi: () => insn('wfi', () => 0xbf30),
};

function lookup(labels, name) {
  const v = labels.get(name);
  if (v === undefined) throw new Error(`undefined label ${name}`);
  return v;
}

// Data values may be numbers or functions of the label map (for pointers).
function value(v, labels) {
  return typeof v === 'function' ? v(labels) : v;
}

function assemble(items, origin = 0) {
  // Pass 1: addresses.
  const labels = new Map();
  let pc = origin;
  for (const it of items) {
    if (it.kind === 'label') {
      if (labels.has(it.name)) throw new Error(`label ${it.name} defined twice`);
      labels.set(it.name, pc);
    } else if (it.kind === 'align') {
      pc = Math.ceil(pc / it.n) * it.n;
    } else if (it.kind === 'bytes') {
      pc += it.list.length;
    } else {
      if (it.kind === 'insn' && pc & 1) throw new Error(`${it.text}: odd address`);
      pc += it.size;
    }
  }
  // Pass 2: bytes.
  const out = Buffer.alloc(pc - origin);
  pc = origin;
  for (const it of items) {
    if (it.kind === 'label') continue;
    if (it.kind === 'align') {
      pc = Math.ceil(pc / it.n) * it.n;
      continue;
    }
    const at = pc - origin;
    if (it.kind === 'insn') out.writeUInt16LE(it.encode(pc, labels), at);
    else if (it.kind === 'bytes') out.set(it.list, at);
    else if (it.size === 2) out.writeUInt16LE(value(it.value, labels) & 0xffff, at);
    else out.writeUInt32LE(value(it.value, labels) >>> 0, at);
    pc += it.kind === 'bytes' ? it.list.length : it.size;
  }
  return { bytes: out, labels };
}

module.exports = { T, assemble };
