/**
 * Secrets are never logged: the real `sluice ingest` and `sluice simulate` processes, at their
 * most verbose log level, logging in to the secured broker with passwords from the environment,
 * a file, a URL and a credentials file, through success and refusal. Their whole output must not
 * contain a password.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { writeMqttCredentials } from '../../security/mqttCredentialsFile';
import { createIngestStreams } from '../ingest/ingestTestSupport';
import type { IngestStreams } from '../ingest/ingestTestSupport';
import type { SecuredBroker } from './securedBrokerSupport';
import { startSecuredBroker } from './securedBrokerSupport';

const repoRoot = path.resolve(__dirname, '../..');
const SLUICE = path.join(repoRoot, 'bin/sluice.js');

interface Run {
  code: number | null;
  output: string;
}

/** Runs the CLI; once `ready` appears in its output, `whenReady` runs and the process gets SIGTERM. */
function runSluice(args: string[], env: NodeJS.ProcessEnv, options: { ready?: string; whenReady?: () => Promise<void> } = {}): Promise<Run> {
  const child = spawn(process.execPath, [SLUICE, ...args], { cwd: repoRoot, env: { ...process.env, DEBUG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let signalled = false;
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    if (options.ready !== undefined && !signalled && output.includes(options.ready)) {
      signalled = true;
      void (options.whenReady ?? (() => Promise.resolve()))().finally(() => child.kill('SIGTERM'));
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, output: signal === null ? output : `${output}\n[killed by ${signal}]` })));
}

let broker: SecuredBroker;
let streams: IngestStreams;

beforeAll(async () => {
  broker = await startSecuredBroker({ deviceIds: ['dev-0000', 'dev-0001', 'dev-0002'] });
  streams = await createIngestStreams('seclog');
});

afterAll(async () => {
  await streams?.cleanup();
  await broker?.stop();
});

function ingestArgs(mqttUrl: string, clientId: string): string[] {
  return [
    'ingest',
    '--mqtt-url', mqttUrl,
    '--stream', streams.kafkaAddress(streams.telemetry),
    '--dead-letter', streams.kafkaAddress(streams.deadLetter),
    '--schema-registry', streams.temp.filePath,
    '--client-id', clientId,
    '--log-level', 'trace',
  ];
}

/** A device publishes one reading while ingest runs, so ingest logs its per-message work too. */
async function publishAsDevice(): Promise<void> {
  const device = await mqtt.connectAsync(broker.url, { username: 'dev-0000', password: broker.passwords.get('dev-0000'), reconnectPeriod: 0 });
  await device.publishAsync('devices/dev-0000/telemetry', '{"deviceId":"dev-0000","seq":0,"eventTime":1}', { qos: 1 });
  await device.endAsync();
}

function expectNoSecret(output: string, secrets: readonly string[]): void {
  for (const secret of secrets) expect(output.includes(secret)).toBe(false);
}

describe('no password in the output of', () => {
  it('sluice ingest with its password from the environment, at log level trace', async () => {
    const run = await runSluice(ingestArgs(broker.url, 'seclog-env'), { SLUICE_MQTT_USERNAME: 'ingest', SLUICE_MQTT_PASSWORD: broker.ingestPassword }, { ready: 'Ctrl-C to drain', whenReady: publishAsDevice });
    expect(run.code).toBe(0);
    expect(run.output).toContain(`on ${broker.url} as ingest`);
    expect(run.output).toContain('stopped (1 acked)');
    expectNoSecret(run.output, [broker.ingestPassword, broker.passwords.get('dev-0000') ?? '']);
  });

  it('sluice ingest with its credentials in the broker URL', async () => {
    const url = broker.url.replace('mqtt://', `mqtt://ingest:${broker.ingestPassword}@`);
    const run = await runSluice(ingestArgs(url, 'seclog-url'), {}, { ready: 'Ctrl-C to drain' });
    expect(run.code).toBe(0);
    expect(run.output).toContain(`on ${broker.url} as ingest`);
    expectNoSecret(run.output, [broker.ingestPassword]);
  });

  it('sluice ingest refused for a wrong password from a file', async () => {
    const wrong = 'wrong-password-Zq8TxY';
    const file = path.join(broker.dir, 'wrong.password');
    fs.writeFileSync(file, `${wrong}\n`, { mode: 0o600 });
    const run = await runSluice([...ingestArgs(broker.url, 'seclog-wrong'), '--mqtt-username', 'ingest', '--mqtt-password-file', file], {});
    expect(run.code).toBe(1);
    expect(run.output).toContain('Connection refused: Not authorized');
    expectNoSecret(run.output, [wrong, broker.ingestPassword]);
  });

  it('sluice simulate with a credentials file, one device of which has a wrong password, at log level trace', async () => {
    const credentials = new Map(broker.passwords);
    const wrong = 'wrong-device-password-Pk3V';
    credentials.set('dev-0001', wrong);
    const file = path.join(broker.dir, 'devices-one-wrong.json');
    writeMqttCredentials(file, credentials);
    const run = await runSluice(
      ['simulate', '--mqtt-url', broker.url, '--credentials', file, '--devices', '3', '--rate', '30', '--duration', '1s', '--json'],
      { SLUICE_LOG_LEVEL: 'trace' },
    );
    expect(run.code).toBe(0);
    // the refused device is logged (by id), the others published
    expect(run.output).toMatch(/"clientId":"sluice-sim-dev-0001".*"err":"Connection refused: Not authorized".*mqtt connection error/);
    const report = JSON.parse(run.output.slice(run.output.indexOf('{\n'))) as { connects: number; acked: number };
    expect(report.connects).toBe(2);
    expect(report.acked).toBeGreaterThan(0);
    expectNoSecret(run.output, [...broker.passwords.values(), wrong]);
  });
});
