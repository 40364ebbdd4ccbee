/**
 * The run's table of file descriptors and the state of each socket as the
 * script sees it and as it lives in the kernel. Packets in the script are
 * mapped to the "socket under test": the socket most recently created,
 * listened on, connected or accepted, as in packetdrill.
 */
import * as native from '../native/addon.js';

/** Where a socket is in its life, from the script's point of view. */
export type SocketPhase =
  | 'init'
  | 'new' // socket() done
  | 'passive_listening' // listen() done
  | 'passive_packet_received' // a SYN was injected to the listener
  | 'passive_synack_sent' // the kernel's SYN-ACK was seen
  | 'passive_synack_acked' // the handshake's ACK was injected
  | 'active_connecting' // connect() / sendto() called
  | 'active_syn_sent' // the kernel's SYN was seen
  | 'active_syn_acked'; // the SYN-ACK was injected

/** An address and port; ip is text (IPv4 dotted quad or IPv6), '' when unknown. */
export interface Endpoint {
  ip: string;
  port: number;
}

export interface SocketSide {
  local: Endpoint;
  remote: Endpoint;
  /** Initial sequence numbers (unsigned 32-bit). */
  localIsn: number;
  remoteIsn: number;
}

export type FdKind = 'socket' | 'file' | 'epoll' | 'pipe';

export interface FdEntry {
  kind: FdKind;
  scriptFd: number;
  liveFd: number;
  isClosed: boolean;
}

export interface SocketEntry extends FdEntry {
  kind: 'socket';
  phase: SocketPhase;
  /** Address family of the socket as created: AF_INET (2) or AF_INET6 (10). */
  family: number;
  /** SOCK_STREAM, SOCK_DGRAM, ... (without flags) */
  type: number;
  /** IPPROTO_TCP (6), IPPROTO_UDP (17), IPPROTO_ICMP (1), IPPROTO_ICMPV6 (58). */
  protocol: number;
  script: SocketSide;
  live: SocketSide;
  /** Script TS val -> live TS val, learned from outbound packets. */
  tsValMap: Map<number, number>;
  firstTs?: { scriptVal: number; actualVal: number; scriptEcr: number; actualEcr: number };
  /** Last TCP headers seen each way, to reset the connection at the end. */
  lastOutboundTcp?: { seq: number; ack: number; flags: number; window: number };
  lastInjectedTcp?: { seq: number; ack: number; flags: number; window: number; payloadLen: number };
  /** IPv6 flow label mapping (script -> live). */
  flowLabelMap?: { script: number; live: number };
}

function emptySide(): SocketSide {
  return { local: { ip: '', port: 0 }, remote: { ip: '', port: 0 }, localIsn: 0, remoteIsn: 0 };
}

export function newSocketEntry(init: Partial<SocketEntry> = {}): SocketEntry {
  return {
    kind: 'socket',
    scriptFd: -1,
    liveFd: -1,
    isClosed: false,
    phase: 'init',
    family: 0,
    type: 0,
    protocol: 6,
    script: emptySide(),
    live: emptySide(),
    tsValMap: new Map(),
    ...init,
  };
}

export class FdTable {
  readonly entries: FdEntry[] = [];
  /** The socket that script packets are mapped to. */
  socketUnderTest: SocketEntry | undefined;

  add(entry: FdEntry): void {
    this.entries.push(entry);
  }

  byScriptFd(fd: number): FdEntry | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.scriptFd === fd && !e.isClosed) return e;
    }
    return undefined;
  }

  byLiveFd(fd: number): FdEntry | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.liveFd === fd && !e.isClosed) return e;
    }
    return undefined;
  }

  socketByScriptFd(fd: number): SocketEntry | undefined {
    const e = this.byScriptFd(fd);
    return e?.kind === 'socket' ? (e as SocketEntry) : undefined;
  }

  sockets(): SocketEntry[] {
    return this.entries.filter((e): e is SocketEntry => e.kind === 'socket');
  }

  /**
   * packetdrill refuses a script fd or live fd that is already in use
   * (returns an error text), so that the script's numbering stays in step
   * with the kernel's.
   */
  checkDuplicate(scriptFd: number, liveFd: number): string | null {
    for (const e of this.entries) {
      if (e.isClosed) continue;
      if (e.scriptFd === scriptFd) return `duplicate fd ${scriptFd} in script`;
      if (e.liveFd === liveFd) return `duplicate live fd ${liveFd}`;
    }
    return null;
  }
}

/** Close what the script left open, as packetdrill does when it ends. */
export function closeScriptFds(fds: FdTable): void {
  const close = native.sysNr('close');
  for (const e of fds.entries) {
    if (e.isClosed || e.liveFd < 0) continue;
    native.syscall(close, [e.liveFd]);
    e.isClosed = true;
  }
}
