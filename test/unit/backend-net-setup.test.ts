/**
 * A run's network set-up over rtnetlink: the requests `ip link set`,
 * `ip addr add` and `ip route replace` would send, byte for byte where it
 * matters, and the steps a run's plan turns into. That the kernel takes
 * them is checked by every integration test that opens a run's network.
 */
import { describe, expect, it } from 'vitest';
import {
  attributes, newAddressRequest, parseRoute, replaceRouteRequest, RtnetlinkError, setLinkRequest, splitMessages,
} from '../../src/backend/rtnetlink.js';
import { configureNamespace, NetSetupError, setupSteps, type NetConfigCalls } from '../../src/backend/namespace.js';
import type { NetworkPlan } from '../../src/backend/system-under-test.js';

const one = (buf: Buffer) => {
  const [m] = splitMessages(buf);
  expect(m).toBeDefined();
  return { type: m!.type, flags: buf.readUInt16LE(6), seq: m!.seq, body: m!.body, len: buf.readUInt32LE(0) };
};

describe('rtnetlink set-up requests', () => {
  it('sets a link up with an MTU, by name', () => {
    const m = one(setLinkRequest('tun0', { up: true, mtu: 1520 }, 7));
    expect(m).toMatchObject({ type: 16, flags: 0x1 | 0x4, seq: 7 });
    expect(m.body.readInt32LE(4)).toBe(0); // ifi_index: by name
    expect(m.body.readUInt32LE(8)).toBe(1); // ifi_flags IFF_UP
    expect(m.body.readUInt32LE(12)).toBe(1); // ifi_change IFF_UP
    const a = attributes(m.body, 16);
    expect(a.get(3)!.toString()).toBe('tun0\0');
    expect(a.get(4)!.readUInt32LE(0)).toBe(1520);
    // Only the MTU: the flags are not touched.
    const mtuOnly = one(setLinkRequest('tun0', { mtu: 1500 }, 8));
    expect(mtuOnly.body.readUInt32LE(8)).toBe(0);
    expect(mtuOnly.body.readUInt32LE(12)).toBe(0);
  });

  it('adds an IPv6 address without duplicate address detection, local and address the same', () => {
    const m = one(newAddressRequest({ family: 'inet6', address: 'fd3d:a0b:17d6::1', prefixLen: 48, ifindex: 2, nodad: true }, 3));
    expect(m).toMatchObject({ type: 20, flags: 0x1 | 0x4 | 0x400 | 0x200 });
    expect([m.body[0], m.body[1], m.body[2], m.body[3], m.body.readUInt32LE(4)]).toEqual([10, 48, 0x02, 0, 2]);
    const a = attributes(m.body, 8);
    const addr = Buffer.from('fd3d0a0b17d600000000000000000001', 'hex');
    expect(a.get(2)).toEqual(addr);
    expect(a.get(1)).toEqual(addr);
    expect(a.get(8)!.readUInt32LE(0)).toBe(0x02);
  });

  it('adds an IPv4 address with no flags', () => {
    const m = one(newAddressRequest({ family: 'inet', address: '192.168.0.1', prefixLen: 16, ifindex: 5 }, 3));
    expect([m.body[0], m.body[1], m.body[2]]).toEqual([2, 16, 0]);
    const a = attributes(m.body, 8);
    expect([...a.get(2)!]).toEqual([192, 168, 0, 1]);
    expect(a.has(8)).toBe(false);
  });

  it('replaces a route through a gateway in the main table, and an on-link one with link scope', () => {
    const via = one(replaceRouteRequest({ family: 'inet', prefix: '192.0.2.0', prefixLen: 24, ifindex: 2, gateway: '192.168.0.1' }, 1));
    expect(via).toMatchObject({ type: 24, flags: 0x1 | 0x4 | 0x400 | 0x100 });
    // family, dst_len, src_len, tos, table, protocol, scope, type
    expect([...via.body.subarray(0, 8)]).toEqual([2, 24, 0, 0, 254, 3, 0, 1]);
    const a = attributes(via.body, 12);
    expect([...a.get(1)!]).toEqual([192, 0, 2, 0]);
    expect(a.get(4)!.readUInt32LE(0)).toBe(2);
    expect([...a.get(5)!]).toEqual([192, 168, 0, 1]);
    const onLink = one(replaceRouteRequest({ family: 'inet', prefix: '192.168.0.9', prefixLen: 32, ifindex: 2 }, 1));
    expect(onLink.body[6]).toBe(253);
    expect(attributes(onLink.body, 12).has(5)).toBe(false);
  });

  it('reads a route reply: the table from RTA_TABLE when present', () => {
    const body = Buffer.alloc(12 + 8 + 20);
    body.writeUInt8(10, 0);
    body.writeUInt8(128, 1);
    body.writeUInt8(252, 4); // RT_TABLE_COMPAT in the header...
    body.writeUInt16LE(8, 12);
    body.writeUInt16LE(15, 14);
    body.writeUInt32LE(255, 16); // ...and the real table in RTA_TABLE
    body.writeUInt16LE(20, 20);
    body.writeUInt16LE(1, 22);
    Buffer.alloc(16, 0xab).copy(body, 24);
    expect(parseRoute(body)).toEqual({ table: 255, dst: Buffer.alloc(16, 0xab), dstLen: 128 });
  });
});

describe('a run network plan as set-up steps', () => {
  const v4: NetworkPlan = { wireFamily: 'inet', localIp: '192.168.0.1', prefixLen: 16, gatewayIp: '192.168.0.1', remotePrefix: '192.0.2.1/32', mtu: 1500 };
  const v6: NetworkPlan = {
    wireFamily: 'inet6', localIp: 'fd3d:a0b:17d6::1', prefixLen: 48, gatewayIp: 'fd3d:a0b:17d6:8888::1', remotePrefix: 'fd3d:fa7b:d17d::1/128', mtu: 1520,
  };

  function recorder(fail?: string): { calls: string[]; net: NetConfigCalls } {
    const calls: string[] = [];
    const rec = (name: string) => (arg: unknown, more?: unknown) => {
      const text = `${name} ${JSON.stringify(arg)}${more === undefined ? '' : ` ${JSON.stringify(more)}`}`;
      calls.push(text);
      if (fail && text.includes(fail)) throw new RtnetlinkError('route replace 192.0.2.1/32 dev tun0 via 192.168.0.1', 22);
    };
    return {
      calls,
      net: {
        setLink: rec('setLink') as NetConfigCalls['setLink'],
        addAddress: rec('addAddress') as NetConfigCalls['addAddress'],
        replaceRoute: rec('replaceRoute') as NetConfigCalls['replaceRoute'],
        hasLocalRoute: ((family: string, addr: string) => { calls.push(`hasLocalRoute ${family} ${addr}`); return true; }) as NetConfigCalls['hasLocalRoute'],
      },
    };
  }

  it('IPv4 with the gateway as the local address: no on-link route', () => {
    expect(setupSteps(v4, 'tun0').map((s) => s.command)).toEqual([
      'link set dev lo up', 'link set dev tun0 mtu 1500', 'link set dev tun0 up',
      'addr add 192.168.0.1/16 dev tun0', 'route replace 192.0.2.1/32 dev tun0 via 192.168.0.1',
    ]);
  });

  it('IPv6: nodad, the gateway on-link first, then waits for the local route', () => {
    const { calls, net } = recorder();
    configureNamespace(v6, 'tun0', net);
    expect(calls).toEqual([
      'setLink "lo" {"up":true}',
      'setLink "tun0" {"mtu":1520}',
      'setLink "tun0" {"up":true}',
      'addAddress {"family":"inet6","address":"fd3d:a0b:17d6::1","prefixLen":48,"dev":"tun0","nodad":true}',
      'replaceRoute {"family":"inet6","prefix":"fd3d:a0b:17d6:8888::1","prefixLen":128,"dev":"tun0"}',
      'replaceRoute {"family":"inet6","prefix":"fd3d:fa7b:d17d::1","prefixLen":128,"dev":"tun0","gateway":"fd3d:a0b:17d6:8888::1"}',
      'hasLocalRoute inet6 fd3d:a0b:17d6::1',
    ]);
  });

  it('a refused step is one line naming the command and the error', () => {
    const { net } = recorder('"gateway"');
    expect(() => configureNamespace(v4, 'tun0', net)).toThrow(NetSetupError);
    try {
      configureNamespace(v4, 'tun0', net);
    } catch (e) {
      expect((e as Error).message).toBe('configuring the namespace failed: route replace 192.0.2.1/32 dev tun0 via 192.168.0.1: Invalid argument');
      expect((e as Error).message).not.toContain('\n');
    }
  });
});
