/**
 * Garbage collection before a run's clock starts, so that no collection
 * pauses an event. A young-generation collection empties the nursery every
 * time (1-3 ms of CPU); a full collection (10-16 ms of CPU, half of it on
 * V8's helper threads) runs only when the old generation grew by more than
 * fullGrowthBytes() since the last full one. V8 starts marking the old
 * generation on its own once it has grown past what the last full
 * collection left by a step of 8 MB, or 2 MB when it saves memory (a small
 * machine, such as a 512 MB microVM guest); staying within 4 MB of the
 * last full collection (1 MB on a small machine) leaves a run at least
 * that much of its own before that. A pool worker that runs one script
 * after another thus stops paying a full collection for every run: in a
 * corpus that was a third of each run's CPU outside the script's own
 * commands. At 1 MB a worker still collected fully before one run in six
 * (10.6 ms each); at 4 MB, one in 35 (138 gtests runs, two workers: the
 * warm-up's CPU 11.7 against 9.2 ms a run, with one and two V8-started
 * marking steps of 2.3-2.5 ms right after a clock start, at 214-669 µs).
 *
 * On a machine with one CPU every run gets a full collection, as before:
 * there V8's marking threads, should they start mid-run, would take the
 * only CPU from the run, and CPU is not what limits runs one at a time.
 *
 * That growth is not the only start of a marking: the young collection
 * before a run moves what survives into the old generation, and the
 * warm-up after it allocates, and V8 sometimes began marking during the
 * warm-up. It then finished the marking with a pause of 2-3.5 ms (CPU
 * time of the engine's thread, more in wall time on a busy machine) at the
 * script's first allocations, 0.14-0.26 ms after the clock start: in one
 * run of both corpora, three runs of 680 (Node's gc performance entries:
 * a marking start 22-35 ms before the clock start, a full collection
 * right after it). So just before the clock start the collector asks
 * whether a marking is under way (beforeClock) and, if so, finishes it
 * there.
 */
import { availableParallelism, totalmem } from 'node:os';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/** Machines with less memory than this are small: V8 marks on its own after 2 MB of growth there. */
const SMALL_MACHINE_BYTES = 2 * 1024 * 1024 * 1024;

/** How much the old generation may grow between full collections on a machine with `memory` bytes. */
export function fullGrowthBytes(memory: number = totalmem()): number {
  return memory < SMALL_MACHINE_BYTES ? 1024 * 1024 : 4 * 1024 * 1024;
}

type GcFn = (opts?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

export interface Collector {
  /** Collect before a run; says which collection ran ('none' without --expose-gc). */
  beforeRun(): 'full' | 'young' | 'none';
  /**
   * Right before the clock start: finish a marking V8 began on its own
   * (a full collection), so that its last pause does not fall in the
   * script. Says whether it collected.
   */
  beforeClock(): Promise<'full' | 'none'>;
}

/** What Node reports of V8's collections: whether a marking of the old generation is under way. */
export interface MarkingWatch {
  /** Resolves once the collections that ended before the call are reported. */
  settle(): Promise<void>;
  /** Whether, of what was reported, the last marking begun has not ended in a full collection. */
  marking(): boolean;
}

const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Node's gc performance entries: kind NODE_PERFORMANCE_GC_INCREMENTAL when
 * V8 begins marking, NODE_PERFORMANCE_GC_MAJOR at a full collection (which
 * ends a marking). Node makes an entry in a task after the collection; two
 * turns of the event loop later it is in the observer's buffer.
 */
export function performanceMarkingWatch(): MarkingWatch {
  let marking = false;
  const note = (entries: readonly PerformanceEntry[]): void => {
    for (const e of entries) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) marking = true;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) marking = false;
    }
  };
  // Entries reach the callback or, when taken first, read().
  const observer = new PerformanceObserver((list) => note(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const read = (): void => note(observer.takeRecords());
  return {
    async settle() {
      await nextTurn();
      await nextTurn();
      read();
    },
    marking() {
      read();
      return marking;
    },
  };
}

export function garbageCollector(
  gc: GcFn | undefined = (globalThis as { gc?: GcFn }).gc,
  heapUsed: () => number = () => process.memoryUsage().heapUsed,
  cpus: number = availableParallelism(),
  growth: number = fullGrowthBytes(),
  watch: MarkingWatch | null = gc ? performanceMarkingWatch() : null,
): Collector {
  let afterFull: number | null = null;
  return {
    async beforeClock() {
      if (!gc || !watch) return 'none';
      await watch.settle();
      if (!watch.marking()) return 'none';
      gc();
      afterFull = heapUsed();
      return 'full';
    },
    beforeRun() {
      if (!gc) return 'none';
      if (afterFull !== null && cpus > 1) {
        gc({ type: 'minor' });
        if (heapUsed() - afterFull <= growth) return 'young';
      }
      gc();
      afterFull = heapUsed();
      return 'full';
    },
  };
}

/** The worker's collector: one per process, so growth is counted across its runs. */
export const processCollector: Collector = garbageCollector();
