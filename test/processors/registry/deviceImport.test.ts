/**
 * `importDevicesCsv` on the real PostgreSQL: upserts, counts, all-or-nothing on bad rows, and
 * what --skip-invalid imports. Device ids are unique per test (the devices table is shared).
 */
import { Pool } from 'pg';
import { importDevicesCsv } from '../../../processors/registry/deviceImport';
import { findDevices, listDevices } from '../../../processors/registry/deviceStore';
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

describe('importDevicesCsv', () => {
  it('inserts new devices, updates changed ones, and leaves the unchanged untouched', async () => {
    const p = uniqueName('imp');
    const first = `device_id,device_type,site_id,temperature_max\n${p}-a,thermo,site-01,30\n${p}-b,pump,site-02,\n`;
    await expect(importDevicesCsv(pool, first, { source: 'first.csv' })).resolves.toEqual({ source: 'first.csv', rows: 2, imported: 2, inserted: 2, updated: 0, unchanged: 0, skipped: [] });
    const before = await findDevices(pool, [`${p}-a`, `${p}-b`]);
    expect(before.get(`${p}-a`)).toMatchObject({ deviceType: 'thermo', siteId: 'site-01', thresholds: { temperature_max: 30 } });
    expect(before.get(`${p}-b`)).toMatchObject({ deviceType: 'pump', siteId: 'site-02', thresholds: {} });

    const second = `device_id,device_type,site_id,humidity_max\n${p}-a,thermo,site-03,80\n${p}-b,pump,site-02,\n${p}-c,meter,site-01,\n`;
    await expect(importDevicesCsv(pool, second, { source: 'second.csv' })).resolves.toMatchObject({ rows: 3, imported: 3, inserted: 1, updated: 1, unchanged: 1 });
    const after = await findDevices(pool, [`${p}-a`, `${p}-b`, `${p}-c`]);
    // a row replaces the device's thresholds: temperature_max is gone, humidity_max is there
    expect(after.get(`${p}-a`)).toMatchObject({ siteId: 'site-03', thresholds: { humidity_max: 80 } });
    expect(after.get(`${p}-a`)?.registeredAt).toEqual(before.get(`${p}-a`)?.registeredAt);
    expect(after.get(`${p}-a`)?.updatedAt.getTime()).toBeGreaterThan(before.get(`${p}-a`)?.updatedAt.getTime() ?? Infinity);
    expect(after.get(`${p}-b`)?.updatedAt).toEqual(before.get(`${p}-b`)?.updatedAt);
    expect((await listDevices(pool, { prefix: p })).map((device) => device.deviceId)).toEqual([`${p}-a`, `${p}-b`, `${p}-c`]);
    expect((await listDevices(pool, { prefix: p, siteId: 'site-01', limit: 5 })).map((device) => device.deviceId)).toEqual([`${p}-c`]);
  });

  it('imports nothing from a file with a bad row and names every bad line', async () => {
    const p = uniqueName('bad');
    const text = `device_id,device_type,site_id,temperature_max\n${p}-ok,t,s,1\n${p}-x,t,s,warm\n${p}-ok,t,s,2\n`;
    const failure = importDevicesCsv(pool, text, { source: 'bad.csv' });
    await expect(failure).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(importDevicesCsv(pool, text, { source: 'bad.csv' })).rejects.toThrow(
      `bad.csv: 2 of 3 rows are invalid, nothing was imported (fix them, or pass --skip-invalid to import the valid rows):\n  line 3: temperature_max must be a number, got "warm"\n  line 4: device_id "${p}-ok" is already on line 2`,
    );
    expect((await findDevices(pool, [`${p}-ok`])).size).toBe(0);
  });

  it('imports the valid rows and reports the bad ones with skipInvalid', async () => {
    const p = uniqueName('skip');
    const text = `device_id,device_type,site_id\n${p}-1,t,s\n${p}-2,,s\n${p}-3,t,s\n`;
    await expect(importDevicesCsv(pool, text, { source: 'f.csv', skipInvalid: true })).resolves.toMatchObject({
      rows: 3, imported: 2, inserted: 2, skipped: [{ line: 3, message: 'device_type is empty' }],
    });
    expect([...(await findDevices(pool, [`${p}-1`, `${p}-2`, `${p}-3`])).keys()].sort()).toEqual([`${p}-1`, `${p}-3`]);
  });

  it('upserts more rows than one statement carries', async () => {
    const p = uniqueName('many');
    const rows = Array.from({ length: 2500 }, (_, i) => `${p}-${String(i).padStart(4, '0')},t,site-${i % 7}`);
    await expect(importDevicesCsv(pool, `device_id,device_type,site_id\n${rows.join('\n')}\n`, { source: 'many.csv' })).resolves.toMatchObject({ imported: 2500, inserted: 2500 });
    expect(await listDevices(pool, { prefix: p, limit: 10_000 })).toHaveLength(2500);
  });
});
