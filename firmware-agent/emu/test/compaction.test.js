'use strict';
// A compacting push on the release firmware: free flash lies in holes that
// no hole of the new file fits, and the firmware moves committed files out
// of the way, then takes the file; both trees still load after a reboot.
//
// The store is filled on a simulated device first (`sim:` runs the same
// agent core on the same flash format, in a fraction of the time 1 MB
// takes over the emulated USB); the image's application slot is then
// blanked, as on a board that holds the agent alone, and the emulator
// boots the firmware on it.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { paths, snapshot, startEmulator, ota, gitBlobSha1, writeTree } = require('./harness');

const CONFIG = { device_timeout_sec: 5, confirm_timeout_sec: 60 };
/** Where the application slot starts in flash (firmware-agent/core/src/board.rs). */
const APP_SLOT_BASE = 256 * 1024;

const bytes = (seed, n) => {
  const out = Buffer.alloc(n);
  let x = crypto.createHash('sha256').update(String(seed)).digest();
  for (let at = 0; at < n; at += x.length) {
    x.copy(out, at);
    x = crypto.createHash('sha256').update(x).digest();
  }
  return out;
};

// big.bin is in every tree; h1.bin (v1 only) leaves a hole of 16 sectors
// in front of it, and the end of the store a hole of 44 behind it: u.bin
// (49 sectors) fits in neither until s.bin and t.bin have moved.
const BIG = bytes(1, 1_000_000);
const TREES = {
  v1: { 'big.bin': BIG, 'h1.bin': bytes(2, 60_000) },
  v2: { 'big.bin': BIG, 's.bin': bytes(3, 40_000) },
  v3: { 'big.bin': BIG, 't.bin': bytes(4, 4_000) },
  v4: { 'big.bin': BIG, 'u.bin': bytes(5, 200_000) },
};

describe('the firmware moves files to join holes of free flash', () => {
  let bins;
  let dir;
  let flash;
  let emu;
  const run = (args, opts = {}) => ota(bins.otaBin, emu.port, args, { cwd: dir, ...opts });
  const tree = (name) => {
    const p = path.join(dir, name);
    writeTree(p, TREES[name]);
    return p;
  };
  const expectFiles = async (name) => {
    const files = (await run(['ls', '--long'], { json: true })).json.files;
    const got = files.map((f) => [f.path, f.sha1]).sort();
    const want = Object.entries(TREES[name]).map(([p, c]) => [p, gitBlobSha1(c)]).sort();
    assert.deepEqual(got, want);
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-compaction-'));
    const found = paths();
    bins = { otaBin: snapshot(found.otaBin, dir), elf: snapshot(found.elf, dir) };
    flash = path.join(dir, 'flash.img');
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify(CONFIG));
    for (const v of ['v1', 'v2', 'v3']) {
      await ota(bins.otaBin, null, ['--port', 'sim:flash.img', 'push', '--dir', tree(v), '--version', v], { cwd: dir });
    }
    const image = fs.readFileSync(flash);
    image.fill(0xff, APP_SLOT_BASE, APP_SLOT_BASE + 4096);
    fs.writeFileSync(flash, image);
    emu = await startEmulator({ elf: bins.elf, flash });
    await emu.waitFor((e) => e.event === 'usb-configured', { what: 'USB configured' });
  });

  after(async () => {
    if (emu) await emu.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the dry run says the tree fits after moving files', async () => {
    const d = (await run(['status'], { json: true })).json.device;
    assert.equal(d.active.version, 'v3');
    assert.equal(d.previous.version, 'v2');
    const dry = await run(['push', '--dir', tree('v4'), '--version', 'v4', '--dry-run'], { json: true });
    const space = dry.json.plan.space;
    assert.equal(space.modelled, true);
    assert.equal(space.fits, true);
    // s.bin (10 sectors), t.bin (1) and both trees' records (2).
    assert.equal(space.moved_sectors, 13);
  });

  it('the push moves them and takes the file; both trees load after a reboot', async () => {
    const r = await run(['push', '--dir', tree('v4'), '--version', 'v4', '--boots', '0'], { json: true });
    assert.equal(r.json.result, 'confirmed');
    assert.equal(r.json.files_sent, 1);
    assert.deepEqual(
      emu.events.filter((e) => ['halt', 'flash-error', 'xip-fault'].includes(e.event)),
      [],
    );
    await expectFiles('v4');
    const mark = emu.mark();
    await run(['rollback']);
    await run(['reboot']);
    await emu.waitFor((e) => e.event === 'usb-configured', { from: mark, what: 'the reboot' });
    const d = (await run(['status'], { json: true })).json.device;
    assert.equal(d.active.version, 'v3');
    assert.equal(d.previous.version, 'v4');
    await expectFiles('v3');
  });
});
