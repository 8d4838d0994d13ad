/**
 * Connections a processor opens once and reuses across invocations, the way a Lambda function
 * creates its clients outside the handler: one per address per process. Settings come from
 * the environment (as Lambda passes them), read once, with a ConfigError naming the variable
 * when one is missing or malformed.
 */
import Redis from 'ioredis';
import type { Pool } from 'pg';
import { ConfigError } from '../../core/errors';
import { quietConnectionErrors, resilientRedisOptions } from '../../runtime/redis/redisAvailability';
import { AvroCodec } from '../../schemas/avroCodec';
import { FileSchemaStore } from '../../schemas/fileSchemaStore';
import { RedisSchemaStore } from '../../schemas/redisSchemaStore';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { openStreamClient } from '../../streams/openStreamClient';
import { parseStreamAddress } from '../../streams/streamAddress';
import type { StreamClient } from '../../streams/streamClient';
import { createPipelinePool } from './pgConnections';

/** The value of an environment variable, or `fallback`; a ConfigError naming it when neither exists. */
export function envSetting(name: string, fallback?: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`$${name}`, 'is not set');
}

/** An optional environment variable: undefined when unset or empty. */
export function optionalEnvSetting(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

const redisByUrl = new Map<string, Redis>();
const pgByUrl = new Map<string, Pool>();
const streamsByAddress = new Map<string, { client: StreamClient; stream: string }>();
const codecsByRegistry = new Map<string, { codec: AvroCodec; store: FileSchemaStore | RedisSchemaStore }>();

export function sharedRedis(url: string): Redis {
  let redis = redisByUrl.get(url);
  if (!redis) {
    // waits about a second for a restarted Redis, then fails the batch (runtime/redis/redisAvailability.ts)
    redis = quietConnectionErrors(new Redis(url, resilientRedisOptions()));
    redisByUrl.set(url, redis);
  }
  return redis;
}

/**
 * One pool per address and function: `applicationName` (`sluice-<function>`, processors/README.md)
 * names its sessions in pg_stat_activity. pgConnections.ts says why a dropped connection cannot
 * crash the process.
 */
export function sharedPgPool(url: string, applicationName: string): Pool {
  const key = `${applicationName} ${url}`;
  let pool = pgByUrl.get(key);
  if (!pool) {
    pool = createPipelinePool(url, applicationName);
    pgByUrl.set(key, pool);
  }
  return pool;
}

/** The client of a stream address (kafka://host:port/topic, kinesis://host:port/stream) and the stream's name. */
export function sharedStream(address: string): { client: StreamClient; stream: string } {
  let entry = streamsByAddress.get(address);
  if (!entry) {
    const parsed = parseStreamAddress(address);
    entry = { client: openStreamClient(parsed, { clientId: 'sluice-processor' }), stream: parsed.stream };
    streamsByAddress.set(address, entry);
  }
  return entry;
}

/** A codec on the registry at `registry`: a file path or redis://host:port. */
export function sharedCodec(registry: string): AvroCodec {
  let entry = codecsByRegistry.get(registry);
  if (!entry) {
    const store = registry.startsWith('redis://') ? RedisSchemaStore.connect(registry) : new FileSchemaStore(registry);
    entry = { codec: new AvroCodec(new SchemaRegistry(store)), store };
    codecsByRegistry.set(registry, entry);
  }
  return entry.codec;
}

/** Closes everything opened here (tests, and `sluice up` on shutdown). */
export async function closeSharedResources(): Promise<void> {
  const redis = [...redisByUrl.values()];
  const pools = [...pgByUrl.values()];
  const streams = [...streamsByAddress.values()];
  const stores = [...codecsByRegistry.values()].map((entry) => entry.store);
  redisByUrl.clear();
  pgByUrl.clear();
  streamsByAddress.clear();
  codecsByRegistry.clear();
  await Promise.allSettled([...redis.map((r) => r.quit()), ...pools.map((p) => p.end()), ...streams.map((s) => s.client.close()), ...stores.map((s) => s.close())]);
}
