/**
 * TCP header (RFC 9293), with the AE bit of Accurate ECN (the former NS bit)
 * and the flag notation packetdrill scripts use.
 */

import { defineHeader, type HeaderFields } from './fields.js';
import type { DecodedTcpOption, TcpOption } from './tcp-options.js';

const TCP_FIELDS = [
  { name: 'srcPort', bits: 16 },
  { name: 'dstPort', bits: 16 },
  { name: 'seq', bits: 32 },
  { name: 'ackSeq', bits: 32 },
  { name: 'dataOffset', bits: 4, default: 5 },
  { name: 'reserved', bits: 3 },
  { name: 'ae', bits: 1, type: 'flag' },
  { name: 'cwr', bits: 1, type: 'flag' },
  { name: 'ece', bits: 1, type: 'flag' },
  { name: 'urg', bits: 1, type: 'flag' },
  { name: 'ack', bits: 1, type: 'flag' },
  { name: 'psh', bits: 1, type: 'flag' },
  { name: 'rst', bits: 1, type: 'flag' },
  { name: 'syn', bits: 1, type: 'flag' },
  { name: 'fin', bits: 1, type: 'flag' },
  { name: 'window', bits: 16 },
  { name: 'checksum', bits: 16 },
  { name: 'urgentPointer', bits: 16 },
] as const;

/** The fixed 20-byte TCP header as a plain object. */
export type TcpFixed = HeaderFields<typeof TCP_FIELDS>;

/** Codec for the fixed part of the TCP header. */
export const TCP = defineHeader('TCP', TCP_FIELDS);

export const TCP_HEADER_LEN = 20;
/** Offsets inside the TCP header. */
export const TCP_OFF_SEQ = 4;
export const TCP_OFF_ACK = 8;
export const TCP_OFF_FLAGS = 13;
export const TCP_OFF_WINDOW = 14;
export const TCP_OFF_CHECKSUM = 16;

/** A decoded TCP header: fixed fields plus options. */
export interface TcpHeader extends TcpFixed {
  options: DecodedTcpOption[];
  /** Raw option bytes (a view into the decoded buffer). */
  optionsRaw: Buffer;
  /** Why option decoding stopped early, if it did. */
  optionsError?: string;
}

export type TcpFlagName = 'fin' | 'syn' | 'rst' | 'psh' | 'ack' | 'urg' | 'ece' | 'cwr' | 'ae';

/** The flag booleans of a TCP header. */
export type TcpFlags = Pick<TcpFixed, TcpFlagName>;

/**
 * Parses packetdrill/tcpdump flag letters: F S R P . (ACK) U E W A, or a
 * digit 0..7 giving the AccECN ACE field (AE*4 + CWR*2 + ECE). Throws on
 * anything else, and on mixing E/W/A with a digit.
 */
export function parseTcpFlags(text: string): TcpFlags {
  const f: TcpFlags = { fin: false, syn: false, rst: false, psh: false, ack: false, urg: false, ece: false, cwr: false, ae: false };
  let sawEcnLetter = false;
  let sawAce = false;
  for (const c of text) {
    switch (c) {
      case 'F':
        f.fin = true;
        break;
      case 'S':
        f.syn = true;
        break;
      case 'R':
        f.rst = true;
        break;
      case 'P':
        f.psh = true;
        break;
      case '.':
        f.ack = true;
        break;
      case 'U':
        f.urg = true;
        break;
      case 'E':
      case 'W':
      case 'A':
        if (sawAce) throw new Error(`Conflicting TCP flag: '${c}'`);
        sawEcnLetter = true;
        if (c === 'E') f.ece = true;
        else if (c === 'W') f.cwr = true;
        else f.ae = true;
        break;
      default:
        if (c >= '0' && c <= '7') {
          if (sawEcnLetter || sawAce) throw new Error(`Conflicting TCP flag: '${c}'`);
          sawAce = true;
          const ace = c.charCodeAt(0) - 48;
          f.ece = (ace & 1) !== 0;
          f.cwr = (ace & 2) !== 0;
          f.ae = (ace & 4) !== 0;
        } else {
          throw new Error(`Invalid TCP flag: '${c}'`);
        }
    }
  }
  return f;
}

/** packetdrill's check of a flags word: its error message ("Invalid TCP flag: 'X'"), or undefined. */
export function tcpFlagsError(text: string): string | undefined {
  try {
    parseTcpFlags(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The AccECN ACE value carried by a header's AE, CWR and ECE bits. */
export function tcpAce(h: Pick<TcpFlags, 'ae' | 'cwr' | 'ece'>): number {
  return (h.ae ? 4 : 0) | (h.cwr ? 2 : 0) | (h.ece ? 1 : 0);
}

/**
 * Flag letters in packetdrill's order (F S R P . U, then E W A, or the ACE
 * digit when `ace` is set).
 */
export function formatTcpFlags(h: TcpFlags, ace = false): string {
  let s = '';
  if (h.fin) s += 'F';
  if (h.syn) s += 'S';
  if (h.rst) s += 'R';
  if (h.psh) s += 'P';
  if (h.ack) s += '.';
  if (h.urg) s += 'U';
  if (ace) {
    s += String(tcpAce(h));
  } else {
    if (h.ece) s += 'E';
    if (h.cwr) s += 'W';
    if (h.ae) s += 'A';
  }
  return s;
}

/** Fields of a TCP header to encode; anything left out is defaulted or computed. */
export interface TcpSpec extends Partial<TcpFixed> {
  /**
   * Flags as packetdrill letters (e.g. "S.", "P.", "F.E") or a digit for
   * ACE. Individual booleans given alongside win over the letters.
   */
  flags?: string;
  /** Typed options (padded with zeros to a multiple of four) or raw option bytes used as given. */
  options?: readonly TcpOption[] | Uint8Array;
  /** Store a wrong checksum (the correct one with its low bit flipped). */
  badChecksum?: boolean;
}
