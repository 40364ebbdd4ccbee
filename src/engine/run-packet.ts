/**
 * Packet events (packetdrill's run_packet.c): find or create the socket a
 * script packet belongs to, map inbound packets from script values to live
 * ones and inject them on time, and sniff outbound packets, map them back
 * to script values and check them field by field.
 */
import type { PacketSpec } from '../script/ast.js';
import type { ScriptPacket } from './build-packet.js';
import { ScriptPackets } from './script-packets.js';
import type { CaptureLog, CaptureRecord } from '../evidence/capture-log.js';
import { TestFailure } from './errors.js';
import { TunWriteError, type LivePacket, type NetDevice } from './netdev.js';
import { waitUntil } from './clock-wait.js';
import { nowNs } from '../native/addon.js';
import { InboundBurst, type Ahead, type ReadyInbound } from './inbound-burst.js';
import { layoutOf, readAddr, writeAddr, type Layout } from '../packet/layout.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../packet/protocols.js';
import {
  offsetSackBlocks, readTcpAck, readTcpFlagsByte, readTcpSeq, readTcpWindow, refreshChecksums, tcpTimestampOffset, writeTcpAck,
  writeTcpSeq,
} from '../packet/in-place.js';
import { ipv4HeaderChecksumOk } from '../packet/ipv4.js';
import { formatTcpOption, TCP_OPTIONS, tcpOptionPlaces, type TcpOptionPlace } from '../packet/tcp-options.js';
import { formatDumpTime, formatPacketReportLine, formatScriptPacket, type FormatOptions } from '../packet/format.js';
import { decodePacket } from '../packet/packet.js';
import { checkEventTime, lastEventUsecs, recordEventTime } from './run.js';
import { newSocketEntry, type Endpoint, type SocketEntry } from './sockets.js';
import type { RunContext, RunEvent } from './state.js';
import { verifyTime } from './timing.js';
import { trace, TRACING } from './trace.js';

const u32 = (n: number) => n >>> 0;

/** How a script line wrote a packet's flags (ACE digit or letters) and whether it gave a window. */
function textOptions(script?: { parseAce: boolean; winNoCheck: boolean }): FormatOptions {
  return script ? { ace: script.parseAce, showWindow: !script.winNoCheck } : {};
}

/** A packet in script notation, as its script line would write it. */
export function packetText(buf: Buffer, script?: { parseAce: boolean; winNoCheck: boolean }): string {
  return formatScriptPacket(decodePacket(buf), textOptions(script));
}

/** One option of a packet as the option table prints it. */
function optionText(buf: Buffer, o: TcpOptionPlace): string {
  return formatTcpOption(TCP_OPTIONS.decode(o.kind, buf.subarray(o.at + 2, o.at + Math.max(o.len, 2))));
}

/** A kernel packet with its layout, as sniffed (before or after mapping). */
interface Sniffed {
  live: LivePacket;
  buf: Buffer;
  layout: Layout;
}

class PacketError extends Error {
  constructor(message: string, readonly details: string[] = []) {
    super(message);
  }
}

/** An error of a packet event as the run reports it. */
function failureOf(ev: RunEvent, e: unknown): unknown {
  if (e instanceof PacketError) return new TestFailure('packet', ev.line, `error handling packet: ${e.message}`, e.details);
  if (e instanceof TunWriteError) return new TestFailure('packet', ev.line, `error writing packet: ${e.message}`);
  return e;
}

function isSyn(buf: Buffer, l: Layout): boolean {
  return l.proto === IPPROTO_TCP && (readTcpFlagsByte(buf, l.l4) & 0x02) !== 0;
}
function isAck(buf: Buffer, l: Layout): boolean {
  return l.proto === IPPROTO_TCP && (readTcpFlagsByte(buf, l.l4) & 0x10) !== 0;
}

function tupleOf(buf: Buffer, l: Layout): { src: Endpoint; dst: Endpoint } {
  const ports = l.proto === IPPROTO_TCP || l.proto === IPPROTO_UDP;
  return {
    src: { ip: readAddr(buf, 0, 'src'), port: ports ? buf.readUInt16BE(l.l4) : 0 },
    dst: { ip: readAddr(buf, 0, 'dst'), port: ports ? buf.readUInt16BE(l.l4 + 2) : 0 },
  };
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.ip === b.ip && a.port === b.port;
}

/** Write a tuple into a packet (and the reversed tuple into an ICMP error's echoed header). */
function setTuple(buf: Buffer, l: Layout, src: Endpoint, dst: Endpoint): void {
  writeAddr(buf, 0, 'src', src.ip);
  writeAddr(buf, 0, 'dst', dst.ip);
  if (l.proto === IPPROTO_TCP || l.proto === IPPROTO_UDP) {
    buf.writeUInt16BE(src.port, l.l4);
    buf.writeUInt16BE(dst.port, l.l4 + 2);
  }
  const e = l.echoed;
  if (e) {
    writeAddr(buf, e.ip, 'src', dst.ip);
    writeAddr(buf, e.ip, 'dst', src.ip);
    if ((e.proto === IPPROTO_TCP || e.proto === IPPROTO_UDP) && e.l4 + 4 <= buf.length) {
      buf.writeUInt16BE(dst.port, e.l4);
      buf.writeUInt16BE(src.port, e.l4 + 2);
    }
  }
}

function remoteSeqScriptToLive(s: SocketEntry, syn: boolean): number {
  return syn ? 0 : s.live.remoteIsn;
}
function localSeqScriptToLive(s: SocketEntry, syn: boolean): number {
  return syn ? u32(s.live.localIsn - s.script.localIsn) : s.live.localIsn;
}

export interface PacketRunnerOptions {
  ephemeralPort(): number;
  /** With -v: each packet as packetdrill's verbose mode prints it. */
  verbose?: (line: string) => void;
}

export class PacketRunner {
  private readonly wireFamily: 4 | 6;
  private readonly burst: InboundBurst;
  private readonly packets: ScriptPackets;

  constructor(
    private readonly ctx: RunContext,
    private readonly dev: NetDevice,
    private readonly capture: CaptureLog,
    private readonly opts: PacketRunnerOptions,
  ) {
    this.wireFamily = ctx.config.wireFamily === 'inet' ? 4 : 6;
    this.packets = new ScriptPackets(this.wireFamily);
    this.burst = new InboundBurst(ctx, dev, failureOf);
  }

  async run(ev: RunEvent): Promise<void> {
    if (ev.ast.type !== 'packet') throw new Error('not a packet event');
    const ahead = this.burst.take(ev);
    if (ahead) return this.inboundAhead(ev, ahead);
    const pkt = this.packets.take(ev);
    try {
      const socket = this.findOrCreateSocket(pkt, ev.ast.packet);
      if (pkt.direction === 'outbound') await this.outbound(ev, pkt, socket);
      else await this.inbound(this.readyInbound(ev, pkt, socket, this.ctx.clock.liveNs(ev.times.usecs)));
    } catch (e) {
      throw failureOf(ev, e);
    }
  }

  /** Build every packet line's script packet now, before the script's clock starts (see ScriptPackets). */
  prebuild(events: readonly RunEvent[]): void {
    this.packets.prebuild(events);
  }

  /**
   * Before the script's clock starts (after prebuild): run the code of
   * every packet line once on a copy of its packet and a socket of its
   * own, recording nothing: an outbound packet is checked against itself,
   * an inbound one mapped to live values and framed. The first run of that
   * code costs a few hundred microseconds, which the script's first
   * packets would otherwise pay: the first inbound packet of a script went
   * out 240-340 µs after its time, and packetdrill takes 170 µs from the
   * kernel's first SYN to its next line where tundrill took 350-570 µs.
   * `limit`: at most that many packets; `untilNs`: none begun after that
   * time (CLOCK_MONOTONIC).
   */
  warmPackets(events: readonly RunEvent[], limit = Infinity, untilNs?: bigint): void {
    let n = 0;
    for (const [index, pkt] of this.packets.prebuilt()) {
      if (n++ >= limit) break;
      if (untilNs !== undefined && nowNs() >= untilNs) break;
      const ev = events[index];
      if (!ev) continue;
      const buf = Buffer.from(pkt.buf);
      refreshChecksums(buf);
      const t = tupleOf(buf, pkt.layout);
      try {
        if (pkt.direction === 'outbound') {
          const socket = newSocketEntry({ script: { local: t.src, remote: t.dst, localIsn: 0, remoteIsn: 0 } });
          const record: CaptureRecord = { data: buf, tsNs: 0n, direction: 'out' };
          const live: LivePacket = { data: buf, tsNs: this.ctx.clock.liveNs(ev.times.usecs), gsoType: 0, gsoSize: 0, record };
          this.verify(ev, pkt, socket, { live, buf: Buffer.from(buf), layout: pkt.layout }, true);
        } else {
          const side = { local: t.dst, remote: t.src, localIsn: 0, remoteIsn: 0 };
          this.readyInbound(ev, pkt, newSocketEntry({ script: { ...side }, live: { ...side } }), 0n);
        }
      } catch {
        // Nothing is checked here: the packet's own event checks it. (An
        // inbound packet may need what the run learns, a TS ecr to map.)
        if (pkt.direction === 'inbound') this.dev.frame(buf, 0);
      }
    }
  }

  // ---- sockets ------------------------------------------------------------

  private findOrCreateSocket(pkt: ScriptPacket, spec: PacketSpec): SocketEntry {
    const fds = this.ctx.fds;
    const sut = fds.socketUnderTest;
    const l = pkt.layout;
    if (l.proto === IPPROTO_TCP) {
      // An inbound packet to a listener (or with no socket at all) makes a child socket.
      if (pkt.direction === 'inbound' && (!sut || sut.phase === 'passive_listening')) {
        const t = tupleOf(pkt.buf, l);
        const seq = readTcpSeq(pkt.buf, l.l4);
        const child = newSocketEntry({
          phase: 'passive_packet_received',
          family: this.wireFamily === 4 ? 2 : 10,
          protocol: 6,
        });
        child.script.remote = t.src;
        child.script.local = t.dst;
        child.script.remoteIsn = seq;
        child.live.remote = { ip: this.ctx.config.remoteIp, port: this.opts.ephemeralPort() };
        child.live.local = { ip: this.ctx.config.localIp, port: this.ctx.config.bindPort };
        child.live.remoteIsn = seq;
        fds.add(child);
        fds.socketUnderTest = child;
        return child;
      }
      // The kernel's SYN for a connecting socket.
      const syn = pkt.tcpFlags!;
      if (pkt.direction === 'outbound' && syn.syn && !syn.ack && sut && sut.phase === 'active_connecting') {
        const t = tupleOf(pkt.buf, l);
        sut.phase = 'active_syn_sent';
        sut.script.remote = t.dst;
        sut.script.local = t.src;
        sut.script.localIsn = readTcpSeq(pkt.buf, l.l4);
        return sut;
      }
    }
    if (sut && this.matchesSocket(pkt, sut)) return sut;
    const l4 = spec.l4;
    if (sut && (l4.proto === 'tcp' || l4.proto === 'udp') && (l4.srcPort || l4.dstPort)) return sut;
    throw new PacketError('no matching socket for script packet');
  }

  private matchesSocket(pkt: ScriptPacket, s: SocketEntry): boolean {
    const p = pkt.layout.proto;
    const icmp = p === IPPROTO_ICMP || p === IPPROTO_ICMPV6;
    if (s.protocol === 6) return p === IPPROTO_TCP || icmp;
    if (s.protocol === 17) return p === IPPROTO_UDP || icmp;
    if (s.protocol === 1) return p === IPPROTO_ICMP;
    if (s.protocol === 58) return p === IPPROTO_ICMPV6;
    return false;
  }

  // ---- inbound --------------------------------------------------------------

  /**
   * Inject an inbound packet at its time, and with it the inbound packets
   * due at the same instant, back to back (see InboundBurst).
   */
  private async inbound(first: ReadyInbound): Promise<void> {
    const tsNs = await this.burst.write(first, (ev, atNs) => {
      const pkt = this.packets.take(ev);
      return this.readyInbound(ev, pkt, this.findOrCreateSocket(pkt, (ev.ast as Extract<RunEvent['ast'], { type: 'packet' }>).packet), atNs);
    });
    this.injected(first, tsNs);
  }

  /** The turn of an event whose packet a burst handled. */
  private async inboundAhead(ev: RunEvent, ahead: Ahead): Promise<void> {
    if ('failure' in ahead) throw ahead.failure;
    const r = ahead.ready;
    if (r.atNs !== this.ctx.clock.liveNs(ev.times.usecs)) {
      throw new Error(`line ${ev.line}: a packet made ready for ${r.atNs} ns is due at ${ev.times.usecs} µs`);
    }
    let tsNs = ahead.tsNs;
    if (tsNs === undefined) {
      try {
        await waitUntil(r.atNs);
        tsNs = this.dev.write(r.frame);
      } catch (e) {
        throw failureOf(ev, e);
      }
    }
    this.injected(r, tsNs);
  }

  /** What follows the write of an inbound packet: evidence, the anchor of the next relative time, the time check. */
  private injected(r: ReadyInbound, tsNs: bigint): void {
    const { ev, pkt } = r;
    this.dev.noteInjected(r.frame, r.atNs, tsNs, r.note);
    this.opts.verbose?.(`inbound injected packet: ${formatDumpTime(this.ctx.clock.scriptUsecs(tsNs))} ${packetText(r.frame.ip, pkt)}`);
    if (this.ctx.numEvents > 0) checkEventTime(this.ctx, ev, tsNs);
  }

  /** An inbound packet mapped to live values and framed, due at `atNs`; the socket's state moves as its arrival will move it. */
  private readyInbound(ev: RunEvent, pkt: ScriptPacket, socket: SocketEntry, atNs: bigint): ReadyInbound {
    const l = pkt.layout;
    if (l.proto === IPPROTO_TCP) {
      const f = pkt.tcpFlags!;
      if (socket.phase === 'passive_synack_sent' && f.ack) {
        socket.phase = 'passive_synack_acked';
      } else if (socket.phase === 'active_syn_sent' && f.syn && f.ack) {
        socket.phase = 'active_syn_acked';
        const seq = readTcpSeq(pkt.buf, l.l4);
        socket.script.remoteIsn = seq;
        socket.live.remoteIsn = seq;
      }
    }
    const live = Buffer.from(pkt.buf);
    this.mapInbound(socket, live, l);
    refreshChecksums(live);
    if (l.proto === IPPROTO_TCP) {
      const t = l.l4;
      socket.lastInjectedTcp = {
        seq: readTcpSeq(live, t), ack: readTcpAck(live, t), flags: readTcpFlagsByte(live, t),
        window: readTcpWindow(live, t), payloadLen: l.payloadLen,
      };
    }
    const gso = l.proto === IPPROTO_TCP ? this.ctx.config.mss : 0;
    return { ev, pkt, frame: this.dev.frame(live, gso), atNs, note: () => `script line ${ev.line}: < ${packetText(pkt.buf, pkt)}` };
  }

  private mapInbound(socket: SocketEntry, buf: Buffer, l: Layout): void {
    const src = { ...socket.live.remote };
    const dst = { ...socket.live.local };
    if (l.proto === IPPROTO_TCP || l.proto === IPPROTO_UDP) {
      const sp = buf.readUInt16BE(l.l4);
      const dp = buf.readUInt16BE(l.l4 + 2);
      if (sp) src.port = sp;
      if (dp) dst.port = dp;
    }
    setTuple(buf, l, src, dst);
    if (l.proto === IPPROTO_ICMP || l.proto === IPPROTO_ICMPV6) {
      const e = l.echoed;
      if (e && e.proto === IPPROTO_TCP && e.l4 + 8 <= buf.length) {
        const off = localSeqScriptToLive(socket, false);
        writeTcpSeq(buf, readTcpSeq(buf, e.l4) + off, e.l4);
      }
      return;
    }
    if (l.proto !== IPPROTO_TCP) return;
    const t = l.l4;
    const syn = isSyn(buf, l);
    writeTcpSeq(buf, readTcpSeq(buf, t) + remoteSeqScriptToLive(socket, syn), t);
    const ackOff = localSeqScriptToLive(socket, syn);
    if (isAck(buf, l)) writeTcpAck(buf, readTcpAck(buf, t) + ackOff, t);
    offsetSackBlocks(buf, ackOff, t);
    const ts = tcpTimestampOffset(buf, t);
    if (isAck(buf, l) && ts >= 0) {
      const scriptEcr = buf.readUInt32BE(ts + 4);
      const mapped = socket.tsValMap.get(scriptEcr);
      if (mapped !== undefined) {
        buf.writeUInt32BE(mapped, ts + 4);
      } else if (this.ctx.config.tcpTsEcrScaled && socket.firstTs) {
        buf.writeUInt32BE(u32(scriptEcr - socket.firstTs.scriptVal + socket.firstTs.actualVal), ts + 4);
      } else {
        throw new PacketError(
          `unable to infer live TS ecr for script TS ecr ${scriptEcr};  no matching or preceding outbound TS val`,
        );
      }
    }
  }

  // ---- outbound -------------------------------------------------------------

  private async outbound(ev: RunEvent, pkt: ScriptPacket, socket: SocketEntry): Promise<void> {
    const l = pkt.layout;
    const isSynAck = l.proto === IPPROTO_TCP && pkt.tcpFlags!.syn && pkt.tcpFlags!.ack;
    if (socket.phase === 'passive_packet_received' && isSynAck) {
      socket.script.localIsn = readTcpSeq(pkt.buf, l.l4);
    }
    const expected = pkt.payloadLen;
    const sniffed: Sniffed[] = [];
    let total = 0;
    do {
      const s = await this.sniff(ev, socket);
      if (socket.phase === 'passive_packet_received' && isSynAck) {
        socket.phase = 'passive_synack_sent';
        socket.live.localIsn = readTcpSeq(s.buf, s.layout.l4);
      }
      if (s.layout.proto === IPPROTO_TCP) {
        const t = s.layout.l4;
        socket.lastOutboundTcp = {
          seq: readTcpSeq(s.buf, t), ack: readTcpAck(s.buf, t), flags: readTcpFlagsByte(s.buf, t),
          window: readTcpWindow(s.buf, t),
        };
        this.liveToScriptSeq(socket, s.buf, s.layout);
      }
      this.capture.note(s.live.record, `script line ${ev.line}`);
      if (sniffed.length > 0) {
        const prev = sniffed[sniffed.length - 1]!;
        const a = tupleOf(prev.live.data, prev.layout);
        const b = tupleOf(s.live.data, s.layout);
        if (!(sameEndpoint(a.src, b.src) && sameEndpoint(a.dst, b.dst))) {
          sniffed.length = 0;
          total = 0;
        } else {
          const err = this.fragmentMismatch(s, prev, total, expected);
          if (err) {
            const details = [`   script packet: ${formatDumpTime(ev.times.usecs)} ${packetText(pkt.buf, pkt)}`];
            [...sniffed, s].forEach((f, i) => {
              details.push(`actual #${i} packet: ${formatDumpTime(this.ctx.clock.scriptUsecs(f.live.tsNs))} ${packetText(f.buf)}`);
            });
            throw new PacketError(err, details);
          }
        }
      }
      sniffed.push(s);
      total += s.layout.payloadLen;
    } while (total < expected && !this.ctx.config.strictSegments);
    ev.sentPackets = sniffed.length;

    if (total !== expected) {
      throw new PacketError(`live packet payload: expected ${expected} bytes vs actual ${total} bytes`);
    }
    const live = sniffed.length === 1 ? sniffed[0]! : aggregate(sniffed, total);
    if (TRACING) trace('sniffed');
    this.verify(ev, pkt, socket, live);
    if (TRACING) trace('verified');
  }

  /** Next outbound packet of the socket under test; others are passed over. */
  private async sniff(ev: RunEvent, expected: SocketEntry): Promise<Sniffed> {
    const t = ev.times;
    const sinceLast = Math.max(t.usecs, t.endUsecs) - this.ctx.scriptLastTimeUsecs;
    const timeoutSecs = Math.trunc(sinceLast / 1e6) + 2;
    const deadline = t.type === 'any' ? null : performance.now() + timeoutSecs * 1000;
    for (;;) {
      const left = deadline === null ? null : Math.max(0, deadline - performance.now());
      if (TRACING) trace('receive');
      const live = await this.dev.receive(left);
      if (TRACING) trace('received');
      if (!live) throw new PacketError('Timed out waiting for packet');
      const layout = layoutOf(live.data);
      if (!layout || layout.l4 >= live.data.length) continue;
      const socket = this.socketForLivePacket(live.data, layout);
      if (!socket) {
        this.capture.note(live.record, 'not for the socket under test');
        continue;
      }
      if (socket !== expected) throw new PacketError('packet is not for expected socket');
      this.opts.verbose?.(`outbound sniffed packet: ${formatDumpTime(this.ctx.clock.scriptUsecs(live.tsNs))} ${packetText(live.data)}`);
      if (TRACING) trace(`sniffed packet stamped ${this.ctx.clock.scriptUsecs(live.tsNs).toFixed(0)}us`);
      return { live, buf: Buffer.from(live.data), layout };
    }
  }

  private socketForLivePacket(buf: Buffer, l: Layout): SocketEntry | undefined {
    const s = this.ctx.fds.socketUnderTest;
    if (!s) return undefined;
    const t = tupleOf(buf, l);
    const icmp = (s.protocol === 1 && l.proto === IPPROTO_ICMP) || (s.protocol === 58 && l.proto === IPPROTO_ICMPV6);
    // Outbound from the socket under test?
    if (sameEndpoint(t.src, s.live.local) && sameEndpoint(t.dst, s.live.remote)) return s;
    if (icmp && t.src.ip === s.live.local.ip && t.dst.ip === s.live.remote.ip) return s;
    // The kernel's SYN for a connect()?
    const udp = l.proto === IPPROTO_UDP && s.protocol === 17 && s.phase === 'active_connecting';
    const icmpMatch = icmp && s.phase === 'active_connecting';
    const tcp = l.proto === IPPROTO_TCP && isSyn(buf, l) && !isAck(buf, l) && s.protocol === 6 && s.phase === 'active_syn_sent';
    if (!udp && !tcp && !icmpMatch) return undefined;
    if (icmpMatch ? t.dst.ip !== s.live.remote.ip : !sameEndpoint(t.dst, s.live.remote)) return undefined;
    s.live.local = { ...t.src };
    if (l.proto === IPPROTO_TCP) s.live.localIsn = readTcpSeq(buf, l.l4);
    return s;
  }

  private liveToScriptSeq(s: SocketEntry, buf: Buffer, l: Layout): void {
    const t = l.l4;
    const syn = isSyn(buf, l);
    writeTcpSeq(buf, readTcpSeq(buf, t) - localSeqScriptToLive(s, syn), t);
    const ackOff = u32(-remoteSeqScriptToLive(s, syn));
    if (isAck(buf, l)) writeTcpAck(buf, readTcpAck(buf, t) + ackOff, t);
    offsetSackBlocks(buf, ackOff, t);
  }

  private fragmentMismatch(cur: Sniffed, prev: Sniffed, sniffedSoFar: number, expected: number): string | null {
    const headerErr = compareHeaders(cur.buf, cur.layout, prev.buf, prev.layout, false, null);
    if (headerErr) return headerErr;
    const curLen = cur.layout.payloadLen;
    if (curLen < expected - sniffedSoFar && curLen !== prev.layout.payloadLen) {
      return `fragment payload: expected ${prev.layout.payloadLen} bytes vs actual ${curLen} bytes; total payload: expected ${expected} bytes vs actual ${curLen + sniffedSoFar} bytes`;
    }
    return null;
  }

  // ---- verification -----------------------------------------------------------

  /** `dry`: a warm-up (warmPackets); nothing is recorded and the time is not checked. */
  private verify(ev: RunEvent, pkt: ScriptPacket, socket: SocketEntry, live: Sniffed, dry = false): void {
    const actual = live.buf;
    const al = live.layout;
    const actualUsecs = this.ctx.clock.scriptUsecs(live.live.tsNs);
    if (!dry) this.ctx.eventLog?.actual(ev, actualUsecs);
    const dumps = () => [
      formatPacketReportLine('script', ev.times.usecs, decodePacket(pkt.buf), textOptions(pkt)),
      formatPacketReportLine('actual', actualUsecs, decodePacket(actual)),
    ];
    const fail = (msg: string): never => {
      if (!dry) this.capture.note(live.live.record, `does not match: ${msg}`);
      throw new PacketError(msg, dumps());
    };
    if (al.ipVersion === 4 && !ipv4HeaderChecksumOk(live.live.data)) fail('bad outbound IP checksum');

    // Map to script space: tuple and TCP timestamp value.
    setTuple(actual, al, socket.script.local, socket.script.remote);
    if (al.proto === IPPROTO_TCP && pkt.layout.proto === IPPROTO_TCP) {
      const sTs = tcpTimestampOffset(pkt.buf, pkt.layout.l4);
      const aTs = tcpTimestampOffset(actual, al.l4);
      if (sTs >= 0 && aTs >= 0) {
        const scriptVal = pkt.buf.readUInt32BE(sTs);
        const actualVal = actual.readUInt32BE(aTs);
        socket.tsValMap.set(scriptVal, actualVal);
        if (!socket.firstTs) {
          socket.firstTs = {
            scriptVal, actualVal, scriptEcr: pkt.buf.readUInt32BE(sTs + 4), actualEcr: actual.readUInt32BE(aTs + 4),
          };
        }
        actual.writeUInt32BE(u32(socket.firstTs.scriptVal + (actualVal - socket.firstTs.actualVal)), aTs);
      }
    }

    const allowance = pkt.optionsNoCheck && al.proto === IPPROTO_TCP ? al.l4HeaderLen - 20 : 0;
    const headerErr = compareHeaders(actual, al, pkt.buf, pkt.layout, true, { pkt, allowance });
    if (headerErr) fail(headerErr);

    if (pkt.family === 6) {
      const err = this.verifyFlowLabel(socket, actual, pkt.buf);
      if (err) fail(err);
    }
    if (pkt.layout.proto === IPPROTO_TCP && !pkt.optionsNoCheck) {
      const err = this.verifyTcpOptions(ev, pkt, actual, al);
      if (err) fail(err);
    }
    if (al.proto !== IPPROTO_ICMP && al.proto !== IPPROTO_ICMPV6) {
      const a = actual.subarray(al.payload, al.payload + al.payloadLen);
      const s = pkt.buf.subarray(pkt.layout.payload, pkt.layout.payload + pkt.layout.payloadLen);
      if (!a.equals(s)) fail('incorrect outbound data payload');
    }
    if (!dry) recordEventTime(ev, actualUsecs, lastEventUsecs(this.ctx));
    const timeErr = verifyTime(this.ctx.config, ev.times, actualUsecs, lastEventUsecs(this.ctx), 'outbound packet');
    if (dry) return;
    if (timeErr) fail(timeErr);
    this.capture.note(live.live.record, () => `> ${packetText(actual, pkt)}`);
  }

  private verifyFlowLabel(socket: SocketEntry, actual: Buffer, script: Buffer): string | null {
    const sfl = script.readUInt32BE(0) & 0xfffff;
    const afl = actual.readUInt32BE(0) & 0xfffff;
    if (!sfl) return null;
    if (!afl) return 'flowlabel unmarked in the live packet';
    const m = socket.flowLabelMap;
    if (!m) {
      socket.flowLabelMap = { script: sfl, live: afl };
      return null;
    }
    if (sfl !== m.script) {
      if (afl !== m.live) {
        socket.flowLabelMap = { script: sfl, live: afl };
        return null;
      }
      return 'expected a different flowlabel but got the same';
    }
    if (afl === m.live) return null;
    return `inconsistent flowlabels for this packet: expected: 0x${m.live.toString(16)} vs actual: 0x${afl.toString(16)}`;
  }

  private verifyTcpOptions(ev: RunEvent, pkt: ScriptPacket, actual: Buffer, al: Layout): string | null {
    const a = tcpOptionPlaces(actual, al.l4 + 20, al.l4 + al.l4HeaderLen).places;
    const s = tcpOptionPlaces(pkt.buf, pkt.layout.l4 + 20, pkt.layout.l4 + pkt.layout.l4HeaderLen).places;
    const cfg = this.ctx.config;
    let tolerance = cfg.toleranceUsecs;
    const dynamic = (cfg.tolerancePercent / 100) * ev.times.usecs;
    if (dynamic > tolerance) tolerance = dynamic;
    const n = Math.max(a.length, s.length);
    for (let i = 0; i < n; i++) {
      const ao = a[i];
      const so = s[i];
      if (!ao || !so || ao.kind !== so.kind) return 'bad outbound TCP options';
      if (ao.kind === 0 || ao.kind === 1) continue;
      if (ao.kind === 8) {
        const tick = cfg.tcpTsTickUsecs;
        if (tick) {
          const diff = (actual.readUInt32BE(ao.at + 2) - pkt.buf.readUInt32BE(so.at + 2)) | 0;
          if (Math.abs(diff) * tick > tolerance) return `bad outbound TCP timestamp value, tolerance ${Math.trunc(tolerance)}`;
        }
        continue;
      }
      let err: string | null = null;
      if (so.len !== ao.len) err = 'bad length';
      if (so.len > 2) {
        const n2 = ao.len - 2;
        const av = actual.subarray(ao.at + 2, ao.at + 2 + n2);
        const sv = Buffer.alloc(n2);
        pkt.buf.copy(sv, 0, so.at + 2, Math.min(so.at + so.len, so.at + 2 + n2));
        if (!av.equals(sv)) err = 'bad value';
      }
      if (err) {
        return `${err} in outbound TCP option (kind=${so.kind}): expected: ${optionText(pkt.buf, so)} actual: ${optionText(actual, ao)}`;
      }
    }
    return null;
  }
}

/** Join sniffed segments into one packet: headers of the last, seq and CWR of the first. */
function aggregate(parts: Sniffed[], total: number): Sniffed {
  const last = parts[parts.length - 1]!;
  const first = parts[0]!;
  const hdr = last.buf.subarray(0, last.layout.payload);
  const buf = Buffer.concat([hdr, ...parts.map((p) => p.buf.subarray(p.layout.payload, p.layout.payload + p.layout.payloadLen))]);
  if (last.layout.ipVersion === 4) buf.writeUInt16BE(hdr.length + total, 2);
  else buf.writeUInt16BE(hdr.length + total - 40, 4);
  const layout = layoutOf(buf)!;
  if (layout.proto === IPPROTO_TCP) {
    writeTcpSeq(buf, readTcpSeq(first.buf, first.layout.l4), layout.l4);
    buf[layout.l4 + 13] = (readTcpFlagsByte(buf, layout.l4) & 0x7f) | (readTcpFlagsByte(first.buf, first.layout.l4) & 0x80);
  }
  return { live: last.live, buf, layout };
}

function field(name: string, expected: number, actual: number): string | null {
  if (expected === actual) return null;
  return `live packet field ${name}: expected: ${expected} (0x${expected.toString(16)}) vs actual: ${actual} (0x${actual.toString(16)})`;
}

const HEADER_NAMES: Record<number, string> = { 6: 'tcp', 17: 'udp', 1: 'icmpv4', 58: 'icmpv6' };

/**
 * Compare IP and L4 headers of `a` (actual) against `s` (script), as
 * packetdrill's verify_outbound_live_headers. With strict=false (fragments
 * to aggregate) lengths, FIN, PSH, CWR and seq are compared leniently.
 */
function compareHeaders(
  a: Buffer, al: Layout, s: Buffer, sl: Layout, strict: boolean,
  script: { pkt: ScriptPacket; allowance: number } | null,
): string | null {
  if (al.ipVersion !== sl.ipVersion) {
    return `live packet header layer 0: expected: ipv${sl.ipVersion} header vs actual: ipv${al.ipVersion} header`;
  }
  if (al.proto !== sl.proto && HEADER_NAMES[sl.proto]) {
    return `live packet header layer 1: expected: ${HEADER_NAMES[sl.proto]} header vs actual: ${HEADER_NAMES[al.proto] ?? `protocol ${al.proto}`} header`;
  }
  const allowance = script?.allowance ?? 0;
  const tosCheck = script?.pkt.tosCheck ?? 'none';
  const parseAce = script?.pkt.parseAce ?? false;
  const winNoCheck = script?.pkt.winNoCheck ?? false;
  let e: string | null;
  let aTos: number;
  let sTos: number;
  let aTtl: number;
  let sTtl: number;
  if (al.ipVersion === 4) {
    if ((e = field('ipv4_version', 4, 4))) return e;
    if ((e = field('ipv4_protocol', s[9]!, a[9]!))) return e;
    if ((e = field('ipv4_header_length', s[0]! & 0xf, a[0]! & 0xf))) return e;
    if (strict && (e = field('ipv4_total_length', s.readUInt16BE(2) + allowance, a.readUInt16BE(2)))) return e;
    aTos = a[1]!; sTos = s[1]!; aTtl = a[8]!; sTtl = s[8]!;
  } else {
    if (strict && (e = field('ipv6_payload_len', s.readUInt16BE(4) + allowance, a.readUInt16BE(4)))) return e;
    if ((e = field('ipv6_next_header', s[6]!, a[6]!))) return e;
    aTos = (a.readUInt32BE(0) >>> 20) & 0xff; sTos = (s.readUInt32BE(0) >>> 20) & 0xff;
    aTtl = a[7]!; sTtl = s[7]!;
  }
  if (tosCheck === 'ect01') {
    const ecn = aTos & 3;
    if (ecn !== 1 && ecn !== 2) return `live packet field ip_ecn: expected: 0x1 or 0x2 vs actual: 0x${ecn.toString(16)}`;
  } else if (tosCheck === 'ecn') {
    if ((e = field('ip_ecn', sTos, aTos & 3))) return e;
  } else if (tosCheck === 'tos') {
    if ((e = field('tos', sTos, aTos))) return e;
  }
  if (sTtl !== 255 && (e = field('ttl', sTtl, aTtl))) return e;

  if (sl.proto === IPPROTO_TCP) {
    const at = al.l4;
    const st = sl.l4;
    const af = readTcpFlagsByte(a, at);
    const sf = readTcpFlagsByte(s, st);
    const bit = (f: number, m: number) => ((f & m) ? 1 : 0);
    const aAe = a[at + 12]! & 1;
    const sAe = s[st + 12]! & 1;
    if ((e = field('tcp_data_offset', (s[st + 12]! >> 4) + allowance / 4, a[at + 12]! >> 4))) return e;
    if (strict && (e = field('tcp_fin', bit(sf, 1), bit(af, 1)))) return e;
    if ((e = field('tcp_syn', bit(sf, 2), bit(af, 2)))) return e;
    if ((e = field('tcp_rst', bit(sf, 4), bit(af, 4)))) return e;
    if (strict && (e = field('tcp_psh', bit(sf, 8), bit(af, 8)))) return e;
    if ((e = field('tcp_ack', bit(sf, 0x10), bit(af, 0x10)))) return e;
    if ((e = field('tcp_urg', bit(sf, 0x20), bit(af, 0x20)))) return e;
    if (parseAce) {
      const ace = (f: number, ae: number) => (ae ? 4 : 0) | (f & 0x80 ? 2 : 0) | (f & 0x40 ? 1 : 0);
      if ((e = field('tcp_ace', ace(sf, sAe), ace(af, aAe)))) return e;
    } else {
      if ((e = field('tcp_ece', bit(sf, 0x40), bit(af, 0x40)))) return e;
      if (strict && (e = field('tcp_cwr', bit(sf, 0x80), bit(af, 0x80)))) return e;
      if ((e = field('tcp_ae', sAe, aAe))) return e;
    }
    if ((e = field('tcp_reserved_bits', (s[st + 12]! >> 1) & 7, (a[at + 12]! >> 1) & 7))) return e;
    const sSeq = readTcpSeq(s, st);
    const aSeq = readTcpSeq(a, at);
    if (strict && (e = field('tcp_seq', sSeq, aSeq))) return e;
    if (!strict && (e = field('tcp_seq', u32(sSeq + sl.payloadLen), aSeq))) return e;
    if ((e = field('tcp_ack_seq', readTcpAck(s, st), readTcpAck(a, at)))) return e;
    if (!winNoCheck && (e = field('tcp_window', readTcpWindow(s, st), readTcpWindow(a, at)))) return e;
    if ((e = field('tcp_urg_ptr', s.readUInt16BE(st + 18), a.readUInt16BE(at + 18)))) return e;
  } else if (sl.proto === IPPROTO_UDP) {
    if (strict && (e = field('udp_len', s.readUInt16BE(sl.l4 + 4), a.readUInt16BE(al.l4 + 4)))) return e;
  } else if (sl.proto === IPPROTO_ICMP || sl.proto === IPPROTO_ICMPV6) {
    if ((e = field('icmp_type', s[sl.l4]!, a[al.l4]!))) return e;
    if ((e = field('icmp_code', s[sl.l4 + 1]!, a[al.l4 + 1]!))) return e;
  }
  return null;
}
