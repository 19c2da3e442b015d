#!/usr/bin/env node
'use strict';
// Runs the ota Pico W firmware in rp2040js, its USB CDC port bridged to TCP.
//
//   node bin/pico-emu.js --elf FIRMWARE.elf [--app APP.elf] --flash FLASH.img [--port N]
//
// --power-on-at-host keeps the board off until a host connects, then powers
// it on with the host's first bytes waiting: a host at power-on, which the
// agent serves (within its window) instead of handing over.
// --profile counts each instruction's cycles by address: the stdin command
// `profile` reports the functions that took them since the last one.
// --app writes an application for the slot into flash with the agent, as
// `ota agent uf2 --app` does for a first install. The flash image is created (erased) when missing and kept up to date at
// every erase and program, so stopping this process at any moment is a power
// cut, and starting it again on the same file is a power-on.
//
// stdout: one JSON object a line, e.g. {"event":"listening","port":40123},
// {"event":"usb-configured",...}, {"event":"reset","reason":"watchdog timeout",...}.
// stdin: commands, one a line: `cut-power-after-programs N` (the Nth flash
// program from now is torn half way and the emulator stops), `power-cycle`
// (the board unplugged and plugged in again: the flash stays, the agent sees
// a power-on), `stats`, `profile`, `stop`.

const fs = require('fs');
const readline = require('readline');
const { Pico } = require('../src/pico');
const { bridge } = require('../src/bridge');
const { Profile } = require('../src/profile');

function args(argv) {
  const o = { host: '127.0.0.1', port: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--elf') o.elf = next();
    else if (a === '--app') o.app = next();
    else if (a === '--flash') o.flash = next();
    else if (a === '--port') o.port = Number(next());
    else if (a === '--host') o.host = next();
    else if (a === '--profile') o.profile = true;
    else if (a === '--power-on-at-host') o.powerOnAtHost = true;
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!o.elf || !o.flash) usage('--elf and --flash are required');
  return o;
}

function usage(err) {
  const text = 'usage: pico-emu --elf FIRMWARE.elf [--app APP.elf] --flash FLASH.img [--port N] [--host 127.0.0.1] [--profile] [--power-on-at-host]';
  if (err) {
    console.error(`pico-emu: ${err}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

async function main() {
  const o = args(process.argv.slice(2));
  const out = (ev) => process.stdout.write(JSON.stringify(ev) + '\n');
  const elf = fs.readFileSync(o.elf);
  const pico = new Pico({ elf, app: o.app && fs.readFileSync(o.app), flashFile: o.flash });
  if (o.profile) pico.profile = new Profile(elf);
  pico.on('note', out);
  let off = o.powerOnAtHost;
  const note = (ev) => {
    out({ ...ev, boot: pico.boots });
    // Before the bridge hands the host's first bytes on: they wait for the agent.
    if (off && ev.event === 'host-connected') {
      off = false;
      pico.powerOn();
    }
  };
  const server = await bridge(pico, { host: o.host, port: o.port, note });
  out({ event: 'listening', host: o.host, port: server.address().port });

  const finish = (code) => {
    out({ event: 'stats', ...pico.report() });
    pico.stop();
    process.exit(code);
  };
  pico.on('stopped', (why) => {
    if (why === 'power cut') {
      out({ event: 'stats', ...pico.report() });
      process.exit(0);
    }
  });
  process.on('SIGTERM', () => finish(0));
  process.on('SIGINT', () => finish(0));

  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, n] = line.trim().split(/\s+/);
    if (cmd === 'cut-power-after-programs' && Number(n) > 0) {
      pico.cutPowerAfterPrograms(Number(n));
      out({ event: 'power-cut-armed', programs: Number(n) });
    }
    else if (cmd === 'power-cycle') pico.powerCycle();
    else if (cmd === 'stats') out({ event: 'stats', ...pico.report() });
    else if (cmd === 'profile' && pico.profile) {
      out({ event: 'profile', ...pico.profile.summary() });
      pico.profile.reset();
    }
    else if (cmd === 'stop') finish(0);
    else if (cmd) out({ event: 'error', message: `unknown command: ${line.trim()}` });
  });

  if (!off) pico.powerOn();
}

main().catch((e) => {
  console.error(`pico-emu: ${e.message}`);
  process.exit(1);
});
