/**
 * Registering the simulated fleet: the simulator's own ids and types, sites dealt out evenly
 * with a mix of types in each, stable as the fleet grows, and devices already registered left
 * as a user imported them.
 */
import { Pool } from 'pg';
import { registerSimulatedFleet, simulatedFleetDevices } from '../../../cli/commands/devices';
import { importDevicesCsv } from '../../../processors/registry/deviceImport';
import { findDevices } from '../../../processors/registry/deviceStore';
import { SIMULATED_TYPE_THRESHOLDS, defaultSiteCount, fleetRegistrations } from '../../../processors/registry/fleetRegistration';
import { createFleetDevices } from '../../../simulators/fleetDevices';
import { FLEET_DEFAULTS } from '../../../simulators/fleetOptions';
import { testServers, uniqueName } from '../../support/servers';
import { forgetTestDevices } from './registryTestSupport';

describe('fleet registrations', () => {
  it('uses the ids and types the simulator gives its devices', () => {
    const simulated = createFleetDevices({ ...FLEET_DEFAULTS, devices: 9, deviceIdPrefix: 'sim' });
    expect(simulatedFleetDevices({ devices: 9, deviceIdPrefix: 'sim' })).toEqual(simulated.map((device) => ({ deviceId: device.deviceId, deviceType: device.deviceType })));
  });

  it.each([[8, 2], [40, 5], [41, 10], [100, 10], [12, 3]])('spreads %d devices evenly over %d sites, each site with every device type', (count, sites) => {
    const registrations = fleetRegistrations(simulatedFleetDevices({ devices: count }), { sites });
    const bySite = new Map<string, string[]>();
    for (const r of registrations) bySite.set(r.siteId, [...(bySite.get(r.siteId) ?? []), r.deviceType]);
    const sizes = [...bySite.values()].map((types) => types.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(4);
    expect([...bySite.keys()].every((site) => /^site-\d{2}$/.test(site))).toBe(true);
    if (count >= sites * 4) for (const types of bySite.values()) expect(new Set(types).size).toBe(4);
    for (const r of registrations) expect(r.thresholds).toEqual(SIMULATED_TYPE_THRESHOLDS[r.deviceType]);
  });

  it('keeps every device on its site when the fleet grows', () => {
    const small = fleetRegistrations(simulatedFleetDevices({ devices: 20 }), { sites: 6 });
    const large = fleetRegistrations(simulatedFleetDevices({ devices: 500 }), { sites: 6 });
    const siteOf = new Map(large.map((r) => [r.deviceId.replace(/^dev-0*/, ''), r.siteId]));
    for (const r of small) expect(siteOf.get(r.deviceId.replace(/^dev-0*/, ''))).toBe(r.siteId);
  });

  it('defaults to about five devices a site, at most ten sites', () => {
    expect([1, 5, 6, 10, 49, 50, 1000].map(defaultSiteCount)).toEqual([1, 1, 2, 2, 10, 10, 10]);
  });
});

describe('registerSimulatedFleet', () => {
  let pool: Pool;

  beforeAll(() => {
    pool = new Pool({ connectionString: testServers.postgresUrl, max: 2 });
  });

  afterAll(async () => {
    await forgetTestDevices(pool);
    await pool.end();
  });

  it('registers the devices the registry lacks and leaves imported ones as they are', async () => {
    const prefix = uniqueName('fleet');
    const fleet = { devices: 6, deviceIdPrefix: prefix };
    const [firstId] = simulatedFleetDevices(fleet).map((device) => device.deviceId);
    await importDevicesCsv(pool, `device_id,device_type,site_id,temperature_max\n${firstId},custom,my-site,99\n`, { source: 'mine.csv' });

    await expect(registerSimulatedFleet(pool, fleet, 2)).resolves.toEqual({ devices: 6, sites: 2, inserted: 5, updated: 0, unchanged: 1 });
    await expect(registerSimulatedFleet(pool, fleet, 2)).resolves.toMatchObject({ inserted: 0, unchanged: 6 });
    const stored = await findDevices(pool, simulatedFleetDevices(fleet).map((device) => device.deviceId));
    expect(stored.get(firstId ?? '')).toMatchObject({ deviceType: 'custom', siteId: 'my-site', thresholds: { temperature_max: 99 } });
    expect(stored.size).toBe(6);
  });
});
