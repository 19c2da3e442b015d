'use strict';
// How long the Pico W's flash, a Winbond W25Q16JV, is busy with each
// operation, and how the boot ROM's flash_range_erase splits a range into
// the chip's erase commands. Typical times from the W25Q16JV datasheet
// (rev. H, §9.6 AC electrical characteristics: tPP, tSE, tBE1, tBE2); worn
// parts drift towards the maxima (3 ms, 400 ms, 1.6 s, 2 s).

const PAGE = 256;
const SECTOR = 4096;

/** Erase commands the chip knows: size erased and typical busy time (ns). */
const ERASE = {
  0x20: { size: SECTOR, ns: 45e6 }, // Sector Erase, tSE
  0x52: { size: 32 * 1024, ns: 120e6 }, // 32 KiB Block Erase, tBE1
  0xd8: { size: 64 * 1024, ns: 150e6 }, // 64 KiB Block Erase, tBE2
};
const PAGE_PROGRAM_NS = 0.4e6; // Page Program, tPP

/**
 * The erase commands flash_range_erase(addr, count, block_size, block_cmd)
 * issues, as the RP2040 boot ROM does: `block_cmd` for each whole,
 * aligned `block_size` piece, Sector Erase (20h) for the rest.
 * Returns [{offset, size, cmd, ns}], or null for a command the chip lacks.
 */
function eraseSteps(offset, count, blockSize, blockCmd) {
  const steps = [];
  while (count > 0) {
    let cmd = 0x20;
    if (blockSize > SECTOR && offset % blockSize === 0 && count >= blockSize) {
      cmd = blockCmd;
      if (!ERASE[cmd] || ERASE[cmd].size !== blockSize) return null;
    }
    const { size, ns } = ERASE[cmd];
    steps.push({ offset, size, cmd, ns });
    offset += size;
    count -= size;
  }
  return steps;
}

/** Busy time of flash_range_program(addr, data, count): one Page Program per page touched. */
function programNs(offset, count) {
  if (count <= 0) return 0;
  const pages = Math.floor((offset + count - 1) / PAGE) - Math.floor(offset / PAGE) + 1;
  return pages * PAGE_PROGRAM_NS;
}

module.exports = { eraseSteps, programNs, ERASE, PAGE_PROGRAM_NS, PAGE };
