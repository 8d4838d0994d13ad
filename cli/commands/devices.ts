/**
 * `sluice devices import|list|register-fleet`: the device registry the transform enriches
 * readings from (PostgreSQL table `devices`, processors/registry/).
 *
 * `registerSimulatedFleet` is what `sluice up` calls so that the simulated fleet starts out
 * registered: the same device ids and types the simulator uses (simulators/fleetDevices.ts),
 * deterministic sites, per-type thresholds.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Pool } from 'pg';
import { ConfigError, SluiceError, errorMessage } from '../../core/errors';
import { describeRowErrors, importDevicesCsv } from '../../processors/registry/deviceImport';
import type { DeviceImportReport } from '../../processors/registry/deviceImport';
import type { RegisteredDevice } from '../../processors/registry/deviceRegistration';
import { listDevices } from '../../processors/registry/deviceStore';
import { defaultSiteCount, registerFleetDevices } from '../../processors/registry/fleetRegistration';
import type { FleetDeviceIdentity } from '../../processors/registry/fleetRegistration';
import type { UpsertCounts } from '../../processors/registry/deviceStore';
import { REGISTRY_MIGRATIONS } from '../../processors/registry/registryMigrations';
import { applyMigrations } from '../../processors/shared/migrations';
import { createFleetDevices } from '../../simulators/fleetDevices';
import { resolveFleetOptions } from '../../simulators/fleetOptions';
import type { FleetOptions } from '../../simulators/fleetOptions';
import { DEVICE_TYPES } from '../../simulators/signals/signalModel';
import { formatTable } from './checkpoints';
import { registerDevicesProvision } from './devicesProvision';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

export function pgUrlFrom(flag: string | undefined): string {
  return flag ?? process.env.SLUICE_PG_URL ?? DEFAULT_PG_URL;
}

/** A pool whose server answered, or a SERVICE_UNAVAILABLE saying what to do. */
export async function connectPg(url: string): Promise<Pool> {
  const pool = new Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined); // an idle client's error; the next query reports it
  try {
    await pool.query('SELECT 1');
    return pool;
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new SluiceError('SERVICE_UNAVAILABLE', `PostgreSQL at ${url} does not answer (${errorMessage(error)}); start it (sluice infra status says how) or pass --pg-url`);
  }
}

async function withPg<T>(flag: string | undefined, use: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = await connectPg(pgUrlFrom(flag));
  try {
    return await use(pool);
  } finally {
    await pool.end();
  }
}

/** The ids and types of a simulated fleet, exactly as the simulator makes them. */
export function simulatedFleetDevices(fleet: Partial<Pick<FleetOptions, 'devices' | 'deviceIdPrefix' | 'deviceTypes'>>): FleetDeviceIdentity[] {
  // mqttUrl is required by the resolver but plays no part in ids and types.
  const options = resolveFleetOptions({ mqttUrl: 'mqtt://127.0.0.1:1883', ...fleet }, (key) => (key === 'deviceIdPrefix' ? '--device-id-prefix' : key === 'deviceTypes' ? '--device-types' : `--${key}`));
  return createFleetDevices(options).map((device) => ({ deviceId: device.deviceId, deviceType: device.deviceType }));
}

/** Registers a simulated fleet's devices that the registry does not know yet (what `sluice up` calls). */
export async function registerSimulatedFleet(
  pool: Pool,
  fleet: Partial<Pick<FleetOptions, 'devices' | 'deviceIdPrefix' | 'deviceTypes'>>,
  sites?: number,
): Promise<UpsertCounts & { devices: number; sites: number }> {
  const devices = simulatedFleetDevices(fleet);
  const siteCount = sites ?? defaultSiteCount(devices.length);
  const counts = await registerFleetDevices(pool, devices, { sites: siteCount });
  return { ...counts, devices: devices.length, sites: siteCount };
}

export async function importDevicesFile(flags: { file: string; pgUrl?: string; skipInvalid?: boolean }): Promise<DeviceImportReport> {
  let text: Buffer;
  try {
    text = await readFile(flags.file);
  } catch (error) {
    throw new ConfigError(flags.file, `cannot read the file: ${errorMessage(error)}`);
  }
  return withPg(flags.pgUrl, (pool) => importDevicesCsv(pool, text, { source: flags.file, skipInvalid: flags.skipInvalid }));
}

function positiveInteger(value: string, flag: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < 1) throw new ConfigError(flag, `must be a positive integer, got "${value}"`);
  return number;
}

export async function listRegisteredDevices(flags: { pgUrl?: string; prefix?: string; site?: string; limit?: string }): Promise<RegisteredDevice[]> {
  const limit = positiveInteger(flags.limit ?? '1000', '--limit');
  return withPg(flags.pgUrl, async (pool) => {
    await applyMigrations(pool, REGISTRY_MIGRATIONS);
    return listDevices(pool, { prefix: flags.prefix, siteId: flags.site, limit });
  });
}

function thresholdsText(thresholds: Record<string, number>): string {
  return Object.entries(thresholds).map(([key, value]) => `${key}=${value}`).join(' ');
}

function importSummary(report: DeviceImportReport): string {
  const lines = [`${report.source}: ${report.imported} of ${report.rows} rows imported (${report.inserted} new, ${report.updated} updated, ${report.unchanged} unchanged)`];
  if (report.skipped.length > 0) lines.push(`skipped ${report.skipped.length} invalid rows:${describeRowErrors(report.skipped)}`);
  return lines.join('\n');
}

export function registerDevicesCommand(program: Command): void {
  const devices = program.command('devices').description('the device registry the transform enriches readings from (PostgreSQL table devices)');
  devices.command('import')
    .description('add or update devices from a CSV file (device_id,device_type,site_id, then threshold columns like temperature_max)')
    .argument('<file>', 'CSV file with a header line')
    .option('--pg-url <url>', `PostgreSQL (default $SLUICE_PG_URL or ${DEFAULT_PG_URL})`)
    .option('--skip-invalid', 'import the valid rows and report the invalid ones (default: any invalid row imports nothing)')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', `
CSV format (RFC 4180; # comment lines and empty lines are skipped):
  device_id,device_type,site_id,temperature_max,humidity_max
  dev-0000,temperature-humidity,site-01,30,80
  dev-0001,pump-vibration,site-02,,

Threshold columns are named <metric>_min or <metric>_max, in the metric's normalized unit; an
empty cell means no such threshold. A device already registered is updated: its type, site and
thresholds become the row's. Bad rows are reported with their line numbers.`)
    .action(async (file: string, flags: { pgUrl?: string; skipInvalid?: boolean; json?: boolean }) => {
      const report = await importDevicesFile({ file, ...flags });
      console.log(flags.json === true ? JSON.stringify(report, null, 2) : importSummary(report));
    });
  devices.command('list')
    .description('list registered devices in device id order')
    .option('--pg-url <url>', `PostgreSQL (default $SLUICE_PG_URL or ${DEFAULT_PG_URL})`)
    .option('--prefix <text>', 'only device ids starting with this')
    .option('--site <siteId>', 'only devices of this site')
    .option('--limit <n>', 'at most this many devices', '1000')
    .option('--json', 'print JSON instead of a table')
    .action(async (flags: { pgUrl?: string; prefix?: string; site?: string; limit?: string; json?: boolean }) => {
      const rows = await listRegisteredDevices(flags);
      if (flags.json === true) console.log(JSON.stringify(rows, null, 2));
      else if (rows.length === 0) console.log('no devices registered');
      else console.log(formatTable([['device', 'type', 'site', 'thresholds', 'registered'], ...rows.map((row) => [row.deviceId, row.deviceType, row.siteId, thresholdsText(row.thresholds), row.registeredAt.toISOString()])]));
    });
  devices.command('register-fleet')
    .description('register the devices of a simulated fleet (as `sluice simulate` makes them) that are not registered yet')
    .option('--pg-url <url>', `PostgreSQL (default $SLUICE_PG_URL or ${DEFAULT_PG_URL})`)
    .option('--devices <n>', 'number of devices', '10')
    .option('--device-id-prefix <prefix>', 'device ids are <prefix>-0000, <prefix>-0001, ...', 'dev')
    .option('--device-types <list>', `comma-separated, assigned round robin (default all: ${DEVICE_TYPES.join(',')})`)
    .option('--sites <n>', 'devices are dealt out to site-01..site-<n>, each site getting every device type (default: about 5 devices a site, at most 10)')
    .option('--json', 'print the counts as JSON')
    .action(async (flags: { pgUrl?: string; devices: string; deviceIdPrefix: string; deviceTypes?: string; sites?: string; json?: boolean }) => {
      const deviceTypes = flags.deviceTypes?.split(',').map((type) => type.trim()).filter((type) => type !== '');
      const sites = flags.sites === undefined ? undefined : positiveInteger(flags.sites, '--sites');
      const fleet = { devices: positiveInteger(flags.devices, '--devices'), deviceIdPrefix: flags.deviceIdPrefix, deviceTypes: deviceTypes as FleetOptions['deviceTypes'] | undefined };
      const report = await withPg(flags.pgUrl, (pool) => registerSimulatedFleet(pool, fleet, sites));
      console.log(flags.json === true ? JSON.stringify(report, null, 2) : `${report.devices} devices over ${report.sites} sites: ${report.inserted} registered, ${report.unchanged} already known`);
    });
  registerDevicesProvision(devices);
}
