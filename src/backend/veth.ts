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
import { ipBatch, linkStats, rootQdisc, tc, writeSysctlSync } from './ip-commands.js';
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

/**
 * Ethernet frames behind a virtio-net header (the packet socket's
 * PACKET_VNET_HDR, with the same GSO marks as tun0's): injected frames go
 * from the harness's address to the kernel's; frames that do not carry IP
 * are dropped.
 */
export function ethernetFraming(src: Buffer, dst: Buffer): LinkFraming {
  const header = (type: number): Buffer => {
    const h = Buffer.alloc(ETH_HLEN);
    dst.copy(h, 0);
    src.copy(h, 6);
    h.writeUInt16BE(type, 12);
    return h;
  };
  const eth4 = header(ETH_P_IP);
  const eth6 = header(ETH_P_IPV6);
  return {
    linkType: 'ethernet',
    captureOffset: VNET_HDR_LEN,
    decode(frame: Buffer): DecodedFrame | null {
      if (frame.length < VNET_HDR_LEN + ETH_HLEN) return null;
      const type = frame.readUInt16BE(VNET_HDR_LEN + 12);
      if (type !== ETH_P_IP && type !== ETH_P_IPV6) return null;
      return { ip: frame.subarray(VNET_HDR_LEN + ETH_HLEN), gsoType: frame[1]! & 0x7f, gsoSize: frame.readUInt16LE(4) };
    },
    encode(ip: Buffer, gsoMss: number): Buffer {
      const v6 = ip[0]! >> 4 === 6;
      const frame = Buffer.alloc(VNET_HDR_LEN + ETH_HLEN + ip.length);
      if (gsoMss > 0) {
        frame[1] = v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
        frame.writeUInt16LE(gsoMss, 4);
      }
      (v6 ? eth6 : eth4).copy(frame, VNET_HDR_LEN);
      ip.copy(frame, VNET_HDR_LEN + ETH_HLEN);
      return frame;
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
  const framing = ethernetFraming(macBytes(s.mac), macBytes(kernelMac));
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
          waitFor: (ns) => r.waitFor(ns),
        };
      },
      write: (data) => native.tunWrite(s.fd, data),
    },
    report() {
      const link = linkStats(VETH_KERNEL_IF);
      const q = rootQdisc(VETH_KERNEL_IF);
      return {
        'tun0 (veth) tx packets': link.txPackets,
        'tun0 (veth) tx_dropped': link.txDropped,
        'frames read on tdh0': received,
        qdisc: q?.kind ?? '-',
        'qdisc backlog (packets)': q?.backlogPackets ?? 0,
        'qdisc drops': q?.drops ?? 0,
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
