'use strict';
// The release Pico firmware in rp2040js, driven by `ota` over the TCP bridge.
// The steps of each describe build on each other (one device, one flash
// image) and run in order.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { paths, snapshot, startEmulator, ota, gitBlobSha1, writeTree, writeStaged } = require('./harness');

// Emulated time runs at wall speed while the firmware idles, and slower when
// it works: the app confirms after 5 s, a hung trial is reset after 8 s.
const CONFIG = { device_timeout_sec: 5, confirm_timeout_sec: 60 };

const TREE_V1 = {
  'blink.txt': '100,400\n',
  'main.py': 'print("v1")\n',
  'lib/util.py': 'def add(a, b):\n    return a + b\n',
  'assets/data.bin': crypto.createHash('sha256').update('seed').digest(), // binary content
};
const TREE_V2 = { ...TREE_V1, 'main.py': 'print("v2")\n' };

describe('the Pico firmware in rp2040js, driven by ota', () => {
  let bins;
  let dir;
  let flash;
  let emu;
  const run = (args, opts = {}) => ota(bins.otaBin, emu.port, args, { cwd: dir, ...opts });
  const status = async () => (await run(['status'], { json: true })).json.device;
  const ls = async () => (await run(['ls', '--long'], { json: true })).json.files;
  const tree = (name, files) => {
    const p = path.join(dir, name);
    writeTree(p, files);
    return p;
  };
  const expectFiles = (files, tree) => {
    const want = Object.entries(tree)
      .map(([p, c]) => ({ path: p, size: Buffer.from(c).length, sha1: gitBlobSha1(Buffer.from(c)) }))
      .sort((a, b) => a.path.localeCompare(b.path));
    const got = files.map((f) => ({ path: f.path, size: f.size, sha1: f.sha1 })).sort((a, b) => a.path.localeCompare(b.path));
    assert.deepEqual(got, want);
  };
  const resetsSince = (mark) => emu.events.slice(mark).filter((e) => e.event === 'reset');

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-test-'));
    const found = paths();
    bins = { otaBin: snapshot(found.otaBin, dir), elf: snapshot(found.elf, dir) };
    flash = path.join(dir, 'flash.img');
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify(CONFIG));
    emu = await startEmulator({ elf: bins.elf, flash });
  });

  after(async () => {
    if (emu) await emu.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('boots from the boot stub to a configured USB CDC-ACM port', async () => {
    const ev = await emu.waitFor((e) => e.event === 'usb-configured', { what: 'USB configured' });
    assert.equal(ev.boot, 1);
    assert.ok(ev.t < 1, `enumerated after ${ev.t} s of emulated time`);
    // SET_CONTROL_LINE_STATE, sent to the CDC interface, was taken (not stalled).
    await emu.waitFor((e) => e.event === 'dtr', { what: 'DTR accepted' });
    const looked = emu.events.filter((e) => e.event === 'rom-lookup').map((e) => e.code);
    for (const code of ['C4', 'IF', 'EX', 'FC']) assert.ok(looked.includes(code), `ROM lookup of ${code}`);
    assert.deepEqual(
      emu.events.filter((e) => ['rom-missing', 'halt', 'flash-error', 'xip-fault'].includes(e.event)),
      [],
    );
  });

  it('ota status sees the agent', async () => {
    const d = await status();
    assert.match(d.agent_version, /\+pico$/);
    assert.equal(d.active, null);
    assert.equal(d.state, 'empty');
    assert.equal(d.app, 'empty');
    assert.equal(d.capacity_bytes, 320 * 4096);
  });

  it('pushes a small tree and reboots into it; with no application to run it, the agent confirms it', async () => {
    const mark = emu.mark();
    const r = await run(['push', '--dir', tree('v1', TREE_V1), '--version', 'v1', '--boots', '3'], { json: true });
    assert.equal(r.json.result, 'confirmed');
    assert.equal(r.json.files_sent, 4);
    assert.equal(r.json.device.active.version, 'v1');
    assert.equal(r.json.device.state, 'confirmed');
    // One reboot, asked for by ota through the watchdog; the slot is empty,
    // so nothing could confirm the trial but the agent itself.
    assert.deepEqual(resetsSince(mark).map((e) => e.reason), ['watchdog trigger']);
    const newBoot = emu.events.slice(mark).find((e) => e.event === 'boot');
    assert.ok(newBoot && newBoot.boot === 2);
  });

  it('ota ls --long shows the files with their Git blob SHA-1s', async () => {
    expectFiles(await ls(), TREE_V1);
  });

  it('a second update sends only the file that changed', async () => {
    const r = await run(['push', '--dir', tree('v2', TREE_V2), '--version', 'v2', '--boots', '3'], { json: true });
    assert.equal(r.json.result, 'confirmed');
    assert.equal(r.json.files_sent, 1);
    assert.equal(r.json.bytes_sent, Buffer.byteLength(TREE_V2['main.py']));
    assert.deepEqual(r.json.plan.changed, ['main.py']);
    expectFiles(await ls(), TREE_V2);
    const d = await status();
    assert.equal(d.active.version, 'v2');
    assert.equal(d.previous.version, 'v1');
  });

  it('ota rollback returns to the previous tree', async () => {
    await run(['rollback']);
    const before = await status();
    const mark = emu.mark();
    await run(['reboot']);
    await emu.waitFor((e) => e.event === 'usb-configured', { from: mark, what: 'the reboot' });
    const d = await status();
    assert.equal(d.active.version, 'v1');
    assert.notEqual(d.boot_id, before.boot_id, 'each start of the agent has its own boot_id');
    expectFiles(await ls(), TREE_V1);
  });

  it('a power cut in the middle of a push leaves the old tree intact', async () => {
    const before = await status();
    const big = crypto.randomBytes(48 * 1024);
    const v3 = tree('v3', { ...TREE_V1, 'big.bin': big, 'main.py': 'print("v3")\n' });
    // The 40th flash page program from now (well into big.bin's 192) is torn
    // half way, and the emulator stops: the flash file holds what was written.
    const armed = emu.mark();
    emu.command('cut-power-after-programs 40');
    await emu.waitFor((e) => e.event === 'power-cut-armed', { from: armed, what: 'the power cut to be armed' });
    const pushing = run(['push', '--dir', v3, '--version', 'v3', '--boots', '3'], { json: true, codes: [5] });
    const cut = await emu.waitFor((e) => e.event === 'power-cut', { what: 'the power cut' });
    assert.ok(cut.written < cut.count, 'the write in progress was torn');
    await emu.exited;
    const r = await pushing; // ota gives up: the device is gone (exit code 5)
    assert.match(r.stderr, /nothing was committed: the device is still on its old tree/);

    emu = await startEmulator({ elf: bins.elf, flash });
    await emu.waitFor((e) => e.event === 'usb-configured', { what: 'USB after the power cut' });
    const after = await status();
    assert.deepEqual(after.active, before.active);
    assert.equal(after.state, before.state);
    expectFiles(await ls(), TREE_V1);

    // The half-written sectors are free again: the same push now goes through.
    const again = await run(['push', '--dir', v3, '--version', 'v3', '--boots', '0', '--no-reboot'], { json: true });
    assert.equal(again.json.result, 'committed');
    assert.equal(again.json.files_sent, 2);
    expectFiles(await ls(), { ...TREE_V1, 'big.bin': big, 'main.py': 'print("v3")\n' });
  });
});

// Issue 5: an agent given a release public key (`ota provision`) refuses any
// tree that key did not sign, whatever the host does; a signed release goes in.
const TREE_SIGNED = {
  'blink.txt': '50,950\n',
  'lib/util.py': 'def add(a, b):\n    return a + b\n',
  'main.py': 'print("signed v1.0.0")\n',
};

describe('a provisioned agent takes only trees signed by its release key', () => {
  let bins;
  let dir;
  let emu;
  let root; // the release's files
  let manifest; // as `ota manifest gen` wrote it
  let signed; // manifest.json after `ota manifest sign`, as published
  let pubkey; // release.pub's line
  const run = (args, opts = {}) => ota(bins.otaBin, emu.port, args, { cwd: dir, ...opts });
  const local = (args, opts = {}) => ota(bins.otaBin, null, args, { cwd: dir, ...opts });
  const status = async () => (await run(['status'], { json: true })).json.device;
  const lastPath = () => Object.keys(TREE_SIGNED).sort().at(-1); // the agent checks at the last entry

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-signed-'));
    const found = paths();
    bins = { otaBin: snapshot(found.otaBin, dir), elf: snapshot(found.elf, dir) };
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify(CONFIG));
    emu = await startEmulator({ elf: bins.elf, flash: path.join(dir, 'flash.img') }); // a fresh flash image
    await emu.waitFor((e) => e.event === 'usb-configured', { what: 'USB configured' });
  });

  after(async () => {
    if (emu) await emu.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ota keygen, manifest gen and manifest sign make a signed release', async () => {
    await local(['keygen', '-o', 'release']);
    assert.equal(fs.statSync(path.join(dir, 'release')).mode & 0o777, 0o600);
    pubkey = fs.readFileSync(path.join(dir, 'release.pub'), 'utf8').trim();
    assert.match(pubkey, /^ed25519:[0-9a-f]{64}$/);

    root = path.join(dir, 'app');
    writeTree(root, TREE_SIGNED);
    // The tree signature covers ref and commit: the release names them.
    await local(['manifest', 'gen', '--version', 'v1.0.0', '--ref', 'v1.0.0', '--commit', 'release-v1.0.0',
      '--root', root, 'blink.txt', 'lib', 'main.py']);
    manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    assert.deepEqual(
      manifest.files.map((f) => [f.path, f.size, f.sha1]),
      Object.entries(TREE_SIGNED).map(([p, c]) => [p, Buffer.byteLength(c), gitBlobSha1(Buffer.from(c))]),
    );

    await local(['manifest', 'sign', '--key', 'release', 'manifest.json']);
    signed = fs.readFileSync(path.join(dir, 'manifest.json'));
    const algs = JSON.parse(signed).signatures.map((s) => `${s.alg} ${s.key}`);
    assert.deepEqual(algs.sort(), [`ed25519 ${pubkey}`, `ed25519-tree ${pubkey}`]);
    // From here on, the config requires releases signed by that key.
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify({ ...CONFIG, pubkey }));
  });

  it('ota provision gives the agent the release key', async () => {
    assert.equal((await status()).keys, 0);
    await run(['provision', '--pubkey', 'release.pub']);
    const d = await status();
    assert.equal(d.keys, 1);
    assert.equal(d.state, 'empty');
  });

  it('refuses a plain folder push: ota exits 6 and the device is unchanged', async () => {
    const before = await status();
    const r = await run(['push', '--dir', root, '--version', 'v1.0.0', '--allow-unsigned'], { codes: [6] });
    assert.match(r.stderr, /: not signed by a provisioned release key; nothing was committed: the device is still on its old tree; push a release signed by one of its keys/);
    assert.deepEqual(await status(), before);
  });

  it('refuses a tree signed by another key once its last file is declared', async () => {
    // A host without `pubkey` in its config forwards any tree signature: the
    // agent checks it against its own key when the last entry comes.
    await local(['keygen', '-o', 'other']);
    fs.writeFileSync(path.join(dir, 'unsigned.json'), JSON.stringify(manifest));
    await local(['manifest', 'sign', '--key', 'other', 'unsigned.json', '-o', 'other-signed.json']);
    const staged = writeStaged(path.join(dir, 'staged-other'), {
      root,
      manifest,
      signed: fs.readFileSync(path.join(dir, 'other-signed.json')),
      // The ref and commit the signature covers: only the key is wrong.
      ref: 'v1.0.0',
      commit: 'release-v1.0.0',
    });
    fs.writeFileSync(path.join(dir, 'no-pubkey.json'), JSON.stringify(CONFIG));
    const before = await status();
    const r = await run(['push', '--config', 'no-pubkey.json', '--staged', staged, '--boots', '0', '--no-reboot'], { codes: [6] });
    assert.match(r.stderr, new RegExp(`: ${lastPath()}: not signed by a provisioned release key`));
    assert.deepEqual(await status(), before);
  });

  it('accepts the release signed by its key, pushed as a staged folder, and keeps the key across reboots', async () => {
    const staged = writeStaged(path.join(dir, 'staged'), { root, manifest, signed, ref: 'v1.0.0', commit: 'release-v1.0.0' });
    const mark = emu.mark();
    const r = await run(['push', '--staged', staged, '--boots', '3'], { json: true });
    assert.equal(r.json.result, 'confirmed');
    assert.equal(r.json.files_sent, 3);
    assert.deepEqual(
      emu.events.slice(mark).filter((e) => e.event === 'reset').map((e) => e.reason),
      ['watchdog trigger'],
    );
    const d = await status();
    assert.deepEqual(d.active, { version: 'v1.0.0', ref: 'v1.0.0', commit: 'release-v1.0.0', files: 3, bytes: r.json.bytes_sent });
    assert.equal(d.state, 'confirmed');
    assert.equal(d.keys, 1);
    const files = (await run(['ls', '--long'], { json: true })).json.files;
    assert.deepEqual(
      files.map((f) => [f.path, f.sha1]),
      manifest.files.map((f) => [f.path, f.sha1]),
    );

    // After the reboot the agent still holds the key: a folder is refused again.
    const again = await run(['push', '--dir', root, '--version', 'v1.0.1', '--allow-unsigned'], { codes: [6] });
    assert.match(again.stderr, /not signed by a provisioned release key/);
    assert.deepEqual(await status(), d);
  });
});

describe('ota bootsel: the firmware calls the boot ROM\'s reset_usb_boot', () => {
  let bins;
  let dir;
  let emu;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-bootsel-'));
    const found = paths();
    bins = { otaBin: snapshot(found.otaBin, dir), elf: snapshot(found.elf, dir) };
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify(CONFIG));
    emu = await startEmulator({ elf: bins.elf, flash: path.join(dir, 'flash.img') });
    await emu.waitFor((e) => e.event === 'usb-configured', { what: 'USB configured' });
  });

  after(async () => {
    if (emu) await emu.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers the Bootsel request, then enters the ROM\'s USB boot with both interfaces', async () => {
    const mark = emu.mark();
    const r = await ota(bins.otaBin, emu.port, ['bootsel'], { cwd: dir });
    assert.match(r.stderr, /sent to BOOTSEL mode/);
    const ev = await emu.waitFor((e) => e.event === 'reset-to-usb-boot', { what: 'reset_usb_boot called' });
    // No activity LED, and neither the drive nor PICOBOOT disabled.
    assert.equal(ev.gpio_activity_mask, 0);
    assert.equal(ev.disable_interface_mask, 0);
    assert.deepEqual(emu.events.slice(mark).filter((e) => e.event === 'reset'), [], 'not a plain reboot');
  });
});
