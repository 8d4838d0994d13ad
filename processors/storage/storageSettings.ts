/**
 * The storage processor's settings, from the environment as Lambda passes them
 * (processors/README.md). Read on every invocation: cheap, and a test or `sluice up` that
 * changes the environment between invocations is taken at its word.
 */
import { ConfigError } from '../../core/errors';
import { envSetting, optionalEnvSetting } from '../shared/processorResources';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** `SLUICE_LAKE_DIR=none` turns the data lake off on purpose; unset is a configuration error, not a silent "off". */
export const LAKE_DISABLED = 'none';

export interface CompactionSettings {
  /** a compacted file is closed once its records reach this many (uncompressed) bytes; also the pending size that compacts an open hour */
  rollBytes: number;
  /** an hour is compacted once it ended this long ago (late readings have mostly arrived) */
  closeAfterMs: number;
  /** temp files older than this are left over from a killed writer (longer than any invocation may run) */
  tempMaxAgeMs: number;
}

/** `SLUICE_PG_URL=none`: no PostgreSQL on purpose (readings go to the lake only). */
export const PG_DISABLED = 'none';

function pgUrlSetting(env: NodeJS.ProcessEnv): string | undefined {
  const url = envSetting('SLUICE_PG_URL', DEFAULT_PG_URL, env);
  return url === PG_DISABLED ? undefined : url;
}

export interface StorageSettings {
  /** undefined: no PostgreSQL (SLUICE_PG_URL=none) */
  pgUrl: string | undefined;
  registry: string;
  /** undefined when the lake is turned off */
  lakeDir: string | undefined;
  /** dead-letter stream address; undefined when unset (a bad record then fails its batch) */
  deadLetterAddress: string | undefined;
  compaction: CompactionSettings;
}

export const DEFAULT_COMPACTION: CompactionSettings = {
  rollBytes: 64 * 1024 * 1024,
  closeAfterMs: 10 * 60_000,
  // Lambda's longest timeout is 15 minutes: no live writer holds a temp file longer.
  tempMaxAgeMs: 15 * 60_000,
};

function positiveInteger(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const text = optionalEnvSetting(name, env);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new ConfigError(`$${name}`, `must be a non-negative integer, got "${text}"`);
  return value;
}

export function storageSettings(env: NodeJS.ProcessEnv = process.env): StorageSettings {
  const lakeDir = envSetting('SLUICE_LAKE_DIR', undefined, env);
  const pgUrl = pgUrlSetting(env);
  if (pgUrl === undefined && lakeDir === LAKE_DISABLED) throw new ConfigError('$SLUICE_PG_URL', 'is none and $SLUICE_LAKE_DIR is none: readings would be stored nowhere');
  return {
    pgUrl,
    registry: envSetting('SLUICE_SCHEMA_REGISTRY', undefined, env),
    lakeDir: lakeDir === LAKE_DISABLED ? undefined : lakeDir,
    deadLetterAddress: optionalEnvSetting('SLUICE_PROCESSOR_DLQ', env),
    compaction: {
      rollBytes: Math.max(1, positiveInteger('SLUICE_LAKE_ROLL_BYTES', DEFAULT_COMPACTION.rollBytes, env)),
      closeAfterMs: positiveInteger('SLUICE_LAKE_CLOSE_AFTER_MS', DEFAULT_COMPACTION.closeAfterMs, env),
      tempMaxAgeMs: positiveInteger('SLUICE_LAKE_TEMP_MAX_AGE_MS', DEFAULT_COMPACTION.tempMaxAgeMs, env),
    },
  };
}

/** The aggregates handler needs no lake. */
export function aggregateStorageSettings(env: NodeJS.ProcessEnv = process.env): Omit<StorageSettings, 'lakeDir' | 'compaction' | 'pgUrl'> & { pgUrl: string } {
  const pgUrl = pgUrlSetting(env);
  if (pgUrl === undefined) throw new ConfigError('$SLUICE_PG_URL', 'is none: closed aggregates are stored in PostgreSQL only (leave this function out when there is no PostgreSQL)');
  return {
    pgUrl,
    registry: envSetting('SLUICE_SCHEMA_REGISTRY', undefined, env),
    deadLetterAddress: optionalEnvSetting('SLUICE_PROCESSOR_DLQ', env),
  };
}
