/**
 * `sluice devices` as a user runs it (bin/sluice.js, real PostgreSQL): exit codes, the bad-row
 * report on stderr, the list.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { testServers, uniqueName } from '../../support/servers';
import { forgetTestDevices } from './registryTestSupport';

const SLUICE = path.resolve(__dirname, '..', '..', '..', 'bin', 'sluice.js');

function sluice(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SLUICE, ...args, '--pg-url', testServers.postgresUrl], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('sluice devices', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-devices-'));
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    const pool = new Pool({ connectionString: testServers.postgresUrl, max: 1 });
    await forgetTestDevices(pool);
    await pool.end();
  });

  it('refuses a file with bad rows (exit 2), naming each line, then imports a good one and lists it', async () => {
    const p = uniqueName('cli');
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, `device_id,device_type,site_id,temperature_max\n${p}-1,thermo,site-01,30\n${p}-2,thermo,,31\n`);
    const refused = await sluice('devices', 'import', bad);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`sluice: invalid configuration: ${bad}: 1 of 2 rows are invalid, nothing was imported`);
    expect(refused.stderr).toContain('line 3: site_id is empty');

    const good = path.join(dir, 'good.csv');
    writeFileSync(good, `device_id,device_type,site_id,temperature_max\n${p}-1,thermo,site-01,30\n${p}-2,thermo,site-02,\n`);
    const imported = await sluice('devices', 'import', good);
    expect(imported).toMatchObject({ code: 0, stdout: `${good}: 2 of 2 rows imported (2 new, 0 updated, 0 unchanged)\n` });

    const listed = await sluice('devices', 'list', '--prefix', p, '--json');
    expect(listed.code).toBe(0);
    const devices = JSON.parse(listed.stdout) as Array<{ deviceId: string; siteId: string; thresholds: Record<string, number> }>;
    expect(devices.map((device) => [device.deviceId, device.siteId, device.thresholds])).toEqual([[`${p}-1`, 'site-01', { temperature_max: 30 }], [`${p}-2`, 'site-02', {}]]);
  });

  it('says clearly when the file cannot be read', async () => {
    const missing = path.join(dir, 'missing.csv');
    const result = await sluice('devices', 'import', missing);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${missing}: cannot read the file: ENOENT`);
  });
});
