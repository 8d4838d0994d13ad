/**
 * Checks of the server addresses a user types (--redis-url, --mqtt-url, --pg-url, --kafka,
 * --stream, ...), done once before anything connects. Each problem is one ConfigError naming
 * the flag or file key and saying what is wrong with the address, instead of a client
 * library's "Invalid URL" stack trace or a connection attempt to a name it misread.
 */
import { ConfigError, isSluiceError } from '../../core/errors';
import { closestName } from '../../runtime/mapping/configChecks';
import { redactUrl } from '../../security/urlCredentials';
import { parseStreamAddress } from '../../streams/streamAddress';
import type { StreamAddress } from '../../streams/streamAddress';

export interface UrlKind {
  /** schemes without "://", the first is the usual one */
  schemes: readonly string[];
  example: string;
  /** PostgreSQL may name a Unix socket directory in ?host= instead */
  hostOptional?: boolean;
}

export const REDIS_URL: UrlKind = { schemes: ['redis', 'rediss'], example: 'redis://127.0.0.1:6379' };
export const MQTT_URL: UrlKind = { schemes: ['mqtt', 'mqtts', 'tcp', 'ssl', 'ws', 'wss'], example: 'mqtt://127.0.0.1:1883' };
export const POSTGRES_URL: UrlKind = { schemes: ['postgres', 'postgresql'], example: 'postgres://postgres@127.0.0.1:5432/test', hostOptional: true };
export const HTTP_URL: UrlKind = { schemes: ['http', 'https'], example: 'http://127.0.0.1:4567' };

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/;

function urlProblem(text: string, kind: UrlKind): string | undefined {
  const schemeList = kind.schemes.map((scheme) => `${scheme}://`).join(', ');
  const match = SCHEME.exec(text);
  if (!match) return `has no "scheme://" (expected ${schemeList})`;
  const scheme = (match[1] ?? '').toLowerCase();
  if (!kind.schemes.includes(scheme)) {
    const suggestion = closestName(scheme, kind.schemes);
    return `unknown scheme "${scheme}://"${suggestion ? `; did you mean "${suggestion}://"?` : ''} (expected ${schemeList})`;
  }
  const hostPort = (match[2] ?? '').replace(/^.*@/, '');
  const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostPort)?.[1];
  if (port !== undefined && port !== '' && !/^\d+$/.test(port)) return `port "${port}" is not a number`;
  if (port !== undefined && port !== '' && (Number(port) < 1 || Number(port) > 65535)) return `port ${port} is out of range 1..65535`;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return 'is not a valid URL';
  }
  if (parsed.hostname === '' && !kind.hostOptional) return 'has no host';
  return undefined;
}

/** A server URL of `kind`: known scheme, a host, a numeric port in range when it has one. */
export function serverUrl(value: unknown, where: string, kind: UrlKind): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(where, `must be a URL like ${kind.example}, got ${typeof value === 'string' ? '""' : String(value)}`);
  }
  const problem = urlProblem(value.trim(), kind);
  if (problem) throw new ConfigError(where, `${JSON.stringify(redactUrl(value))} ${problem}; expected a URL like ${kind.example}`);
  return value.trim();
}

/** Kafka brokers as `host:port[,host:port...]` (no scheme: these are brokers, not a stream address). */
export function kafkaBrokerList(value: string, where: string): string {
  const brokers = value.split(',').map((broker) => broker.trim());
  for (const broker of brokers) {
    if (broker.includes('://')) throw new ConfigError(where, `must be host:port[,host:port...] without a scheme, got ${JSON.stringify(value)}`);
    const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(broker);
    if (!match) throw new ConfigError(where, `must be host:port[,host:port...], got ${JSON.stringify(value)}`);
    const port = Number(match[2]);
    if (port < 1 || port > 65535) throw new ConfigError(where, `port ${port} of ${JSON.stringify(broker)} is out of range 1..65535`);
  }
  return brokers.join(',');
}

/** A stream address flag (kafka://..., kinesis://...): a bad one is a ConfigError naming the flag. */
export function streamAddressSetting(value: string, where: string): StreamAddress {
  try {
    return parseStreamAddress(value);
  } catch (error) {
    if (isSluiceError(error, 'ADDRESS_INVALID')) throw new ConfigError(where, error.message);
    throw error;
  }
}

export interface SchemaRegistrySetting {
  /** a redis:// URL or a file path */
  address: string;
  redis: boolean;
  /** the flag or variable it came from */
  setting: string;
}

/** --schema-registry, else $SLUICE_SCHEMA_REGISTRY: a redis:// URL or a registry file path; `why` says why one is needed. */
export function schemaRegistrySetting(flag: string | undefined, why: string): SchemaRegistrySetting {
  const address = flag ?? process.env.SLUICE_SCHEMA_REGISTRY;
  const setting = flag === undefined ? '$SLUICE_SCHEMA_REGISTRY' : '--schema-registry';
  if (address === undefined || address.trim() === '') throw new ConfigError('--schema-registry', `${why}: give a registry file path or redis://host:port (or $SLUICE_SCHEMA_REGISTRY)`);
  // anything with a scheme is meant as a server: a typo there must not become a file named "reddis:"
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(address)) return { address, redis: false, setting };
  return { address: serverUrl(address, setting, REDIS_URL), redis: true, setting };
}

/** A TCP port to listen on; 0 = any free port when `allowAny`. */
export function portSetting(value: string, where: string, options: { allowAny?: boolean } = {}): number {
  const min = options.allowAny ? 0 : 1;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > 65535) throw new ConfigError(where, `must be a port number ${min}..65535, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** A whole number in min..max. */
export function integerSetting(value: string, where: string, min: number, max: number): number {
  const parsed = Number(value.trim());
  const range = max >= Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}..${max}`;
  if (value.trim() === '' || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) throw new ConfigError(where, `must be an integer ${range}, got ${JSON.stringify(value)}`);
  return parsed;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A pino level name (pino itself would throw a stack trace at an unknown one). */
export function logLevelSetting(value: string, where: string): string {
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value;
  const suggestion = closestName(value, LOG_LEVELS);
  throw new ConfigError(where, `unknown log level ${JSON.stringify(value)}${suggestion ? `; did you mean "${suggestion}"?` : ''} (known: ${LOG_LEVELS.join(', ')})`);
}
