/**
 * The aggregate's settings, from the environment as Lambda passes them, read once and checked
 * once: every problem is a ConfigError naming the variable.
 */
import { ConfigError } from '../../core/errors';
import { envSetting, optionalEnvSetting } from '../shared/processorResources';
import { DEFAULT_RELATIVE_ACCURACY } from './percentileSketch';
import type { WindowSpec } from './windowSpecs';
import { parseWindowSpecs, specReachMs } from './windowSpecs';

/** What the window logic needs (pure: no addresses). */
export interface WindowSettings {
  specs: WindowSpec[];
  /** how long after its end (event time, or wall-clock time) a window still takes readings */
  graceMs: number;
  /** how long closed windows stay queryable in Redis */
  retentionMs: number;
  /** DDSketch relative accuracy of the percentiles */
  relativeAccuracy: number;
  /** percentiles reported, as quantiles 0..1 */
  quantiles: number[];
  /** readings stamped further than this ahead of the wall clock go to the late stream (a device clock gone wrong) */
  maxFutureMs: number;
}

export interface AggregateSettings extends WindowSettings {
  redisUrl: string;
  schemaRegistry: string;
  keyPrefix: string;
  aggregatesStream: string;
  lateStream: string | undefined;
  deadLetterStream: string | undefined;
}

export const DEFAULT_WINDOWS = 'tumbling:10s,tumbling:1m,hopping:1m/10s,session:30s';
export const DEFAULT_GRACE_MS = 10_000;
export const DEFAULT_RETENTION_MS = 86_400_000;
export const DEFAULT_QUANTILES = [0.5, 0.9, 0.95, 0.99];
export const DEFAULT_MAX_FUTURE_MS = 300_000;

function integerSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = optionalEnvSetting(name, env);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`$${name}`, `must be an integer number of milliseconds ${min}..${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function quantilesSetting(env: NodeJS.ProcessEnv): number[] {
  const text = optionalEnvSetting('SLUICE_PERCENTILES', env);
  if (text === undefined) return DEFAULT_QUANTILES;
  const quantiles = text.split(',').map((item) => item.trim()).filter(Boolean).map((item) => {
    const percent = Number(item.replace(/^p/, ''));
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw new ConfigError('$SLUICE_PERCENTILES', `"${item}" is not a percentile 0..100 (e.g. 50,95,99.9)`);
    return Number((percent / 100).toPrecision(12)); // 99.9 / 100 is 0.9990000000000001 in doubles
  });
  if (quantiles.length === 0) throw new ConfigError('$SLUICE_PERCENTILES', 'names no percentile (e.g. 50,95,99)');
  return quantiles;
}

function accuracySetting(env: NodeJS.ProcessEnv): number {
  const text = optionalEnvSetting('SLUICE_SKETCH_ACCURACY', env);
  if (text === undefined) return DEFAULT_RELATIVE_ACCURACY;
  const value = Number(text);
  if (!(value >= 0.0001 && value <= 0.1)) throw new ConfigError('$SLUICE_SKETCH_ACCURACY', `must be a relative accuracy 0.0001..0.1 (0.01 = 1%), got ${JSON.stringify(text)}`);
  return value;
}

export function windowSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): WindowSettings {
  return {
    specs: parseWindowSpecs(optionalEnvSetting('SLUICE_WINDOWS', env) ?? DEFAULT_WINDOWS),
    graceMs: integerSetting(env, 'SLUICE_GRACE_MS', DEFAULT_GRACE_MS, 0, 86_400_000),
    retentionMs: integerSetting(env, 'SLUICE_WINDOW_RETENTION_MS', DEFAULT_RETENTION_MS, 1000, 90 * 86_400_000),
    relativeAccuracy: accuracySetting(env),
    quantiles: quantilesSetting(env),
    maxFutureMs: integerSetting(env, 'SLUICE_MAX_FUTURE_MS', DEFAULT_MAX_FUTURE_MS, 0, 86_400_000),
  };
}

/**
 * The handler's settings. `needs` says which output streams are required: the stream handler
 * needs all three; the wall-clock timer needs the aggregates stream and flushes late and
 * dead-letter records only when their streams are set.
 */
export function aggregateSettingsFromEnv(env: NodeJS.ProcessEnv = process.env, needs: 'handler' | 'timer' = 'handler'): AggregateSettings {
  const settings: AggregateSettings = {
    ...windowSettingsFromEnv(env),
    redisUrl: envSetting('SLUICE_REDIS_URL', 'redis://127.0.0.1:6379', env),
    schemaRegistry: envSetting('SLUICE_SCHEMA_REGISTRY', undefined, env),
    keyPrefix: envSetting('SLUICE_KEY_PREFIX', 'sluice', env),
    aggregatesStream: envSetting('SLUICE_AGGREGATES_STREAM', undefined, env),
    lateStream: needs === 'handler' ? envSetting('SLUICE_LATE_STREAM', undefined, env) : optionalEnvSetting('SLUICE_LATE_STREAM', env),
    deadLetterStream: needs === 'handler' ? envSetting('SLUICE_PROCESSOR_DLQ', undefined, env) : optionalEnvSetting('SLUICE_PROCESSOR_DLQ', env),
  };
  return settings;
}

/** The longest a reading can still change some window after its event time: the dedupe horizon. */
export function longestReachMs(settings: WindowSettings): number {
  return Math.max(...settings.specs.map(specReachMs)) + settings.graceMs;
}
