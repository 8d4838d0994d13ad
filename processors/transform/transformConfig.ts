/**
 * The transform's settings, from environment variables as Lambda passes them (see README.md
 * beside this file and processors/README.md). Read once per function instance; a missing or
 * malformed one is a ConfigError naming the variable.
 */
import { ConfigError } from '../../core/errors';
import { createLogger } from '../../core/logger';
import type { Logger } from '../../core/logger';
import { DEFAULT_REGISTRY_CACHE_MS } from '../registry/deviceLookup';
import { envSetting } from '../shared/processorResources';
import { DEFAULT_DEDUPE_TTL_MS, DEFAULT_DEDUPE_WINDOW } from './dedupeWindow';
import type { UnknownDevicePolicy } from './transformHandler';
import { UNKNOWN_DEVICE_POLICIES } from './transformHandler';

export interface TransformConfig {
  redisUrl: string;
  pgUrl: string;
  schemaRegistry: string;
  keyPrefix: string;
  enrichedStream: string;
  deadLetterStream: string;
  unknownDevices: UnknownDevicePolicy;
  dedupeWindow: number;
  dedupeTtlMs: number;
  registryCacheMs: number;
}

function integerSetting(name: string, fallback: number, min: number, max: number, env: NodeJS.ProcessEnv): number {
  const text = envSetting(name, String(fallback), env);
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`$${name}`, `must be an integer in ${min}..${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

export function transformConfigFromEnv(env: NodeJS.ProcessEnv = process.env): TransformConfig {
  const unknownDevices = envSetting('SLUICE_UNKNOWN_DEVICES', 'pass', env);
  if (!(UNKNOWN_DEVICE_POLICIES as readonly string[]).includes(unknownDevices)) {
    throw new ConfigError('$SLUICE_UNKNOWN_DEVICES', `must be ${UNKNOWN_DEVICE_POLICIES.join(' or ')}, got ${JSON.stringify(unknownDevices)}`);
  }
  return {
    redisUrl: envSetting('SLUICE_REDIS_URL', 'redis://127.0.0.1:6379', env),
    pgUrl: envSetting('SLUICE_PG_URL', 'postgres://postgres@127.0.0.1:5432/test', env),
    schemaRegistry: envSetting('SLUICE_SCHEMA_REGISTRY', undefined, env),
    keyPrefix: envSetting('SLUICE_KEY_PREFIX', 'sluice', env),
    enrichedStream: envSetting('SLUICE_ENRICHED_STREAM', undefined, env),
    deadLetterStream: envSetting('SLUICE_PROCESSOR_DLQ', undefined, env),
    unknownDevices: unknownDevices as UnknownDevicePolicy,
    dedupeWindow: integerSetting('SLUICE_DEDUPE_WINDOW', DEFAULT_DEDUPE_WINDOW, 1, 100_000, env),
    dedupeTtlMs: integerSetting('SLUICE_DEDUPE_TTL_SECONDS', DEFAULT_DEDUPE_TTL_MS / 1000, 1, 30 * 24 * 3600, env) * 1000,
    registryCacheMs: integerSetting('SLUICE_REGISTRY_CACHE_SECONDS', DEFAULT_REGISTRY_CACHE_MS / 1000, 0, 3600, env) * 1000,
  };
}

let logger: Logger | undefined;

/**
 * One logger per process (this module is loaded once; handler.ts once per function instance,
 * and a pino destination per instance would pile up as instances come and go).
 */
export function transformLogger(): Logger {
  logger ??= createLogger({ component: 'transform' });
  return logger;
}
