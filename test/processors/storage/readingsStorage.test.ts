/**
 * The readings handler against real PostgreSQL, a real lake directory and a real Kafka topic as
 * dead-letter stream: migrations on first use, idempotence, replay from an earlier checkpoint,
 * dead letters with reasons, retries on a database that is down, and (fast-check) that any
 * sequence of deliveries with replays and duplicates stores exactly the distinct readings.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { ConfigError } from '../../../core/errors';
import { compactLake } from '../../../processors/storage/lake/lakeCompactor';
import { listPartitionFiles, listPartitions, readLake, readLakeFile } from '../../../processors/storage/lake/lakeReader';
import { handler } from '../../../processors/storage/readingsHandler';
import { storeReadingBatch } from '../../../processors/storage/storeReadings';
import type { ReadingsTarget } from '../../../processors/storage/storeReadings';
import { ensureStorageSchema } from '../../../processors/storage/storageMigrations';
import { closeSharedResources } from '../../../processors/shared/processorResources';
import { recordsOf } from '../../../processors/shared/streamRecords';
import type { DeadLetter } from '../../../schemas/records';
import { SUBJECTS } from '../../../schemas/sluiceSchemas';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient } from '../../../streams/streamClient';
import { drainPartition } from '../../conformance/streamConformance';
import { testServers, uniqueName } from '../../support/servers';
import type { StreamEntry, TestCodec, TestDatabase } from './storageTestSupport';
import { byKey, createTestCodec, createTestDatabase, encodeReading, kafkaEvent, kinesisEvent, makeReading, plainReading, storedReadings, tempLakeDir } from './storageTestSupport';

const kafkaAddress = (topic: string): string => `kafka://${testServers.kafkaBrokers.join(',')}/${topic}`;
const COMPACT_NOW = { rollBytes: 64 * 1024 * 1024, closeAfterMs: 0, tempMaxAgeMs: 15 * 60_000, force: true };

let db: TestDatabase;
let codec: TestCodec;
let lake: { dir: string; cleanup(): void };
let client: StreamClient;
let dlqTopic: string;
let lakeRun = 0;
const savedEnv = { ...process.env };

/** A fresh lake folder (inside the suite's temp dir) and an empty readings table. */
async function freshStore(): Promise<{ lakeDir: string; target: ReadingsTarget }> {
  lakeRun += 1;
  const lakeDir = path.join(lake.dir, `run-${lakeRun}`);
  await db.pool.query('TRUNCATE readings');
  return { lakeDir, target: { pool: db.pool, codec: codec.codec, lakeDir, deadLetterAddress: kafkaAddress(dlqTopic), processor: 'test-store-readings' } };
}

async function entriesOf(readings: ReturnType<typeof makeReading>[], firstPosition = 0): Promise<StreamEntry[]> {
  return Promise.all(readings.map(async (reading, i) => ({ position: firstPosition + i, key: reading.deviceId, value: await encodeReading(codec.codec, reading) })));
}

/** Every lake file, `<partition>/<name>` -> bytes. */
async function lakeFiles(lakeDir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const partition of await listPartitions(lakeDir)) {
    const { segments, compacted, temps } = await listPartitionFiles(lakeDir, partition);
    for (const name of [...segments, ...compacted, ...temps]) files.set(`${partition}/${name}`, await fs.readFile(path.join(lakeDir, 'telemetry', partition, name)));
  }
  return files;
}

async function deadLetters(): Promise<DeadLetter[]> {
  const records = await drainPartition(client, dlqTopic, '0');
  return Promise.all(records.map(async (record) => (await codec.codec.decode(record.value)) as DeadLetter));
}

beforeAll(async () => {
  db = await createTestDatabase('readings');
  codec = await createTestCodec();
  lake = tempLakeDir();
  client = openStreamClient(kafkaAddress('x'));
  dlqTopic = uniqueName('storage-dlq');
  await client.createStream(dlqTopic, 1);
  await ensureStorageSchema(db.pool);
  Object.assign(process.env, { SLUICE_PG_URL: db.url, SLUICE_SCHEMA_REGISTRY: codec.registryPath, SLUICE_LAKE_DIR: path.join(lake.dir, 'handler'), SLUICE_PROCESSOR_DLQ: kafkaAddress(dlqTopic) });
});

afterEach(() => {
  process.env.SLUICE_PG_URL = db.url;
  process.env.SLUICE_PROCESSOR_DLQ = kafkaAddress(dlqTopic);
});

afterAll(async () => {
  process.env = savedEnv;
  await closeSharedResources();
  await client.deleteStream(dlqTopic).catch(() => undefined);
  await client.close();
  await db.drop();
  await codec.registry.cleanup();
  lake.cleanup();
});

describe('readings handler', () => {
  it('applies its migrations on the first invocation and stores a Kafka batch in PostgreSQL and the lake', async () => {
    const fresh = await createTestDatabase('fresh');
    process.env.SLUICE_PG_URL = fresh.url;
    try {
      const readings = [makeReading('dev-1', 1), makeReading('dev-1', 2), makeReading('dev-2', 1)];
      await expect(handler(kafkaEvent('enriched', 0, await entriesOf(readings)))).resolves.toEqual({ batchItemFailures: [] });
      const migrations = await fresh.pool.query<{ id: string }>('SELECT id FROM sluice_migrations ORDER BY id');
      expect(migrations.rows.map((row) => row.id)).toEqual(['storage-001-readings', 'storage-002-aggregates']);
      expect(await storedReadings(fresh.pool)).toEqual([...readings].sort(byKey));
      expect((await readLake(path.join(lake.dir, 'handler'))).map(plainReading).sort(byKey)).toEqual([...readings].sort(byKey));
    } finally {
      await fresh.drop();
    }
  });

  it('stores a Kinesis batch, its lake segment named after the shard and the first and last sequence numbers', async () => {
    const lakeDir = path.join(lake.dir, 'kinesis');
    process.env.SLUICE_LAKE_DIR = lakeDir;
    const readings = [makeReading('kin-1', 1), makeReading('kin-1', 2)];
    const event = kinesisEvent('enriched', 'shardId-000000000003', await entriesOf(readings, 7));
    await handler(event);
    const names = [...(await lakeFiles(lakeDir)).keys()];
    const [first, last] = recordsOf(event).map((record) => record.position);
    expect(names).toEqual([expect.stringMatching(new RegExp(`^dt=2024-05-01/hour=10/seg-kinesis%3Aenriched%2FshardId-000000000003-${first}-${last}-[0-9a-f]{16}\\.avro$`))]);
    const stored = (await storedReadings(db.pool)).filter((reading) => reading.deviceId === 'kin-1');
    expect(stored).toEqual(readings);
  });

  it('dead-letters records it cannot use, each with its reason and original bytes, and stores the rest', async () => {
    const before = (await deadLetters()).length;
    const good = [makeReading('dlq-1', 1), makeReading('dlq-1', 2)];
    const telemetry = await codec.codec.encode(SUBJECTS.telemetryReading, { deviceId: 'dlq-x', deviceType: 't', eventTime: 1, seq: 1, metrics: {} });
    const goodBytes = await encodeReading(codec.codec, good[0] as ReturnType<typeof makeReading>);
    const bad: Array<{ value: Buffer; reason: string }> = [
      { value: Buffer.from('{"not":"avro"}'), reason: 'bad_magic' },
      { value: goodBytes.subarray(0, goodBytes.length - 3), reason: 'truncated' },
      { value: telemetry, reason: 'incompatible_reader' },
      { value: await encodeReading(codec.codec, makeReading('dlq-2', 1, { metrics: { temperature: Number.NaN } })), reason: 'not_storable' },
      { value: await encodeReading(codec.codec, makeReading('dlq-\u0000', 1)), reason: 'not_storable' },
      { value: await encodeReading(codec.codec, makeReading('dlq-3', 1, { eventTime: Date.UTC(10000, 0, 1) })), reason: 'not_storable' },
    ];
    const entries: StreamEntry[] = [
      { position: 100, key: 'dlq-1', value: goodBytes },
      ...bad.map((item, i) => ({ position: 101 + i, key: `bad-${i}`, value: item.value })),
      { position: 107, key: 'dlq-1', value: await encodeReading(codec.codec, good[1] as ReturnType<typeof makeReading>) },
    ];
    await expect(handler(kafkaEvent('enriched', 0, entries))).resolves.toEqual({ batchItemFailures: [] });
    expect((await storedReadings(db.pool)).filter((reading) => reading.deviceId.startsWith('dlq'))).toEqual(good);
    const letters = (await deadLetters()).slice(before);
    expect(letters.map((letter) => letter.reasonCode)).toEqual(bad.map((item) => item.reason));
    expect(letters.map((letter) => Buffer.from(letter.original))).toEqual(bad.map((item) => item.value));
    expect(letters.map((letter) => letter.headers?.position)).toEqual(['101', '102', '103', '104', '105', '106']);
    expect(letters.every((letter) => letter.source.kind === 'kafka' && letter.source.address === 'kafka:enriched-0')).toBe(true);
    expect(letters[3]?.message).toMatch(/metrics\.temperature: NaN/);
    expect(letters[4]?.message).toMatch(/deviceId: contains a NUL/);
    expect(letters[5]?.message).toMatch(/eventTime: .* outside years 0001\.\.9999/);
  });

  it('fails the batch, naming the setting, when a bad record has no dead-letter stream to go to', async () => {
    delete process.env.SLUICE_PROCESSOR_DLQ;
    const event = kafkaEvent('enriched', 0, [{ position: 1, key: 'k', value: Buffer.from('garbage') }]);
    const failure = handler(event);
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toThrow(/SLUICE_PROCESSOR_DLQ: is not set.*bad_magic/);
  });

  it('throws when PostgreSQL cannot be reached, so the runtime retries, and dead-letters nothing', async () => {
    const before = (await deadLetters()).length;
    process.env.SLUICE_PG_URL = 'postgres://postgres@127.0.0.1:1/test';
    const event = kafkaEvent('enriched', 0, [...(await entriesOf([makeReading('down-1', 1)])), { position: 9, key: 'k', value: Buffer.from('garbage') }]);
    await expect(handler(event)).rejects.toThrow(/ECONNREFUSED|connect/);
    expect((await deadLetters()).length).toBe(before);
  });
});

describe('readings storage is idempotent', () => {
  it('changes nothing when the same batch is delivered twice', async () => {
    const { lakeDir, target } = await freshStore();
    const readings = Array.from({ length: 50 }, (_, i) => makeReading(`idem-${i % 4}`, i));
    const event = kafkaEvent('enriched', 0, await entriesOf(readings));
    const first = await storeReadingBatch(recordsOf(event), target);
    const rows = await storedReadings(db.pool);
    const files = await lakeFiles(lakeDir);
    const second = await storeReadingBatch(recordsOf(event), target);
    expect(first.inserted).toBe(50);
    expect(second.inserted).toBe(0);
    expect(second.lake?.written).toEqual([]);
    expect(second.lake?.skipped).toEqual(first.lake?.written);
    expect(await storedReadings(db.pool)).toEqual(rows);
    expect(await lakeFiles(lakeDir)).toEqual(files);
    expect(rows).toEqual([...readings].sort(byKey));
  });

  it('gives identical PostgreSQL rows and lake files when replayed from an earlier checkpoint', async () => {
    const readings = Array.from({ length: 300 }, (_, i) => makeReading(`replay-${i % 5}`, i));
    const entries = await entriesOf(readings);
    const deliver = async (target: ReadingsTarget, cuts: number[]): Promise<void> => {
      for (let i = 0; i + 1 < cuts.length; i++) await storeReadingBatch(recordsOf(kafkaEvent('enriched', 0, entries.slice(cuts[i], cuts[i + 1]))), target);
    };

    const original = await freshStore();
    await deliver(original.target, [0, 100, 200, 300]);
    const rows = await storedReadings(db.pool);
    const segments = await lakeFiles(original.lakeDir);

    // The same batches again from checkpoint 100: every segment is already there.
    await deliver(original.target, [100, 200, 300]);
    expect(await storedReadings(db.pool)).toEqual(rows);
    expect(await lakeFiles(original.lakeDir)).toEqual(segments);

    // Other batch boundaries (a bisect, a restart reading a bigger batch): new, overlapping
    // segments, then compaction gives the files compaction of the first run gives.
    await deliver(original.target, [100, 130, 251, 300]);
    expect(await storedReadings(db.pool)).toEqual(rows);
    const twice = await freshStore();
    await deliver(twice.target, [0, 100, 200, 300]);
    await compactLake(original.lakeDir, COMPACT_NOW);
    await compactLake(twice.lakeDir, COMPACT_NOW);
    const compacted = await lakeFiles(original.lakeDir);
    expect(compacted).toEqual(await lakeFiles(twice.lakeDir));
    expect([...compacted.keys()].every((name) => /\/cmp-[0-9a-f]{32}\.avro$/.test(name))).toBe(true);
    expect((await readLake(original.lakeDir)).map(plainReading).sort(byKey)).toEqual(rows);
  });
});

describe('any delivery history stores exactly the distinct readings', () => {
  const scenario = fc.record({
    keys: fc.uniqueArray(fc.record({ device: fc.constantFrom('p-a', 'p-b', 'p-ü', 'p-😀'), seq: fc.integer({ min: 0, max: 400 }) }), { selector: (k) => `${k.device}/${k.seq}`, minLength: 1, maxLength: 30 }),
    // readings the producer emitted again later on (a transform retry), same bytes
    reemitted: fc.array(fc.nat(), { maxLength: 6 }),
    garbageAt: fc.array(fc.nat(), { maxLength: 2 }),
    // replays, overlapping retries, duplicates: [start, length] over the stream
    extras: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 12 })), { maxLength: 6 }),
    chunks: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
    compactAfter: fc.array(fc.boolean(), { maxLength: 20 }),
    rollBytes: fc.integer({ min: 100, max: 4000 }),
  });

  it('in PostgreSQL, in the lake as read, and once per file set after compaction', async () => {
    await fc.assert(fc.asyncProperty(scenario, async (plan) => {
      const { lakeDir, target } = await freshStore();
      const readings = plan.keys.map((key) => makeReading(key.device, key.seq, { eventTime: Date.UTC(2024, 4, 1, 10) + key.seq * 37_000 }));
      const stream: Buffer[] = await Promise.all(readings.map((reading) => encodeReading(codec.codec, reading)));
      for (const index of plan.reemitted) stream.push(stream[index % readings.length] as Buffer);
      for (const at of plan.garbageAt) stream.splice(at % (stream.length + 1), 0, Buffer.from([0, 0, 0, 0, 99, 1]));
      const entries: StreamEntry[] = stream.map((value, position) => ({ position, key: 'k', value }));

      const deliveries: Array<[number, number]> = [];
      const half = Math.ceil(plan.extras.length / 2);
      const extra = ([start, length]: [number, number]): [number, number] => [start % entries.length, Math.min(entries.length, (start % entries.length) + length)];
      deliveries.push(...plan.extras.slice(0, half).map(extra));
      for (let start = 0, i = 0; start < entries.length; i++) {
        const end = Math.min(entries.length, start + (plan.chunks[i % plan.chunks.length] as number));
        deliveries.push([start, end]);
        start = end;
      }
      deliveries.push(...plan.extras.slice(half).map(extra));

      const compaction = { ...COMPACT_NOW, rollBytes: plan.rollBytes };
      for (const [i, [start, end]] of deliveries.entries()) {
        await storeReadingBatch(recordsOf(kafkaEvent('enriched', 0, entries.slice(start, end))), target);
        if (plan.compactAfter[i]) await compactLake(lakeDir, compaction);
      }

      const expected = [...readings].sort(byKey);
      expect(await storedReadings(db.pool)).toEqual(expected);
      expect((await readLake(lakeDir)).map(plainReading).sort(byKey)).toEqual(expected);

      const report = await compactLake(lakeDir, compaction);
      expect(report.failed).toEqual([]);
      const copies: ReturnType<typeof makeReading>[] = [];
      for (const partition of await listPartitions(lakeDir)) {
        const files = await listPartitionFiles(lakeDir, partition);
        expect(files.segments).toEqual([]);
        expect(files.temps).toEqual([]);
        for (const name of files.compacted) copies.push(...(await readLakeFile(lakeDir, partition, name)));
      }
      expect(copies.map(plainReading).sort(byKey)).toEqual(expected);
    }), { numRuns: 25 });
  });
});
