/**
 * Shared by the storage suites. Isolation: every suite works in its own PostgreSQL schema
 * (`SLUICE_PG_URL` carries `options=-c search_path=<schema>`, so the handler's unqualified
 * `readings`, `aggregates` and `sluice_migrations` land there and the migrations run afresh),
 * its own lake directory under the OS temp dir, its own schema-registry file and uniquely named
 * streams. Suites can run in parallel and leave nothing behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KinesisStreamEvent } from 'aws-lambda';
import { Pool } from 'pg';
import { AvroCodec } from '../../../schemas/avroCodec';
import type { Aggregate, EnrichedReading } from '../../../schemas/records';
import { registerSluiceSchemas, SUBJECTS } from '../../../schemas/sluiceSchemas';
import type { KafkaLikeEvent } from '../../../processors/shared/streamRecords';
import { tempRegistry } from '../../schemas/tempRegistry';
import type { TempRegistry } from '../../schemas/tempRegistry';
import { testServers, uniqueName } from '../../support/servers';

export interface TestDatabase {
  schema: string;
  /** SLUICE_PG_URL for the handler: the test database with search_path set to the schema */
  url: string;
  /** a pool on that schema, for assertions */
  pool: Pool;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = 'storage'): Promise<TestDatabase> {
  const schema = uniqueName(`t_${prefix}`).replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  const admin = new Pool({ connectionString: testServers.postgresUrl, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const separator = testServers.postgresUrl.includes('?') ? '&' : '?';
  const url = `${testServers.postgresUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const pool = new Pool({ connectionString: url, max: 2 });
  return {
    schema,
    url,
    pool,
    async drop() {
      await pool.end();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

export interface TestCodec {
  codec: AvroCodec;
  registryPath: string;
  registry: TempRegistry;
}

export async function createTestCodec(): Promise<TestCodec> {
  const registry = tempRegistry();
  await registerSluiceSchemas(registry.registry);
  return { codec: new AvroCodec(registry.registry), registryPath: registry.filePath, registry };
}

export function tempLakeDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-lake-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** 2024-05-01T10:00:00Z: readings in tests fall in the hours after it. */
export const BASE_TIME = Date.UTC(2024, 4, 1, 10);

export function makeReading(deviceId: string, seq: number, overrides: Partial<EnrichedReading> = {}): EnrichedReading {
  return {
    deviceId,
    deviceType: 'thermo',
    siteId: 'site-1',
    eventTime: BASE_TIME + seq * 60_000,
    seq,
    metrics: { temperature: 20 + (seq % 7) / 4, humidity: 40 + (seq % 3) },
    location: seq % 2 === 0 ? { lat: 52.52, lon: 13.4, alt: null } : null,
    battery: 90 - (seq % 10),
    firmware: '1.4.2',
    ingestTime: BASE_TIME + seq * 60_000 + 40,
    transformTime: BASE_TIME + seq * 60_000 + 90,
    thresholds: seq % 3 === 0 ? { temperature_max: 80 } : null,
    ...overrides,
  };
}

export function makeAggregate(scopeId: string, windowIndex: number, metric = 'temperature'): Aggregate {
  const windowStart = BASE_TIME + windowIndex * 60_000;
  return {
    scope: 'device', scopeId, windowKind: 'tumbling', windowStart, windowEnd: windowStart + 60_000, metric,
    count: 6, sum: 123, min: 19.5, max: 21.25, mean: 20.5, m2: 1.75,
    firstValue: 19.5, firstTime: windowStart + 1000, lastValue: 21, lastTime: windowStart + 59_000,
    percentiles: windowIndex % 2 === 0 ? { p50: 20.5, p95: 21.2 } : null,
  };
}

export async function encodeReading(codec: AvroCodec, reading: EnrichedReading): Promise<Buffer> {
  return codec.encode(SUBJECTS.enrichedReading, reading);
}

/** A record as a stream would carry it: its position and bytes, keyed like the pipeline keys them. */
export interface StreamEntry {
  position: number;
  key: string;
  value: Buffer;
}

/** A self-managed Kafka event (the shape the runtime builds) with `entries` from one topic partition. */
export function kafkaEvent(topic: string, partition: number, entries: readonly StreamEntry[]): KafkaLikeEvent {
  return {
    eventSource: 'SelfManagedKafka',
    records: {
      [`${topic}-${partition}`]: entries.map((entry) => ({
        topic, partition, offset: entry.position, timestamp: BASE_TIME, timestampType: 'CREATE_TIME',
        key: Buffer.from(entry.key).toString('base64'), value: entry.value.toString('base64'), headers: [],
      })),
    },
  };
}

export function kinesisEvent(stream: string, shardId: string, entries: readonly StreamEntry[]): KinesisStreamEvent {
  return {
    Records: entries.map((entry) => {
      const sequenceNumber = `4963${String(entry.position).padStart(52, '0')}`;
      return {
        eventID: `${shardId}:${sequenceNumber}`,
        eventName: 'aws:kinesis:record',
        eventVersion: '1.0',
        eventSource: 'aws:kinesis',
        awsRegion: 'us-east-1',
        invokeIdentityArn: 'arn:aws:iam::000000000000:role/sluice',
        eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${stream}`,
        kinesis: {
          kinesisSchemaVersion: '1.0', partitionKey: entry.key, sequenceNumber,
          data: entry.value.toString('base64'), approximateArrivalTimestamp: BASE_TIME / 1000,
        },
      };
    }),
  };
}

/** A stored reading read back from the `readings` table, in EnrichedReading shape. */
interface ReadingRow {
  device_id: string; seq: string; device_type: string; site_id: string; event_ms: number; metrics: Record<string, number>;
  lat: number | null; lon: number | null; alt: number | null; battery: number | null; firmware: string | null;
  ingest_ms: number | null; transform_ms: number; thresholds: Record<string, number> | null;
}

/** Epoch ms computed by PostgreSQL (exact), not by parsing its text into a JS Date. */
const epochMs = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`;

export async function storedReadings(pool: Pool): Promise<EnrichedReading[]> {
  const { rows } = await pool.query<ReadingRow>(`SELECT *, ${epochMs('event_time')} AS event_ms, ${epochMs('ingest_time')} AS ingest_ms, ${epochMs('transform_time')} AS transform_ms FROM readings`);
  return rows.map((row) => ({
    deviceId: row.device_id,
    deviceType: row.device_type,
    siteId: row.site_id,
    eventTime: row.event_ms,
    seq: Number(row.seq),
    metrics: row.metrics,
    location: row.lat === null || row.lon === null ? null : { lat: row.lat, lon: row.lon, alt: row.alt },
    battery: row.battery,
    firmware: row.firmware,
    ingestTime: row.ingest_ms,
    transformTime: row.transform_ms,
    thresholds: row.thresholds,
  })).sort(byKey);
}

/** A reading as plain JSON-comparable data (avsc gives record-class instances; jest compares classes). */
export function plainReading(reading: EnrichedReading): EnrichedReading {
  return {
    deviceId: reading.deviceId,
    deviceType: reading.deviceType,
    siteId: reading.siteId,
    eventTime: reading.eventTime,
    seq: reading.seq,
    metrics: { ...reading.metrics },
    location: reading.location ? { lat: reading.location.lat, lon: reading.location.lon, alt: reading.location.alt ?? null } : null,
    battery: reading.battery ?? null,
    firmware: reading.firmware ?? null,
    ingestTime: reading.ingestTime ?? null,
    transformTime: reading.transformTime,
    thresholds: reading.thresholds ? { ...reading.thresholds } : null,
  };
}

export function byKey(a: EnrichedReading, b: EnrichedReading): number {
  if (a.deviceId !== b.deviceId) return a.deviceId < b.deviceId ? -1 : 1;
  return a.seq - b.seq;
}

interface AggregateRow {
  scope: Aggregate['scope']; scope_id: string; window_kind: Aggregate['windowKind']; start_ms: number; end_ms: number; metric: string;
  count: string; sum: number; min: number; max: number; mean: number; m2: number;
  first_value: number; first_ms: number; last_value: number; last_ms: number; percentiles: Record<string, number> | null;
}

/** Stored aggregates read back in Aggregate shape, sorted by their natural key. */
export async function storedAggregates(pool: Pool): Promise<Aggregate[]> {
  const times = [['window_start', 'start_ms'], ['window_end', 'end_ms'], ['first_time', 'first_ms'], ['last_time', 'last_ms']].map(([column, alias]) => `${epochMs(column as string)} AS ${alias}`);
  const { rows } = await pool.query<AggregateRow>(`SELECT *, ${times.join(', ')} FROM aggregates`);
  return rows.map((row) => ({
    scope: row.scope, scopeId: row.scope_id, windowKind: row.window_kind, windowStart: row.start_ms, windowEnd: row.end_ms, metric: row.metric,
    count: Number(row.count), sum: row.sum, min: row.min, max: row.max, mean: row.mean, m2: row.m2,
    firstValue: row.first_value, firstTime: row.first_ms, lastValue: row.last_value, lastTime: row.last_ms, percentiles: row.percentiles,
  })).sort(byAggregateKey);
}

export function byAggregateKey(a: Aggregate, b: Aggregate): number {
  const left = [a.scope, a.scopeId, a.windowKind, a.windowStart, a.windowEnd, a.metric];
  const right = [b.scope, b.scopeId, b.windowKind, b.windowStart, b.windowEnd, b.metric];
  for (let i = 0; i < left.length; i++) {
    const x = left[i] as string | number;
    const y = right[i] as string | number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** node-pg sends numbers with toString(), which writes -0 as "0", and JSON has no -0 either: PostgreSQL stores 0. */
export function withoutNegativeZero<T>(value: T): T {
  if (Object.is(value, -0)) return 0 as T;
  if (Array.isArray(value)) return value.map(withoutNegativeZero) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = withoutNegativeZero(inner);
    return out as T;
  }
  return value;
}
