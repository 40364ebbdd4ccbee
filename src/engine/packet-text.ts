/**
 * Packets in script notation, for failure messages and capture notes:
 * `S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>`,
 * exactly as packetdrill prints its "script packet" and "actual packet"
 * lines.
 */
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../packet/protocols.js';
import { type Layout } from '../packet/layout.js';
import { tcpOptionPlaces } from '../packet/tcp-options.js';

const ACCECN_LABELS = [['e0b', 'ceb', 'e1b'], ['e1b', 'ceb', 'e0b']] as const;

/** One TCP option at `at` (kind byte) with length `len`, as packetdrill names it. */
export function tcpOptionText(buf: Buffer, at: number, len: number): string {
  const kind = buf[at]!;
  const hex = (from: number, to: number) => buf.subarray(from, to).toString('hex');
  switch (kind) {
    case 0: return 'eol';
    case 1: return 'nop';
    case 2: return `mss ${buf.readUInt16BE(at + 2)}`;
    case 3: return `wscale ${buf[at + 2]}`;
    case 4: return 'sackOK';
    case 5: {
      const blocks: string[] = [];
      for (let b = at + 2; b + 8 <= at + len; b += 8) blocks.push(`${buf.readUInt32BE(b)}:${buf.readUInt32BE(b + 4)}`);
      return `sack ${blocks.join(' ')}`;
    }
    case 8: return `TS val ${buf.readUInt32BE(at + 2)} ecr ${buf.readUInt32BE(at + 6)}`;
    case 19: return len > 2 ? `md5 ${hex(at + 2, at + len)}` : 'md5';
    case 34: return len > 2 ? `FO ${hex(at + 2, at + len)}` : 'FO';
    case 254:
      if (len >= 4 && buf.readUInt16BE(at + 2) === 0xf989) return len > 4 ? `FOEXP ${hex(at + 4, at + len)}` : 'FOEXP';
      return `exp ${hex(at + 2, at + len)}`;
    case 172:
    case 174: {
      const labels = ACCECN_LABELS[kind === 172 ? 0 : 1];
      const parts = ['ECN'];
      for (let i = 0; i < 3 && at + 2 + 3 * i + 3 <= at + len; i++) {
        const o = at + 2 + 3 * i;
        parts.push(`${labels[i]} ${(buf[o]! << 16) | (buf[o + 1]! << 8) | buf[o + 2]!}`);
      }
      return parts.join(' ');
    }
    default: return `kind ${kind} len ${len}`;
  }
}

export function tcpOptionsText(buf: Buffer, layout: Layout): string {
  const { places } = tcpOptionPlaces(buf, layout.l4 + 20, layout.l4 + layout.l4HeaderLen);
  return places.map((o) => tcpOptionText(buf, o.at, o.len)).join(',');
}

export interface TextFlags {
  parseAce?: boolean;
  winNoCheck?: boolean;
}

/** Short form, without addresses (packetdrill's DUMP_SHORT). */
export function packetText(buf: Buffer, layout: Layout, flags: TextFlags = {}): string {
  const t = layout.l4;
  if (layout.proto === IPPROTO_TCP) {
    const f = buf[t + 13]!;
    const ae = (buf[t + 12]! & 1) !== 0;
    let s = '';
    if (f & 0x01) s += 'F';
    if (f & 0x02) s += 'S';
    if (f & 0x04) s += 'R';
    if (f & 0x08) s += 'P';
    if (f & 0x10) s += '.';
    if (f & 0x20) s += 'U';
    if (flags.parseAce) {
      s += String((f & 0x40 ? 1 : 0) | (f & 0x80 ? 2 : 0) | (ae ? 4 : 0));
    } else {
      if (f & 0x40) s += 'E';
      if (f & 0x80) s += 'W';
      if (ae) s += 'A';
    }
    const seq = buf.readUInt32BE(t + 4);
    s += ` ${seq}:${(seq + layout.payloadLen) >>> 0}(${layout.payloadLen}) `;
    if (f & 0x10) s += `ack ${buf.readUInt32BE(t + 8)} `;
    if (!flags.winNoCheck) s += `win ${buf.readUInt16BE(t + 14)} `;
    if (layout.l4HeaderLen > 20) s += `<${tcpOptionsText(buf, layout)}>`;
    return s;
  }
  if (layout.proto === IPPROTO_UDP) return `udp (${layout.payloadLen})`;
  if (layout.proto === IPPROTO_ICMP) return 'icmpv4';
  if (layout.proto === IPPROTO_ICMPV6) return 'icmpv6';
  return `[protocol ${layout.proto}]`;
}

/** `%9.6f` of seconds, as packetdrill prints packet times. */
export function dumpTime(usecs: number): string {
  return (usecs / 1e6).toFixed(6).padStart(9, ' ');
}
