/**
 * One-line text of decoded packets in packetdrill's notation.
 *
 * `full` (packetdrill's DUMP_FULL):
 *   192.0.2.1:8080 > 192.168.0.1:41234 S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
 * `short` (DUMP_SHORT, the "script packet" / "actual packet" lines):
 *   S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
 * `verbose` adds a hex dump on the following lines.
 *
 * As in packetdrill, the fields are each followed by one space, so a segment
 * without options ends in a space ("S 0:0(0) win 32792 "). Options print
 * as the option table in tcp-options.ts says (packetdrill's words; a kind
 * no entry knows as "kind <kind> len <length>"), and a malformed option
 * list ends in "[bad opt: <reason>]".
 */

import { ICMPV4_TYPES, ICMPV4_UNREACHABLE_CODES } from './icmpv4.js';
import { ICMPV6_CODES, ICMPV6_TYPES } from './icmpv6.js';
import type { DecodedPacket } from './packet.js';
import { formatTcpFlags } from './tcp.js';
import { formatTcpOptions } from './tcp-options.js';

export type DumpFormat = 'short' | 'full' | 'verbose';

export interface FormatOptions {
  /** Default 'full'. */
  format?: DumpFormat;
  /** Print "win N" (packetdrill leaves it out for script packets whose window is not checked). Default true. */
  showWindow?: boolean;
  /** Print ECE/CWR/AE as the AccECN ACE digit instead of E W A letters. Default false. */
  ace?: boolean;
  /**
   * For ICMP, print type, code, MTU and the quoted segment instead of
   * packetdrill's bare "icmpv4" / "icmpv6". Default false.
   */
  icmpDetail?: boolean;
}

/**
 * Hex dump as packetdrill prints it: 16 bytes a line, each line
 * "0x0000: 45 00 ... " (every byte followed by a space), ending in a newline.
 */
export function hexDump(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const n = i - start;
    if (n % 16 === 0) {
      if (n > 0) s += '\n';
      s += `0x${n.toString(16).padStart(4, '0')}: `;
    }
    s += `${bytes[i]!.toString(16).padStart(2, '0')} `;
  }
  return `${s}\n`;
}

function endpoints(p: DecodedPacket): string {
  return `${p.src}:${p.srcPort} > ${p.dst}:${p.dstPort} `;
}

function nameOf(table: Readonly<Record<string, number>>, value: number): string | undefined {
  for (const [k, v] of Object.entries(table)) if (v === value) return k;
  return undefined;
}

function icmpText(p: DecodedPacket, opts: FormatOptions): string {
  const v4 = p.icmpv4 !== undefined;
  const h = v4 ? p.icmpv4! : p.icmpv6!;
  const base = v4 ? 'icmpv4' : 'icmpv6';
  if (opts.icmpDetail !== true) return base;
  const typeName = nameOf(v4 ? ICMPV4_TYPES : ICMPV6_TYPES, h.type) ?? `type_${h.type}`;
  let codeTable: Readonly<Record<string, number>> | undefined;
  if (v4 && h.type === 3) codeTable = ICMPV4_UNREACHABLE_CODES;
  else if (!v4) codeTable = ICMPV6_CODES[typeName];
  const codeName = codeTable !== undefined ? nameOf(codeTable, h.code) : undefined;
  let s = `${base} ${typeName}`;
  if (codeName !== undefined) s += ` ${codeName}`;
  else if (h.code !== 0 || codeTable !== undefined) s += ` code_${h.code}`;
  if (h.mtu !== undefined) s += ` mtu ${h.mtu}`;
  if (h.echoId !== undefined) s += ` id ${h.echoId} seq ${h.echoSequence}`;
  const q = h.quoted;
  if (q !== undefined) {
    if (q.tcp !== undefined || q.partialTcp !== undefined) {
      const seq = q.tcp?.seq ?? q.partialTcp!.seq;
      s += ` [${q.src}:${q.srcPort} > ${q.dst}:${q.dstPort} tcp seq ${seq}]`;
    } else if (q.srcPort !== undefined) {
      s += ` [${q.src}:${q.srcPort} > ${q.dst}:${q.dstPort} ${q.protocol === 17 ? 'udp' : `proto ${q.protocol}`}]`;
    } else if (q.src !== undefined) {
      s += ` [${q.src} > ${q.dst} proto ${q.protocol}]`;
    }
  }
  return s;
}

/** The packet as packetdrill prints it (see the module comment for the formats). */
export function formatPacket(p: DecodedPacket, opts: FormatOptions = {}): string {
  const format = opts.format ?? 'full';
  const withEndpoints = format !== 'short';
  let s: string;
  if (p.ipVersion === undefined) {
    s = '[NO IP HEADER]';
  } else if (p.tcp !== undefined) {
    const t = p.tcp;
    const len = p.payload.length;
    s = withEndpoints ? endpoints(p) : '';
    s += formatTcpFlags(t, opts.ace === true);
    s += ` ${t.seq}:${(t.seq + len) >>> 0}(${len}) `;
    if (t.ack) s += `ack ${t.ackSeq} `;
    if (opts.showWindow !== false) s += `win ${t.window} `;
    if (t.optionsRaw.length > 0) s += `<${formatTcpOptions(t.options, t.optionsError)}>`;
  } else if (p.udp !== undefined) {
    s = `${withEndpoints ? endpoints(p) : ''}udp (${p.payload.length})`;
  } else if (p.icmpv4 !== undefined || p.icmpv6 !== undefined) {
    s = icmpText(p, opts);
  } else {
    s = p.protocol !== undefined ? `[protocol ${p.protocol}]` : '[NO TCP, UDP OR ICMP HEADER]';
  }
  if (format === 'verbose') s += `\n${hexDump(p.buffer, 0, p.end)}`;
  return s;
}

/** The packet in script notation, without addresses (packetdrill's DUMP_SHORT). */
export function formatScriptPacket(p: DecodedPacket, opts: Omit<FormatOptions, 'format'> = {}): string {
  return formatPacket(p, { ...opts, format: 'short' });
}

/**
 * A packet line of an error report, as packetdrill writes them under the
 * error: `script packet:  0.100000 S. 0:0(0) ack 1 win 65535 <...>`.
 * `label` is e.g. "script" or "actual"; `timeUsecs` is script-relative time.
 */
export function formatPacketReportLine(
  label: string,
  timeUsecs: number,
  p: DecodedPacket,
  opts: Omit<FormatOptions, 'format'> = {},
): string {
  return `${label} packet: ${formatDumpTime(timeUsecs)} ${formatScriptPacket(p, opts)}`;
}

/** `%9.6f` of seconds, as packetdrill prints packet times. */
export function formatDumpTime(usecs: number): string {
  return (usecs / 1e6).toFixed(6).padStart(9, ' ');
}
