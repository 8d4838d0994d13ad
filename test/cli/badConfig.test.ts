/**
 * Bad configuration, as a user meets it: the real CLI (node bin/sluice.js) in a child process
 * for `sluice up`, `run`, `ingest`, `simulate` and `loadtest`, with unknown keys, values out of
 * the AWS ranges, wrong types, malformed YAML, wrong URIs, missing files and named servers that
 * do not answer (a free port). Each is refused with one error line naming the key, flag or
 * server (plus at most a hint line), without a stack trace, before anything starts: no
 * "starting" lines, no Kafka topic created, no child process, no connection made.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { findFreePort } from '../../infra/ports';
import { testServers, uniqueName } from '../support/servers';
import { expectRefusals, refusalProblems, runSluice } from './badConfigSupport';
import type { CliRun } from './badConfigSupport';

const HANDLER = `${path.join(__dirname, '../fixtures/handlers/alwaysFails.ts')}#handler`;
const KAFKA = testServers.kafkaBrokers.join(',');
const KAFKA_STREAM = `kafka://${KAFKA}`;
const KINESIS_STREAM = `kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}`;

interface Case {
  label: string;
  args: string[];
  exit: 1 | 2;
  /** texts the one error line must contain: the key, flag, file, line, server, address */
  named: Array<string | RegExp>;
  cwd?: string;
  watchChildren?: boolean;
}

interface Finished {
  label: string;
  run: CliRun;
  problems: string[];
}

let dir: string;
/** nothing listens here: a named server that does not answer */
let deadPort: number;
/** a mapping refused for its settings must never connect here */
let untouched: { server: net.Server; port: number; connections: number };
/** the control: a valid mapping does connect to its Source (so the zero above means something) */
let control: { server: net.Server; port: number; connections: number };
const streamPrefix = `${uniqueName('badcfg')}-`;
const started = new Map<string, Promise<Finished>>();
/** All ~40 CLI runs share two cores (with whatever else runs): a group may wait for the others. */
const GROUP_TIMEOUT_MS = 240_000;

function file(name: string, text: string): string {
  const at = path.join(dir, name);
  writeFileSync(at, text);
  return at;
}

async function countingListener(): Promise<{ server: net.Server; port: number; connections: number }> {
  const listener = { server: net.createServer(), port: 0, connections: 0 };
  listener.server.on('connection', (socket) => {
    listener.connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.server.listen(0, '127.0.0.1', resolve));
  listener.port = (listener.server.address() as net.AddressInfo).port;
  return listener;
}

function start(cases: Case[]): void {
  for (const entry of cases) {
    started.set(
      entry.label,
      runSluice(entry.args, { cwd: entry.cwd ?? dir, watchChildren: entry.watchChildren }).then((run) => ({ label: entry.label, run, problems: refusalProblems(run, entry.exit, entry.named) })),
    );
  }
}

function finished(prefix: string): Promise<Finished[]> {
  return Promise.all([...started.entries()].filter(([label]) => label.startsWith(prefix)).map(([, result]) => result));
}

async function kafkaTopicsStartingWith(prefix: string): Promise<string[]> {
  const admin = new Kafka({ brokers: testServers.kafkaBrokers, clientId: 'bad-config-test', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
  } finally {
    await admin.disconnect();
  }
}

function upCases(): Case[] {
  // a project directory with a sluice.yaml, found without --config
  const configDir = path.join(dir, 'project');
  mkdirSync(configDir);
  writeFileSync(path.join(configDir, 'sluice.yaml'), 'devics: 5\nrate: 10\n');
  const quick = ['--no-dashboard', '--duration', '1', '--devices', '2', '--rate', '4', '--lake-dir', path.join(dir, 'lake'), '--key-prefix', uniqueName('badcfg')];
  const kafkaRun = (name: string): string[] => ['--kafka', KAFKA, '--stream-prefix', `${streamPrefix}${name}-`];
  return [
    { label: 'up: unknown key in ./sluice.yaml', args: ['up'], cwd: configDir, exit: 2, named: ['sluice.yaml: devics', 'did you mean "devices"?'] },
    // the file's key, not the flag of the same setting: the user did not type --rate
    { label: 'up: wrong type in sluice.yaml', args: ['up', '--config', file('types.yaml', 'devices: 5\nrate: fast\n')], exit: 2, named: ['types.yaml: rate', 'must be a number', '"fast"'] },
    { label: 'up: malformed sluice.yaml', args: ['up', '--config', file('broken.yaml', 'devices: 5\nrate: [10\nduration: 3\n')], exit: 2, named: [/broken\.yaml: is not valid YAML.* at line 3, column 1/] },
    { label: 'up: misspelt flag', args: ['up', '--devics', '3'], exit: 2, named: ["unknown option '--devics'", 'Did you mean --devices?'] },
    { label: 'up: --redis-url port not a number', args: ['up', '--redis-url', 'redis://host:notaport'], exit: 2, named: ['--redis-url', 'port "notaport" is not a number'] },
    { label: 'up: --mqtt-url without ://', args: ['up', '--mqtt-url', 'mqtt//x'], exit: 2, named: ['--mqtt-url', '"mqtt//x"', 'scheme://'] },
    { label: 'up: --pg-url without ://', args: ['up', '--pg-url', 'postgres:/'], exit: 2, named: ['--pg-url', '"postgres:/"'] },
    { label: 'up: --kafka given a URL', args: ['up', '--kafka', 'kafak://127.0.0.1:9092'], exit: 2, named: ['--kafka', 'host:port', 'kafak://127.0.0.1:9092'] },
    { label: 'up: missing --alert-rules file', args: ['up', '--alert-rules', path.join(dir, 'no-rules.yaml')], exit: 2, named: ['--alert-rules', 'no-rules.yaml', 'no such file'] },
    // three problems in one file: still one line
    { label: 'up: invalid --alert-rules file', args: ['up', '--alert-rules', file('rules.yaml', 'version: 1\nrules:\n  - id: hot\n    kind: threshold\n    metrc: temperature\n')], exit: 2, named: ['--alert-rules', 'rules.yaml', 'metrc: is not a known field'] },
    {
      label: 'up: unreachable --redis-url (nothing started)', args: ['up', ...quick, ...kafkaRun('redis'), '--redis-url', `redis://127.0.0.1:${deadPort}`], exit: 1, watchChildren: true,
      named: ['Redis', `redis://127.0.0.1:${deadPort}`, '--redis-url', 'does not answer'],
    },
    {
      label: 'up: unreachable --mqtt-url (nothing started)', args: ['up', ...quick, ...kafkaRun('mqtt'), '--mqtt-url', `mqtt://127.0.0.1:${deadPort}`], exit: 1, watchChildren: true,
      named: ['MQTT broker', `mqtt://127.0.0.1:${deadPort}`, '--mqtt-url', 'does not answer'],
    },
    { label: 'up: unreachable --kafka', args: ['up', ...quick, '--kafka', `127.0.0.1:${deadPort}`], exit: 1, named: ['Kafka', `127.0.0.1:${deadPort}`, '--kafka', 'does not answer'] },
    { label: 'up: unreachable --pg-url', args: ['up', ...quick, '--pg-url', `postgres://postgres@127.0.0.1:${deadPort}/test`], exit: 1, named: ['PostgreSQL', `127.0.0.1:${deadPort}`, '--pg-url', 'does not answer'] },
    {
      label: 'up: unreachable redisUrl in sluice.yaml', args: ['up', ...quick, '--config', file('dead-redis.yaml', `redisUrl: redis://127.0.0.1:${deadPort}\n`)], exit: 1,
      named: ['Redis', `redis://127.0.0.1:${deadPort}`, 'dead-redis.yaml: redisUrl'],
    },
  ];
}

function runCases(): Case[] {
  const source = `kafka://127.0.0.1:${untouched.port}/telemetry`;
  const valid = ['run', '--source', source, '--handler', HANDLER];
  const mapping = (name: string, extra: string): string => file(name, `Source: ${source}\nFunction:\n  Handler: ${HANDLER}\n${extra}`);
  return [
    { label: 'run: unknown key in the mapping file', args: ['run', '--config', mapping('typo.yaml', 'BatchSzie: 10\n')], exit: 2, named: ['mapping.BatchSzie', 'did you mean "BatchSize"?', 'typo.yaml'] },
    { label: 'run: malformed mapping file', args: ['run', '--config', file('broken-mapping.yaml', `Source: ${source}\nFunction:\n  Handler: x.ts\n BatchSize: 10\n`)], exit: 2, named: [/broken-mapping\.yaml: is not valid YAML.* at line 4, column 1/] },
    { label: 'run: BatchSize as text in the file', args: ['run', '--config', mapping('text.yaml', 'BatchSize: ten\n')], exit: 2, named: ['mapping.BatchSize', 'must be an integer', '"ten"'] },
    { label: 'run: --batch-size 0', args: [...valid, '--batch-size', '0'], exit: 2, named: ['mapping.BatchSize', '1..10000', 'got 0'] },
    { label: 'run: --batch-size 10001', args: [...valid, '--batch-size', '10001'], exit: 2, named: ['mapping.BatchSize', '1..10000', 'got 10001'] },
    {
      label: 'run: --parallelization-factor 11', args: ['run', '--source', `kinesis://127.0.0.1:${untouched.port}/telemetry`, '--handler', HANDLER, '--parallelization-factor', '11'], exit: 2,
      named: ['mapping.ParallelizationFactor', '1..10', 'got 11'],
    },
    { label: 'run: --maximum-retry-attempts -2', args: [...valid, '--maximum-retry-attempts', '-2'], exit: 2, named: ['mapping.MaximumRetryAttempts', '-1 or 0..10000', 'got -2'] },
    { label: 'run: --starting-position EARLIEST', args: [...valid, '--starting-position', 'EARLIEST'], exit: 2, named: ['--starting-position', "'EARLIEST' is invalid", 'LATEST, TRIM_HORIZON, AT_TIMESTAMP'] },
    { label: 'run: FunctionResponseTypes misspelt in the file', args: ['run', '--config', mapping('responses.yaml', 'FunctionResponseTypes: [ReportItemFailures]\n')], exit: 2, named: ['mapping.FunctionResponseTypes', '"ReportItemFailures"'] },
    { label: 'run: Source scheme kafak://', args: ['run', '--source', `kafak://127.0.0.1:${untouched.port}/telemetry`, '--handler', HANDLER], exit: 2, named: ['mapping.Source', 'unknown scheme "kafak://"'] },
    { label: 'run: Source without a stream name', args: ['run', '--source', `kafka://127.0.0.1:${untouched.port}/`, '--handler', HANDLER], exit: 2, named: ['mapping.Source', 'not a valid Kafka topic name'] },
    { label: 'run: missing handler file', args: ['run', '--source', source, '--handler', path.join(dir, 'no-handler.ts')], exit: 2, named: ['mapping.Function.Handler', 'no-handler.ts', 'no such file'] },
    { label: 'run: unreachable Kafka source', args: ['run', '--source', `kafka://127.0.0.1:${deadPort}/telemetry`, '--handler', HANDLER], exit: 1, named: ['Kafka', `127.0.0.1:${deadPort}`, '--source', 'does not answer'] },
    {
      label: 'run: unreachable Redis', args: ['run', '--source', `${KINESIS_STREAM}/${uniqueName('badcfg')}`, '--handler', HANDLER, '--redis-url', `redis://127.0.0.1:${deadPort}`], exit: 1,
      named: ['Redis', `redis://127.0.0.1:${deadPort}`, '--redis-url', 'does not answer'],
    },
    { label: 'run: control, a valid mapping connects', args: ['run', '--source', `kafka://127.0.0.1:${control.port}/telemetry`, '--handler', HANDLER], exit: 1, named: ['Kafka', `127.0.0.1:${control.port}`, '--source'] },
  ];
}

function ingestCases(): Case[] {
  const streams = ['--stream', `${KAFKA_STREAM}/telemetry`, '--dead-letter', `${KAFKA_STREAM}/telemetry-dlq`];
  const registry = ['--schema-registry', path.join(dir, 'ingest-registry.json')];
  return [
    { label: 'ingest: --stream scheme kafak://', args: ['ingest', '--stream', 'kafak://127.0.0.1:9092/telemetry', '--dead-letter', `${KAFKA_STREAM}/dlq`, ...registry], exit: 2, named: ['--stream', 'unknown scheme "kafak://"'] },
    { label: 'ingest: missing password file', args: ['ingest', ...streams, ...registry, '--mqtt-username', 'ingest', '--mqtt-password-file', path.join(dir, 'no-password')], exit: 2, named: ['--mqtt-password-file', 'no-password'] },
    { label: 'ingest: --max-batch abc (registry untouched)', args: ['ingest', ...streams, ...registry, '--max-batch', 'abc'], exit: 2, named: ['--max-batch', '"abc"'] },
    { label: 'ingest: unreachable MQTT broker', args: ['ingest', ...streams, ...registry, '--mqtt-url', `mqtt://127.0.0.1:${deadPort}`], exit: 1, named: ['MQTT broker', `mqtt://127.0.0.1:${deadPort}`, '--mqtt-url', 'does not answer'] },
    {
      label: 'ingest: unreachable Kafka', args: ['ingest', '--stream', `kafka://127.0.0.1:${deadPort}/telemetry`, '--dead-letter', `kafka://127.0.0.1:${deadPort}/dlq`, ...registry, '--mqtt-url', testServers.mqttUrl], exit: 1,
      named: ['Kafka', `127.0.0.1:${deadPort}`, '--stream', 'does not answer'],
    },
  ];
}

function simulateLoadtestCases(): Case[] {
  return [
    { label: 'simulate: --mqtt-url without ://', args: ['simulate', '--mqtt-url', 'mqtt//x', '--duration', '1s'], exit: 2, named: ['--mqtt-url', '"mqtt//x"'] },
    { label: 'simulate: unreachable broker (no report)', args: ['simulate', '--mqtt-url', `mqtt://127.0.0.1:${deadPort}`, '--duration', '2s'], exit: 1, named: ['MQTT broker', `mqtt://127.0.0.1:${deadPort}`, 'does not answer'] },
    { label: 'loadtest: --parallelization 11', args: ['loadtest', '--parallelization', '11'], exit: 2, named: ['--parallelization', '"11"'] },
    { label: 'loadtest: unreachable --redis-url', args: ['loadtest', '--redis-url', `redis://127.0.0.1:${deadPort}`, '--duration', '2s', '--out', path.join(dir, 'loadtests')], exit: 1, named: ['Redis', `redis://127.0.0.1:${deadPort}`, 'does not answer'] },
  ];
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bad-config-'));
  deadPort = await findFreePort();
  untouched = await countingListener();
  control = await countingListener();
  // every case at once (a few CLI processes at a time), each test below waits for its own
  start([...upCases(), ...runCases(), ...ingestCases(), ...simulateLoadtestCases()]);
});

afterAll(async () => {
  // a failed test must not leave runs behind that outlive the suite
  await Promise.all(started.values());
  untouched.server.close();
  control.server.close();
  rmSync(dir, { recursive: true, force: true });
}, GROUP_TIMEOUT_MS);

describe('bad configuration is refused before anything starts, with one error naming it', () => {
  it('sluice up: unknown keys (with the closest known one), wrong types, malformed YAML, bad URLs, missing files, misspelt flags', async () => {
    expectRefusals((await finished('up: ')).filter((result) => !result.label.includes('unreachable')));
  }, GROUP_TIMEOUT_MS);

  it('sluice up: a named server that does not answer is named with its address; no part starts, no topic is created, no child process', async () => {
    const results = (await finished('up: ')).filter((result) => result.label.includes('unreachable'));
    expect(results).toHaveLength(5);
    expectRefusals(results);
    for (const { run } of results) expect(run.stderr).not.toContain('sluice up: starting');
    const watched = results.filter((result) => result.label.includes('nothing started'));
    expect(watched.map((result) => ({ label: result.label, children: result.run.children }))).toEqual(watched.map((result) => ({ label: result.label, children: [] })));
    expect(await kafkaTopicsStartingWith(streamPrefix)).toEqual([]);
  }, GROUP_TIMEOUT_MS);

  it('sluice run: ESM values out of the AWS ranges, wrong types, unknown keys, bad addresses and handlers are refused before it connects', async () => {
    const results = await finished('run: ');
    expectRefusals(results);
    expect(untouched.connections).toBe(0);
    // the control reached its Source: a refused mapping would have too, had it gone that far
    expect(control.connections).toBeGreaterThan(0);
  }, GROUP_TIMEOUT_MS);

  it('sluice ingest: bad addresses, flags and files are refused before the registry or a server is touched', async () => {
    expectRefusals(await finished('ingest: '));
    expect(existsSync(path.join(dir, 'ingest-registry.json'))).toBe(false);
  }, GROUP_TIMEOUT_MS);

  it('sluice simulate and loadtest: bad flags and unreachable servers are one error, with no report of a run that never was', async () => {
    expectRefusals([...(await finished('simulate: ')), ...(await finished('loadtest: '))]);
  }, GROUP_TIMEOUT_MS);

  it('the stack trace of a refusal is there with --verbose only', async () => {
    const args = ['run', '--source', `${KAFKA_STREAM}/telemetry`, '--handler', HANDLER, '--batch-size', '0'];
    const [quiet, verbose] = await Promise.all([runSluice(args, { cwd: dir }), runSluice(['--verbose', ...args], { cwd: dir })]);
    expect(refusalProblems(quiet, 2, ['mapping.BatchSize'])).toEqual([]);
    expect(verbose.code).toBe(2);
    expect(verbose.stderr.split('\n')[0]).toBe(quiet.stderr.split('\n')[0]);
    expect(verbose.stderr).toMatch(/^\s+at /m);
  }, GROUP_TIMEOUT_MS);
});
