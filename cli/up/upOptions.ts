/**
 * What `sluice up` runs with: flags over an optional sluice.yaml over defaults, validated once,
 * before anything starts, with errors that name the flag or the file's key.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../core/errors';
import { alertSettings } from '../../processors/alerts/alertSettings';
import { loadRuleSet } from '../../processors/alerts/ruleFile';
import { unknownKeyProblem } from '../../runtime/mapping/configChecks';
import { FAULT_KINDS, isFaultKind } from '../../simulators/faultKinds';
import { readSettingsYaml } from '../../runtime/mapping/yamlFile';
import { HTTP_URL, MQTT_URL, POSTGRES_URL, REDIS_URL, kafkaBrokerList, serverUrl } from '../support/serverAddresses';

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
  /** for errors about a server: the flag or file key that named it (default: its flag) */
  serverSettings?: Partial<Record<UpServerKey, string>>;
}

export type UpServerKey = 'kafka' | 'kinesisEndpoint' | 'mqttUrl' | 'redisUrl' | 'pgUrl';

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
const SERVER_KEYS: readonly UpServerKey[] = ['kafka', 'kinesisEndpoint', 'mqttUrl', 'redisUrl', 'pgUrl'];

function numberIn(value: unknown, where: string, min: number, max: number, integer: boolean): number {
  const parsed = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < min || parsed > max || (integer && !Number.isInteger(parsed))) {
    throw new ConfigError(where, `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function streamPrefixOf(value: unknown, where: string): string {
  const text = String(value);
  if (!/^[A-Za-z0-9_.-]*$/.test(text)) throw new ConfigError(where, `may hold letters, digits, '.', '_' and '-' only (it starts stream and function names), got ${JSON.stringify(text)}`);
  return text;
}

function textOf(value: unknown, where: string): string {
  if (typeof value !== 'string' && typeof value !== 'number') throw new ConfigError(where, `must be text, got ${Array.isArray(value) ? 'a list' : typeof value}`);
  return String(value);
}

function booleanOf(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(where, `must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** The rules file must exist and parse now: the alerts function reads it only once readings flow. */
function alertRulesOf(value: unknown, where: string): string {
  const file = path.resolve(textOf(value, where));
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(where, `cannot read ${file} (${code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable')})`);
  }
  if (!isFile) throw new ConfigError(where, `${file} is not a file`);
  try {
    loadRuleSet(file);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(where, error.message.startsWith(file) ? error.message : `${file}: ${error.message}`);
    throw error;
  }
  return file;
}

/** Webhook URLs as the alerts function will read them, checked now; webhooks are signed, so the secret must be set too. */
function webhookUrlsOf(value: unknown, where: string): string {
  const urls = textOf(value, where).split(',').map((url) => url.trim()).filter((url) => url !== '');
  urls.forEach((url, index) => serverUrl(url, urls.length === 1 ? where : `${where} (item ${index + 1})`, { schemes: ['http', 'https'], example: 'https://example.com/hook' }));
  // the alerts function's own checks ($SLUICE_WEBHOOK_SECRET and friends), now instead of at the first alert
  alertSettings({ ...process.env, SLUICE_WEBHOOK_URLS: urls.join(',') });
  return urls.join(',');
}

/** sluice.yaml: the same keys as UpOptions (camelCase); unknown keys are errors with a suggestion. */
export function loadUpFile(file: string, name = path.basename(file)): Partial<Record<keyof UpOptions, unknown>> {
  const parsed = readSettingsYaml(file, name);
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(name, 'must be a mapping of settings (key: value lines)');
  for (const key of Object.keys(parsed)) {
    if (!FILE_KEYS.includes(key as keyof UpOptions)) throw new ConfigError(`${name}: ${key}`, unknownKeyProblem(key, FILE_KEYS));
  }
  return parsed as Partial<Record<keyof UpOptions, unknown>>;
}

/** Where a value came from, so an error names what the user wrote: a flag or the file's key. */
export type UpSettingSource = 'flag' | 'file' | 'default';

/** Flags (already named like UpOptions) over the file over the defaults; `where` names a key (as a flag or as the file's key) for errors. */
export function resolveUpOptions(
  flags: Partial<Record<keyof UpOptions, unknown>>,
  file: Partial<Record<keyof UpOptions, unknown>> = {},
  where: (key: keyof UpOptions, from: UpSettingSource) => string = (key) => key,
): UpOptions {
  const pick = <K extends keyof UpOptions>(key: K): unknown => flags[key] ?? file[key] ?? UP_DEFAULTS[key];
  const at = (key: keyof UpOptions): string => where(key, flags[key] !== undefined ? 'flag' : file[key] !== undefined ? 'file' : 'default');
  const optional = <T>(key: keyof UpOptions, check: (value: unknown, where: string) => T): T | undefined => (pick(key) === undefined ? undefined : check(pick(key), at(key)));
  const kafkaValue = pick('kafka');
  const kafka = kafkaValue === true ? '127.0.0.1:9092' : kafkaValue === undefined || kafkaValue === false ? undefined : kafkaBrokerList(textOf(kafkaValue, at('kafka')), at('kafka'));
  const kinesisEndpoint = optional('kinesisEndpoint', (value, key) => serverUrl(value, key, HTTP_URL));
  if (kafka !== undefined && kinesisEndpoint !== undefined) throw new ConfigError(at('kafka'), 'choose one stream: Kafka or Kinesis, not both');
  const pgValue = pick('pgUrl');
  const faultsValue = pick('faults');
  if (typeof faultsValue !== 'object' || faultsValue === null || Array.isArray(faultsValue)) throw new ConfigError(at('faults'), 'must map fault kinds to rates');
  const faults: Record<string, number> = {};
  for (const [kind, value] of Object.entries(faultsValue)) {
    if (!isFaultKind(kind)) throw new ConfigError(`${at('faults')}.${kind}`, unknownKeyProblem(kind, FAULT_KINDS).replace('unknown setting', 'unknown fault kind'));
    faults[kind] = numberIn(value, `${at('faults')}.${kind}`, 0, 1, false);
  }
  return {
    devices: numberIn(pick('devices'), at('devices'), 1, 100_000, true),
    rate: numberIn(pick('rate'), at('rate'), 0.1, 1_000_000, false),
    durationSeconds: numberIn(pick('durationSeconds'), at('durationSeconds'), 0, 7 * 24 * 3600, false),
    seed: numberIn(pick('seed'), at('seed'), 0, 0xffffffff, true),
    partitions: numberIn(pick('partitions'), at('partitions'), 1, 64, true),
    kafka,
    kinesisEndpoint,
    mqttUrl: optional('mqttUrl', (value, key) => serverUrl(value, key, MQTT_URL)),
    redisUrl: optional('redisUrl', (value, key) => serverUrl(value, key, REDIS_URL)),
    pgUrl: pgValue === false ? false : optional('pgUrl', (value, key) => serverUrl(value, key, POSTGRES_URL)),
    lakeDir: textOf(pick('lakeDir'), at('lakeDir')),
    alertRules: optional('alertRules', alertRulesOf),
    webhookUrls: optional('webhookUrls', webhookUrlsOf),
    anomalyRate: numberIn(pick('anomalyRate'), at('anomalyRate'), 0, 1, false),
    faults,
    dashboard: booleanOf(pick('dashboard'), at('dashboard')),
    dashboardPort: numberIn(pick('dashboardPort'), at('dashboardPort'), 0, 65535, true),
    metricsPort: optional('metricsPort', (value, key) => numberIn(value, key, 0, 65535, true)),
    json: booleanOf(pick('json'), at('json')),
    keyPrefix: textOf(pick('keyPrefix'), at('keyPrefix')),
    streamPrefix: streamPrefixOf(pick('streamPrefix'), at('streamPrefix')),
    serverSettings: Object.fromEntries(SERVER_KEYS.map((key) => [key, at(key)])),
  };
}
