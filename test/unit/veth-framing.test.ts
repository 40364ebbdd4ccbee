import { describe, expect, it } from 'vitest';
import { ethernetFraming } from '../../src/backend/veth.js';
import { VNET_FRAMING, VNET_HDR_LEN } from '../../src/backend/tun-device.js';

const harness = Buffer.from([0x02, 0, 0, 0, 0, 0x0a]);
const kernel = Buffer.from([0x02, 0, 0, 0, 0, 0x0b]);

describe('veth framing: Ethernet behind a virtio-net header', () => {
  const f = ethernetFraming(harness, kernel);
  const ip4 = Buffer.from([0x45, 0, 0, 20, ...new Array<number>(16).fill(0)]);
  const ip6 = Buffer.from([0x60, ...new Array<number>(39).fill(0)]);

  it('injects from the harness address to the kernel address, with tun\'s GSO marks', () => {
    const frame = f.encode(ip4, 0);
    expect(frame.length).toBe(VNET_HDR_LEN + 14 + 20);
    expect(frame.subarray(VNET_HDR_LEN, VNET_HDR_LEN + 6).equals(kernel)).toBe(true);
    expect(frame.subarray(VNET_HDR_LEN + 6, VNET_HDR_LEN + 12).equals(harness)).toBe(true);
    expect(frame.readUInt16BE(VNET_HDR_LEN + 12)).toBe(0x0800);
    expect(f.encode(ip6, 0).readUInt16BE(VNET_HDR_LEN + 12)).toBe(0x86dd);
    // The virtio-net header is the one tun0 gets for the same packet.
    expect(f.encode(ip6, 1440).subarray(0, VNET_HDR_LEN).equals(VNET_FRAMING.encode(ip6, 1440).subarray(0, VNET_HDR_LEN))).toBe(true);
    expect(f.captureOffset).toBe(VNET_HDR_LEN);
    expect(f.linkType).toBe('ethernet');
  });

  it('reads the IP packet and GSO marks of a frame, and drops what is not IP', () => {
    const d = f.decode(f.encode(ip6, 1440));
    expect(d?.ip.equals(ip6)).toBe(true);
    expect(d?.gsoType).toBe(4);
    expect(d?.gsoSize).toBe(1440);
    const arp = f.encode(ip4, 0);
    arp.writeUInt16BE(0x0806, VNET_HDR_LEN + 12);
    expect(f.decode(arp)).toBeNull();
    expect(f.decode(Buffer.alloc(VNET_HDR_LEN + 10))).toBeNull();
  });
});
