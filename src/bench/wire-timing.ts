/**
 * Injection timing seen on the wire: what a script schedules for each
 * inbound packet line, the packets a capture saw on the tool's device, and
 * how late each injected packet was. The same rules for every tool, so
 * that two harnesses can be compared on the same script.
 *
 * When a line is due. packetdrill's rule (and tundrill's): an absolute
 * time counts from the script's start; a relative time counts from the
 * previous event's scheduled time when both are inbound packets, and
 * otherwise from the moment the harness starts the line (after it has
 * finished the previous event). So an inbound line is due
 * - on the script's clock: absolute, or relative along a chain of inbound
 *   lines that starts with an absolute one; the script's start is not on
 *   the wire, so the capture's zero is fitted (see wireErrors);
 * - after an outbound packet: relative, right after a `>` line; the harness
 *   cannot start the line before that packet left the kernel, so the
 *   packet's own stamp is the anchor, and the error includes how long the
 *   harness took to see it;
 * - not at a time the wire can tell (relative after a system call, a
 *   command or a `*` line): such lines are counted but not measured.
 */
import type { Script } from '../script/index.js';
import { parseCapture } from '../evidence/pcap-reader.js';

export type Anchor = { kind: 'clock' } | { kind: 'outbound'; index: number } | { kind: 'unknown' };

export interface InboundLine {
  line: number;
  anchor: Anchor;
  /** Due time from the anchor (µs); for an unknown anchor, the script's offset. */
  usecs: number;
  /** `>` lines before this line in the script. */
  outboundBefore: number;
}

export interface Schedule {
  inbound: InboundLine[];
  /** Number of `>` lines. */
  outbound: number;
}

/** When each inbound packet line of a parsed script is due, in script order. */
export function inboundSchedule(script: Pick<Script, 'events'>): Schedule {
  const inbound: InboundLine[] = [];
  let outbound = 0;
  /** The previous event, as far as the next relative time needs it. */
  let prev: { inbound: InboundLine } | { outboundIndex: number } | { other: true } | undefined;
  for (const e of script.events) {
    const isInbound = e.type === 'packet' && e.packet.direction === 'inbound';
    let anchor: Anchor = { kind: 'unknown' };
    let usecs = 0;
    const t = e.time;
    if (t.kind === 'absolute' || t.kind === 'absolute_range') {
      anchor = { kind: 'clock' };
      usecs = t.usecs;
    } else if (t.kind === 'relative' || t.kind === 'relative_range') {
      usecs = t.usecs;
      if (prev === undefined) {
        anchor = { kind: 'clock' };
      } else if (isInbound && 'inbound' in prev) {
        anchor = prev.inbound.anchor;
        usecs = prev.inbound.usecs + t.usecs;
      } else if ('outboundIndex' in prev) {
        anchor = { kind: 'outbound', index: prev.outboundIndex };
      }
    }
    if (isInbound) {
      const line: InboundLine = { line: e.loc.line, anchor, usecs, outboundBefore: outbound };
      inbound.push(line);
      prev = { inbound: line };
    } else if (e.type === 'packet') {
      prev = { outboundIndex: outbound++ };
    } else {
      prev = { other: true };
    }
  }
  return { inbound, outbound };
}

/** One packet of a capture: its kernel stamp and which way it went. */
export interface WirePacket {
  tsNs: bigint;
  direction: 'inbound' | 'outbound';
}

export interface WireErrors {
  /** Errors (µs) of the lines on the script's clock, measured from the fitted zero. */
  clock: number[];
  /** Errors (µs) of the lines due after an outbound packet. */
  afterOutbound: number[];
  /**
   * For each run of consecutive lines on the script's clock due at the
   * same instant (a burst), how long the wire took from its first packet to
   * its last (µs): zero for a harness that could write them all at once.
   */
  burstSpread: number[];
  /** Inbound lines the wire cannot time. */
  unknown: number;
  /** Why some lines were left out, when the capture does not fit the script. */
  note?: string;
}

export interface RunFacts {
  /** The tool reported a pass (then it injected every inbound line and saw every outbound one). */
  passed: boolean;
  /** How many packets the tool says it injected, when it says. */
  injected?: number;
}

/**
 * Match captured packets to the script's lines by order (the n-th injected
 * packet is the n-th inbound line; the n-th packet the kernel sent is the
 * n-th outbound line) and compute each inbound line's error. Injected
 * packets after the last inbound line (packetdrill resets the connections
 * a script leaves open) are left out. A capture with fewer injected
 * packets than the tool wrote (it started late) gives no numbers.
 *
 * Zero for the script's clock: the offset that makes the most punctual of
 * these lines exactly on time (error = stamp - due - min over the run of
 * (stamp - due)). Each tool's real start is inside the tool; the first
 * injected packet would do as zero only if it were never late, and it is
 * the one most likely to be (cold caches, the first write on a new
 * device). With the minimum, every error is lateness relative to the
 * tool's best packet of the run, on the same footing for both tools.
 *
 * Outbound packets match `>` lines by order only in a run that passed (a
 * failing one may have stopped at an unexpected packet).
 */
export function wireErrors(schedule: Schedule, packets: readonly WirePacket[], run: RunFacts): WireErrors {
  const inbound = packets.filter((p) => p.direction === 'inbound').map((p) => p.tsNs);
  const outbound = packets.filter((p) => p.direction === 'outbound').map((p) => p.tsNs);
  const out: WireErrors = { clock: [], afterOutbound: [], burstSpread: [], unknown: 0 };
  const wanted = Math.max(run.passed ? schedule.inbound.length : 0, run.injected ?? 0);
  if (inbound.length < wanted) {
    out.note = `the capture holds ${inbound.length} injected packets, the tool wrote ${wanted}: left out`;
    return out;
  }
  const n = Math.min(inbound.length, schedule.inbound.length);
  let outboundTrusted = run.passed;
  if (outboundTrusted) {
    const mismatch = outboundMismatch(schedule, inbound.slice(0, n), outbound);
    if (mismatch) {
      out.note = `${mismatch}: lines after \`>\` lines left out`;
      outboundTrusted = false;
    }
  }
  const clockLate: number[] = [];
  for (let i = 0; i < n; i++) {
    const line = schedule.inbound[i]!;
    const ts = inbound[i]!;
    if (line.anchor.kind === 'clock') {
      clockLate.push(Number(ts - inbound[0]!) / 1000 - line.usecs);
    } else if (line.anchor.kind === 'outbound') {
      const a = outbound[line.anchor.index];
      if (outboundTrusted && a !== undefined) out.afterOutbound.push(Number(ts - a) / 1000 - line.usecs);
    } else {
      out.unknown++;
    }
  }
  for (let i = 0; i < n; ) {
    const line = schedule.inbound[i]!;
    let j = i + 1;
    while (line.anchor.kind === 'clock' && j < n && schedule.inbound[j]!.anchor.kind === 'clock' && schedule.inbound[j]!.usecs === line.usecs) j++;
    if (j - i > 1) out.burstSpread.push(Number(inbound[j - 1]! - inbound[i]!) / 1000);
    i = j;
  }
  if (clockLate.length) {
    let zero = Infinity;
    for (const v of clockLate) zero = Math.min(zero, v);
    out.clock = clockLate.map((v) => v - zero);
  }
  return out;
}

/**
 * Why the kernel's packets cannot be matched to `>` lines by order, or
 * undefined when they can: before each injected packet, the wire must
 * hold exactly as many outbound packets as the script has `>` lines
 * before that inbound line. It does not when one line stands for several
 * segments (TSO split by the kernel, a harness merging them) or the
 * kernel sent a packet the harness let pass.
 */
function outboundMismatch(schedule: Schedule, inbound: readonly bigint[], outbound: readonly bigint[]): string | undefined {
  let seen = 0;
  for (let i = 0; i < inbound.length; i++) {
    while (seen < outbound.length && outbound[seen]! < inbound[i]!) seen++;
    const want = schedule.inbound[i]!.outboundBefore;
    if (seen !== want) return `${seen} outbound packets on the wire before script line ${schedule.inbound[i]!.line}, which follows ${want} \`>\` lines`;
  }
  return undefined;
}

/** Packet types of a Linux cooked capture (sll_pkttype). */
const PACKET_HOST = 0;
const PACKET_OUTGOING = 4;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;

/**
 * The IPv4/IPv6 packets to and from `remote` in a classic pcap file of a
 * Linux cooked capture (tcpdump -i any): injected ones are those the
 * device received (PACKET_HOST) from `remote`, the kernel's those it sent
 * (PACKET_OUTGOING) to `remote`. Anything else (router solicitations,
 * other addresses) is left out.
 */
export function readCookedPcap(buf: Buffer, remote: Uint8Array): WirePacket[] {
  const file = parseCapture(buf);
  for (const { linkType } of file.interfaces) {
    if (linkType !== LINKTYPE_LINUX_SLL && linkType !== LINKTYPE_LINUX_SLL2) throw new Error(`pcap link type ${linkType}, not a Linux cooked capture`);
  }
  const out: WirePacket[] = [];
  for (const rec of file.packets) {
    const sll2 = file.interfaces[rec.interfaceId]!.linkType === LINKTYPE_LINUX_SLL2;
    const data = rec.data;
    const hdr = sll2 ? 20 : 16;
    if (data.length < hdr) continue;
    const proto = data.readUInt16BE(sll2 ? 0 : 14);
    const pkttype = sll2 ? data[10]! : data.readUInt16BE(0);
    const ip = data.subarray(hdr);
    let src: Uint8Array;
    let dst: Uint8Array;
    if (proto === 0x0800 && ip.length >= 20) {
      src = ip.subarray(12, 16);
      dst = ip.subarray(16, 20);
    } else if (proto === 0x86dd && ip.length >= 40) {
      src = ip.subarray(8, 24);
      dst = ip.subarray(24, 40);
    } else {
      continue;
    }
    if (pkttype === PACKET_HOST && Buffer.from(src).equals(remote)) out.push({ tsNs: rec.tsNs, direction: 'inbound' });
    else if (pkttype === PACKET_OUTGOING && Buffer.from(dst).equals(remote)) out.push({ tsNs: rec.tsNs, direction: 'outbound' });
  }
  return out;
}
