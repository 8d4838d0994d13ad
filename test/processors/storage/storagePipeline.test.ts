/**
 * End to end through the runtime: the readings and aggregates handlers run by MappingRunner on
 * a real Kafka topic and a real kinesalite stream (two partitions each), with duplicates and
 * undecodable records on the stream, like `sluice run` runs them. Afterwards PostgreSQL holds
 * every distinct reading and aggregate once, the lake holds every reading (once per file set
 * after the scheduled compaction), and the bad records are in the dead-letter stream.
 */
import path from 'node:path';
import Redis from 'ioredis';
import { compactLake } from '../../../processors/storage/readingsHandler';
import { listPartitionFiles, listPartitions, readLake, readLakeFile } from '../../../processors/storage/lake/lakeReader';
import { closeSharedResources } from '../../../processors/shared/processorResources';
import { resolveMappingConfig } from '../../../runtime/mapping/mappingConfig';
import { MappingRunner } from '../../../runtime/runner/mappingRunner';
import type { DeadLetter, EnrichedReading } from '../../../schemas/records';
import { SUBJECTS } from '../../../schemas/sluiceSchemas';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient, StreamRecordInput } from '../../../streams/streamClient';
import { drainPartition } from '../../conformance/streamConformance';
import { sourceAddress, TEST_KEY_PREFIX, waitFor } from '../../runtime/runner/runnerTestSupport';
import type { Kind } from '../../runtime/runner/runnerTestSupport';
import { testServers, uniqueName } from '../../support/servers';
import type { TestCodec, TestDatabase } from './storageTestSupport';
import { byAggregateKey, byKey, createTestCodec, createTestDatabase, encodeReading, makeAggregate, makeReading, plainReading, storedAggregates, storedReadings, tempLakeDir } from './storageTestSupport';

const root = path.resolve(__dirname, '../../..');
const READINGS = 120;

describe.each<Kind>(['kafka', 'kinesis'])('storage on %s through the runtime', (kind) => {
  let db: TestDatabase;
  let codec: TestCodec;
  let lake: { dir: string; cleanup(): void };
  let client: StreamClient;
  let redis: Redis;
  const streams: string[] = [];
  const runners: MappingRunner[] = [];
  const savedEnv = { ...process.env };

  async function newStream(prefix: string, partitions: number): Promise<string> {
    const name = uniqueName(`${prefix}-${kind}`);
    await client.createStream(name, partitions);
    streams.push(name);
    return name;
  }

  async function startRunner(handler: string, stream: string): Promise<void> {
    const mapping = resolveMappingConfig({
      FunctionName: uniqueName('store').replace(/[^A-Za-z0-9_-]/g, '-'), Source: sourceAddress(kind, stream), StartingPosition: 'TRIM_HORIZON',
      BatchSize: 25, BisectBatchOnFunctionError: true, FunctionResponseTypes: ['ReportBatchItemFailures'], Function: { Handler: path.join(root, handler) },
    }, 'test');
    const runner = new MappingRunner({ mapping, client, redis, keyPrefix: TEST_KEY_PREFIX, leaseDurationMs: 3000 });
    runners.push(runner);
    await runner.start();
  }

  beforeAll(async () => {
    db = await createTestDatabase(`pipe_${kind}`);
    codec = await createTestCodec();
    lake = tempLakeDir();
    client = openStreamClient(sourceAddress(kind, 'x'));
    redis = new Redis(testServers.redisUrl);
  });

  afterAll(async () => {
    for (const runner of runners) await runner.stop();
    process.env = savedEnv;
    await closeSharedResources();
    for (const stream of streams) await client.deleteStream(stream).catch(() => undefined);
    await client.close();
    redis.disconnect();
    await db.drop();
    await codec.registry.cleanup();
    lake.cleanup();
  });

  it('stores every distinct reading and aggregate once, and dead-letters what it cannot decode', async () => {
    const enriched = await newStream('enriched', 2);
    const aggregatesStream = await newStream('aggregates', 2);
    const dlq = await newStream('processor-dlq', 1);
    Object.assign(process.env, {
      SLUICE_PG_URL: db.url, SLUICE_SCHEMA_REGISTRY: codec.registryPath, SLUICE_LAKE_DIR: lake.dir,
      SLUICE_PROCESSOR_DLQ: sourceAddress(kind, dlq), SLUICE_LAKE_CLOSE_AFTER_MS: '0',
    });

    const readings = Array.from({ length: READINGS }, (_, i) => makeReading(`pipe-${i % 6}`, Math.floor(i / 6)));
    const readingRecords: StreamRecordInput[] = await Promise.all(readings.map(async (r) => ({ key: r.deviceId, value: await encodeReading(codec.codec, r) })));
    // transform re-emitted a few readings (same bytes at new positions), and two records are garbage (not Avro; an unknown schema id)
    const stream = [...readingRecords, ...readingRecords.slice(10, 25), { key: 'pipe-0', value: Buffer.from('not avro') }, { key: 'pipe-1', value: Buffer.from([0, 0, 0, 0, 250]) }];
    await client.produce(enriched, stream);
    const aggregates = Array.from({ length: 30 }, (_, i) => makeAggregate(`pipe-${i % 3}`, i));
    const aggregateRecords = await Promise.all(aggregates.map(async (a) => ({ key: a.scopeId, value: await codec.codec.encode(SUBJECTS.aggregate, a) })));
    await client.produce(aggregatesStream, [...aggregateRecords, ...aggregateRecords.slice(0, 7)]);

    await startRunner('processors/storage/readingsHandler.ts#handler', enriched);
    await startRunner('processors/storage/aggregatesHandler.ts#handler', aggregatesStream);
    const count = async (table: string): Promise<number> => Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`).catch(() => ({ rows: [{ n: '0' }] }))).rows[0]?.n ?? 0);
    await waitFor(async () => (await count('readings')) >= READINGS && (await count('aggregates')) >= aggregates.length, 'readings and aggregates in PostgreSQL', 60_000);
    const [dlqPartition] = await client.listPartitions(dlq);
    const deadLetters = () => drainPartition(client, dlq, dlqPartition?.id ?? '');
    await waitFor(async () => (await deadLetters()).length >= 2, 'two dead letters', 30_000);
    const letters = await deadLetters();
    for (const runner of runners.splice(0)) await runner.stop();

    expect(await storedReadings(db.pool)).toEqual([...readings].sort(byKey));
    expect(await storedAggregates(db.pool)).toEqual([...aggregates].sort(byAggregateKey));
    expect((await readLake(lake.dir)).map(plainReading).sort(byKey)).toEqual([...readings].sort(byKey));
    const decoded = await Promise.all(letters.map(async (record) => (await codec.codec.decode(record.value)) as DeadLetter));
    expect(decoded.map((letter) => letter.reasonCode).sort()).toEqual(['bad_magic', 'unknown_schema']);
    expect(decoded.every((letter) => letter.source.kind === kind)).toBe(true);

    const report = await compactLake();
    expect(report).toMatchObject({ failed: [] });
    const copies: EnrichedReading[] = [];
    for (const partition of await listPartitions(lake.dir)) {
      const files = await listPartitionFiles(lake.dir, partition);
      expect(files.segments).toEqual([]);
      for (const name of files.compacted) copies.push(...(await readLakeFile(lake.dir, partition, name)));
    }
    expect(copies.map(plainReading).sort(byKey)).toEqual([...readings].sort(byKey));
  }, 120_000);
});
