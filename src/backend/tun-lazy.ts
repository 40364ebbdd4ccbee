/**
 * tun0, not drained: the harness reads tun0 only when the engine takes a
 * packet, one read per packet (as harnesses did before the kernel learned
 * to skip retransmissions of segments still in a host queue), so what the
 * kernel sends waits in tun's queue meanwhile. What the kernel sends is
 * observed with an AF_PACKET socket on tun0 (PACKET_OUTGOING: seen as the
 * driver takes it, before tun queues it), so nothing is missed and the
 * stamps are the transmit times. The length of tun's own queue (sent to
 * the driver minus read by the harness) is tracked, its peak reported.
 */
import { release } from 'node:os';
import * as native from '../native/addon.js';
import type { DeviceIo, NetworkPlan, OpenedSystem, SystemUnderTest } from './system-under-test.js';
import { openTunDevice, VNET_FRAMING } from './tun-device.js';
import { configureNamespace } from './namespace.js';
import { linkStats, qdiscReport } from './ip-commands.js';

const READ_BUF = 65536 + 256;

export interface LazyTunDevice {
  name: string;
  io: DeviceIo;
  /** Numbers of tun's queue at the end of the run. */
  report(): Record<string, number | string>;
  close(): void;
}

export function openLazyTunDevice(name = 'tun0'): LazyTunDevice {
  const tun = openTunDevice(name);
  let sock: native.PacketSocket;
  try {
    sock = native.packetSocketOpen(tun.name, true);
  } catch (e) {
    tun.close();
    throw e;
  }
  let observed = 0;
  let read = 0;
  let owed = 0;
  let peak = 0;
  let closed = false;
  const buf = Buffer.alloc(READ_BUF);
  const readNr = native.sysNr('read');
  /** Read what the engine has taken and tun still holds (non-blocking). */
  const pay = (): void => {
    while (owed > 0) {
      const r = native.syscall(readNr, [tun.fd, buf, READ_BUF]);
      if (r.ret < 0n) return; // not queued yet (the packet socket saw it first); read at the next turn
      owed--;
      read++;
    }
  };
  const io: DeviceIo = {
    framing: VNET_FRAMING,
    readerStart(onPackets) {
      const r = native.packetReaderStart(sock.fd, [native.PACKET_TYPE.OUTGOING], (pkts) => {
        observed += pkts.length;
        peak = Math.max(peak, observed - read);
        onPackets(pkts);
      }, {
        onError: (err) => {
          if (!closed) process.emitWarning(`tun-lazy packet reader: ${err.message}`);
        },
      });
      return {
        stop: () => r.stop(),
        take: () => {
          const got = r.take();
          observed += got.length;
          peak = Math.max(peak, observed - read);
          return got;
        },
        waitFor: (ns, spin) => r.waitFor(ns, spin),
        hold: (ns) => r.hold(ns),
      };
    },
    write: (data) => native.tunWrite(tun.fd, data),
    writeBurst: (frames, stops) => native.tunWriteBurst(tun.fd, frames, stops),
    consumed() {
      owed++;
      pay();
    },
  };
  return {
    name: tun.name,
    io,
    report() {
      pay();
      const link = linkStats(tun.name);
      return {
        'sent to tun (AF_PACKET, outgoing)': observed,
        'read from tun by the harness': read,
        'left in tun queue': observed - read - link.txDropped,
        'tun queue peak': peak,
        'tun tx_dropped': link.txDropped,
        ...qdiscReport(tun.name),
      };
    },
    close() {
      if (closed) return;
      closed = true;
      native.syscall(native.sysNr('close'), [sock.fd]);
      tun.close();
    },
  };
}

/** The tun-lazy backend: tun0 left undrained, observed with AF_PACKET. */
export function tunLazyBackend(): SystemUnderTest {
  return {
    name: 'tun-lazy',
    open(plan: NetworkPlan): Promise<OpenedSystem> {
      const t0 = performance.now();
      const dev = openLazyTunDevice('tun0');
      const t1 = performance.now();
      try {
        configureNamespace(plan, dev.name);
      } catch (e) {
        dev.close();
        throw e;
      }
      return Promise.resolve({
        description: {
          backend: 'tun-lazy', device: dev.name, kernel: release(),
          details: { reader: 'tun0 read once per packet the engine takes; the kernel\'s packets observed with AF_PACKET (PACKET_OUTGOING)' },
        },
        io: dev.io,
        openTimings: { deviceMs: t1 - t0, namespaceMs: performance.now() - t1 },
        report: () => dev.report(),
        close: () => dev.close(),
      });
    },
  };
}
