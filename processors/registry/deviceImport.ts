/**
 * `sluice devices import file.csv`: parse, check every row, then upsert all of them in one
 * transaction. A file with bad rows imports nothing and the error lists every bad row by line
 * (the file is one change: half of it applied would leave a registry nobody wrote); with
 * `skipInvalid` the valid rows go in and the bad ones are reported.
 */
import type { Pool } from 'pg';
import { ConfigError } from '../../core/errors';
import { applyMigrations } from '../shared/migrations';
import { withPgClient } from '../shared/pgConnections';
import type { CsvRowError } from './deviceCsv';
import { parseDeviceCsv } from './deviceCsv';
import type { DeviceRegistration } from './deviceRegistration';
import type { UpsertCounts } from './deviceStore';
import { upsertDevices } from './deviceStore';
import { REGISTRY_MIGRATIONS } from './registryMigrations';

export interface DeviceImportOptions {
  /** the file name, for messages */
  source: string;
  /** import the valid rows even if some are bad (default: a bad row imports nothing) */
  skipInvalid?: boolean;
}

export interface DeviceImportReport extends UpsertCounts {
  source: string;
  /** data rows in the file */
  rows: number;
  /** rows stored (inserted + updated + unchanged) */
  imported: number;
  /** bad rows, left out (only with skipInvalid; otherwise the import throws) */
  skipped: CsvRowError[];
}

/** Error messages list at most this many rows, then how many more. */
const MAX_LISTED_ERRORS = 50;

export function describeRowErrors(errors: readonly CsvRowError[]): string {
  const listed = errors.slice(0, MAX_LISTED_ERRORS).map((error) => `\n  line ${error.line}: ${error.message}`);
  if (errors.length > MAX_LISTED_ERRORS) listed.push(`\n  ... and ${errors.length - MAX_LISTED_ERRORS} more`);
  return listed.join('');
}

/** Upserts devices in one transaction (creating the table first if needed); `keep` leaves registered devices as they are. */
export async function registerDevices(pool: Pool, devices: readonly DeviceRegistration[], onConflict: 'update' | 'keep' = 'update'): Promise<UpsertCounts> {
  await applyMigrations(pool, REGISTRY_MIGRATIONS);
  return withPgClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      const counts = await upsertDevices(client, devices, onConflict);
      await client.query('COMMIT');
      return counts;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}

export async function importDevicesCsv(pool: Pool, text: string | Buffer, options: DeviceImportOptions): Promise<DeviceImportReport> {
  const parsed = parseDeviceCsv(text, options.source);
  if (parsed.errors.length > 0 && options.skipInvalid !== true) {
    throw new ConfigError(
      options.source,
      `${parsed.errors.length} of ${parsed.rows} rows are invalid, nothing was imported (fix them, or pass --skip-invalid to import the valid rows):${describeRowErrors(parsed.errors)}`,
    );
  }
  const counts = await registerDevices(pool, parsed.devices.map((entry) => entry.device));
  return { source: options.source, rows: parsed.rows, imported: parsed.devices.length, ...counts, skipped: parsed.errors };
}
