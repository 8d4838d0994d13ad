/**
 * `npm run bench [-- suite ...]`: runs benchmark suites and prints one JSON report.
 * Every figure stands next to a baseline measured in the same run (the machine is shared
 * and noisy), so the ratio is what to read, not the absolute number.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface BenchSuite {
  name: string;
  description: string;
  run(): Promise<Record<string, unknown>>;
}

type SuiteLoader = () => BenchSuite;

// Loaded on demand: a suite pulls in its clients only when it runs.
const suites: Record<string, SuiteLoader> = {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  streams: () => (require('./streams') as { streamsBench: BenchSuite }).streamsBench,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  'runtime-redis': () => (require('./runtime/redisHelpers') as { redisHelpersBench: BenchSuite }).redisHelpersBench,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  runtime: () => (require('./runtime') as { runtimeBench: BenchSuite }).runtimeBench,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ingest: () => (require('./ingest') as { ingestBench: BenchSuite }).ingestBench,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  schemas: () => (require('./schemas') as { schemasBench: BenchSuite }).schemasBench,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  processors: () => (require('./processors') as { processorsBench: BenchSuite }).processorsBench,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  e2e: () => (require('./e2e') as { e2eBench: BenchSuite }).e2eBench,
};

async function main(): Promise<void> {
  const requested = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const names = requested.length > 0 ? requested : Object.keys(suites);
  for (const name of names) {
    if (!suites[name]) {
      console.error(`unknown benchmark suite "${name}"; known: ${Object.keys(suites).join(', ')}`);
      process.exit(2);
    }
  }
  const report: Record<string, unknown> = {
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    startedAt: new Date().toISOString(),
    suites: {},
  };
  for (const name of names) {
    const loader = suites[name];
    if (!loader) continue;
    const suite = loader();
    console.error(`bench: ${suite.name}: ${suite.description}`);
    (report.suites as Record<string, unknown>)[name] = await suite.run();
  }
  const json = JSON.stringify(report, null, 2);
  const dir = path.join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `bench-${names.join('-')}.json`), json);
  console.log(json);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
