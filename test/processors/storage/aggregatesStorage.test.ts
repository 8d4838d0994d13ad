/**
 * The aggregates handler against real PostgreSQL and a real Kafka dead-letter topic: migrations,
 * bulk idempotent writes of closed windows, dead letters, and (fast-check) that any delivery
 * history with replays and duplicates stores exactly the distinct aggregates.
 */
import fc from 'fast-check';
import { handler } from '../../../processors/storage/aggregatesHandler';
import { storeAggregateBatch } from '../../../processors/storage/storeAggregates';
import { ensureStorageSchema } from '../../../processors/storage/storageMigrations';
import { closeSharedResources } from '../../../processors/shared/processorResources';
import { recordsOf } from '../../../processors/shared/streamRecords';
import type { Aggregate, DeadLetter } from '../../../schemas/records';
import { SUBJECTS } from '../../../schemas/sluiceSchemas';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient } from '../../../streams/streamClient';
import { drainPartition } from '../../conformance/streamConformance';
import { testServers, uniqueName } from '../../support/servers';
import type { StreamEntry, TestCodec, TestDatabase } from './storageTestSupport';
import { byAggregateKey, createTestCodec, createTestDatabase, kafkaEvent, kinesisEvent, makeAggregate, storedAggregates } from './storageTestSupport';

const kafkaAddress = (topic: string): string => `kafka://${testServers.kafkaBrokers.join(',')}/${topic}`;

let db: TestDatabase;
let codec: TestCodec;
let client: StreamClient;
let dlqTopic: string;
const savedEnv = { ...process.env };

async function entriesOf(aggregates: readonly Aggregate[], firstPosition = 0): Promise<StreamEntry[]> {
  return Promise.all(aggregates.map(async (aggregate, i) => ({ position: firstPosition + i, key: aggregate.scopeId, value: await codec.codec.encode(SUBJECTS.aggregate, aggregate) })));
}

beforeAll(async () => {
  db = await createTestDatabase('aggregates');
  codec = await createTestCodec();
  client = openStreamClient(kafkaAddress('x'));
  dlqTopic = uniqueName('storage-agg-dlq');
  await client.createStream(dlqTopic, 1);
  Object.assign(process.env, { SLUICE_PG_URL: db.url, SLUICE_SCHEMA_REGISTRY: codec.registryPath, SLUICE_PROCESSOR_DLQ: kafkaAddress(dlqTopic) });
});

afterAll(async () => {
  process.env = savedEnv;
  await closeSharedResources();
  await client.deleteStream(dlqTopic).catch(() => undefined);
  await client.close();
  await db.drop();
  await codec.registry.cleanup();
});

describe('aggregates handler', () => {
  it('migrates on first use, stores closed windows, and changes nothing when the batch comes again', async () => {
    const aggregates = [makeAggregate('dev-1', 0), makeAggregate('dev-1', 1), makeAggregate('dev-2', 0, 'humidity'), { ...makeAggregate('site-1', 0), scope: 'site' as const, windowKind: 'hopping' as const }];
    const event = kafkaEvent('aggregates', 0, await entriesOf(aggregates));
    await expect(handler(event)).resolves.toEqual({ batchItemFailures: [] });
    const rows = await storedAggregates(db.pool);
    expect(rows).toEqual([...aggregates].sort(byAggregateKey));
    await handler(event);
    await handler(kinesisEvent('aggregates', 'shardId-000000000000', await entriesOf(aggregates)));
    expect(await storedAggregates(db.pool)).toEqual(rows);
  });

  it('dead-letters an undecodable record and one PostgreSQL cannot hold, and stores the rest', async () => {
    const good = makeAggregate('dlq-agg', 5);
    const entries: StreamEntry[] = [
      { position: 1, key: 'x', value: Buffer.from([0, 0, 0, 0]) },
      ...(await entriesOf([{ ...makeAggregate('dlq-agg', 6), percentiles: { p99: Number.POSITIVE_INFINITY } }, good], 2)),
    ];
    await handler(kafkaEvent('aggregates', 3, entries));
    expect((await storedAggregates(db.pool)).filter((row) => row.scopeId === 'dlq-agg')).toEqual([good]);
    const letters = await Promise.all((await drainPartition(client, dlqTopic, '0')).map(async (record) => (await codec.codec.decode(record.value)) as DeadLetter));
    expect(letters.map((letter) => [letter.reasonCode, letter.headers?.position, letter.source.address])).toEqual([['truncated', '1', 'kafka:aggregates-3'], ['not_storable', '2', 'kafka:aggregates-3']]);
    expect(letters[1]?.message).toMatch(/percentiles\.p99: Infinity cannot be stored in jsonb/);
  });
});

describe('any delivery history stores exactly the distinct aggregates', () => {
  it('with replays, overlapping retries and re-emitted windows', async () => {
    await ensureStorageSchema(db.pool);
    const target = { pool: db.pool, codec: codec.codec, deadLetterAddress: kafkaAddress(dlqTopic), processor: 'test' };
    const windows = fc.uniqueArray(fc.record({ scopeId: fc.constantFrom('a', 'b', 'c'), window: fc.integer({ min: 0, max: 50 }), metric: fc.constantFrom('temperature', 'humidity') }), {
      selector: (w) => `${w.scopeId}/${w.window}/${w.metric}`, minLength: 1, maxLength: 25,
    });
    await fc.assert(fc.asyncProperty(windows, fc.array(fc.nat(), { maxLength: 5 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 10 })), { maxLength: 6 }), fc.integer({ min: 1, max: 9 }), async (keys, reemitted, extras, chunk) => {
      await db.pool.query('TRUNCATE aggregates');
      const aggregates = keys.map((key) => makeAggregate(key.scopeId, key.window, key.metric));
      const stream = [...aggregates, ...reemitted.map((i) => aggregates[i % aggregates.length] as Aggregate)];
      const entries = await entriesOf(stream);
      const deliveries: Array<[number, number]> = extras.map(([start, length]) => [start % entries.length, Math.min(entries.length, (start % entries.length) + length)]);
      for (let start = 0; start < entries.length; start += chunk) deliveries.splice(Math.floor(deliveries.length / 2), 0, [start, Math.min(entries.length, start + chunk)]);
      for (const [start, end] of deliveries) await storeAggregateBatch(recordsOf(kafkaEvent('aggregates', 0, entries.slice(start, end))), target);
      expect(await storedAggregates(db.pool)).toEqual([...aggregates].sort(byAggregateKey));
    }), { numRuns: 30 });
  });
});
