/**
 * Crash safety of storage with real processes: `sluice run` workers of the readings handler
 * are SIGKILLed at moments fast-check chooses while they store (mid-INSERT, mid-lake-write,
 * between the write and the checkpoint) and restarted. Afterwards: PostgreSQL holds every
 * reading exactly once and as sent, every final lake file is a complete container, the lake
 * reads back every reading, and after compaction (which also clears the temp files the kills
 * left) each reading is in exactly one file.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import { compactLake } from '../../../processors/storage/lake/lakeCompactor';
import { listPartitionFiles, listPartitions, readLake, readLakeFile } from '../../../processors/storage/lake/lakeReader';
import type { EnrichedReading } from '../../../schemas/records';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient } from '../../../streams/streamClient';
import { sourceAddress } from '../../runtime/runner/runnerTestSupport';
import type { Kind } from '../../runtime/runner/runnerTestSupport';
import { testServers, uniqueName } from '../../support/servers';
import type { TestCodec, TestDatabase } from './storageTestSupport';
import { byKey, createTestCodec, createTestDatabase, encodeReading, makeReading, plainReading, storedReadings, tempLakeDir } from './storageTestSupport';

const root = path.resolve(__dirname, '../../..');
const handler = `${path.join(root, 'processors/storage/readingsHandler.ts')}#handler`;
const RECORDS = 400;

/**
 * Kinesis leases here expire after 2 s, so a killed worker's shard moves on quickly; a Kafka
 * group waits out the dead member's session (30 s, kafkajs' default, which `sluice run` keeps),
 * so Kafka gets one kill per run to keep the suite short.
 */
const PLAN: Record<Kind, { kills: { minLength: number; maxLength: number }; runs: number }> = {
  kinesis: { kills: { minLength: 2, maxLength: 3 }, runs: 2 },
  kafka: { kills: { minLength: 1, maxLength: 1 }, runs: 1 },
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe.each<Kind>(['kafka', 'kinesis'])('storage survives SIGKILL on %s', (kind) => {
  let db: TestDatabase;
  let codec: TestCodec;
  let lake: { dir: string; cleanup(): void };
  let client: StreamClient;

  beforeAll(async () => {
    db = await createTestDatabase(`crash_${kind}`);
    codec = await createTestCodec();
    lake = tempLakeDir();
    client = openStreamClient(sourceAddress(kind, 'x'));
  });

  afterAll(async () => {
    await client.close();
    await db.drop();
    await codec.registry.cleanup();
    lake.cleanup();
  });

  it('stores every reading once in PostgreSQL and the lake when workers are killed mid-batch and restarted', async () => {
    let run = 0;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ worker: fc.nat(1), atFraction: fc.double({ min: 0.05, max: 0.85, noNaN: true }), extraMs: fc.integer({ min: 0, max: 150 }) }), PLAN[kind].kills)
        .map((kills) => [...kills].sort((a, b) => a.atFraction - b.atFraction)),
      async (kills) => {
        run += 1;
        const lakeDir = path.join(lake.dir, `run-${run}`);
        const stream = uniqueName(`store-crash-${kind}`);
        const dlq = uniqueName(`store-crash-dlq-${kind}`);
        const functionName = uniqueName('store-crash').replace(/[^A-Za-z0-9_-]/g, '-');
        await db.pool.query('TRUNCATE readings').catch(() => undefined);
        await client.createStream(stream, 2);
        await client.createStream(dlq, 1);
        const env = { ...process.env, SLUICE_REDIS_URL: testServers.redisUrl, SLUICE_PG_URL: db.url, SLUICE_SCHEMA_REGISTRY: codec.registryPath, SLUICE_LAKE_DIR: lakeDir, SLUICE_PROCESSOR_DLQ: sourceAddress(kind, dlq) };
        const start = (workerId: string): ChildProcess => {
          const child = spawn(process.execPath, [path.join(root, 'bin/sluice.js'), 'run', '--handler', handler, '--source', sourceAddress(kind, stream), '--function-name', functionName,
            '--starting-position', 'TRIM_HORIZON', '--batch-size', '20', '--worker-id', workerId, '--log-level', 'warn', '--redis-url', testServers.redisUrl, '--lease-duration-ms', '2000'], {
            cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env,
          });
          child.stderr?.resume();
          return child;
        };
        const workers: ChildProcess[] = [];
        try {
          const readings = Array.from({ length: RECORDS }, (_, i) => makeReading(`crash-${i % 9}`, Math.floor(i / 9)));
          const records = await Promise.all(readings.map(async (r) => ({ key: r.deviceId, value: await encodeReading(codec.codec, r) })));
          // A live stream: records keep arriving while workers run, so a batch redelivered after a
          // kill may cover a different range than the attempt the kill interrupted.
          await client.produce(stream, records.slice(0, 100));
          const producing = (async () => {
            for (let from = 100; from < RECORDS; from += 15) {
              await sleep(40);
              await client.produce(stream, records.slice(from, from + 15));
            }
          })();
          workers.push(start('w0'), start('w1'));
          const stored = async (): Promise<number> => Number((await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM readings').catch(() => ({ rows: [{ n: '0' }] }))).rows[0]?.n ?? 0);
          for (const kill of kills) {
            const target = Math.floor(kill.atFraction * RECORDS);
            const waitUntil = Date.now() + 60_000;
            while ((await stored()) < target && Date.now() < waitUntil) await sleep(10);
            await sleep(kill.extraMs);
            await killed(workers[kill.worker] as ChildProcess);
            workers[kill.worker] = start(`w${kill.worker}`);
          }
          await producing;
          const deadline = Date.now() + 90_000;
          while ((await stored()) < RECORDS && Date.now() < deadline) await sleep(200);
          // let the last batches finish their lake writes, then stop everything
          await sleep(1500);
          await Promise.all(workers.map(killed));

          const expected = [...readings].sort(byKey);
          expect(await stored()).toBe(RECORDS);
          expect(await storedReadings(db.pool)).toEqual(expected);
          // readLake decodes every final file: a half-written one would throw here
          expect((await readLake(lakeDir)).map(plainReading).sort(byKey)).toEqual(expected);

          const report = await compactLake(lakeDir, { rollBytes: 64 * 1024 * 1024, closeAfterMs: 0, tempMaxAgeMs: 0, force: true });
          expect(report.failed).toEqual([]);
          const copies: EnrichedReading[] = [];
          for (const partition of await listPartitions(lakeDir)) {
            const files = await listPartitionFiles(lakeDir, partition);
            expect(files).toMatchObject({ segments: [], temps: [] });
            for (const name of files.compacted) copies.push(...(await readLakeFile(lakeDir, partition, name)));
          }
          expect(copies.map(plainReading).sort(byKey)).toEqual(expected);
          const duplicates = report.compacted.reduce((sum, done) => sum + done.duplicatesDropped, 0);
          console.log(`storage crash ${kind}: ${kills.length} kills, ${duplicates} lake copies from batches redelivered over another range merged away, ${report.tempsRemoved.length} temp files of killed writers removed`);
        } finally {
          await Promise.all(workers.map(killed));
          await client.deleteStream(stream).catch(() => undefined);
          await client.deleteStream(dlq).catch(() => undefined);
        }
      }), { numRuns: PLAN[kind].runs });
  }, 300_000);
});
