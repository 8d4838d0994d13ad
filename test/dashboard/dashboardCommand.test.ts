/**
 * `sluice dashboard` as a user runs it: a real process against the running servers, printing
 * its URL, serving the API, requiring a token when exposed, and stopping on SIGTERM.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import type { DashboardSnapshot } from '../../dashboard/server/snapshotTypes';
import { testServers, uniqueName } from '../support/servers';
import { request } from './support/httpClient';

const SLUICE = path.resolve(__dirname, '..', '..', 'bin', 'sluice.js');

interface Started {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  exited: Promise<number | null>;
}

function sluice(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcessWithoutNullStreams; stdout: () => string; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [SLUICE, ...args], { env: { ...process.env, SLUICE_LOG_LEVEL: 'error', ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Starts `sluice dashboard` and waits for what it prints once it serves (or its exit, which fails the test). */
async function startCommand(extra: string[], env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const prefix = uniqueName('dash-cli');
  const run = sluice(['dashboard', '--port', '0', '--stream', `kafka://${testServers.kafkaBrokers.join(',')}`, '--stream-prefix', `${prefix}-`, '--key-prefix', prefix, '--device-prefix', prefix, '--redis-url', testServers.redisUrl, '--pg-url', testServers.postgresUrl, ...extra], env);
  const url = await new Promise<string>((resolve, reject) => {
    const look = (): void => {
      // the last line it prints once it serves; everything before it is there too
      const match = /sluice dashboard: (http\S+)[\s\S]*Stop it with Ctrl-C\./.exec(run.stdout());
      if (match?.[1]) resolve(match[1]);
    };
    run.child.stdout.on('data', look);
    void run.exited.then((code) => reject(new Error(`sluice dashboard exited with ${String(code)} before printing its URL: ${run.stderr()}`)));
  });
  return { child: run.child, url, stdout: run.stdout, exited: run.exited };
}

const started: Started[] = [];

afterEach(async () => {
  for (const command of started.splice(0)) {
    command.child.kill('SIGTERM');
    await command.exited;
  }
});

describe('sluice dashboard', () => {
  it('prints a localhost URL, serves the snapshot of the running parts, and stops on SIGTERM', async () => {
    const command = await startCommand([]);
    started.push(command);
    expect(command.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const snapshot = (await request(`${command.url}api/snapshot`)).json<DashboardSnapshot>();
    expect(snapshot.notes[0]).toContain('figures from Kafka consumer groups');
    expect(snapshot.devices).toEqual([]);
    expect(snapshot.alerts).toEqual([]);
    expect((await request(command.url)).body).toContain('<title>sluice dashboard</title>');
    started.pop();
    command.child.kill('SIGTERM');
    expect(await command.exited).toBe(0);
  }, 60_000);

  it('generates and prints a token when it listens beyond localhost', async () => {
    const command = await startCommand(['--host', '0.0.0.0']);
    started.push(command);
    const token = new URL(command.url).searchParams.get('token');
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(command.stdout()).toContain('the token was generated for this run');
    const base = command.url.replace(/\?.*$/, '');
    expect((await request(`${base}api/alerts`)).status).toBe(401);
    expect((await request(`${base}api/alerts`, { headers: { authorization: `Bearer ${token ?? ''}` } })).status).toBe(200);
  }, 60_000);

  it('takes the token from $SLUICE_DASHBOARD_TOKEN', async () => {
    const command = await startCommand(['--host', '0.0.0.0'], { SLUICE_DASHBOARD_TOKEN: 'token-from-the-environment' });
    started.push(command);
    expect(new URL(command.url).searchParams.get('token')).toBe('token-from-the-environment');
    expect(command.stdout()).not.toContain('generated');
  }, 60_000);

  it('refuses a malformed stream address and port before it starts', async () => {
    const badStream = sluice(['dashboard', '--stream', 'kafka:/nowhere']);
    // a bad address is bad configuration: exit 2, like any configuration error (cli/main.ts)
    expect(await badStream.exited).toBe(2);
    expect(badStream.stderr()).toContain('invalid stream address');
    const badPort = sluice(['dashboard', '--port', '70000']);
    expect(await badPort.exited).toBe(2);
    expect(badPort.stderr()).toContain('--port: must be an integer in 0..65535, got "70000"');
  }, 60_000);
});
