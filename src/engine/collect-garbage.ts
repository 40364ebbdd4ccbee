/**
 * Garbage collection before a run's clock starts, so that no collection
 * pauses an event. A young-generation collection empties the nursery every
 * time (1-3 ms of CPU); a full collection (10-16 ms of CPU, half of it on
 * V8's helper threads) runs only when the old generation grew by more than
 * FULL_GROWTH_BYTES since the last full one. V8 starts marking the old
 * generation on its own only once it has grown by at least 8 MB past what
 * the last full collection left, so with half that as the limit the run
 * never meets one, and a pool worker that runs one script after another
 * stops paying a full collection for every run: in a corpus that was a
 * third of each run's CPU outside the script's own commands.
 */
export const FULL_GROWTH_BYTES = 4 * 1024 * 1024;

type GcFn = (opts?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

export interface Collector {
  /** Collect before a run; says which collection ran ('none' without --expose-gc). */
  beforeRun(): 'full' | 'young' | 'none';
}

export function garbageCollector(
  gc: GcFn | undefined = (globalThis as { gc?: GcFn }).gc,
  heapUsed: () => number = () => process.memoryUsage().heapUsed,
): Collector {
  let afterFull: number | null = null;
  return {
    beforeRun() {
      if (!gc) return 'none';
      if (afterFull !== null) {
        gc({ type: 'minor' });
        if (heapUsed() - afterFull <= FULL_GROWTH_BYTES) return 'young';
      }
      gc();
      afterFull = heapUsed();
      return 'full';
    },
  };
}

/** The worker's collector: one per process, so growth is counted across its runs. */
export const processCollector: Collector = garbageCollector();
