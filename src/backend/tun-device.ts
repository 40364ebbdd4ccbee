/**
 * tun0 as packetdrill sets it up: a layer-3 TUN with a virtio-net header
 * (IFF_VNET_HDR) and checksum/TSO offload, so the kernel may hand over TSO
 * super-segments and accept GSO packets, just as it does on a real NIC.
 * The addon's reader thread drains it continuously (the kernel holds back
 * retransmissions of segments still queued in the host, so a reader that
 * lags would change TCP's behaviour), and stamps each packet with the time
 * the kernel's packet tap saw it (see openStampSocket).
 */
import * as native from '../native/addon.js';
import type { DecodedFrame, DeviceIo, LinkFraming } from './system-under-test.js';

const TUNSETIFF = 0x400454ca;
const TUNSETOFFLOAD = 0x400454d0;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
const TUN_F_TSO6 = 0x04;
const TUN_F_TSO_ECN = 0x08;
const O_RDWR = 0x2;
const O_CLOEXEC = 0x80000;
const O_NONBLOCK = 0x800;
const AT_FDCWD = -100;

/** struct virtio_net_hdr (without num_buffers), which precedes every packet on an IFF_VNET_HDR tun. */
export const VNET_HDR_LEN = 10;
export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_TCPV6 = 4;

/** Raw IP packets behind a virtio-net header. */
export const VNET_FRAMING: LinkFraming = {
  linkType: 'raw-ip',
  captureOffset: VNET_HDR_LEN,
  decode(frame: Buffer): DecodedFrame | null {
    if (frame.length < VNET_HDR_LEN) return null;
    return { ip: frame.subarray(VNET_HDR_LEN), gsoType: frame[1]! & 0x7f, gsoSize: frame.readUInt16LE(4) };
  },
  encode(ip: Buffer, gsoMss: number): Buffer {
    const hdr = Buffer.alloc(VNET_HDR_LEN);
    if (gsoMss > 0) {
      hdr[1] = ip[0]! >> 4 === 4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6;
      hdr.writeUInt16LE(gsoMss, 4);
    }
    return Buffer.concat([hdr, ip]);
  },
};

export class TunError extends Error {}

export interface TunDevice {
  fd: number;
  name: string;
  io: DeviceIo;
  close(): void;
}

function check(r: native.SyscallResult, what: string): number {
  if (r.ret < 0n) {
    throw new TunError(`${what}: ${native.strerror(r.errno)} (${native.errnoName(r.errno)})`);
  }
  return Number(r.ret);
}

/**
 * The device's stamp socket, so that every packet the kernel sends carries
 * the time its packet tap saw it, as packetdrill's sniffed packets do, not
 * the time the reader thread got to read it; -1 where no packet socket can
 * be opened (the packets then keep their read times).
 */
function openStampSocket(name: string): number {
  try {
    return native.packetStampSocketOpen(name);
  } catch {
    return -1;
  }
}

export function openTunDevice(name = 'tun0'): TunDevice {
  const path = Buffer.from('/dev/net/tun\0');
  const fd = check(native.syscall(native.sysNr('openat'), [AT_FDCWD, path, O_RDWR | O_CLOEXEC | O_NONBLOCK, 0]), 'open /dev/net/tun');
  const ifr = Buffer.alloc(40);
  ifr.write(name, 0, 15, 'ascii');
  ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, 16);
  try {
    check(native.syscall(native.sysNr('ioctl'), [fd, TUNSETIFF, ifr]), `create ${name} (TUNSETIFF)`);
    check(
      native.syscall(native.sysNr('ioctl'), [fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN]),
      `set ${name} offloads (TUNSETOFFLOAD)`,
    );
  } catch (e) {
    native.syscall(native.sysNr('close'), [fd]);
    throw e;
  }
  const actual = ifr.toString('ascii', 0, 16).replace(/\0.*$/s, '');
  const stampFd = openStampSocket(actual);
  let closed = false;
  return {
    fd,
    name: actual,
    io: {
      framing: VNET_FRAMING,
      readerStart(onFrames) {
        const r = native.tunReaderStart(fd, onFrames, {
          onError: (err) => {
            if (!closed) process.emitWarning(`tun reader: ${err.message}`);
          },
          stamp: stampFd >= 0 ? { fd: stampFd, skip: VNET_HDR_LEN } : undefined,
        });
        return { stop: () => r.stop(), take: () => r.take(), waitFor: (ns, spin) => r.waitFor(ns, spin), hold: (ns) => r.hold(ns), stampStats: () => r.stampStats() };
      },
      write: (data) => native.tunWrite(fd, data),
      writeBurst: (frames, stops) => native.tunWriteBurst(fd, frames, stops),
    },
    close() {
      if (closed) return;
      closed = true;
      native.syscall(native.sysNr('close'), [fd]);
      if (stampFd >= 0) native.syscall(native.sysNr('close'), [stampFd]);
    },
  };
}
