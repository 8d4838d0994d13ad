/**
 * The pre-flight of a command: every server the user named answers one real round trip
 * (infra/probes), all at once, before the command starts anything. A server that does not
 * answer is one error naming which server, where, and the flag that named it; without this
 * a command would create topics, start children and print "starting" first, then fail
 * half-way (or, for Kafka, retry in silence).
 */
import mqtt from 'mqtt';
import { SluiceError, errorMessage } from '../../core/errors';
import { probeKafka, probeKinesis, probePostgres, probeRedis } from '../../infra/probes';
import { redactUrl } from '../../security/urlCredentials';
import type { StreamAddress } from '../../streams/streamAddress';

export const PREFLIGHT_TIMEOUT_MS = 3000;

/** ok, or why not; `refused`: the server answered but turned the login down (not a reachability problem). */
export type ServerAnswer = { ok: true } | { ok: false; detail: string; refused?: boolean };

export interface ServerCheck {
  /** what it is: "Kafka", "Redis", "MQTT broker", ... */
  server: string;
  /** where, as printed (no passwords) */
  address: string;
  /** the flag or settings-file key that named it */
  setting: string;
  probe(): Promise<ServerAnswer>;
}

export function kafkaCheck(brokers: readonly string[], setting: string): ServerCheck {
  return { server: 'Kafka', address: brokers.join(','), setting, probe: () => probeKafka(brokers, PREFLIGHT_TIMEOUT_MS) };
}

export function kinesisCheck(endpoint: string, setting: string): ServerCheck {
  return { server: 'Kinesis', address: endpoint, setting, probe: () => probeKinesis(endpoint, PREFLIGHT_TIMEOUT_MS) };
}

export function redisCheck(url: string, setting: string): ServerCheck {
  return { server: 'Redis', address: redactUrl(url), setting, probe: () => probeRedis(url, PREFLIGHT_TIMEOUT_MS) };
}

export function postgresCheck(url: string, setting: string): ServerCheck {
  return { server: 'PostgreSQL', address: redactUrl(url), setting, probe: () => probePostgres(url, PREFLIGHT_TIMEOUT_MS) };
}

/** The server behind a stream address; undefined for AWS Kinesis itself (kinesis:///name), which is not ours to probe. */
export function streamServerCheck(address: StreamAddress, setting: string): ServerCheck | undefined {
  if (address.kind === 'kafka') return kafkaCheck(address.brokers, setting);
  return address.endpoint === undefined ? undefined : kinesisCheck(address.endpoint, setting);
}

export interface MqttLoginOptions {
  username?: string;
  password?: string;
  ca?: string | Buffer;
  /**
   * true: a refused login is an error too (the command logs in with exactly these credentials);
   * false: any CONNACK counts, refused or not (devices log in with credentials of their own).
   */
  loginMatters?: boolean;
}

/** An MQTT CONNECT/CONNACK round trip, with the command's login and CA when it has them. */
export function mqttCheck(url: string, setting: string, login: MqttLoginOptions = {}): ServerCheck {
  return { server: 'MQTT broker', address: redactUrl(url), setting, probe: () => mqttAnswers(url, login) };
}

async function mqttAnswers(url: string, login: MqttLoginOptions): Promise<ServerAnswer> {
  const client = mqtt.connect(url, {
    reconnectPeriod: 0,
    connectTimeout: PREFLIGHT_TIMEOUT_MS,
    clientId: `sluice-preflight-${process.pid}-${Date.now().toString(36)}`,
    username: login.username,
    password: login.password,
    ca: login.ca,
  });
  try {
    return await new Promise<ServerAnswer>((resolve) => {
      const timer = setTimeout(() => resolve({ ok: false, detail: `no CONNACK within ${PREFLIGHT_TIMEOUT_MS} ms` }), PREFLIGHT_TIMEOUT_MS);
      const settle = (answer: ServerAnswer): void => {
        clearTimeout(timer);
        resolve(answer);
      };
      client.once('connect', () => settle({ ok: true }));
      client.once('error', (error) => {
        // mqtt.js gives a CONNACK refusal a numeric reason code; socket errors have string codes (ECONNREFUSED)
        const refused = typeof (error as { code?: unknown }).code === 'number';
        if (refused && login.loginMatters !== true) settle({ ok: true });
        else settle({ ok: false, detail: errorMessage(error) || 'connection failed', refused });
      });
      client.once('close', () => settle({ ok: false, detail: 'connection closed before CONNACK' }));
    });
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}

/**
 * Probes every named server at once (each address once) and throws for the first, in the
 * order given, that does not answer. Undefined entries (nothing named) are skipped.
 */
export async function requireServersAnswer(checks: ReadonlyArray<ServerCheck | undefined>): Promise<void> {
  const unique = new Map<string, ServerCheck>();
  for (const check of checks) if (check !== undefined && !unique.has(`${check.server} ${check.address}`)) unique.set(`${check.server} ${check.address}`, check);
  const answers = await Promise.all([...unique.values()].map(async (check) => ({ check, answer: await check.probe().catch((error: unknown): ServerAnswer => ({ ok: false, detail: errorMessage(error) })) })));
  for (const { check, answer } of answers) {
    if (answer.ok) continue;
    // named like a ConfigError, setting first: `--redis-url: Redis at redis://... does not answer: ...`
    const what = `${check.setting}: ${check.server} at ${check.address}`;
    if (answer.refused) throw new SluiceError('SERVICE_UNAVAILABLE', `${what} refused the connection: ${answer.detail}`, { retriable: false, hint: `check the user name and password for ${check.setting}` });
    throw new SluiceError('SERVICE_UNAVAILABLE', `${what} does not answer: ${answer.detail}`, {
      retriable: false,
      hint: `start it (\`sluice infra status\` says how) or fix ${check.setting}`,
    });
  }
}
