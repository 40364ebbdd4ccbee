/**
 * A veth pair as the path between the kernel and the harness. The kernel's
 * end is called tun0, as over tun, so scripts that name tun0 (tc, ethtool)
 * run unchanged; it sits in the run's namespace with the script's local
 * address. The harness's end (tdh0) sits in a second namespace made for
 * the run, with no address and IPv6 off, and is driven through an AF_PACKET
 * socket: every frame the kernel sends is read and stamped there, every
 * packet the script injects goes out of it as an Ethernet frame. tun0 runs
 * without neighbour resolution (NOARP: frames go to its own address, which
 * tdh0 reads as another host's), IPv6 without duplicate address detection and without a
 * link-local address (no router solicitations), and tun0 gets tun0's MTU,
 * GSO size, queue length and qdisc (pfifo_fast, 500 packets) with its
 * default offloads (checksum and TSO, like tun0's virtio-net header).
 */
import { release } from 'node:os';
import * as native from '../native/addon.js';
import type { DecodedFrame, DeviceIo, LinkFraming, NetworkPlan, OpenedSystem, SystemUnderTest } from './system-under-test.js';
import { VNET_GSO_TCPV4, VNET_GSO_TCPV6, VNET_HDR_LEN } from './tun-device.js';
import { configureNamespace, NetSetupError } from './namespace.js';
import { foldSum, pseudoHeaderSum } from '../packet/checksum.js';
import { ipBatch, linkStats, qdiscReport, tc, writeSysctlSync } from './ip-commands.js';
import { closeFd, inNetns, netnsPath, newNetns } from './netns.js';

export const VETH_KERNEL_IF = 'tun0';
export const VETH_HARNESS_IF = 'tdh0';
/** tun0's defaults, which the veth end copies. */
const TUN_TXQUEUELEN = 500;
const TUN_GSO_MAX_SIZE = 65536;

const ETH_HLEN = 14;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;

export interface VethDevice {
  name: string;
  io: DeviceIo;
  kernelMac: string;
  harnessMac: string;
  report(): Record<string, number | string>;
  close(): void;
}

function macBytes(mac: string): Buffer {
  const b = Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
  if (b.length !== 6 || mac.split(':').some((h) => !/^[0-9a-f]{2}$/i.test(h))) throw new NetSetupError(`not a MAC address: '${mac}'`);
  return b;
}

/** virtio_net_hdr flags: the checksum at csum_start + csum_offset is partial (CHECKSUM_PARTIAL). */
export const VNET_F_NEEDS_CSUM = 1;
const PROTO_TCP = 6;
const TCP_CHECK = 16;

/** Where the TCP header of an IPv4 or IPv6 packet begins; -1 when it is not TCP (or sits behind IPv6 extension headers). */
function tcpHeaderOffset(ip: Buffer): number {
  const v = ip[0]! >> 4;
  if (v === 4 && ip.length >= 20 && ip[9] === PROTO_TCP) return (ip[0]! & 0x0f) * 4;
  if (v === 6 && ip.length >= 40 && ip[6] === PROTO_TCP) return 40;
  return -1;
}

/**
 * The gso_size for a TCP packet over veth, or 0 for a plain frame.
 *
 * A frame longer than the link's MTU leaves an AF_PACKET socket only as a
 * GSO frame (packet_snd() refuses it with EMSGSIZE otherwise), and veth
 * hands only GSO skbs longer than the MTU to its peer (is_skb_forwardable()
 * drops the others). Over tun the kernel takes such a packet whole, as one
 * skb without GSO marks; here it arrives whole too (veth offers TSO, so the
 * skb is not segmented on its way), and its gso_size is what the receiving
 * TCP reads instead of the length when it measures the peer's segments
 * (tcp_measure_rcv_mss(): the receive MSS it clamps to the advertised MSS,
 * and, whenever that length differs from the current receive MSS, the
 * payload-to-truesize ratio its window is computed with). So where the
 * script gives packetdrill's --mss and the segment is longer, --mss (as
 * tun0 gets it); otherwise, for a segment longer than the MTU, one byte
 * less than its payload: the largest size that still makes it GSO, so TCP
 * sees nearly the length it sees over tun (a GSO skb of two segments).
 */
export function vethGsoSize(ip: Buffer, gsoMss: number, mtu: number): number {
  const t = tcpHeaderOffset(ip);
  if (t < 0 || ip.length < t + 20) return 0;
  const payload = ip.length - t - (ip[t + 12]! >> 4) * 4;
  if (gsoMss > 0 && payload > gsoMss) return gsoMss;
  if (ip.length <= mtu || payload < 2) return 0;
  return Math.min(payload - 1, 0xffff);
}

/**
 * Ethernet frames behind a virtio-net header (the packet socket's
 * PACKET_VNET_HDR, with the same GSO marks as tun0's): injected frames go
 * from the harness's address to the kernel's; frames that do not carry IP
 * are dropped. A TCP packet to be handed over as GSO (see vethGsoSize)
 * goes as the kernel's own TSO frames go to a NIC: gso_type and gso_size,
 * NEEDS_CSUM with csum_start at the TCP header, csum_offset at its checksum
 * field and the pseudo-header sum in that field (CHECKSUM_PARTIAL: the
 * receiving side trusts it, as it trusts a frame from a NIC that checked
 * it), and hdr_len the Ethernet, IP and TCP headers (the linear part
 * packet_snd() allocates; the payload goes into pages, as tun puts it).
 * The capture keeps the packet as the script built it, with its full
 * checksum.
 */
export function ethernetFraming(src: Buffer, dst: Buffer, mtu: number): LinkFraming {
  const header = (type: number): Buffer => {
    const h = Buffer.alloc(ETH_HLEN);
    dst.copy(h, 0);
    src.copy(h, 6);
    h.writeUInt16BE(type, 12);
    return h;
  };
  const eth4 = header(ETH_P_IP);
  const eth6 = header(ETH_P_IPV6);
  const IP_AT = VNET_HDR_LEN + ETH_HLEN;
  return {
    linkType: 'ethernet',
    captureOffset: VNET_HDR_LEN,
    decode(frame: Buffer): DecodedFrame | null {
      if (frame.length < IP_AT) return null;
      const type = frame.readUInt16BE(VNET_HDR_LEN + 12);
      if (type !== ETH_P_IP && type !== ETH_P_IPV6) return null;
      return { ip: frame.subarray(IP_AT), gsoType: frame[1]! & 0x7f, gsoSize: frame.readUInt16LE(4) };
    },
    encode(ip: Buffer, gsoMss: number): Buffer {
      const v6 = ip[0]! >> 4 === 6;
      const frame = Buffer.alloc(IP_AT + ip.length);
      (v6 ? eth6 : eth4).copy(frame, VNET_HDR_LEN);
      ip.copy(frame, IP_AT);
      const gso = vethGsoSize(ip, gsoMss, mtu);
      if (gso > 0) {
        const t = tcpHeaderOffset(ip);
        const l4Len = ip.length - t;
        frame[0] = VNET_F_NEEDS_CSUM;
        frame[1] = v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
        frame.writeUInt16LE(ETH_HLEN + t + (ip[t + 12]! >> 4) * 4, 2); // hdr_len
        frame.writeUInt16LE(gso, 4); // gso_size
        frame.writeUInt16LE(ETH_HLEN + t, 6); // csum_start
        frame.writeUInt16LE(TCP_CHECK, 8); // csum_offset
        frame.writeUInt16BE(foldSum(pseudoHeaderSum(ip, 0, PROTO_TCP, l4Len)), IP_AT + t + TCP_CHECK);
      }
      return frame;
    },
    captured(frame: Buffer, ip: Buffer): Buffer {
      if ((frame[0]! & VNET_F_NEEDS_CSUM) === 0) return frame.subarray(VNET_HDR_LEN);
      return Buffer.concat([frame.subarray(VNET_HDR_LEN, IP_AT), ip]);
    },
  };
}

/** The sysctl name of an interface's setting (dots in names are slashes in sysctl names). */
function devSysctl(family: 'ipv4' | 'ipv6', dev: string, key: string): string {
  return `net.${family}.conf.${dev}.${key}`;
}

/**
 * Make the pair and configure both ends for `config`: the run's namespace
 * is the calling thread's.
 */
export function openVethDevice(config: NetworkPlan): VethDevice {
  const harnessNs = newNetns();
  let sock: native.PacketSocket | null = null;
  try {
    ipBatch([
      `link add name ${VETH_KERNEL_IF} mtu ${config.mtu} type veth peer name ${VETH_HARNESS_IF} mtu ${config.mtu} netns ${netnsPath(harnessNs)}`,
      `link set dev ${VETH_KERNEL_IF} txqueuelen ${TUN_TXQUEUELEN} gso_max_size ${TUN_GSO_MAX_SIZE}`,
    ], 'creating the veth pair');
    // Before the link comes up: no DAD, no link-local address, no router solicitations.
    writeSysctlSync(devSysctl('ipv6', VETH_KERNEL_IF, 'accept_dad'), '0');
    writeSysctlSync(devSysctl('ipv6', VETH_KERNEL_IF, 'addr_gen_mode'), '1');
    writeSysctlSync(devSysctl('ipv6', VETH_KERNEL_IF, 'router_solicitations'), '0');
    sock = inNetns(harnessNs, () => {
      writeSysctlSync('net.ipv6.conf.all.disable_ipv6', '1');
      writeSysctlSync(devSysctl('ipv6', VETH_HARNESS_IF, 'disable_ipv6'), '1');
      ipBatch([`link set dev ${VETH_HARNESS_IF} arp off`, `link set dev ${VETH_HARNESS_IF} up`], 'configuring the harness end of the veth pair');
      return native.packetSocketOpen(VETH_HARNESS_IF, true);
    });
    configureNamespace(config, VETH_KERNEL_IF);
    // `arp off`: the kernel resolves no neighbour (no ARP, no neighbour
    // solicitation, as on tun) and addresses every frame to tun0's own
    // address; tdh0 reads them as PACKET_OTHERHOST.
    ipBatch([`link set dev ${VETH_KERNEL_IF} arp off`], 'turning neighbour resolution off on tun0 (veth)');
    tc(['qdisc', 'replace', 'dev', VETH_KERNEL_IF, 'root', 'pfifo_fast'], 'the qdisc of tun0 (veth)');
  } catch (e) {
    if (sock) closeFd(sock.fd);
    closeFd(harnessNs);
    throw e;
  }
  const s = sock;
  const kernelMac = linkStats(VETH_KERNEL_IF).mac;
  const framing = ethernetFraming(macBytes(s.mac), macBytes(kernelMac), config.mtu);
  let received = 0;
  let closed = false;
  return {
    name: VETH_KERNEL_IF,
    kernelMac,
    harnessMac: s.mac,
    io: {
      framing,
      readerStart(onPackets) {
        const { HOST, BROADCAST, MULTICAST, OTHERHOST } = native.PACKET_TYPE;
        const r = native.packetReaderStart(s.fd, [HOST, BROADCAST, MULTICAST, OTHERHOST], (pkts) => {
          received += pkts.length;
          onPackets(pkts);
        }, {
          onError: (err) => {
            if (!closed) process.emitWarning(`veth packet reader: ${err.message}`);
          },
        });
        return {
          stop: () => r.stop(),
          take: () => {
            const got = r.take();
            received += got.length;
            return got;
          },
          waitFor: (ns, spin) => r.waitFor(ns, spin),
          hold: (ns) => r.hold(ns),
        };
      },
      write: (data) => native.tunWrite(s.fd, data),
      writeBurst: (frames, stops) => native.tunWriteBurst(s.fd, frames, stops),
    },
    report() {
      const link = linkStats(VETH_KERNEL_IF);
      return {
        'tun0 (veth) tx packets': link.txPackets,
        'tun0 (veth) tx_dropped': link.txDropped,
        'frames read on tdh0': received,
        ...qdiscReport(VETH_KERNEL_IF),
      };
    },
    close() {
      if (closed) return;
      closed = true;
      closeFd(s.fd);
      closeFd(harnessNs);
    },
  };
}

/** The veth backend. */
export function vethBackend(): SystemUnderTest {
  return {
    name: 'veth',
    open(plan: NetworkPlan): Promise<OpenedSystem> {
      const t0 = performance.now();
      // Pair, second namespace and addresses are one step.
      const dev = openVethDevice(plan);
      return Promise.resolve({
        description: {
          backend: 'veth', device: dev.name, kernel: release(),
          details: {
            peer: `${VETH_HARNESS_IF} in a second namespace of the run, read and written with AF_PACKET`,
            'kernel end': `${dev.name} ${dev.kernelMac}, txqueuelen ${TUN_TXQUEUELEN}, pfifo_fast`,
          },
        },
        io: dev.io,
        openTimings: { deviceMs: 0, namespaceMs: performance.now() - t0 },
        report: () => dev.report(),
        close: () => dev.close(),
      });
    },
  };
}
