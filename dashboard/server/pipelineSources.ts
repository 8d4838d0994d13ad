/**
 * DashboardSources over a pipeline's real parts: stage figures from a PipelineFigureSource
 * (the LocalPipeline in this process, or the streams), the fleet from the device registry in
 * PostgreSQL joined with the aggregate processor's latest values in Redis, windows from the
 * aggregate processor's query functions, alerts from the alerts processor's, and dead letters
 * from the pipeline's three dead-letter streams.
 */
import Redis from 'ioredis';
import { Pool } from 'pg';
import type { Logger } from 'pino';
import { silentLogger } from '../../core/logger';
import type { Fanout } from '../../processors/alerts/targets/notificationTarget';
import { PIPELINE_STREAMS, streamAddress, streamName } from '../../cli/pipeline/pipelineSpec';
import type { PipelineStream, PipelineStreamsAt } from '../../cli/pipeline/pipelineSpec';
import { AvroCodec } from '../../schemas/avroCodec';
import { FileSchemaStore } from '../../schemas/fileSchemaStore';
import { RedisSchemaStore } from '../../schemas/redisSchemaStore';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { openStreamClient } from '../../streams/openStreamClient';
import { parseStreamAddress } from '../../streams/streamAddress';
import { AlertDesk } from './alertDesk';
import type { DashboardSources, DeadLetterPage, PipelineFigures, ReplayOutcome } from './dashboardSources';
import { DeadLetterReplay } from './deadLetterReplay';
import { DeadLetterTail } from './deadLetterTail';
import { FleetReader } from './fleetReader';
import type { PipelineFigureSource } from './pipelineFigures';

export interface PipelineSourcesOptions extends PipelineStreamsAt {
  figures: PipelineFigureSource;
  redisUrl: string;
  /** undefined: no registry nor alert history (the fleet is what the aggregate has seen) */
  pgUrl: string | undefined;
  /** Redis prefix of processor data (SLUICE_KEY_PREFIX) */
  keyPrefix: string;
  /** registry file path or redis://... (SLUICE_SCHEMA_REGISTRY) */
  schemaRegistry: string;
  /** where ingest rejects are published again on replay; undefined: they cannot be */
  mqttUrl: string | undefined;
  /** only devices whose id starts with this (a fleet among others in one registry) */
  devicePrefix?: string;
  /** the alerts processor's notification targets, to send an Ack or Clear at once (else the pipeline's timer sends it) */
  alertFanout?: () => Fanout;
  logger?: Logger;
}

export async function openPipelineSources(options: PipelineSourcesOptions): Promise<DashboardSources> {
  const logger = options.logger ?? silentLogger;
  const client = openStreamClient(parseStreamAddress(streamAddress(options, 'telemetry')), { logger, clientId: 'sluice-dashboard' });
  // auto-pipelining: the fleet table reads one hash per device each tick
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
  redis.on('error', () => undefined); // failures surface through the calls, as problems on the page
  const pool = options.pgUrl === undefined ? undefined : new Pool({ connectionString: options.pgUrl, max: 3 });
  pool?.on('error', () => undefined);
  const store = options.schemaRegistry.startsWith('redis://') ? RedisSchemaStore.connect(options.schemaRegistry) : new FileSchemaStore(options.schemaRegistry);
  const codec = new AvroCodec(new SchemaRegistry(store));

  const deadLetterStreams: Array<{ stream: PipelineStream; kind: 'ingest' | 'processor' | 'failure' }> = [
    { stream: 'telemetryDeadLetter', kind: 'ingest' },
    { stream: 'processorDeadLetter', kind: 'processor' },
    { stream: 'failures', kind: 'failure' },
  ];
  const tail = new DeadLetterTail({
    client,
    streams: deadLetterStreams.map(({ stream, kind }) => ({ stream: streamName(options, stream), kind })),
    decodeAvro: (bytes) => codec.decode(bytes),
    logger,
  });
  tail.start();
  const replay = new DeadLetterReplay({
    client,
    mqttUrl: options.mqttUrl,
    allowedStreams: new Set((Object.keys(PIPELINE_STREAMS) as PipelineStream[]).map((stream) => streamName(options, stream))),
  });
  const fleet = new FleetReader({ redis, pool, keyPrefix: options.keyPrefix, devicePrefix: options.devicePrefix });
  const alerts = new AlertDesk({ redis, keyPrefix: options.keyPrefix, fanout: options.alertFanout, logger });

  return {
    pipeline: async (): Promise<PipelineFigures> => {
      const figures = await options.figures();
      return { ...figures, notes: [...figures.notes, ...tail.problems().map((problem) => `dead letters: ${problem}`)] };
    },
    devices: (limit) => fleet.devices(limit),
    latest: (deviceId) => fleet.latest(deviceId),
    windows: (deviceId, from, to) => fleet.windows(deviceId, from, to),
    alerts: () => alerts.list(),
    ackAlert: (alertId, by) => alerts.acknowledge(alertId, by),
    clearAlert: (alertId, by) => alerts.clear(alertId, by),
    deadLetters: (limit): Promise<DeadLetterPage> => tail.page(limit),
    replayDeadLetter: async (id): Promise<ReplayOutcome> => replay.replay(await tail.find(id)),
    close: async () => {
      await tail.close();
      await replay.close();
      await Promise.allSettled([client.close(), redis.quit(), pool?.end(), store.close()]);
    },
  };
}
