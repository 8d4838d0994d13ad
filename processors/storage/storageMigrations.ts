/**
 * The storage processor's PostgreSQL schema. `ensureStorageSchema` checks it on a handler's
 * first invocation (per pool, per process) and applies what is missing when the role may
 * (processors/shared/migrations.ts); under least privilege the owner applies it beforehand
 * (`sluice security pg-roles --migrate`). Applied migrations are never edited: a change is a new
 * migration.
 *
 * Rows are a pure function of the record they come from (no `stored_at DEFAULT now()`), so a
 * replay into an empty database gives the very same rows, and a replay into a full one changes
 * nothing (ON CONFLICT DO NOTHING on the natural keys).
 */
import type { Pool } from 'pg';
import type { Migration } from '../shared/migrations';
import { ensureMigrations } from '../shared/migrations';

export const STORAGE_MIGRATIONS: readonly Migration[] = [
  {
    id: 'storage-001-readings',
    sql: `
      CREATE TABLE IF NOT EXISTS readings (
        device_id text NOT NULL,
        seq bigint NOT NULL,
        device_type text NOT NULL,
        site_id text NOT NULL,
        event_time timestamptz NOT NULL,
        metrics jsonb NOT NULL,
        lat double precision,
        lon double precision,
        alt double precision,
        battery double precision,
        firmware text,
        ingest_time timestamptz,
        transform_time timestamptz NOT NULL,
        thresholds jsonb,
        PRIMARY KEY (device_id, seq)
      );
      CREATE INDEX IF NOT EXISTS readings_event_time ON readings (event_time);`,
  },
  {
    id: 'storage-002-aggregates',
    sql: `
      CREATE TABLE IF NOT EXISTS aggregates (
        scope text NOT NULL CHECK (scope IN ('device', 'site')),
        scope_id text NOT NULL,
        window_kind text NOT NULL CHECK (window_kind IN ('tumbling', 'hopping', 'session')),
        window_start timestamptz NOT NULL,
        window_end timestamptz NOT NULL,
        metric text NOT NULL,
        count bigint NOT NULL,
        sum double precision NOT NULL,
        min double precision NOT NULL,
        max double precision NOT NULL,
        mean double precision NOT NULL,
        m2 double precision NOT NULL,
        first_value double precision NOT NULL,
        first_time timestamptz NOT NULL,
        last_value double precision NOT NULL,
        last_time timestamptz NOT NULL,
        percentiles jsonb,
        PRIMARY KEY (scope, scope_id, window_kind, window_start, window_end, metric)
      );
      CREATE INDEX IF NOT EXISTS aggregates_window_start ON aggregates (window_start);`,
  },
];

/**
 * Checks (and, when the role may, applies) the storage migrations once per pool in this
 * process: a cold start pays it, warm invocations do not. A failure is not remembered: the next
 * invocation tries again.
 */
export function ensureStorageSchema(pool: Pool): Promise<void> {
  return ensureMigrations(pool, STORAGE_MIGRATIONS);
}
