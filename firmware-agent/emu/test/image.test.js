'use strict';
// Updating the application image itself, in rp2040js: the board starts with
// the agent and the blink application installed by UF2; ota pushes a second
// build of blink (blink-v2, twice as fast) with its files, the agent copies it
// into the slot at the next boot and the board runs it; a files-only push
// keeps the image and writes nothing to the slot; an image that hangs is
// rolled back with its files by the watchdog and the trial boots; a power cut
// in the middle of the slot copy ends, after the restart, on a complete image;
// a UF2 drop over the slot is run as it is and reported as not ota's.
// The steps build on each other (one board, one flash image) and run in order.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { paths, snapshot, startEmulator, ota, writeTree } = require('./harness');

const CONFIG = { device_timeout_sec: 20, confirm_timeout_sec: 60 };

describe('the application image travels in the tree and is rolled back with its files', () => {
  let bins;
  let dir;
  let flash;
  let emu;
  const run = (args, opts = {}) => ota(bins.otaBin, `rfc2217://127.0.0.1:${emu.port}`, args, { cwd: dir, ...opts });
  const status = async () => (await run(['status'], { json: true })).json.device;
  const tree = (name, files) => {
    const p = path.join(dir, name);
    writeTree(p, files);
    return p;
  };
  const since = (mark, event) => emu.events.slice(mark).filter((e) => e.event === event);
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
    return { entered, times: t.slice(1).map((x, i) => +(x - t[i]).toFixed(3)) };
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-image-'));
    const found = paths();
    bins = {
      otaBin: snapshot(found.otaBin, dir),
      elf: snapshot(found.elf, dir),
      app: snapshot(found.app, dir),
      appV2: snapshot(found.appV2, dir),
    };
    flash = path.join(dir, 'flash.img');
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify(CONFIG));
    emu = await startEmulator({ elf: bins.elf, app: bins.app, flash });
    await emu.waitFor((e) => e.event === 'usb-configured' && e.image === 'application', { what: 'blink v1 from the UF2' });
  });

  after(async () => {
    if (emu) await emu.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('push --app installs blink-v2 with its files; the board runs it and it confirms', async () => {
    const mark = emu.mark();
    const files = tree('v2', { 'blink.txt': '100,400\n' });
    const r = await run(['push', '--dir', files, '--app', bins.appV2, '--version', 'v2', '--boots', '3'], { json: true });
    assert.equal(r.json.result, 'started');
    assert.equal(r.json.image.state, 'new');
    const { entered, times } = await blinkAfter(mark, 4, 'blink-v2');
    assert.deepEqual(times, [0.05, 0.2, 0.05, 0.2], 'blink-v2 halves every time of blink.txt');
    await emu.waitFor((e) => e.event === 'gpio' && e.boot === entered.boot && e.t > entered.t + 5.5, { what: '5.5 s of blink-v2' });
    const s = await status();
    assert.equal(s.active.version, 'v2');
    assert.equal(s.state, 'confirmed');
    assert.equal(s.image, 'installed');
    assert.ok((await emu.stats()).slot_programmed > 0);
  });

  it('a files-only push keeps the image and writes nothing to the slot', async () => {
    const before = await emu.stats();
    const mark = emu.mark();
    const r = await run(['push', '--dir', tree('v2.1', { 'blink.txt': '200,200\n' }), '--version', 'v2.1', '--boots', '0'], {
      json: true,
    });
    assert.equal(r.json.files_sent, 1, 'the image is not sent again');
    assert.equal(r.json.image.state, 'unchanged');
    const { times } = await blinkAfter(mark, 2, 'blink-v2 on v2.1');
    assert.deepEqual(times, [0.1, 0.1]);
    const after = await emu.stats();
    assert.equal(after.slot_erased - before.slot_erased, 0);
    assert.equal(after.slot_programmed - before.slot_programmed, 0);
  });

  it('an image that hangs is rolled back, with its files, to blink-v2 and v2.1', async () => {
    const mark = emu.mark();
    const hung = tree('v3', { 'blink.txt': '30,30\n', 'ota-no-confirm': '' });
    const r = await run(['push', '--dir', hung, '--app', bins.app, '--version', 'v3', '--boots', '2'], { json: true });
    assert.equal(r.json.result, 'started');
    assert.equal(r.json.image.state, 'changed');
    await emu.waitFor((e) => e.event === 'reset' && since(mark, 'reset').length >= 4, {
      what: 'the second watchdog timeout',
      timeoutMs: 90000,
    });
    assert.deepEqual(since(mark, 'reset').map((e) => e.reason), [
      'watchdog trigger', // the touch
      'watchdog trigger', // ota's Reboot after the commit
      'watchdog timeout',
      'watchdog timeout',
    ]);
    const { times } = await blinkAfter(emu.events.indexOf(since(mark, 'reset')[3]), 2, 'blink-v2 again');
    assert.deepEqual(times, [0.1, 0.1], 'blink-v2 with v2.1 blink.txt');
    const s = await status();
    assert.equal(s.active.version, 'v2.1');
    assert.equal(s.state, 'confirmed');
    assert.equal(s.image, 'installed');
  });

  it('a power cut in the middle of the slot copy ends, after the restart, on a complete image', async () => {
    const r = await run(['push', '--dir', tree('v4', { 'blink.txt': '100,100\n' }), '--app', bins.app, '--version', 'v4', '--boots', '0', '--no-reboot'], {
      json: true,
    });
    assert.equal(r.json.result, 'committed');
    // The first program after the reboot is the journal's "writing" record; the second, the slot's first page.
    const armed = emu.mark();
    emu.command('cut-power-after-programs 2');
    await emu.waitFor((e) => e.event === 'power-cut-armed', { from: armed, what: 'the power cut to be armed' });
    await run(['reboot']);
    const cut = await emu.waitFor((e) => e.event === 'power-cut', { from: armed, what: 'the power cut' });
    assert.ok(cut.offset >= 0x40000 && cut.offset < 0xc0000, `the cut tore a slot write (offset ${cut.offset})`);
    await emu.exited;

    emu = await startEmulator({ elf: bins.elf, flash });
    const { times } = await blinkAfter(0, 2, 'blink v1 after the restart');
    assert.deepEqual(times, [0.1, 0.1], 'blink v1 (not halved) with v4 blink.txt');
    const s = await status();
    assert.equal(s.active.version, 'v4');
    assert.equal(s.image, 'installed');
  });

  it('a slot rewritten by a UF2 drop is still run, and ota status says ota did not install it', async () => {
    await emu.stop();
    // blink-v2 dropped as a UF2 over the image ota installed (blink v1), the store left as it is.
    emu = await startEmulator({ elf: bins.elf, app: bins.appV2, flash });
    const { times } = await blinkAfter(0, 2, 'blink-v2 from the UF2');
    assert.deepEqual(times, [0.05, 0.05], 'blink-v2 (halved) with v4 blink.txt: the slot is booted as it is');
    const s = await status();
    assert.equal(s.active.version, 'v4');
    assert.equal(s.image, 'foreign');
    const text = await run(['status']);
    assert.match(text.stdout, /the slot holds an image ota did not install \(written by a probe or a UF2\?\)/);
  });
});
