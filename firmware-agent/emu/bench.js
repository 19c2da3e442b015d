#!/usr/bin/env node
'use strict';
// Measures (never asserts): the emulated push throughput of a 100 KiB file
// and the emulator's speed, in emulated cycles per wall second.
//
//   node bench.js            (or: npm run bench)
//
// Uses the same binaries as the tests (OTA_BIN, OTA_FIRMWARE_ELF).

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { paths, startEmulator, ota } = require('./test/harness');

async function main() {
  const { otaBin, elf } = paths();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-bench-'));
  const emu = await startEmulator({ elf, flash: path.join(dir, 'flash.img') });
  try {
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(tree);
    const size = Number(process.env.BENCH_BYTES || 100 * 1024);
    fs.writeFileSync(path.join(tree, 'big.bin'), crypto.randomBytes(size));
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify({ device_timeout_sec: 10 }));
    await ota(otaBin, emu.port, ['status'], { cwd: dir });
    const before = await emu.stats();
    const r = await ota(otaBin, emu.port, ['push', '--dir', tree, '--version', 'bench', '--no-reboot', '--boots', '0'], {
      cwd: dir,
      json: true,
    });
    const after = await emu.stats();
    const cycles = after.busy_cycles - before.busy_cycles;
    const busyWall = after.busy_wall_s - before.busy_wall_s;
    const out = {
      file_bytes: size,
      bytes_sent: r.json.bytes_sent,
      push_seconds: +r.json.seconds.toFixed(2),
      push_bytes_per_s: Math.round(r.json.bytes_sent / r.json.seconds),
      emulated_s_during_push: +(after.emulated_s - before.emulated_s).toFixed(2),
      busy_cycles_per_wall_s: Math.round(cycles / busyWall),
      busy_fraction_of_125mhz: +(cycles / busyWall / 125e6).toFixed(3),
      flash_erased: after.flash_erased - before.flash_erased,
      flash_programmed: after.flash_programmed - before.flash_programmed,
      rom_calls: after.rom_calls,
    };
    console.log(JSON.stringify(out, null, 2));
  } finally {
    await emu.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
