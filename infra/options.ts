import { ConfigError } from '../core/errors';
import { DEFAULT_CACHE_DIR } from './paths';

/**
 * The services `sluice infra` knows. The first three are processes sluice starts and owns;
 * the last three are the machine's own servers, which sluice only checks (and starts with the
 * machine's commands when they are down, so CI needs no hand set-up).
 */
export const SERVICE_NAMES = ['kafka', 'kinesis', 'mosquitto', 'redis', 'system-mosquitto', 'postgres'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface InfraOptions {
  kafkaPort: number;
  /** the KRaft controller listener; defaults to kafkaPort + 1 */
  kafkaControllerPort: number;
  /** the Kafka release to run; defaults to the one infra/kafka/pom.xml names */
  kafkaVersion: string | undefined;
  kinesisPort: number;
  mosquittoPort: number;
  services: ServiceName[];
  cacheDir: string;
  /** how long `up` waits for a service to answer its protocol */
  startTimeoutMs: number;
  /** how long `down` waits after SIGTERM before SIGKILL */
  stopTimeoutMs: number;
}

/** What a caller may give: CLI flags arrive as strings, library callers pass numbers. */
export interface InfraOptionsInput {
  kafkaPort?: number | string;
  kafkaControllerPort?: number | string;
  kafkaVersion?: string;
  kinesisPort?: number | string;
  mosquittoPort?: number | string;
  /** a list or a comma-separated string: "kafka,kinesis" */
  services?: readonly string[] | string;
  cacheDir?: string;
  startTimeoutMs?: number | string;
  stopTimeoutMs?: number | string;
}

export const INFRA_DEFAULTS = {
  kafkaPort: 9092,
  kinesisPort: 4567,
  mosquittoPort: 1884,
  startTimeoutMs: 90_000,
  stopTimeoutMs: 30_000,
} as const;

/** Defaults, then validation that names the bad field (`infra.kafkaPort: must be ...`). */
export function resolveInfraOptions(input: InfraOptionsInput = {}): InfraOptions {
  const kafkaPort = parsePort('infra.kafkaPort', input.kafkaPort, INFRA_DEFAULTS.kafkaPort);
  const kafkaControllerPort = parsePort('infra.kafkaControllerPort', input.kafkaControllerPort, kafkaPort + 1);
  if (kafkaControllerPort === kafkaPort) {
    throw new ConfigError('infra.kafkaControllerPort', `must differ from infra.kafkaPort (${kafkaPort})`);
  }
  const kafkaVersion = input.kafkaVersion;
  if (kafkaVersion !== undefined && !/^\d+\.\d+\.\d+$/.test(kafkaVersion)) {
    throw new ConfigError('infra.kafkaVersion', `must look like 4.2.0, got ${JSON.stringify(kafkaVersion)}`);
  }
  return {
    kafkaPort,
    kafkaControllerPort,
    kafkaVersion,
    kinesisPort: parsePort('infra.kinesisPort', input.kinesisPort, INFRA_DEFAULTS.kinesisPort),
    mosquittoPort: parsePort('infra.mosquittoPort', input.mosquittoPort, INFRA_DEFAULTS.mosquittoPort),
    services: parseServices(input.services),
    cacheDir: input.cacheDir ?? DEFAULT_CACHE_DIR,
    startTimeoutMs: parseDuration('infra.startTimeoutMs', input.startTimeoutMs, INFRA_DEFAULTS.startTimeoutMs),
    stopTimeoutMs: parseDuration('infra.stopTimeoutMs', input.stopTimeoutMs, INFRA_DEFAULTS.stopTimeoutMs),
  };
}

function parsePort(path: string, value: number | string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(path, `must be a port number 1..65535, got ${JSON.stringify(value)}`);
  }
  return port;
}

function parseDuration(path: string, value: number | string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(ms) || ms < 1) throw new ConfigError(path, `must be a positive number of milliseconds, got ${JSON.stringify(value)}`);
  return ms;
}

function parseServices(value: readonly string[] | string | undefined): ServiceName[] {
  if (value === undefined) return [...SERVICE_NAMES];
  const names = (typeof value === 'string' ? value.split(',') : value).map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new ConfigError('infra.only', `must name at least one of ${SERVICE_NAMES.join(', ')}`);
  for (const name of names) {
    if (!isServiceName(name)) {
      throw new ConfigError('infra.only', `unknown service ${JSON.stringify(name)}; known: ${SERVICE_NAMES.join(', ')}`);
    }
  }
  // keep the canonical order, drop duplicates
  return SERVICE_NAMES.filter((name) => names.includes(name));
}

export function isServiceName(name: string): name is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(name);
}
