import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SS_ARGS, runSsOnce, startSsSampler, type SsSample } from '../../src/evidence/ss-sampler.js';
import { parseTimeline, readTimeline, TimelineWriter, toJsonLine } from '../../src/evidence/timeline.js';

/**
 * A private namespace holding a listener on 127.0.0.1:8080 and one
 * established connection from port 40000; ss is run in it through nsenter.
 */
let holder: ChildProcessWithoutNullStreams;
let nsArgs: (extra?: string[]) => string[];

beforeAll(async () => {
  const py = [
    'import socket, sys',
    "l = socket.socket(); l.bind(('127.0.0.1', 8080)); l.listen()",
    "c = socket.socket(); c.bind(('127.0.0.1', 40000)); c.connect(('127.0.0.1', 8080)); a, _ = l.accept()",
    "c.sendall(b'x' * 100)",
    "print('ready', flush=True)",
    'sys.stdin.read()',
  ].join('\n');
  holder = spawn('unshare', ['--net', 'sh', '-c', `ip link set lo up && exec python3 -c "${py}"`]);
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`namespace holder exited with ${code}`)));
  });
  const pid = holder.pid!;
  nsArgs = (extra = []) => [`--net=/proc/${pid}/ns/net`, 'ss', ...DEFAULT_SS_ARGS, ...extra];
});

afterAll(() => {
  holder?.stdin.end();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until `cond` holds (a busy machine makes ss slow; the test waits for what it checks, not for a time). */
async function until(cond: () => boolean, limitMs = 20_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

describe('runSsOnce', () => {
  it('returns the output with monotonic times around it', async () => {
    const before = process.hrtime.bigint();
    const r = await runSsOnce(nsArgs(), 'nsenter');
    expect(r.tsNs).toBeGreaterThanOrEqual(before);
    expect(r.endNs).toBeGreaterThan(r.tsNs);
    expect(r.text).toMatch(/^LISTEN +0 +\d+ +127\.0\.0\.1:8080 /m);
    expect(r.text).toMatch(/^ESTAB +0 +0 +127\.0\.0\.1:40000 +127\.0\.0\.1:8080 /m);
  });

  it('reports a missing program and a failing one', async () => {
    await expect(runSsOnce([], 'tundrill-no-such-ss')).rejects.toThrow(/cannot run tundrill-no-such-ss/);
    await expect(runSsOnce(['--no-such-option'], 'ss')).rejects.toThrow(/ss --no-such-option exited with status/);
  });
});

describe('startSsSampler', () => {
  it('samples on a grid, never two ss at once, stamps on the monotonic clock', async () => {
    const samples: SsSample[] = [];
    const errors: Error[] = [];
    const s = startSsSampler({ intervalMs: 40, command: 'nsenter', args: nsArgs(), onSample: (x) => samples.push(x), onError: (e) => errors.push(e) });
    await until(() => samples.length >= 6);
    await s.stop();
    const n = samples.length;
    await sleep(100);
    expect(samples.length).toBe(n); // nothing after stop()
    expect(errors).toEqual([]);
    expect(n).toBeGreaterThanOrEqual(6);
    expect(s.samples).toBe(n);
    for (let k = 1; k < n; k++) {
      expect(samples[k]!.tsNs).toBeGreaterThanOrEqual(samples[k - 1]!.endNs);
      const gapMs = Number(samples[k]!.tsNs - samples[k - 1]!.tsNs) / 1e6;
      expect(gapMs).toBeGreaterThan(30);
    }
    const est = samples[0]!.sockets.find((x) => x.local.port === 40000)!;
    expect(est).toMatchObject({ state: 'ESTAB', peer: { port: 8080 }, info: { bytesSent: 100 } });
    expect(samples[0]!.sockets.some((x) => x.state === 'LISTEN')).toBe(true); // -a is in the defaults
    expect(samples[0]!.text).toBeUndefined();
  });

  it('ss filter arguments and predicates; raw text on request; a final sample', async () => {
    const byArgs: SsSample[] = [];
    const a = startSsSampler({
      intervalMs: 1000,
      command: 'nsenter',
      args: nsArgs(),
      filter: ['sport', '=', ':40000'],
      keepText: true,
      onSample: (x) => byArgs.push(x),
    });
    await a.stop();
    expect(byArgs.length).toBe(1); // the first sample is taken at once; stop() waited for it
    expect(byArgs[0]!.sockets.map((x) => x.local.port)).toEqual([40000]);
    expect(byArgs[0]!.text).toMatch(/127\.0\.0\.1:40000/);

    const byPred: SsSample[] = [];
    const b = startSsSampler({
      intervalMs: 1000,
      command: 'nsenter',
      args: nsArgs(),
      filter: (x) => x.state === 'LISTEN',
      finalSample: true,
      onSample: (x) => byPred.push(x),
    });
    await sleep(20);
    await b.stop();
    expect(byPred.length).toBe(2);
    for (const smp of byPred) expect(smp.sockets.map((x) => x.state)).toEqual(['LISTEN']);
  });

  it('errors go to onError, or to .errors, and sampling goes on', async () => {
    const seen: Error[] = [];
    const a = startSsSampler({ intervalMs: 20, command: 'tundrill-no-such-ss', onSample: () => {}, onError: (e) => seen.push(e) });
    await until(() => seen.length >= 2);
    await a.stop();
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen[0]!.message).toMatch(/cannot run tundrill-no-such-ss/);

    const b = startSsSampler({ intervalMs: 20, command: 'ss', args: ['--no-such-option'], onSample: () => {} });
    await until(() => b.errors.length >= 1);
    await b.stop();
    expect(b.errors.length).toBeGreaterThanOrEqual(1);
    expect(b.errors[0]!.message).toMatch(/exited with status/);

    const c = startSsSampler({
      intervalMs: 20,
      command: 'nsenter',
      args: nsArgs(),
      onSample: () => {
        throw new Error('handler broke');
      },
    });
    await until(() => c.samples >= 2 && c.errors.length >= 1);
    await c.stop();
    expect(c.samples).toBeGreaterThanOrEqual(2);
    expect(c.errors[0]!.message).toMatch(/ss sample handler failed: handler broke/);
  });

  it('rejects a non-positive interval', () => {
    expect(() => startSsSampler({ intervalMs: 0, onSample: () => {} })).toThrow(/interval must be positive/);
  });
});

describe('TimelineWriter', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tundrill-timeline-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes JSON lines with bigints as strings and reads them back', () => {
    const path = join(dir, 'a.jsonl');
    const w = new TimelineWriter(path);
    w.write({ tsNs: 12345678901234567890n, endNs: 12345678901234567999n, sockets: [] });
    w.write({ tsNs: 2n, note: 'x' });
    expect(w.records).toBe(2);
    w.close();
    w.close();
    expect(w.closed).toBe(true);
    expect(() => w.write({})).toThrow(/closed/);
    const text = readFileSync(path, 'utf8');
    expect(text).toBe('{"tsNs":"12345678901234567890","endNs":"12345678901234567999","sockets":[]}\n{"tsNs":"2","note":"x"}\n');
    expect(readTimeline(path)).toEqual([
      { tsNs: 12345678901234567890n, endNs: 12345678901234567999n, sockets: [] },
      { tsNs: 2n, note: 'x' },
    ]);
    expect(toJsonLine({ big: 1n })).toBe('{"big":"1"}\n');
  });

  it('records what a sampler gives it', async () => {
    const path = join(dir, 'b.jsonl');
    const w = new TimelineWriter(path);
    const s = startSsSampler({ intervalMs: 30, command: 'nsenter', args: nsArgs(), onSample: (x) => w.write(x) });
    await sleep(100);
    await s.stop();
    w.close();
    const recs = readTimeline<SsSample>(path);
    expect(recs.length).toBe(s.samples);
    expect(typeof recs[0]!.tsNs).toBe('bigint');
    expect(recs[0]!.sockets.find((x) => x.local.port === 40000)).toMatchObject({ state: 'ESTAB', info: { bytesSent: 100 } });
  });

  it('errors are clear', () => {
    expect(() => new TimelineWriter(join(dir, 'no/such/dir.jsonl'))).toThrow(/cannot create timeline file/);
    expect(() => parseTimeline('{"a":1}\nnot json\n')).toThrow(/timeline line 2/);
  });
});
