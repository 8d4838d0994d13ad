#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `sluice run --handler ./my-handler.ts` can load
// users' TypeScript handlers the same way it loads ours.
require('tsx/cjs');
require('../cli/main.ts');
