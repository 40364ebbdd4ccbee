/**
 * How a worker process is started so that nothing it starts outlives it,
 * and it does not outlive the CLI:
 *
 *   setpriv --pdeathsig KILL -- unshare --net --mount --pid --kill-child=KILL --propagation private -- node worker
 *
 * - `setpriv --pdeathsig KILL`: unshare dies with the CLI, even when the CLI
 *   is killed with SIGKILL;
 * - `unshare --kill-child`: the worker dies with unshare;
 * - `--pid`: the worker is process 1 of a PID namespace of its own, so when
 *   it dies the kernel kills every process it started (a backtick `sleep`,
 *   an `ss`) however it dies;
 * - `--net` an empty network namespace; `--mount` a mount namespace of its
 *   own for the private /tmp of every run.
 *
 * The worker is started in a process group of its own (`detached`), so a
 * Ctrl-C at the terminal reaches only the CLI, which stops the workers in
 * order; signals go to the whole group.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

let canPdeathsig: boolean | null = null;

/** setpriv --pdeathsig is in util-linux 2.33 and later. */
function hasPdeathsig(): boolean {
  if (canPdeathsig === null) canPdeathsig = spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' }).status === 0;
  return canPdeathsig;
}

/** Every worker process alive, for the CLI's orderly stop. */
const live = new Set<ChildProcess>();

export function spawnWorker(nodeArgs: string[], opts: SpawnOptions): ChildProcess {
  const unshare = ['unshare', '--net', '--mount', '--propagation', 'private', '--pid', '--kill-child=KILL', '--', process.execPath, ...nodeArgs];
  const [cmd, ...args] = hasPdeathsig() ? ['setpriv', '--pdeathsig', 'KILL', '--', ...unshare] : unshare;
  const child = spawn(cmd!, args, { ...opts, detached: true });
  live.add(child);
  child.once('close', () => live.delete(child));
  return child;
}

/** Signal a worker and everything in its process group. */
export function signalWorker(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      // gone already
    }
  }
}

/** Signal every live worker. */
export function signalAllWorkers(sig: NodeJS.Signals): void {
  for (const c of live) signalWorker(c, sig);
}

export function liveWorkers(): number {
  return live.size;
}
