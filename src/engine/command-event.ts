/**
 * Backtick command events (packetdrill's run_command_event): at the event's
 * time, run the command in the script's folder; a command that fails fails
 * the script, and what it printed goes to the run's log.
 */
import { waitUntil } from './clock-wait.js';
import { TestFailure } from './errors.js';
import { runShellCommand } from './run-command.js';
import { atCommandPriority } from './priority.js';
import { checkEventTime } from './run.js';
import type { RunContext, RunEvent } from './state.js';

export async function runCommandEvent(ctx: RunContext, ev: RunEvent, log: (line: string) => void): Promise<void> {
  if (ev.ast.type !== 'command') return;
  const woke = await waitUntil(ctx.clock.liveNs(ev.times.usecs));
  if (ctx.numEvents > 0) checkEventTime(ctx, ev, woke);
  const commandLine = ev.ast.command.commandLine;
  const r = atCommandPriority(() => runShellCommand(commandLine, { cwd: ctx.scriptDir }));
  if (r.stdout) log(r.stdout.trimEnd());
  if (r.stderr) log(r.stderr.trimEnd());
  if (!r.ok) {
    throw new TestFailure('command', ev.line, `error executing \`${ev.ast.command.commandLine}\` command: ${r.error}`);
  }
}
