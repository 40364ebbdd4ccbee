/**
 * Before the clock starts, the packet runner runs the code of every packet
 * line once on a copy (an outbound packet checked against itself, an
 * inbound one mapped and framed), so that the script's first packets do
 * not pay for the first run of that code. That dry run must leave no
 * trace: nothing written, no capture record or note, no event time, no
 * socket under test, nothing in the event log.
 */
import { describe, expect, it } from 'vitest';
import { nowNs, useNativeBinding } from '../../src/native/addon.js';
import { finalizeConfig } from '../../src/engine/config.js';
import { NetDevice } from '../../src/engine/netdev.js';
import { PacketRunner } from '../../src/engine/run-packet.js';
import { FdTable } from '../../src/engine/sockets.js';
import { newRunContext, RunClock } from '../../src/engine/state.js';
import { CaptureLog } from '../../src/evidence/capture-log.js';
import { EventLog } from '../../src/engine/event-log.js';
import { VNET_FRAMING } from '../../src/backend/tun-device.js';
import type { DeviceIo } from '../../src/backend/system-under-test.js';
import { parseScript } from '../../src/script/parser.js';
import { fakeNativeBinding } from '../fakes/native-binding.js';

describe('the dry run of the packet lines before the clock starts', () => {
  it('records nothing and leaves the run as it was', () => {
    useNativeBinding(fakeNativeBinding());
    const script = parseScript([
      '0 < S 0:0(0) win 1000 <mss 1000,sackOK,TS val 100 ecr 0,nop,wscale 7>',
      '+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 200 ecr 100,nop,wscale 8>',
      '+.01 < . 1:1(0) ack 1 win 1000',
      '+0 > P. 1:11(10) ack 1',
      '+0 > F. 11:11(0) ack 1 <nop,nop,TS val 300 ecr 100>',
    ].join('\n'), { path: 'warm.pkt' });
    const clock = new RunClock({ nowNs });
    const ctx = newRunContext({ config: finalizeConfig({}), script, displayPath: 'warm.pkt', scriptDir: '/tmp', fds: new FdTable(), clock });
    ctx.eventLog = new EventLog();
    const capture = new CaptureLog();
    const io: DeviceIo = {
      framing: VNET_FRAMING,
      readerStart: () => ({ stop: () => [], take: () => [], waitFor: () => 0 }),
      write: () => { throw new Error('the dry check writes nothing'); },
    };
    const dev = new NetDevice(io, capture, () => { throw new Error('the dry check hooks nothing'); });
    dev.start();
    const runner = new PacketRunner(ctx, dev, capture, { ephemeralPort: () => 40000 });
    runner.prebuild(ctx.events);
    // Every event begun, as if the run were under way: a time noted for any would show.
    for (const ev of ctx.events) ctx.eventLog.begin(ev, ctx.config, 0);
    const logBefore = JSON.stringify(ctx.eventLog.records);
    runner.warmPackets(ctx.events);
    expect(capture.records).toEqual([]);
    expect(ctx.events.map((e) => e.actualUsecs)).toEqual(ctx.events.map(() => undefined));
    expect(ctx.fds.socketUnderTest).toBeUndefined();
    expect(ctx.fds.entries).toEqual([]);
    expect(JSON.stringify(ctx.eventLog.records)).toBe(logBefore);
  });
});
