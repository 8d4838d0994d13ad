/**
 * The alerts processor's PostgreSQL schema: `alerts` (the latest state of every alert) and
 * `alert_transitions` (its history: one row per version). Rows are a pure function of the
 * notification they come from, so sending one twice changes nothing: transitions insert ON
 * CONFLICT DO NOTHING, and an alert row only moves to a higher version.
 */
import type { Pool } from 'pg';
import type { Migration } from '../shared/migrations';
import { ensureMigrations } from '../shared/migrations';

export const ALERTS_MIGRATIONS: readonly Migration[] = [
  {
    id: 'alerts-001-alerts',
    sql: `
      CREATE TABLE IF NOT EXISTS alerts (
        alert_id text PRIMARY KEY,
        device_id text NOT NULL,
        rule_id text NOT NULL,
        severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        state text NOT NULL CHECK (state IN ('open', 'acknowledged', 'cleared')),
        value double precision NOT NULL,
        threshold double precision NOT NULL,
        message text NOT NULL,
        raised_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        acknowledged_at timestamptz,
        acknowledged_by text,
        cleared_at timestamptz,
        cleared_by text,
        family text NOT NULL,
        kind text NOT NULL,
        metric text,
        version integer NOT NULL
      );
      CREATE INDEX IF NOT EXISTS alerts_device_raised ON alerts (device_id, raised_at DESC);
      CREATE INDEX IF NOT EXISTS alerts_active ON alerts (state, raised_at DESC) WHERE state <> 'cleared';`,
  },
  {
    id: 'alerts-002-alert-transitions',
    sql: `
      CREATE TABLE IF NOT EXISTS alert_transitions (
        alert_id text NOT NULL,
        version integer NOT NULL,
        transition text NOT NULL CHECK (transition IN ('opened', 'renotified', 'acknowledged', 'cleared')),
        state text NOT NULL,
        at timestamptz NOT NULL,
        value double precision NOT NULL,
        alert jsonb NOT NULL,
        PRIMARY KEY (alert_id, version)
      );`,
  },
];

/**
 * Checks the migrations once per pool in this process and applies what is missing when the role
 * may (processors/shared/migrations.ts; the pipeline role may not: the owner applies them with
 * `sluice security pg-roles --migrate`). A failure is not remembered: the next call tries again.
 */
export function ensureAlertsSchema(pool: Pool): Promise<void> {
  return ensureMigrations(pool, ALERTS_MIGRATIONS);
}
