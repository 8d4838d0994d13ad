import { execFile } from 'node:child_process';
import path from 'node:path';
import type { ServiceDownResult, ServiceStatus } from '../../infra/serviceReport';
import type { InfraUpReport } from '../../infra/localInfra';
import { SERVICE_NAMES } from '../../infra/options';
import { isPortFree } from '../../infra/ports';
import { isProcessAlive } from '../../infra/processControl';
import { freePorts, holdPort, removeRunFiles } from '../infra/infraTestSupport';

const SLUICE = path.resolve(__dirname, '..', '..', 'bin', 'sluice.js');

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (`node bin/sluice.js ...`) as a user would. */
function sluice(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SLUICE, ...args], { timeout: 90_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('sluice CLI', () => {
  it('explains itself in --help: the commands and the two quick-start commands', async () => {
    const help = await sluice('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: sluice/);
    expect(help.stdout).toMatch(/^\s+up\b/m);
    expect(help.stdout).toMatch(/^\s+infra\b/m);
    expect(help.stdout).toContain('npm install && npm start');
    expect(help.stdout).toContain('npm test');
  });

  it('reports every service in infra status --json, with a real probe result for each', async () => {
    const run = await sluice('infra', 'status', '--json');
    expect(run.code).toBe(0);
    const statuses = JSON.parse(run.stdout) as ServiceStatus[];
    expect(statuses.map((status) => status.service)).toEqual([...SERVICE_NAMES]);
    const redis = statuses.find((status) => status.service === 'redis');
    expect(redis).toMatchObject({ running: true, owner: 'machine', address: 'redis://127.0.0.1:6379' });
    for (const status of statuses.filter((entry) => !entry.running)) expect(status.howToStart).toBeDefined();
  });

  it('starts kinesalite and Mosquitto on free ports with infra up, a second up is a no-op, and down stops them', async () => {
    const [kinesisPort = 0, mosquittoPort = 0] = await freePorts(2);
    const flags = ['--only', 'kinesis,mosquitto', '--kinesis-port', String(kinesisPort), '--mosquitto-port', String(mosquittoPort), '--json'];
    try {
      const first = await sluice('infra', 'up', ...flags);
      expect(first.code).toBe(0);
      const started = JSON.parse(first.stdout) as InfraUpReport;
      expect(started.results.map((result) => [result.service, result.action])).toEqual([
        ['kinesis', 'started'],
        ['mosquitto', 'started'],
      ]);
      const pids = started.results.map((result) => result.pid ?? -1);
      expect(pids.every((pid) => isProcessAlive(pid))).toBe(true);

      const second = JSON.parse((await sluice('infra', 'up', ...flags)).stdout) as InfraUpReport;
      expect(second.results.map((result) => [result.action, result.pid])).toEqual(pids.map((pid) => ['already-running', pid]));

      const down = await sluice('infra', 'down', ...flags);
      expect(down.code).toBe(0);
      expect((JSON.parse(down.stdout) as ServiceDownResult[]).map((result) => result.action)).toEqual(['stopped', 'stopped']);
      expect(pids.some((pid) => isProcessAlive(pid))).toBe(false);
      expect(await isPortFree(kinesisPort)).toBe(true);
      expect(await isPortFree(mosquittoPort)).toBe(true);
    } finally {
      await sluice('infra', 'down', ...flags);
      removeRunFiles(`kinesalite-${kinesisPort}`);
      removeRunFiles(`mosquitto-${mosquittoPort}`);
    }
  });

  it('exits 1 with PORT_IN_USE, and no stack trace, when the Kafka port is taken by another program', async () => {
    const holder = await holdPort();
    try {
      const run = await sluice('infra', 'up', '--only', 'kafka', '--kafka-port', String(holder.port));
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`PORT_IN_USE: kafka: port 127.0.0.1:${holder.port} (Kafka broker) is already in use`);
      expect(run.stderr).toMatch(/^sluice: PORT_IN_USE: /m);
      expect(run.stderr).not.toMatch(/^\s+at /m);
    } finally {
      await holder.close();
    }
  });

  it('exits 2 naming the field for a bad option value, and shows the stack only with --verbose', async () => {
    const quiet = await sluice('infra', 'status', '--kafka-port', '70000');
    expect(quiet.code).toBe(2);
    expect(quiet.stderr.trim()).toBe('sluice: invalid configuration: infra.kafkaPort: must be a port number 1..65535, got "70000"');
    const verbose = await sluice('--verbose', 'infra', 'status', '--kafka-port', '70000');
    expect(verbose.code).toBe(2);
    expect(verbose.stderr).toMatch(/^\s+at /m);
  });

  it('exits 2 for an unknown command', async () => {
    const run = await sluice('infra', 'restart');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown command 'restart'");
  });
});
