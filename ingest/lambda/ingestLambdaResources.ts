/**
 * What the ingest Lambda opens once per function instance (outside the handler, as Lambda code
 * does) and reuses across invocations: stream clients, the schema registry with sluice's
 * schemas registered, and two ingest pipelines on them (`http` and `iot`, the dead letters'
 * source kind and the metrics' source label).
 *
 * Settings come from the function's environment, as Lambda passes them:
 *   SLUICE_TELEMETRY_STREAM        kinesis:///telemetry, kafka://b-1.msk:9092/telemetry, ...
 *   SLUICE_TELEMETRY_DEAD_LETTER   the dead-letter stream for rejected messages
 *   SLUICE_SCHEMA_REGISTRY         redis://host:6379 (or a registry file path)
 *   SLUICE_MAX_PAYLOAD_BYTES, SLUICE_MAX_BODY_BYTES, SLUICE_MAX_ITEMS   optional limits
 */
import { ConfigError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { createLogger } from '../../core/logger';
import { AvroCodec } from '../../schemas/avroCodec';
import { FileSchemaStore } from '../../schemas/fileSchemaStore';
import { RedisSchemaStore } from '../../schemas/redisSchemaStore';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import { openStreamClient } from '../../streams/openStreamClient';
import { parseStreamAddress } from '../../streams/streamAddress';
import { createIngestMetrics } from '../ingestMetrics';
import type { IngestMetrics } from '../ingestMetrics';
import { IngestPipeline } from '../ingestPipeline';
import type { TelemetryRequestLimits } from './telemetryRequest';
import { DEFAULT_TELEMETRY_REQUEST_LIMITS } from './telemetryRequest';

export const INGEST_LAMBDA_ENVIRONMENT = ['SLUICE_TELEMETRY_STREAM', 'SLUICE_TELEMETRY_DEAD_LETTER', 'SLUICE_SCHEMA_REGISTRY'] as const;

export interface IngestLambdaResources {
  http: IngestPipeline;
  iot: IngestPipeline;
  limits: TelemetryRequestLimits;
  metrics: IngestMetrics;
  logger: Logger;
  close(): Promise<void>;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigError(`$${name}`, 'is not set (the ingest function reads its settings from its environment)');
  return value;
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(`$${name}`, `must be a positive integer, got "${text}"`);
  return value;
}

async function openResources(env: NodeJS.ProcessEnv): Promise<IngestLambdaResources> {
  const telemetryAddress = parseStreamAddress(required(env, 'SLUICE_TELEMETRY_STREAM'));
  const deadLetterAddress = parseStreamAddress(required(env, 'SLUICE_TELEMETRY_DEAD_LETTER'));
  const registryAddress = required(env, 'SLUICE_SCHEMA_REGISTRY');
  const limits: TelemetryRequestLimits = {
    maxBodyBytes: positiveInteger(env, 'SLUICE_MAX_BODY_BYTES', DEFAULT_TELEMETRY_REQUEST_LIMITS.maxBodyBytes),
    maxPayloadBytes: positiveInteger(env, 'SLUICE_MAX_PAYLOAD_BYTES', DEFAULT_TELEMETRY_REQUEST_LIMITS.maxPayloadBytes),
    maxItems: positiveInteger(env, 'SLUICE_MAX_ITEMS', DEFAULT_TELEMETRY_REQUEST_LIMITS.maxItems),
  };
  const logger = createLogger({ component: 'ingest-lambda' });
  const store = registryAddress.startsWith('redis://') ? RedisSchemaStore.connect(registryAddress) : new FileSchemaStore(registryAddress);
  const registry = new SchemaRegistry(store);
  const telemetryClient = openStreamClient(telemetryAddress, { logger, clientId: 'sluice-ingest' });
  const deadLetterClient = openStreamClient(deadLetterAddress, { logger, clientId: 'sluice-ingest-dlq' });
  const close = async (): Promise<void> => {
    await Promise.allSettled([telemetryClient.close(), deadLetterClient.close(), registry.close()]);
  };
  try {
    await registerSluiceSchemas(registry);
  } catch (error) {
    await close();
    throw error;
  }
  const metrics = createIngestMetrics();
  const options = {
    telemetry: { client: telemetryClient, stream: telemetryAddress.stream },
    deadLetter: { client: deadLetterClient, stream: deadLetterAddress.stream },
    codec: new AvroCodec(registry),
    maxPayloadBytes: limits.maxPayloadBytes,
    // An invocation submits all its messages at once and waits for them: lingering adds only latency.
    lingerMs: 0,
    metrics,
    logger,
  };
  return {
    http: new IngestPipeline({ ...options, sourceKind: 'http' }),
    iot: new IngestPipeline({ ...options, sourceKind: 'iot' }),
    limits,
    metrics,
    logger,
    close,
  };
}

let opened: Promise<IngestLambdaResources> | undefined;

/** This instance's resources, opened on first use; a failed open is retried by the next invocation. */
export function ingestLambdaResources(env: NodeJS.ProcessEnv = process.env): Promise<IngestLambdaResources> {
  opened ??= openResources(env).catch((error: unknown) => {
    opened = undefined;
    throw error;
  });
  return opened;
}

/** Drains and closes this instance's resources (tests; Lambda simply freezes the instance). */
export async function closeIngestLambdaResources(): Promise<void> {
  const current = opened;
  opened = undefined;
  if (!current) return;
  const resources = await current.catch(() => undefined);
  if (!resources) return;
  await Promise.all([resources.http.drain(), resources.iot.drain()]);
  await resources.close();
}
