/**
 * Writes closed window Aggregates to the `aggregates` table, idempotently: the natural key is
 * (scope, scope_id, window_kind, window_start, window_end, metric) and a closed window is final,
 * so ON CONFLICT DO NOTHING makes a replayed aggregate a no-op. Same bulk form as the readings
 * (one INSERT ... SELECT FROM unnest per batch, rows sorted by key; see readingsTable.ts).
 */
import type { Pool, PoolClient } from 'pg';
import type { Aggregate } from '../../schemas/records';

type Queryable = Pick<Pool | PoolClient, 'query'>;

const COLUMNS = [
  ['scope', 'text'],
  ['scope_id', 'text'],
  ['window_kind', 'text'],
  ['window_start', 'timestamptz'],
  ['window_end', 'timestamptz'],
  ['metric', 'text'],
  ['count', 'bigint'],
  ['sum', 'float8'],
  ['min', 'float8'],
  ['max', 'float8'],
  ['mean', 'float8'],
  ['m2', 'float8'],
  ['first_value', 'float8'],
  ['first_time', 'timestamptz'],
  ['last_value', 'float8'],
  ['last_time', 'timestamptz'],
  ['percentiles', 'jsonb'],
] as const;

const BULK_INSERT = `INSERT INTO aggregates (${COLUMNS.map(([name]) => name).join(', ')})
  SELECT * FROM unnest(${COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})
  ON CONFLICT (scope, scope_id, window_kind, window_start, window_end, metric) DO NOTHING`;

type ColumnValue = string | number | null;

const iso = (ms: number): string => new Date(ms).toISOString();

/** One row, in COLUMNS order. float8 takes NaN and Infinity (node-pg sends them as text), so only percentiles (jsonb) are checked. */
export function aggregateRow(aggregate: Aggregate): ColumnValue[] {
  return [
    aggregate.scope,
    aggregate.scopeId,
    aggregate.windowKind,
    iso(aggregate.windowStart),
    iso(aggregate.windowEnd),
    aggregate.metric,
    String(aggregate.count),
    aggregate.sum,
    aggregate.min,
    aggregate.max,
    aggregate.mean,
    aggregate.m2,
    aggregate.firstValue,
    iso(aggregate.firstTime),
    aggregate.lastValue,
    iso(aggregate.lastTime),
    aggregate.percentiles ? JSON.stringify(aggregate.percentiles) : null,
  ];
}

/** The natural key as one string (for dedupe within a batch and ordering). */
export function aggregateKey(aggregate: Aggregate): string {
  return [aggregate.scope, aggregate.scopeId, aggregate.windowKind, String(aggregate.windowStart).padStart(16, '0'), String(aggregate.windowEnd).padStart(16, '0'), aggregate.metric].join('\u0000');
}

export async function insertAggregates(db: Queryable, aggregates: readonly Aggregate[]): Promise<number> {
  const byKey = new Map<string, Aggregate>();
  for (const aggregate of aggregates) {
    const key = aggregateKey(aggregate);
    if (!byKey.has(key)) byKey.set(key, aggregate);
  }
  if (byKey.size === 0) return 0;
  const distinct = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, aggregate]) => aggregate);
  const columns: ColumnValue[][] = COLUMNS.map(() => new Array<ColumnValue>(distinct.length));
  distinct.forEach((aggregate, row) => {
    aggregateRow(aggregate).forEach((value, column) => {
      (columns[column] as ColumnValue[])[row] = value;
    });
  });
  const result = await db.query({ name: 'sluice-storage-insert-aggregates', text: BULK_INSERT, values: columns });
  return result.rowCount ?? 0;
}
