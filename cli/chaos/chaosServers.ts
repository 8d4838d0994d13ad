/**
 * The servers a chaos run attacks, all its own so that restarting one disturbs nothing else on
 * the machine: a Kafka broker on free ports, a Mosquitto with persistence, a redis-server with an
 * append-only file, and a scratch database on the PostgreSQL server. Each can be crashed or
 * restarted while the pipeline runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { SluiceError } from '../../core/errors';
import { kafkaDataDir, kafkaSpec } from '../../infra/kafka/kafkaServer';
import { downManagedProcess, upManagedProcess } from '../../infra/managedProcess';
import type { ManagedProcessSpec } from '../../infra/managedProcess';
import { mosquittoSpec } from '../../infra/mosquitto/mosquittoServer';
import { DEFAULT_CACHE_DIR } from '../../infra/paths';
import { findFreePort, findListeningPid, isPortFree } from '../../infra/ports';
import { isProcessAlive, readPidRecord, removePidRecord } from '../../infra/processControl';
import { probePostgres } from '../../infra/probes';
import { startProjectRedis } from '../../infra/redis/projectRedis';
import type { AppendFsync, ProjectRedis } from '../../infra/redis/projectRedis';

export interface ChaosServersOptions {
  /** where the AOF, Mosquitto's persistence file and the lake go */
  workDir: string;
  /** a PostgreSQL server the run may create and drop a scratch database on */
  pgServerUrl: string;
  appendfsync: AppendFsync;
  onProgress?: (line: string) => void;
}

const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;

/** SIGKILL the server and wait until its ports are free again (a loaded machine takes a moment to tear a JVM down). */
async function crash(spec: ManagedProcessSpec): Promise<void> {
  const record = readPidRecord(spec.runDir, spec.instance);
  const pids = new Set<number>();
  if (record !== undefined) pids.add(record.pid);
  for (const { port } of spec.ports) {
    const holder = findListeningPid(port);
    if (holder !== undefined) pids.add(holder);
  }
  for (const pid of pids) {
    if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    const free = await Promise.all(spec.ports.map(({ port }) => isPortFree(port)));
    if ([...pids].every((pid) => !isProcessAlive(pid)) && free.every(Boolean)) break;
    if (Date.now() > deadline) throw new SluiceError('TIMEOUT', `${spec.instance}: still running or its ports still taken 30 s after SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  removePidRecord(spec.runDir, spec.instance);
}

export class ChaosServers {
  private constructor(
    readonly kafkaBrokers: string,
    readonly mqttUrl: string,
    readonly redis: ProjectRedis,
    readonly pgUrl: string,
    private readonly pgDatabase: string,
    private readonly options: ChaosServersOptions,
    private readonly kafka: ManagedProcessSpec,
    private readonly mosquitto: ManagedProcessSpec,
    private readonly kafkaPort: number,
  ) {}

  static async start(options: ChaosServersOptions): Promise<ChaosServers> {
    const say = options.onProgress ?? (() => undefined);
    const probe = await probePostgres(options.pgServerUrl);
    if (!probe.ok) throw new SluiceError('SERVICE_UNAVAILABLE', `PostgreSQL at ${options.pgServerUrl} does not answer (${probe.detail}); start it or pass --pg-url`, { retriable: false });
    fs.mkdirSync(options.workDir, { recursive: true });
    const kafkaPort = await findFreePort();
    let controllerPort = await findFreePort();
    while (controllerPort === kafkaPort) controllerPort = await findFreePort();
    const kafka = kafkaSpec({ kafkaPort, kafkaControllerPort: controllerPort, kafkaVersion: undefined, cacheDir: DEFAULT_CACHE_DIR, startTimeoutMs: START_TIMEOUT_MS, stopTimeoutMs: STOP_TIMEOUT_MS });
    const mosquitto = mosquittoSpec({ mosquittoPort: await findFreePort(), cacheDir: DEFAULT_CACHE_DIR, startTimeoutMs: START_TIMEOUT_MS, stopTimeoutMs: STOP_TIMEOUT_MS, persistenceDir: path.join(options.workDir, 'mosquitto') });
    const pgDatabase = `sluice_chaos_${Date.now().toString(36)}_${process.pid}`;
    say(`chaos: starting Kafka on ${kafka.address}, Mosquitto on ${mosquitto.address}, redis-server (appendfsync ${options.appendfsync}), database ${pgDatabase}`);
    const [redis] = await Promise.all([
      startProjectRedis({ dir: path.join(options.workDir, 'redis'), appendfsync: options.appendfsync }),
      upManagedProcess(kafka),
      upManagedProcess(mosquitto),
      withPg(options.pgServerUrl, (client) => client.query(`CREATE DATABASE ${pgDatabase}`)),
    ]);
    const pgUrl = new URL(options.pgServerUrl);
    pgUrl.pathname = `/${pgDatabase}`;
    return new ChaosServers(kafka.address, mosquitto.address, redis, pgUrl.toString(), pgDatabase, options, kafka, mosquitto, kafkaPort);
  }

  /** SIGKILL the broker (page cache survives: what it acknowledged is in its log) and start it again. */
  async crashKafka(): Promise<void> {
    await crash(this.kafka);
    await upManagedProcess(this.kafka);
  }

  /** SIGKILL redis-server and start it again on its append-only file. */
  async crashRedis(): Promise<void> {
    await this.redis.restart({ signal: 'SIGKILL' });
  }

  /**
   * A clean restart (SIGTERM): Mosquitto writes its persistence file on shutdown, keeping the
   * persistent ingest session's queued messages. (A SIGKILL would lose what it acknowledged since
   * its last autosave: MQTT brokers acknowledge on receipt, not on disk.)
   */
  async restartMosquitto(): Promise<void> {
    await downManagedProcess(this.mosquitto);
    await upManagedProcess(this.mosquitto);
  }

  /** Terminates every pipeline connection to the scratch database (not the chaos run's own observers): the pipeline's pools see them drop. */
  async dropPostgresConnections(): Promise<number> {
    const result = await withPg(this.options.pgServerUrl, (client) =>
      client.query<{ terminated: boolean }>("SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name NOT LIKE 'sluice-chaos%'", [this.pgDatabase]));
    return result.rows.filter((row) => row.terminated).length;
  }

  get describe(): string[] {
    return [`kafka      ${this.kafkaBrokers} (own broker, KRaft)`, `mosquitto  ${this.mqttUrl} (own, persistence on)`, `redis      ${this.redis.url} (own, appendonly yes, appendfsync ${this.options.appendfsync})`, `postgres   ${this.pgUrl.replace(/\/\/[^@/]*@/, '//')} (scratch database)`];
  }

  async close(options: { keepDatabase?: boolean } = {}): Promise<void> {
    await Promise.allSettled([downManagedProcess(this.kafka), downManagedProcess(this.mosquitto), this.redis.stop()]);
    fs.rmSync(kafkaDataDir(DEFAULT_CACHE_DIR, this.kafkaPort), { recursive: true, force: true });
    if (!options.keepDatabase) {
      await withPg(this.options.pgServerUrl, async (client) => {
        await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [this.pgDatabase]);
        await client.query(`DROP DATABASE IF EXISTS ${this.pgDatabase}`);
      }).catch(() => undefined);
    }
  }
}

async function withPg<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, application_name: 'sluice-chaos' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
