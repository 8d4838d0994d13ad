import { KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import mqtt from 'mqtt';
import { Client as PgClient } from 'pg';
import { errorMessage } from '../core/errors';

/**
 * One real protocol round trip per service: a Kafka metadata request, a Kinesis ListStreams,
 * a Redis PING, an MQTT CONNECT/CONNACK, a PostgreSQL query. An open port is not enough: a
 * broker still starting, or some other program on the port, must not count as "up".
 */
export type ProbeResult = { ok: true; detail: string } | { ok: false; detail: string };

export const PROBE_TIMEOUT_MS = 3000;

export async function probeKafka(brokers: readonly string[], timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const kafka = new Kafka({
    clientId: 'sluice-probe',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await withTimeout(admin.describeCluster(), timeoutMs, 'Kafka metadata');
    // A broker answers metadata before it has registered with its controller; until then it
    // lists no brokers and cannot host a topic.
    if (cluster.brokers.length === 0) return { ok: false, detail: 'broker answers but has not registered yet' };
    return { ok: true, detail: `cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s), controller ${cluster.controller}` };
  } catch (error) {
    return { ok: false, detail: probeErrorText(error) };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function probeKinesis(endpoint: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const client = new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // the SDK's default HTTP/2 handler cannot talk to kinesalite (HTTP/1.1 only)
    requestHandler: new NodeHttpHandler({ connectionTimeout: timeoutMs, requestTimeout: timeoutMs }),
    maxAttempts: 1,
  });
  try {
    const result = await withTimeout(client.send(new ListStreamsCommand({ Limit: 100 })), timeoutMs, 'Kinesis ListStreams');
    return { ok: true, detail: `${result.StreamNames?.length ?? 0} stream(s)` };
  } catch (error) {
    return { ok: false, detail: probeErrorText(error) };
  } finally {
    client.destroy();
  }
}

export async function probeRedis(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null, // one attempt: a probe reports, it does not wait for the server
    // ioredis arms this timer on disconnect even for a socket that already closed, and it
    // would keep a short-lived process (a CLI, a test worker) alive for its default 2 s
    disconnectTimeout: 100,
  });
  // with retries off, connect() rejects with a bare "Connection is closed."; the cause
  // (ECONNREFUSED...) arrives as an 'error' event
  let connectionError: unknown;
  redis.on('error', (error: unknown) => {
    connectionError ??= error;
  });
  try {
    await redis.connect();
    const pong = await withTimeout(redis.ping(), timeoutMs, 'Redis PING');
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    return pong === 'PONG' ? { ok: true, detail: `Redis ${version}` } : { ok: false, detail: `PING answered ${pong}` };
  } catch (error) {
    return { ok: false, detail: probeErrorText(connectionError ?? error) };
  } finally {
    redis.disconnect();
  }
}

export async function probeMqtt(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: timeoutMs, clientId: `sluice-probe-${process.pid}-${Date.now()}` });
  try {
    // connectAsync would never settle when the peer hangs up without a CONNACK (not an MQTT
    // server), leaving the client behind; these three events cover every outcome
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`MQTT CONNECT: no CONNACK within ${timeoutMs} ms`)), timeoutMs);
      const settle = (error?: Error): void => {
        clearTimeout(timer);
        if (error === undefined) resolve();
        else reject(error);
      };
      client.once('connect', () => settle());
      client.once('error', (error) => settle(error));
      client.once('close', () => settle(new Error('connection closed before CONNACK')));
    });
    return { ok: true, detail: 'CONNACK received' };
  } catch (error) {
    return { ok: false, detail: probeErrorText(error) };
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}

export async function probePostgres(connectionString: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const client = new PgClient({ connectionString, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await withTimeout(client.query<{ server_version: string }>('SHOW server_version'), timeoutMs, 'PostgreSQL query');
    return { ok: true, detail: `PostgreSQL ${result.rows[0]?.server_version ?? '?'}` };
  } catch (error) {
    return { ok: false, detail: probeErrorText(error) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Node reports a refused dual-stack connect as an AggregateError with an empty message. */
function probeErrorText(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = errorMessage(error);
  if (message !== '') return message;
  return typeof code === 'string' ? code : 'connection failed';
}
