'use strict';
// A code change travels as its difference, in rp2040js: the board runs
// blink (pushed by ota with its files, so the host's cache holds the image
// the device runs); ota pushes blink-v2 as a delta against it, the resident
// agent applies the patch as it streams (old bytes read from the slot, new
// ones written into the store), verifies it, and the board boots blink-v2.
// The steps build on each other (one board, one flash image) and run in order.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { paths, snapshot, startEmulator, ota, writeTree } = require('./harness');

const CONFIG = { device_timeout_sec: 20, confirm_timeout_sec: 60 };

describe('a new build of the application travels as a delta', () => {
  let bins;
  let dir;
  let emu;
  const run = (args, opts = {}) => ota(bins.otaBin, `rfc2217://127.0.0.1:${emu.port}`, args, { cwd: dir, ...opts });
  const tree = (name, files) => {
    const p = path.join(dir, name);
    writeTree(p, files);
    return p;
  };
  /** Emulated seconds between the first `n + 1` LED edges of the boot that entered the application after `mark`. */
  const blinkAfter = async (mark, n, what) => {
    const entered = await emu.waitFor((e) => e.event === 'app-entered', { from: mark, what, timeoutMs: 90000 });
    const edges = () => {
      const all = emu.events.filter((e) => e.event === 'gpio' && e.boot === entered.boot);
      const first = all.findIndex((e) => e.value === 1);
      return first < 0 ? [] : all.slice(first).map((e) => e.t);
    };
    await emu.waitFor(() => edges().length > n, { what: `${n + 1} LED edges` });
    const t = edges().slice(0, n + 1);
    return t.slice(1).map((x, i) => +(x - t[i]).toFixed(3));
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-delta-'));
    const found = paths();
    bins = {
      otaBin: snapshot(found.otaBin, dir),
      elf: snapshot(found.elf, dir),
      app: snapshot(found.app, dir),
      appV2: snapshot(found.appV2, dir),
    };
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify(CONFIG));
    emu = await startEmulator({ elf: bins.elf, flash: path.join(dir, 'flash.img') });
    await emu.waitFor((e) => e.event === 'usb-configured', { what: 'the agent' });
  });

  after(async () => {
    if (emu) await emu.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('push --app of blink with its files sends the image whole (the device runs none)', async () => {
    const mark = emu.mark();
    const files = tree('v1', { 'blink.txt': '100,400\n' });
    const r = await run(['push', '--dir', files, '--app', bins.app, '--version', 'v1', '--boots', '0'], { json: true });
    assert.equal(r.json.image.state, 'new');
    assert.equal(r.json.image.delta_bytes, null);
    assert.deepEqual(await blinkAfter(mark, 2, 'blink'), [0.1, 0.4]);
  });

  it('push --app of blink-v2 sends a delta; the agent applies it and the board boots blink-v2', async () => {
    const before = await emu.stats();
    const mark = emu.mark();
    const files = tree('v2', { 'blink.txt': '100,400\n' });
    const r = await run(['push', '--dir', files, '--app', bins.appV2, '--version', 'v2', '--boots', '3'], { json: true });
    const img = r.json.image;
    assert.equal(img.state, 'changed');
    assert.ok(Number.isInteger(img.delta_bytes) && img.delta_bytes < 8192, `a delta of at most 8 KiB: ${img.delta_bytes}`);
    assert.ok(img.delta_bytes * 4 < img.bytes, `much smaller than the image: ${img.delta_bytes} of ${img.bytes}`);
    assert.equal(r.json.bytes_sent, img.delta_bytes, 'only the patch travels');
    assert.deepEqual(await blinkAfter(mark, 4, 'blink-v2'), [0.05, 0.2, 0.05, 0.2], 'blink-v2 halves every time of blink.txt');
    const s = (await run(['status'], { json: true })).json.device;
    assert.equal(s.active.version, 'v2');
    assert.equal(s.image, 'installed');
    const after = await emu.stats();
    assert.ok(after.slot_programmed > before.slot_programmed, 'the slot was rewritten at the boot');
  });
});
