'use strict';
// Where the firmware's cycles go: each executed instruction's cycles are
// added to its address in SRAM (where the agent runs), and a summary names the
// functions that took them, from the ELF's symbol table. For the bench
// (`node bench.js profile`); off unless pico-emu is started with --profile.

const SRAM_START = 0x20000000;
const SRAM_SIZE = 0x42000;
const SHT_SYMTAB = 2;
const STT_FUNC = 2;

/** The FUNC symbols of an ELF32 LE file: [{ name, addr, size }], by address. */
function functions(buf) {
  const shoff = buf.readUInt32LE(0x20);
  const shentsize = buf.readUInt16LE(0x2e);
  const shnum = buf.readUInt16LE(0x30);
  const section = (i) => {
    const p = shoff + i * shentsize;
    return { type: buf.readUInt32LE(p + 4), offset: buf.readUInt32LE(p + 16), size: buf.readUInt32LE(p + 20), link: buf.readUInt32LE(p + 24) };
  };
  const out = [];
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== SHT_SYMTAB) continue;
    const strtab = section(s.link);
    for (let p = s.offset; p < s.offset + s.size; p += 16) {
      const info = buf[p + 12];
      const size = buf.readUInt32LE(p + 8);
      if ((info & 0xf) !== STT_FUNC || size === 0) continue;
      const nameAt = strtab.offset + buf.readUInt32LE(p);
      const name = buf.toString('latin1', nameAt, buf.indexOf(0, nameAt));
      out.push({ name, addr: buf.readUInt32LE(p + 4) & ~1, size });
    }
  }
  return out.sort((a, b) => a.addr - b.addr);
}

class Profile {
  constructor(elf) {
    this.funcs = functions(elf);
    this.cycles = new Float64Array(SRAM_SIZE / 2);
    this.elsewhere = 0;
  }

  add(pc, cycles) {
    const i = (pc - SRAM_START) >>> 1;
    if (i < this.cycles.length) this.cycles[i] += cycles;
    else this.elsewhere += cycles;
  }

  /**
   * The `top` functions by cycles: [{ name, cycles }], the total, and the
   * hottest instruction addresses (for `llvm-addr2line -i`, as the serve
   * loop is one function with most of the agent inlined into it).
   */
  summary(top = 30) {
    const by = new Map();
    let total = this.elsewhere;
    for (const f of this.funcs) {
      if (f.addr < SRAM_START || f.addr >= SRAM_START + SRAM_SIZE) continue;
      let c = 0;
      for (let a = f.addr; a < f.addr + f.size; a += 2) c += this.cycles[(a - SRAM_START) >>> 1];
      if (c > 0) by.set(f.name, (by.get(f.name) || 0) + c);
    }
    for (const c of this.cycles) total += c;
    const rows = [...by].map(([name, cycles]) => ({ name, cycles })).sort((a, b) => b.cycles - a.cycles);
    const hot = [];
    this.cycles.forEach((c, i) => {
      if (c > 0) hot.push([SRAM_START + i * 2, c]);
    });
    hot.sort((a, b) => b[1] - a[1]);
    const addrs = hot.slice(0, top * 2).map(([a, c]) => ({ addr: '0x' + a.toString(16), cycles: c }));
    return { total, elsewhere: this.elsewhere, top: rows.slice(0, top), hot: addrs };
  }

  reset() {
    this.cycles.fill(0);
    this.elsewhere = 0;
  }
}

module.exports = { Profile, functions };
