import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../core/errors';
import { sleep } from '../core/retry';
import { infraPaths } from './paths';
import { findListeningPid } from './ports';
import type { ProbeResult } from './probes';
import { probeMqtt, probePostgres, probeRedis } from './probes';
import { findExecutable, isProcessAlive, processCommandLine, stopProcess } from './processControl';
import type { ServiceDownResult, ServiceStatus, ServiceUpResult } from './serviceReport';

/**
 * The machine's own Redis, Mosquitto (1883) and PostgreSQL. sluice does not own them: status
 * checks each with a real protocol round trip and prints the exact command that starts it.
 * `infra up` runs that command when the service is down and the binary is installed, so CI
 * needs no hand set-up; it records what it started, and `infra down` stops only that.
 */
export type MachineServiceName = 'redis' | 'system-mosquitto' | 'postgres';

export interface MachineService {
  service: MachineServiceName;
  address: string;
  port: number;
  /** the program whose presence means we can start it */
  binary: string;
  startCommand: string;
  /** how to stop it when `infra up` started it; absent: SIGTERM to the pid listening on `port` */
  stopCommand?: string;
  probe(): Promise<ProbeResult>;
}

const PG_CLUSTER = '--skip-systemctl-redirect $(ls /etc/postgresql) main';

export const MACHINE_SERVICES: readonly MachineService[] = [
  {
    service: 'redis',
    address: 'redis://127.0.0.1:6379',
    port: 6379,
    binary: 'redis-server',
    startCommand:
      'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
    probe: () => probeRedis('redis://127.0.0.1:6379', 2000),
  },
  {
    service: 'system-mosquitto',
    address: 'mqtt://127.0.0.1:1883',
    port: 1883,
    binary: 'mosquitto',
    startCommand: 'mosquitto -d -c /etc/mosquitto/mosquitto.conf',
    probe: () => probeMqtt('mqtt://127.0.0.1:1883', 2000),
  },
  {
    service: 'postgres',
    address: 'postgres://postgres@127.0.0.1:5432/test',
    port: 5432,
    binary: 'pg_ctlcluster',
    startCommand: `pg_ctlcluster ${PG_CLUSTER} start`,
    stopCommand: `pg_ctlcluster ${PG_CLUSTER} stop`,
    probe: () => probePostgres('postgres://postgres@127.0.0.1:5432/test', 2000),
  },
];

export function machineService(name: MachineServiceName): MachineService {
  const found = MACHINE_SERVICES.find((candidate) => candidate.service === name);
  if (found === undefined) throw new SluiceError('CONFIG_INVALID', `unknown machine service ${name}`);
  return found;
}

/** What `infra up` writes when it started a machine service, so `infra down` stops only that. */
interface StartedRecord {
  pid?: number;
  commandLine?: string;
  startedAt: string;
}

function startedRecordPath(cacheDir: string | undefined, service: MachineServiceName): string {
  return path.join(infraPaths(cacheDir).runDir, `machine-${service}.started.json`);
}

function readStartedRecord(cacheDir: string | undefined, service: MachineServiceName): StartedRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(startedRecordPath(cacheDir, service), 'utf8')) as StartedRecord;
  } catch {
    return undefined;
  }
}

export async function statusMachineService(definition: MachineService, cacheDir?: string): Promise<ServiceStatus> {
  const probe = await definition.probe();
  const base = { service: definition.service, address: definition.address };
  if (probe.ok) {
    const pid = findListeningPid(definition.port);
    const startedBySluice = readStartedRecord(cacheDir, definition.service) !== undefined;
    return {
      ...base,
      running: true,
      owner: 'machine',
      ...(pid === undefined ? {} : { pid }),
      detail: startedBySluice ? `${probe.detail} (started by sluice infra up)` : probe.detail,
    };
  }
  const installed = findExecutable(definition.binary) !== undefined;
  return {
    ...base,
    running: false,
    owner: 'none',
    detail: installed ? probe.detail : `${probe.detail}; ${definition.binary} is not installed`,
    howToStart: definition.startCommand,
  };
}

export async function upMachineService(definition: MachineService, options: { cacheDir?: string; startTimeoutMs?: number } = {}): Promise<ServiceUpResult> {
  const began = Date.now();
  const base = { service: definition.service, address: definition.address, phases: {} };
  const first = await definition.probe();
  if (first.ok) return { ...base, action: 'already-running', detail: first.detail, durationMs: Date.now() - began };
  if (findExecutable(definition.binary) === undefined) {
    throw new SluiceError(
      'SERVICE_UNAVAILABLE',
      `${definition.service} is down at ${definition.address} and ${definition.binary} is not installed; install it, then: ${definition.startCommand}`,
      { retriable: false },
    );
  }
  await runShell(definition.startCommand, 30_000);
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  let probe = await definition.probe();
  while (!probe.ok && Date.now() < deadline) {
    await sleep(250);
    probe = await definition.probe();
  }
  if (!probe.ok) {
    throw new SluiceError('TIMEOUT', `${definition.service}: ran "${definition.startCommand}" but ${definition.address} does not answer: ${probe.detail}`);
  }
  const pid = findListeningPid(definition.port);
  const record: StartedRecord = {
    ...(pid === undefined ? {} : { pid, commandLine: processCommandLine(pid) }),
    startedAt: new Date().toISOString(),
  };
  const recordPath = startedRecordPath(options.cacheDir, definition.service);
  fs.mkdirSync(path.dirname(recordPath), { recursive: true });
  fs.writeFileSync(recordPath, `${JSON.stringify(record, null, 2)}\n`);
  return { ...base, action: 'started', ...(pid === undefined ? {} : { pid }), detail: `${probe.detail} (ran: ${definition.startCommand})`, durationMs: Date.now() - began };
}

/** Stops the service only if `infra up` started it; the machine's own running servers are left alone. */
export async function downMachineService(definition: MachineService, options: { cacheDir?: string; stopTimeoutMs?: number } = {}): Promise<ServiceDownResult> {
  const base = { service: definition.service, address: definition.address };
  const record = readStartedRecord(options.cacheDir, definition.service);
  if (record === undefined) return { ...base, action: 'left-running', detail: 'the machine\'s own service: sluice did not start it' };
  const recordPath = startedRecordPath(options.cacheDir, definition.service);
  if (definition.stopCommand !== undefined) {
    await runShell(definition.stopCommand, options.stopTimeoutMs ?? 30_000);
    fs.rmSync(recordPath, { force: true });
    return { ...base, action: 'stopped', detail: `ran: ${definition.stopCommand}` };
  }
  const pid = record.pid;
  // the pid must still be the server we started (same command line), never a reused pid
  if (pid === undefined || !isProcessAlive(pid) || (record.commandLine !== undefined && processCommandLine(pid) !== record.commandLine)) {
    fs.rmSync(recordPath, { force: true });
    return { ...base, action: 'not-running', detail: 'the process infra up started has already exited' };
  }
  const outcome = await stopProcess(pid, options.stopTimeoutMs ?? 30_000);
  fs.rmSync(recordPath, { force: true });
  return { ...base, action: outcome === 'killed' ? 'killed' : 'stopped', detail: `pid ${pid}` };
}

function runShell(command: string, timeoutMs: number): Promise<void> {
  // sbin directories hold mosquitto and friends on Debian but are often missing from PATH
  const PATH = [process.env.PATH ?? '', '/usr/local/sbin', '/usr/sbin', '/sbin'].filter((part) => part !== '').join(':');
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', command], { timeout: timeoutMs, env: { ...process.env, PATH } }, (error, stdout, stderr) => {
      if (error === null) return resolve();
      const output = `${stdout}${stderr}`.trim();
      reject(new SluiceError('SERVICE_UNAVAILABLE', `"${command}" failed: ${error.message}${output === '' ? '' : `\n${output}`}`, { cause: error, retriable: false }));
    });
  });
}
