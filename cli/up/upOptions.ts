/**
 * What `sluice up` runs with: flags over an optional sluice.yaml over defaults, validated once,
 * before anything starts, with errors that name the flag or the file's key.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, errorMessage } from '../../core/errors';
import { unknownKeyProblem } from '../../runtime/mapping/configChecks';

export interface UpOptions {
  devices: number;
  /** readings per second over the whole fleet */
  rate: number;
  /** seconds; 0 = until Ctrl-C */
  durationSeconds: number;
  seed: number;
  partitions: number;
  /** kafka brokers (comma-separated) when the stream is Kafka */
  kafka: string | undefined;
  /** a running Kinesis endpoint (kinesalite, AWS); unset with no kafka = embedded kinesalite */
  kinesisEndpoint: string | undefined;
  /** unset = embedded aedes broker */
  mqttUrl: string | undefined;
  /** unset = 127.0.0.1:6379 if it answers, else a child redis-server */
  redisUrl: string | undefined;
  /** unset = postgres://postgres@127.0.0.1:5432/test if it answers; false = none */
  pgUrl: string | false | undefined;
  lakeDir: string;
  alertRules: string | undefined;
  webhookUrls: string | undefined;
  anomalyRate: number;
  /** fault kind → rate (simulator --fault) */
  faults: Record<string, number>;
  dashboard: boolean;
  dashboardPort: number;
  /** serve Prometheus metrics (ingest + every function) on 127.0.0.1:<port>; undefined = off */
  metricsPort: number | undefined;
  json: boolean;
  keyPrefix: string;
  /** prepended to every stream name, so several pipelines can share one Kafka */
  streamPrefix: string;
}

export const UP_DEFAULTS: UpOptions = {
  devices: 50,
  rate: 200,
  durationSeconds: 60,
  seed: 1,
  partitions: 4,
  kafka: undefined,
  kinesisEndpoint: undefined,
  mqttUrl: undefined,
  redisUrl: undefined,
  pgUrl: undefined,
  lakeDir: '.sluice/lake',
  alertRules: undefined,
  webhookUrls: undefined,
  anomalyRate: 0.02,
  // a little of everything ingest must refuse or absorb, so the summary has something to show
  faults: { offline: 0.001, duplicate: 0.01, 'malformed-json': 0.002, 'wrong-types': 0.002, 'missing-fields': 0.002 },
  dashboard: true,
  dashboardPort: 8321,
  metricsPort: undefined,
  json: false,
  keyPrefix: 'sluice',
  streamPrefix: '',
};

const FILE_KEYS = Object.keys(UP_DEFAULTS) as Array<keyof UpOptions>;

function numberIn(value: unknown, where: string, min: number, max: number, integer: boolean): number {
  const parsed = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < min || parsed > max || (integer && !Number.isInteger(parsed))) {
    throw new ConfigError(where, `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function urlLike(value: unknown, where: string, schemes: readonly string[]): string {
  if (typeof value !== 'string' || !schemes.some((scheme) => value.startsWith(`${scheme}://`))) {
    throw new ConfigError(where, `must be a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function streamPrefixOf(value: unknown, where: string): string {
  const text = String(value);
  if (!/^[A-Za-z0-9_.-]*$/.test(text)) throw new ConfigError(where, `may hold letters, digits, '.', '_' and '-' only (it starts stream and function names), got ${JSON.stringify(text)}`);
  return text;
}

/** sluice.yaml: the same keys as UpOptions (camelCase); unknown keys are errors with a suggestion. */
export function loadUpFile(file: string): Partial<Record<keyof UpOptions, unknown>> {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(path.basename(file), `cannot read: ${errorMessage(error)}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(path.basename(file), 'must be a mapping of settings');
  for (const key of Object.keys(parsed)) {
    if (!FILE_KEYS.includes(key as keyof UpOptions)) throw new ConfigError(`${path.basename(file)}: ${key}`, unknownKeyProblem(key, FILE_KEYS));
  }
  return parsed as Partial<Record<keyof UpOptions, unknown>>;
}

/** Flags (already named like UpOptions) over the file over the defaults; `where` names a key for errors. */
export function resolveUpOptions(flags: Partial<Record<keyof UpOptions, unknown>>, file: Partial<Record<keyof UpOptions, unknown>> = {}, where: (key: keyof UpOptions) => string = (key) => key): UpOptions {
  const pick = <K extends keyof UpOptions>(key: K): unknown => flags[key] ?? file[key] ?? UP_DEFAULTS[key];
  const kafkaValue = pick('kafka');
  const kafka = kafkaValue === true ? '127.0.0.1:9092' : kafkaValue === undefined || kafkaValue === false ? undefined : String(kafkaValue);
  const kinesisEndpoint = pick('kinesisEndpoint') === undefined ? undefined : urlLike(pick('kinesisEndpoint'), where('kinesisEndpoint'), ['http', 'https']);
  if (kafka !== undefined && kinesisEndpoint !== undefined) throw new ConfigError(where('kafka'), 'choose one stream: Kafka or Kinesis, not both');
  if (kafka !== undefined && !/^[^,/\s]+:\d+(,[^,/\s]+:\d+)*$/.test(kafka)) throw new ConfigError(where('kafka'), `must be host:port[,host:port...], got ${JSON.stringify(kafka)}`);
  const pgValue = pick('pgUrl');
  const faultsValue = pick('faults');
  if (typeof faultsValue !== 'object' || faultsValue === null || Array.isArray(faultsValue)) throw new ConfigError(where('faults'), 'must map fault kinds to rates');
  const faults: Record<string, number> = {};
  for (const [kind, value] of Object.entries(faultsValue)) faults[kind] = numberIn(value, `${where('faults')}.${kind}`, 0, 1, false);
  return {
    devices: numberIn(pick('devices'), where('devices'), 1, 100_000, true),
    rate: numberIn(pick('rate'), where('rate'), 0.1, 1_000_000, false),
    durationSeconds: numberIn(pick('durationSeconds'), where('durationSeconds'), 0, 7 * 24 * 3600, false),
    seed: numberIn(pick('seed'), where('seed'), 0, 0xffffffff, true),
    partitions: numberIn(pick('partitions'), where('partitions'), 1, 64, true),
    kafka,
    kinesisEndpoint,
    mqttUrl: pick('mqttUrl') === undefined ? undefined : urlLike(pick('mqttUrl'), where('mqttUrl'), ['mqtt', 'mqtts', 'tcp', 'ws', 'wss']),
    redisUrl: pick('redisUrl') === undefined ? undefined : urlLike(pick('redisUrl'), where('redisUrl'), ['redis', 'rediss']),
    pgUrl: pgValue === false ? false : pgValue === undefined ? undefined : urlLike(pgValue, where('pgUrl'), ['postgres', 'postgresql']),
    lakeDir: String(pick('lakeDir')),
    alertRules: pick('alertRules') === undefined ? undefined : String(pick('alertRules')),
    webhookUrls: pick('webhookUrls') === undefined ? undefined : String(pick('webhookUrls')),
    anomalyRate: numberIn(pick('anomalyRate'), where('anomalyRate'), 0, 1, false),
    faults,
    dashboard: pick('dashboard') !== false,
    dashboardPort: numberIn(pick('dashboardPort'), where('dashboardPort'), 0, 65535, true),
    metricsPort: pick('metricsPort') === undefined ? undefined : numberIn(pick('metricsPort'), where('metricsPort'), 0, 65535, true),
    json: pick('json') === true,
    keyPrefix: String(pick('keyPrefix')),
    streamPrefix: streamPrefixOf(pick('streamPrefix'), where('streamPrefix')),
  };
}
