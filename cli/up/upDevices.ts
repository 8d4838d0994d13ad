/**
 * The simulated fleet in the device registry before the devices start, so transform enriches
 * their readings (site, thresholds) from the first one. Devices a user registered already keep
 * what they have.
 */
import { Pool } from 'pg';
import { defaultSiteCount, registerFleetDevices } from '../../processors/registry/fleetRegistration';
import { createFleetDevices } from '../../simulators/fleetDevices';
import { resolveFleetOptions } from '../../simulators/fleetOptions';
import type { UpOptions } from './upOptions';

/** A line for the start-up report, or undefined without PostgreSQL. */
export async function registerUpDevices(pgUrl: string | undefined, options: UpOptions): Promise<string | undefined> {
  if (!pgUrl) return undefined;
  const devices = createFleetDevices(resolveFleetOptions({ mqttUrl: 'mqtt://127.0.0.1', devices: options.devices, seed: options.seed }));
  const pool = new Pool({ connectionString: pgUrl, max: 1 });
  try {
    const sites = defaultSiteCount(devices.length);
    const counts = await registerFleetDevices(pool, devices, { sites });
    return `${devices.length} simulated devices on ${sites} sites (${counts.inserted} newly registered)`;
  } finally {
    await pool.end();
  }
}
