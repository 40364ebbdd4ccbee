#!/usr/bin/env node
import { main } from '../dist/cli/main.js';
import { exitAfterDrain, reportUnexpected } from '../dist/cli/failure.js';

main(process.argv.slice(2)).then(
  (code) => exitAfterDrain(code),
  (err) => {
    process.stderr.write(`${reportUnexpected(err)}\n`);
    return exitAfterDrain(3);
  },
);
