/**
 * The transform as a Lambda function: telemetry stream (Kinesis or Kafka) in, EnrichedReading
 * records out to $SLUICE_ENRICHED_STREAM, dead letters to $SLUICE_PROCESSOR_DLQ.
 *
 *   sluice run --handler ./processors/transform/handler.ts#handler --source kafka://127.0.0.1:9092/telemetry
 *
 * Settings come from the environment, read on the first invocation (transformConfig.ts);
 * connections are opened once per process (processors/shared/processorResources.ts), and the
 * registry cache lives as long as this module, i.e. one warm function instance.
 */
import type { Context } from 'aws-lambda';
import { DeviceLookup } from '../registry/deviceLookup';
import { REGISTRY_MIGRATIONS } from '../registry/registryMigrations';
import { applyMigrations } from '../shared/migrations';
import { PG_APPLICATION_NAMES } from '../shared/pgConnections';
import { sharedCodec, sharedPgPool, sharedRedis, sharedStream } from '../shared/processorResources';
import type { ProcessorEvent } from '../shared/streamRecords';
import { DedupeWindow } from './dedupeWindow';
import { transformConfigFromEnv, transformLogger } from './transformConfig';
import type { TransformHandler, TransformResult } from './transformHandler';
import { createTransformHandler } from './transformHandler';

let transform: Promise<TransformHandler> | undefined;

const NO_REGISTRY = {
  lookup: (deviceIds: Iterable<string>): Promise<Map<string, null>> => Promise.resolve(new Map([...deviceIds].map((id) => [id, null]))),
};

async function transformFromEnvironment(): Promise<TransformHandler> {
  const config = transformConfigFromEnv();
  // SLUICE_PG_URL=none: no registry; every device is unknown (SLUICE_UNKNOWN_DEVICES decides what that means).
  const pool = config.pgUrl === 'none' ? undefined : sharedPgPool(config.pgUrl, PG_APPLICATION_NAMES.transform);
  // The registry table must exist before the first lookup: a read-only check once it does (the pipeline role may not apply it).
  if (pool) await applyMigrations(pool, REGISTRY_MIGRATIONS);
  return createTransformHandler({
    codec: sharedCodec(config.schemaRegistry),
    window: new DedupeWindow(sharedRedis(config.redisUrl), { keyPrefix: config.keyPrefix, maxSeqs: config.dedupeWindow, ttlMs: config.dedupeTtlMs }),
    devices: pool ? new DeviceLookup(pool, { ttlMs: config.registryCacheMs }) : NO_REGISTRY,
    enriched: sharedStream(config.enrichedStream),
    deadLetters: sharedStream(config.deadLetterStream),
    unknownDevices: config.unknownDevices,
    logger: transformLogger(),
  });
}

export async function handler(event: ProcessorEvent, _context?: Context): Promise<TransformResult> {
  // A failed start (database down, bad setting) is not cached: the next invocation tries again.
  transform ??= transformFromEnvironment().catch((error: unknown) => {
    transform = undefined;
    throw error;
  });
  return (await transform)(event);
}
