/**
 * `npm run bench -- processors`: aggregate into Redis vs one HINCRBY round trip per reading,
 * storage into PostgreSQL vs single-row inserts, alert rule evaluation. Each part lives in its
 * own file and reports its figure next to the baseline it measured in the same run.
 * `SLUICE_BENCH_PARTS=aggregate,storage` runs a subset.
 */
import type { BenchSuite } from '../index';

type PartLoader = () => { run(): Promise<Record<string, unknown>> };

/* eslint-disable @typescript-eslint/no-require-imports -- parts load on demand, like the suites */
const parts: Record<string, PartLoader> = {
  aggregate: () => (require('./aggregateBench') as { aggregateBench: { run(): Promise<Record<string, unknown>> } }).aggregateBench,
  storage: () => (require('./storageBench') as { storageBench: { run(): Promise<Record<string, unknown>> } }).storageBench,
  alerts: () => (require('./alertsBench') as { alertsBench: { run(): Promise<Record<string, unknown>> } }).alertsBench,
};
/* eslint-enable @typescript-eslint/no-require-imports */

export const processorsBench: BenchSuite = {
  name: 'processors',
  description: 'aggregate (vs HINCRBY per reading), storage (vs single-row INSERT), alert evaluation',
  async run() {
    const wanted = process.env.SLUICE_BENCH_PARTS?.split(',').map((part) => part.trim()).filter(Boolean) ?? Object.keys(parts);
    const results: Record<string, unknown> = {};
    for (const name of wanted) {
      const load = parts[name];
      if (!load) throw new Error(`unknown processors bench part "${name}"; known: ${Object.keys(parts).join(', ')}`);
      console.error(`bench: processors/${name}`);
      results[name] = await load().run();
    }
    return results;
  },
};
