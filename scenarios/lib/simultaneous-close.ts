/**
 * The passive open every seed scenario starts with, and the simultaneous
 * close the CLOSING scenarios share (the CLOSING / CLOSE_WAIT article's
 * case): the server accepts, writes 1000 bytes that the peer acknowledges,
 * closes; the peer's FIN arrives before any ACK of ours, so the socket is
 * in CLOSING and its FIN is never acknowledged.
 */
/**
 * What the passive open depends on, pinned so that every kernel sends the
 * same SYN-ACK: its window scale follows tcp_rmem[2] (Linux 6.1's default
 * of 6 MB gives wscale 7, 6.18's 32 MB gives 10). Every seed scenario sets
 * these in its namespace.
 */
export const PORTABLE_SYSCTLS: Readonly<Record<string, string>> = { 'net.ipv4.tcp_rmem': '4096 131072 33554432' };

/** A listener on this kernel's defaults and the handshake of one connection, accepted as fd 4 at 0.200 s. */
export const PASSIVE_OPEN = `0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
0.000 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
0.000 bind(3, ..., ...) = 0
0.000 listen(3, 1) = 0

0.100 < S 0:0(0) win 32792 <mss 1460,sackOK,nop,nop,nop,wscale 7>
0.100 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 10>
0.200 < . 1:1(0) ack 1 win 257
0.200 accept(3, ..., ...) = 4
`;

export interface SimultaneousCloseOptions {
  /** First comment line of the script. */
  title: string;
  /** Script lines run after the data is acknowledged and before close(). */
  beforeClose?: string;
  /** Whether the script expects our ACK of the peer's FIN (not when a qdisc holds it). */
  expectAckOfPeerFin?: boolean;
  /** Closing comment lines. */
  trailer?: string;
  /** When close() runs, seconds (default 0.4); the peer's FIN comes 0.1 s later. */
  closeAt?: number;
}

export function simultaneousCloseScript(o: SimultaneousCloseOptions): string {
  const closeAt = o.closeAt ?? 0.4;
  const close = closeAt.toFixed(3);
  const peerFin = (closeAt + 0.1).toFixed(3);
  return `// ${o.title}
${PASSIVE_OPEN}
0.250 write(4, ..., 1000) = 1000
0.250 > P. 1:1001(1000) ack 1
0.300 < . 1:1(0) ack 1001 win 257
${o.beforeClose ? `\n${o.beforeClose}\n` : ''}
// Our FIN, then the peer's FIN before any ACK of ours: CLOSING
${close} close(4) = 0
${close} > F. 1001:1001(0) ack 1
${peerFin} < F. 1:1(0) ack 1001 win 260
${o.expectAckOfPeerFin === false ? '' : `${peerFin} > . 1002:1002(0) ack 2\n`}${o.trailer ?? ''}`;
}
