/**
 * One function instance for pgConnectionDrops.test.ts, in a process of its own: it takes
 * commands as JSON lines on stdin, runs the real handlers with the events it is given and
 * answers each command with one JSON line on stdout (logs go to stderr). It catches nothing but
 * a handler's rejection, like the runtime: an unhandled 'error' event from a pg client ends the
 * process, and the test sees that as a crash.
 *
 *   node bin/run-ts.js test/processors/shared/pgDropWorker.ts   (settings in the environment)
 */
import readline from 'node:readline';
import { handler as alerts, closeAlertsConnections } from '../../../processors/alerts/handler';
import { PG_APPLICATION_NAMES } from '../../../processors/shared/pgConnections';
import { closeSharedResources, envSetting, sharedPgPool } from '../../../processors/shared/processorResources';
import type { ProcessorEvent } from '../../../processors/shared/streamRecords';
import { handler as storeAggregates } from '../../../processors/storage/aggregatesHandler';
import { handler as storeReadings } from '../../../processors/storage/readingsHandler';
import { handler as transform } from '../../../processors/transform/handler';

const WORKER_FUNCTIONS = {
  [PG_APPLICATION_NAMES.transform]: transform,
  [PG_APPLICATION_NAMES.storeReadings]: storeReadings,
  [PG_APPLICATION_NAMES.storeAggregates]: storeAggregates,
  [PG_APPLICATION_NAMES.alerts]: alerts,
} satisfies Record<string, (event: ProcessorEvent) => Promise<unknown>>;

export type WorkerFunction = keyof typeof WORKER_FUNCTIONS;

export type WorkerCommand =
  | { id: number; op: 'invoke'; fn: WorkerFunction; event: ProcessorEvent }
  /** the connections each function's pool holds now */
  | { id: number; op: 'pools' }
  | { id: number; op: 'close' };

export type WorkerAnswer =
  | { id: number; ok: true; pools?: Record<string, { total: number; idle: number }> }
  | { id: number; ok: false; error: string };

function answer(message: WorkerAnswer): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function poolCounts(): Record<string, { total: number; idle: number }> {
  const url = envSetting('SLUICE_PG_URL');
  return Object.fromEntries(Object.keys(WORKER_FUNCTIONS).map((name) => {
    const pool = sharedPgPool(url, name);
    return [name, { total: pool.totalCount, idle: pool.idleCount }];
  }));
}

async function run(command: WorkerCommand): Promise<void> {
  switch (command.op) {
    case 'invoke':
      try {
        await WORKER_FUNCTIONS[command.fn](command.event);
        answer({ id: command.id, ok: true });
      } catch (error) {
        answer({ id: command.id, ok: false, error: error instanceof Error ? error.message : String(error) });
      }
      return;
    case 'pools':
      answer({ id: command.id, ok: true, pools: poolCounts() });
      return;
    case 'close':
      await closeAlertsConnections();
      await closeSharedResources();
      answer({ id: command.id, ok: true });
      process.exit(0);
  }
}

// one command at a time, as a function instance takes one invocation at a time
let queue = Promise.resolve();
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as WorkerCommand;
  queue = queue.then(() => run(command));
});
