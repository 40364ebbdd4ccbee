/**
 * Opens a real TUN inside a fresh network namespace. vitest stays in the
 * host namespace; a child process started with `unshare --net` runs the
 * native self-check (src/native/selfcheck.ts) and prints a JSON report.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SelfCheckReport } from '../../src/native/selfcheck.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function skipReason(): string | null {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (TUN devices and network namespaces)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  if (spawnSync('unshare', ['--version']).status !== 0) return 'no unshare(1)';
  if (spawnSync('ip', ['-V']).status !== 0) return 'no ip(8)';
  return null;
}

const reason = skipReason();
if (reason) console.warn(`skipping native TUN integration test: ${reason}`);

/** Node 20 cannot run TypeScript: transpile the two modules the child needs
 * next to each other, inside the package (so the addon finds the root). */
function transpileSelfCheck(outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'package.json'), '{ "type": "module" }\n');
  for (const name of ['addon', 'selfcheck']) {
    const source = readFileSync(path.join(root, 'src/native', `${name}.ts`), 'utf8');
    const out = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      fileName: `${name}.ts`,
    });
    writeFileSync(path.join(outDir, `${name}.js`), out.outputText);
  }
  return path.join(outDir, 'selfcheck.js');
}

describe.skipIf(reason !== null)('native addon with a real TUN in a network namespace', () => {
  const outDir = path.join(root, 'node_modules', '.cache', `tundrill-native-test-${process.pid}`);
  let script = '';

  beforeAll(() => {
    script = transpileSelfCheck(outDir);
  });
  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true });
  });

  it('reads the SYN of a connect(), answers with a RST, times writes, and exits cleanly', () => {
    const started = Date.now();
    const child = spawnSync('unshare', ['--net', process.execPath, script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const elapsedMs = Date.now() - started;
    if (child.stderr) console.log(child.stderr);
    expect(child.error, 'the child must exit by itself (no thread may hang it)').toBeUndefined();
    const lastLine = child.stdout.trim().split('\n').pop() ?? '';
    const report = JSON.parse(lastLine) as SelfCheckReport;
    if (!report.ok) console.log(report);
    expect(report.error).toBeUndefined();
    expect(child.status).toBe(0);

    expect(report.tunName).toBe('tun0');
    expect(report.connect).toEqual({ ret: '-1', errno: 'EINPROGRESS' });
    expect(report.syn!.flags).toBe(0x02);
    expect(report.syn!.dstPort).toBe(8080);
    expect(report.syn!.stampAfterConnectUs).toBeGreaterThanOrEqual(0);
    expect(report.syn!.stampAfterConnectUs).toBeLessThan(1_000_000);
    expect(report.rst).toMatchObject({ writeRet: 40, soError: 'ECONNREFUSED' });
    expect(report.packetsSeen).toBeGreaterThanOrEqual(1);
    // A SYN left unread for 50 ms carries the kernel's time, not the read's.
    const k = report.kernelStamp!;
    expect(k.stamped).toBeGreaterThanOrEqual(1);
    expect(k.readAfterConnectUs).toBeGreaterThanOrEqual(50_000);
    expect(k.stampAfterConnectUs).toBeGreaterThanOrEqual(0);
    expect(k.stampAfterConnectUs).toBeLessThan(k.readAfterConnectUs - 40_000);
    // Sent before the reader started, it waited for the reader: not counted as the reader's lag.
    expect(k.lagCount).toBe(0);
    expect(k.lagMaxUs).toBe(0);
    // The engine's wait read SYN-ACKs from the TUN itself (at the engine's
    // real-time level, the reader thread wakes on another CPU, later);
    // none was lost, doubled, reordered or left without the kernel's stamp.
    const d = report.directRead!;
    expect(d.ports).toEqual(Array.from({ length: 20 }, (_, i) => 9000 + i));
    if (d.realtime) expect(d.directReads).toBeGreaterThanOrEqual(1);
    expect(d.stamped).toBe(20);
    // Packets that came after the wait's spin: the wait slept in poll() on
    // the TUN and read each itself (the reader thread parked meanwhile),
    // once each; a call ending 8 ms in cut a wait for nothing short once
    // the event loop was free to be watched (after 3 ms), and a quiet wait
    // lasted to its deadline (20 ms).
    const sw = report.sleepWait!;
    expect(sw.delivered).toBe(5);
    expect(sw.directReads).toBeGreaterThanOrEqual(1);
    expect(sw.loopCutMs).toBeGreaterThanOrEqual(3);
    expect(sw.loopCutMs).toBeLessThan(1000);
    expect(sw.quietMs).toBeGreaterThanOrEqual(19.9);
    expect(sw.quietMs).toBeLessThan(1000);
    // Held off the TUN, the reader thread left the SYN-ACKs to the engine's
    // wait; a hold ended with the engine's next wait, or when it ran out.
    const h = report.hold!;
    expect(h.deliveredWhileHeld).toBe(0);
    expect(h.readByWait).toBe(5);
    expect(h.afterWaitEndedMs).toBeLessThan(1000);
    expect(h.afterShortHoldMs).toBeGreaterThanOrEqual(h.holdMs - 1);
    expect(h.afterShortHoldMs).toBeLessThan(1000);
    expect(h.stamped).toBe(7);
    // A burst write made each write in order, each packet reached the
    // kernel, and it stopped after a write past its limit and at a refused frame.
    const b = report.burstWrite!;
    expect(b.stampsUs).toHaveLength(3);
    expect(b.stampsUs[1]!).toBeGreaterThan(0);
    expect(b.stampsUs[2]!).toBeGreaterThan(b.stampsUs[1]!);
    expect(b.synAcks).toBe(3);
    expect(b.writtenPastStop).toBe(1);
    expect(b.refused).toEqual({ written: 2, ret: -1, errno: 'EINVAL' });
    // stop() joined the reader thread.
    expect(report.threadsAfterStop).toBe(report.threadsBeforeStop! - 1);

    const t = report.tunWriteAt!;
    const o = report.tunWriteAtSubmittedOnTime!;
    console.log(
      `tunWriteAt timing error (actual - deadline) over ${t.count} writes: ` +
        `min ${t.minUs}us p50 ${t.p50Us}us p99 ${t.p99Us}us max ${t.maxUs}us; ` +
        `over the ${o.count} requested before their deadline: p50 ${o.p50Us}us p99 ${o.p99Us}us max ${o.maxUs}us; ` +
        `SYN stamped ${report.syn!.stampAfterConnectUs.toFixed(1)}us after connect(); ` +
        `RST to ECONNREFUSED ${report.rst!.refusedAfterUs.toFixed(1)}us; ` +
        `${d.directReads} of 20 SYN-ACKs read by the engine's wait; ` +
        `asleep: ${sw.directReads} of 5 datagrams read by the wait, returned ${sw.returnAfterSendUs.map((u) => u.toFixed(0)).join(', ')}us after the kernel sent them, ` +
        `cut short after ${sw.loopCutMs.toFixed(1)} ms, quiet ${sw.quietMs.toFixed(1)} ms; ` +
        `held: SYN-ACK delivered ${h.afterWaitEndedMs.toFixed(1)} ms after the wait that ended the hold, ${h.afterShortHoldMs.toFixed(1)} ms into a ${h.holdMs} ms hold; child ran ${elapsedMs} ms`,
    );
    expect(t.count).toBe(200);
    expect(t.minUs).toBeGreaterThanOrEqual(0);
    expect(t.p50Us).toBeLessThan(1000);
    expect(o.count).toBeGreaterThan(100);
    expect(o.p99Us).toBeLessThan(5000);
  });
});
