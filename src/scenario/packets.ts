/**
 * The capture of a run as a scenario sees it: every packet decoded, with
 * its time relative to the script's start, who sent it, sequence numbers
 * relative to each side's initial sequence number (as in the script and in
 * tshark), and helpers to pick out the transmissions of one segment.
 */
import { networkPayload, type CaptureFile } from '../evidence/pcap-reader.js';
import { decodePacket, type DecodedPacket } from '../packet/index.js';
import type { TcpHeader } from '../packet/tcp.js';

export type Sender = 'kernel' | 'peer';

export interface Packet {
  /** Frame number in the capture, from 1 (as tshark numbers them). */
  frame: number;
  /** Milliseconds since the script's time 0. */
  tMs: number;
  /** CLOCK_MONOTONIC ns of the packet (the clock of the ss timeline). */
  monoNs: bigint;
  /** 'in': injected by the harness (the script's `<`); 'out': sent by the kernel (`>`). */
  direction: 'in' | 'out';
  /** The kernel under test, or the peer the script plays. */
  from: Sender;
  decoded: DecodedPacket;
  tcp?: TcpHeader;
  /** Flags in script letters, e.g. `F.`, `S.`, `P.`, `R`. Empty without TCP. */
  flags: string;
  /** Sequence number relative to the sender's initial sequence number (absolute when no SYN was seen). */
  seq: number;
  /** Acknowledgment number relative to the other side's initial sequence number. */
  ack: number;
  payloadLength: number;
  /** The raw (live) sequence number. */
  rawSeq: number;
  /** The packet in script notation with relative numbers, e.g. `F. 1001:1001(0) ack 2 win 63`. */
  text: string;
  /** The capture's comments (the script line that injected or matched it). */
  comments: string[];
}

/** TCP flags in packetdrill's letters (F S R P . U E W). */
export function tcpFlagLetters(t: TcpHeader): string {
  let s = '';
  if (t.fin) s += 'F';
  if (t.syn) s += 'S';
  if (t.rst) s += 'R';
  if (t.psh) s += 'P';
  if (t.ack) s += '.';
  if (t.urg) s += 'U';
  if (t.ece) s += 'E';
  if (t.cwr) s += 'W';
  return s;
}

function flowKey(src: string | undefined, sport: number | undefined, dst: string | undefined, dport: number | undefined): string {
  return `${src}:${sport}>${dst}:${dport}`;
}

export interface PacketTimes {
  /** Monotonic ns of the script's time 0. */
  originNs: bigint;
  /** CLOCK_REALTIME minus CLOCK_MONOTONIC, as the capture was written. */
  monoToRealtimeOffsetNs: bigint;
}

/** Turn a parsed capture into scenario packets. */
export function packetsFromCapture(file: CaptureFile, times: PacketTimes): Packet[] {
  const isn = new Map<string, number>();
  const out: Packet[] = [];
  // First pass: initial sequence numbers of each direction of each flow.
  const decoded = file.packets.map((rec) => decodePacket(networkPayload(file, rec)));
  for (const d of decoded) {
    if (d.tcp?.syn) {
      const k = flowKey(d.src, d.srcPort, d.dst, d.dstPort);
      if (!isn.has(k)) isn.set(k, d.tcp.seq);
    }
  }
  file.packets.forEach((rec, i) => {
    const d = decoded[i]!;
    const monoNs = rec.tsNs - times.monoToRealtimeOffsetNs;
    const direction = rec.direction ?? 'out';
    const t = d.tcp;
    let seq = 0;
    let ack = 0;
    let flags = '';
    let text: string;
    const len = d.payload.length;
    if (t) {
      const own = isn.get(flowKey(d.src, d.srcPort, d.dst, d.dstPort));
      const other = isn.get(flowKey(d.dst, d.dstPort, d.src, d.srcPort));
      seq = own === undefined ? t.seq : (t.seq - own) >>> 0;
      ack = other === undefined ? t.ackSeq : (t.ackSeq - other) >>> 0;
      flags = tcpFlagLetters(t);
      text = `${flags} ${seq}:${(seq + len) >>> 0}(${len})${t.ack ? ` ack ${ack}` : ''} win ${t.window}`;
    } else if (d.udp) {
      text = `udp (${len})`;
    } else if (d.icmpv4 || d.icmpv6) {
      text = d.icmpv4 ? `icmp type ${d.icmpv4.type} code ${d.icmpv4.code}` : `icmpv6 type ${d.icmpv6!.type} code ${d.icmpv6!.code}`;
    } else {
      text = `protocol ${d.protocol ?? '?'}`;
    }
    const p: Packet = {
      frame: i + 1,
      tMs: Number(monoNs - times.originNs) / 1e6,
      monoNs,
      direction,
      from: direction === 'in' ? 'peer' : 'kernel',
      decoded: d,
      flags,
      seq,
      ack,
      payloadLength: len,
      rawSeq: t ? t.seq : 0,
      text,
      comments: rec.comments,
    };
    if (t) p.tcp = t;
    out.push(p);
  });
  return out;
}

/** Which packets to pick; every given field must match. */
export interface SegmentMatch {
  /** Who sent it; default 'kernel'. */
  from?: Sender | 'any';
  /** Flag letters that must all be set, e.g. 'F', 'S.', 'P'. */
  flags?: string;
  /** Flag letters that must not be set. */
  notFlags?: string;
  /** Relative sequence number. */
  seq?: number;
  /** Payload length; `'data'` for any non-empty payload. */
  length?: number | 'data';
  /** Any further condition. */
  where?: (p: Packet) => boolean;
}

export function matchesSegment(p: Packet, m: SegmentMatch): boolean {
  if (!p.tcp) return false;
  const from = m.from ?? 'kernel';
  if (from !== 'any' && p.from !== from) return false;
  if (m.flags !== undefined) for (const c of m.flags) if (!p.flags.includes(c)) return false;
  if (m.notFlags !== undefined) for (const c of m.notFlags) if (p.flags.includes(c)) return false;
  if (m.seq !== undefined && p.seq !== m.seq) return false;
  if (m.length === 'data' && p.payloadLength === 0) return false;
  if (typeof m.length === 'number' && p.payloadLength !== m.length) return false;
  if (m.where && !m.where(p)) return false;
  return true;
}

/** What identifies one segment: sender, sequence number, length, SYN and FIN. */
export function segmentKey(p: Packet): string {
  const syn = p.tcp?.syn ? 'S' : '';
  const fin = p.tcp?.fin ? 'F' : '';
  return `${p.from}|${p.decoded.srcPort}>${p.decoded.dstPort}|${p.seq}|${p.payloadLength}|${syn}${fin}`;
}

export interface Transmissions {
  /** Every matching packet, in capture order. */
  packets: Packet[];
  /** Their times, ms since the script's start. */
  timesMs: number[];
  /** Time between successive packets, ms (one fewer than packets). */
  intervalsMs: number[];
  /** The first transmission of each segment. */
  originals: Packet[];
  /** Every later transmission of a segment already sent. */
  retransmissions: Packet[];
}

/** The transmissions of the segments that match, with their times and intervals. */
export function transmissionsOf(packets: readonly Packet[], match: SegmentMatch): Transmissions {
  const picked = packets.filter((p) => matchesSegment(p, match));
  const seen = new Set<string>();
  const originals: Packet[] = [];
  const retransmissions: Packet[] = [];
  for (const p of picked) {
    const k = segmentKey(p);
    if (seen.has(k)) retransmissions.push(p);
    else {
      seen.add(k);
      originals.push(p);
    }
  }
  const timesMs = picked.map((p) => p.tMs);
  const intervalsMs = timesMs.slice(1).map((t, i) => t - timesMs[i]!);
  return { packets: picked, timesMs, intervalsMs, originals, retransmissions };
}
