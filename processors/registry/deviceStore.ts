/**
 * Reads and writes of the `devices` table (registryMigrations.ts). Writes are set-based (one
 * statement per chunk through unnest), reads take a whole batch of ids in one query: the
 * transform looks up a batch's unknown devices with one round trip.
 */
import type { Pool, PoolClient } from 'pg';
import type { DeviceRegistration, RegisteredDevice } from './deviceRegistration';

/** A pool or a client inside a transaction. */
export type Queryable = Pick<Pool | PoolClient, 'query'>;

export interface UpsertCounts {
  inserted: number;
  updated: number;
  /** rows already stored exactly as given (their updated_at stays) */
  unchanged: number;
}

/** Rows per statement: 4 array parameters, so no limit on parameters applies; this bounds statement size. */
const UPSERT_CHUNK = 1000;

interface DeviceRow {
  device_id: string;
  device_type: string;
  site_id: string;
  thresholds: unknown;
  registered_at: Date;
  updated_at: Date;
}

/**
 * Inserts new devices and updates known ones (type, site and the whole thresholds map: a
 * registration replaces what was stored), or with `onConflict: 'keep'` leaves known ones as
 * they are (counted unchanged). A device given twice in one call is refused by
 * PostgreSQL; callers pass distinct ids (the CSV import reports duplicates by line).
 */
export async function upsertDevices(db: Queryable, devices: readonly DeviceRegistration[], onConflict: 'update' | 'keep' = 'update'): Promise<UpsertCounts> {
  const conflict = onConflict === 'keep'
    ? 'DO NOTHING'
    : `DO UPDATE
         SET device_type = EXCLUDED.device_type, site_id = EXCLUDED.site_id, thresholds = EXCLUDED.thresholds, updated_at = now()
         WHERE (devices.device_type, devices.site_id, devices.thresholds) IS DISTINCT FROM (EXCLUDED.device_type, EXCLUDED.site_id, EXCLUDED.thresholds)`;
  const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
  for (let start = 0; start < devices.length; start += UPSERT_CHUNK) {
    const chunk = devices.slice(start, start + UPSERT_CHUNK);
    const result = await db.query<{ inserted: boolean }>(
      `INSERT INTO devices (device_id, device_type, site_id, thresholds)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])
       ON CONFLICT (device_id) ${conflict}
       RETURNING (xmax = 0) AS inserted`,
      [
        chunk.map((device) => device.deviceId),
        chunk.map((device) => device.deviceType),
        chunk.map((device) => device.siteId),
        chunk.map((device) => JSON.stringify(device.thresholds)),
      ],
    );
    // xmax = 0 marks a freshly inserted row version; an updated one carries the updating transaction.
    const inserted = result.rows.filter((row) => row.inserted).length;
    counts.inserted += inserted;
    counts.updated += result.rows.length - inserted;
    counts.unchanged += chunk.length - result.rows.length;
  }
  return counts;
}

/** The stored thresholds, keeping only finite numbers (the column may have been written by hand). */
function thresholdsOf(value: unknown): Record<string, number> {
  const thresholds: Record<string, number> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return thresholds;
  for (const [key, threshold] of Object.entries(value)) {
    if (typeof threshold === 'number' && Number.isFinite(threshold) && key !== '__proto__') thresholds[key] = threshold;
  }
  return thresholds;
}

function deviceOf(row: DeviceRow): RegisteredDevice {
  return {
    deviceId: row.device_id,
    deviceType: row.device_type,
    siteId: row.site_id,
    thresholds: thresholdsOf(row.thresholds),
    registeredAt: row.registered_at,
    updatedAt: row.updated_at,
  };
}

const COLUMNS = 'device_id, device_type, site_id, thresholds, registered_at, updated_at';

/** The registered devices among `deviceIds`, in one query; ids the registry does not know are absent. */
export async function findDevices(db: Queryable, deviceIds: readonly string[]): Promise<Map<string, RegisteredDevice>> {
  const found = new Map<string, RegisteredDevice>();
  if (deviceIds.length === 0) return found;
  const result = await db.query<DeviceRow>(`SELECT ${COLUMNS} FROM devices WHERE device_id = ANY($1::text[])`, [deviceIds]);
  for (const row of result.rows) found.set(row.device_id, deviceOf(row));
  return found;
}

export interface DeviceListFilter {
  /** device ids starting with this */
  prefix?: string;
  siteId?: string;
  limit?: number;
}

/** Registered devices in device id order. */
export async function listDevices(db: Queryable, filter: DeviceListFilter = {}): Promise<RegisteredDevice[]> {
  const result = await db.query<DeviceRow>(
    `SELECT ${COLUMNS} FROM devices
      WHERE ($1::text IS NULL OR starts_with(device_id, $1)) AND ($2::text IS NULL OR site_id = $2)
      ORDER BY device_id LIMIT $3`,
    [filter.prefix ?? null, filter.siteId ?? null, filter.limit ?? null],
  );
  return result.rows.map(deviceOf);
}
