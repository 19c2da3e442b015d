'use strict';
// One emulated Pico W: rp2040js's RP2040 running the real firmware from a
// flash image kept in a file, our boot stub in place of the ROM, and a host
// side USB CDC-ACM driver. A reset (watchdog or SCB) builds a new chip on the
// same flash, as a real reset keeps the flash and nothing else.
//
// Events (EventEmitter):
//   'note'    {event, ...}    things worth telling (boot, usb-configured, reset, halt...)
//   'serial'  Uint8Array      bytes the firmware sent to the host (CDC IN)
//   'reset'   reason          the chip restarted: the USB device went away
//   'drain'                   the host FIFO has room again (see hostWrite)
//   'delivered' Uint8Array    host bytes just handed to the firmware's OUT endpoint
//   'stopped' why             the emulator stopped for good (power cut, halt)
//
// Notes include {event:'app-entered'} when the core first runs code in the
// application slot during a boot, and {event:'gpio', pin:15, value} at each
// edge of GP15 (the blink example's LED).

const fs = require('fs');
const { EventEmitter } = require('events');
const { performance } = require('perf_hooks');
const { RP2040, USBCDC, createSetupPacket, DataDirection, SetupType, SetupRecipient } = require('rp2040js');
const { buildBootStub } = require('./bootstub');
const { serveBreak } = require('./rom');
const { flashSegments } = require('./elf');

const FLASH_SIZE = 2 * 1024 * 1024; // the Pico W's W25Q16JV
/** The application slot (ota_agent::board), as XIP addresses. */
const SLOT_START = 0x10040000;
const SLOT_END = 0x100c0000;
const LED_PIN = 15;
/** True for a flash offset inside the application slot. */
const inSlot = (offset) => offset >= SLOT_START - 0x10000000 && offset < SLOT_END - 0x10000000;
const SECTOR = 4096;
const XIP_START = 0x10000000;
const XIP_END = 0x14000000;
const SSI_SSIENR = 0x08;
const SRAM_START = 0x20000000;
const SRAM_END = 0x20042000;
/** True for an XIP address (any alias) in the agent's own part of the flash, below the slot. */
const inAgentXip = (a) => a >= XIP_START && a < XIP_END && (a & 0xffffff) < SLOT_START - XIP_START;
const CYCLE_NS = 8; // rp2040js counts every cycle at 125 MHz
/** Host FIFO in front of the CDC OUT endpoint, as rp2040js's USBCDC has. */
const HOST_FIFO = 512;
/** When the firmware sleeps, emulated time may run ahead of wall time by this much. */
const IDLE_LEAD_NS = 4e6;
/** Wall time one run of the instruction loop takes before it lets Node do I/O. */
const SLICE_MS = 10;

const WATCHDOG_CTRL_TRIGGER = 1 << 31;
const WATCHDOG_CTRL_ENABLE = 1 << 30;
const WATCHDOG_REASON = { 1: 'watchdog timeout', 2: 'watchdog trigger' };
const AIRCR = 0xd0c;
const USB_BUF_CTRL_AVAILABLE = 1 << 10;

class Pico extends EventEmitter {
  /**
   * @param {object} o
   * @param {Buffer} o.elf           the agent firmware ELF, written into flash at power-on
   * @param {Buffer} o.app           an application ELF for the slot, written likewise (optional)
   * @param {Array}  o.segments      or the firmware as [{offset, bytes}] (for tests)
   * @param {string} o.flashFile     the flash image, created (erased) when missing
   */
  constructor({ elf, app, segments, flashFile }) {
    super();
    this.stub = buildBootStub();
    this.segments = elf ? flashSegments(elf, 0x10000000, FLASH_SIZE) : segments || [];
    if (app) this.segments.push(...flashSegments(app, 0x10000000, FLASH_SIZE, { boot2: false }));
    // Watchdog scratch registers survive a reset, not a power-on.
    this.scratch = new Uint32Array(8);
    this.flashFile = flashFile;
    this.mcu = null;
    this.boots = 0;
    this.running = false;
    this.timer = null;
    this.immediate = null;
    this.stopped = false;
    this.lookups = new Set();
    this.romCalls = {};
    this.warnings = new Map();
    // Host to device: bytes not yet in the FIFO, and the FIFO itself.
    this.backlog = [];
    this.fifo = [];
    this.fifoBytes = 0;
    this.pendingRead = null;
    this.programs = 0;
    this.cutAfterPrograms = null;
    this.stats = {
      busyCycles: 0,
      busyWallMs: 0,
      emulatedNs: 0,
      wallMs: 0,
      flashErased: 0,
      flashProgrammed: 0,
      slotErased: 0,
      slotProgrammed: 0,
      flashBusyNs: 0,
      flashOps: {},
      firstDeliveredNs: null,
      lastSerialNs: null,
    };
  }

  // ---- power and reset -------------------------------------------------

  /** Opens the flash image, writes the firmware into it, and boots. */
  powerOn() {
    let image;
    if (fs.existsSync(this.flashFile)) {
      image = fs.readFileSync(this.flashFile);
      if (image.length !== FLASH_SIZE) throw new Error(`${this.flashFile}: ${image.length} bytes, expected ${FLASH_SIZE}`);
    } else {
      image = Buffer.alloc(FLASH_SIZE, 0xff);
    }
    // Flashing the firmware (as a UF2 drop would): its sectors only.
    for (const s of this.segments) image.set(s.bytes, s.offset);
    fs.writeFileSync(this.flashFile, image);
    this.fd = fs.openSync(this.flashFile, 'r+');
    this.scratch = new Uint32Array(8);
    this.boot('power on', image, 0);
  }

  boot(reason, image, watchdogReason) {
    this.boots++;
    const mcu = new RP2040();
    this.mcu = mcu;
    this.clock = mcu.clock;
    mcu.logger = this.logger();
    mcu.loadBootrom(this.stub.words); // resets the core and erases rp2040js's flash...
    mcu.flash.set(image, 0); // ...so the flash goes in after it
    mcu.onBreak = (n) => {
      if (!serveBreak(n, this)) this.halt();
    };
    // XIP_CTRL is not modelled: embassy-rp waits for STREAM_CTR to read 0
    // before every flash operation. Nothing streams here, so every register reads 0.
    mcu.peripherals[0x14000] = { name: 'XIP_CTRL', readUint32: () => 0, writeUint32() {}, writeUint32Atomic() {} };
    this.hookRosc();
    this.hookXip();
    this.hookWatchdog(watchdogReason);
    this.hookScbReset();
    this.hookUsb();
    this.appEntered = false;
    this.ramEntered = false;
    this.agentGuard = null;
    mcu.gpio[LED_PIN].addListener((state) => {
      if (state === 0 || state === 1) this.note({ event: 'gpio', pin: LED_PIN, value: state });
    });
    this.resetPending = false;
    this.anchorWall = performance.now();
    this.anchorEmu = 0;
    this.idleNs = 0;
    this.note({ event: 'boot', boot: this.boots, reason });
    if (this.stopped) return; // stopped by whoever heard of the boot
    this.running = true;
    this.schedule(0);
  }

  /** A reset of the whole chip: the flash stays, everything else starts again. */
  requestReset(reason, watchdogReason = 0) {
    this.restart(reason, reason, watchdogReason, this.watchdog().scratchData.slice());
  }

  /**
   * A power cycle, as a user who unplugs the board or presses its reset
   * does: the flash stays; the watchdog's scratch registers and its reason
   * go, so the agent sees a power-on (and opens its host window).
   */
  powerCycle() {
    this.restart('power cycle', 'power on', 0, new Uint32Array(8));
  }

  restart(reason, bootReason, watchdogReason, scratch) {
    if (this.stopped) this.running = false;
    if (this.resetPending || this.stopped) return;
    this.resetPending = true;
    this.running = false;
    this.cancel();
    this.note({ event: 'reset', reason });
    const image = this.mcu.flash.subarray(0, FLASH_SIZE);
    this.scratch = scratch;
    this.pendingRead = null;
    this.hostFlush();
    this.emit('reset', reason);
    setImmediate(() => {
      if (!this.stopped) this.boot(bootReason, image, watchdogReason);
    });
  }

  /** Stops the emulator for good; the flash file holds every completed write. */
  stop(why = 'stopped') {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    this.cancel();
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.emit('stopped', why);
  }

  halt() {
    // The firmware cannot go on (a fault in the stub, an unknown breakpoint).
    this.running = false;
    this.cancel();
  }

  watchdog() {
    return Object.values(this.mcu.peripherals).find((p) => p && p.name === 'WATCHDOG_BASE');
  }

  hookWatchdog(previousReason) {
    const wd = this.watchdog();
    wd.reason = previousReason; // REASON survives the reset it describes
    wd.scratchData.set(this.scratch); // and so do the scratch registers, but not a power-on
    const stopTimer = () => {
      // embassy-rp's trigger_reset() enables the watchdog with LOAD 0 before
      // it sets TRIGGER; rp2040js's periodic alarm would then fire for ever
      // within one clock tick. This chip is done: stop its timer for good.
      wd.alarm.enable = false;
      wd.timer.enable = false;
    };
    wd.onWatchdogTrigger = () => {
      stopTimer();
      this.requestReset(WATCHDOG_REASON[wd.reason] || 'watchdog', wd.reason);
    };
    // Enabling the watchdog while its counter is 0 resets the real chip at
    // the next watchdog tick (1 us) with REASON = TIMER, unless TRIGGER comes
    // first, which is what trigger_reset() does: model that tick here rather
    // than let rp2040js's alarm fire at once.
    const zeroTimeout = this.clock.createAlarm(() => {
      wd.reason = 1;
      wd.onWatchdogTrigger();
    });
    const write = wd.writeUint32.bind(wd);
    wd.writeUint32 = (offset, value) => {
      if (offset === 0 && value & WATCHDOG_CTRL_TRIGGER) {
        zeroTimeout.cancel();
        stopTimer();
        wd.reason = 2;
        this.requestReset(WATCHDOG_REASON[2], 2);
        return;
      }
      if (offset === 0) {
        zeroTimeout.cancel();
        if (value & WATCHDOG_CTRL_ENABLE && !wd.enable && wd.timer.counter === 0) {
          write(offset, value & ~WATCHDOG_CTRL_ENABLE);
          zeroTimeout.schedule(1000);
          return;
        }
      }
      write(offset, value);
    };
  }

  hookScbReset() {
    // AIRCR.SYSRESETREQ (cortex_m::peripheral::SCB::sys_reset): rp2040js
    // ignores it; here it resets the chip like the watchdog does.
    const ppb = this.mcu.ppb;
    const write = ppb.writeUint32.bind(ppb);
    ppb.writeUint32 = (offset, value) => {
      if (offset === AIRCR && value >>> 16 === 0x05fa && value & (1 << 2)) {
        this.requestReset('SCB reset (SYSRESETREQ)', 0);
        return;
      }
      write(offset, value);
    };
  }

  // ---- flash, for the ROM functions ------------------------------------

  erase(offset, count) {
    if (offset % SECTOR || count % SECTOR || offset + count > FLASH_SIZE) {
      this.note({ event: 'flash-error', op: 'erase', offset, count });
      return;
    }
    this.mcu.flash.fill(0xff, offset, offset + count);
    this.persist(offset, count);
    this.stats.flashErased += count;
    if (inSlot(offset)) this.stats.slotErased += count;
  }

  program(offset, data) {
    if (offset + data.length > FLASH_SIZE) {
      this.note({ event: 'flash-error', op: 'program', offset, count: data.length });
      return;
    }
    this.programs++;
    let n = data.length;
    const cut = this.cutAfterPrograms !== null && this.programs >= this.cutAfterPrograms;
    if (cut) n = data.length >> 1; // power fails half way through this write
    const flash = this.mcu.flash;
    for (let i = 0; i < n; i++) flash[offset + i] &= data[i]; // NOR: 1 -> 0 only
    this.persist(offset, n);
    this.stats.flashProgrammed += n;
    if (inSlot(offset)) this.stats.slotProgrammed += n;
    if (cut) this.powerCut(offset, data.length, n);
  }

  /**
   * The flash is busy for `ns` (src/flash_timing.js) and the ROM routine
   * polls its status until it is done: emulated time passes with no
   * instruction executed (not counted in cycles()), timers run on.
   */
  flashBusy(ns, op) {
    this.clock.tick(ns);
    this.idleNs += ns;
    this.stats.flashBusyNs += ns;
    this.stats.flashOps[op] = (this.stats.flashOps[op] || 0) + 1;
  }

  persist(offset, count) {
    if (count > 0) fs.writeSync(this.fd, this.mcu.flash, offset, count, offset);
  }

  /** Cuts the power at the `n`th flash program from now (that write is torn in half). */
  cutPowerAfterPrograms(n) {
    this.cutAfterPrograms = this.programs + n;
  }

  powerCut(offset, count, written) {
    this.note({ event: 'power-cut', offset, count, written });
    this.halt();
    this.stop('power cut');
  }

  romLookup(code) {
    if (!this.lookups.has(code)) {
      this.lookups.add(code);
      this.note({ event: 'rom-lookup', code });
    }
  }

  romCall(code) {
    this.romCalls[code] = (this.romCalls[code] || 0) + 1;
    if (code === 'EX') this.xipOff();
    if (code === 'CX') this.xipOn();
  }

  // ---- XIP while the flash is busy ---------------------------------------

  /**
   * From flash_exit_xip until the SSI is enabled again (the firmware's RAM
   * copy of boot2, or flash_enter_cmd_xip), the flash answers commands, not
   * XIP: on a real chip a fetch or read there returns garbage or stalls.
   * Such an access is reported as an `xip-fault` and stops the firmware,
   * which shows that the code around each flash operation runs from RAM.
   * The guard wraps the chip's reads only while XIP is off.
   */
  hookXip() {
    const mcu = this.mcu;
    this.xipGuard = null;
    const ssi = mcu.peripherals[0x18000];
    const write = ssi.writeUint32.bind(ssi);
    ssi.writeUint32 = (offset, value) => {
      if (offset === SSI_SSIENR && value & 1) this.xipOn();
      write(offset, value);
    };
  }

  xipOff() {
    const mcu = this.mcu;
    if (this.xipGuard) return;
    const saved = { readUint8: mcu.readUint8, readUint16: mcu.readUint16, readUint32: mcu.readUint32 };
    this.xipGuard = saved;
    for (const [name, read] of Object.entries(saved)) {
      mcu[name] = (address) => {
        if (address >= XIP_START && address < XIP_END) this.xipFault(address);
        return read.call(mcu, address);
      };
    }
  }

  xipOn() {
    if (!this.xipGuard) return;
    Object.assign(this.mcu, this.xipGuard);
    this.xipGuard = null;
  }

  xipFault(address) {
    if (!this.running) return;
    const pc = this.mcu.core.PC >>> 0;
    this.note({ event: 'xip-fault', address, pc, why: 'flash read or fetch while the flash is out of XIP mode' });
    this.xipOn();
    this.halt();
  }

  // ---- the agent runs from RAM ------------------------------------------

  /**
   * Once the agent's loader has jumped into SRAM, nothing of the agent may be
   * fetched from XIP again, and once it serves USB nothing of its own flash
   * (boot2, the loader, its image) may be read either, until it hands over to
   * the application in the slot: then the flash can be busy under it. A fetch
   * is checked in the run loop; reads through a guard on the chip's readers,
   * from USB configuration to the hand-over. The store and the slot are data,
   * read through XIP between flash operations, and are not checked here.
   */
  guardAgent() {
    const mcu = this.mcu;
    if (this.agentGuard) return;
    const saved = { readUint8: mcu.readUint8, readUint16: mcu.readUint16, readUint32: mcu.readUint32 };
    this.agentGuard = saved;
    for (const [name, read] of Object.entries(saved)) {
      mcu[name] = (address) => {
        if (inAgentXip(address >>> 0) && !this.appEntered) this.agentXipFault(address >>> 0, 'read');
        return read.call(mcu, address);
      };
    }
  }

  unguardAgent() {
    if (!this.agentGuard) return;
    Object.assign(this.mcu, this.agentGuard);
    this.agentGuard = null;
  }

  agentXipFault(address, kind) {
    if (!this.running) return;
    const pc = this.mcu.core.PC >>> 0;
    this.note({ event: 'xip-fault', address, pc, kind, why: 'the agent runs from RAM: it must not fetch or read its own flash' });
    this.unguardAgent();
    this.halt();
  }

  // ---- USB ---------------------------------------------------------------

  hookUsb() {
    const mcu = this.mcu;
    const usb = mcu.usbCtrl;
    // rp2040js clears an OUT buffer's AVAILABLE bit as soon as the firmware
    // sets it; the real controller clears it when the host's data has landed,
    // and embassy-rp takes AVAILABLE == 0 as "packet received". Keep it set
    // until the read is finished.
    const dpramUpdated = usb.DPRAMUpdated.bind(usb);
    usb.DPRAMUpdated = (offset, value) => {
      dpramUpdated(offset, value);
      const epOutControl = offset >= 0x8c && offset <= 0xfc && (offset & 4) !== 0; // EP1..15 OUT
      // EP0 OUT likewise while the host has a data stage to send (SET_LINE_CODING);
      // other EP0 OUT buffers are status stages, which rp2040js completes at once.
      const ep0Data = offset === 0x84 && this.cdc && this.cdc.controlDataSent;
      if ((epOutControl || ep0Data) && value & USB_BUF_CTRL_AVAILABLE) {
        mcu.usbDPRAMView.setUint32(offset, mcu.usbDPRAMView.getUint32(offset, true) | USB_BUF_CTRL_AVAILABLE, true);
      }
    };
    const finishRead = usb.finishRead.bind(usb);
    usb.finishRead = (ep, buf) => {
      const ctl = 0x84 + ep * 8;
      if (ep !== 0 || this.cdc.controlDataSent) {
        mcu.usbDPRAMView.setUint32(ctl, mcu.usbDPRAMView.getUint32(ctl, true) & ~USB_BUF_CTRL_AVAILABLE, true);
        if (ep === 0) this.cdc.controlDataSent = false;
      }
      finishRead(ep, buf);
    };

    const cdc = new CdcHost(usb);
    this.cdc = cdc;
    // USBCDC answers every armed OUT endpoint at once, with an empty packet
    // when it has nothing: a busy loop. Hold the read until the host has data.
    usb.onEndpointRead = (ep, size) => {
      if (ep === 0) {
        cdc.controlData(size);
        return this.wake();
      }
      if (ep !== cdc.outEndpoint) return;
      this.pendingRead = { ep, size };
      this.deliver();
    };
    this.usbImage = null;
    cdc.onDeviceConnected = () => {
      // Which firmware's USB device the host now sees.
      this.usbImage = this.appEntered ? 'application' : 'agent';
      if (!this.appEntered && this.ramEntered) this.guardAgent();
      this.note({ event: 'usb-configured', interface: cdc.commInterface, image: this.usbImage });
    };
    cdc.onReenumerate = () => {
      this.usbImage = null;
      this.pendingRead = null;
      this.hostFlush();
      this.note({ event: 'usb-reenumerate' });
      this.emit('reset', 'USB re-enumerated');
    };
    cdc.onLineState = () => this.note({ event: 'dtr', interface: cdc.commInterface });
    cdc.onSerialData = (buf) => {
      if (buf.length) {
        this.stats.lastSerialNs = this.totalNs();
        this.emit('serial', Uint8Array.from(buf));
      }
    };
  }

  /**
   * Bytes from the host. They wait in a backlog until the 512-byte host FIFO
   * has room; returns false when they had to wait ('drain' follows), so that a
   * caller can stop reading its socket meanwhile.
   */
  hostWrite(bytes) {
    if (this.stopped || bytes.length === 0) return true;
    this.backlog.push(Buffer.from(bytes));
    this.fill();
    this.deliver();
    return this.backlog.length === 0;
  }

  /**
   * What a host does to the CDC line when it opens the port at `baud` and
   * closes it again: SET_LINE_CODING, then SET_CONTROL_LINE_STATE with DTR
   * off. At 1200 baud that is the touch that asks an application for the agent.
   * Returns false when the USB device is not configured (nothing to touch).
   */
  touch(baud) {
    if (this.stopped || !this.running || !this.usbImage) return false;
    this.note({ event: 'touch', baud });
    this.cdc.cdcSetLineCoding(baud);
    this.cdc.cdcSetControlLineState(0);
    this.wake();
    return true;
  }

  /**
   * A host changed the CDC line (over RFC 2217): SET_LINE_CODING for a baud
   * rate, SET_CONTROL_LINE_STATE for DTR. DTR dropped at 1200 baud is the
   * touch. False when the USB device is not configured.
   */
  hostLine({ baud, dtr, changed }) {
    if (this.stopped || !this.running || !this.usbImage) return false;
    this.note({ event: 'line', baud, dtr });
    if (changed === 'baud') this.cdc.cdcSetLineCoding(baud);
    else if (changed === 'dtr') {
      if (!dtr && baud === 1200) this.note({ event: 'touch', baud });
      this.cdc.cdcSetControlLineState(dtr ? 0x3 : 0);
    } else return true;
    this.wake();
    return true;
  }

  /** What runs now, as a host would tell from the USB device it sees. */
  runningImage() {
    if (this.stopped || !this.running || !this.usbImage) return 'none';
    return this.usbImage;
  }

  /** Forgets what the host sent and the device has not taken (the device went away). */
  hostFlush() {
    this.backlog = [];
    this.fifo = [];
    this.fifoBytes = 0;
  }

  fill() {
    while (this.backlog.length && this.fifoBytes < HOST_FIFO) {
      const b = this.backlog[0];
      const n = Math.min(b.length, HOST_FIFO - this.fifoBytes);
      this.fifo.push(b.subarray(0, n));
      this.fifoBytes += n;
      if (n === b.length) this.backlog.shift();
      else this.backlog[0] = b.subarray(n);
    }
  }

  deliver() {
    const r = this.pendingRead;
    if (!r || this.fifoBytes === 0 || !this.running) return;
    const n = Math.min(r.size, this.fifoBytes);
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const b = this.fifo[0];
      const k = Math.min(b.length, n - at);
      out.set(b.subarray(0, k), at);
      at += k;
      if (k === b.length) this.fifo.shift();
      else this.fifo[0] = b.subarray(k);
    }
    this.fifoBytes -= n;
    this.pendingRead = null;
    this.mcu.usbCtrl.endpointReadDone(r.ep, out);
    if (this.stats.firstDeliveredNs === null) this.stats.firstDeliveredNs = this.totalNs();
    this.emit('delivered', out);
    const hadBacklog = this.backlog.length > 0;
    this.fill();
    if (hadBacklog && this.backlog.length === 0) this.emit('drain');
    this.wake();
  }

  // ---- running -----------------------------------------------------------

  schedule(ms) {
    this.cancel();
    if (ms <= 0) this.immediate = setImmediate(() => this.run());
    else this.timer = setTimeout(() => this.run(), ms);
  }

  cancel() {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = this.immediate = null;
  }

  /** Something happened for the firmware (host data): stop sleeping. */
  wake() {
    if (this.running && this.timer) this.schedule(0);
  }

  run() {
    this.timer = this.immediate = null;
    const mcu = this.mcu;
    const core = mcu.core;
    const clock = this.clock;
    const start = performance.now();
    const emuStart = clock.nanos;
    this.sliceStartNs = emuStart;
    let busyCycles = 0;
    let slept = false;
    let sleepMs = 0;
    outer: while (this.running && this.mcu === mcu) {
      for (let i = 0; i < 4096; i++) {
        if (core.waiting) break;
        if (!this.appEntered) {
          const pc = core.PC >>> 0;
          if (pc >= SRAM_START && pc < SRAM_END) this.ramEntered = true;
          else if (this.ramEntered && inAgentXip(pc)) {
            this.agentXipFault(pc, 'fetch');
            break outer;
          }
          if (pc >= SLOT_START && pc < SLOT_END) {
            this.appEntered = true;
            this.unguardAgent();
            this.note({ event: 'app-entered', pc, cycles: this.cycles() });
            // The agent held its USB controller in reset to hand over: the
            // host sees its device go away until the application's comes up.
            this.usbImage = null;
            this.pendingRead = null;
            this.hostFlush();
            this.emit('reset', 'hand-over');
          }
        }
        const at = core.PC;
        const cycles = core.executeInstruction();
        if (this.profile) this.profile.add(at >>> 0, cycles);
        // A reset or halt inside that instruction: this chip must not tick
        // again (see hookWatchdog).
        if (!this.running || this.mcu !== mcu) break outer;
        clock.tick(cycles * CYCLE_NS);
        busyCycles += cycles;
        if (!this.running || this.mcu !== mcu) break outer;
      }
      if (core.waiting) {
        slept = true;
        sleepMs = this.idle();
        if (!this.running || this.mcu !== mcu) break;
        if (sleepMs > 0) break;
      }
      if (performance.now() - start >= SLICE_MS) break;
    }
    const wall = performance.now() - start;
    this.stats.wallMs += wall;
    this.stats.emulatedNs += clock.nanos - emuStart;
    this.sliceStartNs = null;
    if (!slept) {
      // A slice in which the firmware never slept: the emulator's own speed.
      this.stats.busyCycles += busyCycles;
      this.stats.busyWallMs += wall;
    }
    if (this.running && this.mcu === mcu) this.schedule(sleepMs);
  }

  /**
   * The firmware sleeps (WFI/WFE). Advances emulated time to the next alarm,
   * but never more than IDLE_LEAD_NS ahead of wall time, so that firmware
   * timeouts take as long as they say while nothing else happens. Returns how
   * long to sleep (ms) before emulated time may go on, or 0 to run on now.
   */
  idle() {
    const clock = this.clock;
    const now = performance.now();
    let wallNs = this.anchorEmu + (now - this.anchorWall) * 1e6;
    if (clock.nanos < wallNs) {
      // Busy emulation fell behind wall time: it does not catch up in a jump.
      this.anchorEmu = clock.nanos;
      this.anchorWall = now;
      wallNs = clock.nanos;
    }
    const limit = wallNs + IDLE_LEAD_NS;
    const next = clock.nextAlarm ? clock.nextAlarm.nanos : Infinity;
    if (next <= limit) {
      this.skip(Math.max(0, next - clock.nanos));
      return 0;
    }
    if (clock.nanos < limit) this.skip(limit - clock.nanos);
    return Math.max(1, Math.round((clock.nanos - wallNs) / 1e6));
  }

  /** Emulated time passing while the core sleeps: no cycles executed. */
  skip(ns) {
    this.clock.tick(ns);
    this.idleNs += ns;
  }

  /**
   * Core cycles executed since this chip booted (rp2040js 1.4.1 leaves
   * core.cycles at 0; its executeInstruction returns each instruction's
   * cycles, which the loop turns into emulated time). Emulated time only
   * moves by executed instructions and by skip(), so this is exact and costs
   * nothing per instruction.
   */
  cycles() {
    return Math.round((this.clock.nanos - this.idleNs) / CYCLE_NS);
  }

  // ---- reporting ---------------------------------------------------------

  note(ev) {
    const t = this.mcu ? +(this.mcu.clock.nanos / 1e9).toFixed(4) : 0;
    this.emit('note', { ...ev, t, boot: this.boots });
  }

  /**
   * The ring oscillator's RANDOMBIT, which rp2040js does not model (it reads
   * all ones): noise the agent takes into its boot_id. A fixed sequence for
   * each boot, so that runs repeat and boots differ; every other ROSC
   * register is left to rp2040js.
   */
  hookRosc() {
    const ROSC = 0x40060; // rp2040js's peripheral key for 0x40060000
    const RANDOMBIT = 0x1c;
    const rosc = this.mcu.peripherals[ROSC];
    let x = (0x2545f491 + Math.imul(this.boots, 0x9e3779b9)) >>> 0 || 1;
    this.mcu.peripherals[ROSC] = {
      name: 'ROSC',
      readUint32: (offset) => {
        if (offset !== RANDOMBIT) return rosc.readUint32(offset);
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>> 0) & 1;
      },
      writeUint32: (offset, value) => rosc.writeUint32(offset, value),
      writeUint32Atomic: (offset, value, type) => rosc.writeUint32Atomic(offset, value, type),
    };
  }

  logger() {
    // rp2040js's own logger prints every unknown register access and throws
    // on errors. Writes to ROSC, VREG and some USB registers are reported as
    // unknown and are harmless: keep one note of each kind.
    const seen = (level) => (name, msg) => {
      const key = `${level} ${name}: ${String(msg).replace(/0x[0-9a-f]+|\d+/gi, 'N')}`;
      if (!this.warnings.has(key)) {
        this.warnings.set(key, 0);
        this.note({ event: 'rp2040js', level, component: name, message: String(msg) });
      }
      this.warnings.set(key, this.warnings.get(key) + 1);
    };
    return { debug() {}, info() {}, warn: seen('warn'), error: seen('error') };
  }

  /** Emulated time over every boot so far (each boot's clock starts at 0). */
  totalNs() {
    return this.stats.emulatedNs + (this.clock ? this.clock.nanos - (this.sliceStartNs ?? this.clock.nanos) : 0);
  }

  /**
   * The figures so far. `exchange_s` is the emulated time from the first
   * host byte handed to the firmware since the last report to the last
   * byte it sent: the board's side of a push, without the host's start-up.
   */
  report() {
    const s = this.stats;
    const exchange = s.firstDeliveredNs === null || s.lastSerialNs === null ? null : (s.lastSerialNs - s.firstDeliveredNs) / 1e9;
    s.firstDeliveredNs = null;
    return {
      exchange_s: exchange === null ? null : +exchange.toFixed(4),
      cycles: this.mcu ? this.cycles() : 0,
      boots: this.boots,
      emulated_s: +(s.emulatedNs / 1e9).toFixed(3),
      wall_s: +(s.wallMs / 1e3).toFixed(3),
      busy_cycles: s.busyCycles,
      busy_wall_s: +(s.busyWallMs / 1e3).toFixed(3),
      busy_mhz: s.busyWallMs ? +(s.busyCycles / s.busyWallMs / 1e3).toFixed(2) : null,
      flash_erased: s.flashErased,
      flash_programmed: s.flashProgrammed,
      slot_erased: s.slotErased,
      slot_programmed: s.slotProgrammed,
      flash_busy_s: +(s.flashBusyNs / 1e9).toFixed(4),
      flash_ops: { ...s.flashOps },
      rom_lookups: [...this.lookups],
      rom_calls: this.romCalls,
    };
  }
}

/**
 * rp2040js's host side CDC driver, with SET_CONTROL_LINE_STATE sent to the
 * communication interface as CDC-ACM says (USBCDC addresses it to the device,
 * and embassy-usb's class stalls it, leaving DTR false).
 */
class CdcHost extends USBCDC {
  constructor(usb) {
    super(usb);
    // Control transfers after enumeration, one at a time: [{setup, data}].
    this.controls = [];
    this.controlBusy = false;
    // The controller enabled again without a chip reset (the agent handed
    // over to the application, which brings up USB of its own): a new device
    // on the bus, enumerated from the start.
    const enabled = usb.onUSBEnabled;
    this.enables = 0;
    usb.onUSBEnabled = () => {
      if (this.enables++ > 0) {
        this.initialized = false;
        this.lineStateTaken = false;
        this.descriptorsSize = null;
        this.descriptors = [];
        this.outEndpoint = this.inEndpoint = -1;
        this.controls = [];
        this.controlBusy = false;
        this.pendingControlData = null;
        if (this.onReenumerate) this.onReenumerate();
      }
      enabled();
    };
    // The status stage of SET_CONTROL_LINE_STATE (an empty IN packet on EP0)
    // says the device took it; a stalled request never gets one.
    const onEndpointWrite = usb.onEndpointWrite;
    usb.onEndpointWrite = (ep, buf) => {
      const status = ep === 0 && buf.length === 0 && this.initialized && !this.lineStateTaken;
      const later = ep === 0 && buf.length === 0 && this.controlBusy;
      onEndpointWrite(ep, buf);
      if (status) {
        this.lineStateTaken = true;
        if (this.onLineState) this.onLineState();
      }
      if (later) {
        // The status stage of a queued control transfer: send the next one.
        this.controlBusy = false;
        this.nextControl();
      }
    };
  }

  get commInterface() {
    // The interface of class 2 (CDC communication) in the configuration descriptor.
    const d = this.descriptors;
    for (let i = 0; i + 1 < d.length && d[i] >= 2; i += d[i]) {
      if (d[i + 1] === 4 && d[i + 5] === 2) return d[i + 2];
    }
    return 0;
  }

  cdcSetLineCoding(baud) {
    const data = new Uint8Array(7);
    new DataView(data.buffer).setUint32(0, baud, true);
    data[6] = 8; // 8 data bits, 1 stop bit, no parity
    this.control(
      createSetupPacket({
        dataDirection: DataDirection.HostToDevice,
        type: SetupType.Class,
        recipient: SetupRecipient.Interface,
        bRequest: 0x20,
        wValue: 0,
        wIndex: this.commInterface,
        wLength: data.length,
      }),
      data,
    );
  }

  /** Queues a control transfer (after enumeration); OUT data goes in its data stage. */
  control(setup, data = null) {
    this.controls.push({ setup, data });
    this.nextControl();
  }

  nextControl() {
    if (this.controlBusy || !this.controls.length) return;
    const { setup, data } = this.controls.shift();
    this.controlBusy = true;
    this.pendingControlData = data;
    this.usb.sendSetupPacket(setup);
  }

  /** The device armed EP0 OUT: the data stage of the transfer under way. */
  controlData(size) {
    const data = this.pendingControlData;
    if (!data) return;
    this.pendingControlData = null;
    this.controlDataSent = true;
    this.usb.endpointReadDone(0, data.subarray(0, size));
  }

  cdcSetControlLineState(value = 0x3 /* DTR | RTS */) {
    if (this.initialized) {
      // After enumeration: queued behind any other control transfer.
      return this.control(
        createSetupPacket({
          dataDirection: DataDirection.HostToDevice,
          type: SetupType.Class,
          recipient: SetupRecipient.Interface,
          bRequest: 0x22,
          wValue: value,
          wIndex: this.commInterface,
          wLength: 0,
        }),
      );
    }
    this.usb.sendSetupPacket(
      createSetupPacket({
        dataDirection: DataDirection.HostToDevice,
        type: SetupType.Class,
        recipient: SetupRecipient.Interface,
        bRequest: 0x22,
        wValue: value,
        wIndex: this.commInterface,
        wLength: 0,
      }),
    );
    this.initialized = true;
  }
}

module.exports = { Pico, CdcHost, FLASH_SIZE, HOST_FIFO, IDLE_LEAD_NS };
