/**
 * The line a pool worker writes to stderr when it fails outside any run's
 * handling and ends; a microVM guest's stderr is its console, where the
 * host watches for it (backend/microvm/vm-pool.ts).
 */
export const WORKER_FATAL = 'tundrill pool worker: ';
