/**
 * The device registry's tables (applied with processors/shared/migrations.ts). Applied
 * migrations are never edited: a change is a new migration with the next number.
 */
import type { Migration } from '../shared/migrations';

export const REGISTRY_MIGRATIONS: readonly Migration[] = [
  {
    id: 'registry-001-devices',
    sql: `
      CREATE TABLE devices (
        device_id     text PRIMARY KEY CHECK (device_id <> ''),
        device_type   text NOT NULL CHECK (device_type <> ''),
        site_id       text NOT NULL CHECK (site_id <> ''),
        -- {"temperature_max": 30, ...}: per-device alert thresholds in normalized units
        thresholds    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(thresholds) = 'object'),
        registered_at timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX devices_site_id ON devices (site_id);
    `,
  },
];
