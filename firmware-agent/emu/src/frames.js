'use strict';
// Reads the ota protocol on the wire, just enough to time it: frames are
// 0x00, COBS(postcard body + CRC-32 little endian), 0x00
// (firmware-agent/protocol/src/frame.rs); a body starts with the variant
// index of Request or Reply (firmware-agent/protocol/src/message.rs) as a
// postcard varint. peekRequest/peekReply decode the first fields of the few
// messages the bench needs; anything else is {kind: 'other', variant}.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32/ISO-HDLC (zlib's crc32), as the protocol's frames carry it. */
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** COBS decoding of one frame's bytes (delimiters removed); null when malformed. */
function cobsDecode(bytes) {
  const out = [];
  let i = 0;
  while (i < bytes.length) {
    const code = bytes[i++];
    if (code === 0) return null;
    const end = i + code - 1;
    if (end > bytes.length) return null;
    for (; i < end; i++) out.push(bytes[i]);
    if (code !== 0xff && i < bytes.length) out.push(0);
  }
  return Uint8Array.from(out);
}

/**
 * Splits a byte stream, cut anywhere, into frame bodies (CRC checked and
 * removed). push(bytes) returns the bodies of the frames that ended in them.
 */
class FrameReader {
  constructor() {
    this.buf = [];
  }

  push(bytes) {
    const bodies = [];
    for (const b of bytes) {
      if (b !== 0) {
        this.buf.push(b);
        continue;
      }
      if (this.buf.length === 0) continue;
      const raw = cobsDecode(this.buf);
      this.buf = [];
      if (!raw || raw.length <= 4) continue;
      const body = raw.subarray(0, raw.length - 4);
      const crc = raw[raw.length - 4] | (raw[raw.length - 3] << 8) | (raw[raw.length - 2] << 16) | (raw[raw.length - 1] << 24);
      if (crc32(body) === crc >>> 0) bodies.push(body);
    }
    return bodies;
  }
}

/** postcard's unsigned varint at `at`: [value, next offset]. */
function varint(b, at) {
  let v = 0;
  let shift = 0;
  for (;;) {
    if (at >= b.length) throw new Error('truncated varint');
    const x = b[at++];
    v += (x & 0x7f) * 2 ** shift;
    if (!(x & 0x80)) return [v, at];
    shift += 7;
  }
}

// Variant indexes, in the order the enums declare them.
const REQUEST = ['Hello', 'ListFiles', 'Begin', 'Entry', 'Data', 'Query', 'Commit', 'Reboot', 'Confirm', 'Rollback', 'Abort', 'Provision'];
const REPLY = ['Info', 'File', 'ListEnd', 'Ready', 'Need', 'Ack', 'FileDone', 'Committed', 'Done', 'Error'];

/** Begin: {kind, session, entries}; Entry: {kind, index}; others: {kind}. */
function peekRequest(body) {
  const [variant, at] = varint(body, 0);
  const kind = REQUEST[variant] || 'other';
  if (kind === 'Begin') {
    const [session, a1] = varint(body, at);
    const [entries] = varint(body, a1);
    return { kind, session, entries };
  }
  if (kind === 'Entry') return { kind, index: varint(body, at)[0] };
  return { kind, variant };
}

/** Need: {kind, index, need}; Error: {kind, code}; others: {kind}. */
function peekReply(body) {
  const [variant, at] = varint(body, 0);
  const kind = REPLY[variant] || 'other';
  if (kind === 'Need') {
    const [index, a1] = varint(body, at);
    return { kind, index, need: body[a1] === 1 };
  }
  if (kind === 'Error') return { kind, code: varint(body, at)[0] };
  return { kind, variant };
}

module.exports = { FrameReader, peekRequest, peekReply, crc32, cobsDecode };
