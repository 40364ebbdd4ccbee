/**
 * `%{ }%` code events (packetdrill's run_code_event): at the event's time,
 * read the socket under test's TCP_INFO, TCP_CC_INFO and SO_MEMINFO and keep
 * them with the block's text; the recorder runs all blocks after the script.
 */
import { waitUntil } from './clock-wait.js';
import { codeDataAssignments } from './code-data.js';
import { TestFailure } from './errors.js';
import type { CodeRecorder } from './run-code.js';
import { checkEventTime } from './run.js';
import type { RunContext, RunEvent } from './state.js';

export async function runCodeEvent(ctx: RunContext, ev: RunEvent, code: CodeRecorder): Promise<void> {
  if (ev.ast.type !== 'code') return;
  const woke = await waitUntil(ctx.clock.liveNs(ev.times.usecs));
  if (ctx.numEvents > 0) checkEventTime(ctx, ev, woke);
  const s = ctx.fds.socketUnderTest;
  if (!s || s.liveFd < 0) throw new TestFailure('code', ev.line, 'runtime error in code: no socket to use for code');
  const data = codeDataAssignments(s.liveFd);
  if (data.error) throw new TestFailure('code', ev.line, `runtime error in code: ${data.error}`);
  code.addData(data.assignments);
  code.addText(ev.line, ev.ast.code.text);
}
