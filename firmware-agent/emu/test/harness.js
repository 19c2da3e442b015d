'use strict';
// Test helpers: where the binaries are, the emulator as a child process whose
// JSON lines can be waited on, and `ota` runs.

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { spawn, spawnSync } = require('child_process');
const { performance } = require('perf_hooks');

const EMU_DIR = path.resolve(__dirname, '..');
const REPO = path.resolve(EMU_DIR, '../..');
const PICO_DIR = path.join(REPO, 'firmware-agent/pico');

/**
 * The `ota` binary, the agent firmware ELF and the blink application's ELF:
 * OTA_BIN, OTA_FIRMWARE_ELF and OTA_APP_ELF, or the debug `ota` and the
 * release firmware of this checkout. A default that is missing is built with
 * cargo (and OTA_EMU_BUILD=1 builds them in any case; cargo does nothing when
 * they are up to date).
 */
function paths() {
  const otaBin = process.env.OTA_BIN || path.join(REPO, 'target/debug/ota');
  const release = path.join(PICO_DIR, 'target/thumbv6m-none-eabi/release');
  const elf = process.env.OTA_FIRMWARE_ELF || path.join(release, 'ota-agent-pico');
  const app = process.env.OTA_APP_ELF || path.join(release, 'ota-blink');
  const appV2 = process.env.OTA_APP_V2_ELF || path.join(release, 'ota-blink-v2');
  const force = process.env.OTA_EMU_BUILD === '1';
  const missing = [elf, app, appV2].some((p) => !fs.existsSync(p));
  if (force || missing) {
    cargo(['build', '--release', '--locked', '--workspace'], PICO_DIR);
  }
  if (!process.env.OTA_BIN && (force || !fs.existsSync(otaBin))) {
    cargo(['build', '--locked', '-p', 'ota', '--bin', 'ota'], REPO);
  }
  for (const [what, p] of [
    ['ota (OTA_BIN)', otaBin],
    ['firmware ELF (OTA_FIRMWARE_ELF)', elf],
    ['application ELF (OTA_APP_ELF)', app],
    ['second application build (OTA_APP_V2_ELF)', appV2],
  ]) {
    if (!fs.existsSync(p)) throw new Error(`${what} not found at ${p}`);
  }
  return { otaBin, elf, app, appV2 };
}

/**
 * The rp2040-hal application (examples/hal-blink, a workspace of its own
 * building into the firmware's target folder): OTA_HAL_APP_ELF, or built
 * with cargo when missing (or with OTA_EMU_BUILD=1).
 */
function halAppPath() {
  const elf = process.env.OTA_HAL_APP_ELF || path.join(PICO_DIR, 'target/thumbv6m-none-eabi/release/ota-hal-blink');
  if (!process.env.OTA_HAL_APP_ELF && (process.env.OTA_EMU_BUILD === '1' || !fs.existsSync(elf))) {
    cargo(['build', '--release', '--locked'], path.join(REPO, 'examples/hal-blink'));
  }
  if (!fs.existsSync(elf)) throw new Error(`rp2040-hal application ELF (OTA_HAL_APP_ELF) not found at ${elf}`);
  return elf;
}

/**
 * A link to (or a copy of) a binary in `dir`, so that a cargo build that
 * replaces it meanwhile cannot pull it from under a running test.
 */
function snapshot(file, dir) {
  const to = path.join(dir, path.basename(file));
  try {
    fs.linkSync(file, to);
  } catch {
    fs.copyFileSync(file, to);
    fs.chmodSync(to, 0o755);
  }
  return to;
}

function cargo(args, cwd) {
  process.stderr.write(`# cargo ${args.join(' ')} (in ${path.relative(REPO, cwd) || '.'})\n`);
  const r = spawnSync('cargo', args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`cargo ${args.join(' ')} failed in ${cwd}`);
}

/**
 * Starts bin/pico-emu.js on `flash` and resolves once it listens.
 * The object it gives: port; events (every JSON line so far); mark() and
 * waitFor(pred, {from, timeoutMs}) to wait for an event; command(line);
 * stats(); stop() (SIGTERM, resolves on exit); exited (resolves with the code).
 * `powerOnAtHost`: the board stays off until a host connects (a host at power-on).
 */
function startEmulator({ elf, app, flash, profile = false, powerOnAtHost = false, log = process.env.OTA_EMU_LOG }) {
  const args = [path.join(EMU_DIR, 'bin/pico-emu.js'), '--elf', elf, ...(app ? ['--app', app] : []), '--flash', flash];
  if (profile) args.push('--profile');
  if (powerOnAtHost) args.push('--power-on-at-host');
  const child = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events = [];
  const waiters = new Set();
  let stderr = '';
  let exitCode;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitCode = code ?? signal;
      for (const w of waiters) w.fail(new Error(`emulator exited (${exitCode}) while waiting for ${w.what}\n${stderr}`));
      resolve(exitCode);
    });
  });
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (log) process.stderr.write(`# emu: ${line}\n`);
      let ev;
      try {
        ev = JSON.parse(line);
      } catch {
        continue;
      }
      Object.defineProperty(ev, 'wallMs', { value: performance.now() }); // when it arrived (not compared by deepEqual)
      events.push(ev);
      for (const w of waiters) w.check();
    }
  });
  child.stderr.on('data', (d) => {
    stderr += d;
    if (log) process.stderr.write(`# emu stderr: ${d}`);
  });

  const emu = {
    child,
    events,
    exited,
    get stderr() {
      return stderr;
    },
    mark: () => events.length,
    waitFor(pred, { from = 0, timeoutMs = 60000, what = 'an event' } = {}) {
      return new Promise((resolve, reject) => {
        const w = {
          what,
          check() {
            for (let i = from; i < events.length; i++) {
              if (pred(events[i])) {
                done();
                resolve(events[i]);
                return;
              }
            }
          },
          fail(e) {
            done();
            reject(e);
          },
        };
        const timer = setTimeout(() => w.fail(new Error(`timed out waiting for ${what}`)), timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(w);
        };
        if (exitCode !== undefined) return w.fail(new Error(`emulator already exited (${exitCode})`));
        waiters.add(w);
        w.check();
      });
    },
    command(line) {
      child.stdin.write(line + '\n');
    },
    async stats() {
      const from = events.length;
      emu.command('stats');
      return emu.waitFor((e) => e.event === 'stats', { from, what: 'stats' });
    },
    /** With `profile`: the functions that took the cycles since the last call (bin/pico-emu.js). */
    async profile() {
      const from = events.length;
      emu.command('profile');
      return emu.waitFor((e) => e.event === 'profile', { from, what: 'profile' });
    },
    async stop() {
      if (exitCode === undefined) child.kill('SIGTERM');
      return exited;
    },
  };

  return emu.waitFor((e) => e.event === 'listening', { what: 'the emulator to listen', timeoutMs: 30000 }).then((ev) => {
    emu.port = ev.port;
    return emu;
  });
}

/**
 * Runs `ota --port tcp:127.0.0.1:PORT ARGS...` in `cwd` and resolves with
 * {code, stdout, stderr, json} once it exits (`port` null: no --port, for
 * commands that need no device; a string: that port spec, such as
 * rfc2217://127.0.0.1:PORT for a board that must be touched). Rejects on an
 * exit code not in `codes` (default: 0 only).
 */
function ota(bin, port, args, { cwd, json = false, codes = [0], onSpawn } = {}) {
  const spec = typeof port === 'string' ? port : `tcp:127.0.0.1:${port}`;
  const argv = [...(port == null ? [] : ['--port', spec]), ...(json ? ['--json'] : []), ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    if (onSpawn) onSpawn(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const r = { code, stdout, stderr, json: null };
      if (json && stdout.trim()) {
        try {
          r.json = JSON.parse(stdout);
        } catch {
          /* reported below if the code is wrong */
        }
      }
      if (!codes.includes(code)) {
        reject(new Error(`ota ${argv.join(' ')} exited ${code}, expected ${codes.join(' or ')}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      } else resolve(r);
    });
  });
}

/** Git's blob id of some bytes: SHA-1 of "blob <size>\0" and the bytes. */
function gitBlobSha1(bytes) {
  return crypto
    .createHash('sha1')
    .update(`blob ${bytes.length}\0`)
    .update(bytes)
    .digest('hex');
}

/** Writes {relative path: content} under dir, replacing what was there. */
function writeTree(dir, files) {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
}

/**
 * Writes a staged update into `out` (replacing it), as `ota stage` would and
 * `ota push --staged` reads it (src/source/staged.rs): the files of
 * `manifest` copied from `root`; manifest.json, which is `manifest` (a
 * generated release manifest, with `sha1` and `sha256` per file) plus `ref`
 * and `commit`; and, when `signed` is given, signed-manifest.json: the
 * signed release manifest as published, whose `ed25519-tree` signature the
 * host sends to the agent in Begin.
 */
function writeStaged(out, { root, manifest, signed, ref, commit }) {
  fs.rmSync(out, { recursive: true, force: true });
  for (const f of manifest.files) {
    const to = path.join(out, f.path);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(path.join(root, f.path), to);
  }
  const { signatures, signature, ...plain } = manifest; // eslint-disable-line no-unused-vars
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ ...plain, ref, commit }, null, 2) + '\n');
  if (signed) fs.writeFileSync(path.join(out, 'signed-manifest.json'), signed);
  return out;
}

module.exports = { paths, halAppPath, snapshot, startEmulator, ota, gitBlobSha1, writeTree, writeStaged, REPO, EMU_DIR };
