#!/usr/bin/env node
// A stop signal that arrives while Node is still loading the CLI is kept
// for the runner (src/runner/stop.ts takes it over), so a `run` or
// `conformance` stopped that early still writes its reports and exits with
// the stop's status; other commands end as the signal would end them.
const early = { signal: null, handler: null };
globalThis[Symbol.for('tundrill.earlyStop')] = early;
const keeps = ['run', 'conformance'].includes(process.argv[2] ?? '');
early.handler = (sig) => {
  if (keeps) {
    early.signal ??= sig;
    return;
  }
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(s, early.handler);
  process.kill(process.pid, sig);
};
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, early.handler);

const { main } = await import('../dist/cli/main.js');
const { exitAfterDrain, reportUnexpected } = await import('../dist/cli/failure.js');

main(process.argv.slice(2)).then(
  (code) => exitAfterDrain(code),
  (err) => {
    process.stderr.write(`${reportUnexpected(err)}\n`);
    return exitAfterDrain(3);
  },
);
