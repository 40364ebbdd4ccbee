/**
 * The engine's device over a system under test that is not a kernel: a
 * fake DeviceIo behind the tun backend's own framing, with the native
 * addon replaced by a fake binding, so nothing here needs the compiled
 * addon, a TUN device or root.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { nativeBinding, nowNs, SYS, useNativeBinding } from '../../src/native/addon.js';
import { NetDevice, TunWriteError } from '../../src/engine/netdev.js';
import { CaptureLog, captureComment } from '../../src/evidence/capture-log.js';
import { VNET_FRAMING, VNET_GSO_TCPV4, VNET_HDR_LEN } from '../../src/backend/tun-device.js';
import { ethernetFraming, VNET_F_NEEDS_CSUM } from '../../src/backend/veth.js';
import { encodePacket } from '../../src/packet/index.js';
import type { DeviceFrame, DeviceIo } from '../../src/backend/system-under-test.js';
import { fakeNativeBinding, type FakeBinding } from '../fakes/native-binding.js';

/** An in-memory device: frames written are kept, frames "from the kernel" are pushed by the test. */
function fakeDevice(): { io: DeviceIo; written: Buffer[]; kernelSends(frame: Buffer): void } {
  const written: Buffer[] = [];
  let deliver: ((f: DeviceFrame[]) => void) | null = null;
  const queued: DeviceFrame[] = [];
  return {
    written,
    kernelSends(frame) {
      const f = { data: frame, tsNs: nowNs() };
      if (deliver) deliver([f]);
      else queued.push(f);
    },
    io: {
      framing: VNET_FRAMING,
      readerStart(onFrames) {
        deliver = onFrames;
        return { stop: () => queued.splice(0), take: () => queued.splice(0), waitFor: () => queued.length };
      },
      write(frame) {
        written.push(Buffer.from(frame));
        return { tsNs: nowNs(), ret: frame.length, errno: 0 };
      },
    },
  };
}

/** A minimal IPv4 header (20 bytes) followed by `payload`. */
function ipv4(payload: number[]): Buffer {
  const b = Buffer.alloc(20 + payload.length);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b[9] = 6;
  Buffer.from(payload).copy(b, 20);
  return b;
}

describe('engine device with a fake native binding', () => {
  let fake: FakeBinding;
  beforeAll(() => {
    fake = fakeNativeBinding();
    useNativeBinding(fake);
  });

  test('the fake is the binding in use and answers the addon tables', () => {
    expect(nativeBinding()).toBe(fake);
    expect(SYS['times']).toBe(100);
    expect(Object.keys(SYS)).toContain('openat');
  });

  test('injects through the framing, keeps the IP packet in the capture with its lateness and calls the packet hook', () => {
    const dev = fakeDevice();
    const capture = new CaptureLog();
    const seen: Array<[string, number]> = [];
    const nd = new NetDevice(dev.io, capture, (data, _ts, dir) => seen.push([dir, data.length]));
    nd.start();
    const ip = ipv4([1, 2, 3, 4]);
    const at = nowNs();
    const f = nd.frame(ip, 1000);
    expect(dev.written).toHaveLength(0);
    const ts = nd.write(f);
    expect(capture.records).toHaveLength(0);
    nd.noteInjected(f, at, ts, 'line 3');
    expect(dev.written).toHaveLength(1);
    const frame = dev.written[0]!;
    expect(frame.length).toBe(VNET_HDR_LEN + ip.length);
    expect(frame[1]).toBe(VNET_GSO_TCPV4);
    expect(frame.readUInt16LE(4)).toBe(1000);
    expect(capture.records[0]!.data.equals(ip)).toBe(true);
    expect(captureComment(capture.records[0]!)).toBe('line 3');
    expect(capture.records[0]!.tsNs).toBe(ts);
    expect(nd.injectionErrorsNs).toEqual([ts - at]);
    expect(seen).toEqual([['in', ip.length]]);
    nd.stop();
  });

  test('a frame the device refuses is an error naming the errno, and nothing goes into the capture', () => {
    const dev = fakeDevice();
    dev.io.write = () => ({ tsNs: nowNs(), ret: -1, errno: 11 });
    const capture = new CaptureLog();
    const nd = new NetDevice(dev.io, capture);
    nd.start();
    const f = nd.frame(ipv4([1]), 0);
    expect(() => nd.write(f)).toThrow(TunWriteError);
    expect(() => nd.write(f)).toThrow(/refused the 31-byte frame: EAGAIN \(/);
    expect(capture.records).toHaveLength(0);
    nd.stop();
  });

  test('over veth framing a GSO frame goes out with its partial checksum and the capture keeps the full one', () => {
    const dev = fakeDevice();
    const framing = ethernetFraming(Buffer.from([2, 0, 0, 0, 0, 1]), Buffer.from([2, 0, 0, 0, 0, 2]), 1500);
    const io: DeviceIo = { ...dev.io, framing };
    const capture = new CaptureLog();
    const nd = new NetDevice(io, capture);
    nd.start();
    const ip = encodePacket({
      ipv4: { src: '192.0.2.1', dst: '192.168.0.1' },
      tcp: { srcPort: 5000, dstPort: 8080, seq: 1, ack: 1, flags: '.', window: 100 },
      payload: 3000,
    });
    const f = nd.frame(ip, 0);
    nd.noteInjected(f, nowNs(), nd.write(f), 'line 5');
    const frame = dev.written[0]!;
    expect(frame[0]).toBe(VNET_F_NEEDS_CSUM);
    expect(frame.readUInt16BE(VNET_HDR_LEN + 14 + 36)).not.toBe(ip.readUInt16BE(36));
    const kept = capture.records[0]!.data;
    expect(kept.length).toBe(14 + ip.length);
    expect(kept.subarray(14).equals(ip)).toBe(true);
    nd.stop();
  });

  test('reads what the kernel sends, without the virtio-net header, in order; short frames are dropped', async () => {
    const dev = fakeDevice();
    const capture = new CaptureLog();
    const seen: string[] = [];
    const nd = new NetDevice(dev.io, capture, (_d, _ts, dir) => seen.push(dir));
    nd.start();
    const a = ipv4([0xaa]);
    const b = ipv4([0xbb]);
    dev.kernelSends(Buffer.concat([Buffer.alloc(VNET_HDR_LEN), a]));
    dev.kernelSends(Buffer.alloc(4));
    dev.kernelSends(Buffer.concat([Buffer.alloc(VNET_HDR_LEN), b]));
    const first = await nd.receive(10);
    const second = await nd.receive(10);
    expect(first!.data.equals(a)).toBe(true);
    expect(second!.data.equals(b)).toBe(true);
    expect(first!.gsoType).toBe(0);
    expect(await nd.receive(5)).toBeNull();
    expect(capture.sniffed).toBe(2);
    expect(seen).toEqual(['out', 'out']);
    nd.stop();
    expect(await nd.receive(null)).toBeNull();
  });

  test('a direct wait the event loop cut short is taken up again once the loop has run, and gives up at the deadline', async () => {
    const dev = fakeDevice();
    const waits: bigint[] = [];
    const spins: Array<boolean | undefined> = [];
    let sendOnWait = 2;
    const queued: DeviceFrame[] = [];
    const a = ipv4([0xaa]);
    const io: DeviceIo = {
      ...dev.io,
      readerStart: () => ({
        stop: () => queued.splice(0),
        take: () => queued.splice(0),
        // The reader's wait returns with nothing (the loop has work) until
        // its second call, which the kernel's packet ends.
        waitFor: (deadlineNs, spin) => {
          waits.push(deadlineNs);
          spins.push(spin);
          if (--sendOnWait === 0) queued.push({ data: Buffer.concat([Buffer.alloc(VNET_HDR_LEN), a]), tsNs: nowNs() });
          return queued.length;
        },
      }),
    };
    const nd = new NetDevice(io, new CaptureLog());
    nd.start();
    const got = await nd.receive(1000);
    expect(got!.data.equals(a)).toBe(true);
    expect(waits).toHaveLength(2);
    // Only the first wait spins: the one taken up again answers nothing the engine just did.
    expect(spins).toEqual([true, false]);
    // Both waits aim at the receive's own deadline (1 s from its start).
    expect(waits[1]).toBe(waits[0]);
    expect(Number(waits[0]! - nowNs())).toBeGreaterThan(900e6);

    // Nothing comes: the waits stop when they keep returning at once (three
    // in a row, unless a slow machine stretches one past 100 µs), and the
    // timer ends the receive; no busy loop meanwhile.
    sendOnWait = -1;
    waits.length = 0;
    const started = performance.now();
    expect(await nd.receive(30)).toBeNull();
    // Not much sooner: the event loop's timer may fire up to a millisecond
    // early by its own clock (taken when the loop last woke).
    expect(performance.now() - started).toBeGreaterThanOrEqual(28);
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect(waits.length).toBeLessThan(30);
    nd.stop();
  });
});
