/**
 * PostgreSQL connections terminated under the processors, as the chaos suite does with
 * `pg_terminate_backend`: transform's registry lookup, storage's readings and aggregates and the
 * alerts history run as the real handlers in a worker process of their own (pgDropWorker.ts),
 * connected as the least-privilege pipeline role, with real PostgreSQL, Redis and Kafka. This
 * test plays the runtime: it invokes a handler with a batch and invokes it again while it fails.
 *
 * A batch's connection is terminated while its statement waits for a lock this test holds, so
 * the moment is certain rather than a race; the idle connections between batches are
 * terminated too. The worker must not crash, the batch in flight must fail (so the runtime
 * retries it), the retry must succeed on a new connection, and in the end every record is
 * stored exactly once. The sessions are found by their application_name, as an operator would.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import Redis from 'ioredis';
import { Client, Pool } from 'pg';
import type { Notification } from '../../../processors/alerts/alertRecord';
import { emptyEntityState } from '../../../processors/alerts/entityState';
import { evaluateDeviceReadings } from '../../../processors/alerts/readingEvaluation';
import type { ReadingEffects } from '../../../processors/alerts/readingEvaluation';
import { parseRuleSet } from '../../../processors/alerts/ruleFile';
import { NOTIFICATION_ID_HEADER } from '../../../processors/alerts/targets/streamTarget';
import { registerDevices } from '../../../processors/registry/deviceImport';
import { PG_APPLICATION_NAMES, withPgClient } from '../../../processors/shared/pgConnections';
import { PIPELINE_MIGRATIONS } from '../../../processors/shared/pipelineMigrations';
import { closeSharedResources, sharedPgPool } from '../../../processors/shared/processorResources';
import type { ProcessorEvent } from '../../../processors/shared/streamRecords';
import type { EnrichedReading } from '../../../schemas/records';
import { SUBJECTS } from '../../../schemas/sluiceSchemas';
import { applyPostgresRoles } from '../../../security/postgresRoles';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient, StreamRecord } from '../../../streams/streamClient';
import { drainPartition } from '../../conformance/streamConformance';
import { testServers, uniqueName } from '../../support/servers';
import { streamEvent } from '../alerts/alertsTestSupport';
import type { TestCodec } from '../storage/storageTestSupport';
import { createTestCodec, kafkaEvent as storageKafkaEvent, makeAggregate } from '../storage/storageTestSupport';
import { encodeReading, kafkaEvent as telemetryKafkaEvent, reading as telemetryReading, streamRecord } from '../transform/transformTestSupport';
import type { WorkerAnswer, WorkerCommand, WorkerFunction } from './pgDropWorker';

const ROOT = path.resolve(__dirname, '../../..');
const suffix = `${process.pid}_${Date.now().toString(36)}`;
const database = `sluice_drops_${suffix}`;
const owner = `sluice_owner_d${suffix}`;
const pipeline = `sluice_pipeline_d${suffix}`;
const schema = 'sluice';
const adminUser = new URL(testServers.postgresUrl).username || 'postgres';

const RULES = `
rules:
  - { id: hot, kind: threshold, metric: temperature, when: { op: ">", value: 30 }, clear: { op: "<", value: 25 }, cooldown: 0 }
`;
/** Temperatures per round: open, clear, open again. */
const ROUND_TEMPERATURES = [41, 20, 41];
const READINGS_PER_DEVICE_PER_ROUND = 2;
const MAX_ATTEMPTS = 5;

/** The table a function's statement waits on, and a lock mode that makes it wait. */
const BLOCKING_LOCKS: Record<WorkerFunction, { table: string; mode: string }> = {
  [PG_APPLICATION_NAMES.transform]: { table: 'devices', mode: 'ACCESS EXCLUSIVE' }, // the lookup is a SELECT
  [PG_APPLICATION_NAMES.storeReadings]: { table: 'readings', mode: 'SHARE' },
  [PG_APPLICATION_NAMES.storeAggregates]: { table: 'aggregates', mode: 'SHARE' },
  [PG_APPLICATION_NAMES.alerts]: { table: 'alert_transitions', mode: 'SHARE' },
};
const FUNCTIONS = Object.keys(BLOCKING_LOCKS) as WorkerFunction[];

function urlFor(user: string): string {
  const url = new URL(testServers.postgresUrl);
  url.username = user;
  url.pathname = `/${database}`;
  return url.toString();
}

const kafkaAddress = (topic: string): string => `kafka://${testServers.kafkaBrokers.join(',')}/${topic}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type WithoutId<C> = C extends unknown ? Omit<C, 'id'> : never;

/** The worker process and its one-line-per-command protocol; a crash rejects whatever is pending. */
class DropWorker {
  private readonly pending = new Map<number, { resolve(answer: WorkerAnswer): void; reject(error: Error): void }>();
  private nextId = 0;
  private stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(private readonly child: ChildProcess) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = `${this.stderr}${chunk.toString('utf8')}`.slice(-4000);
    });
    readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const message = JSON.parse(line) as WorkerAnswer;
      this.pending.get(message.id)?.resolve(message);
      this.pending.delete(message.id);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        const error = new Error(`the worker exited (code ${code}, signal ${signal}); its stderr ends with:\n${this.stderr}`);
        for (const waiting of this.pending.values()) waiting.reject(error);
        this.pending.clear();
        resolve(this.exit);
      });
    });
  }

  send(command: WithoutId<WorkerCommand>): Promise<WorkerAnswer> {
    if (this.exit) return Promise.reject(new Error(`the worker has exited (code ${this.exit.code}, signal ${this.exit.signal}):\n${this.stderr}`));
    this.nextId += 1;
    const id = this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin?.write(`${JSON.stringify({ ...command, id })}\n`);
    });
  }
}

let admin: Pool;
let ownerPool: Pool;
let worker: DropWorker;
let streams: StreamClient;
let redis: Redis;
let codec: TestCodec;
const prefix = uniqueName('pgdrops').replace(/[^A-Za-z0-9-]/g, '-');
const topics = { enriched: uniqueName('pgdrops-enriched'), dlq: uniqueName('pgdrops-dlq'), alerts: uniqueName('pgdrops-alerts') };
const devices = [0, 1, 2].map((i) => `${prefix}-dev-${i}`);

beforeAll(async () => {
  const server = new Client({ connectionString: testServers.postgresUrl });
  await server.connect();
  await server.query(`CREATE DATABASE ${database}`);
  await server.end();
  await applyPostgresRoles({ adminUrl: urlFor(adminUser), schema, ownerRole: owner, pipelineRole: pipeline, migrations: PIPELINE_MIGRATIONS });
  admin = new Pool({ connectionString: urlFor(adminUser), max: 3 });
  admin.on('error', () => undefined); // DROP DATABASE ... FORCE at the end may close what pool.end() left
  ownerPool = new Pool({ connectionString: urlFor(owner), max: 1 });
  ownerPool.on('error', () => undefined);
  await registerDevices(ownerPool, devices.map((deviceId) => ({ deviceId, deviceType: 'temperature-humidity', siteId: 'site-1', thresholds: {} })));

  streams = openStreamClient(kafkaAddress('x'));
  for (const topic of Object.values(topics)) await streams.createStream(topic, 1);
  redis = new Redis(testServers.redisUrl);
  codec = await createTestCodec();
  const rulesFile = path.join(path.dirname(codec.registryPath), 'rules.yaml');
  writeFileSync(rulesFile, RULES);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SLUICE_PG_URL: urlFor(pipeline),
    SLUICE_REDIS_URL: testServers.redisUrl,
    SLUICE_SCHEMA_REGISTRY: codec.registryPath,
    SLUICE_KEY_PREFIX: prefix,
    SLUICE_ENRICHED_STREAM: kafkaAddress(topics.enriched),
    SLUICE_PROCESSOR_DLQ: kafkaAddress(topics.dlq),
    SLUICE_ALERTS_STREAM: kafkaAddress(topics.alerts),
    SLUICE_ALERT_RULES: rulesFile,
    SLUICE_UNKNOWN_DEVICES: 'pass',
    SLUICE_REGISTRY_CACHE_SECONDS: '0', // every batch asks the registry
    SLUICE_LAKE_DIR: 'none',
    SLUICE_LOG_LEVEL: 'warn',
  };
  for (const name of ['SLUICE_MQTT_URL', 'SLUICE_WEBHOOK_URLS', 'SLUICE_WEBHOOK_SECRET']) delete env[name];
  worker = new DropWorker(spawn(process.execPath, [path.join(ROOT, 'bin/run-ts.js'), path.join(__dirname, 'pgDropWorker.ts')], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] }));
});

afterAll(async () => {
  if (worker !== undefined && !worker.exit) {
    await worker.send({ op: 'close' }).catch(() => undefined);
    await worker.exited;
  }
  await closeSharedResources();
  for (const topic of Object.values(topics)) await streams?.deleteStream(topic).catch(() => undefined);
  await streams?.close();
  if (redis !== undefined) {
    for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 500 })) {
      const keys = batch as string[];
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  }
  await codec?.registry.cleanup();
  await ownerPool?.end();
  await admin?.end();
  const server = new Client({ connectionString: testServers.postgresUrl });
  await server.connect();
  await server.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  for (const role of [pipeline, owner]) await server.query(`DROP ROLE IF EXISTS ${role}`);
  await server.end();
});

/** Terminates the sessions of `applicationNames` in this test's database that match `condition`; how many. */
async function terminate(applicationNames: readonly string[], condition: string): Promise<number> {
  const { rows } = await admin.query<{ terminated: boolean }>(
    `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
      WHERE datname = $1 AND application_name = ANY($2::text[]) AND ${condition}`,
    [database, applicationNames],
  );
  return rows.filter((row) => row.terminated).length;
}

/** The runtime's part: invoke again while the batch fails (a retry of the same batch). */
async function retryUntilDone(fn: WorkerFunction, event: ProcessorEvent, first: Promise<WorkerAnswer>): Promise<WorkerAnswer[]> {
  const attempts = [await first];
  while (!(attempts[attempts.length - 1] as WorkerAnswer).ok && attempts.length < MAX_ATTEMPTS) attempts.push(await worker.send({ op: 'invoke', fn, event }));
  return attempts;
}

/**
 * Invokes `fn` while this test holds a lock its statement needs, terminates the session once it
 * waits for that lock, then lets go and retries the batch.
 */
async function invokeAndTerminateInFlight(fn: WorkerFunction, event: ProcessorEvent): Promise<WorkerAnswer[]> {
  const { table, mode } = BLOCKING_LOCKS[fn];
  const blocker = await admin.connect();
  await blocker.query('BEGIN');
  await blocker.query(`LOCK TABLE ${schema}.${table} IN ${mode} MODE`);
  const first = worker.send({ op: 'invoke', fn, event });
  try {
    let answered = false;
    void first.then(() => (answered = true), () => (answered = true));
    let terminated = 0;
    while (terminated === 0) {
      if (answered) throw new Error(`${fn} answered before it waited for the lock on ${table}: ${JSON.stringify(await first)}`);
      terminated = await terminate([fn], `wait_event_type = 'Lock'`);
      if (terminated === 0) await sleep(20);
    }
  } finally {
    await blocker.query('ROLLBACK').catch(() => undefined);
    blocker.release();
  }
  return retryUntilDone(fn, event, first);
}

/** Terminates every idle session of the pipeline, then waits until the worker's pools have let go of them. */
async function terminateIdleSessions(): Promise<number> {
  const terminated = await terminate(FUNCTIONS, `state = 'idle'`);
  for (;;) {
    const answer = await worker.send({ op: 'pools' });
    if (!answer.ok || !answer.pools) throw new Error(`pools: ${JSON.stringify(answer)}`);
    if (Object.values(answer.pools).every((pool) => pool.total === 0)) return terminated;
    await sleep(20);
  }
}

function attemptOutcomes(attempts: readonly WorkerAnswer[]): string[] {
  return attempts.map((attempt) => (attempt.ok ? 'ok' : /terminat/i.test(attempt.error) ? 'terminated' : `failed: ${attempt.error}`));
}

/** What a clean, single evaluation of the readings notifies (the alerts processor's own rules code). */
function expectedNotifications(readings: readonly EnrichedReading[]): Notification[] {
  const rules = parseRuleSet(RULES, 'pgdrops-rules');
  const out: Notification[] = [];
  for (const deviceId of devices) {
    const effects: ReadingEffects = { entity: deviceId, family: 'reading', clock: 0, notifications: [], heard: new Map(), evaluated: 0, duplicates: 0, stale: 0 };
    const own = readings.filter((r) => r.deviceId === deviceId).sort((a, b) => a.seq - b.seq);
    evaluateDeviceReadings(rules, emptyEntityState(), own.map((r) => ({ reading: r, arrivalTime: r.eventTime + 50 })), effects);
    out.push(...effects.notifications);
  }
  return out;
}

describe('processors whose PostgreSQL sessions are terminated', () => {
  it('fail the batch in flight, store it on the retry over a new connection, and store every record exactly once, without crashing', async () => {
    const outcomes: Record<string, string[][]> = Object.fromEntries(FUNCTIONS.map((fn) => [fn, []]));
    const idleTerminated: number[] = [];
    const enriched: EnrichedReading[] = [];
    let telemetryPosition = 0;
    let enrichedSeen = 0;

    for (const [round, temperature] of ROUND_TEMPERATURES.entries()) {
      // rounds 0 and 2 lose the session of every batch in flight; before rounds 1 and 2 every idle one goes
      const inFlight = round !== 1;
      if (round > 0) idleTerminated.push(await terminateIdleSessions());
      const run = async (fn: WorkerFunction, event: ProcessorEvent): Promise<void> => {
        const attempts = inFlight ? await invokeAndTerminateInFlight(fn, event) : await retryUntilDone(fn, event, worker.send({ op: 'invoke', fn, event }));
        outcomes[fn]?.push(attemptOutcomes(attempts));
      };

      const telemetry = [];
      for (const deviceId of devices) {
        for (let n = 1; n <= READINGS_PER_DEVICE_PER_ROUND; n++) {
          const seq = round * READINGS_PER_DEVICE_PER_ROUND + n;
          telemetryPosition += 1;
          telemetry.push(streamRecord('telemetry', '0', telemetryPosition, deviceId, await encodeReading(codec.codec, telemetryReading(deviceId, seq, { temperature, humidity: 40 }))));
        }
      }
      await run(PG_APPLICATION_NAMES.transform, telemetryKafkaEvent(telemetry));

      // the transform's output, as the storage and alerts functions would receive it
      const records: StreamRecord[] = (await drainPartition(streams, topics.enriched, '0')).slice(enrichedSeen);
      enrichedSeen += records.length;
      const decoded = await Promise.all(records.map(async (record) => (await codec.codec.decode(record.value)) as EnrichedReading));
      enriched.push(...decoded);
      await run(PG_APPLICATION_NAMES.storeReadings, storageKafkaEvent(topics.enriched, 0, records.map((record) => ({ position: Number(record.position), key: record.key, value: record.value }))));
      await run(PG_APPLICATION_NAMES.alerts, streamEvent('kafka', topics.enriched, records.map((record, i) => ({
        position: Number(record.position), key: record.key, value: record.value, arrivalTime: (decoded[i] as EnrichedReading).eventTime + 50,
      }))));
      const aggregates = await Promise.all(devices.map(async (deviceId, i) => ({
        position: round * devices.length + i, key: deviceId, value: await codec.codec.encode(SUBJECTS.aggregate, makeAggregate(deviceId, round)),
      })));
      await run(PG_APPLICATION_NAMES.storeAggregates, storageKafkaEvent('aggregates', 0, aggregates));
    }

    // the process lived through all of it, and every batch failed exactly when its session was cut
    expect(worker.exit).toBeUndefined();
    for (const fn of FUNCTIONS) expect({ fn, outcomes: outcomes[fn] }).toEqual({ fn, outcomes: [['terminated', 'ok'], ['ok'], ['terminated', 'ok']] });
    expect(idleTerminated.every((count) => count > 0)).toBe(true);

    // every record exactly once: the transform's output, the readings, the aggregates, the alert history
    const sent = devices.flatMap((deviceId) => Array.from({ length: ROUND_TEMPERATURES.length * READINGS_PER_DEVICE_PER_ROUND }, (_, i) => `${deviceId}/${i + 1}`)).sort();
    expect(enriched.map((r) => `${r.deviceId}/${r.seq}`).sort()).toEqual(sent);
    const readings = await ownerPool.query<{ key: string }>(`SELECT device_id || '/' || seq AS key FROM readings`);
    expect(readings.rows.map((row) => row.key).sort()).toEqual(sent);
    const aggregates = await ownerPool.query<{ key: string }>(`SELECT scope_id || '/' || (extract(epoch FROM window_start) * 1000)::bigint AS key FROM aggregates`);
    expect(aggregates.rows.map((row) => row.key).sort()).toEqual(
      devices.flatMap((deviceId) => ROUND_TEMPERATURES.map((_, round) => `${deviceId}/${makeAggregate(deviceId, round).windowStart}`)).sort(),
    );
    const expected = expectedNotifications(enriched);
    expect(expected.map((n) => n.transition)).toEqual(devices.flatMap(() => ['opened', 'cleared', 'opened']));
    const transitions = await ownerPool.query<{ key: string }>(`SELECT alert_id || '/' || version || ' ' || transition AS key FROM alert_transitions`);
    expect(transitions.rows.map((row) => row.key).sort()).toEqual(expected.map((n) => `${n.id} ${n.transition}`).sort());
    const onStream = await drainPartition(streams, topics.alerts, '0');
    expect(new Set(onStream.map((record) => record.headers[NOTIFICATION_ID_HEADER]?.toString()))).toEqual(new Set(expected.map((n) => n.id)));

    await worker.send({ op: 'close' });
    expect(await worker.exited).toEqual({ code: 0, signal: null });
  });
});

describe('a pipeline pool', () => {
  it('takes an \'error\' event on an idle client without throwing, drops that client and connects anew', async () => {
    const pool = sharedPgPool(urlFor(pipeline), `sluice-test-${suffix}`);
    const client = await pool.connect();
    client.release();
    expect(pool.idleCount).toBe(1);
    expect(() => client.emit('error', new Error('terminating connection due to administrator command'))).not.toThrow();
    expect(pool.totalCount).toBe(0);
    await expect(pool.query<{ one: number }>('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });

  it('takes an \'error\' event on a checked-out client without throwing', async () => {
    const pool = sharedPgPool(urlFor(pipeline), `sluice-test-${suffix}`);
    const client = await pool.connect();
    try {
      expect(() => client.emit('error', new Error('terminating connection due to administrator command'))).not.toThrow();
    } finally {
      client.release(true);
    }
  });

  it('names its sessions with the function\'s application_name', async () => {
    const name = `sluice-test-${suffix}`;
    const { rows } = await sharedPgPool(urlFor(pipeline), name).query<{ application_name: string }>('SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()');
    expect(rows).toEqual([{ application_name: name }]);
  });
});

describe('withPgClient', () => {
  it('survives the session dying while the client is out, fails the work, and the next call connects anew', async () => {
    // a plain pool with no listeners of its own: withPgClient must guard the client by itself
    const pool = new Pool({ connectionString: urlFor(pipeline), max: 1 });
    try {
      const failed = withPgClient(pool, async (client) => {
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        const ended = new Promise((resolve) => client.once('end', resolve));
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
        await ended; // the 'error' event came before this, while the client was out and between queries
        await client.query('SELECT 1');
      });
      await expect(failed).rejects.toThrow(/terminat|not queryable/i);
      expect(pool.totalCount).toBe(0);
      await expect(withPgClient(pool, (client) => client.query<{ one: number }>('SELECT 1 AS one'))).resolves.toMatchObject({ rows: [{ one: 1 }] });
    } finally {
      await pool.end();
    }
  });
});
