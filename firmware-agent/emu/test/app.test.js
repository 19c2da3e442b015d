'use strict';
// The resident agent and the blink example application (examples/blink) in
// rp2040js, driven by `ota` over the TCP bridge: the hand-over at power-on,
// the 1200-baud touch, a files-only push the application picks up, a trial it
// confirms, ten looks at a trial that spend none of its boots, one it feeds
// but never confirms (reset once its deadline passes), one it never
// confirms (rolled back by the watchdog and the trial boots), a slot that
// holds no application, and a first trial that fails with nothing to fall
// back to (the agent stays in charge). The steps of the first
// describe build on each other (one board, one flash image) and run in order.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { paths, snapshot, startEmulator, ota, writeTree } = require('./harness');

const CONFIG = { device_timeout_sec: 10, confirm_timeout_sec: 60 };
const SLOT = 0x40000; // offset of the application slot in flash (ota_agent::board)

/** Emulated seconds between the first `n + 1` GP15 edges of boot `boot` after `from`. */
async function blinkTimes(emu, { boot, from, n }) {
  // From the first rising edge: the pattern starts with the LED on.
  const edges = () => {
    const all = emu.events.filter((e) => e.event === 'gpio' && e.boot === boot && e.t >= from);
    const first = all.findIndex((e) => e.value === 1);
    return first < 0 ? [] : all.slice(first).map((e) => e.t);
  };
  await emu.waitFor(() => edges().length > n, { what: `${n + 1} LED edges` });
  const t = edges().slice(0, n + 1);
  return t.slice(1).map((x, i) => +(x - t[i]).toFixed(3));
}

describe('the agent hands over to the blink application', () => {
  let bins;
  let dir;
  let emu;
  const run = (args, opts = {}) => ota(bins.otaBin, `rfc2217://127.0.0.1:${emu.port}`, args, { cwd: dir, ...opts });
  const status = async () => (await run(['status'], { json: true })).json;
  const tree = (name, files) => {
    const p = path.join(dir, name);
    writeTree(p, files);
    return p;
  };
  const since = (mark, event) => emu.events.slice(mark).filter((e) => e.event === event);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-app-'));
    const found = paths();
    bins = { otaBin: snapshot(found.otaBin, dir), elf: snapshot(found.elf, dir), app: snapshot(found.app, dir) };
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify(CONFIG));
    emu = await startEmulator({ elf: bins.elf, app: bins.app, flash: path.join(dir, 'flash.img') });
  });

  after(async () => {
    if (emu) await emu.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('power-on runs the application, which blinks its default pattern', async () => {
    const entered = await emu.waitFor((e) => e.event === 'app-entered' && e.boot === 1, { what: 'the hand-over' });
    // No host spoke within the agent's 300 ms window after power-on.
    assert.ok(entered.t >= 0.3, `handed over after ${entered.t} s`);
    const usb = await emu.waitFor((e) => e.event === 'usb-configured' && e.image === 'application', {
      what: "the application's own USB device",
    });
    assert.equal(usb.boot, 1);
    // No tree yet, so no blink.txt: 500 ms on, 500 ms off.
    assert.deepEqual(await blinkTimes(emu, { boot: 1, from: entered.t, n: 3 }), [0.5, 0.5, 0.5]);
  });

  it('ota status reaches the agent with the 1200-baud touch and hands the board back', async () => {
    const mark = emu.mark();
    const s = await status();
    assert.equal(s.application_was_running, true);
    assert.equal(s.device.app, 'valid');
    assert.equal(s.device.state, 'empty');
    // The touch reset the application into the agent; ota's Reboot handed it back.
    assert.deepEqual(since(mark, 'touch').map((e) => e.baud), [1200]);
    const back = await emu.waitFor((e) => e.event === 'app-entered' && since(mark, 'reset').length === 2, {
      from: mark,
      what: 'the application again',
    });
    assert.deepEqual(since(mark, 'reset').map((e) => e.reason), ['watchdog trigger', 'watchdog trigger']);
    // After a reset (not a power-on) the agent hands over without waiting for a host.
    assert.ok(back.t < 0.3, `handed over ${back.t} s after the reset`);
  });

  it('a files-only push goes through the touch; the application blinks the new pattern and confirms it', async () => {
    const mark = emu.mark();
    const r = await run(['push', '--dir', tree('v1', { 'blink.txt': '100,400\n' }), '--version', 'v1', '--boots', '3'], {
      json: true,
    });
    assert.equal(r.json.result, 'started');
    assert.equal(r.json.files_sent, 1);
    assert.equal(r.json.device.active.version, 'v1');
    const entered = await emu.waitFor((e) => e.event === 'app-entered', { from: mark, what: 'the application on v1' });
    assert.deepEqual(await blinkTimes(emu, { boot: entered.boot, from: entered.t, n: 4 }), [0.1, 0.4, 0.1, 0.4]);
    // It confirms once it has run for 5 s of emulated time: wait for an LED edge past that.
    await emu.waitFor((e) => e.event === 'gpio' && e.boot === entered.boot && e.t > entered.t + 5.5, {
      what: '5.5 s of the application',
    });
    const s = await status();
    assert.equal(s.device.active.version, 'v1');
    assert.equal(s.device.state, 'confirmed');
  });

  it('looking costs no boot: ten ota status calls during a trial keep its boots', async () => {
    const undecided = tree('v1b', { 'blink.txt': '100,400\n', 'ota-feed-no-confirm': '' });
    const r = await run(['push', '--dir', undecided, '--version', 'v1b', '--boots', '3'], { json: true });
    assert.equal(r.json.result, 'started');
    for (let i = 0; i < 10; i++) {
      const s = await status();
      assert.equal(s.application_was_running, true);
      assert.equal(s.device.active.version, 'v1b');
      assert.equal(s.device.state, 'trial');
      // The start after the commit spent one; the touch, the look and the hand-back none.
      assert.equal(s.device.boots_left, 2, `status call ${i + 1}`);
    }
  });

  it('an application that feeds but never confirms is reset after its deadline and rolled back', async () => {
    const mark = emu.mark();
    const undecided = tree('v1c', { 'blink.txt': '100,100\n', 'ota-feed-no-confirm': '' });
    const r = await run(['push', '--dir', undecided, '--version', 'v1c', '--boots', '2', '--trial-timeout', '2'], {
      json: true,
    });
    assert.equal(r.json.result, 'started');
    // Each start feeds for its 2 s, then ota-app stops: the watchdog resets it 8 s later.
    await emu.waitFor((e) => e.event === 'reset' && e.reason === 'watchdog timeout' && since(mark, 'reset').length >= 4, {
      what: 'the second watchdog timeout',
      timeoutMs: 90000,
    });
    const resets = since(mark, 'reset');
    assert.deepEqual(resets.map((e) => e.reason), ['watchdog trigger', 'watchdog trigger', 'watchdog timeout', 'watchdog timeout']);
    const entered = since(mark, 'app-entered');
    // Fed past the 8 s the agent armed: the deadline, not a hang, ended each start
    // (the last feed at 1 s, before the 2 s deadline, then the watchdog's 8 s).
    assert.ok(resets[2].t > 8.5, `the first start ran ${resets[2].t} s`);
    assert.ok(entered.length >= 2);
    await emu.waitFor((e) => e.event === 'app-entered', { from: emu.events.indexOf(resets[3]), what: 'v1 again' });
    const s = await status();
    assert.equal(s.device.active.version, 'v1');
    assert.equal(s.device.state, 'confirmed');
    assert.equal(s.device.history.previous_failed_boots, 2);
  });

  it('an application that hangs is reset by the watchdog and rolled back with its files', async () => {
    const mark = emu.mark();
    const hung = tree('v2', { 'blink.txt': '20,20\n', 'ota-no-confirm': '' });
    const r = await run(['push', '--dir', hung, '--version', 'v2', '--boots', '2'], { json: true });
    assert.equal(r.json.result, 'started');
    // v2's two boots each end in the 8 s watchdog; the next start rolls back to v1.
    await emu.waitFor((e) => e.event === 'reset' && e.reason === 'watchdog timeout' && since(mark, 'reset').length >= 4, {
      what: 'the second watchdog timeout',
      timeoutMs: 90000,
    });
    assert.deepEqual(since(mark, 'reset').map((e) => e.reason), [
      'watchdog trigger', // the touch
      'watchdog trigger', // ota's Reboot after the commit
      'watchdog timeout',
      'watchdog timeout',
    ]);
    const back = await emu.waitFor((e) => e.event === 'app-entered', {
      from: emu.events.indexOf(since(mark, 'reset')[3]),
      what: 'the application after the rollback',
    });
    assert.deepEqual(await blinkTimes(emu, { boot: back.boot, from: back.t, n: 2 }), [0.1, 0.4]);
    const s = await status();
    assert.equal(s.device.active.version, 'v1');
    assert.equal(s.device.state, 'confirmed');
  });
});

describe('a slot that holds no application leaves the board in the agent', () => {
  it('garbage in the slot is never run, and ota status says so', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-garbage-'));
    let emu;
    try {
      const found = paths();
      const bins = { otaBin: snapshot(found.otaBin, dir), elf: snapshot(found.elf, dir) };
      const flash = Buffer.alloc(2 * 1024 * 1024, 0xff);
      for (let i = 0; i < 4096; i++) flash[SLOT + i] = (i * 37 + 11) & 0xff;
      fs.writeFileSync(path.join(dir, 'flash.img'), flash);
      emu = await startEmulator({ elf: bins.elf, flash: path.join(dir, 'flash.img') });
      await emu.waitFor((e) => e.event === 'usb-configured', { what: 'USB configured' });
      const r = await ota(bins.otaBin, `rfc2217://127.0.0.1:${emu.port}`, ['status'], { cwd: dir, json: true });
      assert.equal(r.json.device.app, 'invalid');
      assert.equal(r.json.application_was_running, false);
      const text = await ota(bins.otaBin, `rfc2217://127.0.0.1:${emu.port}`, ['status'], { cwd: dir });
      assert.match(text.stdout, /the slot holds no application image: the agent stays in charge/);
      assert.deepEqual(emu.events.filter((e) => e.event === 'app-entered'), []);
    } finally {
      if (emu) await emu.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a first trial that fails, with nothing to fall back to, leaves the board in the agent', () => {
  let bins;
  let dir;
  let emu;
  const run = (args, opts = {}) => ota(bins.otaBin, `rfc2217://127.0.0.1:${emu.port}`, args, { cwd: dir, ...opts });
  const since = (mark, event) => emu.events.slice(mark).filter((e) => e.event === event);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-failed-'));
    const found = paths();
    bins = { otaBin: snapshot(found.otaBin, dir), elf: snapshot(found.elf, dir), app: snapshot(found.app, dir) };
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify(CONFIG));
    emu = await startEmulator({ elf: bins.elf, app: bins.app, flash: path.join(dir, 'flash.img') });
    await emu.waitFor((e) => e.event === 'app-entered' && e.boot === 1, { what: 'the hand-over' });
  });

  after(async () => {
    if (emu) await emu.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the agent stays in charge, saying so, and ota confirm accepts the tree as it is', async () => {
    const mark = emu.mark();
    const hung = path.join(dir, 'v1');
    writeTree(hung, { 'blink.txt': '20,20\n', 'ota-no-confirm': '' });
    const r = await run(['push', '--dir', hung, '--version', 'v1', '--boots', '2'], { json: true });
    assert.equal(r.json.result, 'started');
    // Two boots end in the watchdog; the start after them finds no boots and no earlier tree.
    await emu.waitFor((e) => e.event === 'reset' && e.reason === 'watchdog timeout' && since(mark, 'reset').length >= 4, {
      what: 'the second watchdog timeout',
      timeoutMs: 90000,
    });
    const fourth = emu.events.indexOf(since(mark, 'reset')[3]);
    await emu.waitFor((e) => e.event === 'usb-configured' && e.image === 'agent', {
      from: fourth,
      what: "the agent's own USB device after the failed trial",
    });
    const s = (await run(['status'], { json: true })).json;
    assert.equal(s.application_was_running, false);
    assert.equal(s.device.state, 'failed');
    assert.equal(s.device.history.active_failed_boots, 2);
    assert.equal(s.history, 'v1 failed its trial (2 boots); no earlier tree to fall back to');
    assert.equal(since(fourth, 'app-entered').length, 0, 'the failed tree is not run');
    // Accepted as it is: confirmed, and the next start runs it.
    await run(['confirm']);
    const back = emu.mark();
    await run(['reboot']);
    await emu.waitFor((e) => e.event === 'app-entered', { from: back, what: 'the application, accepted' });
    assert.equal((await run(['status'], { json: true })).json.device.state, 'confirmed');
  });
});
