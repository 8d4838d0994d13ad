#!/usr/bin/env node
// Runs a TypeScript entry point (benchmarks, scripts) through tsx: node bin/run-ts.js file.ts [args]
require('tsx/cjs');
const path = require('node:path');
const [, , entry, ...rest] = process.argv;
if (!entry) {
  console.error('usage: node bin/run-ts.js <file.ts> [args...]');
  process.exit(2);
}
process.argv = [process.argv[0], path.resolve(entry), ...rest];
require(path.resolve(entry));
