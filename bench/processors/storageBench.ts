/**
 * `SLUICE_BENCH_PARTS=storage npm run bench -- processors`: readings into PostgreSQL through the
 * storage processor's bulk path (one INSERT ... SELECT FROM unnest ... ON CONFLICT DO NOTHING
 * per batch) against the baseline of one INSERT round trip per reading, same readings, same
 * table shape, same run. Also: the bulk path when every row is already there (a replay), the
 * lake's segment writes (Avro encode + fsync + rename), and the whole batch as the handler
 * does it (decode, PostgreSQL and lake side by side).
 *
 * Works in a schema of its own (search_path in the connection URL) and drops it afterwards.
 * Settings: SLUICE_PG_URL, SLUICE_BENCH_STORAGE_ROWS (bulk rows, default 20000),
 * SLUICE_BENCH_STORAGE_SINGLE_ROWS (baseline rows, default 2000: one round trip and one commit
 * each make it ~1k rows/s here), SLUICE_BENCH_STORAGE_BATCH (default 1000, the pipeline's BatchSize).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { recordsOf } from '../../processors/shared/streamRecords';
import type { KafkaLikeEvent } from '../../processors/shared/streamRecords';
import { writeLakeSegments } from '../../processors/storage/lake/lakeWriter';
import { insertReadings, insertReadingsOneByOne } from '../../processors/storage/readingsTable';
import { storeReadingBatch } from '../../processors/storage/storeReadings';
import { ensureStorageSchema } from '../../processors/storage/storageMigrations';
import { AvroCodec } from '../../schemas/avroCodec';
import { FileSchemaStore } from '../../schemas/fileSchemaStore';
import type { EnrichedReading } from '../../schemas/records';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { registerSluiceSchemas, SUBJECTS } from '../../schemas/sluiceSchemas';

const numberSetting = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
};

function readings(count: number, devices: number): EnrichedReading[] {
  const start = Date.UTC(2024, 4, 1);
  return Array.from({ length: count }, (_, i) => {
    const seq = Math.floor(i / devices);
    return {
      deviceId: `bench-device-${String(i % devices).padStart(4, '0')}`, deviceType: 'thermo', siteId: `site-${i % 17}`,
      eventTime: start + seq * 1000, seq, metrics: { temperature: 20 + (i % 13) / 3, humidity: 40 + (i % 7), dew_point: 9.5 },
      location: { lat: 52.52, lon: 13.405, alt: null }, battery: 87, firmware: '2.1.0',
      ingestTime: start + seq * 1000 + 35, transformTime: start + seq * 1000 + 80, thresholds: { temperature_max: 80 },
    };
  });
}

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

const perSecond = (rows: number, ms: number): number => Math.round((rows / ms) * 1000);

export const storageBench = {
  async run(): Promise<Record<string, unknown>> {
    const rows = numberSetting('SLUICE_BENCH_STORAGE_ROWS', 20_000);
    const singleRows = numberSetting('SLUICE_BENCH_STORAGE_SINGLE_ROWS', 2000);
    const batchSize = numberSetting('SLUICE_BENCH_STORAGE_BATCH', 1000);
    const baseUrl = process.env.SLUICE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const schema = `bench_storage_${process.pid}_${Date.now().toString(36)}`;
    const admin = new Pool({ connectionString: baseUrl, max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    const pool = new Pool({ connectionString: `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`, max: 4 });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-storage-'));
    const registry = new SchemaRegistry(new FileSchemaStore(path.join(dir, 'registry.json')));
    try {
      await ensureStorageSchema(pool);
      const data = readings(rows, 500);
      const baseline = data.slice(0, singleRows);

      // Baseline first on an empty table, then the bulk path on an empty table: same starting state.
      const singleMs = await timed(() => insertReadingsOneByOne(pool, baseline));
      await pool.query('TRUNCATE readings');
      const bulkMs = await timed(async () => {
        for (const batch of batches(data, batchSize)) await insertReadings(pool, batch);
      });
      const replayMs = await timed(async () => {
        for (const batch of batches(data, batchSize)) await insertReadings(pool, batch);
      });
      const stored = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM readings')).rows[0]?.n);
      if (stored !== rows) throw new Error(`bench: expected ${rows} rows, found ${stored}`);

      const lakeDir = path.join(dir, 'lake');
      const lakeMs = await timed(async () => {
        for (const [b, batch] of batches(data, batchSize).entries()) {
          await writeLakeSegments(lakeDir, batch.map((reading, i) => ({ scope: 'kafka:enriched-0', position: String(b * batchSize + i), data: Buffer.from(`${reading.deviceId}/${reading.seq}`), reading })));
        }
      });

      // The whole handler path on fresh tables: decode Avro, PostgreSQL and lake side by side.
      await registerSluiceSchemas(registry);
      const codec = new AvroCodec(registry);
      // One at a time: 20k concurrent first calls would each read the registry file before its cache fills.
      const encoded: Buffer[] = [];
      for (const reading of data) encoded.push(await codec.encode(SUBJECTS.enrichedReading, reading));
      await pool.query('TRUNCATE readings');
      const handlerLake = path.join(dir, 'handler-lake');
      const handlerMs = await timed(async () => {
        for (const [b, batch] of batches(encoded, batchSize).entries()) {
          const event: KafkaLikeEvent = { eventSource: 'SelfManagedKafka', records: { 'enriched-0': batch.map((value, i) => ({ topic: 'enriched', partition: 0, offset: b * batchSize + i, timestamp: 0, value: value.toString('base64') })) } };
          await storeReadingBatch(recordsOf(event), { pool, codec, lakeDir: handlerLake, deadLetterAddress: undefined, processor: 'bench' });
        }
      });

      const bulk = perSecond(rows, bulkMs);
      const single = perSecond(singleRows, singleMs);
      return {
        batchSize,
        bulkRows: rows,
        singleRows,
        bulkInsertRowsPerSec: bulk,
        singleRowInsertRowsPerSec: single,
        bulkVsSingleRatio: Math.round((bulk / single) * 10) / 10,
        bulkReplayRowsPerSec: perSecond(rows, replayMs),
        lakeSegmentRowsPerSec: perSecond(rows, lakeMs),
        handlerPathRowsPerSec: perSecond(rows, handlerMs),
        note: 'bulk = one INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING per batch; single = one INSERT per reading (autocommit); replay = the same batches again (every row conflicts); handler path = decode + PostgreSQL + lake segment per batch',
      };
    } finally {
      await registry.close();
      await pool.end();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
