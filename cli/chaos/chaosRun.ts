/**
 * One chaos run: own servers up, the pipeline as separate worker processes, simulated devices
 * sending a steady load (with duplicates and malformed messages mixed in), faults injected at the
 * moments a seed chose, then the devices stop, the pipeline drains, and the checks say whether
 * anything was lost, counted twice or raised twice. A soak run is the same with no faults, for
 * longer, watching memory and lag.
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { Pool } from 'pg';
import { errorMessage } from '../../core/errors';
import { createLogger } from '../../core/logger';
import { windowSettingsFromEnv } from '../../processors/aggregate/aggregateSettings';
import { defaultSiteCount, registerFleetDevices } from '../../processors/registry/fleetRegistration';
import { AvroCodec } from '../../schemas/avroCodec';
import { RedisSchemaStore } from '../../schemas/redisSchemaStore';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import { startFleet } from '../../simulators/fleet';
import { createFleetDevices } from '../../simulators/fleetDevices';
import { resolveFleetOptions } from '../../simulators/fleetOptions';
import type { FaultRates } from '../../simulators/faultKinds';
import { openStreamClient } from '../../streams/openStreamClient';
import { parseStreamAddress } from '../../streams/streamAddress';
import type { StreamClient } from '../../streams/streamClient';
import { supportsGroupAdmin } from '../../streams/streamClient';
import { closeAlertsConnections } from '../../processors/alerts/alertsContext';
import { closeSharedResources } from '../../processors/shared/processorResources';
import { connectRedis } from '../support/redisConnection';
import { waitUntilStored } from '../up/lossCheck';
import { createPipelineStreams, processorEnvironment } from '../pipeline/localPipeline';
import { PIPELINE_FUNCTIONS, streamName } from '../pipeline/pipelineSpec';
import { ScheduledFunctions } from '../pipeline/scheduledFunctions';
import { runChaosChecks } from './chaosChecks';
import type { CheckResult, ChaosCounts } from './chaosChecks';
import { ChaosServers } from './chaosServers';
import { DelayProxy } from './delayProxy';
import { planFaults } from './faultPlan';
import type { FaultKind, PlannedFault } from './faultPlan';
import type { AppendFsync } from '../../infra/redis/projectRedis';
import { pipelineWorkerSpecs } from './pipelineProcesses';
import { WorkerProcess } from './workerProcess';
import type { UnexpectedExit } from './workerProcess';

export interface ChaosOptions {
  seed: number;
  durationSeconds: number;
  faults: number;
  kinds: readonly FaultKind[];
  devices: number;
  rate: number;
  partitions: number;
  appendfsync: AppendFsync;
  pgServerUrl: string;
  /** Kafka consumer-group session timeout of the workers: how soon a killed worker's partitions move */
  sessionTimeoutMs: number;
  /** seconds between memory/lag samples */
  sampleSeconds: number;
  /** keep the work directory, logs and scratch database */
  keep: boolean;
  projectRoot: string;
  say: (line: string) => void;
}

export interface FaultOutcome {
  kind: FaultKind;
  plannedAtMs: number;
  /** ms after the load started */
  injectedAtMs: number;
  /** how long the injection itself took (a broker restart waits until it answers again) */
  injectionMs: number;
  /** from the injection until the pipeline was caught up to the fault moment and a reading sent after it was stored */
  recoveryMs: number | undefined;
  detail: string;
  error?: string;
}

export interface ChaosSample {
  atSeconds: number;
  rssMb: Record<string, number>;
  /** records not yet processed, summed over each function's source partitions */
  lag: Record<string, number>;
}

export interface ChaosReport {
  ok: boolean;
  seed: number;
  servers: string[];
  loadSeconds: number;
  devices: number;
  rate: number;
  faults: FaultOutcome[];
  unexpectedExits: UnexpectedExit[];
  readings: { sent: number; acked: number; ackedValid: number; ackedMalformed: number } & ChaosCounts & { duplicatesAbsorbed: number };
  baselineMs: number | undefined;
  drainSeconds: number;
  checks: CheckResult[];
  samples: ChaosSample[];
  workDir: string;
}

/** Duplicates and every kind of malformed message the devices send while faults hit. */
const MIXED_IN: FaultRates = { duplicate: 0.02, 'malformed-json': 0.004, 'wrong-types': 0.004, 'missing-fields': 0.003, oversized: 0.001, 'wrong-topic': 0.003 };
const DRAIN_DEADLINE_MS = 240_000;
const RECOVERY_DEADLINE_MS = 180_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Probe {
  close(): Promise<void>;
  /** latest event time (epoch ms) of a stored reading */
  newestStored(): Promise<number>;
  /** every function's group has committed past these source offsets (partition -> offset) */
  caughtUp(targets: Map<string, Map<string, bigint>>): Promise<boolean>;
  /** each function's source end offsets now */
  ends(): Promise<Map<string, Map<string, bigint>>>;
  lag(): Promise<Record<string, number>>;
}

function pipelineProbe(streams: StreamClient, pgUrl: string, streamPrefix: string): Probe {
  const functions = PIPELINE_FUNCTIONS.map((fn) => ({ name: fn.name.replace(/^sluice-/, ''), group: `sluice-${streamPrefix}${fn.name}`, stream: streamName({ streamBase: '', streamPrefix }, fn.source) }));
  if (!supportsGroupAdmin(streams)) throw new Error('chaos runs on Kafka: its consumer groups tell how far each worker got');
  const offsets = (fn: (typeof functions)[number]) => streams.groupOffsets(fn.stream, fn.group);
  const pg = new Pool({ connectionString: pgUrl, application_name: 'sluice-chaos-probe', max: 1 });
  pg.on('error', () => undefined);
  return {
    close: () => pg.end(),
    async newestStored() {
      const result = await pg.query<{ newest: Date | null }>('SELECT max(event_time) AS newest FROM readings');
      return result.rows[0]?.newest?.getTime() ?? 0;
    },
    async ends() {
      const out = new Map<string, Map<string, bigint>>();
      for (const fn of functions) out.set(fn.name, new Map((await offsets(fn)).partitions.map((p) => [p.partition, BigInt(p.high)])));
      return out;
    },
    async caughtUp(targets) {
      for (const fn of functions) {
        const target = targets.get(fn.name);
        if (!target) continue;
        for (const p of (await offsets(fn)).partitions) {
          const committed = BigInt(p.committed ?? p.low);
          if (committed < (target.get(p.partition) ?? 0n)) return false;
        }
      }
      return true;
    },
    async lag() {
      const out: Record<string, number> = {};
      for (const fn of functions) out[fn.name] = (await offsets(fn)).partitions.reduce((sum, p) => sum + p.lag, 0);
      return out;
    },
  };
}

/**
 * Resolves with ms from `since` until the pipeline is caught up to `targets` and has stored a
 * reading newer than `since` (when the devices still send after it: a fault in the drain only
 * needs the catching up).
 */
async function recovery(probe: Probe, since: number, targets: Map<string, Map<string, bigint>>, loadEndsAt: number): Promise<number | undefined> {
  const deadline = since + RECOVERY_DEADLINE_MS;
  const needNewer = since < loadEndsAt - 2000;
  while (Date.now() < deadline) {
    const ok = await Promise.all([needNewer ? probe.newestStored().then((t) => t > since) : true, probe.caughtUp(targets)]).then(([a, b]) => a && b).catch(() => false);
    if (ok) return Date.now() - since;
    await sleep(250);
  }
  return undefined;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const say = options.say;
  const logger = createLogger({ level: process.env.SLUICE_LOG_LEVEL ?? 'error', component: 'chaos' });
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `sluice-chaos-${runId}-`));
  // mkdtemp makes it private to us; Mosquitto, started as root, drops to its own user and must reach its persistence dir inside
  fs.chmodSync(workDir, 0o755);
  const servers = await ChaosServers.start({ workDir, pgServerUrl: options.pgServerUrl, appendfsync: options.appendfsync, onProgress: say });
  const streamPrefix = `chaos-${runId}-`;
  const keyPrefix = `chaos-${runId}`;
  const lakeDir = path.join(workDir, 'lake');
  const at = { streamBase: `kafka://${servers.kafkaBrokers}`, streamPrefix };
  // the workers reach Redis and PostgreSQL through proxies that the network-delay fault slows down
  const pgAddress = new URL(servers.pgUrl);
  const proxies = {
    redis: await DelayProxy.start({ host: '127.0.0.1', port: servers.redis.port }),
    postgres: await DelayProxy.start({ host: pgAddress.hostname, port: Number(pgAddress.port || 5432) }),
  };
  const envOptions = {
    ...at, redisUrl: proxies.redis.rewrite(servers.redis.url), keyPrefix, lakeDir, mqttUrl: servers.mqttUrl, pgUrl: proxies.postgres.rewrite(servers.pgUrl),
    // Windows stay open for two minutes after their end, longer than any fault delays a reading, so no reading is late
    // and the aggregates must equal the reference exactly.
    environment: { SLUICE_GRACE_MS: '120000' },
  };
  const environment = processorEnvironment(envOptions);
  const previousEnv = Object.fromEntries(Object.keys(environment).map((name) => [name, process.env[name]]));
  Object.assign(process.env, environment);
  const workers: WorkerProcess[] = [];
  const unexpectedExits: UnexpectedExit[] = [];
  const streams = openStreamClient(parseStreamAddress(`${at.streamBase}/x`), { logger, clientId: 'sluice-chaos' });
  const registry = new SchemaRegistry(RedisSchemaStore.connect(servers.redis.url));
  const schedules = new ScheduledFunctions(options.projectRoot, logger);
  const redis = await connectRedis(servers.redis.url);
  const probe = pipelineProbe(streams, servers.pgUrl, streamPrefix);
  try {
    for (const line of servers.describe) say(`  ${line}`);
    await createPipelineStreams(streams, at, options.partitions);
    await registerSluiceSchemas(registry);
    const fleetOptions = { mqttUrl: servers.mqttUrl, devices: options.devices, rate: options.rate, seed: options.seed, qos: 1 as const, faults: MIXED_IN, anomalyRate: 0.02, clientIdPrefix: `chaos-${runId}-` };
    const pool = new Pool({ connectionString: servers.pgUrl, max: 1 });
    await registerFleetDevices(pool, createFleetDevices(resolveFleetOptions(fleetOptions)), { sites: defaultSiteCount(options.devices) }).finally(() => pool.end());

    const specs = await pipelineWorkerSpecs({ ...envOptions, projectRoot: options.projectRoot, runId, mqttTopicPrefix: 'devices', sessionTimeoutMs: options.sessionTimeoutMs, logLevel: 'warn' });
    for (const spec of specs) workers.push(new WorkerProcess(spec, options.projectRoot, path.join(workDir, 'logs'), (exit) => {
      unexpectedExits.push(exit);
      say(`chaos: ${exit.worker} exited on its own (code ${String(exit.code)}, signal ${String(exit.signal)}); restarted`);
    }));
    say(`chaos: starting ${workers.length} worker processes (${workers.map((w) => w.spec.name).join(', ')})`);
    // consumers first, ingest last, as sluice up does
    await Promise.all(workers.filter((w) => w.spec.name !== 'ingest').map((w) => w.start()));
    await workers.find((w) => w.spec.name === 'ingest')?.start();
    schedules.start();

    const loadMs = options.durationSeconds * 1000;
    const plan: PlannedFault[] = planFaults(options.seed, options.faults, loadMs, options.kinds);
    const firstSeq = Date.now() * 100;
    const fleet = startFleet({ ...fleetOptions, firstSeq, durationMs: loadMs, rampUpMs: Math.min(5000, options.devices * 20) });
    const loadStarted = Date.now();
    say(`chaos: ${options.devices} devices at ${options.rate} readings/s for ${options.durationSeconds} s; ${plan.length} faults (seed ${options.seed})`);
    const loadEndsAt = loadStarted + loadMs;
    const baseline = recovery(probe, loadStarted, new Map(), loadEndsAt);

    const samples: ChaosSample[] = [];
    let sampling = true;
    const sampler = setInterval(() => {
      void probe.lag().catch(() => ({})).then((lag) => {
        // a sample that began before the drain ended would see workers stopping
        if (!sampling) return;
        const rssMb: Record<string, number> = {};
        for (const w of workers) {
          const rss = w.rssBytes();
          if (rss !== undefined) rssMb[w.spec.name] = Math.round(rss / 1048576);
        }
        const sample = { atSeconds: Math.round((Date.now() - loadStarted) / 1000), rssMb, lag };
        samples.push(sample);
        say(`chaos: t+${sample.atSeconds}s memory ${Object.entries(rssMb).map(([name, mb]) => `${name} ${mb}`).join(', ')} MB; lag ${Object.values(lag).reduce((a, b) => a + b, 0)} records`);
      });
    }, options.sampleSeconds * 1000);

    const outcomes: FaultOutcome[] = [];
    const recoveries: Array<Promise<void>> = [];
    for (const fault of plan) {
      const wait = loadStarted + fault.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      const targets = await probe.ends().catch(() => new Map<string, Map<string, bigint>>());
      const injected = Date.now();
      const outcome: FaultOutcome = { kind: fault.kind, plannedAtMs: fault.atMs, injectedAtMs: injected - loadStarted, injectionMs: 0, recoveryMs: undefined, detail: '' };
      try {
        outcome.detail = await inject(fault.kind, servers, workers, Object.values(proxies));
      } catch (error) {
        outcome.error = errorMessage(error);
      }
      outcome.injectionMs = Date.now() - injected;
      say(`chaos: t+${(outcome.injectedAtMs / 1000).toFixed(1)}s ${fault.kind}: ${outcome.error ?? outcome.detail} (${outcome.injectionMs} ms)`);
      outcomes.push(outcome);
      recoveries.push(recovery(probe, injected, targets, loadEndsAt).then((ms) => {
        outcome.recoveryMs = ms;
        say(`chaos: ${fault.kind} at t+${(outcome.injectedAtMs / 1000).toFixed(1)}s: ${ms === undefined ? 'NOT recovered' : `recovered in ${(ms / 1000).toFixed(1)} s`}`);
      }));
    }
    const fleetReport = await fleet.finished;
    say(`chaos: devices done (${fleetReport.acked} of ${fleetReport.sent} messages acked); draining`);
    await Promise.all(recoveries);
    const drainStarted = Date.now();
    const drained = await waitUntilStored(fleet.ledger, { pgUrl: servers.pgUrl, lakeDir }, firstSeq, DRAIN_DEADLINE_MS);
    // everything downstream of storage too: every function's group at the end of its source
    while (Date.now() - drainStarted < DRAIN_DEADLINE_MS) {
      const lag = await probe.lag().catch(() => undefined);
      if (lag && Object.values(lag).every((n) => n === 0)) break;
      await sleep(1000);
    }
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    clearInterval(sampler);
    sampling = false;
    say(`chaos: drained in ${drainSeconds.toFixed(1)} s (${drained.loss.missing} acked readings not stored); checking`);
    await schedules.stop();
    await Promise.all(workers.map((w) => w.stop()));

    const checked = await runChaosChecks({
      ledger: fleet.ledger, firstSeq, pgUrl: servers.pgUrl, lakeDir, redis, keyPrefix, windows: windowSettingsFromEnv(environment), streams, codec: new AvroCodec(registry),
      enrichedStream: streamName(at, 'enriched'), telemetryStream: streamName(at, 'telemetry'), deadLetterStream: streamName(at, 'telemetryDeadLetter'),
    }).catch((error: unknown) => ({
      // the report (faults, samples) is worth having even when a check cannot run
      checks: [{ name: 'checks ran', ok: false, detail: `the checks failed to run: ${errorMessage(error)}` }],
      counts: { ingestedRecords: 0, storedDistinct: 0, enrichedRecords: 0, deadLetters: 0 },
    }));
    const { checks, counts } = checked;
    const exitsCheck: CheckResult = { name: 'no worker died on its own', ok: unexpectedExits.length === 0, detail: unexpectedExits.length === 0 ? 'none' : unexpectedExits.map((e) => `${e.worker} (code ${String(e.code)}, ${String(e.signal)}): ${e.stderrTail.split('\n').filter(Boolean).slice(-2).join(' / ')}`).join('; ') };
    const recoveredCheck: CheckResult = { name: 'recovered from every fault', ok: outcomes.every((o) => o.recoveryMs !== undefined && o.error === undefined), detail: `${outcomes.filter((o) => o.recoveryMs !== undefined).length} of ${outcomes.length}` };
    const allChecks = [...checks, exitsCheck, recoveredCheck];
    return {
      ok: allChecks.every((check) => check.ok),
      seed: options.seed,
      servers: servers.describe,
      loadSeconds: fleetReport.durationMs / 1000,
      devices: options.devices,
      rate: options.rate,
      faults: outcomes,
      unexpectedExits,
      readings: { sent: fleetReport.sent, acked: fleetReport.acked, ackedValid: fleetReport.ackedReadings, ackedMalformed: fleetReport.ackedRejects, ...counts, duplicatesAbsorbed: Math.max(0, counts.ingestedRecords - counts.storedDistinct) },
      baselineMs: await baseline,
      drainSeconds,
      checks: allChecks,
      samples,
      workDir,
    };
  } finally {
    await schedules.stop();
    // the scheduled functions ran in this process: their connections close before the servers go
    await closeSharedResources().catch(() => undefined);
    await closeAlertsConnections().catch(() => undefined);
    await Promise.allSettled(workers.map((w) => w.stop(5000)));
    await probe.close().catch(() => undefined);
    await Promise.allSettled(Object.values(proxies).map((proxy) => proxy.close()));
    await streams.close().catch(() => undefined);
    await registry.close().catch(() => undefined);
    redis.disconnect();
    for (const [name, value] of Object.entries(previousEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await servers.close({ keepDatabase: options.keep });
    if (!options.keep) fs.rmSync(workDir, { recursive: true, force: true });
  }
}

const NETWORK_DELAY = { ms: 150, forMs: 8000 };

async function inject(kind: FaultKind, servers: ChaosServers, workers: readonly WorkerProcess[], proxies: readonly DelayProxy[]): Promise<string> {
  if (kind.startsWith('kill-')) {
    const worker = workers.find((w) => w.spec.name === kind.slice('kill-'.length));
    if (!worker) throw new Error(`no worker ${kind.slice('kill-'.length)}`);
    const pid = worker.pid;
    await worker.kill();
    await worker.startUntilReady();
    return `pid ${String(pid)} killed, pid ${String(worker.pid)} started`;
  }
  switch (kind) {
    case 'kafka-crash':
      await servers.crashKafka();
      return 'broker killed and answering again';
    case 'redis-crash':
      await servers.crashRedis();
      return 'redis-server killed and answering again (AOF loaded)';
    case 'mosquitto-restart':
      await servers.restartMosquitto();
      return 'broker stopped and answering again';
    case 'postgres-drop':
      return `${await servers.dropPostgresConnections()} connections terminated`;
    case 'network-delay':
      for (const proxy of proxies) proxy.delayMs = NETWORK_DELAY.ms;
      await sleep(NETWORK_DELAY.forMs);
      for (const proxy of proxies) proxy.delayMs = 0;
      return `${NETWORK_DELAY.ms} ms on every packet to Redis and PostgreSQL for ${NETWORK_DELAY.forMs / 1000} s`;
    default:
      throw new Error(`unknown fault ${String(kind)}`);
  }
}
