/**
 * The registry cache in front of PostgreSQL: one query per lookup for what is not cached,
 * answers (known and unknown) reused for the TTL, then asked again.
 */
import { Pool } from 'pg';
import { registerDevices } from '../../../processors/registry/deviceImport';
import { DeviceLookup } from '../../../processors/registry/deviceLookup';
import { testServers, uniqueName } from '../../support/servers';
import { forgetTestDevices } from './registryTestSupport';

let pool: Pool;

beforeAll(() => {
  pool = new Pool({ connectionString: testServers.postgresUrl, max: 2 });
});

afterAll(async () => {
  await forgetTestDevices(pool);
  await pool.end();
});

describe('DeviceLookup', () => {
  it('queries once per lookup for the ids it cannot answer, and answers from cache within the TTL', async () => {
    const known = uniqueName('lk');
    const unknown = uniqueName('lk-unknown');
    await registerDevices(pool, [{ deviceId: known, deviceType: 'thermo', siteId: 'site-04', thresholds: { temperature_max: 25 } }]);
    let now = 1_000;
    const lookup = new DeviceLookup(pool, { ttlMs: 500, now: () => now });

    const first = await lookup.lookup([known, unknown, known]);
    expect(lookup.queries).toBe(1);
    expect(first.get(known)).toMatchObject({ deviceId: known, deviceType: 'thermo', siteId: 'site-04', thresholds: { temperature_max: 25 } });
    expect(first.get(unknown)).toBeNull();

    // the registry changes; within the TTL the cache still answers (unknown devices included)
    await registerDevices(pool, [{ deviceId: unknown, deviceType: 'pump', siteId: 'site-05', thresholds: {} }]);
    now += 499;
    expect((await lookup.lookup([known, unknown])).get(unknown)).toBeNull();
    expect(lookup.queries).toBe(1);

    now += 1;
    const later = await lookup.lookup([unknown, known]);
    expect(lookup.queries).toBe(2);
    expect(later.get(unknown)).toMatchObject({ deviceType: 'pump', siteId: 'site-05' });
  });

  it('keeps at most maxEntries devices, dropping the oldest', async () => {
    const ids = Array.from({ length: 3 }, () => uniqueName('evict'));
    const lookup = new DeviceLookup(pool, { maxEntries: 2 });
    await lookup.lookup(ids);
    expect(lookup.queries).toBe(1);
    await lookup.lookup(ids.slice(1));
    expect(lookup.queries).toBe(1);
    await lookup.lookup(ids.slice(0, 1));
    expect(lookup.queries).toBe(2);
  });

  it('does not query for an empty batch', async () => {
    const lookup = new DeviceLookup(pool);
    expect((await lookup.lookup([])).size).toBe(0);
    expect(lookup.queries).toBe(0);
  });
});
