'use strict';
// The server side of RFC 2217 (Telnet COM Port Control) for the bridge: a
// host that opens with Telnet negotiation gets the serial line's data with
// 0xFF escaped (IAC IAC), and sets the line's baud rate and DTR with
// COM-PORT-OPTION subnegotiations, which is how a 1200-baud touch travels
// over the network (ota's rfc2217://, pyserial, ser2net, labgrid).
//
// Only what a USB CDC port has is modelled: the baud rate, DTR and RTS; the
// other settings are answered as 8N1 without flow control, and a purge and
// the state masks are acknowledged; the modem lines are reported up (the
// bridge serves RFC 2217 only while the board is on USB).

const IAC = 0xff, DONT = 0xfe, DO = 0xfd, WONT = 0xfc, WILL = 0xfb, SB = 0xfa, SE = 0xf0;
const BINARY = 0, SGA = 3, COM_PORT = 44;
// Client commands; the server answers each with the command + 100.
const SIGNATURE = 0, SET_BAUDRATE = 1, SET_DATASIZE = 2, SET_PARITY = 3, SET_STOPSIZE = 4;
const SET_CONTROL = 5, SET_LINESTATE_MASK = 10, SET_MODEMSTATE_MASK = 11, PURGE_DATA = 12;
const NOTIFY_MODEMSTATE = 107;
const MODEM_CTS = 0x10, MODEM_DSR = 0x20, MODEM_CD = 0x80;
const OPTIONS = new Set([BINARY, SGA, COM_PORT]);

class Rfc2217Server {
  /**
   * `write(bytes)` sends to the host, `data(bytes)` takes the serial data
   * the host sent, and `line({ baud, dtr, rts, changed })` hears every change
   * the host asks for, in order with the data.
   */
  constructor({ write, data, line = () => {} }) {
    this.write = write;
    this.data = data;
    this.line = line;
    this.state = { baud: 115200, dtr: true, rts: true };
    this.mode = 'data';
    this.sub = [];
    this.agreed = new Set(); // "DO:44", "WILL:0": what each side said yes to
  }

  notifyModem() {
    this.reply(NOTIFY_MODEMSTATE, [MODEM_CTS | MODEM_DSR | MODEM_CD]);
  }

  /** Takes bytes from the host: data to `data`, line changes to `line`. */
  receive(bytes) {
    const data = [];
    for (const b of bytes) {
      switch (this.mode) {
        case 'data':
          if (b === IAC) this.mode = 'iac';
          else data.push(b);
          break;
        case 'iac':
          this.mode = 'data';
          if (b === IAC) data.push(IAC);
          else if (b === SB) [this.mode, this.sub] = ['sb', []];
          else if (b >= WILL && b <= DONT) [this.mode, this.verb] = ['option', b];
          break; // other commands (NOP, GA, ...) carry nothing here
        case 'option':
          this.mode = 'data';
          this.negotiate(this.verb, b);
          break;
        case 'sb':
          if (b === IAC) this.mode = 'sb-iac';
          else this.sub.push(b);
          break;
        case 'sb-iac':
          if (b === IAC) [this.mode, this.sub] = ['sb', [...this.sub, IAC]];
          else if (b === SE) {
            this.mode = 'data';
            // The data before the subnegotiation goes first, then the change.
            if (data.length) this.data(Buffer.from(data.splice(0)));
            this.subnegotiation(this.sub);
          } else this.mode = 'sb';
          break;
      }
    }
    if (data.length) this.data(Buffer.from(data));
  }

  /** Serial data for the host, escaped. */
  send(bytes) {
    const out = [];
    for (const b of bytes) {
      out.push(b);
      if (b === IAC) out.push(IAC);
    }
    this.write(Buffer.from(out));
  }

  offer(verb, option) {
    const key = `${verb === WILL || verb === WONT ? 'WILL' : 'DO'}:${option}`;
    const yes = verb === WILL || verb === DO;
    if (this.agreed.has(key) === yes) return; // no loops: answer changes only
    if (yes) this.agreed.add(key);
    else this.agreed.delete(key);
    this.write(Buffer.from([IAC, verb, option]));
  }

  negotiate(verb, option) {
    const ok = OPTIONS.has(option);
    if (verb === WILL) {
      // The client offers COM-PORT-OPTION: once taken, it hears the modem lines.
      const fresh = ok && !this.agreed.has(`DO:${option}`);
      this.offer(ok ? DO : DONT, option);
      if (fresh && option === COM_PORT) this.notifyModem();
    } else if (verb === WONT) this.offer(DONT, option);
    else if (verb === DO) this.offer(ok ? WILL : WONT, option);
    else this.offer(WONT, option);
  }

  subnegotiation(sub) {
    if (sub[0] !== COM_PORT || sub.length < 2) return;
    const [cmd, ...value] = sub.slice(1);
    const s = this.state;
    if (cmd === SIGNATURE) this.reply(cmd + 100, [...Buffer.from('ota emulator bridge')]);
    else if (cmd === SET_BAUDRATE && value.length === 4) {
      const baud = Buffer.from(value).readUInt32BE(0);
      if (baud !== 0) this.change({ baud });
      const out = Buffer.alloc(4);
      out.writeUInt32BE(s.baud);
      this.reply(cmd + 100, [...out]);
    } else if (cmd === SET_DATASIZE) this.reply(cmd + 100, [8]);
    else if (cmd === SET_PARITY || cmd === SET_STOPSIZE) this.reply(cmd + 100, [1]);
    else if (cmd === SET_CONTROL) this.reply(cmd + 100, [this.control(value[0])]);
    else if (cmd === SET_LINESTATE_MASK || cmd === SET_MODEMSTATE_MASK || cmd === PURGE_DATA) {
      this.reply(cmd + 100, value);
    }
  }

  /** SET-CONTROL: its answer (the state asked for, or asked about). */
  control(v) {
    const s = this.state;
    switch (v) {
      case 8: this.change({ dtr: true }); return 8;
      case 9: this.change({ dtr: false }); return 9;
      case 11: this.change({ rts: true }); return 11;
      case 12: this.change({ rts: false }); return 12;
      case 7: return s.dtr ? 8 : 9;
      case 10: return s.rts ? 11 : 12;
      case 0: case 1: return 1; // flow control: none
      default: return v;
    }
  }

  change(what) {
    Object.assign(this.state, what);
    this.line({ ...this.state, changed: Object.keys(what)[0] });
  }

  reply(cmd, value) {
    const out = [IAC, SB, COM_PORT, cmd];
    for (const b of value) {
      out.push(b);
      if (b === IAC) out.push(IAC);
    }
    out.push(IAC, SE);
    this.write(Buffer.from(out));
  }
}

module.exports = { Rfc2217Server, IAC };
