/**
 * The whole pipeline in one process, as `sluice up` and `sluice loadtest` run it: the streams,
 * ingest on MQTT, every processor of pipelineSpec under its own event source mapping (the same
 * runtime `sluice run` uses, so the same semantics), and the scheduled functions on timers.
 * Processors read their settings from the environment, as on Lambda; this sets it.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import { closeAlertsConnections } from '../../processors/alerts/alertsContext';
import { closeSharedResources } from '../../processors/shared/processorResources';
import { IngestPipeline } from '../../ingest/ingestPipeline';
import { createIngestMetrics } from '../../ingest/ingestMetrics';
import type { IngestMetrics } from '../../ingest/ingestMetrics';
import { MqttIngest } from '../../ingest/mqttIngest';
import { resolveMappingConfig } from '../../runtime/mapping/mappingConfig';
import type { MappingConfig, MappingInput } from '../../runtime/mapping/mappingTypes';
import { createRuntimeMetrics } from '../../runtime/metrics/runtimeMetrics';
import type { RuntimeMetrics } from '../../runtime/metrics/runtimeMetrics';
import { MappingRunner } from '../../runtime/runner/mappingRunner';
import type { RedisConnection } from '../../runtime/redis/scriptLoader';
import { AvroCodec } from '../../schemas/avroCodec';
import { RedisSchemaStore } from '../../schemas/redisSchemaStore';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import { openStreamClient } from '../../streams/openStreamClient';
import { parseStreamAddress } from '../../streams/streamAddress';
import type { StreamClient } from '../../streams/streamClient';
import { ScheduledFunctions } from './scheduledFunctions';
import type { ScheduleStats } from './scheduledFunctions';
import { PIPELINE_FUNCTIONS, PIPELINE_STREAMS, pipelineMappingInputs, streamAddress, streamName } from './pipelineSpec';
import type { PipelineFunction, PipelineStream, PipelineStreamsAt } from './pipelineSpec';

export interface LocalPipelineOptions extends PipelineStreamsAt {
  partitions: number;
  mqttUrl: string;
  /** Mosquitto: shared subscription with MQTT 5; aedes: a plain subscription with 3.1.1 */
  mqttBroker: 'mosquitto' | 'aedes';
  redisUrl: string;
  /** undefined: no PostgreSQL (storage writes lake files only; the registry and alert history are off) */
  pgUrl: string | undefined;
  lakeDir: string;
  /** prefix of processor data in Redis (aggregates, alert state, dedupe windows) */
  keyPrefix: string;
  /** prefix of runtime state in Redis (leases, checkpoints, window state) */
  runtimeKeyPrefix: string;
  projectRoot: string;
  /** extra environment for the processors (alert rules file, webhooks, windows, ...) */
  environment?: Record<string, string>;
  /** functions to leave out (by pipelineSpec name) */
  without?: readonly string[];
  ingestClientId: string;
  /** devices publish on `<topicPrefix>/<deviceId>/telemetry` (default `devices`); pipelines sharing a broker need their own */
  mqttTopicPrefix?: string;
  /** ESM settings applied to every function (load tests: ParallelizationFactor, Runtime.ExtraLatencyMs, ...) */
  mappingOverrides?: MappingInput;
  /** runners per function in this process, sharing its partitions like separate workers (default 1) */
  workersPerFunction?: number;
  logger?: Logger;
}

export interface StageStats {
  name: string;
  source: string;
  recordsRead: number;
  invocations: number;
  errors: number;
  iteratorAgeMs: number;
  instances: number;
}

export interface PipelineStats {
  ingest: { received: number; produced: number; rejected: Record<string, number>; inFlight: number; acked: number };
  stages: StageStats[];
  scheduled: ScheduleStats;
}

type Labels = Partial<Record<string, string | number>>;

async function counterTotal(metric: { get(): Promise<{ values: Array<{ value: number; labels: Labels }> }> }, filter: (labels: Labels) => boolean = () => true): Promise<number> {
  const { values } = await metric.get();
  return values.filter((value) => filter(value.labels)).reduce((sum, value) => sum + value.value, 0);
}

export type ProcessorEnvironmentOptions = Pick<LocalPipelineOptions, 'streamBase' | 'streamPrefix' | 'redisUrl' | 'keyPrefix' | 'lakeDir' | 'mqttUrl' | 'pgUrl' | 'environment'>;

/** The environment the processors read (processors/README.md), for a pipeline on these servers. */
export function processorEnvironment(o: ProcessorEnvironmentOptions): Record<string, string> {
  const at = (stream: PipelineStream): string => streamAddress(o, stream);
  return {
    SLUICE_REDIS_URL: o.redisUrl,
    SLUICE_SCHEMA_REGISTRY: o.redisUrl,
    SLUICE_KEY_PREFIX: o.keyPrefix,
    SLUICE_ENRICHED_STREAM: at('enriched'),
    SLUICE_AGGREGATES_STREAM: at('aggregates'),
    SLUICE_LATE_STREAM: at('late'),
    SLUICE_ALERTS_STREAM: at('alerts'),
    SLUICE_PROCESSOR_DLQ: at('processorDeadLetter'),
    SLUICE_LAKE_DIR: o.lakeDir,
    SLUICE_MQTT_URL: o.mqttUrl,
    // processors read `none` as "no PostgreSQL" (storage: lake only; alerts: no history table)
    SLUICE_PG_URL: o.pgUrl ?? 'none',
    ...o.environment,
  };
}

/** Every stream of the pipeline, created with `partitions` where it does not exist yet. */
export async function createPipelineStreams(client: StreamClient, at: PipelineStreamsAt, partitions: number): Promise<void> {
  for (const stream of Object.keys(PIPELINE_STREAMS) as PipelineStream[]) {
    const name = streamName(at, stream);
    try {
      await client.describeStream(name);
    } catch {
      await client.createStream(name, partitions);
    }
  }
}

export class LocalPipeline {
  readonly ingestMetrics: IngestMetrics = createIngestMetrics();
  readonly runtimeMetrics: RuntimeMetrics = createRuntimeMetrics();
  readonly mappings: MappingConfig[] = [];
  private readonly logger: Logger;
  private readonly runners: MappingRunner[] = [];
  private readonly runnerClients: StreamClient[] = [];
  private schedules: ScheduledFunctions | undefined;
  private streams: StreamClient | undefined;
  private registry: SchemaRegistry | undefined;
  private ingest: MqttIngest | undefined;
  private ingestPipeline: IngestPipeline | undefined;
  private redis: RedisConnection | undefined;
  private previousEnv: Record<string, string | undefined> = {};

  constructor(readonly options: LocalPipelineOptions, redis: RedisConnection) {
    this.logger = options.logger ?? silentLogger;
    this.redis = redis;
  }

  /** The functions this pipeline runs (all of pipelineSpec but `without`). */
  get functions(): readonly PipelineFunction[] {
    return PIPELINE_FUNCTIONS.filter((fn) => !this.options.without?.includes(fn.name));
  }

  streamAddress(stream: PipelineStream): string {
    return streamAddress(this.options, stream);
  }

  /** The environment the processors read (processors/README.md). */
  processorEnvironment(): Record<string, string> {
    return processorEnvironment(this.options);
  }

  async start(): Promise<void> {
    const o = this.options;
    this.streams = openStreamClient(parseStreamAddress(this.streamAddress('telemetry')), { logger: this.logger, clientId: 'sluice-up' });
    await createPipelineStreams(this.streams, o, o.partitions);
    this.registry = new SchemaRegistry(RedisSchemaStore.connect(o.redisUrl));
    await registerSluiceSchemas(this.registry);
    this.setEnvironment();

    for (const input of pipelineMappingInputs(o, o.projectRoot, o.mappingOverrides)) {
      const fn = PIPELINE_FUNCTIONS.find((candidate) => `${o.streamPrefix ?? ''}${candidate.name}` === input.FunctionName);
      if (!fn || o.without?.includes(fn.name)) continue;
      this.mappings.push(resolveMappingConfig(input, `pipeline function ${fn.name}`));
    }
    for (const mapping of this.mappings) {
      for (let worker = 0; worker < (o.workersPerFunction ?? 1); worker += 1) this.addRunner(mapping);
    }
    // Consumers first, so nothing ingest produces waits for a reader to appear.
    await Promise.all(this.runners.map((runner) => runner.start()));
    this.schedules = new ScheduledFunctions(o.projectRoot, this.logger, o.without);
    this.schedules.start();
    await this.startIngest();
  }

  /** One more worker of a function (a load test adds consumers while it runs). */
  async addWorker(functionName: string): Promise<void> {
    const mapping = this.mappings.find((candidate) => candidate.FunctionName === functionName || candidate.FunctionName === `${this.options.streamPrefix ?? ''}${functionName}`);
    if (!mapping) throw new Error(`no pipeline function ${functionName}`);
    await this.addRunner(mapping).start();
  }

  workersOf(functionName: string): number {
    return this.runners.filter((runner) => runner.functionName === functionName || runner.functionName === `${this.options.streamPrefix ?? ''}${functionName}`).length;
  }

  private addRunner(mapping: MappingConfig): MappingRunner {
    const o = this.options;
    if (!this.streams) throw new Error('start() first');
    const client = openStreamClient(parseStreamAddress(mapping.Source), { logger: this.logger, clientId: `sluice-${mapping.FunctionName}` });
    const destination = mapping.DestinationConfig?.OnFailure.Destination;
    const runner = new MappingRunner({
      mapping, client, redis: this.redis, keyPrefix: o.runtimeKeyPrefix, metrics: this.runtimeMetrics, logger: this.logger.child({ function: mapping.FunctionName }),
      destination: destination ? { client: this.streams, stream: parseStreamAddress(destination).stream } : undefined,
    });
    this.runners.push(runner);
    this.runnerClients.push(client);
    return runner;
  }

  private setEnvironment(): void {
    for (const [name, value] of Object.entries(this.processorEnvironment())) {
      this.previousEnv[name] = process.env[name];
      process.env[name] = value;
    }
  }

  private restoreEnvironment(): void {
    for (const [name, value] of Object.entries(this.previousEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    this.previousEnv = {};
  }

  private async startIngest(): Promise<void> {
    const o = this.options;
    if (!this.streams || !this.registry) throw new Error('streams and registry first');
    this.ingestPipeline = new IngestPipeline({
      telemetry: { client: this.streams, stream: streamName(o, 'telemetry') },
      deadLetter: { client: this.streams, stream: streamName(o, 'telemetryDeadLetter') },
      codec: new AvroCodec(this.registry),
      sourceKind: 'mqtt',
      metrics: this.ingestMetrics,
      logger: this.logger.child({ component: 'ingest' }),
    });
    const aedes = o.mqttBroker === 'aedes';
    this.ingest = await MqttIngest.start({
      mqttUrl: o.mqttUrl,
      pipeline: this.ingestPipeline,
      sharedGroup: aedes ? null : `ingest${o.streamPrefix ? `-${o.streamPrefix.replace(/[^A-Za-z0-9_-]/g, '')}` : ''}`,
      topicFilter: `${o.mqttTopicPrefix ?? 'devices'}/+/telemetry`,
      protocolVersion: aedes ? 4 : 5,
      clientId: o.ingestClientId,
      logger: this.logger.child({ component: 'ingest' }),
    });
  }

  async stats(): Promise<PipelineStats> {
    const m = this.ingestMetrics;
    const rejected: Record<string, number> = {};
    for (const value of (await m.rejected.get()).values) rejected[String(value.labels.reason)] = (rejected[String(value.labels.reason)] ?? 0) + value.value;
    const r = this.runtimeMetrics;
    const stages: StageStats[] = [];
    for (const mapping of this.mappings) {
      const of = (labels: Labels): boolean => labels.function === mapping.FunctionName;
      const ages = (await r.iteratorAgeMs.get()).values.filter((value) => of(value.labels)).map((value) => value.value);
      stages.push({
        name: mapping.FunctionName,
        source: parseStreamAddress(mapping.Source).stream,
        recordsRead: await counterTotal(r.recordsRead, of),
        invocations: await counterTotal(r.invocations, of),
        errors: await counterTotal(r.errors, of),
        iteratorAgeMs: ages.length > 0 ? Math.max(...ages) : 0,
        instances: await counterTotal(r.instances, of),
      });
    }
    return {
      ingest: {
        received: await counterTotal(m.messagesReceived),
        produced: await counterTotal(m.readingsProduced),
        rejected,
        inFlight: await counterTotal(m.inFlight),
        acked: this.ingest?.stats.acked ?? 0,
      },
      stages,
      scheduled: { ...this.schedules?.stats },
    };
  }

  /** Drains and stops: ingest acks what it took in, runners finish and checkpoint in-flight batches, timers stop. */
  async stop(): Promise<void> {
    const schedulesStopped = this.schedules?.stop();
    await this.ingest?.stop().catch((error: unknown) => this.logger.warn({ err: errorMessage(error) }, 'ingest stop failed'));
    await this.ingestPipeline?.drain().catch(() => undefined);
    await Promise.all(this.runners.map((runner) => runner.stop().catch((error: unknown) => this.logger.warn({ err: errorMessage(error) }, 'runner stop failed'))));
    await schedulesStopped;
    await Promise.allSettled(this.runnerClients.map((client) => client.close()));
    await closeSharedResources();
    await closeAlertsConnections().catch(() => undefined);
    await this.streams?.close().catch(() => undefined);
    await this.registry?.close().catch(() => undefined);
    this.restoreEnvironment();
  }
}
