#!/usr/bin/env node
'use strict';
// Measures (never asserts):
//
// - push: the emulated push throughput of a 100 KiB file and the emulator's
//   speed, in emulated cycles per wall second;
// - verify: the agent's Ed25519 check of a signed tree. A provisioned agent
//   verifies the tree signature when the last Entry of a tree is declared,
//   before it answers Need. The emulated core cycles from the moment the
//   firmware is handed the last Entry (or sends its Need for the entry
//   before, if later) to its Need for the last entry are counted for a
//   signed tree on a provisioned agent and for the same tree, unsigned, on
//   an unprovisioned agent (each on a fresh flash image); the difference is
//   the verification, in ms at 125 MHz. Each run uses a new key pair, since
//   the verification time depends on the key and the signature;
// - handover: the resident agent and the blink application. From a reset
//   to the application's first instruction in the slot, in emulated time
//   and core cycles: after a power-on (which includes the agent's 300 ms
//   window for a host) and after a watchdog reset (a reboot, the touch).
//   Then a files-only push to the running application (one changed
//   blink.txt, --boots 0), the 1200-baud touch and the hand-back included:
//   ota's wall time, the emulated time, and both until the application runs
//   the new tree;
// - image: the application image in the tree. Starting from blink v1 (the
//   UF2), pushes of blink-v2 with its files, of new files with the image
//   unchanged, and of v1 again; each with the bytes ota sent, the slot
//   sectors the agent erased and the bytes it programmed (the emulator's
//   flash counters), and the time from the reboot to the application's
//   first instruction. With OTA_APP_CHANGED_ELF set, a last push of that
//   build after v1: e.g. v1 with one function changed (edit one line of
//   examples/blink/src/pattern.rs, `cargo build --release -p ota-blink --bin
//   ota-blink` in firmware-agent/pico, copy the ELF aside, undo the edit);
// - the firmware's flash use, as `ota agent uf2 --app` reports it;
// - boardtime: the board's time for the push bench's cases (a 1 MiB tree of
//   50 files, one file of it changed, one 1 MiB file), each flash operation
//   taking the W25Q16JV's typical time (src/flash_timing.js): the emulated
//   time of the push, next to the same push on `sim:FILE?model=pico-w`
//   (the board model) and the flash's bound (64 KiB block erases and page
//   programs of the payload). One line per case:
//   `board-time <case>: emulated <s> s, modeled <s> s, bound <s> s`.
//
// - delta: blink-v2 pushed over blink (installed by ota with its files, so
//   that the host's cache holds the image the slot runs) as a delta and
//   whole (--no-delta), each from a copy of the same flash image, committed
//   without a reboot; then the reboot that installs it. Bytes sent, the
//   emulated time of the push's exchange (the touch's reset and the agent's
//   start are the same both ways), the flash's busy time and the firmware's
//   cycles during it (the agent hashes the slot's base and applies the
//   patch), and the time from the reset to the application's first
//   instruction (the slot rewritten). One line:
//   `delta blink-v2: <B> B, <s> s emulated (flash <s> s, CPU <s> s); whole: ...`.
//
// - profile (only when named): the 1 MiB file's push with the cycles counted
//   by function (pico-emu --profile): cycles a byte, and the top 20.
//
//   node bench.js [push|verify|handover|image|delta|flash|boardtime|profile]...   (or: npm run bench; all but profile by default)
//
// Uses the same binaries as the tests (OTA_BIN, OTA_FIRMWARE_ELF, OTA_APP_ELF).
// BENCH_BYTES sets the push's file size, BENCH_VERIFY_RUNS the verify runs (3).

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { paths, startEmulator, ota, writeTree, writeStaged } = require('./test/harness');
const { Pico } = require('./src/pico');
const { bridge } = require('./src/bridge');
const { FrameReader, peekRequest, peekReply } = require('./src/frames');

const HZ = 125e6;

async function push({ otaBin, elf }, dir) {
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
    return {
      file_bytes: size,
      bytes_sent: r.json.bytes_sent,
      push_seconds: +r.json.seconds.toFixed(2),
      push_bytes_per_s: Math.round(r.json.bytes_sent / r.json.seconds),
      emulated_s_during_push: +(after.emulated_s - before.emulated_s).toFixed(2),
      busy_cycles_per_wall_s: Math.round(cycles / busyWall),
      busy_fraction_of_125mhz: +(cycles / busyWall / HZ).toFixed(3),
      flash_erased: after.flash_erased - before.flash_erased,
      flash_programmed: after.flash_programmed - before.flash_programmed,
      rom_calls: after.rom_calls,
    };
  } finally {
    await emu.stop();
  }
}

/**
 * The emulator in this process (so that its core's cycles can be read at
 * the moment a frame passes), bridged to a TCP port as bin/pico-emu.js does.
 * Times the last Entry of every Begin: see lastEntryWindow.
 */
async function inProcess(elf, flash) {
  const pico = new Pico({ elf: fs.readFileSync(elf), flashFile: flash });
  const server = await bridge(pico);
  const window = lastEntryWindow(pico);
  pico.powerOn();
  return { pico, port: server.address().port, window, stop: () => pico.stop() };
}

/**
 * Watches the frames both ways. Returns a function giving, for the last
 * Begin, {entries, cycles, emulated_ns, reply}: the core cycles (and the
 * emulated time, sleeps included) from the firmware being handed the last
 * byte of the last Entry, or sending its Need for the entry before when
 * that came later (the host sends a window of entries ahead), to its reply
 * to the last Entry (the 10 us of rp2040js's IN transfer included).
 */
function lastEntryWindow(pico) {
  const fromHost = new FrameReader();
  const fromDevice = new FrameReader();
  let entries = null;
  let lastIn = null;
  let prevNeed = null;
  let result = null;
  const now = () => ({ cycles: pico.cycles(), ns: pico.clock.nanos, boot: pico.boots });
  pico.on('delivered', (bytes) => {
    for (const body of fromHost.push(bytes)) {
      const m = peekRequest(body);
      if (m.kind === 'Begin') {
        entries = m.entries;
        lastIn = prevNeed = result = null;
      } else if (m.kind === 'Entry' && m.index === entries - 1) lastIn = now();
    }
  });
  pico.on('serial', (bytes) => {
    for (const body of fromDevice.push(bytes)) {
      const m = peekReply(body);
      if (m.kind === 'Need' && m.index === entries - 2) prevNeed = now();
      const last = (m.kind === 'Need' && m.index === entries - 1) || m.kind === 'Error';
      if (last && lastIn && !result) {
        const start = prevNeed && prevNeed.cycles > lastIn.cycles ? prevNeed : lastIn;
        const end = now();
        if (end.boot !== start.boot) throw new Error('the chip reset between the last Entry and its reply');
        result = {
          entries,
          from: start === lastIn ? 'last Entry handed to the firmware' : 'Need for the entry before',
          cycles: end.cycles - start.cycles,
          emulated_ns: end.ns - start.ns,
          reply: m.kind,
        };
      }
    }
  });
  return () => result;
}

const TREE = {
  'blink.txt': '50,950\n',
  'lib/util.py': 'def add(a, b):\n    return a + b\n',
  'main.py': 'print("signed v1.0.0")\n',
};

/** One push of `staged` to a fresh agent (provisioned with `provision`, if given). */
async function timeLastEntry({ otaBin, elf }, dir, name, { staged, config, provision }) {
  const emu = await inProcess(elf, path.join(dir, `${name}.img`));
  try {
    const run = (args, opts) => ota(otaBin, emu.port, ['--config', config, ...args], { cwd: dir, ...opts });
    if (provision) await run(['provision', '--pubkey', provision]);
    const r = await run(['push', '--staged', staged, '--no-reboot', '--boots', '0'], { json: true });
    const w = emu.window();
    if (!w || w.reply !== 'Need') throw new Error(`${name}: no Need for the last Entry seen (${JSON.stringify(w)})`);
    return { ...w, keys: r.json.device.keys, result: r.json.result };
  } finally {
    emu.stop();
  }
}

async function verify(bins, dir) {
  const local = (args) => ota(bins.otaBin, null, args, { cwd: dir });
  const root = path.join(dir, 'app');
  writeTree(root, TREE);
  await local(['manifest', 'gen', '--version', 'v1.0.0', '--ref', 'v1.0.0', '--commit', 'bench', '--root', root, ...Object.keys(TREE), '-o', 'manifest.json']);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const config = path.join(dir, 'bench_config.json');
  fs.writeFileSync(config, JSON.stringify({ device_timeout_sec: 30 }));
  const unsignedDir = writeStaged(path.join(dir, 'unsigned'), { root, manifest, ref: 'v1.0.0', commit: 'bench' });

  const runs = [];
  for (let i = 0; i < Number(process.env.BENCH_VERIFY_RUNS || 3); i++) {
    const key = `release${i}`;
    await local(['keygen', '-o', key]);
    await local(['manifest', 'sign', '--key', key, 'manifest.json', '-o', `${key}-signed.json`]);
    const signedDir = writeStaged(path.join(dir, `signed${i}`), {
      root,
      manifest,
      signed: fs.readFileSync(path.join(dir, `${key}-signed.json`)),
      ref: 'v1.0.0',
      commit: 'bench',
    });
    const unsigned = await timeLastEntry(bins, dir, `unsigned${i}`, { staged: unsignedDir, config });
    const signed = await timeLastEntry(bins, dir, `signed${i}`, { staged: signedDir, config, provision: `${key}.pub` });
    const extra = signed.cycles - unsigned.cycles;
    runs.push({
      key: fs.readFileSync(path.join(dir, `${key}.pub`), 'utf8').trim(),
      unsigned_unprovisioned: unsigned,
      signed_provisioned: signed,
      verify_cycles: extra,
      verify_ms_at_125mhz: +((extra / HZ) * 1e3).toFixed(1),
    });
  }
  const ms = runs.map((r) => r.verify_ms_at_125mhz);
  return { entries: Object.keys(TREE).length, runs, verify_ms_min: Math.min(...ms), verify_ms_max: Math.max(...ms) };
}

async function handover({ otaBin, elf, app }, dir) {
  const emu = await startEmulator({ elf, app, flash: path.join(dir, 'flash.img') });
  try {
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify({ device_timeout_sec: 10 }));
    const entry = (e) => ({ emulated_ms: +(e.t * 1e3).toFixed(2), cycles: e.cycles });
    const first = await emu.waitFor((e) => e.event === 'app-entered' && e.boot === 1, { what: 'the hand-over' });
    let mark = emu.mark();
    await ota(otaBin, emu.port, ['status'], { cwd: dir });
    const back = await emu.waitFor((e) => e.event === 'app-entered', { from: mark, what: 'the hand-back' });

    const tree = path.join(dir, 'tree');
    writeTree(tree, { 'blink.txt': '100,400\n' });
    mark = emu.mark();
    const before = await emu.stats();
    const wall0 = Date.now();
    const r = await ota(otaBin, emu.port, ['push', '--dir', tree, '--version', 'bench', '--boots', '0'], { cwd: dir, json: true });
    const wallPush = (Date.now() - wall0) / 1e3;
    const runs = await emu.waitFor((e) => e.event === 'app-entered', {
      from: emu.events.indexOf(emu.events.slice(mark).filter((e) => e.event === 'reset').at(-1)),
      what: 'the application on the new tree',
    });
    const after = await emu.stats();
    return {
      power_on_to_application: entry(first),
      reset_to_application: entry(back),
      files_only_push: {
        result: r.json.result,
        bytes_sent: r.json.bytes_sent,
        ota_wall_s: +wallPush.toFixed(2),
        emulated_s_until_the_application_runs_it: +(after.emulated_s - before.emulated_s).toFixed(2),
        resets: emu.events.slice(mark).filter((e) => e.event === 'reset').map((e) => e.reason),
        application_entered_after_last_reset_ms: entry(runs).emulated_ms,
      },
    };
  } finally {
    await emu.stop();
  }
}

async function image({ otaBin, elf, app, appV2 }, dir) {
  const changed = process.env.OTA_APP_CHANGED_ELF;
  const emu = await startEmulator({ elf, app, flash: path.join(dir, 'flash.img') });
  try {
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify({ device_timeout_sec: 20 }));
    await emu.waitFor((e) => e.event === 'usb-configured' && e.image === 'application', { what: 'blink from the UF2' });
    const one = async (name, files, elfOrNull) => {
      const tree = path.join(dir, name);
      writeTree(tree, files);
      const args = ['push', '--dir', tree, '--version', name, '--boots', '0', '--no-reboot', ...(elfOrNull ? ['--app', elfOrNull] : [])];
      const r = await ota(otaBin, emu.port, args, { cwd: dir, json: true });
      const before = await emu.stats();
      const mark = emu.mark();
      await ota(otaBin, emu.port, ['reboot'], { cwd: dir });
      const entered = await emu.waitFor((e) => e.event === 'app-entered', { from: mark, what: `${name} running` });
      const after = await emu.stats();
      return {
        image: r.json.image ? r.json.image.state : 'none',
        image_bytes: r.json.image ? r.json.image.bytes : 0,
        bytes_sent: r.json.bytes_sent,
        slot_sectors_erased: (after.slot_erased - before.slot_erased) / 4096,
        slot_bytes_programmed: after.slot_programmed - before.slot_programmed,
        reset_to_application_ms: +(entered.t * 1e3).toFixed(1),
      };
    };
    return {
      new_build_v2: await one('v2', { 'blink.txt': '100,400\n' }, appV2),
      unchanged_image_files_changed: await one('v2.1', { 'blink.txt': '200,200\n' }, null),
      back_to_v1_one_constant_differs: await one('v3', { 'blink.txt': '200,200\n' }, app),
      ...(changed ? { v1_then_OTA_APP_CHANGED_ELF: await one('v4', { 'blink.txt': '200,200\n' }, changed) } : {}),
    };
  } finally {
    await emu.stop();
  }
}

async function delta({ otaBin, elf, app, appV2 }, dir) {
  fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify({ device_timeout_sec: 20 }));
  const files = path.join(dir, 'files');
  writeTree(files, { 'blink.txt': '100,400\n' });
  const first = path.join(dir, 'v1.img');
  const emu = await startEmulator({ elf, flash: first });
  try {
    const args = ['push', '--dir', files, '--app', app, '--version', 'v1', '--boots', '0'];
    await ota(otaBin, `rfc2217://127.0.0.1:${emu.port}`, args, { cwd: dir });
    await emu.waitFor((e) => e.event === 'app-entered', { what: 'blink installed' });
  } finally {
    await emu.stop();
  }
  const one = async (how, extra) => {
    const flash = path.join(dir, `${how}.img`);
    fs.copyFileSync(first, flash);
    const emu = await startEmulator({ elf, flash });
    try {
      await emu.waitFor((e) => e.event === 'usb-configured' && e.image === 'application', { what: 'blink' });
      const port = `rfc2217://127.0.0.1:${emu.port}`;
      const args = ['push', '--dir', files, '--app', appV2, '--version', 'v2', '--boots', '0', '--no-reboot', ...extra];
      const before = await emu.stats();
      const r = await ota(otaBin, port, args, { cwd: dir, json: true });
      const after = await emu.stats();
      const mark = emu.mark();
      await ota(otaBin, port, ['reboot'], { cwd: dir });
      const entered = await emu.waitFor((e) => e.event === 'app-entered', { from: mark, what: 'blink-v2 running' });
      return {
        delta_bytes: r.json.image.delta_bytes,
        bytes_sent: r.json.bytes_sent,
        emulated_exchange_s: after.exchange_s,
        flash_busy_s: +(after.flash_busy_s - before.flash_busy_s).toFixed(4),
        cpu_s: +((after.cycles - before.cycles) * 8e-9).toFixed(4),
        reset_to_application_ms: +(entered.t * 1e3).toFixed(1),
      };
    } finally {
      await emu.stop();
    }
  };
  const out = { delta: await one('delta', []), whole: await one('whole', ['--no-delta']) };
  const line = (m) => `${m.bytes_sent} B, ${m.emulated_exchange_s} s emulated (flash ${m.flash_busy_s} s, CPU ${m.cpu_s} s)`;
  console.log(`delta blink-v2: ${line(out.delta)}; whole: ${line(out.whole)}`);
  return out;
}

async function flash({ otaBin, elf, app }, dir) {
  const r = await ota(otaBin, null, ['--json', 'agent', 'uf2', elf, '--app', app, '-o', path.join(dir, 'agent.uf2')], { cwd: dir });
  const doc = JSON.parse(r.stdout);
  return { agent: doc.agent, application: doc.app, uf2_blocks: doc.blocks };
}

const PAGE_NS = 0.4e6;
const BLOCK_NS = 150e6;
/** The flash's bound for `bytes` (ota_agent::timed_flash's bound_ns with block erases). */
const boundS = (bytes) => (Math.ceil(bytes / 256) * PAGE_NS + (bytes * BLOCK_NS) / 65536) / 1e9;

/** 50 files of 1 to 100 KiB, 40 text and 10 binary, about 1 MiB in all, the same every run. */
function benchTree(root) {
  let seed = 0x2545f491;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / (1 << 24);
  const sizes = Array.from({ length: 50 }, () => 1024 + Math.floor(rand() * 99 * 1024));
  const scale = (1024 * 1024) / sizes.reduce((a, b) => a + b, 0);
  sizes.forEach((n, i) => {
    const size = Math.max(1024, Math.floor(n * scale));
    const dir = path.join(root, `d${i % 8}`);
    fs.mkdirSync(dir, { recursive: true });
    const text = i % 5 !== 4;
    const body = text ? Buffer.from('x = 1  # line of text\n'.repeat(Math.ceil(size / 23))).subarray(0, size) : crypto.randomBytes(size);
    if (text) body.write(`# file ${i}\n`);
    fs.writeFileSync(path.join(dir, `f${i}.${text ? 'py' : 'bin'}`), body);
  });
  return path.join(root, 'd0', 'f0.py');
}

/** Pushes `tree` to the emulator and to a modeled sim: image; returns both times. */
async function timedPush(otaBin, emu, dir, sim, tree) {
  const args = ['push', '--dir', tree, '--no-reboot', '--boots', '0', '--force'];
  const before = await emu.stats();
  const r = await ota(otaBin, emu.port, args, { cwd: dir, json: true });
  const after = await emu.stats();
  const m = await ota(otaBin, null, ['--port', `sim:${sim}?model=pico-w`, '--json', ...args], { cwd: dir });
  const modeled = JSON.parse(m.stdout).wire.board;
  return {
    payload: r.json.bytes_sent,
    // From the first byte the firmware takes to its last reply: not the host's start-up.
    emulated_s: after.exchange_s,
    emulated_wall_paced_s: after.emulated_s - before.emulated_s,
    flash_busy_s: after.flash_busy_s - before.flash_busy_s,
    // The firmware's cycles at 125 MHz; the rest of the emulated time it waited for the host.
    cpu_s: (after.cycles - before.cycles) * 8e-9,
    flash_ops: Object.fromEntries(Object.entries(after.flash_ops).map(([k, v]) => [k, v - (before.flash_ops[k] || 0)])),
    modeled_s: modeled.seconds,
    modeled: modeled,
  };
}

async function boardtime({ otaBin, elf }, dir) {
  fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify({ device_timeout_sec: 30 }));
  const out = {};
  const run = async (name, trees) => {
    const emu = await startEmulator({ elf, flash: path.join(dir, `${name}.img`) });
    const sim = path.join(dir, `${name}.sim`);
    try {
      await ota(otaBin, emu.port, ['status'], { cwd: dir });
      for (const [c, tree, prepare] of trees) {
        if (prepare) prepare();
        const t = await timedPush(otaBin, emu, dir, sim, tree);
        out[c] = { ...t, bound_s: boundS(t.payload) };
        console.log(`board-time ${c}: emulated ${t.emulated_s.toFixed(2)} s, modeled ${t.modeled_s.toFixed(2)} s, bound ${boundS(t.payload).toFixed(2)} s`);
        const wait = t.emulated_s - t.flash_busy_s - t.cpu_s;
        console.log(`  emulated: flash busy ${t.flash_busy_s.toFixed(2)} s, CPU ${t.cpu_s.toFixed(2)} s, waiting for the host ${wait.toFixed(2)} s`);
      }
    } finally {
      await emu.stop();
    }
  };
  const tree = path.join(dir, 'tree');
  const changed = benchTree(tree);
  const file = path.join(dir, 'file');
  fs.mkdirSync(file);
  fs.writeFileSync(path.join(file, 'big.bin'), crypto.randomBytes(1024 * 1024));
  await run('tree', [
    ['tree', tree],
    ['one-file-changed', tree, () => fs.appendFileSync(changed, '# changed\n')],
  ]);
  await run('file', [['file', file]]);
  return out;
}

// The 1 MiB file's push profiled: where its cycles go, per byte of payload
// and per reply of the firmware's (a frame it sends), by function.
async function profile({ otaBin, elf }, dir) {
  fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify({ device_timeout_sec: 30 }));
  const file = path.join(dir, 'file');
  fs.mkdirSync(file);
  fs.writeFileSync(path.join(file, 'big.bin'), crypto.randomBytes(1024 * 1024));
  const emu = await startEmulator({ elf, flash: path.join(dir, 'profile.img'), profile: true });
  try {
    await ota(otaBin, emu.port, ['status'], { cwd: dir });
    await emu.profile();
    const r = await ota(otaBin, emu.port, ['push', '--dir', file, '--no-reboot', '--boots', '0', '--force'], { cwd: dir, json: true });
    const p = await emu.profile();
    const bytes = r.json.bytes_sent;
    const replies = r.json.wire && r.json.wire.replies;
    console.log(`profile: ${(p.total / 1e6).toFixed(1)} M cycles for ${bytes} bytes: ${(p.total / bytes).toFixed(1)} cycles a byte of payload`);
    for (const f of p.top.slice(0, 20)) {
      console.log(`  ${(f.cycles / 1e6).toFixed(2).padStart(7)} M  ${(f.cycles / bytes).toFixed(1).padStart(6)} /B  ${f.name}`);
    }
    return { bytes, replies, cycles: p.total, cycles_per_byte: p.total / bytes, top: p.top, hot: p.hot };
  } finally {
    await emu.stop();
  }
}

async function main() {
  const which = process.argv.slice(2);
  const want = (w) => which.length === 0 || which.includes(w);
  const bins = paths();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-bench-'));
  const out = {};
  try {
    if (want('push')) out.push = await push(bins, fs.mkdtempSync(path.join(dir, 'push-')));
    if (want('verify')) out.verify = await verify(bins, fs.mkdtempSync(path.join(dir, 'verify-')));
    if (want('handover')) out.handover = await handover(bins, fs.mkdtempSync(path.join(dir, 'handover-')));
    if (want('image')) out.image = await image(bins, fs.mkdtempSync(path.join(dir, 'image-')));
    if (want('delta')) out.delta = await delta(bins, fs.mkdtempSync(path.join(dir, 'delta-')));
    if (want('flash')) out.firmware = await flash(bins, dir);
    if (which.includes('profile')) out.profile = await profile(bins, fs.mkdtempSync(path.join(dir, 'profile-')));
    if (want('boardtime')) out.boardtime = await boardtime(bins, fs.mkdtempSync(path.join(dir, 'boardtime-')));
    console.log(JSON.stringify(out, null, 2));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
