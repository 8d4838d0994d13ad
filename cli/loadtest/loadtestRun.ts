/**
 * `sluice loadtest`: the whole pipeline under a chosen load, sampled every second — rate per
 * stage, consumer lag (iterator age), end-to-end latency (device event time → visible in
 * Redis) — in phases with more consumers each, to show how throughput scales as they are added.
 */
import path from 'node:path';
import Redis from 'ioredis';
import { errorMessage } from '../../core/errors';
import { createLogger } from '../../core/logger';
import { startFleet } from '../../simulators/fleet';
import type { FleetProgress } from '../../simulators/fleet';
import type { FleetReport } from '../../simulators/fleetReport';
import { LocalPipeline } from '../pipeline/localPipeline';
import type { PipelineStats } from '../pipeline/localPipeline';
import { LatencyProbe } from '../up/latencyProbe';
import type { LatencySummary } from '../up/latencyProbe';
import { waitUntilStored } from '../up/lossCheck';
import type { LossCheck } from '../up/lossCheck';
import { UP_DEFAULTS } from '../up/upOptions';
import type { UpOptions } from '../up/upOptions';
import { startUpServices } from '../up/upServices';

export interface LoadtestOptions {
  devices: number;
  rate: number;
  rampSeconds: number;
  durationSeconds: number;
  partitions: number;
  parallelization: number;
  handlerLatencyMs: number;
  /** consumers (runners per function) in each phase, e.g. [1, 2, 4]; phases split the duration evenly */
  consumers: number[];
  gateway: boolean;
  qos: 0 | 1;
  kafka: string | undefined;
  kinesisEndpoint: string | undefined;
  mqttUrl: string | undefined;
  redisUrl: string | undefined;
  pgUrl: string | false | undefined;
  keyPrefix: string;
  lakeDir: string;
  seed: number;
}

export interface LoadtestSample {
  t: number;
  consumers: number;
  ackedPerSecond: number;
  ingestedPerSecond: number;
  stagePerSecond: Record<string, number>;
  lagMs: Record<string, number>;
  latencyMs: LatencySummary;
}

export interface LoadtestPhase {
  consumers: number;
  fromT: number;
  toT: number;
  /** records per second the aggregate stage took in, over the phase (its second half, after the step settled) */
  aggregatePerSecond: number;
  ingestedPerSecond: number;
  maxLagMs: number;
  latencyP99Ms: number;
}

export interface LoadtestResult {
  options: LoadtestOptions;
  parts: string[];
  startedAt: string;
  fleet: Pick<FleetReport, 'sent' | 'acked' | 'failed' | 'achievedRate' | 'latencyMs'>;
  latencyMs: LatencySummary;
  samples: LoadtestSample[];
  phases: LoadtestPhase[];
  loss: LossCheck;
  drainSeconds: number;
}

function perSecond(current: number, previous: number, seconds: number): number {
  return seconds > 0 ? Math.max(0, (current - previous) / seconds) : 0;
}

function upOptionsOf(options: LoadtestOptions): UpOptions {
  return { ...UP_DEFAULTS, kafka: options.kafka, kinesisEndpoint: options.kinesisEndpoint, mqttUrl: options.mqttUrl, redisUrl: options.redisUrl, pgUrl: options.pgUrl, partitions: options.partitions, keyPrefix: options.keyPrefix, dashboard: false };
}

function summarizePhases(samples: readonly LoadtestSample[], consumers: readonly number[]): LoadtestPhase[] {
  return consumers.map((count) => {
    const inPhase = samples.filter((sample) => sample.consumers === count);
    const settled = inPhase.slice(Math.floor(inPhase.length / 2));
    const mean = (values: number[]): number => (values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length);
    const aggregateOf = (sample: LoadtestSample): number => Object.entries(sample.stagePerSecond).find(([name]) => name.endsWith('sluice-aggregate'))?.[1] ?? 0;
    return {
      consumers: count,
      fromT: inPhase[0]?.t ?? 0,
      toT: inPhase[inPhase.length - 1]?.t ?? 0,
      aggregatePerSecond: Math.round(mean(settled.map(aggregateOf))),
      ingestedPerSecond: Math.round(mean(settled.map((sample) => sample.ingestedPerSecond))),
      maxLagMs: Math.max(0, ...inPhase.flatMap((sample) => Object.values(sample.lagMs))),
      latencyP99Ms: Math.max(0, ...inPhase.map((sample) => sample.latencyMs.p99)),
    };
  });
}

export async function runLoadtest(options: LoadtestOptions, projectRoot: string, onSample: (sample: LoadtestSample) => void = () => undefined): Promise<LoadtestResult> {
  const logger = createLogger({ level: process.env.SLUICE_LOG_LEVEL ?? 'warn', component: 'loadtest' });
  const services = await startUpServices(upOptionsOf(options));
  const runId = Date.now().toString(36);
  const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', () => undefined);
  const lakeDir = path.resolve(options.lakeDir);
  const consumers = options.consumers.length > 0 ? options.consumers : [1];
  const pipeline = new LocalPipeline({
    streamBase: services.streamBase, streamPrefix: `lt-${runId}-`, partitions: options.partitions, mqttUrl: services.mqttUrl, mqttBroker: services.mqttBroker,
    redisUrl: services.redisUrl, pgUrl: services.pgUrl, lakeDir, keyPrefix: options.keyPrefix, runtimeKeyPrefix: options.keyPrefix, projectRoot,
    ingestClientId: `sluice-loadtest-${runId}`, mqttTopicPrefix: `lt-${runId}-devices`, workersPerFunction: consumers[0], logger,
    mappingOverrides: {
      ...(services.streamKind === 'kinesis' ? { ParallelizationFactor: options.parallelization } : {}),
      Runtime: { ExtraLatencyMs: options.handlerLatencyMs },
    },
  }, redis);
  let fleet: ReturnType<typeof startFleet> | undefined;
  const probeTimer: { timer?: NodeJS.Timeout } = {};
  try {
    await pipeline.start();
    const firstSeq = Date.now() * 100;
    const startedAt = Date.now();
    fleet = startFleet({
      mqttUrl: services.mqttUrl, devices: options.devices, rate: options.rate, seed: options.seed, qos: options.qos, firstSeq, gateway: options.gateway,
      gatewayConnections: options.gateway ? 4 : 1, rampUpMs: options.rampSeconds * 1000, durationMs: options.durationSeconds * 1000, clientIdPrefix: `sluice-lt-${runId}-`, topicPrefix: `lt-${runId}-devices`,
    });
    let progress: FleetProgress | undefined;
    fleet.on('progress', (latest) => {
      progress = latest;
    });
    const probe = new LatencyProbe(redis, options.keyPrefix, fleet.devices.map((device) => device.deviceId));
    probe.start();
    const samples: LoadtestSample[] = [];
    let previous: { at: number; acked: number; stats: PipelineStats } = { at: startedAt, acked: 0, stats: await pipeline.stats() };
    let phase = 0;
    const phaseMs = (options.durationSeconds * 1000) / consumers.length;
    const sample = async (): Promise<void> => {
      const now = Date.now();
      const wantedPhase = Math.min(consumers.length - 1, Math.floor((now - startedAt) / phaseMs));
      while (phase < wantedPhase) {
        phase += 1;
        const target = consumers[phase] ?? 1;
        for (const mapping of pipeline.mappings) {
          while (pipeline.workersOf(mapping.FunctionName) < target) await pipeline.addWorker(mapping.FunctionName);
        }
      }
      const stats = await pipeline.stats();
      const seconds = (now - previous.at) / 1000;
      const acked = progress?.acked ?? 0;
      const stagePerSecond: Record<string, number> = {};
      const lagMs: Record<string, number> = {};
      for (const stage of stats.stages) {
        const before = previous.stats.stages.find((candidate) => candidate.name === stage.name);
        stagePerSecond[stage.name] = Math.round(perSecond(stage.recordsRead, before?.recordsRead ?? 0, seconds));
        lagMs[stage.name] = Math.round(stage.iteratorAgeMs);
      }
      const current: LoadtestSample = {
        t: Math.round((now - startedAt) / 1000), consumers: consumers[phase] ?? 1,
        ackedPerSecond: Math.round(perSecond(acked, previous.acked, seconds)),
        ingestedPerSecond: Math.round(perSecond(stats.ingest.produced, previous.stats.ingest.produced, seconds)),
        stagePerSecond, lagMs, latencyMs: probe.takeInterval(),
      };
      samples.push(current);
      onSample(current);
      previous = { at: now, acked, stats };
    };
    let sampling = Promise.resolve();
    probeTimer.timer = setInterval(() => {
      sampling = sampling.then(sample).catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'sample failed'));
    }, 1000);
    const report = await fleet.finished;
    const { loss, seconds: drainSeconds } = await waitUntilStored(fleet.ledger, { pgUrl: services.pgUrl, lakeDir }, firstSeq, 120_000);
    clearInterval(probeTimer.timer);
    await sampling;
    probe.stop();
    return {
      options, parts: services.descriptions, startedAt: new Date(startedAt).toISOString(),
      fleet: { sent: report.sent, acked: report.acked, failed: report.failed, achievedRate: report.achievedRate, latencyMs: report.latencyMs },
      latencyMs: probe.summary(), samples, phases: summarizePhases(samples, consumers), loss, drainSeconds,
    };
  } finally {
    if (probeTimer.timer) clearInterval(probeTimer.timer);
    if (fleet) await fleet.stop().catch(() => undefined);
    await pipeline.stop().catch(() => undefined);
    redis.disconnect();
    await services.close();
  }
}
