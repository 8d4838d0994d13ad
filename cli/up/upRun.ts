/**
 * One `sluice up` run: parts up, pipeline up, devices on, a live view while it runs, then the
 * devices stop, the pipeline drains until storage holds every acked reading (or a deadline
 * passes), everything stops in order, and the summary says what happened.
 */
import path from 'node:path';
import Redis from 'ioredis';
import { Registry } from 'prom-client';
import { serveMetrics } from '../support/metricsServer';
import { errorMessage } from '../../core/errors';
import { createLogger } from '../../core/logger';
import { startFleet } from '../../simulators/fleet';
import type { Fleet, FleetProgress } from '../../simulators/fleet';
import type { FleetReport } from '../../simulators/fleetReport';
import { parseFaultSpecs } from '../../simulators/faultKinds';
import { LocalPipeline } from '../pipeline/localPipeline';
import type { PipelineStats } from '../pipeline/localPipeline';
import { LiveView } from './liveView';
import type { LiveSnapshot } from './liveView';
import { waitUntilStored } from './lossCheck';
import type { LossCheck } from './lossCheck';
import type { UpOptions } from './upOptions';
import { startUpServices } from './upServices';
import type { UpServices } from './upServices';
import { registerUpDevices } from './upDevices';
import { LatencyProbe } from './latencyProbe';
import type { LatencySummary } from './latencyProbe';
import { collectUpFigures, sinceStart } from './upFigures';
import type { UpFigures } from './upFigures';
import { startUpDashboard } from './upDashboard';

export interface UpSummary {
  ok: boolean;
  durationSeconds: number;
  parts: string[];
  notes: string[];
  devices: number;
  readings: { sent: number; acked: number; ackedValid: number; ackedInvalid: number; ingested: number; deadLetteredAtIngest: Record<string, number>; aggregated: number; stored: number; duplicatesAbsorbed: number };
  loss: LossCheck;
  latencyMs: LatencySummary;
  figures: UpFigures;
  stages: PipelineStats['stages'];
  drainSeconds: number;
}

export interface UpRunControl {
  /** resolves when the user asks to stop (Ctrl-C) */
  stopRequested: Promise<void>;
  out: NodeJS.WriteStream;
  projectRoot: string;
}

const DRAIN_DEADLINE_MS = 120_000;

function snapshotOf(startedAt: number, progress: FleetProgress | undefined, devices: number, pipeline: PipelineStats, figures?: UpFigures): LiveSnapshot {
  return {
    at: Date.now(),
    elapsedMs: Date.now() - startedAt,
    fleet: { sent: progress?.sent ?? 0, acked: progress?.acked ?? 0, failed: progress?.failed ?? 0, devices, connected: progress?.connected ?? 0 },
    pipeline,
    openAlerts: figures?.openAlerts,
    processorDeadLetters: figures?.processorDeadLetters,
  };
}

export async function runUp(options: UpOptions, control: UpRunControl): Promise<UpSummary> {
  const logger = createLogger({ level: process.env.SLUICE_LOG_LEVEL ?? 'warn', component: 'up' });
  const say = (line: string): void => {
    if (!options.json) control.out.write(`${line}\n`);
  };
  const services: UpServices = await startUpServices(options);
  const runId = Date.now().toString(36);
  const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', () => undefined);
  let pipeline: LocalPipeline | undefined;
  let dashboard: { url: string; close(): Promise<void> } | undefined;
  let fleet: Fleet | undefined;
  let metrics: { url: string; close(): Promise<void> } | undefined;
  try {
    say('sluice up: starting');
    for (const line of services.descriptions) say(`  ${line}`);
    for (const note of services.notes) say(`  note: ${note}`);
    const lakeDir = path.resolve(options.lakeDir);
    const topicPrefix = options.streamPrefix ? `${options.streamPrefix}devices` : 'devices';
    pipeline = new LocalPipeline({
      streamBase: services.streamBase,
      streamPrefix: options.streamPrefix,
      partitions: options.partitions,
      mqttUrl: services.mqttUrl,
      mqttBroker: services.mqttBroker,
      redisUrl: services.redisUrl,
      pgUrl: services.pgUrl,
      lakeDir,
      keyPrefix: options.keyPrefix,
      // an embedded stream is new each run: its leases and checkpoints must not meet the last run's
      runtimeKeyPrefix: services.ephemeralStream ? `${options.keyPrefix}-run-${runId}` : options.keyPrefix,
      projectRoot: control.projectRoot,
      environment: {
        ...(options.alertRules ? { SLUICE_ALERT_RULES: path.resolve(options.alertRules) } : {}),
        ...(options.webhookUrls ? { SLUICE_WEBHOOK_URLS: options.webhookUrls } : {}),
      },
      // A fixed id: the broker keeps this session's unacked messages for the next run (a new id each
      // run would leave persistent sessions behind that take a share of the group's messages).
      ingestClientId: `sluice-up-ingest${options.streamPrefix ? `-${options.streamPrefix}` : ''}`,
      mqttTopicPrefix: topicPrefix,
      // closed aggregates are stored in PostgreSQL only
      without: services.pgUrl ? [] : ['sluice-store-aggregates'],
      logger,
    }, redis);
    // Each run continues the devices' counters above the last run's, so (deviceId, seq) never repeats.
    const firstSeq = Date.now() * 100;
    const registered = await registerUpDevices(services.pgUrl, options);
    if (registered) say(`  registry   ${registered}`);
    await pipeline.start();
    const figuresSource = { redis, keyPrefix: options.keyPrefix, pgUrl: services.pgUrl, streamBase: services.streamBase, since: Date.now() };
    if (options.dashboard) {
      dashboard = await startUpDashboard(pipeline, options.dashboardPort).catch((error: unknown) => {
        say(`  dashboard  not started: ${errorMessage(error)}`);
        return undefined;
      });
      if (dashboard) say(`  dashboard  ${dashboard.url}`);
    }
    if (options.metricsPort !== undefined) {
      metrics = await serveMetrics(Registry.merge([pipeline.ingestMetrics.registry, pipeline.runtimeMetrics.registry]), options.metricsPort);
      say(`  metrics    ${metrics.url}`);
    }
    const startedAt = Date.now();
    // the aggregate's counters are totals over every run: report this run's part
    const figuresAtStart = await collectUpFigures(figuresSource);
    fleet = startFleet({
      mqttUrl: services.mqttUrl, devices: options.devices, rate: options.rate, seed: options.seed, qos: 1, firstSeq,
      durationMs: options.durationSeconds > 0 ? options.durationSeconds * 1000 : undefined,
      faults: parseFaultSpecs(Object.entries(options.faults).map(([kind, rate]) => `${kind}=${rate}`), 'faults'),
      anomalyRate: options.anomalyRate, rampUpMs: Math.min(5000, options.devices * 20),
      clientIdPrefix: `sluice-up-${runId}-`, topicPrefix,
    });
    let progress: FleetProgress | undefined;
    fleet.on('progress', (latest) => {
      progress = latest;
    });
    const probe = new LatencyProbe(redis, options.keyPrefix, fleet.devices.map((device) => device.deviceId));
    probe.start();
    say(options.durationSeconds > 0 ? `sluice up: ${options.devices} devices at ${options.rate} readings/s for ${options.durationSeconds} s; Ctrl-C stops early` : `sluice up: ${options.devices} devices at ${options.rate} readings/s; Ctrl-C stops`);

    const view = new LiveView(control.out, 'sluice up');
    let previous: LiveSnapshot | undefined;
    let figures: UpFigures | undefined;
    const draw = async (): Promise<void> => {
      if (options.json || !pipeline || !fleet) return;
      figures = await collectUpFigures(figuresSource).then((now) => sinceStart(now, figuresAtStart)).catch(() => figures);
      const current = snapshotOf(startedAt, progress, options.devices, await pipeline.stats(), figures);
      view.draw(current, previous);
      previous = current;
    };
    const viewTimer = setInterval(() => void draw().catch(() => undefined), 1000);
    const stopped = await Promise.race([fleet.finished.then(() => 'done' as const), control.stopRequested.then(() => 'interrupted' as const)]);
    const report: FleetReport = stopped === 'done' ? await fleet.finished : await fleet.stop();
    say(stopped === 'interrupted' ? 'sluice up: stopping: devices off, draining the pipeline (Ctrl-C again to quit at once)' : 'sluice up: devices done; draining the pipeline');

    // Drain: storage must hold every acked reading; give up after a deadline and report what is missing.
    // (A second Ctrl-C quits at once, so the drain need not watch for it.)
    const drained = await waitUntilStored(fleet.ledger, { pgUrl: services.pgUrl, lakeDir }, firstSeq, DRAIN_DEADLINE_MS);
    const loss = drained.loss;
    // the last readings' aggregates become visible shortly after they are stored
    await new Promise((resolve) => setTimeout(resolve, 1500));
    clearInterval(viewTimer);
    probe.stop();
    await draw().catch(() => undefined);
    const drainSeconds = drained.seconds;
    const stats = await pipeline.stats();
    figures = sinceStart(await collectUpFigures(figuresSource), figuresAtStart);
    const aggregate = stats.stages.find((stage) => stage.name.endsWith('sluice-aggregate'));
    const summary: UpSummary = {
      ok: loss.missing === 0,
      durationSeconds: report.durationMs / 1000,
      parts: services.descriptions,
      notes: services.notes,
      devices: options.devices,
      readings: {
        sent: report.sent,
        acked: report.acked,
        ackedValid: report.ackedReadings,
        ackedInvalid: report.ackedRejects,
        ingested: stats.ingest.produced,
        deadLetteredAtIngest: stats.ingest.rejected,
        aggregated: aggregate?.recordsRead ?? 0,
        stored: loss.stored,
        duplicatesAbsorbed: Math.max(0, stats.ingest.produced - loss.stored),
      },
      loss,
      latencyMs: probe.summary(),
      figures,
      stages: stats.stages,
      drainSeconds,
    };
    return summary;
  } finally {
    if (fleet) await fleet.stop().catch(() => undefined);
    await dashboard?.close().catch(() => undefined);
    await metrics?.close().catch(() => undefined);
    await pipeline?.stop().catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'pipeline stop failed'));
    if (services.ephemeralStream) await forgetRunState(redis, `${options.keyPrefix}-run-${runId}`).catch(() => undefined);
    redis.disconnect();
    await services.close();
  }
}

/** The runtime state of a run on an embedded stream dies with the stream. */
async function forgetRunState(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
