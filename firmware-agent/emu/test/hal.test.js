'use strict';
// An application on rp2040-hal, without embassy (examples/hal-blink), in
// rp2040js: pushed with `ota push --app` onto a board that runs blink, it
// blinks its tree's blink.txt, feeds the trial watchdog and confirms through
// ota-app's own flash routine (the boot ROM's functions from RAM). It has no
// USB device: the push ends `started` once the board stays off USB, and
// `ota status` says at once that it waits for a power-on, takes the agent's
// window when the board is power-cycled, and finds the tree confirmed and
// the image installed.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { paths, halAppPath, snapshot, startEmulator, ota, writeTree } = require('./harness');

const CONFIG = { device_timeout_sec: 20, confirm_timeout_sec: 60 };

describe('an rp2040-hal application confirms its trial without embassy', () => {
  let bins;
  let dir;
  let flash;
  let emu;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-hal-'));
    const found = paths();
    bins = {
      otaBin: snapshot(found.otaBin, dir),
      elf: snapshot(found.elf, dir),
      app: snapshot(found.app, dir),
      hal: snapshot(halAppPath(), dir),
    };
    flash = path.join(dir, 'flash.img');
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify(CONFIG));
    emu = await startEmulator({ elf: bins.elf, app: bins.app, flash });
    await emu.waitFor((e) => e.event === 'usb-configured' && e.image === 'application', { what: 'blink from the UF2' });
  });

  after(async () => {
    if (emu) await emu.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('push --app installs it; it blinks blink.txt and confirms; ota status at the next power-on says confirmed', async () => {
    const mark = emu.mark();
    const files = path.join(dir, 'h1');
    writeTree(files, { 'blink.txt': '100,300\n' });
    const run = (args, opts = {}) => ota(bins.otaBin, `rfc2217://127.0.0.1:${emu.port}`, args, { cwd: dir, ...opts });
    // No USB device comes back to say it started: the push ends at the hand-over.
    const r = await run(['push', '--dir', files, '--app', bins.hal, '--version', 'h1', '--boots', '3'], { json: true });
    assert.equal(r.json.result, 'started');
    assert.equal(r.json.application_without_usb, true);
    assert.equal(r.json.image.state, 'new');
    const entered = await emu.waitFor((e) => e.event === 'app-entered', { from: mark, what: 'the rp2040-hal application', timeoutMs: 90000 });
    // From the first time the LED goes on (setting the pin up may report it off first).
    const edges = () => {
      const all = emu.events.filter((e) => e.event === 'gpio' && e.boot === entered.boot);
      const on = all.findIndex((e) => e.value === 1);
      return on < 0 ? [] : all.slice(on);
    };
    await emu.waitFor(() => edges().length >= 5, { what: 'five LED edges' });
    const t = edges().slice(0, 5).map((e) => e.t);
    assert.deepEqual(t.slice(1).map((x, i) => +(x - t[i]).toFixed(2)), [0.1, 0.3, 0.1, 0.3], 'the pattern of blink.txt');
    // It confirms once it has run 5 s: wait for an LED edge past that.
    await emu.waitFor((e) => e.event === 'gpio' && e.boot === entered.boot && e.t > entered.t + 5.5, {
      what: '5.5 s of the application',
      timeoutMs: 90000,
    });
    assert.equal(emu.events.slice(mark).filter((e) => e.event === 'reset' && e.reason === 'watchdog timeout').length, 0);

    // ota says at once what to do, and waits; a power cycle lets it in.
    let said;
    const notice = new Promise((resolve) => (said = resolve));
    const status = run(['status'], {
      json: true,
      onSpawn: (child) => child.stderr.on('data', (d) => String(d).includes('reset or replug the board; ota waits for the agent') && said()),
    });
    await notice;
    const cycled = emu.mark();
    emu.command('power-cycle');
    const s = (await status).json;
    assert.equal(s.reached_in_power_on_window, true);
    assert.equal(s.application_was_running, true);
    assert.equal(s.device.active.version, 'h1');
    assert.equal(s.device.state, 'confirmed');
    assert.equal(s.device.image, 'installed');
    // Handed back: the application runs again after the visit.
    await emu.waitFor((e) => e.event === 'app-entered', { from: cycled, what: 'the application after the visit', timeoutMs: 90000 });
  });
});
