/**
 * Writes EnrichedReadings to the `readings` table, idempotently: the natural key is
 * (device_id, seq), and ON CONFLICT DO NOTHING makes a replayed or duplicated reading a no-op.
 *
 * The bulk path is one INSERT ... SELECT FROM unnest(<one array per column>) per batch: a single
 * statement with 14 parameters whatever the batch size (a VALUES list needs 14 per row and
 * stops at 65,535 parameters), and PostgreSQL plans it once. Measured against a multi-row
 * VALUES list and COPY into a temp table followed by INSERT ... SELECT ON CONFLICT DO NOTHING,
 * unnest and COPY were level within this machine's noise and VALUES was slower; COPY would
 * add a dependency, a transaction and a temp table per connection, so unnest it is
 * (processors/storage/README.md has the figures).
 *
 * Rows go in sorted by key: two writers inserting overlapping keys (a zombie worker and the new
 * lease owner, say) then take row locks in the same order and cannot deadlock.
 */
import type { Pool, PoolClient } from 'pg';
import type { EnrichedReading } from '../../schemas/records';

type Queryable = Pick<Pool | PoolClient, 'query'>;

const COLUMNS = [
  ['device_id', 'text'],
  ['seq', 'bigint'],
  ['device_type', 'text'],
  ['site_id', 'text'],
  ['event_time', 'timestamptz'],
  ['metrics', 'jsonb'],
  ['lat', 'float8'],
  ['lon', 'float8'],
  ['alt', 'float8'],
  ['battery', 'float8'],
  ['firmware', 'text'],
  ['ingest_time', 'timestamptz'],
  ['transform_time', 'timestamptz'],
  ['thresholds', 'jsonb'],
] as const;

const COLUMN_LIST = COLUMNS.map(([name]) => name).join(', ');

const BULK_INSERT = `INSERT INTO readings (${COLUMN_LIST})
  SELECT * FROM unnest(${COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})
  ON CONFLICT (device_id, seq) DO NOTHING`;

const SINGLE_INSERT = `INSERT INTO readings (${COLUMN_LIST}) VALUES (${COLUMNS.map(([, type], i) => `$${i + 1}::${type}`).join(', ')})
  ON CONFLICT (device_id, seq) DO NOTHING`;

type ColumnValue = string | number | null;

/** ISO 8601 keeps the exact millisecond (a float of seconds would not, far from 1970). */
function timestamp(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** One row, in COLUMNS order. Assumes storableValues.readingProblem found nothing. */
export function readingRow(reading: EnrichedReading): ColumnValue[] {
  return [
    reading.deviceId,
    String(reading.seq),
    reading.deviceType,
    reading.siteId,
    timestamp(reading.eventTime),
    JSON.stringify(reading.metrics),
    reading.location?.lat ?? null,
    reading.location?.lon ?? null,
    reading.location?.alt ?? null,
    reading.battery ?? null,
    reading.firmware ?? null,
    timestamp(reading.ingestTime),
    timestamp(reading.transformTime),
    reading.thresholds ? JSON.stringify(reading.thresholds) : null,
  ];
}

export function compareReadingKeys(a: EnrichedReading, b: EnrichedReading): number {
  if (a.deviceId !== b.deviceId) return a.deviceId < b.deviceId ? -1 : 1;
  return a.seq - b.seq;
}

/** The batch's distinct readings (first delivery wins), sorted by key. */
export function distinctByKey(readings: readonly EnrichedReading[]): EnrichedReading[] {
  const seen = new Set<string>();
  const out: EnrichedReading[] = [];
  for (const reading of readings) {
    const key = `${reading.deviceId}\u0000${reading.seq}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(reading);
  }
  return out.sort(compareReadingKeys);
}

/** One statement for the whole batch; resolves with the number of rows that were new. */
export async function insertReadings(db: Queryable, readings: readonly EnrichedReading[]): Promise<number> {
  const distinct = distinctByKey(readings);
  if (distinct.length === 0) return 0;
  const columns: ColumnValue[][] = COLUMNS.map(() => new Array<ColumnValue>(distinct.length));
  distinct.forEach((reading, row) => {
    readingRow(reading).forEach((value, column) => {
      (columns[column] as ColumnValue[])[row] = value;
    });
  });
  const result = await db.query({ name: 'sluice-storage-insert-readings', text: BULK_INSERT, values: columns });
  return result.rowCount ?? 0;
}

/** The baseline the benchmark compares with: one INSERT round trip per reading. */
export async function insertReadingsOneByOne(db: Queryable, readings: readonly EnrichedReading[]): Promise<number> {
  let inserted = 0;
  for (const reading of readings) {
    const result = await db.query({ name: 'sluice-storage-insert-reading', text: SINGLE_INSERT, values: readingRow(reading) });
    inserted += result.rowCount ?? 0;
  }
  return inserted;
}
