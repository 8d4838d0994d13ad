/**
 * The alerts processor's settings, from the environment as Lambda passes them
 * (processors/README.md), each checked with a ConfigError naming the variable. Read on every
 * invocation: cheap, and a test or `sluice up` that changes the environment is taken at its word.
 */
import { ConfigError } from '../../core/errors';
import { envSetting, optionalEnvSetting } from '../shared/processorResources';
import { DEFAULT_RULES_FILE } from './ruleFile';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** `SLUICE_PG_URL=none` turns the PostgreSQL alert history off (as `sluice up --no-pg` runs) */
export const PG_DISABLED = 'none';
/** shorter secrets are guessable offline from one signed request */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;

export interface WebhookSettings {
  urls: string[];
  secret: string;
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
}

export interface AlertSettings {
  redisUrl: string;
  keyPrefix: string;
  /** needed to decode inputs and to write Avro alerts and dead letters */
  registry: string | undefined;
  rulesFile: string;
  /** undefined: no PostgreSQL history */
  pgUrl: string | undefined;
  alertsStream: string | undefined;
  mqttUrl: string | undefined;
  /** undefined: no webhooks */
  webhooks: WebhookSettings | undefined;
  deadLetterAddress: string | undefined;
}

function nonNegativeInteger(name: string, fallback: number, env: NodeJS.ProcessEnv, max = 3_600_000): number {
  const text = optionalEnvSetting(name, env);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > max) throw new ConfigError(`$${name}`, `must be an integer 0..${max}, got "${text}"`);
  return value;
}

function webhookSettings(env: NodeJS.ProcessEnv): WebhookSettings | undefined {
  const list = optionalEnvSetting('SLUICE_WEBHOOK_URLS', env);
  if (list === undefined) return undefined;
  const urls = list.split(',').map((url) => url.trim()).filter((url) => url.length > 0);
  urls.forEach((url, index) => {
    let protocol: string;
    try {
      protocol = new URL(url).protocol;
    } catch {
      throw new ConfigError('$SLUICE_WEBHOOK_URLS', `item ${index + 1} is not a URL`);
    }
    if (protocol !== 'http:' && protocol !== 'https:') throw new ConfigError('$SLUICE_WEBHOOK_URLS', `item ${index + 1} must be an http:// or https:// URL, got ${protocol}`);
  });
  if (urls.length === 0) return undefined;
  const secret = optionalEnvSetting('SLUICE_WEBHOOK_SECRET', env);
  if (secret === undefined) throw new ConfigError('$SLUICE_WEBHOOK_SECRET', 'is not set; webhooks are always signed (set a random secret shared with the receivers)');
  if (secret.length < MIN_WEBHOOK_SECRET_LENGTH) throw new ConfigError('$SLUICE_WEBHOOK_SECRET', `must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters, got ${secret.length}`);
  return {
    urls,
    secret,
    retries: nonNegativeInteger('SLUICE_WEBHOOK_RETRIES', 4, env, 20),
    initialDelayMs: nonNegativeInteger('SLUICE_WEBHOOK_BACKOFF_MS', 200, env),
    maxDelayMs: nonNegativeInteger('SLUICE_WEBHOOK_MAX_BACKOFF_MS', 5000, env),
    timeoutMs: Math.max(1, nonNegativeInteger('SLUICE_WEBHOOK_TIMEOUT_MS', 5000, env)),
  };
}

export function alertSettings(env: NodeJS.ProcessEnv = process.env): AlertSettings {
  const pgUrl = envSetting('SLUICE_PG_URL', DEFAULT_PG_URL, env);
  return {
    redisUrl: envSetting('SLUICE_REDIS_URL', DEFAULT_REDIS_URL, env),
    keyPrefix: envSetting('SLUICE_KEY_PREFIX', 'sluice', env),
    registry: optionalEnvSetting('SLUICE_SCHEMA_REGISTRY', env),
    rulesFile: envSetting('SLUICE_ALERT_RULES', DEFAULT_RULES_FILE, env),
    pgUrl: pgUrl === PG_DISABLED ? undefined : pgUrl,
    alertsStream: optionalEnvSetting('SLUICE_ALERTS_STREAM', env),
    mqttUrl: optionalEnvSetting('SLUICE_MQTT_URL', env),
    webhooks: webhookSettings(env),
    deadLetterAddress: optionalEnvSetting('SLUICE_PROCESSOR_DLQ', env),
  };
}
