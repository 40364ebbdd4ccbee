/**
 * What the benchmark reads from a worker's event trace (TUNDRILL_TRACE=1):
 * the lines are `[trace <µs>us] <text>`, the µs on the script's clock (the
 * monotonic clock the addon stamps packets with, zero at the script's
 * start), so they can be set against packet stamps.
 */

export interface SniffLatency {
  /** C stamp (reader thread read the packet from tun0) to the engine holding it, µs. */
  stampToEngineUsecs: number;
  /**
   * Same, but counted from when the engine was ready for it: the later of
   * the stamp and the start of the engine's receive() call, µs.
   */
  readyToEngineUsecs: number;
}

const LINE = /^\[trace (-?\d+)us\] (.*)$/;
const SNIFFED = /^sniffed packet stamped (-?\d+)us$/;
const PHASE = /^phase (.+) \(([\d.]+) ms since process start(?:, [\d.]+ ms of this process's CPU)?\)$/;

function* traceLines(output: string): Generator<[number, string]> {
  for (const line of output.split('\n')) {
    const m = LINE.exec(line.trim());
    if (m) yield [Number(m[1]), m[2]!];
  }
}

/** The outbound packets the engine took, with their latencies. */
export function sniffLatencies(output: string): SniffLatency[] {
  const out: SniffLatency[] = [];
  let receiveAt = -Infinity;
  for (const [t, text] of traceLines(output)) {
    if (text === 'receive') {
      receiveAt = t;
      continue;
    }
    const m = SNIFFED.exec(text);
    if (!m) continue;
    const stamp = Number(m[1]);
    out.push({ stampToEngineUsecs: t - stamp, readyToEngineUsecs: t - Math.max(stamp, receiveAt) });
  }
  return out;
}

/** The run's phases (`phase <name>` trace lines): ms since the worker process started. */
export function phaseTimes(output: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [, text] of traceLines(output)) {
    const m = PHASE.exec(text);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}
