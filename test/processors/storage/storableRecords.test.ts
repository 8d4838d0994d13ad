/**
 * Whatever a valid Avro record holds (any Unicode, NaN, ±Infinity, -0, timestamps across the
 * whole long range), the storage handlers never crash on it: each record is either stored
 * exactly as it is (PostgreSQL and lake) or dead-lettered as not_storable. fast-check draws the
 * records from the schema arbitraries of test/schemas, half of them with in-range timestamps.
 */
import path from 'node:path';
import fc from 'fast-check';
import { readLake } from '../../../processors/storage/lake/lakeReader';
import { storeAggregateBatch } from '../../../processors/storage/storeAggregates';
import { storeReadingBatch } from '../../../processors/storage/storeReadings';
import { ensureStorageSchema } from '../../../processors/storage/storageMigrations';
import { closeSharedResources } from '../../../processors/shared/processorResources';
import { recordsOf } from '../../../processors/shared/streamRecords';
import type { Aggregate, EnrichedReading } from '../../../schemas/records';
import { SUBJECTS } from '../../../schemas/sluiceSchemas';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient } from '../../../streams/streamClient';
import { aggregate, enrichedReading, expectedEnrichedReading } from '../../schemas/arbitraries';
import { testServers, uniqueName } from '../../support/servers';
import type { TestCodec, TestDatabase } from './storageTestSupport';
import { byAggregateKey, byKey, createTestCodec, createTestDatabase, encodeReading, kafkaEvent, plainReading, storedAggregates, storedReadings, tempLakeDir, withoutNegativeZero } from './storageTestSupport';

const kafkaAddress = (topic: string): string => `kafka://${testServers.kafkaBrokers.join(',')}/${topic}`;

// The rule, written out independently of processors/storage/storableValues.ts.
const FIRST_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_MS = Date.parse('9999-12-31T23:59:59.999Z');
const inRange = (ms: number | null | undefined): boolean => ms === null || ms === undefined || (ms >= FIRST_MS && ms <= LAST_MS);
const noNul = (text: string | null | undefined): boolean => !text?.includes('\0');
const jsonable = (map: Record<string, number> | null | undefined): boolean => !map || Object.entries(map).every(([key, value]) => noNul(key) && Number.isFinite(value));
/** a timestamp somewhere in years 0001..9999 */
const storableTime = fc.integer({ min: FIRST_MS, max: LAST_MS });

function readingStorable(r: EnrichedReading): boolean {
  return [r.deviceId, r.deviceType, r.siteId, r.firmware].every(noNul) && [r.eventTime, r.ingestTime, r.transformTime].every(inRange) && jsonable(r.metrics) && jsonable(r.thresholds);
}

function aggregateStorable(a: Aggregate): boolean {
  return [a.scopeId, a.metric].every(noNul) && [a.windowStart, a.windowEnd, a.firstTime, a.lastTime].every(inRange) && jsonable(a.percentiles);
}

const readings = fc.uniqueArray(
  fc.oneof(enrichedReading, fc.tuple(enrichedReading, storableTime, storableTime).map(([r, eventTime, transformTime]) => ({ ...r, eventTime, transformTime, ingestTime: null }))),
  { selector: (r) => `${r.deviceId}\0${r.seq}`, minLength: 1, maxLength: 12 },
);

const aggregates = fc.uniqueArray(
  fc.oneof(aggregate, fc.tuple(aggregate, storableTime).map(([a, t]) => ({ ...a, windowStart: t, windowEnd: t, firstTime: t, lastTime: t }))),
  { selector: (a) => [a.scope, a.scopeId, a.windowKind, a.windowStart, a.windowEnd, a.metric].join('\0'), minLength: 1, maxLength: 12 },
);

let db: TestDatabase;
let codec: TestCodec;
let lake: { dir: string; cleanup(): void };
let client: StreamClient;
let dlqTopic: string;
let run = 0;

beforeAll(async () => {
  db = await createTestDatabase('storable');
  codec = await createTestCodec();
  lake = tempLakeDir();
  client = openStreamClient(kafkaAddress('x'));
  dlqTopic = uniqueName('storage-storable-dlq');
  await client.createStream(dlqTopic, 1);
  await ensureStorageSchema(db.pool);
});

afterAll(async () => {
  await closeSharedResources();
  await client.deleteStream(dlqTopic).catch(() => undefined);
  await client.close();
  await db.drop();
  await codec.registry.cleanup();
  lake.cleanup();
});

it('stores any valid EnrichedReading exactly as it is, in PostgreSQL and the lake, or dead-letters it as not_storable', async () => {
  await fc.assert(fc.asyncProperty(readings, async (batch) => {
    run += 1;
    const lakeDir = path.join(lake.dir, `run-${run}`);
    await db.pool.query('TRUNCATE readings');
    const entries = await Promise.all(batch.map(async (reading, position) => ({ position, key: 'k', value: await encodeReading(codec.codec, reading) })));
    const result = await storeReadingBatch(recordsOf(kafkaEvent('enriched', 0, entries)), { pool: db.pool, codec: codec.codec, lakeDir, deadLetterAddress: kafkaAddress(dlqTopic), processor: 'test' });
    const storable = batch.filter(readingStorable).map(expectedEnrichedReading).map(plainReading).sort(byKey);
    expect(result.deadLettered).toBe(batch.length - storable.length);
    expect(await storedReadings(db.pool)).toEqual(withoutNegativeZero(storable));
    expect((await readLake(lakeDir)).map(plainReading).sort(byKey)).toEqual(storable);
  }), { numRuns: 40 });
});

it('stores any valid Aggregate exactly as it is, or dead-letters it as not_storable', async () => {
  await fc.assert(fc.asyncProperty(aggregates, async (batch) => {
    await db.pool.query('TRUNCATE aggregates');
    const entries = await Promise.all(batch.map(async (value, position) => ({ position, key: 'k', value: await codec.codec.encode(SUBJECTS.aggregate, value) })));
    const result = await storeAggregateBatch(recordsOf(kafkaEvent('aggregates', 0, entries)), { pool: db.pool, codec: codec.codec, deadLetterAddress: kafkaAddress(dlqTopic), processor: 'test' });
    const storable = batch.filter(aggregateStorable).map((a) => ({ ...a, percentiles: a.percentiles ?? null })).sort(byAggregateKey);
    expect(result.deadLettered).toBe(batch.length - storable.length);
    expect(await storedAggregates(db.pool)).toEqual(withoutNegativeZero(storable));
  }), { numRuns: 40 });
});
