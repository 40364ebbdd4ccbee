#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`tundrill: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exit(3);
  },
);
