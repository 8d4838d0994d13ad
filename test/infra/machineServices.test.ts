import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MachineService } from '../../infra/machineServices';
import { downMachineService, machineService, statusMachineService, upMachineService } from '../../infra/machineServices';
import { isProcessAlive } from '../../infra/processControl';
import { probeKafka, probeMqtt, probePostgres, probeRedis } from '../../infra/probes';
import { findFreePort, holdPort } from './infraTestSupport';

describe('machine services in infra status', () => {
  it('reports Redis and PostgreSQL as running, as their own protocols answered', async () => {
    const redis = await statusMachineService(machineService('redis'));
    expect(redis).toMatchObject({ service: 'redis', running: true, owner: 'machine' });
    expect(redis.detail).toMatch(/^Redis \d+\.\d+/);
    const postgres = await statusMachineService(machineService('postgres'));
    expect(postgres).toMatchObject({ service: 'postgres', running: true, owner: 'machine' });
    expect(postgres.detail).toMatch(/^PostgreSQL \d+/);
  });

  it('reports a service that does not answer as down, with the exact command that starts it', async () => {
    const port = await findFreePort();
    const url = `redis://127.0.0.1:${port}`;
    const unreachable: MachineService = { ...machineService('redis'), address: url, port, probe: () => probeRedis(url, 1000) };
    const status = await statusMachineService(unreachable);
    expect(status).toMatchObject({ running: false, owner: 'none' });
    expect(status.detail).toMatch(/ECONNREFUSED/);
    expect(status.howToStart).toBe(
      'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
    );
  });

  it('does not count an open port that speaks another protocol as up', async () => {
    const holder = await holdPort(); // accepts, then hangs up at once
    try {
      const url = (scheme: string) => `${scheme}://127.0.0.1:${holder.port}`;
      const results = await Promise.all([
        probeRedis(url('redis'), 1000),
        probeMqtt(url('mqtt'), 1000),
        probePostgres(`${url('postgres')}/test`, 1000),
        probeKafka([`127.0.0.1:${holder.port}`], 1000),
      ]);
      expect(results.map((result) => result.ok)).toEqual([false, false, false, false]);
    } finally {
      await holder.close();
    }
  });

  it('leaves the machine\'s own running Redis alone on down when sluice did not start it', async () => {
    const emptyCache = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-infra-'));
    try {
      const down = await downMachineService(machineService('redis'), { cacheDir: emptyCache });
      expect(down.action).toBe('left-running');
      expect((await statusMachineService(machineService('redis'))).running).toBe(true);
    } finally {
      fs.rmSync(emptyCache, { recursive: true, force: true });
    }
  });

  it('starts a down service with its start command, records it, and down stops only what it started', async () => {
    // a private Redis on a free port stands in for the machine's, which other work is using
    const port = await findFreePort();
    const url = `redis://127.0.0.1:${port}`;
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-infra-'));
    const privateRedis: MachineService = {
      ...machineService('redis'),
      address: url,
      port,
      startCommand: `redis-server --daemonize yes --bind 127.0.0.1 --port ${port} --save "" --appendonly no --dir ${cacheDir}`,
      probe: () => probeRedis(url, 1000),
    };
    try {
      const up = await upMachineService(privateRedis, { cacheDir });
      expect(up.action).toBe('started');
      const pid = up.pid ?? -1;
      expect(isProcessAlive(pid)).toBe(true);
      expect((await statusMachineService(privateRedis, cacheDir)).detail).toContain('started by sluice infra up');
      expect((await upMachineService(privateRedis, { cacheDir })).action).toBe('already-running');

      const down = await downMachineService(privateRedis, { cacheDir });
      expect(down.action).toBe('stopped');
      expect(isProcessAlive(pid)).toBe(false);
      expect((await privateRedis.probe()).ok).toBe(false);
      // nothing recorded any more: a second down leaves whatever runs there alone
      expect((await downMachineService(privateRedis, { cacheDir })).action).toBe('left-running');
    } finally {
      await downMachineService(privateRedis, { cacheDir }).catch(() => undefined);
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
