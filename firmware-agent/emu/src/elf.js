'use strict';
// Reads the flash image out of an ELF32 firmware: every PT_LOAD segment with
// bytes in the file, placed at its physical (load) address. .data is linked
// to run in RAM but loaded from flash, which its physical address says.

const PT_LOAD = 1;

/** Returns [{ addr, bytes }] for the loadable segments of an ELF32 little-endian file. */
function loadSegments(buf) {
  if (buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (buf[4] !== 1 || buf[5] !== 1) throw new Error('not a 32-bit little-endian ELF');
  const phoff = buf.readUInt32LE(0x1c);
  const phentsize = buf.readUInt16LE(0x2a);
  const phnum = buf.readUInt16LE(0x2c);
  const out = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const type = buf.readUInt32LE(p);
    const offset = buf.readUInt32LE(p + 4);
    const paddr = buf.readUInt32LE(p + 12);
    const filesz = buf.readUInt32LE(p + 16);
    if (type !== PT_LOAD || filesz === 0) continue;
    out.push({ addr: paddr, bytes: buf.subarray(offset, offset + filesz) });
  }
  return out;
}

/**
 * The segments that land in flash at `base`, as offsets into a flash of
 * `size` bytes. An agent firmware starts with boot2 at `base`; an application
 * for the slot (`boot2: false`) does not.
 */
function flashSegments(buf, base = 0x10000000, size = 2 * 1024 * 1024, { boot2 = true } = {}) {
  const segs = loadSegments(buf).filter((s) => s.addr >= base && s.addr < base + size);
  for (const s of segs) {
    if (s.addr + s.bytes.length > base + size) throw new Error(`segment at 0x${s.addr.toString(16)} runs past the flash`);
  }
  if (boot2 && !segs.some((s) => s.addr === base)) throw new Error('the ELF has no boot2 at the start of flash');
  return segs.map((s) => ({ offset: s.addr - base, bytes: s.bytes }));
}

module.exports = { loadSegments, flashSegments };
