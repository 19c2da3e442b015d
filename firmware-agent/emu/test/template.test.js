'use strict';
// The project `ota new` writes, built by plain cargo outside the checkout and
// run in rp2040js beside the release agent: its image boots from the slot,
// and its defmt log line, sent on its CDC port by ota_app::log, is decoded
// by `ota monitor --elf` with the project's ELF. `ota run` then pushes the
// image with the project's files and follows the console again.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { paths, snapshot, startEmulator, ota, REPO } = require('./harness');

const CONFIG = { device_timeout_sec: 10, confirm_timeout_sec: 60 };
const TARGET = path.join(REPO, 'firmware-agent/pico/target');
const NAME = 'emu-template';

/** Builds the template into `dir` (sharing the firmware's target folder) and gives its ELF. */
function buildTemplate(otaBin, dir) {
  const made = spawnSync(otaBin, ['new', NAME, '--ota-app', path.join(REPO, 'firmware-agent/app')], { cwd: dir, encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const project = path.join(dir, NAME);
  process.stderr.write(`# cargo build --release (in the ${NAME} project)\n`);
  const built = spawnSync('cargo', ['build', '--release'], {
    cwd: project,
    env: { ...process.env, CARGO_TARGET_DIR: TARGET },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  assert.equal(built.status, 0, 'the template builds');
  return { project, elf: path.join(TARGET, 'thumbv6m-none-eabi/release', NAME) };
}

/** Runs `ota ARGS` until its stdout matches `want`, then stops it; resolves with that stdout. */
function until(otaBin, args, want, { cwd, env }) {
  return new Promise((resolve, reject) => {
    const child = spawn(otaBin, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ${want} from ota ${args.join(' ')}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, 120000);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (want.test(stdout)) {
        clearTimeout(timer);
        child.kill('SIGTERM');
        resolve({ stdout, stderr });
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
  });
}

describe('a project from ota new, in the emulator', () => {
  let bins;
  let dir;
  let emu;
  let built;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ota-emu-template-'));
    const found = paths();
    bins = { otaBin: snapshot(found.otaBin, dir), elf: snapshot(found.elf, dir) };
    built = buildTemplate(bins.otaBin, dir);
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    bins.app = snapshot(built.elf, bin);
    fs.writeFileSync(path.join(dir, 'ota_config.json'), JSON.stringify(CONFIG));
    emu = await startEmulator({ elf: bins.elf, app: bins.app, flash: path.join(dir, 'flash.img') });
  });

  after(async () => {
    if (emu) await emu.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the template image boots and ota monitor --elf decodes its defmt line', async () => {
    await emu.waitFor((e) => e.event === 'app-entered' && e.boot === 1, { what: 'the hand-over' });
    const port = `tcp:127.0.0.1:${emu.port}`;
    const r = await until(bins.otaBin, ['--port', port, 'monitor', '--elf', bins.app], /INFO {2}emu-template \S* (trial|confirmed) #\d+: .*\n/, { cwd: dir });
    // Installed with the agent, the application has no tree: no greeting.txt.
    assert.match(r.stdout, /INFO {2}emu-template  confirmed #\d+: \(no greeting\.txt\)\n/);
  });

  it('ota run pushes the image with the files, and its decoded log reads them', async () => {
    // The application runs: reaching its agent takes the touch, which rfc2217:// carries.
    // As cargo runs it: CARGO_MANIFEST_DIR names the project.
    process.env.CARGO_MANIFEST_DIR = built.project;
    let pushed;
    try {
      pushed = await ota(bins.otaBin, `rfc2217://127.0.0.1:${emu.port}`, ['run', bins.app, '--no-monitor'], { cwd: built.project });
    } finally {
      delete process.env.CARGO_MANIFEST_DIR;
    }
    assert.match(pushed.stderr, /greeting\.txt/, 'the files travel with the image');
    const port = `tcp:127.0.0.1:${emu.port}`;
    const r = await until(bins.otaBin, ['--port', port, 'monitor', '--elf', bins.app], /#\d+: Hello from the files of the tree\.\n/, {
      cwd: built.project,
      env: {},
    });
    assert.match(r.stdout, /INFO {2}emu-template dir-\S+ (trial|confirmed) #\d+: Hello from the files of the tree\.\n/);
  });
});
