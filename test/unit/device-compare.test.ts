import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRunArgs, UsageError } from '../../src/cli/args.js';
import { PcapngWriter } from '../../src/evidence/pcapng.js';
import { compareScenarioVerdicts, formatCompareTable, packetsByLine } from '../../src/report/device-compare.js';
import { deviceSuffix } from '../../src/backend/devices.js';

const dir = mkdtempSync(join(tmpdir(), 'tundrill-compare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('device comparison', () => {
  it('flags a number only where devices that have it disagree', () => {
    const t = compareScenarioVerdicts('s', [
      { device: 'tun', pass: true, summary: 'ok', numbers: { fins: 7, 'tun only': 3, same: 1 } },
      { device: 'veth', pass: true, summary: 'ok', numbers: { fins: 1, same: 1 } },
    ]);
    const flag = Object.fromEntries(t.rows.map((r) => [r.what, r.differs]));
    expect(flag).toEqual({ verdict: false, summary: false, fins: true, 'tun only': false, same: false });
    const text = formatCompareTable(t);
    expect(text.split('\n')[0]).toBe('== scenario s');
    expect(text).toMatch(/^≠ +fins +7 +1$/m);
    expect(text).toMatch(/^ +tun only +3 +-$/m);
  });

  it('reads the packets of each script line from a capture, times from the script start', () => {
    const file = join(dir, 'x_ipv4.pcapng');
    const w = PcapngWriter.openSync(file, { monoToRealtimeOffsetNs: 1_000_000_000n, closeOnExit: false });
    w.write({ data: Buffer.alloc(20), tsNs: 5_000_000n, direction: 'in', comment: 'script line 3: < S 0:0(0) win 100' });
    w.write({ data: Buffer.alloc(20), tsNs: 6_500_000n, direction: 'out', comment: 'script line 4; > S. 0:0(0) ack 1 <mss 1460,TS val 12345 ecr 7>' });
    w.write({ data: Buffer.alloc(20), tsNs: 7_000_000n, direction: 'out', comment: 'not for the socket under test' });
    w.closeSync();
    writeFileSync(join(dir, 'x_ipv4.run.json'), JSON.stringify({ monoToRealtimeOffsetNs: '1000000000', clockStartNs: '4000000' }));
    const m = packetsByLine(file);
    expect([...m.keys()]).toEqual([3, 4]);
    expect(m.get(3)).toEqual([{ tMs: 1, text: '< S 0:0(0) win 100' }]);
    // The kernel's TS val is random per connection: left out of the comparison.
    expect(m.get(4)).toEqual([{ tMs: 2.5, text: '> S. 0:0(0) ack 1 <mss 1460,TS val * ecr 7>' }]);
  });

  it('--device takes one device, a list, or all', () => {
    const p = (v: string) => parseRunArgs(['--device', v, 'x.pkt'], { captureDir: '/tmp' }).devices;
    expect(parseRunArgs(['x.pkt'], { captureDir: '/tmp' }).devices).toEqual(['tun']);
    expect(p('veth')).toEqual(['veth']);
    expect(p('tun,tun-lazy')).toEqual(['tun', 'tun-lazy']);
    expect(p('all')).toEqual(['tun', 'tun-lazy', 'veth']);
    expect(() => p('loopback')).toThrow(UsageError);
    expect(deviceSuffix('tun')).toBe('');
    expect(deviceSuffix('veth')).toBe('_veth');
  });
});
