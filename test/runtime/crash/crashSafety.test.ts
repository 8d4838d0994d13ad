/**
 * Crash safety of the runtime, on real streams with real processes: `sluice run` workers are
 * killed with SIGKILL at moments fast-check chooses and restarted, repeatedly. Afterwards:
 * every record was processed at least once, the exactly-once Redis counter equals the number
 * of distinct records (no batch applied twice), and no checkpoint ever passed a record the
 * handler had not applied.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import Redis from 'ioredis';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient } from '../../../streams/streamClient';
import { comparePositions } from '../../../runtime/redis/positionOrder';
import { testServers, uniqueName } from '../../support/servers';

const root = path.resolve(__dirname, '../../..');
const handler = `${path.join(root, 'test/fixtures/handlers/exactlyOnceCounter.ts')}#handler`;
const RECORDS = 600;

type Kind = 'kinesis' | 'kafka';

function address(kind: Kind, stream: string): string {
  return kind === 'kafka' ? `kafka://${testServers.kafkaBrokers.join(',')}/${stream}` : `kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}/${stream}`;
}

function startWorker(kind: Kind, stream: string, functionName: string, workerId: string): ChildProcess {
  const child = spawn(process.execPath, [path.join(root, 'bin/sluice.js'), 'run', '--handler', handler, '--source', address(kind, stream), '--function-name', functionName,
    '--starting-position', 'TRIM_HORIZON', '--batch-size', '10', '--worker-id', workerId, '--log-level', 'warn', '--redis-url', testServers.redisUrl, '--lease-duration-ms', '2000'], {
    cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SLUICE_REDIS_URL: testServers.redisUrl },
  });
  child.stderr?.resume();
  return child;
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe.each<Kind>(['kinesis', 'kafka'])('crash safety on %s', (kind) => {
  let client: StreamClient;
  let redis: Redis;

  beforeAll(() => {
    client = openStreamClient(address(kind, 'x'));
    redis = new Redis(testServers.redisUrl);
  });

  afterAll(async () => {
    await client.close();
    redis.disconnect();
  });

  /** The handler's applied positions and the runtime's checkpoints, per partition. */
  async function checkpointsNeverPassApplied(functionName: string, stream: string): Promise<void> {
    const partitions = await client.listPartitions(stream);
    if (kind === 'kinesis') {
      for (const partition of partitions) {
        const lease = await redis.hgetall(`sluice:{${functionName}@${stream}}:lease:${partition.id}`);
        const checkpoint = lease.checkpoint;
        if (!checkpoint || !/^\d+$/.test(checkpoint)) continue;
        const last = await redis.get(`sluice:{${functionName}:${partition.id}}:applied`);
        expect(last).not.toBeNull();
        expect(comparePositions(checkpoint, last ?? '0')).toBeLessThanOrEqual(0);
      }
    }
  }

  it('loses nothing and applies each record once when workers are SIGKILLed at random moments', async () => {
    await fc.assert(fc.asyncProperty(
      // Each kill waits until a fraction of the records is applied, then a little more, so it
      // lands while the workers are mid-stream, not before they started or after they finished.
      fc.array(fc.record({ worker: fc.nat(1), atFraction: fc.double({ min: 0.05, max: 0.85, noNaN: true }), extraMs: fc.integer({ min: 0, max: 300 }) }), { minLength: 2, maxLength: 4 })
        .map((kills) => [...kills].sort((a, b) => a.atFraction - b.atFraction)),
      async (kills) => {
        const stream = uniqueName(`crash-${kind}`);
        const functionName = uniqueName('crash').replace(/[^A-Za-z0-9_-]/g, '-');
        await client.createStream(stream, 2);
        const workers: ChildProcess[] = [];
        try {
          await client.produce(stream, Array.from({ length: RECORDS }, (_, i) => ({ key: `device-${i % 7}`, value: Buffer.from(`id-${i}`) })));
          workers.push(startWorker(kind, stream, functionName, 'w0'), startWorker(kind, stream, functionName, 'w1'));
          const prefix = `crash:${functionName}`;
          const applied = async (): Promise<number> => Number((await redis.get(`${prefix}:count`)) ?? 0);
          for (const kill of kills) {
            const target = Math.floor(kill.atFraction * RECORDS);
            const waitUntil = Date.now() + 60_000;
            while ((await applied()) < target && Date.now() < waitUntil) await sleep(20);
            await sleep(kill.extraMs);
            await killed(workers[kill.worker] as ChildProcess);
            await checkpointsNeverPassApplied(functionName, stream);
            workers[kill.worker] = startWorker(kind, stream, functionName, `w${kill.worker}`);
          }
          const deadline = Date.now() + 90_000;
          while ((await applied()) < RECORDS && Date.now() < deadline) await sleep(250);
          // a moment more: a count that would go past RECORDS (a batch applied twice) shows now
          await sleep(1000);
          const count = await applied();
          const appliedIds = await redis.hgetall(`${prefix}:applied`);
          const deliveries = await redis.hgetall(`${prefix}:deliveries`);
          expect(count).toBe(RECORDS);
          expect(Object.keys(appliedIds)).toHaveLength(RECORDS);
          expect(Object.values(appliedIds).every((times) => times === '1')).toBe(true);
          // the kills did interrupt work: some records were delivered more than once
          console.log(`crash ${kind}: ${kills.length} kills, ${Object.values(await redis.hgetall(`${prefix}:deliveries`)).filter((n) => n !== '1').length} records redelivered`);
          expect(Object.keys(deliveries)).toHaveLength(RECORDS);
          await checkpointsNeverPassApplied(functionName, stream);
        } finally {
          await Promise.all(workers.map(killed));
          await client.deleteStream(stream).catch(() => undefined);
        }
      }), { numRuns: 2 });
  }, 400_000);
});
