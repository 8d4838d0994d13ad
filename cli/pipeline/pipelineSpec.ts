/**
 * The pipeline sluice runs: which functions read which stream, with which event-source-mapping
 * settings, and which scheduled functions run on a timer. One table that `sluice up` runs
 * locally and `sluice deploy render` turns into Lambda functions and mappings, so what runs on
 * a laptop is what deploys.
 */
import type { MappingInput } from '../../runtime/mapping/mappingTypes';

/** The streams between the stages; names are the Kafka topic / Kinesis stream names. */
export const PIPELINE_STREAMS = {
  telemetry: 'telemetry',
  telemetryDeadLetter: 'telemetry-dlq',
  enriched: 'enriched',
  aggregates: 'aggregates',
  alerts: 'alerts',
  late: 'late-readings',
  processorDeadLetter: 'processor-dlq',
  failures: 'pipeline-failures',
} as const;

export type PipelineStream = keyof typeof PIPELINE_STREAMS;

export interface PipelineFunction {
  name: string;
  /** relative to the project root: file#export */
  handler: string;
  source: PipelineStream;
  /** ESM settings under their AWS names (merged over the runtime's defaults) */
  mapping: MappingInput;
  /** which environment settings (processors/README.md) the function reads */
  environment: readonly string[];
}

export interface ScheduledFunction {
  name: string;
  handler: string;
  rateSeconds: number;
  environment: readonly string[];
}

const COMMON_ENV = ['SLUICE_REDIS_URL', 'SLUICE_SCHEMA_REGISTRY', 'SLUICE_KEY_PREFIX', 'SLUICE_PROCESSOR_DLQ'] as const;

/** Settings every stage shares: partial batch responses, bisect on error, a failure destination. */
const RELIABLE: MappingInput = {
  BatchSize: 500,
  MaximumBatchingWindowInSeconds: 0,
  StartingPosition: 'TRIM_HORIZON',
  BisectBatchOnFunctionError: true,
  MaximumRetryAttempts: 10,
  FunctionResponseTypes: ['ReportBatchItemFailures'],
  Function: { Timeout: 30, MemorySize: 512 },
};

export const PIPELINE_FUNCTIONS: readonly PipelineFunction[] = [
  { name: 'sluice-transform', handler: 'processors/transform/handler.ts#handler', source: 'telemetry', mapping: RELIABLE, environment: [...COMMON_ENV, 'SLUICE_PG_URL', 'SLUICE_ENRICHED_STREAM', 'SLUICE_UNKNOWN_DEVICES', 'SLUICE_DEDUPE_WINDOW', 'SLUICE_DEDUPE_TTL_SECONDS', 'SLUICE_REGISTRY_CACHE_SECONDS'] },
  { name: 'sluice-aggregate', handler: 'processors/aggregate/handler.ts#handler', source: 'enriched', mapping: { ...RELIABLE, BatchSize: 1000 }, environment: [...COMMON_ENV, 'SLUICE_AGGREGATES_STREAM', 'SLUICE_LATE_STREAM', 'SLUICE_WINDOWS', 'SLUICE_GRACE_MS'] },
  { name: 'sluice-store-readings', handler: 'processors/storage/readingsHandler.ts#handler', source: 'enriched', mapping: { ...RELIABLE, BatchSize: 1000 }, environment: [...COMMON_ENV, 'SLUICE_PG_URL', 'SLUICE_LAKE_DIR'] },
  { name: 'sluice-alerts', handler: 'processors/alerts/handler.ts#handler', source: 'enriched', mapping: RELIABLE, environment: [...COMMON_ENV, 'SLUICE_PG_URL', 'SLUICE_ALERT_RULES', 'SLUICE_ALERTS_STREAM', 'SLUICE_MQTT_URL', 'SLUICE_WEBHOOK_URLS', 'SLUICE_WEBHOOK_SECRET'] },
  { name: 'sluice-store-aggregates', handler: 'processors/storage/aggregatesHandler.ts#handler', source: 'aggregates', mapping: RELIABLE, environment: [...COMMON_ENV, 'SLUICE_PG_URL'] },
  { name: 'sluice-alerts-aggregates', handler: 'processors/alerts/handler.ts#aggregatesHandler', source: 'aggregates', mapping: RELIABLE, environment: [...COMMON_ENV, 'SLUICE_PG_URL', 'SLUICE_ALERT_RULES', 'SLUICE_ALERTS_STREAM', 'SLUICE_MQTT_URL', 'SLUICE_WEBHOOK_URLS', 'SLUICE_WEBHOOK_SECRET'] },
];

export const SCHEDULED_FUNCTIONS: readonly ScheduledFunction[] = [
  { name: 'sluice-close-windows', handler: 'processors/aggregate/handler.ts#closeWindows', rateSeconds: 1, environment: [...COMMON_ENV, 'SLUICE_AGGREGATES_STREAM', 'SLUICE_LATE_STREAM', 'SLUICE_WINDOWS', 'SLUICE_GRACE_MS'] },
  { name: 'sluice-compact-lake', handler: 'processors/storage/readingsHandler.ts#compactLake', rateSeconds: 60, environment: [...COMMON_ENV, 'SLUICE_PG_URL', 'SLUICE_LAKE_DIR'] },
  { name: 'sluice-check-heartbeats', handler: 'processors/alerts/handler.ts#checkHeartbeats', rateSeconds: 5, environment: [...COMMON_ENV, 'SLUICE_PG_URL', 'SLUICE_ALERT_RULES', 'SLUICE_ALERTS_STREAM', 'SLUICE_MQTT_URL', 'SLUICE_WEBHOOK_URLS', 'SLUICE_WEBHOOK_SECRET'] },
];

/** Where the pipeline's streams live, and how their names are told apart from another pipeline's on the same servers. */
export interface PipelineStreamsAt {
  /** `kafka://127.0.0.1:9092` or `kinesis://127.0.0.1:4567` */
  streamBase: string;
  /** prepended to every stream name (default none) */
  streamPrefix?: string;
}

export function streamName(at: PipelineStreamsAt, stream: PipelineStream): string {
  return `${at.streamPrefix ?? ''}${PIPELINE_STREAMS[stream]}`;
}

export function streamAddress(at: PipelineStreamsAt, stream: PipelineStream): string {
  return `${at.streamBase.replace(/\/+$/, '')}/${streamName(at, stream)}`;
}

/**
 * The mapping inputs (validated later by resolveMappingConfig) of every pipeline function on
 * the streams `at`, with handlers resolved against `projectRoot`.
 */
export function pipelineMappingInputs(at: PipelineStreamsAt, projectRoot: string, overrides: MappingInput = {}): MappingInput[] {
  return PIPELINE_FUNCTIONS.map((fn) => {
    const functionSettings = { ...(fn.mapping.Function as Record<string, unknown> | undefined), Handler: `${projectRoot.replace(/\/+$/, '')}/${fn.handler}` };
    return {
      ...fn.mapping,
      ...overrides,
      FunctionName: `${at.streamPrefix ?? ''}${fn.name}`,
      Source: streamAddress(at, fn.source),
      DestinationConfig: { OnFailure: { Destination: streamAddress(at, 'failures'), IncludeRecords: true } },
      Function: { ...functionSettings, ...(overrides.Function as Record<string, unknown> | undefined) },
    };
  });
}
