/**
 * The lake's files on a real file system: compaction by time and by size, rolling, temp files
 * of killed writers, a compaction killed halfway, the canonical copy of a reading sent twice
 * with different content, files other Avro readers can open, and one compactor at a time.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { extractFileHeader } from 'avsc';
import { compactLake as compactLakeHandler } from '../../../processors/storage/readingsHandler';
import { decodeContainer } from '../../../processors/storage/lake/avroContainer';
import { compactLake } from '../../../processors/storage/lake/lakeCompactor';
import type { CompactionOptions } from '../../../processors/storage/lake/lakeCompactor';
import { withLakeCompactionLock } from '../../../processors/storage/lake/lakeCompactionLock';
import { compactedFileName, hourPartitionOf, partitionDir, readingKey } from '../../../processors/storage/lake/lakePaths';
import { lakeRecordType, listPartitionFiles, listPartitions, readLake, readLakeFile } from '../../../processors/storage/lake/lakeReader';
import type { LakeRecord } from '../../../processors/storage/lake/lakeWriter';
import { writeLakeSegments } from '../../../processors/storage/lake/lakeWriter';
import { closeSharedResources } from '../../../processors/shared/processorResources';
import type { EnrichedReading } from '../../../schemas/records';
import type { TestDatabase } from './storageTestSupport';
import { BASE_TIME, byKey, createTestDatabase, makeReading, plainReading, tempLakeDir } from './storageTestSupport';

const HOUR = 3_600_000;
const HOUR_10 = hourPartitionOf(BASE_TIME);
const HOUR_11 = hourPartitionOf(BASE_TIME + HOUR);
const OPTIONS: CompactionOptions = { rollBytes: 64 * 1024 * 1024, closeAfterMs: 10 * 60_000, tempMaxAgeMs: 15 * 60_000 };

let lake: { dir: string; cleanup(): void };
let runs = 0;

function freshLake(): string {
  runs += 1;
  return path.join(lake.dir, `lake-${runs}`);
}

/** Lake records of `readings` as one scope would deliver them, from `firstPosition` on. */
function asRecords(scope: string, readings: readonly EnrichedReading[], firstPosition = 0): LakeRecord[] {
  return readings.map((reading, i) => ({ scope, position: String(firstPosition + i), data: Buffer.from(`${reading.deviceId}/${reading.seq}/${reading.transformTime}`), reading }));
}

/** Readings of device `device`, seq from..to-1, one a minute from 10:00 (so 0..59 in hour 10, 60.. in hour 11). */
function readingsOf(device: string, from: number, to: number): EnrichedReading[] {
  return Array.from({ length: to - from }, (_, i) => makeReading(device, from + i));
}

async function partitionContent(lakeDir: string, partition: string): Promise<Map<string, Buffer>> {
  const files = await listPartitionFiles(lakeDir, partition);
  const out = new Map<string, Buffer>();
  for (const name of [...files.compacted, ...files.segments, ...files.temps]) out.set(name, await fs.readFile(path.join(partitionDir(lakeDir, partition), name)));
  return out;
}

beforeAll(() => {
  lake = tempLakeDir();
});

afterAll(() => lake.cleanup());

describe('lake compaction', () => {
  it('leaves an hour that is still open alone until its segments reach the roll size', async () => {
    const lakeDir = freshLake();
    await writeLakeSegments(lakeDir, asRecords('kafka:enriched-0', readingsOf('open', 0, 20)));
    await writeLakeSegments(lakeDir, asRecords('kafka:enriched-0', readingsOf('open', 20, 40), 20));
    const duringTheHour = BASE_TIME + 50 * 60_000;
    expect((await compactLake(lakeDir, { ...OPTIONS, now: duringTheHour })).compacted).toEqual([]);
    expect((await listPartitionFiles(lakeDir, HOUR_10)).segments).toHaveLength(2);

    const pending = (await listPartitionFiles(lakeDir, HOUR_10)).segments;
    let bytes = 0;
    for (const name of pending) bytes += (await fs.stat(path.join(partitionDir(lakeDir, HOUR_10), name))).size;
    const report = await compactLake(lakeDir, { ...OPTIONS, rollBytes: bytes, now: duringTheHour });
    expect(report.compacted.map((done) => [done.partition, done.readings])).toEqual([[HOUR_10, 40]]);
    expect(await listPartitionFiles(lakeDir, HOUR_10)).toEqual({ segments: [], compacted: [expect.stringMatching(/^cmp-/)], temps: [] });
  });

  it('compacts an hour once it ended closeAfterMs ago, whatever its size', async () => {
    const lakeDir = freshLake();
    await writeLakeSegments(lakeDir, asRecords('kafka:enriched-0', readingsOf('closed', 0, 70)));
    const end = BASE_TIME + HOUR;
    expect((await compactLake(lakeDir, { ...OPTIONS, now: end + OPTIONS.closeAfterMs - 1 })).compacted).toEqual([]);
    const report = await compactLake(lakeDir, { ...OPTIONS, now: end + OPTIONS.closeAfterMs });
    // hour 10 closed; hour 11 (readings 60..69) is still open and small
    expect(report.compacted.map((done) => done.partition)).toEqual([HOUR_10]);
    expect((await listPartitionFiles(lakeDir, HOUR_11)).segments).toHaveLength(1);
    expect((await readLake(lakeDir)).map(plainReading)).toEqual(readingsOf('closed', 0, 70));
  });

  it('rolls compacted files at rollBytes, sorted by (deviceId, seq), each named from its first and last key', async () => {
    const lakeDir = freshLake();
    await writeLakeSegments(lakeDir, asRecords('kafka:enriched-1', [...readingsOf('roll-b', 0, 30), ...readingsOf('roll-a', 0, 30)]));
    const type = lakeRecordType();
    const rollBytes = 900;
    const report = await compactLake(lakeDir, { ...OPTIONS, rollBytes, force: true });
    const outputs = report.compacted[0]?.outputs ?? [];
    expect(outputs.length).toBeGreaterThan(2);
    const rollsRead: EnrichedReading[][] = [];
    for (const name of outputs) {
      const readings = (await readLakeFile(lakeDir, HOUR_10, name)).map(plainReading);
      const first = readings[0] as EnrichedReading;
      const last = readings[readings.length - 1] as EnrichedReading;
      expect(name).toBe(compactedFileName(readingKey(first.deviceId, first.seq), readingKey(last.deviceId, last.seq)));
      const bytes = readings.reduce((sum, reading) => sum + type.toBuffer(reading).length, 0);
      expect(bytes <= rollBytes || readings.length === 1).toBe(true);
      rollsRead.push(readings);
    }
    // each roll sorted, rolls disjoint: laid end to end by first key they give every reading once, in key order
    rollsRead.sort((a, b) => byKey(a[0] as EnrichedReading, b[0] as EnrichedReading));
    expect(rollsRead.flat()).toEqual([...readingsOf('roll-a', 0, 30), ...readingsOf('roll-b', 0, 30)]);
  });

  it('ignores the temp file of a killed writer and removes it once it is older than any live write', async () => {
    const lakeDir = freshLake();
    await writeLakeSegments(lakeDir, asRecords('kafka:enriched-0', readingsOf('tmp', 0, 5)));
    const dir = partitionDir(lakeDir, HOUR_10);
    const temp = path.join(dir, '.seg-kafka%3Aenriched-0-5-9-0123456789abcdef.avro.4242-deadbeef.tmp');
    await fs.writeFile(temp, Buffer.from('Obj\u0001 half a file'));
    expect((await readLake(lakeDir)).map(plainReading)).toEqual(readingsOf('tmp', 0, 5));

    const now = Date.now();
    const young = await compactLake(lakeDir, { ...OPTIONS, force: true, now });
    expect(young.tempsRemoved).toEqual([]);
    expect((await listPartitionFiles(lakeDir, HOUR_10)).temps).toHaveLength(1);
    const old = await compactLake(lakeDir, { ...OPTIONS, now: now + OPTIONS.tempMaxAgeMs + 1000 });
    expect(old.tempsRemoved).toEqual([`${HOUR_10}/${path.basename(temp)}`]);
    expect((await listPartitionFiles(lakeDir, HOUR_10)).temps).toEqual([]);
  });

  it('converges when a compaction was killed after writing its output and before deleting its inputs', async () => {
    const lakeDir = freshLake();
    await writeLakeSegments(lakeDir, asRecords('kafka:enriched-0', readingsOf('crash', 0, 20)));
    await compactLake(lakeDir, { ...OPTIONS, force: true });
    await writeLakeSegments(lakeDir, asRecords('kafka:enriched-0', readingsOf('crash', 20, 40), 20));
    const inputs = await partitionContent(lakeDir, HOUR_10);
    await compactLake(lakeDir, { ...OPTIONS, force: true });
    const converged = await partitionContent(lakeDir, HOUR_10);

    // Put the inputs back next to the output: what a kill between rename and delete leaves.
    for (const [name, bytes] of inputs) await fs.writeFile(path.join(partitionDir(lakeDir, HOUR_10), name), bytes);
    expect((await readLake(lakeDir)).map(plainReading)).toEqual(readingsOf('crash', 0, 40));
    const again = await compactLake(lakeDir, { ...OPTIONS, now: BASE_TIME + 2 * HOUR });
    expect(again.compacted.map((done) => done.duplicatesDropped)).toEqual([40]);
    expect(await partitionContent(lakeDir, HOUR_10)).toEqual(converged);
  });

  it('keeps the same copy of a reading sent twice with different content, whichever file and order it came in', async () => {
    const copyA = makeReading('twice', 1, { transformTime: BASE_TIME + 5 });
    const copyB = makeReading('twice', 1, { transformTime: BASE_TIME + 9_000_000 });
    const keptBy = async (order: EnrichedReading[]): Promise<EnrichedReading[]> => {
      const lakeDir = freshLake();
      for (const [i, copy] of order.entries()) await writeLakeSegments(lakeDir, asRecords(`kafka:enriched-${i}`, [copy]));
      const read = (await readLake(lakeDir)).map(plainReading);
      await compactLake(lakeDir, { ...OPTIONS, force: true });
      expect((await readLake(lakeDir)).map(plainReading)).toEqual(read);
      return read;
    };
    const one = await keptBy([copyA, copyB]);
    expect(one).toHaveLength(1);
    expect(await keptBy([copyB, copyA])).toEqual(one);
  });

  it('writes container files other Avro readers open: the full schema in the header, deflate blocks', async () => {
    const lakeDir = freshLake();
    const result = await writeLakeSegments(lakeDir, asRecords('kafka:enriched-0', readingsOf('interop', 0, 3)));
    const file = path.join(lakeDir, 'telemetry', result.written[0] as string);
    const header = extractFileHeader(file) as { meta: Record<string, unknown> };
    expect(header.meta['avro.codec']).toBe('deflate');
    expect(JSON.stringify(header.meta['avro.schema'])).toContain('"logicalType":"timestamp-millis"');
    expect((header.meta['sluice.scope'] as Buffer).toString()).toBe('kafka:enriched-0');
    const decoded = (await decodeContainer(await fs.readFile(file), file)) as EnrichedReading[];
    expect(decoded.map(plainReading)).toEqual(readingsOf('interop', 0, 3));
  });

  it('reports an hour holding a file that is not a readable container, and still compacts the others', async () => {
    const lakeDir = freshLake();
    await writeLakeSegments(lakeDir, asRecords('kafka:enriched-0', readingsOf('bad', 0, 70)));
    const broken = path.join(partitionDir(lakeDir, HOUR_11), 'seg-kafka%3Aenriched-0-90-91-0000000000000000.avro');
    await fs.writeFile(broken, Buffer.from('not avro at all'));
    const report = await compactLake(lakeDir, { ...OPTIONS, force: true });
    expect(report.compacted.map((done) => done.partition)).toEqual([HOUR_10]);
    expect(report.failed).toEqual([{ partition: HOUR_11, error: expect.stringContaining('not a readable Avro container file') }]);
    // nothing of the failed hour was deleted
    expect((await listPartitionFiles(lakeDir, HOUR_11)).segments).toHaveLength(2);
    expect(await listPartitions(lakeDir)).toEqual([HOUR_10, HOUR_11]);
  });
});

describe('the compactLake scheduled handler', () => {
  let db: TestDatabase;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    db = await createTestDatabase('compaction');
    process.env.SLUICE_PG_URL = db.url;
    process.env.SLUICE_SCHEMA_REGISTRY = path.join(lake.dir, 'unused-registry.json');
  });

  afterAll(async () => {
    process.env = savedEnv;
    await closeSharedResources();
    await db.drop();
  });

  it('compacts the lake of $SLUICE_LAKE_DIR by its settings and throws when an hour failed', async () => {
    const lakeDir = freshLake();
    process.env.SLUICE_LAKE_DIR = lakeDir;
    process.env.SLUICE_LAKE_CLOSE_AFTER_MS = '0';
    await writeLakeSegments(lakeDir, asRecords('kafka:enriched-0', readingsOf('sched', 0, 10)));
    await expect(compactLakeHandler()).resolves.toMatchObject({ compacted: [{ partition: HOUR_10, readings: 10 }], failed: [] });
    await fs.writeFile(path.join(partitionDir(lakeDir, HOUR_10), 'seg-x-1-1-0000000000000000.avro'), 'junk');
    await expect(compactLakeHandler()).rejects.toThrow(/lake compaction failed for 1 hour\(s\): dt=2024-05-01\/hour=10/);
  });

  it('skips while another compactor holds the lake, and when the lake is off', async () => {
    const lakeDir = freshLake();
    process.env.SLUICE_LAKE_DIR = lakeDir;
    const held = await withLakeCompactionLock(db.pool, lakeDir, () => compactLakeHandler());
    expect(held).toEqual({ acquired: true, value: { skipped: 'another compactor is running on this lake' } });
    await expect(compactLakeHandler()).resolves.toMatchObject({ compacted: [], failed: [] });
    process.env.SLUICE_LAKE_DIR = 'none';
    await expect(compactLakeHandler()).resolves.toEqual({ skipped: 'the lake is off (SLUICE_LAKE_DIR=none)' });
  });
});
