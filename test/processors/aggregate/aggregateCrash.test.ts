/**
 * Crash safety of the aggregate, with real processes: two `sluice run` workers run the
 * aggregate handler on a real stream (Kafka and kinesalite) and are killed with SIGKILL at
 * moments fast-check chooses, then restarted. Afterwards the exactly-once counters say each
 * distinct reading was counted once and each duplicate delivery skipped once, and every window
 * in Redis equals a reference computed from the distinct input.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import { AggregateKeys } from '../../../processors/aggregate/aggregateKeys';
import { windowSettingsFromEnv } from '../../../processors/aggregate/aggregateSettings';
import type { EnrichedReading } from '../../../schemas/records';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient } from '../../../streams/streamClient';
import { testServers, uniqueName } from '../../support/servers';
import { AggregateTestBed, aggregatesInRedis, expectSameAggregates, reading, referenceAggregates } from './aggregateTestKit';

const root = path.resolve(__dirname, '../../..');
const HANDLER = `${path.join(root, 'processors/aggregate/handler.ts')}#handler`;
const READINGS = 360;
const WINDOWS = { SLUICE_WINDOWS: 'tumbling:10s,hopping:30s/10s,session:5s', SLUICE_GRACE_MS: '600000' };
type Kind = 'kinesis' | 'kafka';

const bed = new AggregateTestBed();

function address(kind: Kind, stream: string): string {
  return kind === 'kafka' ? `kafka://${testServers.kafkaBrokers.join(',')}/${stream}` : `kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}/${stream}`;
}

function startWorker(kind: Kind, stream: string, functionName: string, workerId: string, prefix: string): ChildProcess {
  const child = spawn(process.execPath, [path.join(root, 'bin/sluice.js'), 'run', '--handler', HANDLER, '--source', address(kind, stream), '--function-name', functionName,
    '--starting-position', 'TRIM_HORIZON', '--batch-size', '10', '--worker-id', workerId, '--log-level', 'warn', '--redis-url', testServers.redisUrl, '--lease-duration-ms', '2000'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env, ...WINDOWS, SLUICE_REDIS_URL: testServers.redisUrl, SLUICE_SCHEMA_REGISTRY: bed.registryPath, SLUICE_KEY_PREFIX: prefix,
      SLUICE_AGGREGATES_STREAM: address('kafka', bed.streams.aggregates), SLUICE_LATE_STREAM: address('kafka', bed.streams.late), SLUICE_PROCESSOR_DLQ: address('kafka', bed.streams.dlq),
    },
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

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  await bed.start();
});

afterAll(async () => {
  await bed.close();
});

describe.each<Kind>(['kafka', 'kinesis'])('aggregate crash safety on %s', (kind) => {
  let client: StreamClient;

  beforeAll(() => {
    client = openStreamClient(address(kind, 'x'));
  });

  afterAll(async () => {
    await client.close();
  });

  it('equals the reference from the distinct input after workers are SIGKILLed mid-aggregation and restarted', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ worker: fc.nat(1), atFraction: fc.double({ min: 0.05, max: 0.85, noNaN: true }), extraMs: fc.integer({ min: 0, max: 200 }) }), // Kafka: a killed member holds its partitions until its session times out (~30 s each): fewer kills
        kind === 'kafka' ? { minLength: 1, maxLength: 2 } : { minLength: 2, maxLength: 3 })
        .map((kills) => [...kills].sort((a, b) => a.atFraction - b.atFraction)),
      async (kills) => {
        const stream = uniqueName(`aggcrash-${kind}`);
        const functionName = uniqueName('aggcrash').replace(/[^A-Za-z0-9_-]/g, '-');
        const prefix = `${bed.prefix}-${functionName}`;
        const keys = new AggregateKeys(prefix);
        await client.createStream(stream, 2);
        const workers: ChildProcess[] = [];
        try {
          const base = Date.now() - 60_000;
          const readings: EnrichedReading[] = Array.from({ length: READINGS }, (_, i) => reading(`dev-${i % 9}`, Math.floor(i / 9), base + Math.floor(i / 9) * 1400 + (i % 9), { temperature: 10 + ((i * 53) % 170) / 10, vibration: (i * 7) % 11 }, `site-${i % 3}`));
          const duplicates = readings.filter((_, i) => i % 8 === 3);
          const encode = async (r: EnrichedReading): Promise<{ key: string; value: Buffer }> => ({ key: r.deviceId, value: await bed.encode(r) });
          // duplicates interleaved: each is re-produced some 40 records after its original
          const order = readings.flatMap((r, i) => {
            const copy = i >= 40 ? readings[i - 40] : undefined;
            return copy && duplicates.includes(copy) ? [r, copy] : [r];
          });
          const late = duplicates.filter((d) => readings.indexOf(d) >= READINGS - 40);
          await client.produce(stream, await Promise.all([...order, ...late].map(encode)));
          workers.push(startWorker(kind, stream, functionName, 'w0', prefix), startWorker(kind, stream, functionName, 'w1', prefix));
          const counter = async (name: string): Promise<number> => Number((await bed.redis.hget(keys.counters(), name)) ?? 0);
          for (const kill of kills) {
            const target = Math.floor(kill.atFraction * READINGS);
            const waitUntil = Date.now() + 60_000;
            while ((await counter('readings')) < target && Date.now() < waitUntil) await sleep(10);
            await sleep(kill.extraMs);
            await killed(workers[kill.worker] as ChildProcess);
            workers[kill.worker] = startWorker(kind, stream, functionName, `w${kill.worker}`, prefix);
          }
          const deadline = Date.now() + 90_000;
          while (((await counter('readings')) < READINGS || (await counter('duplicates')) < duplicates.length) && Date.now() < deadline) await sleep(200);
          await sleep(1000); // a batch applied twice would push the counters past the totals now
          expect(await counter('readings')).toBe(READINGS);
          expect(await counter('duplicates')).toBe(duplicates.length);
          expect([await counter('late'), await counter('deadLetters')]).toEqual([0, 0]);
          const settings = windowSettingsFromEnv(WINDOWS);
          expectSameAggregates(await aggregatesInRedis(bed.redis, keys, settings.quantiles), referenceAggregates(readings, settings));
        } finally {
          await Promise.all(workers.map(killed));
          await client.deleteStream(stream).catch(() => undefined);
          await bed.deletePrefix(prefix);
          await bed.deletePrefix(`sluice:{${functionName}@${stream}}`);
        }
      }), { numRuns: 1 });
  }, 240_000);
});
