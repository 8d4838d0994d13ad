/**
 * The commands as a user runs them: `sluice devices provision`, `sluice devices broker
 * up|status|down` on free ports, and `sluice security redis-user` (a user of this test's own,
 * deleted at the end). Their output names files, never passwords.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { readMqttCredentials } from '../../security/mqttCredentialsFile';
import { readSecretFile } from '../../security/secretSources';
import { freePorts, removeRunFiles } from '../infra/infraTestSupport';
import { testServers, uniqueName } from '../support/servers';
import { connackOutcome, brokerReachableTempDir } from './securedBrokerSupport';

const SLUICE = path.resolve(__dirname, '../../bin/sluice.js');

function sluice(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SLUICE, ...args], { timeout: 60_000, env: { ...process.env, SLUICE_REDIS_URL: testServers.redisUrl } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

const root = brokerReachableTempDir('security-cli');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('sluice devices provision and sluice devices broker', () => {
  it('provision, start, check and stop a secured broker', async () => {
    const dir = path.join(root, 'mqtt');
    const [port, tlsPort] = await freePorts(2);
    try {
      const provisioned = await sluice('devices', 'provision', '--devices', '3', '--out', dir, '--port', String(port), '--tls', '--tls-port', String(tlsPort));
      expect(provisioned).toMatchObject({ code: 0, stderr: '' });
      expect(provisioned.stdout).toContain(`provisioned 3 device(s) in ${dir}: 3 new, 0 kept, 0 removed`);
      const passwords = readMqttCredentials(path.join(dir, 'devices.json'));
      expect([...passwords.keys()]).toEqual(['dev-0000', 'dev-0001', 'dev-0002']);
      const secrets = [...passwords.values(), readSecretFile(path.join(dir, 'ingest.password'), 'ingest'), readSecretFile(path.join(dir, 'alerts.password'), 'alerts')];

      const up = await sluice('devices', 'broker', 'up', '--dir', dir, '--json');
      expect(up.code).toBe(0);
      expect(JSON.parse(up.stdout)).toMatchObject({ action: 'started', address: `mqtt://127.0.0.1:${port}, mqtts://localhost:${tlsPort}` });
      expect(await connackOutcome(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, username: 'dev-0001', password: passwords.get('dev-0001') })).toBe('connected');

      const status = await sluice('devices', 'broker', 'status', '--dir', dir, '--json');
      expect(JSON.parse(status.stdout)).toMatchObject({ running: true, owner: 'sluice', detail: expect.stringContaining('refuses anonymous clients') });
      expect((await sluice('devices', 'broker', 'reload', '--dir', dir)).stdout).toContain('reloaded');

      const down = await sluice('devices', 'broker', 'down', '--dir', dir, '--json');
      expect(JSON.parse(down.stdout)).toMatchObject({ action: 'stopped' });
      expect(await connackOutcome(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 })).toMatch(/ECONNREFUSED|connection closed/);

      for (const run of [provisioned, up, status, down]) for (const secret of secrets) expect(`${run.stdout}${run.stderr}`.includes(secret)).toBe(false);
    } finally {
      await sluice('devices', 'broker', 'down', '--dir', dir);
      removeRunFiles(`mosquitto-secure-${port}`);
    }
  });

  it('says what to do when the directory was never provisioned', async () => {
    const run = await sluice('devices', 'broker', 'up', '--dir', path.join(root, 'nothing-here'));
    expect(run.code).toBe(2); // the CLI's exit code for a configuration error
    expect(run.stderr).toContain(`--dir: ${path.join(root, 'nothing-here', 'provision.json')} is missing or unreadable: run \`sluice devices provision --out ${path.join(root, 'nothing-here')}\` first`);
  });
});

describe('sluice security redis-user', () => {
  it('creates the user with a new password file, and deletes it', async () => {
    const username = uniqueName('sluice-cli-user');
    const passwordFile = path.join(root, 'redis.password');
    const created = await sluice('security', 'redis-user', '--username', username, '--password-file', passwordFile, '--key-prefix', 'sluicecli');
    expect(created.code).toBe(0);
    const password = readSecretFile(passwordFile, 'redis');
    expect(fs.statSync(passwordFile).mode & 0o777).toBe(0o600);
    expect(created.stdout).toContain(`password made and written to ${passwordFile}`);
    expect(created.stdout.includes(password)).toBe(false);

    const asUser = new Redis(testServers.redisUrl, { username, password, maxRetriesPerRequest: 1 });
    try {
      expect(await asUser.set('sluicecli:probe', '1', 'PX', 10_000)).toBe('OK');
      expect(await asUser.del('sluicecli:probe')).toBe(1);
    } finally {
      await asUser.quit();
    }
    const deleted = await sluice('security', 'redis-user', '--username', username, '--password-file', passwordFile, '--delete');
    expect(deleted.stdout).toContain(`Redis user ${username} deleted`);
  });
});
